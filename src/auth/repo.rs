//! Diesel for refresh tokens (stored as SHA-256 hashes, grouped in rotation families).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::refresh_tokens;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConn, t: &RefreshToken) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(t)
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<RefreshToken>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()
}

/// Marks a live token used; false when it was used or revoked meanwhile.
pub fn mark_used(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(id))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

pub fn revoke_user(conn: &mut DbConn, user_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
}

/// Whether the session (refresh-token family) `family_id` is still signed in: some token of
/// it is not revoked. Rotation keeps one live token per family; logout and reuse revoke all.
pub fn session_alive(conn: &mut DbConn, family_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    ))
    .get_result(conn)
}
