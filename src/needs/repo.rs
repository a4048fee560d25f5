//! Diesel for needs: inserts, guarded status moves, and the keyset listings.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Text};

use super::model::{Need, NeedStatus};
use crate::db::schema::needs;
use crate::db::{escape_like, DbConn};

type Backend = <DbConn as Connection>::Backend;

pub fn insert(conn: &mut DbConn, n: &Need) -> QueryResult<()> {
    diesel::insert_into(needs::table)
        .values(n)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Need>> {
    needs::table
        .find(id)
        .select(Need::as_select())
        .first(conn)
        .optional()
}

/// Moves a need from `from` to `to` (with a reason), if it is still at `from` and `version`.
pub fn transition(
    conn: &mut DbConn,
    id: &str,
    from: NeedStatus,
    version: i64,
    to: NeedStatus,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        needs::table
            .filter(needs::id.eq(id))
            .filter(needs::status.eq(from))
            .filter(needs::version.eq(version)),
    )
    .set((
        needs::status.eq(to),
        needs::status_reason.eq(reason),
        needs::version.eq(version + 1),
        needs::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn set_merged(
    conn: &mut DbConn,
    id: &str,
    version: i64,
    into: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        needs::table
            .filter(needs::id.eq(id))
            .filter(needs::version.eq(version)),
    )
    .set((needs::merged_into.eq(into), needs::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn add_supporters(
    conn: &mut DbConn,
    id: &str,
    count: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(needs::table.filter(needs::id.eq(id)))
        .set((
            needs::supporters.eq(needs::supporters + count),
            needs::version.eq(needs::version + 1),
            needs::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The fields a community may correct when resubmitting.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = needs)]
pub struct NeedEdits {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub external_ref: Option<Option<String>>,
    pub beneficiary_group: Option<String>,
    pub beneficiaries: Option<i64>,
    pub urgency: Option<String>,
    pub urgency_rank: Option<i32>,
}

pub fn edit(conn: &mut DbConn, id: &str, edits: &NeedEdits, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(needs::table.filter(needs::id.eq(id)))
        .set((edits, needs::updated_at.eq(now)))
        .execute(conn)
        .map(|_| ())
}

pub fn set_project(
    conn: &mut DbConn,
    id: &str,
    project_id: Option<&str>,
    status: NeedStatus,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(needs::table.filter(needs::id.eq(id)))
        .set((
            needs::project_id.eq(project_id),
            needs::status.eq(status),
            needs::version.eq(needs::version + 1),
            needs::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Which column a region filter applies to.
#[derive(Debug, Clone)]
pub enum RegionFilter {
    District(String),
    Street(String),
    Community(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedSort {
    /// Supporters, then urgency, then newest: the guide list.
    Supporters,
    /// Newest first.
    Newest,
}

/// Where a page starts.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum NeedCursor {
    Supporters(i64, i32, String),
    Newest(String),
}

#[derive(Debug, Clone, Default)]
pub struct NeedFilter {
    pub scope: Vec<RegionFilter>,
    pub status: Option<NeedStatus>,
    pub category: Option<String>,
    pub q: Option<String>,
}

/// The filtered, ordered listing query, without a select clause.
fn listing(
    f: &NeedFilter,
    sort: NeedSort,
    after: Option<&NeedCursor>,
    limit: i64,
    pg: bool,
) -> needs::BoxedQuery<'static, Backend> {
    let mut q = needs::table.into_boxed();
    for r in &f.scope {
        q = match r {
            RegionFilter::District(id) => q.filter(needs::district_id.eq(id.clone())),
            RegionFilter::Street(id) => q.filter(needs::street_id.eq(id.clone())),
            RegionFilter::Community(id) => q.filter(needs::community_id.eq(id.clone())),
        };
    }
    if let Some(s) = &f.status {
        q = q.filter(needs::status.eq(*s));
    }
    if let Some(c) = &f.category {
        q = q.filter(needs::category.eq(c.clone()));
    }
    if let Some(text) = &f.q {
        // PostgreSQL: ILIKE over the trigram-indexed expression; SQLite: LIKE (ASCII case-insensitive).
        let op = if pg { "ILIKE" } else { "LIKE" };
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            sql::<Bool>(&format!("(needs.title || ' ' || needs.description) {op} "))
                .bind::<Text, _>(pattern)
                .sql(" ESCAPE '\\'"),
        );
    }
    match (sort, after) {
        (NeedSort::Supporters, Some(NeedCursor::Supporters(s, u, id))) => {
            // A row-value comparison, so both backends seek in the guide index instead of
            // scanning from the top (the cost of page N stays the cost of page 1).
            q = q.filter(
                sql::<Bool>("(needs.supporters, needs.urgency_rank, needs.id) < (")
                    .bind::<BigInt, _>(*s)
                    .sql(", ")
                    .bind::<Integer, _>(*u)
                    .sql(", ")
                    .bind::<Text, _>(id.clone())
                    .sql(")"),
            );
        }
        (NeedSort::Newest, Some(NeedCursor::Newest(id))) => q = q.filter(needs::id.lt(id.clone())),
        _ => {}
    }
    q = match sort {
        NeedSort::Supporters => q.order((
            needs::supporters.desc(),
            needs::urgency_rank.desc(),
            needs::id.desc(),
        )),
        NeedSort::Newest => q.order(needs::id.desc()),
    };
    q.limit(limit)
}

/// A page of needs in `sort` order after `after`.
pub fn list(
    conn: &mut DbConn,
    f: &NeedFilter,
    sort: NeedSort,
    after: Option<&NeedCursor>,
    limit: i64,
) -> QueryResult<Vec<Need>> {
    let pg = matches!(conn, DbConn::Pg(_));
    listing(f, sort, after, limit, pg)
        .select(Need::as_select())
        .load(conn)
}

/// The same page as [`list`], its keys only: id, version and the guide list's sort keys;
/// enough to tell whether every document of the page is already rendered, and to make the
/// next cursor.
pub fn list_keys(
    conn: &mut DbConn,
    f: &NeedFilter,
    sort: NeedSort,
    after: Option<&NeedCursor>,
    limit: i64,
) -> QueryResult<Vec<NeedKey>> {
    let pg = matches!(conn, DbConn::Pg(_));
    listing(f, sort, after, limit, pg)
        .select((
            needs::id,
            needs::version,
            needs::supporters,
            needs::urgency_rank,
        ))
        .load(conn)
}

/// A need's id, version, supporters and urgency rank.
pub type NeedKey = (String, i64, i64, i32);
