//! Bid use cases: place, replace, withdraw (each checked against the deadline by the server
//! clock inside the write transaction), read under the sealing rules, and close a round.

use chrono::NaiveDateTime;
use serde_json::json;

use super::contents::BidContents;
use super::model::{Bid, BidStatus};
use super::repo;
use crate::audit::{self, Event};
use crate::auth::{AuthUser, Role};
use crate::crypto::Sealer;
use crate::db::{write_tx, DbConn};
use crate::domain::eligibility::{standing, Credentials, Failure};
use crate::domain::rules::RulePacks;
use crate::domain::Money;
use crate::error::{AppError, FieldError};
use crate::notify::{self, Mail};
use crate::orgs::repo::Organization;
use crate::projects::model::{Project, ProjectStatus};
use crate::projects::service as projects;

/// What an organization submits.
#[derive(Debug, Clone)]
pub struct Offer {
    pub price: Money,
    pub plan: String,
    pub team: Vec<super::contents::TeamMember>,
    pub kpis: Vec<super::contents::Kpi>,
    pub matching_funds: Option<Money>,
}

/// A bid as its reader may see it: the row and, where the reader may read them, its contents.
#[derive(Debug, Clone)]
pub struct BidView {
    pub bid: Bid,
    pub contents: Option<BidContents>,
}

fn seal_context(bid_id: &str) -> String {
    format!("bid:{bid_id}")
}

/// Whether the round of this bid has closed.
pub fn round_closed(p: &Project, b: &Bid) -> bool {
    b.round < p.round || (b.round == p.round && p.closed_at.is_some() && !p.is(ProjectStatus::Open))
}

/// A sealed audit event: the chain records that something happened to a sealed bid without
/// telling anyone reading the log which project, organization or price (the seal opens with
/// the server's key only).
fn audit_sealed(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &AuthUser,
    action: &str,
    b: &Bid,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let id = uuid::Uuid::now_v7().to_string();
    let inner = json!({"action": action, "bid_id": b.id, "project_id": b.project_id, "round": b.round, "organization_id": b.organization_id, "receipt": b.receipt_sha256});
    let sealed = sealer.seal(&format!("audit:{id}"), inner.to_string().as_bytes());
    audit::append(
        conn,
        Event {
            actor_id: Some(&actor.id),
            action: "bid.sealed_event",
            entity: "sealed",
            entity_id: &id,
            district_id: None,
            summary: json!({"sealed": sealed}),
        },
        now,
    )?;
    Ok(())
}

/// The caller's organization, verified: 403 otherwise.
fn bidder(conn: &mut DbConn, actor: &AuthUser) -> Result<Organization, AppError> {
    let org_id = actor
        .organization_id
        .as_deref()
        .ok_or_else(AppError::forbidden)?;
    verified(crate::orgs::repo::find(conn, org_id)?)
}

fn verified(org: Option<Organization>) -> Result<Organization, AppError> {
    let org = org.ok_or_else(AppError::forbidden)?;
    if org.status != "verified" {
        return Err(AppError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "organization_not_verified",
            format!(
                "the organization is {}; only verified organizations bid",
                org.status
            ),
        ));
    }
    Ok(org)
}

/// The project open for bids at `now`: 404 for drafts, 409 `deadline_passed` at or after the
/// close (even before the close job has run), 409 `invalid_state` when cancelled.
fn open_project(
    conn: &mut DbConn,
    project_id: &str,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    // Shared lock (PostgreSQL): the close job's claim waits for bids in flight, and a bid
    // that starts after the claim sees the project closed. SQLite's single writer orders them.
    open_at(
        crate::projects::repo::find_for_share(conn, project_id)?,
        now,
    )
}

fn open_at(p: Option<Project>, now: NaiveDateTime) -> Result<Project, AppError> {
    let p = p
        .filter(|p| !p.is(ProjectStatus::Draft))
        .ok_or_else(|| AppError::not_found("project"))?;
    use ProjectStatus::*;
    match ProjectStatus::parse(&p.status) {
        Some(Open) if now < p.bid_close_at => Ok(p),
        Some(Open | Evaluating | Awarded | Contracted | Failed) => Err(AppError::conflict(
            "deadline_passed",
            format!(
                "bidding closed at {}",
                p.bid_close_at.and_utc().to_rfc3339()
            ),
        )),
        _ => Err(AppError::invalid_state(format!(
            "the project is {}",
            p.status
        ))),
    }
}

