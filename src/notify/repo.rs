//! Diesel for the outbox: idempotent inserts, claiming due rows, and recording outcomes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::OutboxStatus;
use super::Mail;
use crate::crypto::Sealer;
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
    /// The mail (recipient, subject, body) is sealed in `body` until sent, then emptied.
    pub sealed: bool,
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
    pub sealed: bool,
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
            sealed: false,
        }
    }

    /// A pending mail whose recipient, subject and body are sealed under its id (opened only by
    /// the sender).
    pub fn sealed(sealer: &Sealer, dedupe_key: &str, mail: &Mail, now: NaiveDateTime) -> NewMail {
        let mut row = NewMail::pending(dedupe_key, &Mail::default(), now);
        let plain = serde_json::to_vec(mail).expect("a mail serializes");
        row.body = sealer.seal(&sealed_context(&row.id), &plain);
        row.sealed = true;
        row
    }
}

fn sealed_context(id: &str) -> String {
    format!("mail:{id}")
}

impl OutboxRow {
    /// The row with its mail opened, for the sender.
    pub fn opened(&self, sealer: &Sealer) -> anyhow::Result<OutboxRow> {
        let mut row = self.clone();
        if self.sealed {
            let plain = sealer.open(&sealed_context(&self.id), &self.body)?;
            let mail: Mail = serde_json::from_slice(&plain)?;
            row.recipient = mail.to;
            row.subject = mail.subject;
            row.body = mail.body;
        }
        Ok(row)
    }

    /// What may be stored of a delivery error: a sealed mail's error may name its recipient,
    /// so it is sealed too.
    pub fn error_to_store(&self, sealer: &Sealer, error: &str) -> String {
        if self.sealed {
            sealer.seal(&format!("mail-error:{}", self.id), error.as_bytes())
        } else {
            error.to_owned()
        }
    }
}

/// Inserts the rows whose `dedupe_key` is new; how many.
pub fn insert_new(conn: &mut DbConn, rows: &[NewMail]) -> QueryResult<usize> {
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

    /// As [`insert_new`]: a mail whose `dedupe_key` is stored already is skipped.
    fn join(rows: &[NewMail], into: &mut crate::db::ArrayInsert) -> bool {
        use diesel::sql_types::{Bool, Integer, Text, Timestamp};
        let col = |f: fn(&NewMail) -> &String| rows.iter().map(f).cloned().collect();
        let at = |f: fn(&NewMail) -> NaiveDateTime| rows.iter().map(f).collect();
        into.table("outbox", rows.len())
            .column::<Text, String>("id", "text", col(|r| &r.id))
            .column::<Text, String>("dedupe_key", "text", col(|r| &r.dedupe_key))
            .column::<Text, String>("recipient", "text", col(|r| &r.recipient))
            .column::<Text, String>("subject", "text", col(|r| &r.subject))
            .column::<Text, String>("body", "text", col(|r| &r.body))
            .column::<Text, &'static str>(
                "status",
                "text",
                rows.iter().map(|r| r.status.as_str()).collect(),
            )
            .column::<Integer, i32>(
                "attempts",
                "integer",
                rows.iter().map(|r| r.attempts).collect(),
            )
            .column::<Timestamp, NaiveDateTime>(
                "next_attempt_at",
                "timestamp",
                at(|r| r.next_attempt_at),
            )
            .column::<Timestamp, NaiveDateTime>("created_at", "timestamp", at(|r| r.created_at))
            .column::<Bool, bool>("sealed", "boolean", rows.iter().map(|r| r.sealed).collect())
            .on_conflict_do_nothing("dedupe_key")
            .done();
        true
    }
}

/// Pending rows, sealed or not, that are due and not claimed by a live sender.
pub fn due(
    conn: &mut DbConn,
    now: NaiveDateTime,
    sealed: bool,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .filter(outbox::sealed.eq(sealed))
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

/// Records a delivered mail, from `from` to `to`; a sealed mail's subject and body are emptied
/// (its recipient was never in clear).
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
    diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::sealed.eq(true)),
    )
    .set((outbox::subject.eq(""), outbox::body.eq("")))
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
