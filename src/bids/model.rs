//! Bid rows and statuses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::bids;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bids)]
pub struct Bid {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    pub organization_id: String,
    pub status: String,
    pub sealed: Option<String>,
    pub contents: Option<String>,
    pub price_fen: Option<i64>,
    pub credentials: String,
    pub receipt_sha256: String,
    pub received_at: NaiveDateTime,
    pub disqualified_reasons: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Bid {
    pub fn is(&self, status: BidStatus) -> bool {
        self.status == status.as_str()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BidStatus {
    Submitted,
    Withdrawn,
    Qualified,
    Disqualified,
    Awarded,
    Lost,
}

impl BidStatus {
    /// A bid that was opened qualified and has been (or is being) scored: qualified, then
    /// awarded or lost.
    pub const SCORED: [BidStatus; 3] = [BidStatus::Qualified, BidStatus::Awarded, BidStatus::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            BidStatus::Submitted => "submitted",
            BidStatus::Withdrawn => "withdrawn",
            BidStatus::Qualified => "qualified",
            BidStatus::Disqualified => "disqualified",
            BidStatus::Awarded => "awarded",
            BidStatus::Lost => "lost",
        }
    }
}
