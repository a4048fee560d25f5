//! Bulk seeding for benchmarks, drills and tests: many active contracts on one published project,
//! each from its own final award, with releasable tranches and the fund's commitments — rows a
//! thousand at a time, so 10,000 contracts take seconds where the procurement walk takes hours.
//! What it writes passes `verify-ledger`: each contract's tranches sum to its amount and the fund
//! holds a `commit` row of that amount for it.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::model::{Contract, ContractStatus, Tranche, TrancheStatus};
use super::repo;
use crate::audit::{self, Event};
use crate::awards::model::AwardStatus;
use crate::awards::repo::Award;
use crate::db::{write_tx, Tx};
use crate::domain::rules::RulePacks;
use crate::domain::spec::Condition;
use crate::domain::Money;
use crate::error::AppError;
use crate::funds::service::Move;
use crate::orgs::model::OrgStatus;
use crate::projects::model::ProjectStatus;

/// Contracts written per transaction: a few thousand rows, so the SQLite write lock is held for
/// milliseconds between batches and a server on the same database keeps answering.
const BATCH: usize = 1000;

/// The rows every seeded contract hangs from: a published project (its district and fund), one
/// of its bids, and the verified organization the awards name.
#[derive(Debug, Clone)]
pub struct Base {
    pub project_id: String,
    pub bid_id: String,
    pub organization_id: String,
}

/// How much to seed.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub contracts: usize,
    /// Tranches per contract, 1 to 100: equal percents, the last taking the remainder.
    pub tranches: usize,
    /// Each contract's amount.
    pub amount: Money,
}

/// The percents of `n` tranches: `100 / n` each, the last taking what is left.
fn percents(n: usize) -> Vec<u32> {
    let each = 100 / n as u32;
    let mut p = vec![each; n];
    p[n - 1] = 100 - each * (n as u32 - 1);
    p
}

