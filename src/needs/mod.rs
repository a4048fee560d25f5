//! Community needs (社区需求): intake by community workers, screening by the street office and
//! the district bureau, supporter tallies, merging of duplicates. A district's accepted needs
//! are its guide list (项目指引清单).

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
