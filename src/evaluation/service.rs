//! Panel, assignment and scoring use cases.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::json;

use super::repo::{self, PanelDraw, ScoreSheet, Seat, SeatStatus};
use crate::audit::{self, Event};
use crate::auth::{AuthUser, Role};
use crate::bids::model::{Bid, BidStatus};
use crate::db::{write_tx, DbConn};
use crate::domain::draw;
use crate::domain::rules::RulePack;
use crate::domain::scoring::{self, Ranked};
use crate::domain::spec::ProjectSpec;
use crate::error::AppError;
use crate::notify::{self, Mail};
use crate::projects::model::{Project, ProjectStatus};

fn mail_expert(
    conn: &mut DbConn,
    expert_id: &str,
    p: &Project,
    what: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(e) = crate::experts::repo::find(conn, expert_id)? else {
        return Ok(());
    };
    let Some(u) = crate::users::repo::find(conn, &e.user_id)? else {
        return Ok(());
    };
    notify::enqueue(
        conn,
        &format!("panel.{what}:{}:{}:{}", p.id, p.round, e.id),
        &Mail {
            to: u.email,
            subject: format!("Evaluation panel: {}", p.title),
            body: format!(
                "You were drawn for the evaluation panel of \"{}\" (round {}).\nAccept with a no-conflict declaration (POST /api/v1/assignments/{{id}}/accept) or decline; see GET /api/v1/me/assignments.\n",
                p.title, p.round
            ),
        },
        now,
    )?;
    Ok(())
}

fn mail_bureau(
    conn: &mut DbConn,
    p: &Project,
    subject: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for u in crate::users::repo::list(
        conn,
        &crate::users::repo::UserFilter {
            role: Some("bureau".into()),
            region_id: Some(p.district_id.clone()),
            q: None,
        },
        None,
        100,
    )? {
        notify::enqueue(
            conn,
            &format!("bureau.{subject}:{}:{}:{}", p.id, p.round, u.id),
            &Mail {
                to: u.email,
                subject: format!("{subject}: {}", p.title),
                body: body.into(),
            },
            now,
        )?;
    }
    Ok(())
}

/// Draws the panel of a project whose round just closed (inside the close transaction).
/// Returns false on a shortfall: too few eligible experts, the bureau mailed, no panel.
pub fn draw_panel(
    conn: &mut DbConn,
    p: &Project,
    spec: &ProjectSpec,
    pack: &RulePack,
    opened: &[Bid],
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let seed = p
        .seed
        .as_deref()
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no revealed seed")))?;
    let receipts: Vec<String> = opened.iter().map(|b| b.receipt_sha256.clone()).collect();
    let mut usccs = Vec::new();
    for b in opened {
        if let Some(o) = crate::orgs::repo::find(conn, &b.organization_id)? {
            usccs.push(o.uscc);
        }
    }
    let eligible =
        crate::experts::service::eligible(conn, spec.category, &p.district_id, &usccs, now.date())?;
    let size = pack.panel_size(p.budget_ceiling_fen) as usize;
    let drawn = draw::draw(&seed, &receipts, &eligible, size, size);
    let root = hex::encode(draw::receipts_root(&receipts));
    repo::insert_draw(
        conn,
        &PanelDraw {
            project_id: p.id.clone(),
            round: p.round,
            status: if drawn.is_some() {
                "drawn".into()
            } else {
                "shortfall".into()
            },
            size: size as i32,
            eligible_ids: serde_json::to_string(&eligible).map_err(AppError::internal)?,
            receipts: serde_json::to_string(&receipts).map_err(AppError::internal)?,
            receipts_root: root.clone(),
            drawn_at: now,
        },
    )?;
    let Some(d) = drawn else {
        mail_bureau(
            conn,
            p,
            "Panel shortfall",
            &format!("Only {} experts are eligible for \"{}\"; the rule ({}) needs {size}. Add experts to the pool, then redraw.", eligible.len(), p.title, pack.panel.citation),
            now,
        )?;
        return Ok(false);
    };
    for (i, id) in d.members.iter().chain(d.alternates.iter()).enumerate() {
        let member = i < d.members.len();
        repo::insert_seat(
            conn,
            &Seat {
                id: uuid::Uuid::now_v7().to_string(),
                project_id: p.id.clone(),
                round: p.round,
                expert_id: id.clone(),
                position: i as i32 + 1,
                status: if member {
                    SeatStatus::Invited.as_str().into()
                } else {
                    SeatStatus::Standby.as_str().into()
                },
                invited_at: member.then_some(now),
                declaration: None,
                decline_reason: None,
                responded_at: None,
                created_at: now,
            },
        )?;
        if member {
            mail_expert(conn, id, p, "invited", now)?;
        }
    }
    audit::append(
        conn,
        Event {
            actor_id: None,
            action: "panel.drawn",
            entity: "project",
            entity_id: &p.id,
            district_id: Some(&p.district_id),
            summary: json!({"round": p.round, "members": d.members, "alternates": d.alternates, "receipts_root": root, "eligible": eligible.len()}),
        },
        now,
    )?;
    Ok(true)
}