/// Writes `plan.contracts` active contracts on `base` (signed by the project's bureau and the
/// organization's first member at `now`), each from a final award of its own round (after every
/// round the project's awards name), with `plan.tranches` tranches `releasable` at `now` and due
/// by the project's rule, and the fund's `commit` row for each; one audit event per batch.
/// The fund must have the commitments available (409 `budget_exceeded`, checked per batch).
/// Returns the tranche ids, contract by contract in `seq` order.
pub fn seed_active(
    conn: &mut Tx<'_>,
    packs: &RulePacks,
    base: &Base,
    plan: &Plan,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    if !(1..=100).contains(&plan.tranches) {
        return Err(AppError::field("tranches", "must be 1 to 100"));
    }
    let p = crate::projects::repo::find(conn, &base.project_id)?
        .ok_or_else(|| AppError::not_found("project"))?;
    if p.is(ProjectStatus::Draft) || p.rule_pack.is_none() {
        return Err(AppError::field(
            "project_id",
            "the project is not published",
        ));
    }
    let bid = crate::bids::repo::find(conn, &base.bid_id)?
        .filter(|b| b.project_id == p.id)
        .ok_or_else(|| AppError::field("bid_id", "no such bid on the project"))?;
    let org = crate::orgs::repo::find(conn, &base.organization_id)?
        .filter(|o| o.status == OrgStatus::Verified && o.district_id == p.district_id)
        .ok_or_else(|| {
            AppError::field(
                "organization_id",
                "no verified organization in the project's district",
            )
        })?;
    let org_signer = crate::users::repo::first_member_of(conn, &org.id)?.map(|u| u.id);
    let spec = crate::projects::service::spec_of(&p)?;
    let pack = crate::projects::service::pack_of(&p, packs, &spec)?;
    let due = super::release::due_day(&crate::calendar::service::load(conn)?, &pack, now);
    let parts = plan
        .amount
        .split(&percents(plan.tranches))
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("tranche percents do not sum to 100")))?;
    let sign_deadline = crate::clock::end_of_day_cst(
        crate::clock::cst_date(now) + Duration::days(pack.signing.days.into()),
    );
    let first_round = crate::awards::repo::max_round(conn, &p.id)?
        .unwrap_or(0)
        .max(p.round)
        + 1;
    let mut tranche_ids = Vec::with_capacity(plan.contracts * plan.tranches);
    let mut done = 0;
    while done < plan.contracts {
        let n = BATCH.min(plan.contracts - done);
        let rounds = first_round + done as i32..first_round + (done + n) as i32;
        let mut awards = Vec::with_capacity(n);
        let mut contracts = Vec::with_capacity(n);
        let mut tranches = Vec::with_capacity(n * plan.tranches);
        for round in rounds {
            let award = Award {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: p.id.clone(),
                round,
                bid_id: bid.id.clone(),
                organization_id: org.id.clone(),
                amount_fen: plan.amount.fen(),
                justification: Some("seeded (contracts::bulk)".into()),
                objection_deadline: now,
                status: AwardStatus::Final,
                created_by: p.created_by.clone(),
                created_at: now,
                finalized_at: Some(now),
            };
            let c = Contract {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: p.id.clone(),
                award_id: award.id.clone(),
                round,
                organization_id: org.id.clone(),
                district_id: p.district_id.clone(),
                fund_id: p.fund_id.clone(),
                original_amount_fen: plan.amount.fen(),
                amount_fen: plan.amount.fen(),
                service_start: spec.service_start,
                service_end: spec.service_end,
                kpis: "[]".into(),
                status: ContractStatus::Active,
                sign_deadline,
                signed_by_bureau: Some(p.created_by.clone()),
                signed_by_bureau_at: Some(now),
                signed_by_org: org_signer.clone(),
                signed_by_org_at: Some(now),
                signature_overdue: false,
                termination_proposed: false,
                version: 1,
                created_at: now,
                activated_at: Some(now),
                completed_at: None,
                terminated_at: None,
                termination_reason: None,
            };
            for (i, part) in parts.iter().enumerate() {
                tranches.push(Tranche {
                    id: uuid::Uuid::now_v7().to_string(),
                    contract_id: c.id.clone(),
                    seq: i as i32 + 1,
                    condition: Condition::OnSigning.as_str().into(),
                    date: None,
                    percent: percents(plan.tranches)[i] as i32,
                    amount_fen: part.fen(),
                    status: TrancheStatus::Releasable,
                    releasable_at: Some(now),
                    release_due: Some(due),
                    overdue_notified_at: None,
                    payment_reference: None,
                    released_at: None,
                    released_by: None,
                });
            }
            awards.push(award);
            contracts.push(c);
        }
        write_tx(conn, |tx| {
            crate::awards::repo::insert_many(tx, &awards)?;
            repo::insert_many(tx, &contracts)?;
            repo::insert_tranches(tx, &tranches)?;
            let keys: Vec<String> = contracts
                .iter()
                .map(super::service::commitment_key)
                .collect();
            let moves: Vec<Move<'_>> = contracts
                .iter()
                .zip(&keys)
                .map(|(c, key)| Move {
                    fund_id: &c.fund_id,
                    kind: "commit",
                    amount: plan.amount,
                    project_id: Some(&c.project_id),
                    contract_id: Some(&c.id),
                    tranche_id: None,
                    ref_key: key,
                    actor_id: None,
                })
                .collect();
            crate::funds::service::take_available_all(tx, &p.fund_id, &moves, now)?;
            audit::append(
                tx,
                Event {
                    actor_id: None,
                    action: "contracts.seeded",
                    entity: "project",
                    entity_id: &p.id,
                    district_id: Some(&p.district_id),
                    project_id: Some(&p.id),
                    summary: json!({"contracts": n, "tranches_each": plan.tranches, "amount_each": plan.amount,
                                    "rounds": [awards[0].round, awards[n - 1].round], "fund_id": p.fund_id}),
                },
                now,
            )
        })?;
        tranche_ids.extend(tranches.into_iter().map(|t| t.id));
        done += n;
    }
    Ok(tranche_ids)
}

#[cfg(test)]
mod tests {
    use super::percents;

    #[test]
    fn percents_are_equal_but_the_last_which_takes_the_remainder() {
        assert_eq!(percents(1), [100]);
        assert_eq!(percents(3), [33, 33, 34]);
        assert_eq!(percents(7), [14, 14, 14, 14, 14, 14, 16]);
        for n in 1..=100 {
            let p = percents(n);
            assert_eq!(p.iter().sum::<u32>(), 100);
            assert!(p.iter().all(|x| *x > 0));
        }
    }
}