/// [`bidder`] and [`open_project`] together: on PostgreSQL one round trip reads both, the
/// project and now also the organization held `FOR SHARE` (so a suspension waits for the bids
/// in flight, and a bid after it sees it); when either row is missing, the two are read apart
/// so that the caller gets the same error as from them.
fn bidder_on_open_project(
    conn: &mut DbConn,
    actor: &AuthUser,
    project_id: &str,
    now: NaiveDateTime,
) -> Result<(Organization, Project), AppError> {
    if let Some(org_id) = actor.organization_id.as_deref() {
        if let Some((org, p)) = repo::organization_and_project_for_share(conn, org_id, project_id)?
        {
            return Ok((verified(Some(org))?, open_at(Some(p), now)?));
        }
    }
    let org = bidder(conn, actor)?;
    Ok((org, open_project(conn, project_id, now)?))
}

fn not_eligible(failures: Vec<Failure>) -> AppError {
    let mut e = AppError::validation(
        failures
            .into_iter()
            .map(|f| FieldError::new(f.rule, f.reason))
            .collect(),
    );
    e.code = "not_eligible".into();
    e
}

fn check_offer(
    p: &Project,
    org: &Organization,
    offer: &Offer,
    now: NaiveDateTime,
) -> Result<Credentials, AppError> {
    let spec = projects::spec_of(p)?;
    if offer.price.fen() > p.budget_ceiling_fen {
        return Err(AppError::field(
            "price",
            format!(
                "must not exceed the budget ceiling of {}",
                Money::from_fen(p.budget_ceiling_fen)
            ),
        ));
    }
    let creds = crate::orgs::service::credentials(org)?;
    let failures = creds.check(&spec.eligibility, &p.district_id, now.date());
    if !failures.is_empty() {
        return Err(not_eligible(failures));
    }
    Ok(creds)
}

fn contents_of(p: &Project, org_id: &str, offer: &Offer) -> BidContents {
    BidContents {
        project_id: p.id.clone(),
        round: p.round,
        organization_id: org_id.to_owned(),
        price: offer.price,
        plan: offer.plan.clone(),
        team: offer.team.clone(),
        kpis: offer.kpis.clone(),
        matching_funds: offer.matching_funds,
    }
}

fn mail_receipt(
    conn: &mut DbConn,
    org: &Organization,
    p: &Project,
    b: &Bid,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    notify::enqueue_batched(
        conn,
        &format!("bid.receipt:{}:{}", b.id, b.receipt_sha256),
        &Mail {
            to: org.contact_email.clone(),
            subject: format!("Bid receipt: {}", p.title),
            body: format!(
                "Your bid {} on \"{}\" (round {}) was received at {}.\nReceipt (SHA-256 of the canonical bid): {}\nKeep it: at the opening the receipts are published so you can check your bid was not altered.\n",
                b.id,
                p.title,
                b.round,
                b.received_at.and_utc().to_rfc3339(),
                b.receipt_sha256
            ),
        },
        now,
    )
}

