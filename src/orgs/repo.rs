//! Diesel for organizations.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::model::OrgStatus;
use crate::db::schema::organizations;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub uscc: String,
    pub org_type: String,
    pub registered_on: NaiveDate,
    pub rating: Option<String>,
    pub rating_awarded_on: Option<NaiveDate>,
    pub social_workers: i32,
    pub district_id: String,
    pub contact_email: String,
    pub status: OrgStatus,
    pub status_reason: Option<String>,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConn, o: &Organization) -> QueryResult<()> {
    diesel::insert_into(organizations::table)
        .values(o)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Organization>> {
    organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)
        .optional()
}

pub fn transition(
    conn: &mut DbConn,
    id: &str,
    from: OrgStatus,
    to: OrgStatus,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        organizations::table
            .filter(organizations::id.eq(id))
            .filter(organizations::status.eq(from)),
    )
    .set((
        organizations::status.eq(to),
        organizations::status_reason.eq(reason),
        organizations::version.eq(organizations::version + 1),
        organizations::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

#[derive(Debug, Clone, Default)]
pub struct OrgFilter {
    /// Only these statuses (`None`: any).
    pub statuses: Option<Vec<OrgStatus>>,
    pub district_id: Option<String>,
    pub q: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    f: &OrgFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Organization>> {
    let mut q = organizations::table.into_boxed();
    if let Some(s) = &f.statuses {
        q = q.filter(organizations::status.eq_any(s.clone()));
    }
    if let Some(d) = &f.district_id {
        q = q.filter(organizations::district_id.eq(d.clone()));
    }
    if let Some(text) = &f.q {
        let pattern = format!("%{}%", crate::db::escape_like(text));
        q = q.filter(
            organizations::name
                .like(pattern.clone())
                .escape('\\')
                .or(organizations::uscc
                    .like(pattern.to_uppercase())
                    .escape('\\')),
        );
    }
    if let Some(a) = after {
        q = q.filter(organizations::id.gt(a.to_owned()));
    }
    q.order(organizations::id.asc())
        .limit(limit)
        .select(Organization::as_select())
        .load(conn)
}
