//! Diesel for panel draws, seats and score sheets.

use chrono::NaiveDateTime;
use diesel::prelude::*;

pub use super::model::{DrawStatus, SeatStatus};
use crate::db::schema::{panel_draws, panel_seats, score_sheets};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = panel_draws)]
pub struct PanelDraw {
    pub project_id: String,
    pub round: i32,
    pub status: DrawStatus,
    pub size: i32,
    pub eligible_ids: String,
    pub receipts: String,
    pub receipts_root: String,
    pub drawn_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = panel_seats)]
pub struct Seat {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    pub expert_id: String,
    pub position: i32,
    pub status: SeatStatus,
    pub invited_at: Option<NaiveDateTime>,
    pub declaration: Option<String>,
    pub decline_reason: Option<String>,
    pub responded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Seat {
    pub fn is(&self, status: SeatStatus) -> bool {
        self.status == status
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = score_sheets)]
pub struct ScoreSheet {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    pub expert_id: String,
    pub bid_id: String,
    pub points: String,
    pub comment: String,
    pub dissent: Option<String>,
    pub submitted_at: NaiveDateTime,
}

pub fn insert_draw(conn: &mut DbConn, d: &PanelDraw) -> QueryResult<()> {
    diesel::insert_into(panel_draws::table)
        .values(d)
        .execute(conn)
        .map(|_| ())
}

pub fn find_draw(
    conn: &mut DbConn,
    project_id: &str,
    round: i32,
) -> QueryResult<Option<PanelDraw>> {
    panel_draws::table
        .filter(panel_draws::project_id.eq(project_id))
        .filter(panel_draws::round.eq(round))
        .select(PanelDraw::as_select())
        .first(conn)
        .optional()
}

pub fn insert_seat(conn: &mut DbConn, s: &Seat) -> QueryResult<()> {
    diesel::insert_into(panel_seats::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

pub fn seats(conn: &mut DbConn, project_id: &str, round: i32) -> QueryResult<Vec<Seat>> {
    panel_seats::table
        .filter(panel_seats::project_id.eq(project_id))
        .filter(panel_seats::round.eq(round))
        .order(panel_seats::position.asc())
        .select(Seat::as_select())
        .load(conn)
}

pub fn find_seat(conn: &mut DbConn, id: &str) -> QueryResult<Option<Seat>> {
    panel_seats::table
        .find(id)
        .select(Seat::as_select())
        .first(conn)
        .optional()
}

pub fn seats_of_expert(
    conn: &mut DbConn,
    expert_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Seat>> {
    let mut q = panel_seats::table
        .filter(panel_seats::expert_id.eq(expert_id))
        .filter(panel_seats::status.ne(SeatStatus::Standby))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(panel_seats::id.gt(a.to_owned()));
    }
    q.order(panel_seats::id.asc())
        .limit(limit)
        .select(Seat::as_select())
        .load(conn)
}

/// Moves a seat from `from` to `to`; false when it is no longer at `from`.
pub fn move_seat(
    conn: &mut DbConn,
    id: &str,
    from: SeatStatus,
    to: SeatStatus,
    declaration: Option<&str>,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        panel_seats::table
            .filter(panel_seats::id.eq(id))
            .filter(panel_seats::status.eq(from)),
    )
    .set((
        panel_seats::status.eq(to),
        panel_seats::declaration.eq(declaration),
        panel_seats::decline_reason.eq(reason),
        panel_seats::responded_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn insert_sheet(conn: &mut DbConn, s: &ScoreSheet) -> QueryResult<()> {
    diesel::insert_into(score_sheets::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

pub fn sheets(conn: &mut DbConn, project_id: &str, round: i32) -> QueryResult<Vec<ScoreSheet>> {
    score_sheets::table
        .filter(score_sheets::project_id.eq(project_id))
        .filter(score_sheets::round.eq(round))
        .order(score_sheets::id.asc())
        .select(ScoreSheet::as_select())
        .load(conn)
}

/// Invites a seat from `from` to `to` (an alternate moving up); false when it is no longer at
/// `from`.
pub fn invite(
    conn: &mut DbConn,
    id: &str,
    from: SeatStatus,
    to: SeatStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        panel_seats::table
            .filter(panel_seats::id.eq(id))
            .filter(panel_seats::status.eq(from)),
    )
    .set((panel_seats::status.eq(to), panel_seats::invited_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Invitations left unanswered since before `cutoff`.
pub fn stale_invitations(
    conn: &mut DbConn,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Seat>> {
    panel_seats::table
        .filter(panel_seats::status.eq(SeatStatus::Invited))
        .filter(panel_seats::invited_at.lt(cutoff))
        .order(panel_seats::invited_at.asc())
        .limit(limit)
        .select(Seat::as_select())
        .load(conn)
}

/// Removes a round's seats and draw before a redraw (only while no sheet exists).
pub fn clear_round(conn: &mut DbConn, project_id: &str, round: i32) -> QueryResult<()> {
    diesel::delete(
        panel_seats::table
            .filter(panel_seats::project_id.eq(project_id))
            .filter(panel_seats::round.eq(round)),
    )
    .execute(conn)?;
    diesel::delete(
        panel_draws::table
            .filter(panel_draws::project_id.eq(project_id))
            .filter(panel_draws::round.eq(round)),
    )
    .execute(conn)?;
    Ok(())
}