/// Places a sealed bid. Runs inside the caller's write transaction (`bids::routes` wraps it
/// with the idempotency record in one), so a failure leaves nothing behind.
pub fn place(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &AuthUser,
    project_id: &str,
    offer: &Offer,
    now: NaiveDateTime,
) -> Result<BidView, AppError> {
    let (org, p) = bidder_on_open_project(conn, actor, project_id, now)?;
    let creds = check_offer(&p, &org, offer, now)?;
    let contents = contents_of(&p, &org.id, offer);
    let id = uuid::Uuid::now_v7().to_string();
    let bid = Bid {
        sealed: Some(sealer.seal(&seal_context(&id), &contents.canonical())),
        id,
        project_id: p.id.clone(),
        round: p.round,
        organization_id: org.id.clone(),
        status: BidStatus::Submitted.as_str().into(),
        contents: None,
        price_fen: None,
        credentials: serde_json::to_string(&creds).map_err(AppError::internal)?,
        receipt_sha256: contents.receipt(),
        received_at: now,
        disqualified_reasons: "[]".into(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    repo::insert(conn, bid.clone()).map_err(AppError::unique_as(
        "bid_exists",
        "your organization has a live bid in this round; replace or withdraw it",
    ))?;
    audit_sealed(conn, sealer, actor, "bid.submitted", &bid, now)?;
    mail_receipt(conn, &org, &p, &bid, now)?;
    Ok(BidView {
        bid,
        contents: Some(contents),
    })
}

/// The bid for its own organization's member: 404 for anyone else.
fn own_bid(conn: &mut DbConn, actor: &AuthUser, id: &str) -> Result<Bid, AppError> {
    repo::find(conn, id)?
        .filter(|b| actor.organization_id.as_deref() == Some(b.organization_id.as_str()))
        .ok_or_else(|| AppError::not_found("bid"))
}

/// Replaces a sealed bid with a new receipt, inside the caller's write transaction.
pub fn replace(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &AuthUser,
    id: &str,
    offer: &Offer,
    now: NaiveDateTime,
) -> Result<BidView, AppError> {
    let b = own_bid(conn, actor, id)?;
    let (org, p) = bidder_on_open_project(conn, actor, &b.project_id, now)?;
    if b.round != p.round || !b.is(BidStatus::Submitted) {
        return Err(AppError::invalid_state(format!(
            "a {} bid cannot be replaced",
            b.status
        )));
    }
    let creds = check_offer(&p, &org, offer, now)?;
    let contents = contents_of(&p, &org.id, offer);
    let receipt = contents.receipt();
    let sealed = sealer.seal(&seal_context(&b.id), &contents.canonical());
    let creds = serde_json::to_string(&creds).map_err(AppError::internal)?;
    if !repo::reseal(conn, &b.id, b.version, &sealed, &creds, &receipt, now)? {
        return Err(AppError::conflict(
            "concurrent_update",
            "the bid changed meanwhile; read it again",
        ));
    }
    let bid = repo::find(conn, &b.id)?.ok_or_else(|| AppError::not_found("bid"))?;
    audit_sealed(conn, sealer, actor, "bid.replaced", &bid, now)?;
    mail_receipt(conn, &org, &p, &bid, now)?;
    Ok(BidView {
        bid,
        contents: Some(contents),
    })
}

pub fn withdraw(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &AuthUser,
    id: &str,
    now: NaiveDateTime,
) -> Result<BidView, AppError> {
    write_tx(conn, |tx| {
        let b = own_bid(tx, actor, id)?;
        let p = open_project(tx, &b.project_id, now)?;
        if b.round != p.round || !b.is(BidStatus::Submitted) {
            return Err(AppError::invalid_state(format!(
                "a {} bid cannot be withdrawn",
                b.status
            )));
        }
        if !repo::withdraw(tx, &b.id, b.version, now)? {
            return Err(AppError::conflict(
                "concurrent_update",
                "the bid changed meanwhile; read it again",
            ));
        }
        let bid = repo::find(tx, &b.id)?.ok_or_else(|| AppError::not_found("bid"))?;
        audit_sealed(tx, sealer, actor, "bid.withdrawn", &bid, now)?;
        Ok(BidView {
            bid,
            contents: None,
        })
    })
}

/// Opens a sealed bid for its own organization (the server holds the key).
fn unseal(sealer: &Sealer, b: &Bid) -> Result<Option<BidContents>, AppError> {
    if let Some(c) = &b.contents {
        return Ok(Some(serde_json::from_str(c).map_err(AppError::internal)?));
    }
    match &b.sealed {
        Some(s) => {
            let plain = sealer
                .open(&seal_context(&b.id), s)
                .map_err(AppError::internal)?;
            Ok(Some(
                serde_json::from_slice(&plain).map_err(AppError::internal)?,
            ))
        }
        None => Ok(None),
    }
}

/// Whether `viewer` may read bid `b` of project `p`: its organization always; after its
/// round closed, the bureau of the district (the panel comes with the evaluation).
pub fn may_read(viewer: &AuthUser, p: &Project, b: &Bid) -> bool {
    if viewer.organization_id.as_deref() == Some(b.organization_id.as_str()) {
        return true;
    }
    round_closed(p, b)
        && !b.is(BidStatus::Withdrawn)
        && viewer.role == Role::Bureau
        && viewer.district_id() == Some(p.district_id.as_str())
}

pub fn get(
    conn: &mut DbConn,
    sealer: &Sealer,
    viewer: &AuthUser,
    id: &str,
) -> Result<BidView, AppError> {
    let b = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("bid"))?;
    let p = crate::projects::repo::find(conn, &b.project_id)?
        .ok_or_else(|| AppError::not_found("bid"))?;
    let panel = round_closed(&p, &b)
        && !b.is(BidStatus::Withdrawn)
        && crate::evaluation::service::is_accepted_member(conn, viewer, &p.id, b.round)?;
    if !may_read(viewer, &p, &b) && !panel {
        return Err(AppError::not_found("bid"));
    }
    let contents = unseal(sealer, &b)?;
    Ok(BidView { bid: b, contents })
}

/// A project's bids as the viewer may see them: an organization its own, the bureau of the
/// district those of closed rounds (409 `not_closed` before any round has closed).
pub fn list(
    conn: &mut DbConn,
    sealer: &Sealer,
    viewer: &AuthUser,
    project_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BidView>, AppError> {
    let p = projects::get(conn, Some(viewer), project_id)?;
    let rows = match viewer.role {
        Role::Org => {
            let org = viewer
                .organization_id
                .as_deref()
                .ok_or_else(AppError::forbidden)?;
            repo::list_project(conn, &p.id, Some(org), None, after, limit)?
        }
        Role::Bureau if viewer.district_id() == Some(p.district_id.as_str()) => {
            let closed_round = last_closed_round(&p).ok_or_else(not_closed)?;
            repo::list_project(conn, &p.id, None, Some(closed_round), after, limit)?
        }
        Role::Expert => {
            let round = last_closed_round(&p).ok_or_else(not_closed)?;
            if !crate::evaluation::service::is_accepted_member(conn, viewer, &p.id, round)? {
                return Err(AppError::not_found("project"));
            }
            repo::list_round(conn, &p.id, round)?
                .into_iter()
                .filter(|b| !b.is(BidStatus::Withdrawn) && after.is_none_or(|a| b.id.as_str() > a))
                .take(limit as usize)
                .collect()
        }
        _ => return Err(AppError::not_found("project")),
    };
    rows.into_iter()
        .map(|b| {
            Ok(BidView {
                contents: unseal(sealer, &b)?,
                bid: b,
            })
        })
        .collect()
}

pub fn not_closed() -> AppError {
    AppError::conflict("not_closed", "bidding has not closed yet")
}

/// The latest round whose bidding has closed.
pub fn last_closed_round(p: &Project) -> Option<i32> {
    if p.closed_at.is_some() && !p.is(ProjectStatus::Open) {
        Some(p.round)
    } else if p.round > 1 {
        Some(p.round - 1)
    } else {
        None
    }
}

/// One opened bid, as the opening lists it.
#[derive(Debug, Clone)]
pub struct Opened {
    pub bid: Bid,
    pub organization_name: String,
}

/// The opening of the latest closed round: receipts, statuses and reasons.
pub fn opening(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    project_id: &str,
) -> Result<(Project, i32, Vec<Opened>), AppError> {
    let p = projects::get(conn, viewer, project_id)?;
    let round = last_closed_round(&p).ok_or_else(not_closed)?;
    let mut out = Vec::new();
    for b in repo::list_round(conn, &p.id, round)? {
        if b.is(BidStatus::Withdrawn) {
            continue;
        }
        let name = crate::orgs::repo::find(conn, &b.organization_id)?
            .map(|o| o.name)
            .unwrap_or_default();
        out.push(Opened {
            bid: b,
            organization_name: name,
        });
    }
    Ok((p, round, out))
}

/// What closing a round did.
#[derive(Debug, Clone, Default)]
pub struct Closed {
    pub qualified: usize,
    pub disqualified: usize,
    pub failed: bool,
}

/// Closes the current round of `project_id` at `now`: claims the project with a guarded
/// update (so two runners close it once), opens every sealed bid, checks its receipt and the
/// eligibility of its frozen credentials, reveals the seed, and moves the project to
/// `evaluating`, or to `failed` (budget returned) with fewer qualified bids than the minimum
/// (政府采购法 art 36). Bidders are mailed the outcome. `None` when there was nothing to do.
pub fn close_round(
    conn: &mut DbConn,
    sealer: &Sealer,
    packs: &RulePacks,
    project_id: &str,
    now: NaiveDateTime,
) -> Result<Option<Closed>, AppError> {
    write_tx(conn, |tx| {
        let Some(mut p) = crate::projects::repo::find(tx, project_id)? else {
            return Ok(None);
        };
        if !p.is(ProjectStatus::Open) || p.bid_close_at > now {
            return Ok(None);
        }
        if !crate::projects::repo::claim(tx, &p.id, p.version, ProjectStatus::Open.as_str())? {
            return Ok(None);
        }
        p.version += 1;
        let spec = projects::spec_of(&p)?;
        let pack = projects::pack_of(&p, packs, &spec)?;
        let mut result = Closed::default();
        let mut opened = Vec::new();
        for b in repo::list_round(tx, &p.id, p.round)? {
            if !b.is(BidStatus::Submitted) {
                continue;
            }
            let contents = unseal(sealer, &b)
                .ok()
                .flatten()
                .filter(|c| c.receipt() == b.receipt_sha256);
            let mut reasons: Vec<Failure> = match (
                &contents,
                serde_json::from_str::<Credentials>(&b.credentials),
            ) {
                (None, _) => vec![Failure {
                    rule: "integrity".into(),
                    reason: "the sealed bid did not open to its receipt".into(),
                }],
                (_, Err(_)) => vec![Failure {
                    rule: "integrity".into(),
                    reason: "the frozen credentials are unreadable".into(),
                }],
                (Some(_), Ok(creds)) => creds.check(&spec.eligibility, &p.district_id, now.date()),
            };
            // The standing at the opening counts too: a suspension after the bid disqualifies.
            if let Some(o) = crate::orgs::repo::find(tx, &b.organization_id)? {
                reasons.extend(standing(&o.status, o.status_reason.as_deref()));
            }
            if contents.is_none() {
                tracing::error!(bid_id = %b.id, "a sealed bid did not open to its receipt");
            }
            reasons.dedup();
            let status = if reasons.is_empty() {
                BidStatus::Qualified
            } else {
                BidStatus::Disqualified
            };
            let text = contents
                .as_ref()
                .map(|c| serde_json::to_string(c).unwrap_or_default());
            repo::open(
                tx,
                &b.id,
                status.as_str(),
                text.as_deref(),
                contents.as_ref().map(|c| c.price.fen()),
                &serde_json::to_string(&reasons).map_err(AppError::internal)?,
                now,
            )?;
            match status {
                BidStatus::Qualified => result.qualified += 1,
                _ => result.disqualified += 1,
            }
            opened.push((b, status, reasons));
        }
        result.failed = (result.qualified as u32) < spec.min_bids(&pack);
        let next = if result.failed {
            ProjectStatus::Failed
        } else {
            ProjectStatus::Evaluating
        };
        if result.failed {
            crate::funds::service::unreserve(
                tx,
                &crate::funds::service::Move {
                    fund_id: &p.fund_id,
                    kind: "unreserve",
                    amount: Money::from_fen(p.budget_ceiling_fen),
                    project_id: Some(&p.id),
                    contract_id: None,
                    tranche_id: None,
                    ref_key: &format!("unreserve:project:{}:round:{}", p.id, p.round),
                    actor_id: None,
                },
                now,
            )?;
        }
        if let Some(s) = &p.seed_sealed {
            let seed = sealer
                .open(&format!("project-seed:{}", p.id), s)
                .map_err(AppError::internal)?;
            p.seed = Some(String::from_utf8(seed).map_err(AppError::internal)?);
        }
        if next == ProjectStatus::Evaluating {
            let bids: Vec<Bid> = opened.iter().map(|(b, _, _)| b.clone()).collect();
            if !crate::evaluation::service::draw_panel(tx, &p, &spec, &pack, &bids, now)? {
                p.status_reason = Some(
                    "panel_shortfall: too few eligible experts; add experts and redraw".into(),
                );
            }
        }
        p.status = next.as_str().into();
        p.closed_at = Some(now);
        p.updated_at = now;
        let version = p.version;
        if !crate::projects::repo::save(tx, &p, version)? {
            return Err(AppError::conflict(
                "concurrent_update",
                "the project changed while closing",
            ));
        }
        audit::append(
            tx,
            Event {
                actor_id: None,
                action: "project.bidding_closed",
                entity: "project",
                entity_id: &p.id,
                district_id: Some(&p.district_id),
                summary: json!({
                    "after": {"status": p.status, "round": p.round, "seed": p.seed, "qualified": result.qualified, "disqualified": result.disqualified},
                    "receipts": opened.iter().map(|(b, s, _)| json!({"bid_id": b.id, "sha256": b.receipt_sha256, "status": s.as_str()})).collect::<Vec<_>>(),
                }),
            },
            now,
        )?;
        for (b, status, reasons) in &opened {
            if let Some(org) = crate::orgs::repo::find(tx, &b.organization_id)? {
                let why = reasons
                    .iter()
                    .map(|r| format!("- {}: {}", r.rule, r.reason))
                    .collect::<Vec<_>>()
                    .join("\n");
                notify::enqueue(
                    tx,
                    &format!("bid.opened:{}", b.id),
                    &Mail {
                        to: org.contact_email,
                        subject: format!("Bid opening: {}", p.title),
                        body: format!(
                            "Bidding on \"{}\" (round {}) closed at {}.\nYour bid {} (receipt {}) is {}.{}\nThe project is now {}.\n",
                            p.title,
                            p.round,
                            now.and_utc().to_rfc3339(),
                            b.id,
                            b.receipt_sha256,
                            status.as_str(),
                            if why.is_empty() { String::new() } else { format!("\n{why}") },
                            p.status
                        ),
                    },
                    now,
                )?;
            }
        }
        Ok(Some(result))
    })
}
