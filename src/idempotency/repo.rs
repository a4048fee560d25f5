//! Diesel for stored idempotent responses.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::idempotency_keys;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
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

pub fn insert(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    hash: &str,
    status: i32,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::user_id.eq(user_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(hash),
            idempotency_keys::status_code.eq(status),
            idempotency_keys::body.eq(body),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}