/// The caller's expert record: 403 for users who are not in the pool.
fn expert_of(
    conn: &mut DbConn,
    actor: &AuthUser,
) -> Result<crate::experts::repo::Expert, AppError> {
    crate::experts::repo::find_by_user(conn, &actor.id)?.ok_or_else(AppError::forbidden)
}

/// Whether `user` holds an accepted seat on the panel of this project round.
pub fn is_accepted_member(
    conn: &mut DbConn,
    user: &AuthUser,
    project_id: &str,
    round: i32,
) -> Result<bool, AppError> {
    if user.role != Role::Expert {
        return Ok(false);
    }
    let Some(e) = crate::experts::repo::find_by_user(conn, &user.id)? else {
        return Ok(false);
    };
    Ok(repo::seats(conn, project_id, round)?
        .iter()
        .any(|s| s.expert_id == e.id && s.is(SeatStatus::Accepted)))
}

fn own_seat(conn: &mut DbConn, actor: &AuthUser, seat_id: &str) -> Result<Seat, AppError> {
    let e = crate::experts::repo::find_by_user(conn, &actor.id)?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    repo::find_seat(conn, seat_id)?
        .filter(|s| s.expert_id == e.id && !s.is(SeatStatus::Standby))
        .ok_or_else(|| AppError::not_found("assignment"))
}

