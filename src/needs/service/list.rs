//! The scoped listing of needs (the guide list): a caller sees the needs in and under its own
//! region, optionally narrowed to a region it can see.

use std::sync::Arc;

use serde_json::value::RawValue;

use super::*;
use crate::http::rendered::Rendered;
pub use crate::needs::repo::{NeedCursor, NeedKey, NeedSort};
use crate::needs::repo::{NeedFilter, RegionFilter};

/// A listing page as read: documents already rendered, with each need's key, or rows to render.
///
/// A need's document depends on its row alone, and every committed change to a need bumps
/// its version (a resubmission's edit and a merge ride on the status move of the same
/// transaction), so a document rendered for `(id, version)` stays true.
pub enum ListedNeeds {
    Rendered(Vec<(NeedKey, Arc<RawValue>)>),
    Rows(Vec<Need>),
}

/// A listing request, parsed: every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct NeedQuery {
    pub status: Option<NeedStatus>,
    pub category: Option<String>,
    /// A district, street or community: needs in it and under it.
    pub region_id: Option<String>,
    /// Substring of title or description, trimmed, not empty.
    pub q: Option<String>,
}

fn region_filter(kind: RegionKind, id: &str) -> RegionFilter {
    match kind {
        RegionKind::District => RegionFilter::District(id.to_owned()),
        RegionKind::Street => RegionFilter::Street(id.to_owned()),
        RegionKind::Community => RegionFilter::Community(id.to_owned()),
    }
}

/// A page of the needs in `actor`'s scope (an admin's: all), in `sort` order after `after`.
/// 403 for staff without a region; 404 for a `region_id` the caller cannot see.
pub fn list(
    conn: &mut DbConn,
    actor: &AuthUser,
    query: NeedQuery,
    sort: NeedSort,
    after: Option<&NeedCursor>,
    limit: i64,
    rendered: &Rendered,
) -> Result<ListedNeeds, AppError> {
    let mut scope = Vec::new();
    if actor.role != Role::Admin {
        let mine = actor.region.as_ref().ok_or_else(AppError::forbidden)?;
        scope.push(region_filter(mine.kind, &mine.id));
    }
    if let Some(rid) = query.region_id {
        // The caller's own region (the usual guide-list query) is the scope already (an admin
        // has none).
        let own = actor.region.as_ref().is_some_and(|mine| mine.id == rid);
        if !own {
            let path = crate::regions::repo::find_path(conn, &rid)?
                .filter(|p| actor.can_see_region(p))
                .ok_or_else(|| AppError::not_found("region"))?;
            scope.push(region_filter(path.kind, &path.id));
        }
    }
    let filter = NeedFilter {
        scope,
        status: query.status,
        category: query.category,
        q: query.q,
    };
    let keys = repo::list_keys(conn, &filter, sort, after, limit)?;
    Ok(match rendered.all(keys, |k| (k.0.as_str(), k.1)) {
        Some(docs) => ListedNeeds::Rendered(docs),
        None => ListedNeeds::Rows(repo::list(conn, &filter, sort, after, limit)?),
    })
}
