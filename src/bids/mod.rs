//! Sealed bids (投标 / 申报): placed, replaced and withdrawn before the deadline, readable only
//! by the bidding organization until the round closes, encrypted at rest until then, each
//! submission answered with a receipt over the RFC 8785 canonical JSON of the bid.

pub mod contents;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