pub fn assignments(
    conn: &mut DbConn,
    actor: &AuthUser,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Seat>, AppError> {
    // An expert account without a pool profile simply has no assignments.
    match crate::experts::repo::find_by_user(conn, &actor.id)? {
        Some(e) => Ok(repo::seats_of_expert(conn, &e.id, after, limit)?),
        None => Ok(Vec::new()),
    }
}

fn audit_seat(
    conn: &mut DbConn,
    actor: &AuthUser,
    action: &str,
    s: &Seat,
    p: &Project,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append(
        conn,
        Event {
            actor_id: Some(&actor.id),
            action,
            entity: "project",
            entity_id: &p.id,
            district_id: Some(&p.district_id),
            summary: json!({"seat_id": s.id, "expert_id": s.expert_id, "round": s.round, "decline_reason": s.decline_reason}),
        },
        now,
    )?;
    Ok(())
}

/// Accepting, with the declaration of no conflict, is what opens the bids to the expert.
pub fn accept(
    conn: &mut DbConn,
    actor: &AuthUser,
    seat_id: &str,
    now: NaiveDateTime,
) -> Result<Seat, AppError> {
    write_tx(conn, |tx| {
        let s = own_seat(tx, actor, seat_id)?;
        if !repo::move_seat(
            tx,
            &s.id,
            SeatStatus::Invited.as_str(),
            SeatStatus::Accepted.as_str(),
            Some("no_conflict"),
            None,
            now,
        )? {
            return Err(AppError::invalid_state(format!(
                "an assignment that is {} cannot be accepted",
                s.status
            )));
        }
        let p = crate::projects::repo::find(tx, &s.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        let s = repo::find_seat(tx, &s.id)?.ok_or_else(|| AppError::not_found("assignment"))?;
        audit_seat(tx, actor, "panel.seat_accepted", &s, &p, now)?;
        Ok(s)
    })
}

/// Invites the first alternate on standby; with none left the bureau is told.
fn invite_next(
    conn: &mut DbConn,
    p: &Project,
    round: i32,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    match repo::seats(conn, &p.id, round)?
        .into_iter()
        .find(|x| x.is(SeatStatus::Standby))
    {
        Some(alt) => {
            repo::invite(conn, &alt.id, now)?;
            mail_expert(conn, &alt.expert_id, p, "invited", now)
        }
        None => mail_bureau(
            conn,
            p,
            "Panel short of alternates",
            "An expert declined or did not answer and no alternate is left; a redraw is needed.",
            now,
        ),
    }
}

/// Expires invitations left unanswered past the rule pack's `response_hours`, inviting the
/// next alternate each time. Guarded per seat; returns how many expired.
pub fn expire_invitations(
    conn: &mut DbConn,
    packs: &crate::domain::rules::RulePacks,
    now: NaiveDateTime,
) -> Result<u64, AppError> {
    let mut expired = 0;
    // Candidates are invitations sent before now; each is checked against its own pack's window.
    for s in repo::stale_invitations(conn, now, 500)? {
        let done = write_tx(conn, |tx| {
            let Some(p) = crate::projects::repo::find(tx, &s.project_id)? else {
                return Ok(false);
            };
            let spec = crate::projects::service::spec_of(&p)?;
            let pack = crate::projects::service::pack_of(&p, packs, &spec)?;
            let due = s.invited_at.is_some_and(|at| {
                at + chrono::Duration::hours(pack.panel.response_hours as i64) <= now
            });
            if !due
                || !repo::move_seat(
                    tx,
                    &s.id,
                    SeatStatus::Invited.as_str(),
                    SeatStatus::Expired.as_str(),
                    None,
                    Some("no answer in time"),
                    now,
                )?
            {
                return Ok(false);
            }
            invite_next(tx, &p, s.round, now)?;
            audit::append(
                tx,
                Event {
                    actor_id: None,
                    action: "panel.seat_expired",
                    entity: "project",
                    entity_id: &p.id,
                    district_id: Some(&p.district_id),
                    summary: json!({"seat_id": s.id, "expert_id": s.expert_id, "round": s.round, "hours": pack.panel.response_hours}),
                },
                now,
            )?;
            Ok::<_, AppError>(true)
        })?;
        if done {
            expired += 1;
        }
    }
    Ok(expired)
}

/// Draws the panel of the current round again, with the pool as it is now (after a
/// shortfall, or when the alternates ran out), for an audited reason. Refused once any score
/// sheet exists.
pub fn redraw(
    conn: &mut DbConn,
    actor: &AuthUser,
    project_id: &str,
    reason: String,
    packs: &crate::domain::rules::RulePacks,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    write_tx(conn, |tx| {
        let mut p = crate::projects::repo::find(tx, project_id)?
            .filter(|p| actor.district_id() == Some(p.district_id.as_str()))
            .ok_or_else(|| AppError::not_found("project"))?;
        if !p.is(ProjectStatus::Evaluating) {
            return Err(AppError::invalid_state(format!(
                "a project that is {} has no panel to redraw",
                p.status
            )));
        }
        if !repo::sheets(tx, &p.id, p.round)?.is_empty() {
            return Err(AppError::invalid_state(
                "scoring has begun; the panel can no longer be redrawn",
            ));
        }
        let before = repo::find_draw(tx, &p.id, p.round)?;
        repo::clear_round(tx, &p.id, p.round)?;
        let spec = crate::projects::service::spec_of(&p)?;
        let pack = crate::projects::service::pack_of(&p, packs, &spec)?;
        let opened: Vec<Bid> = crate::bids::repo::list_round(tx, &p.id, p.round)?
            .into_iter()
            .filter(|b| !b.is(BidStatus::Withdrawn))
            .collect();
        let drawn = draw_panel(tx, &p, &spec, &pack, &opened, now)?;
        p.status_reason = if drawn {
            None
        } else {
            Some("panel_shortfall: too few eligible experts; add experts and redraw".into())
        };
        p.updated_at = now;
        let version = p.version;
        if !crate::projects::repo::save(tx, &p, version)? {
            return Err(AppError::conflict(
                "concurrent_update",
                "the project changed meanwhile",
            ));
        }
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "panel.redrawn",
                entity: "project",
                entity_id: &p.id,
                district_id: Some(&p.district_id),
                summary: json!({"reason": reason, "before": before.map(|d| json!({"status": d.status, "eligible": d.eligible_ids})), "drawn": drawn}),
            },
            now,
        )?;
        Ok(drawn)
    })
}

