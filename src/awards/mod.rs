//! Awards and objections: the bureau awards the top-ranked bid (or another, with a recorded
//! justification); the notice is public with the panel (实施条例 art 43); bidders may object
//! within the window of working days (政府采购法 art 52); a job finalises awards whose window
//! passed with no open objection.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
