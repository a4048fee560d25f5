//! Diesel for stored idempotent responses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::idempotency_keys;
use crate::db::{DbConn, Tx};

/// A stored response (read, and written by [`insert`]).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct Row {
    pub user_id: String,
    pub key: String,
    pub request_hash: String,
    pub status_code: i32,
    pub body: String,
    pub created_at: NaiveDateTime,
}

pub fn find(conn: &mut DbConn, user_id: &str, key: &str) -> QueryResult<Option<Row>> {
    idempotency_keys::table
        .filter(idempotency_keys::user_id.eq(user_id))
        .filter(idempotency_keys::key.eq(key))
        .select(Row::as_select())
        .first(conn)
        .optional()
}

/// Stores a response; in a grouped batch on PostgreSQL with the batch's others (the same key
/// twice then fails the batch's flat run, see `db::group`).
pub fn insert(tx: &mut Tx<'_>, row: Row) -> QueryResult<()> {
    crate::db::insert_batched(tx, row)
}

impl crate::db::BatchRow for Row {
    fn insert_all(conn: &mut DbConn, rows: &[Row]) -> QueryResult<()> {
        crate::insert_rows!(conn, idempotency_keys::table, rows)
    }

    fn join(rows: &[Row], into: &mut crate::db::ArrayInsert) -> bool {
        use diesel::sql_types::{Integer, Text, Timestamp};
        let col = |f: fn(&Row) -> &String| rows.iter().map(f).cloned().collect();
        into.table("idempotency_keys", rows.len())
            .column::<Text, String>("user_id", "text", col(|r| &r.user_id))
            .column::<Text, String>("key", "text", col(|r| &r.key))
            .column::<Text, String>("request_hash", "text", col(|r| &r.request_hash))
            .column::<Integer, i32>(
                "status_code",
                "integer",
                rows.iter().map(|r| r.status_code).collect(),
            )
            .column::<Text, String>("body", "text", col(|r| &r.body))
            .column::<Timestamp, NaiveDateTime>(
                "created_at",
                "timestamp",
                rows.iter().map(|r| r.created_at).collect(),
            )
            .done();
        true
    }
}
