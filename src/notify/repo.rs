//! Diesel for the outbox: idempotent inserts, claiming due rows, and recording outcomes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::OutboxStatus;
use super::Mail;
use crate::db::schema::outbox;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: String,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// A mail to put in the outbox.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewMail {
    pub id: String,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl NewMail {
    pub fn pending(dedupe_key: &str, mail: &Mail, now: NaiveDateTime) -> NewMail {
        NewMail {
            id: uuid::Uuid::now_v7().to_string(),
            dedupe_key: dedupe_key.to_owned(),
            recipient: mail.to.clone(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
            status: OutboxStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        }
    }
}

/// Inserts the rows whose `dedupe_key` is new; how many.
fn insert_new(conn: &mut DbConn, rows: &[NewMail]) -> QueryResult<usize> {
    match conn {
        DbConn::Pg(c) => diesel::insert_into(outbox::table)
            .values(rows)
            .on_conflict(outbox::dedupe_key)
            .do_nothing()
            .execute(c),
        DbConn::Sqlite(c) => {
            let mut n = 0;
            for row in rows {
                n += diesel::insert_or_ignore_into(outbox::table)
                    .values(row)
                    .execute(c)?;
            }
            Ok(n)
        }
    }
}

impl crate::db::BatchRow for NewMail {
    fn insert_all(conn: &mut DbConn, rows: &[NewMail]) -> QueryResult<()> {
        insert_new(conn, rows).map(|_| ())
    }
}

/// Pending rows that are due and not claimed by a live sender.
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .filter(outbox::next_attempt_at.le(now))
        .filter(
            outbox::locked_until
                .is_null()
                .or(outbox::locked_until.lt(now)),
        )
        .order(outbox::next_attempt_at.asc())
        .limit(limit)
        .select(OutboxRow::as_select())
        .load(conn)
}

/// Claims a due row for one sender until `until`; false when another sender has it, or it is
/// no longer pending and due.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq(OutboxStatus::Pending))
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::locked_until
                    .is_null()
                    .or(outbox::locked_until.lt(now)),
            ),
    )
    .set(outbox::locked_until.eq(until))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a delivered mail, from `from` to `to`.
pub fn mark_sent(
    conn: &mut DbConn,
    id: &str,
    from: OutboxStatus,
    to: OutboxStatus,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq(from)),
    )
    .set((
        outbox::status.eq(to),
        outbox::sent_at.eq(now),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// Records a failed attempt, from `from` to `to`: pending again at `retry_at`, or dead when
/// the attempts ran out.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &str,
    error: &str,
    retry_at: NaiveDateTime,
    from: OutboxStatus,
    to: OutboxStatus,
) -> QueryResult<()> {
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::status.eq(from)),
    )
    .set((
        outbox::status.eq(to),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::next_attempt_at.eq(retry_at),
        outbox::last_error.eq(error),
        outbox::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .filter(outbox::id.eq(id))
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_by_recipient(conn: &mut DbConn, recipient: &str) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::recipient.eq(recipient))
        .order(outbox::id.asc())
        .select(OutboxRow::as_select())
        .load(conn)
}
