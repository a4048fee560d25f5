//! User accounts: admin management of staff and expert accounts, and `/me`.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
