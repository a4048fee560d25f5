//! Diesel for the reports: read-only aggregates over funds, the ledger, needs, and the opened
//! side of bids. Nothing here selects a bid's sealed envelope or contents: only the columns the
//! opening makes public (organization, status, price) of bids the close has opened.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::db::schema::{
    audit_events, awards, bids, fund_ledger, funds, needs, panel_seats, project_amendments,
    projects,
};
use crate::db::DbConn;

/// Where a report looks: one district or all, one fiscal year or all.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub district_id: Option<String>,
    pub fiscal_year: Option<i32>,
}

/// The ledger of the funds in scope summed per (category, street, source): each project lies
/// in exactly one such cell (one category, one street, one fund), so cells add up to any
/// grouping without counting a project twice.
#[derive(Debug, Clone)]
pub struct SpendCell {
    pub category: Option<String>,
    pub street_id: Option<String>,
    pub project_district_id: Option<String>,
    pub source: String,
    pub projects: i64,
    pub reserved: i64,
    pub committed: i64,
    pub released: i64,
}

/// The same sums as `GET /funds/{id}` (so the report and the funds agree to the fen).
use crate::funds::repo::{COMMITTED, RELEASED, RESERVED};
const PROJECTS: &str = "CAST(COUNT(DISTINCT fund_ledger.project_id) AS BIGINT)";

pub fn spending_cells(conn: &mut DbConn, scope: &Scope) -> QueryResult<Vec<SpendCell>> {
    let mut q = fund_ledger::table
        .inner_join(funds::table)
        .left_join(projects::table.on(projects::id.nullable().eq(fund_ledger::project_id)))
        .group_by(sql::<Text>(
            "projects.category, projects.street_id, projects.district_id, funds.source",
        ))
        .select(sql::<(
            Nullable<Text>,
            Nullable<Text>,
            Nullable<Text>,
            Text,
            BigInt,
            BigInt,
            BigInt,
            BigInt,
        )>(&format!(
            "projects.category, projects.street_id, projects.district_id, funds.source, \
             {PROJECTS}, {RESERVED}, {COMMITTED}, {RELEASED}"
        )))
        .into_boxed();
    if let Some(d) = &scope.district_id {
        q = q.filter(funds::district_id.eq(d.clone()));
    }
    if let Some(y) = scope.fiscal_year {
        q = q.filter(funds::fiscal_year.eq(y));
    }
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                category,
                street_id,
                project_district_id,
                source,
                projects,
                reserved,
                committed,
                released,
            )| {
                SpendCell {
                    category,
                    street_id,
                    project_district_id,
                    source,
                    projects,
                    reserved,
                    committed,
                    released,
                }
            },
        )
        .collect())
}

/// The funds in scope: how many and their totals, in fen.
pub fn funds_total(conn: &mut DbConn, scope: &Scope) -> QueryResult<(i64, i64)> {
    let mut q = funds::table
        .select((
            sql::<BigInt>("CAST(COUNT(*) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(funds.total_fen), 0) AS BIGINT)"),
        ))
        .into_boxed();
    if let Some(d) = &scope.district_id {
        q = q.filter(funds::district_id.eq(d.clone()));
    }
    if let Some(y) = scope.fiscal_year {
        q = q.filter(funds::fiscal_year.eq(y));
    }
    q.get_result(conn)
}

