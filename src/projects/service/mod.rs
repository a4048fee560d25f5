//! Project use cases: draft, edit, publish (reserve the budget, commit the seed, link the
//! needs), amend in the open, cancel (return the budget, release the needs), read and list
//! (who sees drafts is decided here, once).

use chrono::{Duration, NaiveDateTime};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::model::{Amendment, Project, ProjectAction, ProjectStatus};
use super::repo;
use crate::audit::{self, Event};
use crate::auth::{AuthUser, RegionKind, Role};
use crate::crypto::Sealer;
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::rules::{RulePack, RulePacks};
use crate::domain::spec::{ProjectSpec, WhenOpen};
use crate::domain::Money;
use crate::error::{AppError, FieldError};
use crate::funds::service::{self as funds, Move};
use crate::http::conditional;
use crate::needs::model::{NeedAction, NeedStatus};
use crate::status::Lifecycle;

mod edit;
mod list;
mod publish;
pub use edit::*;
pub use list::*;
pub use publish::*;

/// When fewer than this many days remain before close, an amendment extends the close so
/// that this many remain (Prozorro's rule).
pub const AMENDMENT_MIN_DAYS: i64 = 3;

pub fn spec_of(p: &Project) -> Result<ProjectSpec, AppError> {
    serde_json::from_str(&p.spec)
        .map_err(|e| AppError::internal(anyhow::anyhow!("project {} spec: {e}", p.id)))
}

/// The pack a project is bound by: its snapshot once published, the current one before.
pub fn pack_of(p: &Project, packs: &RulePacks, spec: &ProjectSpec) -> Result<RulePack, AppError> {
    match &p.rule_pack {
        Some(s) => serde_json::from_str(s)
            .map_err(|e| AppError::internal(anyhow::anyhow!("rule pack snapshot: {e}"))),
        None => Ok(packs.get(spec.method).clone()),
    }
}

/// Whose drafts a viewer may see; every other project is public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drafts {
    None,
    /// A bureau sees the drafts of its own district.
    Of(String),
    /// An admin sees every draft.
    All,
}

/// The drafts `viewer` may see: the one rule behind [`visible`] and the listing.
pub fn drafts_visible_to(viewer: Option<&AuthUser>) -> Drafts {
    match viewer {
        Some(u) if u.role == Role::Admin => Drafts::All,
        Some(u) if u.role == Role::Bureau => u
            .district_id()
            .map_or(Drafts::None, |d| Drafts::Of(d.to_owned())),
        _ => Drafts::None,
    }
}

/// Whether `viewer` may see a project of this status and district.
pub fn visible(viewer: Option<&AuthUser>, p: &Project) -> bool {
    if !p.is(ProjectStatus::Draft) {
        return true;
    }
    match drafts_visible_to(viewer) {
        Drafts::All => true,
        Drafts::Of(d) => d == p.district_id,
        Drafts::None => false,
    }
}

pub fn get(conn: &mut DbConn, viewer: Option<&AuthUser>, id: &str) -> Result<Project, AppError> {
    repo::find(conn, id)?
        .filter(|p| visible(viewer, p))
        .ok_or_else(|| AppError::not_found("project"))
}

/// The project for a bureau action: 404 unless it is in the bureau's district.
fn load_for_bureau(conn: &mut DbConn, actor: &AuthUser, id: &str) -> Result<Project, AppError> {
    repo::find(conn, id)?
        .filter(|p| actor.district_id() == Some(p.district_id.as_str()))
        .ok_or_else(|| AppError::not_found("project"))
}

fn invalid(errors: Vec<crate::domain::spec::Invalid>) -> AppError {
    AppError::validation(errors.into_iter().map(FieldError::from).collect())
}

/// Checks what the spec refers to in the actor's district: its region, fund and needs.
/// Returns the region's street (for the listing filters).
fn check_references(
    conn: &mut DbConn,
    actor: &AuthUser,
    spec: &ProjectSpec,
) -> Result<Option<String>, AppError> {
    let district = actor
        .district_id()
        .ok_or_else(AppError::forbidden)?
        .to_owned();
    let mut errors = Vec::new();
    let region = crate::regions::repo::find_path(conn, &spec.region_id)?
        .filter(|r| r.district() == district);
    if region.is_none() {
        errors.push(FieldError::new(
            "region_id",
            "no such region in your district",
        ));
    }
    match crate::funds::repo::find(conn, &spec.fund_id)? {
        Some(f) if f.district_id == district => {}
        _ => errors.push(FieldError::new("fund_id", "no such fund in your district")),
    }
    for (i, nid) in spec.need_ids.iter().enumerate() {
        let field = format!("need_ids[{i}]");
        match crate::needs::repo::find(conn, nid)? {
            Some(n) if n.district_id == district => {
                if n.status != NeedStatus::Accepted {
                    errors.push(FieldError::new(
                        field,
                        format!("the need is {}, not accepted", n.status),
                    ));
                }
            }
            _ => errors.push(FieldError::new(field, "no such need in your district")),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok(region.and_then(|r| match r.kind {
        RegionKind::District => None,
        RegionKind::Street => Some(r.id),
        RegionKind::Community => r.street_id,
    }))
}

/// An event of project `p` in the audit chain, in its district (`actor_id` none for a job).
pub fn audit_project(
    conn: &mut Tx<'_>,
    actor_id: Option<&str>,
    action: &str,
    p: &Project,
    summary: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit_in_project(conn, actor_id, action, ("project", &p.id), p, summary, now)
}

/// An event of `entity` (kind, id: a bid, an award, an objection) of project `p`: filed
/// under the entity, with the project as its second key and its district.
pub fn audit_in_project(
    conn: &mut Tx<'_>,
    actor_id: Option<&str>,
    action: &str,
    (entity, entity_id): (&str, &str),
    p: &Project,
    summary: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append(
        conn,
        Event {
            actor_id,
            action,
            entity,
            entity_id,
            district_id: Some(&p.district_id),
            project_id: Some(&p.id),
            summary,
        },
        now,
    )
}

/// Returns the ceiling reserved for `p`'s current round to its fund (a cancellation, a failed
/// round): a guarded ledger move, once per project and round (its `ref_key`).
pub fn unreserve_ceiling(
    tx: &mut Tx<'_>,
    p: &Project,
    actor_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::funds::service::post_once(
        tx,
        &crate::funds::service::Move {
            fund_id: &p.fund_id,
            kind: "unreserve",
            amount: crate::domain::Money::from_fen(p.budget_ceiling_fen),
            project_id: Some(&p.id),
            contract_id: None,
            tranche_id: None,
            ref_key: &format!("unreserve:project:{}:round:{}", p.id, p.round),
            actor_id,
        },
        now,
    )
}

/// Copies the spec's searchable and money columns onto the row.
fn apply_spec(p: &mut Project, spec: &ProjectSpec, street_id: Option<String>, warnings: &[String]) {
    p.street_id = street_id;
    p.region_id = spec.region_id.clone();
    p.title = spec.title.trim().to_owned();
    p.category = spec.category.as_str().into();
    p.method = spec.method.as_str().into();
    p.fund_id = spec.fund_id.clone();
    p.budget_ceiling_fen = spec.budget_ceiling.fen();
    p.bid_close_at = spec.bid_close_at.naive_utc();
    p.spec = serde_json::to_string(spec).unwrap_or_default();
    p.warnings = serde_json::to_string(warnings).unwrap_or_else(|_| "[]".into());
}
