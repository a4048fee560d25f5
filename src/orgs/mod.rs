//! Social organizations (社会组织): self-registration with a first member account, the credit
//! code checked by `Uscc`, verification by the bureau of the organization's district.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
