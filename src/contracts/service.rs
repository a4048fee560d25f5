//! Contract use cases: drawing one up from a final award, reading and listing them by who may
//! see what, signing, amending and terminating. Payments are in `release`.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::model::{
    Amendment, Contract, ContractAction, ContractStatus, Tranche, TrancheAction, TrancheStatus,
};
use super::repo::{self, Filter};
use crate::audit::{self, Event};
use crate::auth::{AuthUser, ListingScope, Role};
use crate::awards::repo::Award;
use crate::crypto::Sealer;
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::rules::RulePack;
use crate::domain::Money;
use crate::error::AppError;
use crate::funds::service::Move;
use crate::notify;
use crate::projects::model::{Project, ProjectAction};
use crate::status::Lifecycle;

/// A contract with what its answer shows: its tranches in `seq` order, its amendments, the
/// organization's name, and whether the reader sees payment references (`full`).
#[derive(Debug, Clone)]
pub struct View {
    pub contract: Contract,
    pub organization_name: String,
    pub tranches: Vec<Tranche>,
    pub amendments: Vec<Amendment>,
    pub full: bool,
}

impl View {
    /// What has been paid out, in fen.
    pub fn released_fen(&self) -> i64 {
        released_fen(&self.tranches)
    }
}

pub fn released_fen(tranches: &[Tranche]) -> i64 {
    tranches
        .iter()
        .filter(|t| t.is(TrancheStatus::Released))
        .map(|t| t.amount_fen)
        .sum()
}

/// How a reader sees a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Admin, the bureau of its district, a member of the organization: everything.
    Party,
    /// Anyone, once it is active: the public summary, without payment references.
    Public,
    /// Not at all (404, the same as missing).
    Hidden,
}

pub fn is_bureau_of(actor: &AuthUser, district_id: &str) -> bool {
    actor.role == Role::Bureau && actor.district_id() == Some(district_id)
}

pub fn is_member_of(actor: &AuthUser, organization_id: &str) -> bool {
    actor.role == Role::Org && actor.organization_id.as_deref() == Some(organization_id)
}

pub fn seen_by(actor: Option<&AuthUser>, c: &Contract) -> Seen {
    match actor {
        Some(a)
            if a.role == Role::Admin
                || is_bureau_of(a, &c.district_id)
                || is_member_of(a, &c.organization_id) =>
        {
            Seen::Party
        }
        _ if c.status.is_public() => Seen::Public,
        _ => Seen::Hidden,
    }
}

/// The contract `id` as `actor` may see it; 404 when it may not.
pub fn get(conn: &mut DbConn, actor: Option<&AuthUser>, id: &str) -> Result<View, AppError> {
    let c = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("contract"))?;
    let seen = seen_by(actor, &c);
    if seen == Seen::Hidden {
        return Err(AppError::not_found("contract"));
    }
    view(conn, c, seen == Seen::Party)
}

/// The contract of a bureau of its district (404 for anyone else, as out of scope).
fn for_bureau(conn: &mut DbConn, actor: &AuthUser, id: &str) -> Result<Contract, AppError> {
    repo::lock(conn, id)?
        .filter(|c| is_bureau_of(actor, &c.district_id))
        .ok_or_else(|| AppError::not_found("contract"))
}

pub fn view(conn: &mut DbConn, c: Contract, full: bool) -> Result<View, AppError> {
    let tranches = repo::tranches_of(conn, &c.id)?;
    let amendments = repo::amendments_of(conn, &c.id)?;
    let organization_name = crate::orgs::repo::find(conn, &c.organization_id)?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(View {
        contract: c,
        organization_name,
        tranches,
        amendments,
        full,
    })
}

