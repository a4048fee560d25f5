//! Diesel for the release feed: insert-only rows numbered by their audit event.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::ocds_releases;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ocds_releases)]
pub struct ReleaseRow {
    pub seq: i64,
    pub project_id: String,
    pub date: NaiveDateTime,
    pub tag: String,
    pub body: String,
}

pub fn insert(conn: &mut DbConn, rows: &[ReleaseRow]) -> QueryResult<()> {
    // 5 binds a row: a grouped batch stays far below PostgreSQL's 65,535.
    for chunk in rows.chunks(1000) {
        crate::insert_rows!(&mut *conn, ocds_releases::table, chunk)?;
    }
    Ok(())
}

/// Up to `limit` releases after `after` (by sequence), dated `since` or later.
pub fn page(
    conn: &mut DbConn,
    after: i64,
    since: Option<NaiveDateTime>,
    limit: i64,
) -> QueryResult<Vec<ReleaseRow>> {
    let mut q = ocds_releases::table
        .filter(ocds_releases::seq.gt(after))
        .into_boxed();
    if let Some(s) = since {
        q = q.filter(ocds_releases::date.ge(s));
    }
    q.order(ocds_releases::seq.asc())
        .limit(limit)
        .select(ReleaseRow::as_select())
        .load(conn)
}

/// Every release of a project, in order.
pub fn of_project(conn: &mut DbConn, project_id: &str) -> QueryResult<Vec<ReleaseRow>> {
    ocds_releases::table
        .filter(ocds_releases::project_id.eq(project_id))
        .order(ocds_releases::seq.asc())
        .select(ReleaseRow::as_select())
        .load(conn)
}
