//! Staged payments: a tranche becomes releasable when its condition is met (signing, its date,
//! its review), must then be paid within the rule's working days (`release_due`), and is paid
//! once by one guarded statement with its ledger row.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::lanes::TrancheLanes;
use super::model::{ContractAction, ContractStatus, Tranche, TrancheAction, TrancheStatus};
use super::repo;
use super::service::is_bureau_of;
use crate::audit::{self, Event};
use crate::auth::{AuthUser, Role};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::rules::RulePack;
use crate::domain::spec::Condition;
use crate::domain::Money;
use crate::error::AppError;
use crate::funds::service::Move;
use crate::notify::{self, Mail};
use crate::status::Lifecycle;

/// Files a tranche's event under its contract's district and, so that the project's trail and
/// its open data include payments, under the project too.
#[allow(clippy::too_many_arguments)]
fn audit_tranche(
    tx: &mut Tx<'_>,
    actor_id: Option<&str>,
    action: &str,
    t: &Tranche,
    district_id: &str,
    project_id: &str,
    summary: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append(
        tx,
        Event {
            actor_id,
            action,
            entity: "tranche",
            entity_id: &t.id,
            district_id: Some(district_id),
            project_id: Some(project_id),
            summary,
        },
        now,
    )?;
    Ok(())
}

/// The day a tranche releasable at `now` must be paid by: the rule's working days after the
/// day (China Standard Time) it became releasable.
pub fn due_day(
    cal: &crate::domain::calendar::WorkingCalendar,
    pack: &RulePack,
    now: NaiveDateTime,
) -> NaiveDate {
    cal.add_working_days(crate::clock::cst_date(now), pack.release_due.working_days)
        .date
}

/// Makes `t` releasable (its condition met) with its due day; `None` when it could not move
/// (released, cancelled, or moved meanwhile).
pub fn make_releasable(
    tx: &mut Tx<'_>,
    t: &Tranche,
    pack: &RulePack,
    now: NaiveDateTime,
) -> Result<Option<NaiveDate>, AppError> {
    if t.status.next(TrancheAction::Mature).is_none() {
        return Ok(None);
    }
    let cal = crate::calendar::service::load(tx)?;
    let due = due_day(&cal, pack, now);
    Ok(repo::mature(tx, &t.id, t.status, due, now)?.then_some(due))
}

/// Whether a releasable tranche is past its due day at `now` (a due day ends at 24:00 UTC+8).
pub fn is_overdue(t: &Tranche, now: NaiveDateTime) -> bool {
    t.is(TrancheStatus::Releasable)
        && t.release_due
            .is_some_and(|d| crate::clock::cst_date(now) > d)
}

/// Pays a releasable tranche: the one guarded statement, the fund's `released` grows by a ledger
/// row unique per tranche, the organization is mailed; 409 `invalid_state` unless releasable.
/// When every tranche is paid after the completion review, the contract is completed.
/// Releases arrive in bursts and share grouped commits (`contracts::routes`), so each round trip
/// here counts: the contract is locked, the tranche paid and the contract's tranches and
/// completion review read in one call (`repo::release`: one round trip on PostgreSQL), and the
/// answer is built from what it returned; the lane's contract is remembered (`lane_of`).
pub fn release(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    tranche_id: &str,
    reference: &str,
    now: NaiveDateTime,
) -> Result<Tranche, AppError> {
    write_tx(conn, |tx| {
        // Only a bureau pays, and only its own district's contracts (others: 404, as unseen;
        // the call pays nothing for them).
        let district = actor
            .district_id()
            .filter(|d| is_bureau_of(actor, d))
            .ok_or_else(|| AppError::not_found("tranche"))?;
        let repo::Released {
            contract: c,
            paid,
            tranches,
            completion_passed,
        } = repo::release(
            tx,
            tranche_id,
            district,
            releasing(),
            reference,
            &actor.id,
            now,
        )?
        .filter(|r| r.contract.district_id == district)
        .ok_or_else(|| AppError::not_found("tranche"))?;
        c.status.step(ContractAction::Release)?;
        let t = tranches
            .iter()
            .find(|x| x.id == tranche_id)
            .cloned()
            .ok_or_else(|| AppError::not_found("tranche"))?;
        if !paid {
            t.status.step(TrancheAction::Release)?;
            return Err(t.status.refuse(TrancheAction::Release));
        }
        if t.amount_fen > 0 {
            crate::funds::service::post_release(
                tx,
                &Move {
                    fund_id: &c.fund_id,
                    kind: "release",
                    amount: Money::from_fen(t.amount_fen),
                    project_id: Some(&c.project_id),
                    contract_id: Some(&c.id),
                    tranche_id: Some(&t.id),
                    ref_key: &format!("release:tranche:{}", t.id),
                    actor_id: Some(&actor.id),
                },
                now,
            )?;
        }
        // Late if it was overdue when paid (it was releasable until this payment).
        let before = Tranche {
            status: TrancheStatus::Releasable,
            ..t.clone()
        };
        let late = is_overdue(&before, now);
        audit_tranche(
            tx,
            Some(&actor.id),
            "tranche.released",
            &t,
            &c.district_id,
            &c.project_id,
            json!({"contract_id": c.id, "award_id": c.award_id, "organization_id": c.organization_id, "seq": t.seq, "amount": Money::from_fen(t.amount_fen), "release_due": t.release_due, "late": late}),
            now,
        )?;
        if let Some(to) = c.contact_email.clone() {
            notify::enqueue(
                tx,
                &format!("tranche.released:{}", t.id),
                &Mail {
                    to,
                    subject: format!("Payment released: contract {}", c.id),
                    body: format!(
                        "Tranche {} of contract {} ({} yuan) was released; payment reference {}.",
                        t.seq,
                        c.id,
                        Money::from_fen(t.amount_fen),
                        reference
                    ),
                },
                now,
            )?;
        }
        // The last tranche paid after the completion review passed completes the contract
        // (judged from what the release read under the contract's lock; the whole contract is
        // read only then).
        if completion_passed && tranches.iter().all(|x| x.is(TrancheStatus::Released)) {
            if let Some(whole) = repo::find(tx, &c.id)? {
                super::service::complete_when_paid(
                    tx,
                    &whole,
                    &tranches,
                    completion_passed,
                    Some(&actor.id),
                    now,
                )?;
            }
        }
        Ok(t)
    })
}

