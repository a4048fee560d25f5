//! Creating regions (a district has no parent, a street's parent is a district, a
//! community's a street; names are unique among siblings) and listing them.

use chrono::NaiveDateTime;
use serde_json::json;

use super::repo;
pub use super::repo::Region;
use crate::audit::{self, Event};
use crate::auth::{AuthUser, RegionKind};
use crate::db::{write_tx, DbConn, Tx};
use crate::error::AppError;

pub struct CreateRegion {
    pub name: String,
    pub kind: RegionKind,
    pub parent_id: Option<String>,
}

/// A page of regions, by id after `after`, optionally of one kind or under one parent.
pub fn list_regions(
    conn: &mut DbConn,
    kind: Option<RegionKind>,
    parent_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Region>, AppError> {
    Ok(repo::list(
        conn,
        kind.map(|k| k.as_str()),
        parent_id,
        after,
        limit,
    )?)
}

pub fn create_region(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    cmd: CreateRegion,
    now: NaiveDateTime,
) -> Result<Region, AppError> {
    write_tx(conn, |tx| {
        let parent = match &cmd.parent_id {
            Some(id) => Some(
                repo::find(tx, id)?
                    .ok_or_else(|| AppError::field("parent_id", "no such region"))?,
            ),
            None => None,
        };
        let wanted = match cmd.kind {
            RegionKind::District => None,
            RegionKind::Street => Some(RegionKind::District),
            RegionKind::Community => Some(RegionKind::Street),
        };
        let (district_id, street_id) = match (wanted, &parent) {
            (None, None) => (None, None),
            (None, Some(_)) => {
                return Err(AppError::field("parent_id", "a district has no parent"))
            }
            (Some(k), None) => {
                return Err(AppError::field(
                    "parent_id",
                    format!("a {} needs a parent {}", cmd.kind.as_str(), k.as_str()),
                ))
            }
            (Some(k), Some(p)) if p.kind != k.as_str() => {
                return Err(AppError::field(
                    "parent_id",
                    format!(
                        "a {}'s parent must be a {}, not a {}",
                        cmd.kind.as_str(),
                        k.as_str(),
                        p.kind
                    ),
                ))
            }
            (Some(RegionKind::District), Some(p)) => (Some(p.id.clone()), None),
            (Some(_), Some(p)) => (p.district_id.clone(), Some(p.id.clone())),
        };
        let region = Region {
            id: uuid::Uuid::now_v7().to_string(),
            name: cmd.name.clone(),
            kind: cmd.kind.as_str().to_owned(),
            parent_id: parent.map(|p| p.id),
            district_id,
            street_id,
            created_at: now,
        };
        repo::insert(tx, &region).map_err(AppError::unique_as(
            "region_exists",
            "a region of this name exists under the same parent",
        ))?;
        let district = region
            .district_id
            .clone()
            .unwrap_or_else(|| region.id.clone());
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "region.created",
                entity: "region",
                entity_id: &region.id,
                district_id: Some(&district),
                project_id: None,
                summary: json!({"after": {"name": region.name, "kind": region.kind, "parent_id": region.parent_id}}),
            },
            now,
        )?;
        Ok(region)
    })
}
