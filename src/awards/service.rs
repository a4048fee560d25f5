//! Award, objection and finalisation use cases.

use chrono::NaiveDateTime;
use serde_json::json;

use super::model::{AwardAction, AwardStatus, ObjectionAction, ObjectionStatus};
use super::repo;
pub use super::repo::{Award, Objection};
use crate::auth::{AuthUser, ListingScope, Role};
use crate::bids::model::{BidAction, BidStatus};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::rules::RulePacks;
use crate::error::AppError;
use crate::evaluation::repo::SeatStatus;
use crate::notify::{self, Mail};
use crate::projects::model::{Project, ProjectAction};
use crate::status::Lifecycle;

/// Mails the contact of every organization that bid in the round.
fn mail_bidders(
    conn: &mut Tx<'_>,
    p: &Project,
    round: i32,
    key: &str,
    subject: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for b in crate::bids::repo::list_round(conn, &p.id, round)? {
        if b.is(BidStatus::Withdrawn) {
            continue;
        }
        if let Some(o) = crate::orgs::repo::find(conn, b.organization())? {
            notify::enqueue(
                conn,
                &format!("{key}:{}", b.id),
                &Mail {
                    to: o.contact_email,
                    subject: format!("{subject}: {}", p.title),
                    body: body.into(),
                },
                now,
            )?;
        }
    }
    Ok(())
}

pub fn award(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    project_id: &str,
    bid_id: &str,
    justification: Option<String>,
    packs: &RulePacks,
    now: NaiveDateTime,
) -> Result<Notice, AppError> {
    let a = write_tx(conn, |tx| {
        let p = crate::projects::repo::find(tx, project_id)?
            .filter(|p| actor.district_id() == Some(p.district_id.as_str()))
            .ok_or_else(|| AppError::not_found("project"))?;
        let awarded = p.status.step(ProjectAction::Award)?;
        let ev = crate::evaluation::service::evaluation(tx, Some(actor), &p.id, packs)?;
        let ranking = ev.ranking.ok_or_else(|| {
            AppError::conflict(
                "evaluation_incomplete",
                "not every panel member's sheets are in",
            )
        })?;
        let row = ranking
            .iter()
            .find(|r| r.bid_id == bid_id)
            .ok_or_else(|| AppError::field("bid_id", "is not a ranked bid of this project"))?;
        let justification = justification
            .map(|j| j.trim().to_owned())
            .filter(|j| !j.is_empty());
        if row.rank != 1 && justification.is_none() {
            return Err(AppError::field(
                "justification",
                "awarding a bid not ranked first needs a recorded justification",
            ));
        }
        let bid = crate::bids::repo::find(tx, bid_id)?.ok_or_else(|| AppError::not_found("bid"))?;
        let spec = crate::projects::service::spec_of(&p)?;
        let pack = crate::projects::service::pack_of(&p, packs, &spec)?;
        let cal = crate::calendar::service::load(tx)?;
        let cst_today = crate::clock::cst_date(now);
        let counted = cal.add_working_days(cst_today, pack.objection_window.working_days);
        let a = Award {
            id: uuid::Uuid::now_v7().to_string(),
            project_id: p.id.clone(),
            round: p.round,
            bid_id: bid.id.clone(),
            organization_id: bid.organization().to_owned(),
            amount_fen: bid.price_fen.unwrap_or(0),
            justification: justification.clone(),
            objection_deadline: crate::clock::end_of_day_cst(counted.date),
            status: AwardStatus::PendingObjections,
            created_by: actor.id.clone(),
            created_at: now,
            finalized_at: None,
        };
        repo::insert(tx, &a).map_err(AppError::unique_as(
            "award_exists",
            "the round has an award",
        ))?;
        let mut project = p.clone();
        project.status = awarded;
        project.updated_at = now;
        if !crate::projects::repo::save(tx, &project, p.version)? {
            return Err(AppError::concurrent_update("project"));
        }
        crate::projects::service::audit_in_project(
            tx,
            Some(&actor.id),
            "project.awarded",
            ("award", &a.id),
            &p,
            json!({"award_id": a.id, "bid_id": a.bid_id, "rank": row.rank, "justification": justification, "amount": crate::domain::Money::from_fen(a.amount_fen), "objection_deadline": a.objection_deadline.and_utc(), "years_without_calendar": counted.years_without_list}),
            now,
        )?;
        mail_bidders(
            tx,
            &p,
            p.round,
            &format!("award.notice:{}", a.id),
            "Award notice",
            &format!(
                "The award of \"{}\" is published (award {}). Objections may be filed until {}.",
                p.title,
                a.id,
                a.objection_deadline.and_utc().to_rfc3339()
            ),
            now,
        )?;
        Ok(a)
    })?;
    notice(conn, a)
}

