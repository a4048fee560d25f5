//! The working-day calendar as data: one arrangement per year, seeded from
//! `config/calendar/*.toml` and editable by an admin. Objection windows count on it.

pub mod repo;
pub mod routes;
pub mod service;
