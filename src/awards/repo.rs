//! Diesel for awards and objections.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::bids::model::BidStatus;
use crate::db::schema::{awards, bids, objections};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = awards)]
pub struct Award {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    pub bid_id: String,
    pub organization_id: String,
    pub amount_fen: i64,
    pub justification: Option<String>,
    pub objection_deadline: NaiveDateTime,
    pub status: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub finalized_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = objections)]
pub struct Objection {
    pub id: String,
    pub award_id: String,
    pub organization_id: String,
    pub grounds: String,
    pub status: String,
    pub reply: Option<String>,
    pub filed_by: String,
    pub created_at: NaiveDateTime,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, a: &Award) -> QueryResult<()> {
    diesel::insert_into(awards::table)
        .values(a)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Award>> {
    awards::table
        .find(id)
        .select(Award::as_select())
        .first(conn)
        .optional()
}

pub fn set_status(
    conn: &mut DbConn,
    id: &str,
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let finalized = (to == "final").then_some(now);
    let n = diesel::update(
        awards::table
            .filter(awards::id.eq(id))
            .filter(awards::status.eq(from)),
    )
    .set((awards::status.eq(to), awards::finalized_at.eq(finalized)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Awards still in their objection window whose deadline has passed.
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<Award>> {
    awards::table
        .filter(awards::status.eq("pending_objections"))
        .filter(awards::objection_deadline.lt(now))
        .order(awards::objection_deadline.asc())
        .limit(limit)
        .select(Award::as_select())
        .load(conn)
}

pub fn insert_objection(conn: &mut DbConn, o: &Objection) -> QueryResult<()> {
    diesel::insert_into(objections::table)
        .values(o)
        .execute(conn)
        .map(|_| ())
}

pub fn find_objection(conn: &mut DbConn, id: &str) -> QueryResult<Option<Objection>> {
    objections::table
        .find(id)
        .select(Objection::as_select())
        .first(conn)
        .optional()
}

pub fn objections_of(conn: &mut DbConn, award_id: &str) -> QueryResult<Vec<Objection>> {
    objections::table
        .filter(objections::award_id.eq(award_id))
        .order(objections::created_at.asc())
        .select(Objection::as_select())
        .load(conn)
}

pub fn resolve(
    conn: &mut DbConn,
    id: &str,
    outcome: &str,
    reply: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        objections::table
            .filter(objections::id.eq(id))
            .filter(objections::status.eq("open")),
    )
    .set((
        objections::status.eq(outcome),
        objections::reply.eq(reply),
        objections::resolved_by.eq(by),
        objections::resolved_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Sets the verdict of a round's scored bids: the winner `awarded`, other qualified `lost`;
/// `None` puts them all back to `qualified` (a revoked award).
pub fn settle_bids(
    conn: &mut DbConn,
    project_id: &str,
    round: i32,
    winner: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let scored = BidStatus::SCORED.map(BidStatus::as_str);
    let round_bids = bids::table
        .filter(bids::project_id.eq(project_id))
        .filter(bids::round.eq(round))
        .filter(bids::status.eq_any(scored));
    match winner {
        Some(w) => {
            diesel::update(round_bids.filter(bids::id.eq(w)))
                .set((
                    bids::status.eq(BidStatus::Awarded.as_str()),
                    bids::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::update(
                bids::table
                    .filter(bids::project_id.eq(project_id))
                    .filter(bids::round.eq(round))
                    .filter(bids::status.eq_any(scored))
                    .filter(bids::id.ne(w)),
            )
            .set((
                bids::status.eq(BidStatus::Lost.as_str()),
                bids::updated_at.eq(now),
            ))
            .execute(conn)?;
        }
        None => {
            diesel::update(round_bids)
                .set((
                    bids::status.eq(BidStatus::Qualified.as_str()),
                    bids::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}
