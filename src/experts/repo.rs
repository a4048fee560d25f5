//! Diesel for experts and their relationships.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{expert_relationships, experts};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = experts)]
pub struct Expert {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub title: String,
    pub specialties: String,
    pub region_id: Option<String>,
    pub bureau_district_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = expert_relationships)]
pub struct Relationship {
    pub id: String,
    pub expert_id: String,
    pub organization_uscc: String,
    pub kind: String,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, e: &Expert) -> QueryResult<()> {
    diesel::insert_into(experts::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Expert>> {
    experts::table
        .find(id)
        .select(Expert::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_user(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<Expert>> {
    experts::table
        .filter(experts::user_id.eq(user_id))
        .select(Expert::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConn, after: Option<&str>, limit: i64) -> QueryResult<Vec<Expert>> {
    let mut q = experts::table.into_boxed();
    if let Some(a) = after {
        q = q.filter(experts::id.gt(a.to_owned()));
    }
    q.order(experts::id.asc())
        .limit(limit)
        .select(Expert::as_select())
        .load(conn)
}

/// Every expert, for the draw (the pool is small: hundreds, not millions).
pub fn all(conn: &mut DbConn) -> QueryResult<Vec<Expert>> {
    experts::table
        .order(experts::id.asc())
        .select(Expert::as_select())
        .load(conn)
}

pub fn insert_relationship(conn: &mut DbConn, r: &Relationship) -> QueryResult<()> {
    diesel::insert_into(expert_relationships::table)
        .values(r)
        .execute(conn)
        .map(|_| ())
}

pub fn relationships(conn: &mut DbConn, expert_id: &str) -> QueryResult<Vec<Relationship>> {
    expert_relationships::table
        .filter(expert_relationships::expert_id.eq(expert_id))
        .order(expert_relationships::since.asc())
        .select(Relationship::as_select())
        .load(conn)
}

/// Relationships with any of these organizations.
pub fn relationships_with(conn: &mut DbConn, usccs: &[String]) -> QueryResult<Vec<Relationship>> {
    expert_relationships::table
        .filter(expert_relationships::organization_uscc.eq_any(usccs))
        .select(Relationship::as_select())
        .load(conn)
}
