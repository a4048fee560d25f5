//! The ledger you can check (`gongyi verify-ledger`, `GET /funds/{id}/reconcile`): a fund's
//! balances recomputed from its insert-only ledger and held against the rules — `released ≤
//! committed ≤ total`, every contract's tranches summing to its amount, every released tranche
//! with exactly one `release` row of its amount, every contract's net commitment what its
//! status says — naming the first mismatch.

use std::collections::BTreeMap;

use serde::Serialize;

use super::repo::{self, Fund, LedgerEntry};
use crate::contracts::model::{ContractStatus, TrancheStatus};
use crate::db::DbConn;
use crate::domain::Money;
use crate::error::AppError;

/// What the check found for one fund.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Reconciliation {
    pub fund_id: String,
    pub ok: bool,
    pub total: Money,
    /// Recomputed from the ledger rows, one by one.
    pub reserved: Money,
    pub committed: Money,
    pub released: Money,
    pub available: Money,
    pub ledger_rows: u64,
    pub contracts: u64,
    pub tranches: u64,
    /// The first rule broken, in words; `null` when all hold.
    pub first_mismatch: Option<String>,
    /// Every rule broken (at most 100).
    pub mismatches: Vec<String>,
}

const PAGE: i64 = 1000;

fn entries(conn: &mut DbConn, fund_id: &str) -> Result<Vec<LedgerEntry>, AppError> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map(|e: &LedgerEntry| e.id.clone());
        let page = repo::list_entries(conn, fund_id, after.as_deref(), PAGE)?;
        let done = (page.len() as i64) < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// Reconciles one fund.
pub fn fund(conn: &mut DbConn, f: &Fund) -> Result<Reconciliation, AppError> {
    let rows = entries(conn, &f.id)?;
    let mut bad = Vec::new();
    let (mut reserved, mut committed, mut released) = (0i128, 0i128, 0i128);
    // Per contract: its net commitment and its release rows by tranche.
    let mut commitment: BTreeMap<&str, i128> = BTreeMap::new();
    let mut releases: BTreeMap<&str, Vec<&LedgerEntry>> = BTreeMap::new();
    for e in &rows {
        let a = e.amount_fen as i128;
        if a <= 0 {
            bad.push(format!(
                "ledger row {} moves {} fen, not a positive amount",
                e.id, a
            ));
        }
        match e.kind.as_str() {
            "reserve" => reserved += a,
            "unreserve" => reserved -= a,
            "commit" => committed += a,
            "uncommit" => committed -= a,
            "release" => released += a,
            other => bad.push(format!("ledger row {} has an unknown kind {other:?}", e.id)),
        }
        if let Some(c) = e.contract_id.as_deref() {
            match e.kind.as_str() {
                "commit" => *commitment.entry(c).or_default() += a,
                "uncommit" => *commitment.entry(c).or_default() -= a,
                _ => {}
            }
        }
        if e.kind == "release" {
            match e.tranche_id.as_deref() {
                Some(t) => releases.entry(t).or_default().push(e),
                None => bad.push(format!("release row {} names no tranche", e.id)),
            }
        }
    }
    let total = f.total_fen as i128;
    if reserved < 0 {
        bad.push(format!("reserved is negative ({reserved} fen)"));
    }
    if released > committed {
        bad.push(format!(
            "released {} exceeds committed {}",
            fen(released),
            fen(committed)
        ));
    }
    if committed > total {
        bad.push(format!(
            "committed {} exceeds the total {}",
            fen(committed),
            fen(total)
        ));
    }
    if reserved + committed > total {
        bad.push(format!(
            "reserved {} and committed {} exceed the total {}",
            fen(reserved),
            fen(committed),
            fen(total)
        ));
    }
    let b = repo::balances(conn, &f.id)?;
    if (b.reserved as i128, b.committed as i128, b.released as i128)
        != (reserved, committed, released)
    {
        bad.push(format!(
            "the balances the API shows ({} / {} / {}) differ from the rows' sums",
            Money::from_fen(b.reserved),
            Money::from_fen(b.committed),
            Money::from_fen(b.released)
        ));
    }
    let contracts = crate::contracts::repo::of_fund(conn, &f.id)?;
    let mut tranche_count = 0u64;
    for c in &contracts {
        let tranches = crate::contracts::repo::tranches_of(conn, &c.id)?;
        tranche_count += tranches.len() as u64;
        let sum: i64 = tranches.iter().map(|t| t.amount_fen).sum();
        if sum != c.amount_fen {
            bad.push(format!(
                "contract {}: its tranches sum to {}, its amount is {}",
                c.id,
                Money::from_fen(sum),
                Money::from_fen(c.amount_fen)
            ));
        }
        let mut paid = 0i128;
        for t in &tranches {
            let rows = releases.remove(t.id.as_str()).unwrap_or_default();
            let is_released = t.is(TrancheStatus::Released);
            if is_released {
                paid += t.amount_fen as i128;
            }
            let want = usize::from(is_released && t.amount_fen > 0);
            if rows.len() != want {
                bad.push(format!(
                    "tranche {} ({}) of contract {} has {} release rows, not {want}",
                    t.id,
                    t.status,
                    c.id,
                    rows.len()
                ));
            } else if let Some(r) = rows.first() {
                if r.amount_fen != t.amount_fen || r.contract_id.as_deref() != Some(c.id.as_str()) {
                    bad.push(format!(
                        "tranche {}: its release row {} moves {} for contract {:?}, the tranche is {} of {}",
                        t.id,
                        r.id,
                        Money::from_fen(r.amount_fen),
                        r.contract_id,
                        Money::from_fen(t.amount_fen),
                        c.id
                    ));
                }
            }
        }
        let net = commitment.get(c.id.as_str()).copied().unwrap_or(0);
        let want = match c.status {
            ContractStatus::Terminated => paid,
            _ => c.amount_fen as i128,
        };
        if net != want {
            bad.push(format!(
                "contract {} ({}): the fund holds {} committed for it, it should be {}",
                c.id,
                c.status,
                fen(net),
                fen(want)
            ));
        }
    }
    for (t, rows) in releases {
        bad.push(format!(
            "{} release rows name tranche {t}, which no contract of this fund has",
            rows.len()
        ));
    }
    let available = total - reserved - committed;
    bad.truncate(100);
    Ok(Reconciliation {
        fund_id: f.id.clone(),
        ok: bad.is_empty(),
        total: Money::from_fen(f.total_fen),
        reserved: fen(reserved),
        committed: fen(committed),
        released: fen(released),
        available: fen(available),
        ledger_rows: rows.len() as u64,
        contracts: contracts.len() as u64,
        tranches: tranche_count,
        first_mismatch: bad.first().cloned(),
        mismatches: bad,
    })
}

fn fen(v: i128) -> Money {
    Money::from_fen(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// Reconciles every fund, a page at a time.
pub fn all(conn: &mut DbConn) -> Result<Vec<Reconciliation>, AppError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = repo::list_with_balances(conn, None, after.as_deref(), 100)?;
        let done = page.len() < 100;
        for (f, _) in &page {
            out.push(fund(conn, f)?);
        }
        after = page.last().map(|(f, _)| f.id.clone());
        if done {
            return Ok(out);
        }
    }
}
