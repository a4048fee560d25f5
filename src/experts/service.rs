//! Expert use cases: create (admin), read and list with their relationships, declare
//! relationships (admin or the expert), and the eligibility of the pool for a panel (实施条例 art 9).

use chrono::{Months, NaiveDate, NaiveDateTime};
use serde_json::json;

use super::repo;
pub use super::repo::{Expert, Relationship};
use crate::audit::{self, Event};
use crate::auth::{AuthUser, RegionKind, Role};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::spec::Category;
use crate::domain::uscc::Uscc;
use crate::error::AppError;
use crate::users::service::CreateUser;

/// Relationships this recent exclude an expert (政府采购法实施条例 art 9: three years).
pub const CONFLICT_YEARS: u32 = 3;

pub struct NewExpert {
    pub account: CreateUser,
    pub title: String,
    pub specialties: Vec<Category>,
    pub region_id: Option<String>,
    pub bureau_district_id: Option<String>,
}

/// The expert's specialties; a stored list that does not read back is an internal error.
pub fn specialties(e: &Expert) -> Result<Vec<Category>, AppError> {
    crate::error::decode_json::<Vec<String>>("experts.specialties", &e.specialties)?
        .iter()
        .map(|s| {
            Category::parse(s).ok_or_else(|| {
                crate::error::corrupt("experts.specialties", format!("unknown category {s:?}"))
            })
        })
        .collect()
}

/// Creates an expert and its account, whose password the caller hashed (on the hashing pool:
/// argon2 must not hold the write lock).
pub fn create(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    cmd: NewExpert,
    password_hash: String,
    now: NaiveDateTime,
) -> Result<Expert, AppError> {
    write_tx(conn, |tx| {
        if let Some(d) = &cmd.bureau_district_id {
            crate::regions::repo::find_path(tx, d)?
                .filter(|p| p.kind == RegionKind::District)
                .ok_or_else(|| AppError::field("bureau_district_id", "no such district"))?;
        }
        let mut account = cmd.account.clone();
        account.region_id = cmd.region_id.clone();
        let user = crate::users::service::create_user_hashed(
            tx,
            Some(actor),
            account,
            password_hash.clone(),
            now,
        )?;
        let e = Expert {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user.id,
            name: user.name,
            title: cmd.title.clone(),
            specialties: serde_json::to_string(
                &cmd.specialties
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>(),
            )
            .map_err(AppError::internal)?,
            region_id: user.region_id,
            bureau_district_id: cmd.bureau_district_id.clone(),
            created_at: now,
        };
        repo::insert(tx, &e)?;
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "expert.created",
                entity: "expert",
                entity_id: &e.id,
                district_id: None,
                project_id: None,
                summary: json!({"after": {"name": e.name, "title": e.title, "specialties": cmd.specialties}}),
            },
            now,
        )?;
        Ok(e)
    })
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Expert, AppError> {
    repo::find(conn, id)?.ok_or_else(|| AppError::not_found("expert"))
}

/// The expert with the relationships it declared.
pub fn get_with_relationships(
    conn: &mut DbConn,
    id: &str,
) -> Result<(Expert, Vec<Relationship>), AppError> {
    let e = get(conn, id)?;
    let r = repo::relationships(conn, &e.id)?;
    Ok((e, r))
}

/// A page of the pool (by id, after `after`), each expert with its relationships.
pub fn list(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(Expert, Vec<Relationship>)>, AppError> {
    let mut out = Vec::new();
    for e in repo::list(conn, after, limit)? {
        let rels = repo::relationships(conn, &e.id)?;
        out.push((e, rels));
    }
    Ok(out)
}

pub struct NewRelationship {
    pub uscc: Uscc,
    pub kind: String,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
}

/// An admin, or the expert itself, declares a relationship.
pub fn add_relationship(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    expert_id: &str,
    r: NewRelationship,
    now: NaiveDateTime,
) -> Result<Relationship, AppError> {
    write_tx(conn, |tx| {
        let e = get(tx, expert_id)?;
        if actor.role != Role::Admin && actor.id != e.user_id {
            return Err(AppError::not_found("expert"));
        }
        let rel = Relationship {
            id: uuid::Uuid::now_v7().to_string(),
            expert_id: e.id.clone(),
            organization_uscc: r.uscc.as_str().to_owned(),
            kind: r.kind.clone(),
            since: r.since,
            until: r.until,
            created_by: actor.id.clone(),
            created_at: now,
        };
        repo::insert_relationship(tx, &rel)?;
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "expert.relationship_declared",
                entity: "expert",
                entity_id: &e.id,
                district_id: None,
                project_id: None,
                summary: json!({"after": {"organization_uscc": rel.organization_uscc, "kind": rel.kind, "since": rel.since, "until": rel.until}}),
            },
            now,
        )?;
        Ok(rel)
    })
}

/// Whether a relationship links its expert to the organization within the three years up to `on`.
pub fn recent(r: &Relationship, on: NaiveDate) -> bool {
    let window_start = on
        .checked_sub_months(Months::new(CONFLICT_YEARS * 12))
        .unwrap_or(on);
    r.since <= on && r.until.is_none_or(|u| u >= window_start)
}

/// The experts who may sit on a panel for a project of `category` in `district_id` whose
/// bidders have these credit codes, on `on`, sorted by id.
pub fn eligible(
    conn: &mut DbConn,
    category: Category,
    district_id: &str,
    bidder_usccs: &[String],
    on: NaiveDate,
) -> Result<Vec<String>, AppError> {
    let conflicted: std::collections::BTreeSet<String> =
        repo::relationships_with(conn, bidder_usccs)?
            .into_iter()
            .filter(|r| recent(r, on))
            .map(|r| r.expert_id)
            .collect();
    let mut ids: Vec<String> = repo::all(conn)?
        .into_iter()
        .map(|e| Ok((specialties(&e)?.contains(&category), e)))
        .collect::<Result<Vec<_>, AppError>>()?
        .into_iter()
        .filter_map(|(specialist, e)| specialist.then_some(e))
        .filter(|e| e.bureau_district_id.as_deref() != Some(district_id))
        .filter(|e| !conflicted.contains(&e.id))
        .filter(|e| {
            crate::users::repo::find(conn, &e.user_id)
                .ok()
                .flatten()
                .is_some_and(|u| u.active)
        })
        .map(|e| e.id)
        .collect();
    ids.sort();
    Ok(ids)
}