/// A page of contracts: an admin's choice, a bureau's district, an organization's own.
pub fn list(
    conn: &mut DbConn,
    actor: &AuthUser,
    mut f: Filter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<View>, AppError> {
    match actor.listing_scope()? {
        ListingScope::All => {}
        ListingScope::District(d) => f.district_id = Some(d),
        // A member sees its organization's contracts, and nothing else.
        ListingScope::Organization(None) => return Ok(Vec::new()),
        ListingScope::Organization(Some(own)) => {
            if f.organization_id.as_ref().is_some_and(|o| *o != own) {
                return Ok(Vec::new());
            }
            f.organization_id = Some(own);
        }
    }
    let contracts = repo::list(conn, &f, after, limit)?;
    let ids: Vec<String> = contracts.iter().map(|c| c.id.clone()).collect();
    let mut tranches = repo::tranches_of_many(conn, &ids)?;
    let mut amendments = repo::amendments_of_many(conn, &ids)?;
    let mut out = Vec::with_capacity(contracts.len());
    for c in contracts {
        let name = crate::orgs::repo::find(conn, &c.organization_id)?
            .map(|o| o.name)
            .unwrap_or_default();
        let (mine, rest): (Vec<_>, Vec<_>) =
            tranches.into_iter().partition(|t| t.contract_id == c.id);
        tranches = rest;
        let (am, rest): (Vec<_>, Vec<_>) =
            amendments.into_iter().partition(|a| a.contract_id == c.id);
        amendments = rest;
        out.push(View {
            contract: c,
            organization_name: name,
            tranches: mine,
            amendments: am,
            full: true,
        });
    }
    Ok(out)
}

fn audit_contract(
    tx: &mut Tx<'_>,
    actor_id: Option<&str>,
    action: &str,
    c: &Contract,
    summary: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append(
        tx,
        Event {
            actor_id,
            action,
            entity: "contract",
            entity_id: &c.id,
            district_id: Some(&c.district_id),
            project_id: Some(&c.project_id),
            summary,
        },
        now,
    )?;
    Ok(())
}

pub(super) fn commitment_key(c: &Contract) -> String {
    format!("commit:contract:{}", c.id)
}

/// Draws up the contract of a final award, in the caller's transaction (`finalize_awards`):
/// parties, the awarded amount, the service period and the winning bid's KPIs, the tranches of
/// the payment plan (fen-exact), a signing deadline 30 days after the notice (政府采购法 art
/// 46). The fund returns the project's ceiling and commits the amount. Both parties are mailed.
pub fn create_from_award(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    a: &Award,
    p: &Project,
    pack: &RulePack,
    now: NaiveDateTime,
) -> Result<Contract, AppError> {
    if let Some(c) = repo::find_for_award(tx, &a.id)? {
        return Ok(c);
    }
    let spec = crate::projects::service::spec_of(p)?;
    let bid = crate::bids::repo::find(tx, &a.bid_id)?.ok_or_else(|| AppError::not_found("bid"))?;
    let kpis = crate::bids::contents::unseal(sealer, &bid)?
        .map(|b| b.kpis)
        .unwrap_or_default();
    let amount = Money::from_fen(a.amount_fen);
    let percents: Vec<u32> = spec.payment_plan.iter().map(|s| s.percent).collect();
    let parts = amount.split(&percents).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "project {}: the payment plan does not sum to 100",
            p.id
        ))
    })?;
    let deadline_day =
        crate::clock::cst_date(a.created_at) + Duration::days(pack.signing.days.into());
    let c = Contract {
        id: uuid::Uuid::now_v7().to_string(),
        project_id: p.id.clone(),
        award_id: a.id.clone(),
        round: a.round,
        organization_id: a.organization_id.clone(),
        district_id: p.district_id.clone(),
        fund_id: p.fund_id.clone(),
        original_amount_fen: a.amount_fen,
        amount_fen: a.amount_fen,
        service_start: spec.service_start,
        service_end: spec.service_end,
        kpis: serde_json::to_string(&kpis).map_err(AppError::internal)?,
        status: ContractStatus::PendingSignature,
        sign_deadline: crate::clock::end_of_day_cst(deadline_day),
        signed_by_bureau: None,
        signed_by_bureau_at: None,
        signed_by_org: None,
        signed_by_org_at: None,
        signature_overdue: false,
        termination_proposed: false,
        version: 1,
        created_at: now,
        activated_at: None,
        completed_at: None,
        terminated_at: None,
        termination_reason: None,
    };
    repo::insert(tx, &c).map_err(AppError::unique_as(
        "contract_exists",
        "the award has a contract",
    ))?;
    let tranches: Vec<Tranche> = spec
        .payment_plan
        .iter()
        .zip(&parts)
        .enumerate()
        .map(|(i, (step, part))| Tranche {
            id: uuid::Uuid::now_v7().to_string(),
            contract_id: c.id.clone(),
            seq: i as i32 + 1,
            condition: step.condition.as_str().into(),
            date: step.date,
            percent: step.percent as i32,
            amount_fen: part.fen(),
            status: TrancheStatus::Pending,
            releasable_at: None,
            release_due: None,
            overdue_notified_at: None,
            payment_reference: None,
            released_at: None,
            released_by: None,
        })
        .collect();
    repo::insert_tranches(tx, &tranches)?;
    // The fund: the ceiling held since publication returns, the awarded amount is committed.
    crate::projects::service::unreserve_ceiling(tx, p, None, now)?;
    crate::funds::service::take_available(
        tx,
        &Move {
            fund_id: &c.fund_id,
            kind: "commit",
            amount,
            project_id: Some(&p.id),
            contract_id: Some(&c.id),
            tranche_id: None,
            ref_key: &commitment_key(&c),
            actor_id: None,
        },
        now,
    )?;
    let mut project = p.clone();
    project.status = p.status.step(ProjectAction::Contract)?;
    project.updated_at = now;
    if !crate::projects::repo::save(tx, &project, p.version)? {
        return Err(AppError::concurrent_update("project"));
    }
    audit_contract(
        tx,
        None,
        "contract.created",
        &c,
        json!({"after": {"award_id": a.id, "project_id": p.id, "organization_id": c.organization_id, "amount": amount, "tranches": tranches.iter().map(|t| json!({"seq": t.seq, "condition": t.condition, "percent": t.percent, "amount": Money::from_fen(t.amount_fen)})).collect::<Vec<_>>(), "sign_deadline": c.sign_deadline.and_utc()}}),
        now,
    )?;
    let body = format!(
        "The contract {} for \"{}\" ({} yuan) is drawn up and waits for both signatures by {}.",
        c.id,
        p.title,
        amount,
        c.sign_deadline.and_utc().to_rfc3339()
    );
    notify::enqueue_to_organization(
        tx,
        &c.organization_id,
        &format!("contract.created:{}:org", c.id),
        format!("Contract to sign: {}", p.title),
        body.clone(),
        now,
    )?;
    notify::enqueue_to_bureau(
        tx,
        &c.district_id,
        &format!("contract.created:{}:bureau", c.id),
        &format!("Contract to sign: {}", p.title),
        &body,
        now,
    )?;
    Ok(c)
}

