//! Diesel for the audit chain: the head row (locked on PostgreSQL so appends serialise), the
//! insert-only events table, listing and a streaming read for verification; and the sealed
//! events waiting for their round's opening.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{audit_events, audit_head, sealed_events};
use crate::db::{cached, DbConn};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub seq: i64,
    pub at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub district_id: Option<String>,
    pub summary: String,
    pub prev_hash: String,
    pub hash: String,
    pub project_id: Option<String>,
}

#[derive(Debug, Clone, QueryableByName)]
struct HeadRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
}

/// Reads the chain head, locking it until the transaction ends (SQLite holds the database
/// write lock already inside an immediate transaction).
pub fn lock_head(conn: &mut DbConn) -> QueryResult<(i64, String)> {
    let sql = match conn {
        DbConn::Pg(_) => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        DbConn::Sqlite(_) => "SELECT seq, hash FROM audit_head WHERE id = 1",
    };
    // Every audited write runs it: prepared once per connection (`db::cached`).
    let row: HeadRow = cached(diesel::sql_query(sql)).get_result(conn)?;
    Ok((row.seq, row.hash))
}

pub fn head(conn: &mut DbConn) -> QueryResult<(i64, String)> {
    audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)
}

/// Stores `rows` (numbered from `head_seq + 1`) and moves the head to the last of them, if the
/// head is still at `head_seq`.
pub fn insert_after(conn: &mut DbConn, head_seq: i64, rows: &[AuditRow]) -> QueryResult<()> {
    let Some(last) = rows.last() else {
        return Ok(());
    };
    // 10 binds a row: a grouped batch stays far below PostgreSQL's 65,535.
    crate::insert_rows!(conn, audit_events::table, rows)?;
    // Loaded (`RETURNING`) so that it stays prepared (`db::cached`).
    let moved: Vec<i64> = cached(
        diesel::update(
            audit_head::table
                .filter(audit_head::id.eq(1))
                .filter(audit_head::seq.eq(head_seq)),
        )
        .set((
            audit_head::seq.eq(last.seq),
            audit_head::hash.eq(&last.hash),
        ))
        .returning(audit_head::seq),
    )
    .load(conn)?;
    if moved.len() != 1 {
        return Err(diesel::result::Error::RollbackTransaction);
    }
    Ok(())
}

/// Events after `after_seq`, oldest first.
pub fn list_after(conn: &mut DbConn, after_seq: i64, limit: i64) -> QueryResult<Vec<AuditRow>> {
    audit_events::table
        .filter(audit_events::seq.gt(after_seq))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub district_id: Option<String>,
    pub project_id: Option<String>,
}

/// A page of events matching `f`, newest first, before `before_seq` when given.
pub fn list(
    conn: &mut DbConn,
    f: &AuditFilter,
    before_seq: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut q = audit_events::table.into_boxed();
    if let Some(e) = &f.entity {
        q = q.filter(audit_events::entity.eq(e));
    }
    if let Some(id) = &f.entity_id {
        q = q.filter(audit_events::entity_id.eq(id));
    }
    if let Some(p) = &f.project_id {
        q = q.filter(audit_events::project_id.eq(p));
    }
    if let Some(d) = &f.district_id {
        q = q.filter(audit_events::district_id.eq(d));
    }
    if let Some(b) = before_seq {
        q = q.filter(audit_events::seq.lt(b));
    }
    q.order(audit_events::seq.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)
}

/// A sealed bid's event, waiting for its round's opening (`audit::sealed`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sealed_events)]
pub struct SealedEvent {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    pub at: NaiveDateTime,
    pub sealed: String,
}

impl crate::db::BatchRow for SealedEvent {
    fn insert_all(conn: &mut DbConn, rows: &[SealedEvent]) -> QueryResult<()> {
        crate::insert_rows!(conn, sealed_events::table, rows)
    }
}

/// A round's sealed events in the order received (time, then the time-ordered id).
pub fn sealed_of_round(
    conn: &mut DbConn,
    project_id: &str,
    round: i32,
) -> QueryResult<Vec<SealedEvent>> {
    sealed_events::table
        .filter(sealed_events::project_id.eq(project_id))
        .filter(sealed_events::round.eq(round))
        .order((sealed_events::at.asc(), sealed_events::id.asc()))
        .select(SealedEvent::as_select())
        .load(conn)
}

/// Drops a round's sealed events once they are in the chain.
pub fn drop_sealed_of_round(conn: &mut DbConn, project_id: &str, round: i32) -> QueryResult<usize> {
    diesel::delete(
        sealed_events::table
            .filter(sealed_events::project_id.eq(project_id))
            .filter(sealed_events::round.eq(round)),
    )
    .execute(conn)
}
