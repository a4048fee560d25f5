//! Report use cases: who may read which district, and the figures, each defined once here.
//!
//! Spending (`GET /reports/spending`), from the ledgers of the funds in scope (the funds of
//! the district, or every district for an admin, and of the fiscal year when given), summed
//! exactly as `GET /funds/{id}` sums them, so every figure adds up to the funds' own to the
//! fen:
//! - `reserved` = Σ reserve − Σ unreserve: ceilings held by published, uncontracted projects;
//! - `committed` = Σ commit − Σ uncommit: contract amounts (after amendments and
//!   terminations) — a fund's `committed`;
//! - `released` = Σ release: tranches paid — a fund's `released`;
//! - `budget` = `reserved` + `committed`: what the projects hold of the funds now (a fund's
//!   `total − available`);
//! - `projects` = distinct projects with a ledger row in those funds.
//!
//! A row's key: the project's category; its street (the district's id for a district-wide
//! project); or its fund's source.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::{Decimal, RoundingStrategy};

use super::flags::{self, Flag, Period, Round, SeenBid, Win};
use super::repo::{self, Scope};
use crate::auth::{AuthUser, RegionKind, Role};
use crate::db::DbConn;
use crate::domain::rules::{Method, RulePack, RulePacks};
use crate::error::AppError;

/// The district a report covers: an admin's choice (all when `None`); a bureau's own (asking
/// for another district is 404, as for any record out of scope).
pub fn district_scope(
    conn: &mut DbConn,
    actor: &AuthUser,
    asked: Option<String>,
) -> Result<Option<String>, AppError> {
    match actor.role {
        Role::Admin => {
            if let Some(d) = &asked {
                crate::regions::repo::find_path(conn, d)?
                    .filter(|p| p.kind == RegionKind::District)
                    .ok_or_else(|| AppError::field("district_id", "no such district"))?;
            }
            Ok(asked)
        }
        Role::Bureau => {
            let own = actor.district_id().ok_or_else(AppError::forbidden)?;
            match asked {
                Some(d) if d != own => Err(AppError::not_found("district")),
                _ => Ok(Some(own.to_owned())),
            }
        }
        _ => Err(AppError::forbidden()),
    }
}

/// Runs `f` in one read transaction, so the figures its statements read come from one state
/// of the database (a release committed between two of them cannot make the totals disagree
/// with the rows): PostgreSQL `REPEATABLE READ, READ ONLY`; SQLite's deferred transaction reads
/// one WAL snapshot from its first statement on.
fn on_one_snapshot<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::{Connection, RunQueryDsl};
    conn.transaction(|c| {
        if matches!(c, DbConn::Pg(_)) {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(c)?;
        }
        f(c)
    })
}

/// The late payments of the district in scope (`late::late_payments`), as of `now`.
pub fn late_payments(
    db: &mut DbConn,
    actor: &AuthUser,
    district_id: Option<String>,
    fiscal_year: Option<i32>,
    now: NaiveDateTime,
) -> Result<Vec<super::late::Late>, AppError> {
    on_one_snapshot(db, |conn| {
        let district = district_scope(conn, actor, district_id)?;
        super::late::late_payments(conn, district.as_deref(), fiscal_year, now)
    })
}

/// How spending rows are keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Category,
    Street,
    Source,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        match s {
            "category" => Some(GroupBy::Category),
            "street" => Some(GroupBy::Street),
            "source" => Some(GroupBy::Source),
            _ => None,
        }
    }
}

/// One row of the spending report, in fen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpendLine {
    pub key: String,
    pub projects: i64,
    pub reserved: i64,
    pub committed: i64,
    pub released: i64,
}

impl SpendLine {
    pub fn budget(&self) -> i64 {
        self.reserved + self.committed
    }

    fn add(&mut self, c: &repo::SpendCell) {
        self.projects += c.projects;
        self.reserved += c.reserved;
        self.committed += c.committed;
        self.released += c.released;
    }
}

pub struct Spending {
    pub rows: Vec<SpendLine>,
    pub totals: SpendLine,
    /// How many funds are in scope, and their totals (fen).
    pub funds: i64,
    pub funds_total: i64,
}