/// One side signs. Each side once (409 `already_signed`); when both have, the contract is
/// `active` and its `on_signing` tranches `releasable`.
pub fn sign(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    packs: &crate::domain::rules::RulePacks,
    reviews: &crate::config::ReviewSettings,
    now: NaiveDateTime,
) -> Result<View, AppError> {
    let c = write_tx(conn, |tx| {
        let c = repo::lock(tx, id)?.ok_or_else(|| AppError::not_found("contract"))?;
        let bureau = is_bureau_of(actor, &c.district_id);
        if !bureau && !is_member_of(actor, &c.organization_id) {
            return Err(match seen_by(Some(actor), &c) {
                Seen::Hidden => AppError::not_found("contract"),
                _ => AppError::forbidden(),
            });
        }
        let signed_at = if bureau {
            c.signed_by_bureau_at
        } else {
            c.signed_by_org_at
        };
        if let Some(at) = signed_at {
            return Err(AppError::conflict(
                "already_signed",
                format!(
                    "this side signed the contract at {}",
                    at.and_utc().to_rfc3339()
                ),
            ));
        }
        c.status.step(ContractAction::Sign)?;
        let done = if bureau {
            repo::sign_bureau(tx, &c.id, &actor.id, now)?
        } else {
            repo::sign_org(tx, &c.id, &actor.id, now)?
        };
        if !done {
            return Err(AppError::concurrent_update("contract"));
        }
        let side = if bureau { "bureau" } else { "organization" };
        audit_contract(
            tx,
            Some(&actor.id),
            "contract.signed",
            &c,
            json!({"side": side}),
            now,
        )?;
        if repo::activate(tx, &c.id, now)? {
            activate(tx, &c, packs, reviews, now)?;
        }
        Ok(c)
    })?;
    let c = repo::find(conn, &c.id)?.ok_or_else(|| AppError::not_found("contract"))?;
    view(conn, c, true)
}