/// Declining invites the next alternate; with none left the bureau is told.
pub fn decline(
    conn: &mut DbConn,
    actor: &AuthUser,
    seat_id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<Seat, AppError> {
    write_tx(conn, |tx| {
        let s = own_seat(tx, actor, seat_id)?;
        if !repo::move_seat(
            tx,
            &s.id,
            SeatStatus::Invited.as_str(),
            SeatStatus::Declined.as_str(),
            None,
            Some(&reason),
            now,
        )? {
            return Err(AppError::invalid_state(format!(
                "an assignment that is {} cannot be declined",
                s.status
            )));
        }
        let p = crate::projects::repo::find(tx, &s.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        invite_next(tx, &p, s.round, now)?;
        let s = repo::find_seat(tx, &s.id)?.ok_or_else(|| AppError::not_found("assignment"))?;
        audit_seat(tx, actor, "panel.seat_declined", &s, &p, now)?;
        Ok(s)
    })
}

/// Records an accepted panel member's final sheet for a qualified bid.
pub fn score(
    conn: &mut DbConn,
    actor: &AuthUser,
    bid_id: &str,
    points: BTreeMap<String, Decimal>,
    comment: String,
    dissent: Option<String>,
    now: NaiveDateTime,
) -> Result<ScoreSheet, AppError> {
    write_tx(conn, |tx| {
        let bid = crate::bids::repo::find(tx, bid_id)?.ok_or_else(|| AppError::not_found("bid"))?;
        let p = crate::projects::repo::find(tx, &bid.project_id)?
            .ok_or_else(|| AppError::not_found("bid"))?;
        if !is_accepted_member(tx, actor, &p.id, bid.round)? || bid.round != p.round {
            return Err(AppError::not_found("bid"));
        }
        if !bid.is(BidStatus::Qualified) {
            return Err(AppError::invalid_state(format!(
                "a {} bid is not scored",
                bid.status
            )));
        }
        if !p.is(ProjectStatus::Evaluating) {
            return Err(AppError::invalid_state(format!(
                "the project is {}; scoring is closed",
                p.status
            )));
        }
        let spec = crate::projects::service::spec_of(&p)?;
        let mut errors = Vec::new();
        for c in &spec.evaluation.criteria {
            match points.get(&c.key) {
                None => errors.push(crate::error::FieldError::new(
                    format!("points.{}", c.key),
                    "is required",
                )),
                Some(v)
                    if *v < Decimal::ZERO || *v > Decimal::from(c.max_points) || v.scale() > 2 =>
                {
                    errors.push(crate::error::FieldError::new(
                        format!("points.{}", c.key),
                        format!("must be 0 to {} with at most two decimals", c.max_points),
                    ))
                }
                _ => {}
            }
        }
        for k in points.keys() {
            if !spec.evaluation.criteria.iter().any(|c| &c.key == k) {
                errors.push(crate::error::FieldError::new(
                    format!("points.{k}"),
                    "is not a criterion of this project",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        let expert = expert_of(tx, actor)?;
        let sheet = ScoreSheet {
            id: uuid::Uuid::now_v7().to_string(),
            project_id: p.id.clone(),
            round: bid.round,
            expert_id: expert.id.clone(),
            bid_id: bid.id.clone(),
            points: serde_json::to_string(
                &points
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            )
            .map_err(AppError::internal)?,
            comment,
            dissent,
            submitted_at: now,
        };
        repo::insert_sheet(tx, &sheet).map_err(AppError::unique_as(
            "score_final",
            "your sheet for this bid is submitted and final",
        ))?;
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "evaluation.sheet_submitted",
                entity: "project",
                entity_id: &p.id,
                district_id: Some(&p.district_id),
                summary: json!({"bid_id": bid.id, "expert_id": expert.id, "points": sheet.points}),
            },
            now,
        )?;
        Ok(sheet)
    })
}

/// The evaluation as the viewer may see it.
pub struct EvaluationView {
    pub complete: bool,
    pub sheets: Vec<ScoreSheet>,
    pub ranking: Option<Vec<Ranked>>,
}

/// A sheet's points; stored points that do not read back are an internal error.
pub fn points_of(s: &ScoreSheet) -> Result<BTreeMap<String, Decimal>, AppError> {
    crate::error::decode_json::<BTreeMap<String, String>>("score_sheets.points", &s.points)?
        .into_iter()
        .map(|(k, v)| match v.parse() {
            Ok(d) => Ok((k, d)),
            Err(e) => Err(crate::error::corrupt("score_sheets.points", e)),
        })
        .collect()
}

/// Whether the project has been awarded: from then on its panel and evaluation are public.
pub fn awarded(p: &Project) -> bool {
    matches!(p.status.as_str(), "awarded" | "contracted")
}

pub fn evaluation(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    project_id: &str,
    packs: &crate::domain::rules::RulePacks,
) -> Result<EvaluationView, AppError> {
    let p = crate::projects::service::get(conn, viewer, project_id)?;
    let round =
        crate::bids::service::last_closed_round(&p).ok_or_else(crate::bids::service::not_closed)?;
    let qualified: Vec<Bid> = crate::bids::repo::list_round(conn, &p.id, round)?
        .into_iter()
        .filter(|b| BidStatus::SCORED.iter().any(|s| b.is(*s)))
        .collect();
    let seats: Vec<Seat> = repo::seats(conn, &p.id, round)?
        .into_iter()
        .filter(|s| s.is(SeatStatus::Accepted))
        .collect();
    let size = repo::find_draw(conn, &p.id, round)?
        .map(|d| d.size as usize)
        .unwrap_or(usize::MAX);
    let all = repo::sheets(conn, &p.id, round)?;
    let done = |expert: &str| {
        qualified.iter().all(|b| {
            all.iter()
                .any(|s| s.expert_id == expert && s.bid_id == b.id)
        })
    };
    let complete = seats.len() >= size && seats.iter().all(|s| done(&s.expert_id));
    let is_bureau = viewer
        .is_some_and(|v| v.role == Role::Bureau && v.district_id() == Some(p.district_id.as_str()));
    let member = match viewer {
        Some(v) => is_accepted_member(conn, v, &p.id, round)?.then_some(v),
        None => None,
    };
    let sheets = if is_bureau || awarded(&p) {
        all.clone()
    } else if let Some(v) = member {
        let me = expert_of(conn, v)?;
        if done(&me.id) {
            all.clone()
        } else {
            all.iter()
                .filter(|s| s.expert_id == me.id)
                .cloned()
                .collect()
        }
    } else {
        return Err(AppError::not_found("evaluation"));
    };
    let ranking = if complete {
        let spec = crate::projects::service::spec_of(&p)?;
        let pack = crate::projects::service::pack_of(&p, packs, &spec)?;
        let offers: Vec<scoring::Offer> = qualified
            .iter()
            .map(|b| scoring::Offer {
                bid_id: b.id.clone(),
                organization_id: b.organization_id.clone(),
                price: crate::domain::Money::from_fen(b.price_fen.unwrap_or(0)).to_decimal(),
            })
            .collect();
        let sheets: Vec<scoring::Sheet> = all
            .iter()
            .map(|s| {
                Ok(scoring::Sheet {
                    expert_id: s.expert_id.clone(),
                    bid_id: s.bid_id.clone(),
                    points: points_of(s)?,
                })
            })
            .collect::<Result<_, AppError>>()?;
        Some(scoring::rank(
            &offers,
            &sheets,
            Decimal::from(spec.evaluation.price_points),
            pack.abnormally_low.share_of_mean,
        ))
    } else {
        None
    };
    Ok(EvaluationView {
        complete,
        sheets,
        ranking,
    })
}

/// The panel of the latest closed round, for the bureau and the panel's members.
pub fn panel(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    project_id: &str,
) -> Result<(PanelDraw, Vec<(Seat, String)>), AppError> {
    let p = crate::projects::service::get(conn, viewer, project_id)?;
    let round =
        crate::bids::service::last_closed_round(&p).ok_or_else(crate::bids::service::not_closed)?;
    let allowed = awarded(&p)
        || match viewer {
            Some(u) if u.role == Role::Bureau => u.district_id() == Some(p.district_id.as_str()),
            Some(u) if u.role == Role::Expert => {
                let e = crate::experts::repo::find_by_user(conn, &u.id)?;
                e.is_some_and(|e| {
                    repo::seats(conn, &p.id, round)
                        .unwrap_or_default()
                        .iter()
                        .any(|s| s.expert_id == e.id && !s.is(SeatStatus::Standby))
                })
            }
            _ => false,
        };
    if !allowed {
        return Err(AppError::not_found("panel"));
    }
    let d = repo::find_draw(conn, &p.id, round)?.ok_or_else(|| AppError::not_found("panel"))?;
    let mut out = Vec::new();
    for s in repo::seats(conn, &p.id, round)? {
        let name = crate::experts::repo::find(conn, &s.expert_id)?
            .map(|e| e.name)
            .unwrap_or_default();
        out.push((s, name));
    }
    Ok((d, out))
}