/// Needs counted per (status, category, source), of one district (or all) submitted in
/// `[from, to)`.
pub fn need_counts(
    conn: &mut DbConn,
    district_id: Option<&str>,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> QueryResult<Vec<(String, String, String, i64)>> {
    let mut q = needs::table
        .group_by((needs::status, needs::category, needs::source))
        .select((needs::status, needs::category, needs::source, count_star()))
        .into_boxed();
    if let Some(d) = district_id {
        q = q.filter(needs::district_id.eq(d.to_owned()));
    }
    if let Some(f) = from {
        q = q.filter(needs::created_at.ge(f));
    }
    if let Some(t) = to {
        q = q.filter(needs::created_at.lt(t));
    }
    q.load(conn)
}

/// For each need of the scope linked to a project: when it was submitted and when that project
/// was first published (its first `project.published` audit event; a republication moves
/// `projects.published_at`, not that event).
pub fn need_publication_times(
    conn: &mut DbConn,
    district_id: Option<&str>,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
) -> QueryResult<Vec<(NaiveDateTime, NaiveDateTime)>> {
    let mut q = needs::table
        .inner_join(
            audit_events::table.on(audit_events::entity
                .eq("project")
                .and(audit_events::action.eq("project.published"))
                .and(audit_events::entity_id.nullable().eq(needs::project_id))),
        )
        .group_by(sql::<Text>("needs.id, needs.created_at"))
        .select(sql::<(Timestamp, Timestamp)>(
            "needs.created_at, MIN(audit_events.at)",
        ))
        .into_boxed();
    if let Some(d) = district_id {
        q = q.filter(needs::district_id.eq(d.to_owned()));
    }
    if let Some(f) = from {
        q = q.filter(needs::created_at.ge(f));
    }
    if let Some(t) = to {
        q = q.filter(needs::created_at.lt(t));
    }
    q.load(conn)
}

/// A project of the red-flag scope, with what the flags read of it.
#[derive(Debug, Clone, Queryable)]
pub struct FlagProject {
    pub id: String,
    pub round: i32,
    pub status: String,
    pub category: String,
    pub street_id: Option<String>,
    pub method: String,
    pub budget_ceiling_fen: i64,
    pub bid_close_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
    pub rule_pack: Option<String>,
}

macro_rules! in_scope {
    ($q:expr, $scope:expr) => {{
        let mut q = $q;
        if let Some(d) = &$scope.district_id {
            q = q.filter(projects::district_id.eq(d.clone()));
        }
        if let Some(y) = $scope.fiscal_year {
            q = q.filter(funds::fiscal_year.eq(y));
        }
        q
    }};
}

pub fn flag_projects(conn: &mut DbConn, scope: &Scope) -> QueryResult<Vec<FlagProject>> {
    let q = projects::table
        .inner_join(funds::table.on(funds::id.eq(projects::fund_id)))
        .select((
            projects::id,
            projects::round,
            projects::status,
            projects::category,
            projects::street_id,
            projects::method,
            projects::budget_ceiling_fen,
            projects::bid_close_at,
            projects::published_at,
            projects::closed_at,
            projects::rule_pack,
        ))
        .into_boxed();
    in_scope!(q, scope).order(projects::id.asc()).load(conn)
}

/// An opened bid, as the opening publishes it.
#[derive(Debug, Clone, Queryable)]
pub struct OpenedBid {
    pub project_id: String,
    pub round: i32,
    pub organization_id: Option<String>,
    pub status: String,
    pub price_fen: Option<i64>,
}

/// The statuses a bid has only once the close opened it (`submitted` is sealed; `withdrawn`
/// never opens).
pub const OPENED: [&str; 4] = ["qualified", "disqualified", "awarded", "lost"];

pub fn opened_bids(conn: &mut DbConn, scope: &Scope) -> QueryResult<Vec<OpenedBid>> {
    let q = bids::table
        .inner_join(projects::table.on(projects::id.eq(bids::project_id)))
        .inner_join(funds::table.on(funds::id.eq(projects::fund_id)))
        .filter(bids::status.eq_any(OPENED))
        .select((
            bids::project_id,
            bids::round,
            bids::organization_id,
            bids::status,
            bids::price_fen,
        ))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// An award that stands (pending its objections, or final).
#[derive(Debug, Clone, Queryable)]
pub struct StandingAward {
    pub project_id: String,
    pub round: i32,
    pub organization_id: String,
    pub amount_fen: i64,
    pub created_at: NaiveDateTime,
}

pub fn standing_awards(conn: &mut DbConn, scope: &Scope) -> QueryResult<Vec<StandingAward>> {
    let q = awards::table
        .inner_join(projects::table.on(projects::id.eq(awards::project_id)))
        .inner_join(funds::table.on(funds::id.eq(projects::fund_id)))
        .filter(awards::status.ne("revoked"))
        .select((
            awards::project_id,
            awards::round,
            awards::organization_id,
            awards::amount_fen,
            awards::created_at,
        ))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// Accepted panel seats: (project, round, expert).
pub fn panel_members(conn: &mut DbConn, scope: &Scope) -> QueryResult<Vec<(String, i32, String)>> {
    let q = panel_seats::table
        .inner_join(projects::table.on(projects::id.eq(panel_seats::project_id)))
        .inner_join(funds::table.on(funds::id.eq(projects::fund_id)))
        .filter(panel_seats::status.eq("accepted"))
        .select((
            panel_seats::project_id,
            panel_seats::round,
            panel_seats::expert_id,
        ))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// Amendments: (project, when, the close in force when it was made).
pub fn amendments(
    conn: &mut DbConn,
    scope: &Scope,
) -> QueryResult<Vec<(String, NaiveDateTime, NaiveDateTime)>> {
    let q = project_amendments::table
        .inner_join(projects::table.on(projects::id.eq(project_amendments::project_id)))
        .inner_join(funds::table.on(funds::id.eq(projects::fund_id)))
        .select((
            project_amendments::project_id,
            project_amendments::at,
            project_amendments::old_close_at,
        ))
        .into_boxed();
    in_scope!(q, scope).load(conn)
}

/// A paid or payable tranche with a due day, of a contract in scope (`late`).
#[derive(Debug, Clone, Queryable)]
pub struct DueTranche {
    pub tranche_id: String,
    pub contract_id: String,
    pub project_id: String,
    pub organization_id: String,
    pub amount_fen: i64,
    pub status: crate::contracts::model::TrancheStatus,
    pub release_due: Option<chrono::NaiveDate>,
    pub released_at: Option<NaiveDateTime>,
}

/// The released and releasable tranches with a due day of the contracts of `district_id` (all
/// for `None`) whose fund is of `fiscal_year` (all for `None`).
pub fn tranches_with_due_days(
    conn: &mut DbConn,
    district_id: Option<&str>,
    fiscal_year: Option<i32>,
) -> QueryResult<Vec<DueTranche>> {
    use crate::contracts::model::TrancheStatus;
    use crate::db::schema::{contracts, tranches};
    let mut q = tranches::table
        .inner_join(contracts::table.on(contracts::id.eq(tranches::contract_id)))
        .inner_join(funds::table.on(funds::id.eq(contracts::fund_id)))
        .filter(tranches::release_due.is_not_null())
        .filter(tranches::status.eq_any([TrancheStatus::Released, TrancheStatus::Releasable]))
        .select((
            tranches::id,
            contracts::id,
            contracts::project_id,
            contracts::organization_id,
            tranches::amount_fen,
            tranches::status,
            tranches::release_due,
            tranches::released_at,
        ))
        .into_boxed();
    if let Some(d) = district_id {
        q = q.filter(contracts::district_id.eq(d.to_owned()));
    }
    if let Some(y) = fiscal_year {
        q = q.filter(funds::fiscal_year.eq(y));
    }
    q.load(conn)
}
