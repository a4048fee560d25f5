//! The scoped listing of needs (the guide list): a caller sees the needs in and under its own
//! region, optionally narrowed to a region it can see.

use super::*;
pub use crate::needs::repo::{NeedCursor, NeedSort};
use crate::needs::repo::{NeedFilter, RegionFilter};

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
) -> Result<Vec<Need>, AppError> {
    let mut scope = Vec::new();
    if actor.role != Role::Admin {
        let mine = actor.region.as_ref().ok_or_else(AppError::forbidden)?;
        scope.push(region_filter(mine.kind, &mine.id));
    }
    if let Some(rid) = query.region_id {
        // The caller's own region (the usual guide-list query) is already known.
        let own = actor.region.clone().filter(|mine| mine.id == rid);
        let path = match own {
            Some(path) => path,
            None => crate::regions::repo::find_path(conn, &rid)?
                .filter(|p| actor.can_see_region(p))
                .ok_or_else(|| AppError::not_found("region"))?,
        };
        scope.push(region_filter(path.kind, &path.id));
    }
    let filter = NeedFilter {
        scope,
        status: query.status,
        category: query.category,
        q: query.q,
    };
    Ok(repo::list(conn, &filter, sort, after, limit)?)
}
