//! Fund use cases (create; read and list with balances, scoped to who may manage them; the
//! ledger page) and the ledger moves other areas make inside their own transactions.

use chrono::NaiveDateTime;
use serde_json::json;

use super::repo;
pub use super::repo::{Balances, Fund, LedgerEntry};
use crate::audit::{self, Event};
use crate::auth::{AuthUser, RegionKind, Role};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::spec::FundSource;
use crate::domain::Money;
use crate::error::AppError;

pub struct NewFund {
    pub name: String,
    pub district_id: String,
    pub fiscal_year: i32,
    pub source: FundSource,
    pub total: Money,
}

/// Whether `actor` may manage funds of `district_id`.
fn may_manage(actor: &AuthUser, district_id: &str) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Bureau => actor
            .region
            .as_ref()
            .is_some_and(|r| r.kind == RegionKind::District && r.id == district_id),
        _ => false,
    }
}

pub fn create(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    cmd: NewFund,
    now: NaiveDateTime,
) -> Result<Fund, AppError> {
    write_tx(conn, |tx| {
        let district = crate::regions::repo::find_path(tx, &cmd.district_id)?
            .filter(|p| p.kind == RegionKind::District)
            .ok_or_else(|| AppError::field("district_id", "no such district"))?;
        if !may_manage(actor, &district.id) {
            return Err(AppError::not_found("district"));
        }
        let fund = Fund {
            id: uuid::Uuid::now_v7().to_string(),
            name: cmd.name,
            district_id: district.id.clone(),
            fiscal_year: cmd.fiscal_year,
            source: cmd.source.as_str().into(),
            total_fen: cmd.total.fen(),
            created_by: actor.id.clone(),
            created_at: now,
        };
        repo::insert(tx, &fund).map_err(AppError::unique_as(
            "fund_exists",
            "the district has a fund of this name for this fiscal year",
        ))?;
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "fund.created",
                entity: "fund",
                entity_id: &fund.id,
                district_id: Some(&fund.district_id),
                project_id: None,
                summary: json!({"after": {"name": fund.name, "fiscal_year": fund.fiscal_year, "source": fund.source, "total": Money::from_fen(fund.total_fen)}}),
            },
            now,
        )?;
        Ok(fund)
    })
}

/// The fund with its balances, if the caller may see it (404 otherwise).
pub fn get(conn: &mut DbConn, actor: &AuthUser, id: &str) -> Result<(Fund, Balances), AppError> {
    let fund = repo::find(conn, id)?
        .filter(|f| may_manage(actor, &f.district_id))
        .ok_or_else(|| AppError::not_found("fund"))?;
    let b = repo::balances(conn, &fund.id)?;
    Ok((fund, b))
}