/// An award as its notice publishes it, with the names of the panel that evaluated its round
/// (实施条例 art 43).
#[derive(Debug, Clone)]
pub struct Notice {
    pub award: Award,
    pub panel: Vec<String>,
    /// The winning organization's name.
    pub organization_name: String,
    /// How many of the award's objections are open, upheld and dismissed.
    pub objections: ObjectionCounts,
}

/// An award's objections by status.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub struct ObjectionCounts {
    pub open: u32,
    pub upheld: u32,
    pub dismissed: u32,
}

/// An organization's name ("" when it is gone).
fn name_of(conn: &mut DbConn, organization_id: &str) -> Result<String, AppError> {
    Ok(crate::orgs::repo::find(conn, organization_id)?
        .map(|o| o.name)
        .unwrap_or_default())
}

fn notice(conn: &mut DbConn, a: Award) -> Result<Notice, AppError> {
    let mut panel = Vec::new();
    for s in crate::evaluation::repo::seats(conn, &a.project_id, a.round)? {
        if s.is(SeatStatus::Accepted) {
            if let Some(e) = crate::experts::repo::find(conn, &s.expert_id)? {
                panel.push(e.name);
            }
        }
    }
    let organization_name = name_of(conn, &a.organization_id)?;
    let mut objections = ObjectionCounts::default();
    for o in repo::objections_of(conn, &a.id)? {
        *match o.status {
            ObjectionStatus::Open => &mut objections.open,
            ObjectionStatus::Upheld => &mut objections.upheld,
            ObjectionStatus::Dismissed => &mut objections.dismissed,
        } += 1;
    }
    Ok(Notice {
        award: a,
        panel,
        organization_name,
        objections,
    })
}

/// Where a project's latest round ended: its award, the winner's name, and its contract once
/// drawn up.
pub struct Outcome {
    pub award: Award,
    pub organization_name: String,
    pub contract_id: Option<String>,
}

