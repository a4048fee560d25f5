//! gongyi: government purchase of community services and public-benefit venture philanthropy
//! (政府购买服务 / 公益创投), from a community's need to a paid-out, reviewed contract.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod awards;
pub mod bids;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod documents;
pub mod domain;
pub mod error;
pub mod evaluation;
pub mod experts;
pub mod funds;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod jobs;
pub mod needs;
pub mod notify;
pub mod openapi;
pub mod orgs;
pub mod projects;
pub mod regions;
pub mod rounds;
pub mod state;
pub mod status;
pub mod users;
pub mod validate;
pub mod verify_draw;