pub fn spending(
    db: &mut DbConn,
    actor: &AuthUser,
    district_id: Option<String>,
    fiscal_year: Option<i32>,
    group_by: GroupBy,
) -> Result<Spending, AppError> {
    on_one_snapshot(db, |conn| {
        let scope = Scope {
            district_id: district_scope(conn, actor, district_id)?,
            fiscal_year,
        };
        let cells = repo::spending_cells(conn, &scope)?;
        let mut rows: BTreeMap<String, SpendLine> = BTreeMap::new();
        let mut totals = SpendLine {
            key: "total".into(),
            ..SpendLine::default()
        };
        for c in &cells {
            let key = match group_by {
                GroupBy::Category => c.category.clone(),
                GroupBy::Street => c.street_id.clone().or(c.project_district_id.clone()),
                GroupBy::Source => Some(c.source.clone()),
            }
            .unwrap_or_else(|| "none".into());
            rows.entry(key.clone())
                .or_insert_with(|| SpendLine {
                    key,
                    ..SpendLine::default()
                })
                .add(c);
            totals.add(c);
        }
        let (funds, funds_total) = repo::funds_total(conn, &scope)?;
        Ok(Spending {
            rows: rows.into_values().collect(),
            totals,
            funds,
            funds_total,
        })
    })
}

/// The needs report, counted over the needs of the scope submitted within the dates.
pub struct NeedsReport {
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_category: BTreeMap<String, i64>,
    pub by_source: BTreeMap<String, i64>,
    /// met ÷ (accepted + in_project + met); `None` when no need was accepted.
    pub met_rate: Option<Decimal>,
    /// The median over needs linked to a project of the days (two decimals) from the need's
    /// submission to the project's first publication; `None` when none is.
    pub median_days_to_project: Option<Decimal>,
}

/// Rates and days round half-up, as every score of the API does.
const HALF_UP: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// The first instant of a day in China Standard Time, as UTC.
fn start_of_day_cst(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists") - chrono::Duration::hours(8)
}

