//! Pure domain types: no actix, no diesel. A value that exists is valid.

pub mod calendar;
pub mod eligibility;
pub mod money;
pub mod rules;
pub mod spec;
pub mod uscc;

pub use money::Money;