/// The contract states whose lifecycle lets a tranche be released.
fn releasing() -> &'static [ContractStatus] {
    static RELEASING: std::sync::OnceLock<Vec<ContractStatus>> = std::sync::OnceLock::new();
    RELEASING.get_or_init(|| {
        ContractStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.next(ContractAction::Release).is_some())
            .collect()
    })
}

/// The lane a release of tranche `id` is grouped in (`db::group`): its contract, which a
/// release locks, so that batches side by side never wait for each other's contracts. Read once
/// per tranche, then remembered in `lanes`; a bureau's first unknown tranche brings its
/// district's releasable ones along (`TrancheLanes::claim_district`), so a payment run reads
/// once rather than once a tranche. An unknown tranche gets its own id (the release then
/// answers 404).
pub fn lane_of(
    conn: &mut DbConn,
    lanes: &TrancheLanes,
    actor: &AuthUser,
    id: &str,
) -> Result<String, AppError> {
    if let Some(contract_id) = lanes.get(id) {
        return Ok(contract_id);
    }
    if let Some(district) = actor.district_id().filter(|_| actor.role == Role::Bureau) {
        if lanes.claim_district(district) {
            let ahead = repo::releasable_in(conn, district, super::lanes::DISTRICT_AHEAD)?;
            for (tranche, contract) in &ahead {
                lanes.put(tranche, contract);
            }
            if let Some(contract_id) = lanes.get(id) {
                return Ok(contract_id);
            }
        }
    }
    Ok(match repo::find_tranche(conn, id)? {
        Some(t) => {
            lanes.put(id, &t.contract_id);
            t.contract_id
        }
        None => id.to_owned(),
    })
}

/// `mature_tranches`, one tranche: an `on_date` tranche of an active contract whose day has come
/// becomes releasable.
pub fn mature_on_date(
    conn: &mut Tx<'_>,
    tranche_id: &str,
    packs: &crate::domain::rules::RulePacks,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    write_tx(conn, |tx| {
        let Some(t) = repo::find_tranche(tx, tranche_id)? else {
            return Ok(false);
        };
        let Some(c) = repo::lock(tx, &t.contract_id)? else {
            return Ok(false);
        };
        let t = repo::find_tranche(tx, tranche_id)?.unwrap_or(t);
        let today = crate::clock::cst_date(now);
        if !(c.is(ContractStatus::Active)
            && t.is(TrancheStatus::Pending)
            && t.condition() == Some(Condition::OnDate)
            && t.date.is_some_and(|d| d <= today))
        {
            return Ok(false);
        }
        let p = crate::projects::repo::find(tx, &c.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        let pack =
            crate::projects::service::pack_of(&p, packs, &crate::projects::service::spec_of(&p)?)?;
        let Some(due) = make_releasable(tx, &t, &pack, now)? else {
            return Ok(false);
        };
        audit_tranche(
            tx,
            None,
            "tranche.releasable",
            &t,
            &c.district_id,
            &c.project_id,
            json!({"contract_id": c.id, "seq": t.seq, "condition": t.condition, "date": t.date, "release_due": due}),
            now,
        )?;
        Ok(true)
    })
}

/// `mature_tranches`, the other half: a releasable tranche past its due day is overdue; the
/// bureau is mailed once.
pub fn notify_overdue(
    conn: &mut Tx<'_>,
    tranche_id: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    write_tx(conn, |tx| {
        let Some(t) = repo::find_tranche(tx, tranche_id)? else {
            return Ok(false);
        };
        if !is_overdue(&t, now) || !repo::mark_overdue_notified(tx, &t.id, now)? {
            return Ok(false);
        }
        let Some(c) = repo::find(tx, &t.contract_id)? else {
            return Ok(false);
        };
        audit_tranche(
            tx,
            None,
            "tranche.release_overdue",
            &t,
            &c.district_id,
            &c.project_id,
            json!({"contract_id": c.id, "seq": t.seq, "release_due": t.release_due}),
            now,
        )?;
        let due = t.release_due.map(|d| d.to_string()).unwrap_or_default();
        notify::enqueue_to_bureau(
            tx,
            &c.district_id,
            &format!("tranche.release_overdue:{}", t.id),
            &format!("Payment overdue: contract {}", c.id),
            &format!(
                "Tranche {} of contract {} ({} yuan) was releasable and due by {due}; it is not paid yet.",
                t.seq,
                c.id,
                Money::from_fen(t.amount_fen)
            ),
            now,
        )?;
        Ok(true)
    })
}
