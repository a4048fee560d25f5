//! Drawing the panel at close, inviting alternates when a seat falls empty, expiring unanswered invitations, and the audited redraw.

use super::*;

/// The project's status reason while its panel is short of experts.
pub const PANEL_SHORTFALL: &str =
    "panel_shortfall: too few eligible experts; add experts and redraw";

/// Draws the panel of a project whose round just closed (inside the close transaction).
/// Returns false on a shortfall: too few eligible experts, the bureau mailed, no panel.
pub fn draw_panel(
    conn: &mut Tx<'_>,
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
        if let Some(o) = crate::orgs::repo::find(conn, b.organization())? {
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
                DrawStatus::Drawn
            } else {
                DrawStatus::Shortfall
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
                    SeatStatus::Invited
                } else {
                    SeatStatus::Standby
                },
                invited_at: member.then_some(now),
                declaration: None,
                decline_reason: None,
                responded_at: None,
                created_at: now,
            },
        )?;
        if member {
            mail_expert(conn, id, p, SeatStatus::Invited.as_str(), now)?;
        }
    }
    crate::projects::service::audit_project(
        conn,
        None,
        "panel.drawn",
        p,
        json!({"round": p.round, "members": d.members, "alternates": d.alternates, "receipts_root": root, "eligible": eligible.len()}),
        now,
    )?;
    Ok(true)
}

/// Invites the first alternate on standby; with none left the bureau is told.
pub(super) fn invite_next(
    conn: &mut Tx<'_>,
    p: &Project,
    round: i32,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    match repo::seats(conn, &p.id, round)?
        .into_iter()
        .find(|x| x.is(SeatStatus::Standby))
    {
        Some(alt) => {
            let to = alt.status.step(SeatAction::Invite)?;
            repo::invite(conn, &alt.id, alt.status, to, now)?;
            mail_expert(conn, &alt.expert_id, p, to.as_str(), now)
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
    conn: &mut Tx<'_>,
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
            // A seat answered meanwhile no longer expires: skipped, not refused.
            let Some(to) = s.status.next(SeatAction::Expire) else {
                return Ok(false);
            };
            if !due
                || !repo::move_seat(
                    tx,
                    &s.id,
                    s.status,
                    to,
                    None,
                    Some("no answer in time"),
                    now,
                )?
            {
                return Ok(false);
            }
            invite_next(tx, &p, s.round, now)?;
            crate::projects::service::audit_project(
                tx,
                None,
                "panel.seat_expired",
                &p,
                json!({"seat_id": s.id, "expert_id": s.expert_id, "round": s.round, "hours": pack.panel.response_hours}),
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
    conn: &mut Tx<'_>,
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
        p.status.step(ProjectAction::Redraw)?;
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
            Some(PANEL_SHORTFALL.into())
        };
        p.updated_at = now;
        let version = p.version;
        if !crate::projects::repo::save(tx, &p, version)? {
            return Err(AppError::concurrent_update("project"));
        }
        crate::projects::service::audit_project(
            tx,
            Some(&actor.id),
            "panel.redrawn",
            &p,
            json!({"reason": reason, "before": before.map(|d| json!({"status": d.status, "eligible": serde_json::from_str::<serde_json::Value>(&d.eligible_ids).unwrap_or(serde_json::Value::String(d.eligible_ids))})), "drawn": drawn}),
            now,
        )?;
        Ok(drawn)
    })
}
