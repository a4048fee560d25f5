//! Contracts (合同) and their staged payments (分期拨付): drawn up from a final award, signed by
//! both sides, paid tranche by tranche once each condition is met, amended within the law's
//! 10 %, or terminated with the unpaid part returned to the fund.

pub mod bulk;
pub mod document;
pub mod lanes;
pub mod model;
pub mod release;
pub mod repo;
pub mod routes;
pub mod service;
