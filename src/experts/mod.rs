//! The expert pool (专家库): experts with specialties and declared relationships with
//! organizations, which exclude them from panels judging those organizations.

pub mod repo;
pub mod routes;
pub mod service;
