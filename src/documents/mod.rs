//! Printable documents: the government-purchase contract (政府购买服务合同) and the award notice
//! (中标/成交公告) as self-contained HTML5 pages, from plain data. Pure: no database, no HTTP.
//!
//! Every page carries its own print stylesheet (A4) and names only system CJK fonts; it has no
//! script, image, link or any other reference outside itself, so it prints the same offline.
//! All text goes through maud's `html!`, which escapes it.

mod contract;
mod labels;
mod notice;
mod page;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::Money;

pub use contract::contract_html;
pub use notice::notice_html;

/// A party to a contract or an award: its registered name and, when known, its unified social
/// credit code (统一社会信用代码, GB 32100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub credit_code: Option<String>,
}

/// One payment tranche of the schedule, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrancheLine {
    pub seq: i32,
    /// `on_signing`, `on_midterm_passed`, `on_completion_passed` or `on_date` (with `date`).
    pub condition: String,
    pub date: Option<NaiveDate>,
    pub percent: i32,
    pub amount: Money,
    /// `pending`, `releasable`, `withheld`, `released` or `cancelled`.
    pub status: String,
    pub released_at: Option<DateTime<Utc>>,
}

/// One change of the contract amount (补充合同).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendmentLine {
    pub amount_before: Money,
    pub amount_after: Money,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// One performance indicator (绩效指标) and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kpi {
    pub indicator: String,
    pub target: String,
}

/// What the contract document shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractDoc {
    pub contract_id: String,
    pub project_id: String,
    pub project_title: String,
    /// 甲方: the district civil-affairs bureau, e.g. "某某区民政局".
    pub purchaser: Party,
    /// 乙方: the social organization.
    pub supplier: Party,
    pub original_amount: Money,
    pub amount: Money,
    pub service_start: NaiveDate,
    pub service_end: NaiveDate,
    pub kpis: Vec<Kpi>,
    pub tranches: Vec<TrancheLine>,
    pub amendments: Vec<AmendmentLine>,
    /// `pending_signature`, `active`, `completed` or `terminated`.
    pub status: String,
    pub sign_deadline: DateTime<Utc>,
    pub signed_by_bureau_at: Option<DateTime<Utc>>,
    pub signed_by_org_at: Option<DateTime<Utc>>,
    pub termination_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What the award notice shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeDoc {
    pub award_id: String,
    pub project_id: String,
    pub project_title: String,
    pub purchaser: Party,
    pub winner: Party,
    pub amount: Money,
    /// The evaluation panel's names (评审专家名单, 政府采购法实施条例 art 43).
    pub panel: Vec<String>,
    /// Why a bid not ranked first was chosen, when it was.
    pub justification: Option<String>,
    pub objection_deadline: DateTime<Utc>,
    /// `pending_objections`, `final` or `revoked`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}
