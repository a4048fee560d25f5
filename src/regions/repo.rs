//! Diesel for regions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::{RegionKind, RegionPath};
use crate::db::schema::regions;
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = regions)]
pub struct Region {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub district_id: Option<String>,
    pub street_id: Option<String>,
    pub created_at: NaiveDateTime,
}

impl Region {
    pub fn path(&self) -> Option<RegionPath> {
        Some(RegionPath {
            id: self.id.clone(),
            kind: RegionKind::parse(&self.kind)?,
            district_id: self.district_id.clone(),
            street_id: self.street_id.clone(),
        })
    }
}

pub fn insert(conn: &mut DbConn, r: &Region) -> QueryResult<()> {
    diesel::insert_into(regions::table)
        .values(r)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Region>> {
    regions::table
        .find(id)
        .select(Region::as_select())
        .first(conn)
        .optional()
}

pub fn find_path(conn: &mut DbConn, id: &str) -> QueryResult<Option<RegionPath>> {
    Ok(find(conn, id)?.and_then(|r| r.path()))
}

pub fn list(
    conn: &mut DbConn,
    kind: Option<&str>,
    parent_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Region>> {
    let mut q = regions::table.into_boxed();
    if let Some(k) = kind {
        q = q.filter(regions::kind.eq(k));
    }
    if let Some(p) = parent_id {
        q = q.filter(regions::parent_id.eq(p));
    }
    if let Some(a) = after {
        q = q.filter(regions::id.gt(a));
    }
    q.order(regions::id.asc())
        .limit(limit)
        .select(Region::as_select())
        .load(conn)
}
