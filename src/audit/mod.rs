//! The audit chain: every state change appends an event whose hash covers the previous hash
//! and the event's canonical JSON (RFC 8785), so an altered row breaks the chain at that row.
//! A sealed bid's events wait sealed beside the chain until the opening (`sealed`).

pub mod repo;
pub mod routes;
pub mod sealed;
pub mod service;

pub use sealed::{append_sealed, open_sealed, Round};
pub use service::{append, verify, Event};
