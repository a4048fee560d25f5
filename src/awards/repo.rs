//! Diesel for awards and objections.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{AwardStatus, ObjectionStatus};
use crate::db::schema::{awards, objections, projects};
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
    pub status: AwardStatus,
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
    pub status: ObjectionStatus,
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

/// Inserts many awards (a bulk seed), a statement per thousand on PostgreSQL.
pub fn insert_many(conn: &mut DbConn, a: &[Award]) -> QueryResult<()> {
    for chunk in a.chunks(1000) {
        crate::insert_rows!(&mut *conn, awards::table, chunk)?;
    }
    Ok(())
}

/// The highest round any award of the project names, revoked or not.
pub fn max_round(conn: &mut DbConn, project_id: &str) -> QueryResult<Option<i32>> {
    awards::table
        .filter(awards::project_id.eq(project_id))
        .select(diesel::dsl::max(awards::round))
        .get_result(conn)
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Award>> {
    awards::table
        .find(id)
        .select(Award::as_select())
        .first(conn)
        .optional()
}

/// Moves an award from `from` to `to` (a final one records when); false when it is no longer
/// at `from`.
pub fn set_status(
    conn: &mut DbConn,
    id: &str,
    from: AwardStatus,
    to: AwardStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let finalized = (to == AwardStatus::Final).then_some(now);
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
        .filter(awards::status.eq(AwardStatus::PendingObjections))
        .filter(awards::objection_deadline.lt(now))
        .order(awards::objection_deadline.asc())
        .limit(limit)
        .select(Award::as_select())
        .load(conn)
}

/// The project's latest award (the highest round, then the newest).
pub fn latest_of_project(conn: &mut DbConn, project_id: &str) -> QueryResult<Option<Award>> {
    awards::table
        .filter(awards::project_id.eq(project_id))
        .order((
            awards::round.desc(),
            awards::created_at.desc(),
            awards::id.desc(),
        ))
        .select(Award::as_select())
        .first(conn)
        .optional()
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

/// Answers an objection, from `from` to `to`; false when it is no longer at `from`.
#[allow(clippy::too_many_arguments)]
pub fn resolve(
    conn: &mut DbConn,
    id: &str,
    from: ObjectionStatus,
    to: ObjectionStatus,
    reply: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        objections::table
            .filter(objections::id.eq(id))
            .filter(objections::status.eq(from)),
    )
    .set((
        objections::status.eq(to),
        objections::reply.eq(reply),
        objections::resolved_by.eq(by),
        objections::resolved_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Which objections a listing reads (every field optional; `district_id` and
/// `organization_id` narrow it to a caller's scope).
#[derive(Debug, Default, Clone)]
pub struct ObjectionFilter {
    pub district_id: Option<String>,
    pub organization_id: Option<String>,
    pub project_id: Option<String>,
    pub award_id: Option<String>,
    pub status: Option<ObjectionStatus>,
}

/// Objections in id order after `after`.
pub fn list_objections(
    conn: &mut DbConn,
    f: &ObjectionFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Objection>> {
    let mut q = objections::table.into_boxed();
    if let Some(d) = &f.district_id {
        q = q.filter(
            objections::award_id.eq_any(
                awards::table
                    .filter(
                        awards::project_id.eq_any(
                            projects::table
                                .filter(projects::district_id.eq(d.clone()))
                                .select(projects::id),
                        ),
                    )
                    .select(awards::id),
            ),
        );
    }
    if let Some(p) = &f.project_id {
        q = q.filter(
            objections::award_id.eq_any(
                awards::table
                    .filter(awards::project_id.eq(p.clone()))
                    .select(awards::id),
            ),
        );
    }
    if let Some(o) = &f.organization_id {
        q = q.filter(objections::organization_id.eq(o.clone()));
    }
    if let Some(a) = &f.award_id {
        q = q.filter(objections::award_id.eq(a.clone()));
    }
    if let Some(s) = f.status {
        q = q.filter(objections::status.eq(s));
    }
    if let Some(a) = after {
        q = q.filter(objections::id.gt(a.to_owned()));
    }
    q.order(objections::id.asc())
        .limit(limit)
        .select(Objection::as_select())
        .load(conn)
}