pub fn outcome_of_project(
    conn: &mut DbConn,
    project_id: &str,
) -> Result<Option<Outcome>, AppError> {
    let Some(award) = repo::latest_of_project(conn, project_id)? else {
        return Ok(None);
    };
    let organization_name = name_of(conn, &award.organization_id)?;
    let contract_id = crate::contracts::repo::find_for_award(conn, &award.id)?.map(|c| c.id);
    Ok(Some(Outcome {
        award,
        organization_name,
        contract_id,
    }))
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Award, AppError> {
    repo::find(conn, id)?.ok_or_else(|| AppError::not_found("award"))
}

/// The award's public notice (anyone may read it).
pub fn get_notice(conn: &mut DbConn, id: &str) -> Result<Notice, AppError> {
    let a = get(conn, id)?;
    notice(conn, a)
}

pub fn object(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    award_id: &str,
    grounds: String,
    now: NaiveDateTime,
) -> Result<Objection, AppError> {
    write_tx(conn, |tx| {
        let a = get(tx, award_id)?;
        let org = actor
            .organization_id
            .clone()
            .ok_or_else(AppError::forbidden)?;
        let bid_in_round = crate::bids::repo::list_round(tx, &a.project_id, a.round)?
            .into_iter()
            .any(|b| b.organization() == org && !b.is(BidStatus::Withdrawn));
        if !bid_in_round {
            return Err(AppError::new(
                actix_web::http::StatusCode::FORBIDDEN,
                "not_a_bidder",
                "only organizations that bid in the round may object",
            ));
        }
        a.status.step(AwardAction::Object)?;
        if now > a.objection_deadline {
            return Err(AppError::conflict(
                "deadline_passed",
                format!(
                    "objections closed at {}",
                    a.objection_deadline.and_utc().to_rfc3339()
                ),
            ));
        }
        let o = Objection {
            id: uuid::Uuid::now_v7().to_string(),
            award_id: a.id.clone(),
            organization_id: org,
            grounds,
            status: ObjectionStatus::Open,
            reply: None,
            filed_by: actor.id.clone(),
            created_at: now,
            resolved_by: None,
            resolved_at: None,
        };
        repo::insert_objection(tx, &o)?;
        let p = crate::projects::repo::find(tx, &a.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        crate::projects::service::audit_in_project(
            tx,
            Some(&actor.id),
            "award.objection_filed",
            ("objection", &o.id),
            &p,
            json!({"award_id": a.id, "objection_id": o.id, "organization_id": o.organization_id}),
            now,
        )?;
        let by = name_of(tx, &o.organization_id)?;
        notify::enqueue_to_bureau(
            tx,
            &p.district_id,
            &format!("objection.filed:{}", o.id),
            &format!("Objection filed: {}", p.title),
            &format!(
                "{by} objected to award {} of \"{}\" (round {}).\nGrounds: {}\nAnswer it before the award can become final: POST /api/v1/objections/{}/resolve {{outcome: upheld|dismissed, reply}}. Open objections: GET /api/v1/objections?status=open.\n",
                a.id, p.title, a.round, o.grounds, o.id
            ),
            now,
        )?;
        Ok(o)
    })
}

pub fn resolve(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    objection_id: &str,
    upheld: bool,
    reply: String,
    now: NaiveDateTime,
) -> Result<Objection, AppError> {
    write_tx(conn, |tx| {
        let o = repo::find_objection(tx, objection_id)?
            .ok_or_else(|| AppError::not_found("objection"))?;
        let a = get(tx, &o.award_id)?;
        let p = crate::projects::repo::find(tx, &a.project_id)?
            .filter(|p| {
                actor.role == Role::Bureau && actor.district_id() == Some(p.district_id.as_str())
            })
            .ok_or_else(|| AppError::not_found("objection"))?;
        let action = if upheld {
            ObjectionAction::Uphold
        } else {
            ObjectionAction::Dismiss
        };
        let to = o.status.step(action)?;
        if !repo::resolve(tx, &o.id, o.status, to, &reply, &actor.id, now)? {
            // Answered meanwhile: refused from where it is now.
            let current = repo::find_objection(tx, &o.id)?.map_or(o.status, |x| x.status);
            return Err(current.refuse(action));
        }
        // upheld or dismissed: the audit and the mail say the new status.
        let outcome = to.as_str();
        // An award already final or revoked (by another objection) stays as it is.
        let revoked = match a.status.next(AwardAction::Revoke) {
            Some(to) if upheld => repo::set_status(tx, &a.id, a.status, to, now)?,
            _ => false,
        };
        if revoked {
            // The award is revoked and the evaluation reopened.
            let mut project = p.clone();
            project.status = p.status.step(ProjectAction::Revoke)?;
            project.updated_at = now;
            if !crate::projects::repo::save(tx, &project, p.version)? {
                return Err(AppError::concurrent_update("project"));
            }
            settle_bids(tx, &a.project_id, a.round, None, now)?;
        }
        crate::projects::service::audit_in_project(
            tx,
            Some(&actor.id),
            "award.objection_resolved",
            ("objection", &o.id),
            &p,
            json!({"award_id": a.id, "objection_id": o.id, "outcome": outcome, "reply": reply}),
            now,
        )?;
        notify::enqueue_to_organization(
            tx,
            &o.organization_id,
            &format!("objection.resolved:{}", o.id),
            format!("Objection {outcome}: {}", p.title),
            format!("Your objection {} was {outcome}.\nReply: {reply}\n", o.id),
            now,
        )?;
        repo::find_objection(tx, &o.id)?.ok_or_else(|| AppError::not_found("objection"))
    })
}

/// Finalises one award whose window has passed with no open objection. Guarded: a second
/// run, or another replica, finds it final already and does nothing.
pub fn finalize(
    conn: &mut Tx<'_>,
    sealer: &crate::crypto::Sealer,
    packs: &RulePacks,
    award_id: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    write_tx(conn, |tx| {
        let a = get(tx, award_id)?;
        // Already final or revoked: nothing to do (a job skips, it does not refuse).
        let Some(to) = a.status.next(AwardAction::Finalize) else {
            return Ok(false);
        };
        if a.objection_deadline >= now {
            return Ok(false);
        }
        if repo::objections_of(tx, &a.id)?
            .iter()
            .any(|o| o.status == ObjectionStatus::Open)
        {
            return Ok(false);
        }
        if !repo::set_status(tx, &a.id, a.status, to, now)? {
            return Ok(false);
        }
        settle_bids(tx, &a.project_id, a.round, Some(&a.bid_id), now)?;
        let p = crate::projects::repo::find(tx, &a.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        crate::projects::service::audit_in_project(
            tx,
            None,
            "award.finalized",
            ("award", &a.id),
            &p,
            json!({"award_id": a.id, "bid_id": a.bid_id}),
            now,
        )?;
        mail_bidders(
            tx,
            &p,
            a.round,
            &format!("award.final:{}", a.id),
            "Award final",
            &format!("The award {} of \"{}\" is final.", a.id, p.title),
            now,
        )?;
        // The contract, in the same transaction: no final award without its contract, and
        // the fund's ceiling becomes the awarded amount's commitment.
        let spec = crate::projects::service::spec_of(&p)?;
        let pack = crate::projects::service::pack_of(&p, packs, &spec)?;
        crate::contracts::service::create_from_award(tx, sealer, &a, &p, &pack, now)?;
        Ok(true)
    })
}

/// Sets the verdict of a round's bids through their state machine: the winner awarded, the
/// other qualified bids lost; `None` puts them back to qualified (a revoked award). A bid that
/// cannot take the move (withdrawn, disqualified) stays as it is.
fn settle_bids(
    conn: &mut Tx<'_>,
    project_id: &str,
    round: i32,
    winner: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for b in crate::bids::repo::list_round(conn, project_id, round)? {
        let action = match winner {
            Some(w) if w == b.id => BidAction::Win,
            Some(_) => BidAction::Lose,
            None => BidAction::Reopen,
        };
        if let Some(to) = b.status.next(action) {
            crate::bids::repo::move_status(conn, &b.id, b.status, to, now)?;
        }
    }
    Ok(())
}

/// The objections `actor` may list: an admin's all, a bureau's district's, an organization's
/// own; anyone else none (403).
pub fn list_objections(
    conn: &mut DbConn,
    actor: &AuthUser,
    mut f: repo::ObjectionFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Objection>, AppError> {
    match actor.listing_scope()? {
        ListingScope::All => {}
        ListingScope::District(d) => f.district_id = Some(d),
        ListingScope::Organization(None) => return Ok(Vec::new()),
        ListingScope::Organization(Some(own)) => f.organization_id = Some(own),
    }
    Ok(repo::list_objections(conn, &f, after, limit)?)
}