/// What becomes true when both sides have signed: the `on_signing` tranches are releasable
/// (paid within the rule's working days), and the reviews are scheduled.
fn activate(
    tx: &mut Tx<'_>,
    c: &Contract,
    packs: &crate::domain::rules::RulePacks,
    reviews: &crate::config::ReviewSettings,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let p = crate::projects::repo::find(tx, &c.project_id)?
        .ok_or_else(|| AppError::not_found("project"))?;
    let pack =
        crate::projects::service::pack_of(&p, packs, &crate::projects::service::spec_of(&p)?)?;
    let mut matured = Vec::new();
    for t in repo::tranches_of(tx, &c.id)? {
        if t.condition() == Some(crate::domain::spec::Condition::OnSigning) {
            if let Some(due) = super::release::make_releasable(tx, &t, &pack, now)? {
                matured.push(json!({"tranche_id": t.id, "seq": t.seq, "release_due": due}));
            }
        }
    }
    audit_contract(
        tx,
        None,
        "contract.activated",
        c,
        json!({"after": {"status": "active"}, "releasable": matured}),
        now,
    )?;
    crate::reviews::service::schedule(tx, c, &pack, reviews, now)
}

/// A contract is done when its completion review has passed and every tranche is paid: it is
/// `completed`, and the needs its project serves are `met`. Called after the completion review
/// passes and after each release; returns whether it completed now.
pub fn complete_if_done(
    tx: &mut Tx<'_>,
    c: &Contract,
    actor_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    if c.status.next(ContractAction::Complete).is_none() {
        return Ok(false);
    }
    let tranches = repo::tranches_of(tx, &c.id)?;
    // The review is asked only once every tranche is paid.
    let passed = tranches.iter().all(|t| t.is(TrancheStatus::Released))
        && repo::completion_passed(tx, &c.id)?;
    complete_when_paid(tx, c, &tranches, passed, actor_id, now)
}

/// [`complete_if_done`] from what the caller read under the contract's lock in this
/// transaction: its `tranches` as they stand now and whether its completion review has passed.
pub fn complete_when_paid(
    tx: &mut Tx<'_>,
    c: &Contract,
    tranches: &[Tranche],
    completion_passed: bool,
    actor_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    if c.status.next(ContractAction::Complete).is_none()
        || !tranches.iter().all(|t| t.is(TrancheStatus::Released))
        || !completion_passed
        || !repo::complete(tx, &c.id, now)?
    {
        return Ok(false);
    }
    let mut met = Vec::new();
    for id in crate::projects::repo::need_ids(tx, &c.project_id)? {
        let Some(n) = crate::needs::repo::find(tx, &id)? else {
            continue;
        };
        let Some(to) = n.status.next(crate::needs::model::NeedAction::Meet) else {
            continue;
        };
        if crate::needs::repo::transition(tx, &n.id, n.status, n.version, to, None, now)? {
            audit::append(
                tx,
                Event {
                    actor_id,
                    action: "need.met",
                    entity: "need",
                    entity_id: &n.id,
                    district_id: Some(&n.district_id),
                    project_id: None,
                    summary: json!({"contract_id": c.id, "project_id": c.project_id}),
                },
                now,
            )?;
            met.push(n.id);
        }
    }
    audit::append(
        tx,
        Event {
            actor_id,
            action: "contract.completed",
            entity: "contract",
            entity_id: &c.id,
            district_id: Some(&c.district_id),
            project_id: Some(&c.project_id),
            summary: json!({"after": {"status": ContractStatus::Completed}, "released": Money::from_fen(released_fen(tranches)), "needs_met": met}),
        },
        now,
    )?;
    Ok(true)
}

/// An amendment: the new amount, with its reason, guarded by `If-Match`.
pub struct Amend {
    pub amount: Money,
    pub reason: String,
    pub if_match: crate::http::conditional::IfMatch,
}

