//! Evaluation (立项评审): the panel drawn at close, experts' acceptance with a no-conflict
//! declaration, blind and final score sheets, and the ranking.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
