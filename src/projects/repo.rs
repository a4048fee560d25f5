//! Diesel for projects, their needs and amendments.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::model::{Amendment, Project, ProjectStatus};
use crate::db::schema::{project_amendments, project_needs, projects};
use crate::db::{escape_like, DbConn};

pub fn insert(conn: &mut DbConn, p: &Project) -> QueryResult<()> {
    diesel::insert_into(projects::table)
        .values(p)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Project>> {
    projects::table
        .find(id)
        .select(Project::as_select())
        .first(conn)
        .optional()
}

/// Writes `p` over the stored row if the stored row is still at `version`.
pub fn save(conn: &mut DbConn, p: &Project, version: i64) -> QueryResult<bool> {
    let n = diesel::update(
        projects::table
            .filter(projects::id.eq(&p.id))
            .filter(projects::version.eq(version)),
    )
    .set((
        projects::district_id.eq(&p.district_id),
        projects::street_id.eq(&p.street_id),
        projects::region_id.eq(&p.region_id),
        projects::title.eq(&p.title),
        projects::category.eq(&p.category),
        projects::method.eq(&p.method),
        projects::fund_id.eq(&p.fund_id),
        projects::budget_ceiling_fen.eq(p.budget_ceiling_fen),
        projects::bid_close_at.eq(p.bid_close_at),
        projects::spec.eq(&p.spec),
        projects::rule_pack.eq(&p.rule_pack),
        projects::warnings.eq(&p.warnings),
        projects::status.eq(p.status),
        projects::round.eq(p.round),
        projects::seed_sealed.eq(&p.seed_sealed),
        projects::seed_commitment.eq(&p.seed_commitment),
        projects::seed.eq(&p.seed),
        projects::status_reason.eq(&p.status_reason),
        projects::version.eq(version + 1),
        projects::updated_at.eq(p.updated_at),
        projects::published_at.eq(p.published_at),
        projects::closed_at.eq(p.closed_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn need_ids(conn: &mut DbConn, project_id: &str) -> QueryResult<Vec<String>> {
    project_needs::table
        .filter(project_needs::project_id.eq(project_id))
        .order(project_needs::need_id.asc())
        .select(project_needs::need_id)
        .load(conn)
}

pub fn set_needs(conn: &mut DbConn, project_id: &str, ids: &[String]) -> QueryResult<()> {
    diesel::delete(project_needs::table.filter(project_needs::project_id.eq(project_id)))
        .execute(conn)?;
    for id in ids {
        diesel::insert_into(project_needs::table)
            .values((
                project_needs::project_id.eq(project_id),
                project_needs::need_id.eq(id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_amendment(conn: &mut DbConn, a: &Amendment) -> QueryResult<()> {
    diesel::insert_into(project_amendments::table)
        .values(a)
        .execute(conn)
        .map(|_| ())
}

pub fn amendments(conn: &mut DbConn, project_id: &str) -> QueryResult<Vec<Amendment>> {
    project_amendments::table
        .filter(project_amendments::project_id.eq(project_id))
        .order(project_amendments::at.asc())
        .select(Amendment::as_select())
        .load(conn)
}

#[derive(Debug, Clone)]
pub enum RegionFilter {
    District(String),
    Street(String),
    Region(String),
}

#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    pub status: Option<ProjectStatus>,
    pub category: Option<String>,
    pub method: Option<String>,
    pub region: Option<RegionFilter>,
    pub q: Option<String>,
    pub budget_min: Option<i64>,
    pub budget_max: Option<i64>,
    pub closes_after: Option<NaiveDateTime>,
    pub closes_before: Option<NaiveDateTime>,
    /// Drafts are shown only for this district (`None`: no drafts), unless `all_drafts`.
    pub drafts_of: Option<String>,
    pub all_drafts: bool,
}

type Backend = <DbConn as Connection>::Backend;

/// The filtered, keyset-ordered listing query (newest id first), without a select clause.
fn filtered(
    f: &ProjectFilter,
    before_id: Option<&str>,
    pg: bool,
) -> projects::BoxedQuery<'static, Backend> {
    let mut q = projects::table.into_boxed();
    if let Some(s) = f.status {
        q = q.filter(projects::status.eq(s));
    }
    // Drafts are hidden from whoever may not see them. An explicit non-draft status already
    // excludes them, and repeating it as `status <> 'draft'` misleads PostgreSQL's planner.
    let only_published = f.status.is_some_and(|s| s != ProjectStatus::Draft);
    if !f.all_drafts && !only_published {
        q = match &f.drafts_of {
            Some(d) => q.filter(
                projects::status
                    .ne(ProjectStatus::Draft)
                    .or(projects::district_id.eq(d.clone())),
            ),
            None => q.filter(projects::status.ne(ProjectStatus::Draft)),
        };
    }
    if let Some(c) = &f.category {
        q = q.filter(projects::category.eq(c.clone()));
    }
    if let Some(m) = &f.method {
        q = q.filter(projects::method.eq(m.clone()));
    }
    q = match &f.region {
        Some(RegionFilter::District(id)) => q.filter(projects::district_id.eq(id.clone())),
        Some(RegionFilter::Street(id)) => q.filter(
            projects::street_id
                .eq(id.clone())
                .or(projects::region_id.eq(id.clone())),
        ),
        Some(RegionFilter::Region(id)) => q.filter(projects::region_id.eq(id.clone())),
        None => q,
    };
    if let Some(text) = &f.q {
        let op = if pg { "ILIKE" } else { "LIKE" };
        q = q.filter(
            sql::<Bool>(&format!("projects.title {op} "))
                .bind::<Text, _>(format!("%{}%", escape_like(text)))
                .sql(" ESCAPE '\\'"),
        );
    }
    if let Some(v) = f.budget_min {
        q = q.filter(projects::budget_ceiling_fen.ge(v));
    }
    if let Some(v) = f.budget_max {
        q = q.filter(projects::budget_ceiling_fen.le(v));
    }
    if let Some(t) = f.closes_after {
        q = q.filter(projects::bid_close_at.gt(t));
    }
    if let Some(t) = f.closes_before {
        q = q.filter(projects::bid_close_at.lt(t));
    }
    if let Some(b) = before_id {
        q = q.filter(projects::id.lt(b.to_owned()));
    }
    q.order(projects::id.desc())
}

pub fn list(
    conn: &mut DbConn,
    f: &ProjectFilter,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Project>> {
    let pg = matches!(conn, DbConn::Pg(_));
    filtered(f, before_id, pg)
        .limit(limit)
        .select(Project::as_select())
        .load(conn)
}

/// The same listing as [`list`], ids and versions only: enough to tell whether every
/// document of the page is already rendered.
pub fn list_versions(
    conn: &mut DbConn,
    f: &ProjectFilter,
    before_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(String, i64)>> {
    let pg = matches!(conn, DbConn::Pg(_));
    filtered(f, before_id, pg)
        .limit(limit)
        .select((projects::id, projects::version))
        .load(conn)
}

/// Open projects whose bidding has closed by `now` (for the close job).
pub fn due_to_close(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Project>> {
    projects::table
        .filter(projects::status.eq(ProjectStatus::Open))
        .filter(projects::bid_close_at.le(now))
        .order(projects::bid_close_at.asc())
        .limit(limit)
        .select(Project::as_select())
        .load(conn)
}

/// Claims a project for a state move: bumps its version if it is still at `version` and
/// `from`. On PostgreSQL the row stays locked until the transaction ends, so a second
/// runner waits, then finds the version moved and touches nothing.
pub fn claim(conn: &mut DbConn, id: &str, version: i64, from: ProjectStatus) -> QueryResult<bool> {
    let n = diesel::update(
        projects::table
            .filter(projects::id.eq(id))
            .filter(projects::version.eq(version))
            .filter(projects::status.eq(from)),
    )
    .set(projects::version.eq(version + 1))
    .execute(conn)?;
    Ok(n == 1)
}

/// The project, locked `FOR SHARE` until the transaction ends on PostgreSQL, so a concurrent
/// status change (the close) is ordered with this transaction.
pub fn find_for_share(conn: &mut DbConn, id: &str) -> QueryResult<Option<Project>> {
    match conn {
        DbConn::Pg(pg) => projects::table
            .find(id)
            .select(Project::as_select())
            .for_share()
            .first(pg)
            .optional(),
        DbConn::Sqlite(_) => find(conn, id),
    }
}
