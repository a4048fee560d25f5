//! Service projects (服务项目): drafted by the bureau from accepted needs, published with a
//! reserved budget and a committed seed for the expert draw, amended in the open (with the
//! close extended when little time remains), cancelled with the budget returned.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
