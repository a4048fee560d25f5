//! Pure domain types: no actix, no diesel. A value that exists is valid.

pub mod calendar;
pub mod capitals;
pub mod draw;
pub mod eligibility;
pub mod money;
pub mod rules;
pub mod scoring;
pub mod spec;
pub mod uscc;

pub use money::Money;