/// Changes the contract's amount: increases over the original at most the rule's share in all
/// (政府采购法 art 49), never below what is released, the extra commitment fitting the fund.
/// The unreleased part is re-split over the unreleased tranches by their percents.
pub fn amend(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    cmd: Amend,
    packs: &crate::domain::rules::RulePacks,
    now: NaiveDateTime,
) -> Result<View, AppError> {
    let c = write_tx(conn, |tx| {
        let c = for_bureau(tx, actor, id)?;
        let version = cmd.if_match.check(c.version)?;
        c.status.step(ContractAction::Amend)?;
        let p = crate::projects::repo::find(tx, &c.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        let pack =
            crate::projects::service::pack_of(&p, packs, &crate::projects::service::spec_of(&p)?)?;
        let new = cmd.amount.fen();
        // Every increase counts, a decrease makes no room: cutting a contract and raising it
        // again is two additions of purchases (追加), not none.
        let history = repo::amendments_of(tx, &c.id)?;
        let increased: i128 = history
            .iter()
            .map(|a| (a.amount_after_fen - a.amount_before_fen).max(0) as i128)
            .sum::<i128>()
            + (new - c.amount_fen).max(0) as i128;
        let allowed =
            c.original_amount_fen as i128 * pack.amendments.max_increase_percent as i128 / 100;
        if increased > allowed {
            return Err(AppError::invalid(
                "amendment_over_limit",
                "amount",
                format!(
                    "increases over the original {} may add up to {} % ({}) at most, and this one would bring them to {} ({})",
                    Money::from_fen(c.original_amount_fen),
                    pack.amendments.max_increase_percent,
                    Money::from_fen(allowed as i64),
                    Money::from_fen(increased as i64),
                    pack.amendments.citation
                ),
            ));
        }
        let tranches = repo::tranches_of(tx, &c.id)?;
        let released = released_fen(&tranches);
        if new < released {
            return Err(AppError::field(
                "amount",
                format!(
                    "must not be below what is released already ({})",
                    Money::from_fen(released)
                ),
            ));
        }
        if new == c.amount_fen {
            return Err(AppError::field(
                "amount",
                "is the contract's amount already",
            ));
        }
        let open: Vec<&Tranche> = tranches.iter().filter(|t| t.unreleased()).collect();
        if open.is_empty() {
            return Err(AppError::conflict(
                "invalid_state",
                "every tranche is released or cancelled: nothing is left to amend",
            ));
        }
        let weights: Vec<i64> = open.iter().map(|t| t.percent as i64).collect();
        let parts = Money::from_fen(new - released)
            .apportion(&weights)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no weights to re-split by")))?;
        // The fund: more commitment must fit what is available; less returns to it.
        let delta = new - c.amount_fen;
        let n = history.len() + 1;
        let m = Move {
            fund_id: &c.fund_id,
            kind: if delta > 0 { "commit" } else { "uncommit" },
            amount: Money::from_fen(delta.abs()),
            project_id: Some(&c.project_id),
            contract_id: Some(&c.id),
            tranche_id: None,
            ref_key: &format!("amend:contract:{}:{n}", c.id),
            actor_id: Some(&actor.id),
        };
        if delta > 0 {
            crate::funds::service::take_available(tx, &m, now)?;
        } else {
            crate::funds::service::post_once(tx, &m, now)?;
        }
        if !repo::set_amount(tx, &c.id, version, new)? {
            return Err(crate::http::conditional::stale());
        }
        let mut resplit = Vec::new();
        for (t, part) in open.iter().zip(&parts) {
            if !repo::set_tranche_amount(tx, &t.id, t.status, part.fen())? {
                return Err(AppError::concurrent_update("tranche"));
            }
            resplit.push(
                json!({"seq": t.seq, "before": Money::from_fen(t.amount_fen), "after": part}),
            );
        }
        repo::insert_amendment(
            tx,
            &Amendment {
                id: uuid::Uuid::now_v7().to_string(),
                contract_id: c.id.clone(),
                amount_before_fen: c.amount_fen,
                amount_after_fen: new,
                reason: cmd.reason.clone(),
                actor_id: actor.id.clone(),
                at: now,
            },
        )?;
        audit_contract(
            tx,
            Some(&actor.id),
            "contract.amended",
            &c,
            json!({"before": {"amount": Money::from_fen(c.amount_fen)}, "after": {"amount": cmd.amount}, "reason": cmd.reason, "tranches": resplit}),
            now,
        )?;
        Ok(c)
    })?;
    let c = repo::find(conn, &c.id)?.ok_or_else(|| AppError::not_found("contract"))?;
    view(conn, c, true)
}

/// Ends the contract early: unreleased tranches cancelled, the unreleased part of the
/// commitment returned to the fund. 409 once completed or terminated.
pub fn terminate(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<View, AppError> {
    let c = write_tx(conn, |tx| {
        let c = for_bureau(tx, actor, id)?;
        c.status.step(ContractAction::Terminate)?;
        let tranches = repo::tranches_of(tx, &c.id)?;
        let mut cancelled = Vec::new();
        for t in tranches.iter().filter(|t| t.unreleased()) {
            t.status.step(TrancheAction::Cancel)?;
            if !repo::cancel_tranche(tx, &t.id, t.status)? {
                return Err(AppError::concurrent_update("tranche"));
            }
            cancelled.push(t.seq);
        }
        let returned = c.amount_fen - released_fen(&tranches);
        if returned > 0 {
            crate::funds::service::post_once(
                tx,
                &Move {
                    fund_id: &c.fund_id,
                    kind: "uncommit",
                    amount: Money::from_fen(returned),
                    project_id: Some(&c.project_id),
                    contract_id: Some(&c.id),
                    tranche_id: None,
                    ref_key: &format!("uncommit:contract:{}:terminated", c.id),
                    actor_id: Some(&actor.id),
                },
                now,
            )?;
        }
        if !repo::terminate(tx, &c.id, c.status, &reason, now)? {
            return Err(AppError::concurrent_update("contract"));
        }
        audit_contract(
            tx,
            Some(&actor.id),
            "contract.terminated",
            &c,
            json!({"before": {"status": c.status}, "after": {"status": "terminated"}, "reason": reason, "cancelled_tranches": cancelled, "returned": Money::from_fen(returned)}),
            now,
        )?;
        notify::enqueue_to_organization(
            tx,
            &c.organization_id,
            &format!("contract.terminated:{}", c.id),
            format!("Contract terminated: {}", c.id),
            format!("The contract {} was terminated.\nReason: {reason}\n", c.id),
            now,
        )?;
        Ok(c)
    })?;
    let c = repo::find(conn, &c.id)?.ok_or_else(|| AppError::not_found("contract"))?;
    view(conn, c, true)
}

/// Flags one contract left unsigned past its deadline and mails the bureau, once.
pub fn flag_unsigned(tx: &mut Tx<'_>, id: &str, now: NaiveDateTime) -> Result<bool, AppError> {
    write_tx(tx, |tx| {
        let Some(c) = repo::lock(tx, id)? else {
            return Ok(false);
        };
        if !(c.is(ContractStatus::PendingSignature) && c.sign_deadline < now) {
            return Ok(false);
        }
        if !repo::flag_unsigned(tx, &c.id)? {
            return Ok(false);
        }
        let missing: Vec<&str> = [
            c.signed_by_bureau_at.is_none().then_some("bureau"),
            c.signed_by_org_at.is_none().then_some("organization"),
        ]
        .into_iter()
        .flatten()
        .collect();
        audit_contract(
            tx,
            None,
            "contract.signature_overdue",
            &c,
            json!({"sign_deadline": c.sign_deadline.and_utc(), "unsigned_by": missing}),
            now,
        )?;
        notify::enqueue_to_bureau(
            tx,
            &c.district_id,
            &format!("contract.signature_overdue:{}", c.id),
            &format!("Contract unsigned past its deadline: {}", c.id),
            &format!(
                "The contract {} was to be signed by {} (政府采购法 art 46); still unsigned by: {}.",
                c.id,
                c.sign_deadline.and_utc().to_rfc3339(),
                missing.join(", ")
            ),
            now,
        )?;
        Ok(true)
    })
}
