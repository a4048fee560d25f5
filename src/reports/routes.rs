//! HTTP for the reports: spending, needs and red flags, for an admin or a district's bureau.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::flags::{Flag, FlagKind};
use super::service::{self, GroupBy, SpendLine};
use crate::auth::{Access, AuthUser, Role};
use crate::domain::Money;
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Page, PageParams, Query};
use crate::state::State;
use crate::validate::Errors;

const READERS: Access = Access::Roles(&[Role::Admin, Role::Bureau]);

pub fn register(r: &mut Router) {
    r.get("/api/v1/reports/spending", READERS, spending_report)
        .get("/api/v1/reports/needs", READERS, needs_report)
        .get("/api/v1/reports/red-flags", READERS, red_flags_report)
        .get(
            "/api/v1/reports/late-payments",
            READERS,
            late_payments_report,
        );
}

fn fiscal_year(raw: Option<&str>, e: &mut Errors) -> Option<i32> {
    let raw = raw?;
    match raw
        .parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
    {
        Some(y) => Some(y),
        None => {
            e.push("fiscal_year", "must be a year between 2000 and 2100");
            None
        }
    }
}

fn date(field: &str, raw: Option<&str>, e: &mut Errors) -> Option<NaiveDate> {
    // An empty value is no date (the schema's `format: date`): refused, not read as absent.
    let raw = raw?;
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            e.push(field, "must be a date YYYY-MM-DD");
            None
        }
    }
}

fn district(raw: Option<String>) -> Option<String> {
    raw.filter(|s| !s.is_empty())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SpendingQuery {
    /// The funds' fiscal year (all years when absent).
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub fiscal_year: Option<String>,
    /// A district (an admin: all when absent; a bureau: its own, another is 404).
    pub district_id: Option<String>,
    /// `category` (default), `street` or `source` (the fund's source).
    #[param(value_type = Option<String>, pattern = "^(category|street|source)$")]
    pub group_by: Option<String>,
}

/// Money figures of a spending row. `budget` = `reserved` + `committed` (what the projects
/// hold of the funds: a fund's `total − available`); `committed` = net commitments of
/// contracts (a fund's `committed`); `released` = tranches paid (a fund's `released`);
/// `reserved` = ceilings held by published projects not yet contracted (a fund's `reserved`).
/// Every figure is the sum of ledger rows, so rows add up to `totals` and `totals` to the
/// funds' own figures, to the fen.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SpendingRow {
    /// The category, the street id (the district id for district-wide projects) or the
    /// fund source.
    pub key: String,
    /// Distinct projects with a ledger row in the funds.
    pub projects: i64,
    pub budget: Money,
    pub committed: Money,
    pub released: Money,
    pub reserved: Money,
}

impl From<&SpendLine> for SpendingRow {
    fn from(l: &SpendLine) -> Self {
        SpendingRow {
            key: l.key.clone(),
            projects: l.projects,
            budget: Money::from_fen(l.budget()),
            committed: Money::from_fen(l.committed),
            released: Money::from_fen(l.released),
            reserved: Money::from_fen(l.reserved),
        }
    }
}

/// The sums of the rows, and the funds in scope.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SpendingTotals {
    pub projects: i64,
    pub budget: Money,
    pub committed: Money,
    pub released: Money,
    pub reserved: Money,
    /// How many funds are in scope.
    pub funds: i64,
    /// Σ the funds' `total`.
    pub funds_total: Money,
    /// Σ the funds' `available` (`funds_total − budget`).
    pub available: Money,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SpendingReport {
    pub rows: Vec<SpendingRow>,
    pub totals: SpendingTotals,
}

/// Spending by category, street or fund source, from the funds' ledgers.
#[utoipa::path(get, path = "/api/v1/reports/spending", tag = "reports", params(SpendingQuery), security(("bearer" = [])),
    responses((status = 200, body = SpendingReport), (status = 404, body = Problem, description = "another district"), (status = 422, body = Problem)))]
