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
}
