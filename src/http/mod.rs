//! HTTP plumbing shared by every area: request ids, the strict JSON and query extractors,
//! keyset pagination, and the route table that binds each route to its access policy.

pub mod conditional;
pub mod extract;
pub mod idempotent;
pub mod pagination;
pub mod rendered;
pub mod request_id;
pub mod routes;

pub use extract::{Json, Query};
pub use pagination::{Page, PageParams};
