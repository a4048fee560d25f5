//! Bid rows and statuses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::bids;
use crate::status::{action_enum, status_enum, Lifecycle};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bids)]
pub struct Bid {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    /// The bidding organization, written at the opening; until then only `bidder_key` (and
    /// the seal) know it.
    pub organization_id: Option<String>,
    pub status: BidStatus,
    pub sealed: Option<String>,
    pub contents: Option<String>,
    pub price_fen: Option<i64>,
    /// The frozen credentials in clear, written at the opening (sealed with the contents
    /// before).
    pub credentials: Option<String>,
    pub receipt_sha256: String,
    pub received_at: NaiveDateTime,
    pub disqualified_reasons: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// A keyed hash of (organization, project) under the sealing key (`contents::bidder_key`).
    pub bidder_key: String,
}

impl Bid {
    pub fn is(&self, status: BidStatus) -> bool {
        self.status == status
    }

    /// The bidding organization of an opened bid ("" while sealed, and for a bid whose seal
    /// did not open to its receipt).
    pub fn organization(&self) -> &str {
        self.organization_id.as_deref().unwrap_or_default()
    }
}

status_enum! {
    /// Where a bid stands: sealed while `submitted`, opened at the close into `qualified` or
    /// `disqualified`, and a qualified bid `awarded` or `lost` once its award is final.
    pub enum BidStatus {
        Submitted = "submitted",
        Withdrawn = "withdrawn",
        Qualified = "qualified",
        Disqualified = "disqualified",
        Awarded = "awarded",
        Lost = "lost",
    }
}

action_enum! {
    pub enum BidAction {
        /// New sealed contents and a new receipt, before the close.
        Replace = "be replaced",
        Withdraw = "be withdrawn",
        /// Opened at the close, its frozen credentials eligible.
        Qualify = "be qualified",
        /// Opened at the close, not eligible (or not opening to its receipt).
        Disqualify = "be disqualified",
        /// A panel member scores it.
        Score = "be scored",
        /// Its award is final.
        Win = "be awarded",
        /// Another bid's award is final.
        Lose = "lose",
        /// The round's award was revoked: back to the evaluation.
        Reopen = "be reopened",
    }
}

impl BidStatus {
    /// A bid that was opened qualified and has been (or is being) scored: qualified, then
    /// awarded or lost.
    pub const SCORED: [BidStatus; 3] = [BidStatus::Qualified, BidStatus::Awarded, BidStatus::Lost];
}

impl Lifecycle for BidStatus {
    type Action = BidAction;
    const NOUN: &'static str = "a bid";

    fn next(self, action: BidAction) -> Option<BidStatus> {
        use BidAction as A;
        use BidStatus as S;
        match (self, action) {
            (S::Submitted, A::Replace) => Some(S::Submitted),
            (S::Submitted, A::Withdraw) => Some(S::Withdrawn),
            (S::Submitted, A::Qualify) => Some(S::Qualified),
            (S::Submitted, A::Disqualify) => Some(S::Disqualified),
            (S::Qualified, A::Score) => Some(S::Qualified),
            (S::Qualified, A::Win) => Some(S::Awarded),
            (S::Qualified, A::Lose) => Some(S::Lost),
            (S::Qualified | S::Awarded | S::Lost, A::Reopen) => Some(S::Qualified),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BidAction as A;
    use super::BidStatus as S;
    use crate::status::assert_diagram;

    #[test]
    fn exactly_the_moves_of_the_diagram_are_allowed() {
        assert_diagram(&[
            (S::Submitted, A::Replace, S::Submitted),
            (S::Submitted, A::Withdraw, S::Withdrawn),
            (S::Submitted, A::Qualify, S::Qualified),
            (S::Submitted, A::Disqualify, S::Disqualified),
            (S::Qualified, A::Score, S::Qualified),
            (S::Qualified, A::Win, S::Awarded),
            (S::Qualified, A::Lose, S::Lost),
            (S::Qualified, A::Reopen, S::Qualified),
            (S::Awarded, A::Reopen, S::Qualified),
            (S::Lost, A::Reopen, S::Qualified),
        ]);
    }
}