/// The funds a listing shows `actor`, with their balances (one query): an admin's choice of
/// district (all when `None`), a bureau's own district whatever it asks.
pub fn list(
    conn: &mut DbConn,
    actor: &AuthUser,
    district_id: Option<String>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(Fund, Balances)>, AppError> {
    let district = match actor.role {
        Role::Admin => district_id,
        _ => Some(
            actor
                .district_id()
                .ok_or_else(AppError::forbidden)?
                .to_owned(),
        ),
    };
    Ok(repo::list_with_balances(
        conn,
        district.as_deref(),
        after,
        limit,
    )?)
}

/// A page of the fund's ledger, oldest first, if the caller may see the fund.
pub fn ledger(
    conn: &mut DbConn,
    actor: &AuthUser,
    id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<LedgerEntry>, AppError> {
    get(conn, actor, id)?;
    Ok(repo::list_entries(conn, id, after, limit)?)
}

pub fn available(fund: &Fund, b: &Balances) -> i64 {
    fund.total_fen - b.reserved - b.committed
}

/// A ledger move, made once per `ref_key`.
pub struct Move<'a> {
    pub fund_id: &'a str,
    pub kind: &'a str,
    pub amount: Money,
    pub project_id: Option<&'a str>,
    pub contract_id: Option<&'a str>,
    pub tranche_id: Option<&'a str>,
    pub ref_key: &'a str,
    pub actor_id: Option<&'a str>,
}

fn entry(m: &Move<'_>, now: NaiveDateTime) -> LedgerEntry {
    LedgerEntry {
        id: uuid::Uuid::now_v7().to_string(),
        fund_id: m.fund_id.to_owned(),
        kind: m.kind.to_owned(),
        amount_fen: m.amount.fen(),
        project_id: m.project_id.map(str::to_owned),
        contract_id: m.contract_id.map(str::to_owned),
        tranche_id: m.tranche_id.map(str::to_owned),
        ref_key: m.ref_key.to_owned(),
        actor_id: m.actor_id.map(str::to_owned),
        at: now,
    }
}

fn post(conn: &mut DbConn, m: &Move<'_>, now: NaiveDateTime) -> Result<(), AppError> {
    repo::insert_entry(conn, &entry(m, now)).map_err(AppError::unique_as(
        "already_posted",
        format!("ledger entry {} exists", m.ref_key),
    ))
}

/// Posts a move that takes `m.amount` out of `available` (a reservation, a commitment) if the
/// fund has it: 409 `budget_exceeded` otherwise. Must run inside the caller's write
/// transaction; it locks the fund first.
pub fn take_available(conn: &mut DbConn, m: &Move<'_>, now: NaiveDateTime) -> Result<(), AppError> {
    ensure_available(conn, m.fund_id, m.amount.fen())?;
    post(conn, m, now)
}

/// [`take_available`] for many moves out of one fund (a bulk seed's commitments): one check
/// that the fund has their sum, then their rows in as few statements as the backend allows.
pub fn take_available_all(
    conn: &mut DbConn,
    fund_id: &str,
    moves: &[Move<'_>],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if let Some(m) = moves.iter().find(|m| m.fund_id != fund_id) {
        return Err(AppError::internal(anyhow::anyhow!(
            "move {} is not out of fund {fund_id}",
            m.ref_key
        )));
    }
    ensure_available(conn, fund_id, moves.iter().map(|m| m.amount.fen()).sum())?;
    let rows: Vec<LedgerEntry> = moves.iter().map(|m| entry(m, now)).collect();
    repo::insert_entries(conn, &rows).map_err(AppError::unique_as(
        "already_posted",
        "a ledger entry of this batch exists",
    ))
}

/// Locks the fund and checks it has `fen` available: 409 `budget_exceeded` otherwise.
fn ensure_available(conn: &mut DbConn, fund_id: &str, fen: i64) -> Result<(), AppError> {
    if !repo::lock(conn, fund_id)? {
        return Err(AppError::field("fund_id", "no such fund"));
    }
    let fund =
        repo::find(conn, fund_id)?.ok_or_else(|| AppError::field("fund_id", "no such fund"))?;
    let b = repo::balances(conn, fund_id)?;
    let free = available(&fund, &b);
    if free < fen {
        return Err(AppError::conflict(
            "budget_exceeded",
            format!(
                "the fund has {} available; {} is needed",
                Money::from_fen(free.max(0)),
                Money::from_fen(fen)
            ),
        ));
    }
    Ok(())
}

/// Posts the release of a tranche's committed money, without the fund's lock: a release takes
/// nothing from `available`, the contract's lock (which the caller holds, as every change to
/// that contract's commitment does) orders it with amendments and terminations, and the row's
/// unique keys (`ref_key`; tranche and kind) refuse a second one. Taking the fund's lock queued
/// every release of a district behind one row until its commit (`scripts/bench-release
/// postgres`: 312 releases/s, backends waiting on the funds tuple lock). In a grouped batch on
/// PostgreSQL the row is written with the batch's others (`db::insert_batched`); nothing reads
/// it back before the commit.
pub fn post_release(tx: &mut Tx<'_>, m: &Move<'_>, now: NaiveDateTime) -> Result<(), AppError> {
    crate::db::insert_batched(tx, entry(m, now)).map_err(AppError::unique_as(
        "already_posted",
        format!("ledger entry {} exists", m.ref_key),
    ))
}

/// Posts a move that needs no room in the fund (a reservation or a commitment returned, a
/// release of committed money), once per `ref_key`: a no-op when it was posted already. Locks
/// the fund first, like every move.
pub fn post_once(conn: &mut DbConn, m: &Move<'_>, now: NaiveDateTime) -> Result<(), AppError> {
    repo::lock(conn, m.fund_id)?;
    if repo::entry_exists(conn, m.ref_key)? {
        return Ok(());
    }
    post(conn, m, now)
}
