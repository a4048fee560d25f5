//! Diesel for the audit chain: the head row (locked on PostgreSQL so appends serialise), the
//! insert-only events table, listing and a streaming read for verification; and the sealed
//! events waiting for their round's opening.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{audit_events, audit_head, sealed_events};
use crate::db::{cached, DbConn};
use crate::open_data::repo::ReleaseRow;

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

/// Stores `rows` (numbered from `head_seq + 1`) with their open-data `releases`, and moves
/// the head to the last of them, if the head is still at `head_seq`.
///
/// On PostgreSQL that is one statement, prepared once per connection: the events and the
/// releases go in as arrays (`unnest`), so the SQL text is the same for any number of rows, and
/// the head moves in the same round trip. The head row is locked from [`lock_head`] to the
/// commit, and every audited write of every lane waits for it, so each round trip saved there
/// is saved for all of them (`scripts/bench-release postgres`).
pub fn insert_after(
    conn: &mut DbConn,
    head_seq: i64,
    rows: &[AuditRow],
    releases: &[ReleaseRow],
) -> QueryResult<()> {
    let Some(last) = rows.last() else {
        return Ok(());
    };
    let moved: Vec<i64> = match conn {
        // Arrays are PostgreSQL's alone: bound on its own connection.
        DbConn::Pg(pg) => {
            use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
            #[derive(QueryableByName)]
            struct Moved {
                #[diesel(sql_type = BigInt)]
                seq: i64,
            }
            let col = |f: fn(&AuditRow) -> &str| -> Vec<&str> { rows.iter().map(f).collect() };
            let opt = |f: fn(&AuditRow) -> Option<&str>| -> Vec<Option<&str>> {
                rows.iter().map(f).collect()
            };
            let moved: Vec<Moved> = cached(
                diesel::sql_query(
                    "WITH events AS (INSERT INTO audit_events (seq, at, actor_id, action, entity, \
                     entity_id, district_id, summary, prev_hash, hash, project_id) \
                     SELECT * FROM unnest($1::bigint[], $2::timestamp[], $3::text[], $4::text[], \
                     $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                     $11::text[])), \
                     releases AS (INSERT INTO ocds_releases (seq, project_id, date, tag, body) \
                     SELECT * FROM unnest($12::bigint[], $13::text[], $14::timestamp[], \
                     $15::text[], $16::text[])) \
                     UPDATE audit_head SET seq = $17, hash = $18 WHERE id = 1 AND seq = $19 \
                     RETURNING seq",
                )
                .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
                .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.at).collect::<Vec<_>>())
                .bind::<Array<Nullable<Text>>, _>(opt(|r| r.actor_id.as_deref()))
                .bind::<Array<Text>, _>(col(|r| &r.action))
                .bind::<Array<Text>, _>(col(|r| &r.entity))
                .bind::<Array<Text>, _>(col(|r| &r.entity_id))
                .bind::<Array<Nullable<Text>>, _>(opt(|r| r.district_id.as_deref()))
                .bind::<Array<Text>, _>(col(|r| &r.summary))
                .bind::<Array<Text>, _>(col(|r| &r.prev_hash))
                .bind::<Array<Text>, _>(col(|r| &r.hash))
                .bind::<Array<Nullable<Text>>, _>(opt(|r| r.project_id.as_deref()))
                .bind::<Array<BigInt>, _>(releases.iter().map(|r| r.seq).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(releases.iter().map(|r| &r.project_id).collect::<Vec<_>>())
                .bind::<Array<Timestamp>, _>(releases.iter().map(|r| r.date).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(releases.iter().map(|r| &r.tag).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(releases.iter().map(|r| &r.body).collect::<Vec<_>>())
                .bind::<BigInt, _>(last.seq)
                .bind::<Text, _>(&last.hash)
                .bind::<BigInt, _>(head_seq),
            )
            .load(pg)?;
            moved.into_iter().map(|m| m.seq).collect()
        }
        DbConn::Sqlite(_) => {
            crate::insert_rows!(&mut *conn, audit_events::table, rows)?;
            crate::open_data::repo::insert(conn, releases)?;
            diesel::update(
                audit_head::table
                    .filter(audit_head::id.eq(1))
                    .filter(audit_head::seq.eq(head_seq)),
            )
            .set((
                audit_head::seq.eq(last.seq),
                audit_head::hash.eq(&last.hash),
            ))
            .returning(audit_head::seq)
            .load(conn)?
        }
    };
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
