//! The region tree: district (区) → street (街道) → community (社区). Each row carries its
//! district and street ids so scope checks need no recursive query.

pub mod repo;
pub mod routes;
pub mod service;
