//! The audit chain: every state change appends an event whose hash covers the previous hash
//! and the event's canonical JSON (RFC 8785), so an altered row breaks the chain at that row.

pub mod repo;
pub mod routes;
pub mod service;

pub use service::{append, verify, Event};
