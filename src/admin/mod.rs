//! Operator endpoints: the sandbox clock and running a job by hand.

pub mod routes;
pub mod service;