pub fn needs(
    db: &mut DbConn,
    actor: &AuthUser,
    district_id: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<NeedsReport, AppError> {
    on_one_snapshot(db, |conn| {
        let district = district_scope(conn, actor, district_id)?;
        let from = from.map(start_of_day_cst);
        let to = to.and_then(|d| d.succ_opt()).map(start_of_day_cst);
        let zeros = |all: &[&str]| -> BTreeMap<String, i64> {
            all.iter().map(|s| ((*s).to_owned(), 0)).collect()
        };
        use crate::domain::spec::{Category, Source};
        use crate::needs::model::NeedStatus;
        let statuses: Vec<&str> = NeedStatus::ALL.iter().map(|s| s.as_str()).collect();
        let mut by_status = zeros(&statuses);
        let mut by_category = zeros(&Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>());
        let mut by_source = zeros(&Source::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>());
        let mut total = 0;
        for (status, category, source, n) in repo::need_counts(conn, district.as_deref(), from, to)?
        {
            *by_status.entry(status).or_default() += n;
            *by_category.entry(category).or_default() += n;
            *by_source.entry(source).or_default() += n;
            total += n;
        }
        let met = by_status.get("met").copied().unwrap_or(0);
        let accepted: i64 = ["accepted", "in_project", "met"]
            .iter()
            .map(|s| by_status.get(*s).copied().unwrap_or(0))
            .sum();
        let met_rate = (accepted > 0).then(|| {
            (Decimal::from(met) / Decimal::from(accepted)).round_dp_with_strategy(4, HALF_UP)
        });
        let mut days: Vec<Decimal> =
            repo::need_publication_times(conn, district.as_deref(), from, to)?
                .into_iter()
                .map(|(submitted, published)| {
                    Decimal::from((published - submitted).num_seconds()) / Decimal::from(86_400)
                })
                .collect();
        days.sort();
        let median = match days.len() {
            0 => None,
            n if n % 2 == 1 => Some(days[n / 2]),
            n => Some((days[n / 2 - 1] + days[n / 2]) / Decimal::from(2)),
        }
        .map(|d| d.round_dp_with_strategy(2, HALF_UP));
        Ok(NeedsReport {
            total,
            by_status,
            by_category,
            by_source,
            met_rate,
            median_days_to_project: median,
        })
    })
}

/// The red flags of the closed rounds of the projects in scope (funded from funds of the
/// fiscal year when given), in listing order.
///
/// A round counts only once its bids are opened: an earlier round of a republished project,
/// or the current round once the close job has run (`closed_at` set and the project past
/// `open`). Only opened bids are read (statuses the close gives), and only their public
/// columns. The bidding period and the amendments are known for the current round only.
pub fn red_flags(
    db: &mut DbConn,
    actor: &AuthUser,
    packs: &RulePacks,
    district_id: Option<String>,
    fiscal_year: Option<i32>,
) -> Result<Vec<Flag>, AppError> {
    on_one_snapshot(db, |conn| {
        let scope = Scope {
            district_id: district_scope(conn, actor, district_id)?,
            fiscal_year,
        };
        let projects = repo::flag_projects(conn, &scope)?;
        let by_id: BTreeMap<&str, &repo::FlagProject> =
            projects.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut rounds: BTreeMap<(String, i32), Round> = BTreeMap::new();
        for p in projects.iter().filter(|p| current_closed(p)) {
            let mut r = new_round(p, p.round);
            r.period = p.published_at.map(|published_at| Period {
                published_at,
                close_at: p.bid_close_at,
                min_days: min_bidding_days(p, packs),
            });
            rounds.insert((p.id.clone(), p.round), r);
        }
        for b in repo::opened_bids(conn, &scope)? {
            if let Some(r) = round_of(&mut rounds, &by_id, &b.project_id, b.round) {
                r.bids.push(SeenBid {
                    organization_id: b.organization_id,
                    disqualified: b.status == "disqualified",
                    price_fen: b.price_fen,
                });
            }
        }
        for a in repo::standing_awards(conn, &scope)? {
            if let Some(r) = round_of(&mut rounds, &by_id, &a.project_id, a.round) {
                r.award = Some(Win {
                    organization_id: a.organization_id,
                    amount_fen: a.amount_fen,
                    at: a.created_at,
                });
            }
        }
        for (pid, round, expert) in repo::panel_members(conn, &scope)? {
            if let Some(r) = round_of(&mut rounds, &by_id, &pid, round) {
                r.panel.push(expert);
            }
        }
        for (pid, at, close) in repo::amendments(conn, &scope)? {
            let Some(current) = by_id.get(pid.as_str()).map(|p| p.round) else {
                continue;
            };
            if let Some(r) = round_of(&mut rounds, &by_id, &pid, current) {
                r.amendments.push((at, close));
            }
        }
        let rounds: Vec<Round> = rounds.into_values().collect();
        Ok(flags::detect(&rounds, packs.red_flags()))
    })
}

/// Whether the project's current round is closed: the close job ran and it is past `open`.
fn current_closed(p: &repo::FlagProject) -> bool {
    p.closed_at.is_some() && !matches!(p.status.as_str(), "draft" | "open")
}

fn new_round(p: &repo::FlagProject, round: i32) -> Round {
    Round {
        project_id: p.id.clone(),
        round,
        category: p.category.clone(),
        street_id: p.street_id.clone(),
        ceiling_fen: p.budget_ceiling_fen,
        bids: vec![],
        award: None,
        panel: vec![],
        period: None,
        amendments: vec![],
    }
}

/// The round `round` of project `pid`, if its bids are opened (an earlier round, or the
/// current one once closed); `None` for anything still sealed or out of scope.
fn round_of<'a>(
    rounds: &'a mut BTreeMap<(String, i32), Round>,
    by_id: &BTreeMap<&str, &repo::FlagProject>,
    pid: &str,
    round: i32,
) -> Option<&'a mut Round> {
    let p = by_id.get(pid)?;
    if !(round < p.round || (round == p.round && current_closed(p))) {
        return None;
    }
    Some(
        rounds
            .entry((pid.to_owned(), round))
            .or_insert_with(|| new_round(p, round)),
    )
}

/// The minimum bidding period of the pack the project was published under (its snapshot),
/// else of the method's pack in force.
fn min_bidding_days(p: &repo::FlagProject, packs: &RulePacks) -> u32 {
    p.rule_pack
        .as_deref()
        .and_then(|s| serde_json::from_str::<RulePack>(s).ok())
        .or_else(|| Method::parse(&p.method).map(|m| packs.get(m).clone()))
        .map_or(0, |pack| pack.bidding_period.min_days)
}
