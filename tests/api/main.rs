//! Black-box API tests: one binary, each test on its own fresh database (a temp SQLite file,
//! or a new PostgreSQL database when TEST_DATABASE_URL is set).

mod helpers;

mod access_matrix;
mod audit;
mod auth;
mod bad_input;
mod bids;
mod calendar;
mod contracts;
mod demo;
mod evaluation;
mod forged_tokens;
mod http_edges;
mod idempotency;
mod mail;
mod mail_claims;
mod needs;
mod open_data;
mod openapi;
mod orgs;
mod pool;
mod projects;
mod readiness;
mod regions;
mod releases;
mod reports;
mod reviews;
mod sandbox;
mod schema_parity;
mod sealed;
mod signin;
mod stored_json;
mod users;
