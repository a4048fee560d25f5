//! Open data: the OCDS 1.1 release feed and records (standard.open-contracting.org).
//!
//! Each public state change of a project round (its publication, amendments, opening, award,
//! objections, contract, amendments and end, each released tranche and each review) is an
//! audit event; the transaction that appends it also renders its release (`render`) and stores
//! it under the event's sequence number (`feed`). The audit chain numbers events under its head
//! lock in commit order, so a reader paging by that number after a page it has read never
//! misses a release committed later. Records merge a project's releases (`merge`).

pub mod feed;
pub mod merge;
pub mod render;
pub mod repo;
pub mod routes;
