//! Funds (资金池) and their insert-only ledger. Balances are derived from the ledger:
//! `available = total − reserved − committed`, `committed ≥ released`. The check of
//! `available` and the ledger insert happen in one transaction that holds the fund.

pub mod reconcile;
pub mod repo;
pub mod routes;
pub mod service;