pub async fn spending_report(
    state: State,
    actor: AuthUser,
    query: Query<SpendingQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let mut e = Errors::default();
    let year = fiscal_year(q.fiscal_year.as_deref(), &mut e);
    let group_by = match q.group_by.as_deref() {
        None => Some(GroupBy::Category),
        Some(g) => GroupBy::parse(g).or_else(|| {
            e.push("group_by", "must be category, street or source");
            None
        }),
    };
    e.finish()?;
    let group_by = group_by.unwrap_or(GroupBy::Category);
    let district = district(q.district_id);
    let s = state
        .db
        .read(move |c| service::spending(c, &actor, district, year, group_by))
        .await?;
    let t = &s.totals;
    Ok(HttpResponse::Ok().json(SpendingReport {
        rows: s.rows.iter().map(SpendingRow::from).collect(),
        totals: SpendingTotals {
            projects: t.projects,
            budget: Money::from_fen(t.budget()),
            committed: Money::from_fen(t.committed),
            released: Money::from_fen(t.released),
            reserved: Money::from_fen(t.reserved),
            funds: s.funds,
            funds_total: Money::from_fen(s.funds_total),
            available: Money::from_fen(s.funds_total - t.budget()),
        },
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NeedsQuery {
    /// A district (an admin: all when absent; a bureau: its own, another is 404).
    pub district_id: Option<String>,
    /// Needs submitted on or after this day (China Standard Time).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Needs submitted on or before this day (China Standard Time).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NeedsReportResponse {
    /// Needs counted.
    pub total: i64,
    /// Needs by status (every status, 0 when none).
    pub by_status: BTreeMap<String, i64>,
    /// Needs by category (every category).
    pub by_category: BTreeMap<String, i64>,
    /// Needs by the channel they came in by (`source`).
    pub by_source: BTreeMap<String, i64>,
    /// `met` ÷ (`accepted` + `in_project` + `met`): the share of needs taken into the guide
    /// list that were met; a fraction rounded to 4 places, `null` when none was accepted.
    pub met_rate: Option<f64>,
    /// The median, over needs linked to a project, of the days (two places) from the need's
    /// submission to the project's first publication; `null` when none is linked.
    pub median_days_to_project: Option<f64>,
}

/// Needs by status, category and channel, their met rate and time to a project.
#[utoipa::path(get, path = "/api/v1/reports/needs", tag = "reports", params(NeedsQuery), security(("bearer" = [])),
    responses((status = 200, body = NeedsReportResponse), (status = 404, body = Problem, description = "another district"), (status = 422, body = Problem)))]
pub async fn needs_report(
    state: State,
    actor: AuthUser,
    query: Query<NeedsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let mut e = Errors::default();
    let from = date("from", q.from.as_deref(), &mut e);
    let to = date("to", q.to.as_deref(), &mut e);
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            e.push("to", "must not be before from");
        }
    }
    e.finish()?;
    let district = district(q.district_id);
    let r = state
        .db
        .read(move |c| service::needs(c, &actor, district, from, to))
        .await?;
    Ok(HttpResponse::Ok().json(NeedsReportResponse {
        total: r.total,
        by_status: r.by_status,
        by_category: r.by_category,
        by_source: r.by_source,
        met_rate: r.met_rate.and_then(|d| d.to_f64()),
        median_days_to_project: r.median_days_to_project.and_then(|d| d.to_f64()),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RedFlagsQuery {
    /// A district (an admin: all when absent; a bureau: its own, another is 404).
    pub district_id: Option<String>,
    /// Projects funded from funds of this fiscal year (all years when absent).
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub fiscal_year: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A red flag: a closed round worth a second look, not a finding.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RedFlagResponse {
    pub flag: FlagKind,
    pub project_id: String,
    pub round: i32,
    /// The organization concerned (the winner, the single bidder), when there is one.
    pub organization_id: Option<String>,
    /// What was seen, in words, with the figures and the threshold.
    pub detail: String,
    /// The threshold's source (`config/rules/red_flags.toml`), or its "unverified default" note.
    pub citation: String,
}

impl From<Flag> for RedFlagResponse {
    fn from(f: Flag) -> Self {
        RedFlagResponse {
            flag: f.flag,
            project_id: f.project_id,
            round: f.round,
            organization_id: f.organization_id,
            detail: f.detail,
            citation: f.citation,
        }
    }
}

/// Red flags of the closed rounds (bids opened) of a district's projects.
///
/// `single_bidder`: one opened bid. `price_near_ceiling`: award ≥ 98 % of the ceiling.
/// `repeat_winner`: an organization won ≥ 3 of the last 4 awarded rounds of one category in
/// one street (on its latest win). `identical_prices`: ≥ 2 opened bids at one price.
/// `high_disqualification`: ≥ 50 % of opened bids disqualified. `short_bidding_period`:
/// publication to close shorter than the pack's minimum + 1 day. `late_amendment`: an
/// amendment less than 3 days before the close then in force. `panel_overlap`: one expert on
/// the panels of ≥ 3 of one organization's wins (on the latest). Thresholds: rule data.
#[utoipa::path(get, path = "/api/v1/reports/red-flags", tag = "reports", params(RedFlagsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<RedFlagResponse>), (status = 404, body = Problem, description = "another district"), (status = 422, body = Problem)))]
pub async fn red_flags_report(
    state: State,
    actor: AuthUser,
    query: Query<RedFlagsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let mut e = Errors::default();
    let year = fiscal_year(q.fiscal_year.as_deref(), &mut e);
    e.finish()?;
    let page = PageParams::<(String, i32, String, String)>::parse(q.limit, q.cursor.as_deref())?;
    let district = district(q.district_id);
    let st = state.clone();
    let flags = state
        .db
        .read(move |c| service::red_flags(c, &actor, &st.rules, district, year))
        .await?;
    let rows: Vec<Flag> = flags
        .into_iter()
        .filter(|f| page.after.as_ref().is_none_or(|a| f.sort_key() > *a))
        .take(page.fetch() as usize)
        .collect();
    Ok(Page::from_rows(rows, page.limit, Flag::sort_key, RedFlagResponse::from).respond())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LatePaymentsQuery {
    /// An admin's choice of district (all when absent); a bureau reads its own.
    pub district_id: Option<String>,
    /// The fiscal year of the contracts' funds.
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub fiscal_year: Option<String>,
}

/// A tranche paid after its due day, or unpaid past it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatePayment {
    pub tranche_id: String,
    pub contract_id: String,
    pub project_id: String,
    pub organization_id: String,
    pub amount: Money,
    /// The day it had to be paid by (a due day ends at 24:00 China Standard Time).
    pub release_due: NaiveDate,
    /// When it was paid; `null`: still unpaid.
    pub released_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Calendar days after the due day it was paid (or, unpaid, as of today).
    pub days_late: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatePaymentsTotals {
    /// Tranches paid late.
    pub paid_late: i64,
    pub paid_late_amount: Money,
    /// Tranches unpaid past their due day.
    pub overdue_unpaid: i64,
    pub overdue_unpaid_amount: Money,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatePaymentsReport {
    /// Most late first.
    pub items: Vec<LatePayment>,
    pub totals: LatePaymentsTotals,
}

/// Late payments: tranches paid after their `release_due`, and those unpaid past it.
#[utoipa::path(get, path = "/api/v1/reports/late-payments", tag = "reports", params(LatePaymentsQuery), security(("bearer" = [])),
    responses((status = 200, body = LatePaymentsReport), (status = 404, body = Problem, description = "another district"), (status = 422, body = Problem)))]
pub async fn late_payments_report(
    state: State,
    actor: AuthUser,
    query: Query<LatePaymentsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let mut e = Errors::default();
    let year = fiscal_year(q.fiscal_year.as_deref(), &mut e);
    e.finish()?;
    let district = district(q.district_id);
    let now = state.clock.now_naive();
    let late = state
        .db
        .read(move |c| service::late_payments(c, &actor, district, year, now))
        .await?;
    let sum = |paid: bool| -> (i64, i64) {
        late.iter()
            .filter(|l| l.released_at.is_some() == paid)
            .fold((0, 0), |(n, f), l| (n + 1, f + l.amount_fen))
    };
    let (paid_late, paid_fen) = sum(true);
    let (unpaid, unpaid_fen) = sum(false);
    Ok(HttpResponse::Ok().json(LatePaymentsReport {
        totals: LatePaymentsTotals {
            paid_late,
            paid_late_amount: Money::from_fen(paid_fen),
            overdue_unpaid: unpaid,
            overdue_unpaid_amount: Money::from_fen(unpaid_fen),
        },
        items: late
            .into_iter()
            .map(|l| LatePayment {
                tranche_id: l.tranche_id,
                contract_id: l.contract_id,
                project_id: l.project_id,
                organization_id: l.organization_id,
                amount: Money::from_fen(l.amount_fen),
                release_due: l.release_due,
                released_at: l.released_at.map(|t| t.and_utc()),
                days_late: l.days_late,
            })
            .collect(),
    }))
}
