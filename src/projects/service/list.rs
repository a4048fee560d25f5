//! Reading projects beyond one: the public listing (drafts only for whoever may see them) and
//! a project's amendments.

use std::sync::Arc;

use serde_json::value::RawValue;

use super::*;
use crate::http::rendered::Rendered;
use crate::projects::repo::{ProjectFilter, RegionFilter};

/// A listing request, parsed: every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct ProjectQuery {
    pub status: Option<ProjectStatus>,
    pub category: Option<String>,
    pub method: Option<String>,
    /// A district, street or community: projects in it and under it.
    pub region_id: Option<String>,
    /// Substring of the title, trimmed, not empty.
    pub q: Option<String>,
    /// Budget ceiling bounds in fen, inclusive.
    pub budget_min: Option<i64>,
    pub budget_max: Option<i64>,
    /// Bidding closes strictly after / before.
    pub closes_after: Option<chrono::NaiveDateTime>,
    pub closes_before: Option<chrono::NaiveDateTime>,
}

/// A listing page as read: documents already rendered, or rows to render.
pub enum Listed {
    Rendered(Vec<((String, i64), Arc<RawValue>)>),
    Rows(Vec<Project>),
}

/// Projects newest first, drafts only those [`drafts_visible_to`] the viewer. When every
/// project of the page is in `rendered` at its current version, only ids and versions are read.
pub fn list(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    query: ProjectQuery,
    rendered: &Rendered,
    before_id: Option<&str>,
    limit: i64,
) -> Result<Listed, AppError> {
    let drafts = drafts_visible_to(viewer);
    let mut filter = ProjectFilter {
        status: query.status,
        category: query.category,
        method: query.method,
        region: None,
        q: query.q,
        budget_min: query.budget_min,
        budget_max: query.budget_max,
        closes_after: query.closes_after,
        closes_before: query.closes_before,
        drafts_of: match &drafts {
            Drafts::Of(d) => Some(d.clone()),
            Drafts::None | Drafts::All => None,
        },
        all_drafts: drafts == Drafts::All,
    };
    if let Some(rid) = query.region_id {
        let path = crate::regions::repo::find_path(conn, &rid)?
            .ok_or_else(|| AppError::field("region_id", "no such region"))?;
        filter.region = Some(match path.kind {
            RegionKind::District => RegionFilter::District(path.id),
            RegionKind::Street => RegionFilter::Street(path.id),
            RegionKind::Community => RegionFilter::Region(path.id),
        });
    }
    let versions = repo::list_versions(conn, &filter, before_id, limit)?;
    Ok(match rendered.all(versions, |(id, v)| (id.as_str(), *v)) {
        Some(docs) => Listed::Rendered(docs),
        None => Listed::Rows(repo::list(conn, &filter, before_id, limit)?),
    })
}

/// The amendments of a project the viewer may see, oldest first.
pub fn amendments(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    id: &str,
) -> Result<Vec<Amendment>, AppError> {
    get(conn, viewer, id)?;
    Ok(repo::amendments(conn, id)?)
}
