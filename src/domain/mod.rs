//! Pure domain types: no actix, no diesel. A value that exists is valid.

pub mod calendar;
pub mod money;
pub mod rules;
pub mod spec;

pub use money::Money;
