//! An expert's seats: the assignments list, accepting with a no-conflict declaration, declining.

use super::*;

pub(super) fn own_seat(
    conn: &mut DbConn,
    actor: &AuthUser,
    seat_id: &str,
) -> Result<Seat, AppError> {
    let e = crate::experts::repo::find_by_user(conn, &actor.id)?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    repo::find_seat(conn, seat_id)?
        .filter(|s| s.expert_id == e.id && !s.is(SeatStatus::Standby))
        .ok_or_else(|| AppError::not_found("assignment"))
}

/// The refusal when a guarded seat move touched no row: the seat moved meanwhile (an expiry,
/// a redraw), refused from where it is now.
fn moved_meanwhile(conn: &mut DbConn, s: &Seat, action: SeatAction) -> AppError {
    match repo::find_seat(conn, &s.id) {
        Ok(now) => now.map_or(s.status, |n| n.status).refuse(action),
        Err(e) => e.into(),
    }
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

/// Accepting, with the declaration of no conflict, is what opens the bids to the expert.
pub fn accept(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    seat_id: &str,
    now: NaiveDateTime,
) -> Result<Seat, AppError> {
    write_tx(conn, |tx| {
        let s = own_seat(tx, actor, seat_id)?;
        let to = s.status.step(SeatAction::Accept)?;
        if !repo::move_seat(tx, &s.id, s.status, to, Some("no_conflict"), None, now)? {
            return Err(moved_meanwhile(tx, &s, SeatAction::Accept));
        }
        let p = crate::projects::repo::find(tx, &s.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        let s = repo::find_seat(tx, &s.id)?.ok_or_else(|| AppError::not_found("assignment"))?;
        audit_seat(tx, actor, "panel.seat_accepted", &s, &p, now)?;
        Ok(s)
    })
}

/// Declining invites the next alternate; with none left the bureau is told.
pub fn decline(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    seat_id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<Seat, AppError> {
    write_tx(conn, |tx| {
        let s = own_seat(tx, actor, seat_id)?;
        let to = s.status.step(SeatAction::Decline)?;
        if !repo::move_seat(tx, &s.id, s.status, to, None, Some(&reason), now)? {
            return Err(moved_meanwhile(tx, &s, SeatAction::Decline));
        }
        let p = crate::projects::repo::find(tx, &s.project_id)?
            .ok_or_else(|| AppError::not_found("project"))?;
        invite_next(tx, &p, s.round, now)?;
        let s = repo::find_seat(tx, &s.id)?.ok_or_else(|| AppError::not_found("assignment"))?;
        audit_seat(tx, actor, "panel.seat_declined", &s, &p, now)?;
        Ok(s)
    })
}

/// What an expert's assignment shows beside its seat.
pub struct SeatTerms {
    pub project_title: String,
    /// The round of the project the seat is for.
    pub round: i32,
    /// While invited: the pack's `response_hours` after the invitation.
    pub respond_by: Option<NaiveDateTime>,
    /// The seat's status, or `completed` once the expert's sheets are all in.
    pub status: &'static str,
}

/// The assignment status of a seat at `status` whose expert has (`done`) or has not submitted
/// every sheet it owes.
fn assignment_status(status: SeatStatus, done: bool) -> &'static str {
    if status == SeatStatus::Accepted && done {
        "completed"
    } else {
        status.as_str()
    }
}

/// The terms of a seat of `project_id` at `status`, invited at `invited_at`.
pub fn seat_terms(
    conn: &mut DbConn,
    packs: &crate::domain::rules::RulePacks,
    project_id: &str,
    status: SeatStatus,
    invited_at: Option<NaiveDateTime>,
    round: i32,
    done: bool,
) -> Result<SeatTerms, AppError> {
    let p = crate::projects::repo::find(conn, project_id)?
        .ok_or_else(|| AppError::not_found("project"))?;
    let spec = crate::projects::service::spec_of(&p)?;
    let hours = crate::projects::service::pack_of(&p, packs, &spec)?
        .panel
        .response_hours;
    Ok(SeatTerms {
        project_title: p.title,
        round,
        respond_by: invited_at
            .filter(|_| status == SeatStatus::Invited)
            .map(|at| at + chrono::Duration::hours(hours as i64)),
        status: assignment_status(status, done),
    })
}

/// The terms of an evaluation seat.
pub fn terms_of_seat(
    conn: &mut DbConn,
    s: &Seat,
    packs: &crate::domain::rules::RulePacks,
) -> Result<SeatTerms, AppError> {
    let done = s.is(SeatStatus::Accepted) && sheets_all_in(conn, s)?;
    seat_terms(
        conn,
        packs,
        &s.project_id,
        s.status,
        s.invited_at,
        s.round,
        done,
    )
}

/// Whether the seat's expert has a sheet for every scored bid of the seat's round.
pub fn sheets_all_in(conn: &mut DbConn, s: &Seat) -> Result<bool, AppError> {
    let bids: Vec<String> = crate::bids::repo::list_round(conn, &s.project_id, s.round)?
        .into_iter()
        .filter(|b| BidStatus::SCORED.iter().any(|st| b.is(*st)))
        .map(|b| b.id)
        .collect();
    if bids.is_empty() {
        return Ok(false);
    }
    let mine: std::collections::BTreeSet<String> = repo::sheets(conn, &s.project_id, s.round)?
        .into_iter()
        .filter(|x| x.expert_id == s.expert_id)
        .map(|x| x.bid_id)
        .collect();
    Ok(bids.iter().all(|b| mine.contains(b)))
}
