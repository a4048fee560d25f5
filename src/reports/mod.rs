//! Reports for the bureau and the platform operator (issue #14): spending by category, street
//! or fund source, added up from the funds' ledgers; the needs funnel; and the red flags of
//! closed rounds, with thresholds as rule data (`config/rules/red_flags.toml`).

pub mod flags;
pub mod late;
pub mod repo;
pub mod routes;
pub mod service;
