//! Liveness and readiness.

pub mod routes;
