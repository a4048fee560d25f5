//! Rounds of bidding on a project: whether one has closed, which closed last, and closing one
//! at its deadline (`close`), which opens the sealed bids and draws the evaluation panel.

pub mod close;

pub use close::{close_round, Closed};

use crate::bids::model::Bid;
use crate::error::AppError;
use crate::projects::model::{Project, ProjectStatus};

/// Whether the round of this bid has closed.
pub fn round_closed(p: &Project, b: &Bid) -> bool {
    b.round < p.round || (b.round == p.round && p.closed_at.is_some() && !p.is(ProjectStatus::Open))
}

pub fn not_closed() -> AppError {
    AppError::conflict("not_closed", "bidding has not closed yet")
}

/// The latest round whose bidding has closed.
pub fn last_closed_round(p: &Project) -> Option<i32> {
    if p.closed_at.is_some() && !p.is(ProjectStatus::Open) {
        Some(p.round)
    } else if p.round > 1 {
        Some(p.round - 1)
    } else {
        None
    }
}
