//! Mid-term and completion reviews (中期评估 / 结项评估) by an expert panel, and the residents'
//! satisfaction surveys that weigh into the completion score: the review decides what gets
//! paid (DESIGN.md, "Reviews").

pub mod model;
pub mod remind;
pub mod repo;
pub mod routes;
pub mod score;
pub mod service;
