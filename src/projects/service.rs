//! Project use cases: draft, edit, publish (reserve the budget, commit the seed, link the
//! needs), amend in the open, cancel (return the budget, release the needs), read.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::model::{Amendment, Project, ProjectAction, ProjectStatus};
use super::repo;
use crate::audit::{self, Event};
use crate::auth::{AuthUser, RegionKind, Role};
use crate::crypto::Sealer;
use crate::db::{write_tx, DbConn};
use crate::domain::rules::{RulePack, RulePacks};
use crate::domain::spec::ProjectSpec;
use crate::domain::Money;
use crate::error::{AppError, FieldError};
use crate::funds::service::{self as funds, Move};
use crate::http::conditional;
use crate::needs::model::{NeedAction, NeedStatus};

/// When fewer than this many days remain before close, an amendment extends the close so
/// that this many remain (Prozorro's rule).
pub const AMENDMENT_MIN_DAYS: i64 = 3;

/// Fields that cannot change once a project is open: they moved money or defined who may bid.
pub const FROZEN_WHEN_OPEN: [&str; 5] = [
    "budget_ceiling",
    "fund_id",
    "method",
    "region_id",
    "need_ids",
];

pub fn status_of(p: &Project) -> Result<ProjectStatus, AppError> {
    ProjectStatus::parse(&p.status).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!("project {} has status {}", p.id, p.status))
    })
}

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

/// Whether `viewer` may see a project of this status and district.
pub fn visible(viewer: Option<&AuthUser>, p: &Project) -> bool {
    if !p.is(ProjectStatus::Draft) {
        return true;
    }
    match viewer {
        Some(u) if u.role == Role::Admin => true,
        Some(u) if u.role == Role::Bureau => u.district_id() == Some(p.district_id.as_str()),
        _ => false,
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
                if NeedStatus::parse(&n.status) != Some(NeedStatus::Accepted) {
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

fn audit_project(
    conn: &mut DbConn,
    actor: &AuthUser,
    action: &str,
    p: &Project,
    summary: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append(
        conn,
        Event {
            actor_id: Some(&actor.id),
            action,
            entity: "project",
            entity_id: &p.id,
            district_id: Some(&p.district_id),
            summary,
        },
        now,
    )?;
    Ok(())
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

pub fn create(
    conn: &mut DbConn,
    actor: &AuthUser,
    spec: ProjectSpec,
    packs: &RulePacks,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    let pack = packs.get(spec.method);
    let warnings = spec.check(pack, now.and_utc()).map_err(invalid)?;
    write_tx(conn, |tx| {
        let street = check_references(tx, actor, &spec)?;
        let mut p = Project {
            id: uuid::Uuid::now_v7().to_string(),
            district_id: actor.district_id().unwrap_or_default().to_owned(),
            street_id: None,
            region_id: String::new(),
            title: String::new(),
            category: String::new(),
            method: String::new(),
            fund_id: String::new(),
            budget_ceiling_fen: 0,
            bid_close_at: now,
            spec: String::new(),
            rule_pack: None,
            warnings: String::new(),
            status: ProjectStatus::Draft.as_str().into(),
            round: 1,
            seed_sealed: None,
            seed_commitment: None,
            seed: None,
            status_reason: None,
            created_by: actor.id.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
            published_at: None,
            closed_at: None,
        };
        apply_spec(&mut p, &spec, street, &warnings);
        repo::insert(tx, &p)?;
        repo::set_needs(tx, &p.id, &spec.need_ids)?;
        audit_project(
            tx,
            actor,
            "project.created",
            &p,
            json!({"after": {"status": p.status, "title": p.title, "budget_ceiling": spec.budget_ceiling}}),
            now,
        )?;
        Ok(p)
    })
}

/// Overlays a partial spec (top-level keys) on the stored one.
fn merged(
    stored: &ProjectSpec,
    patch: &serde_json::Map<String, serde_json::Value>,
) -> Result<ProjectSpec, AppError> {
    let mut value = serde_json::to_value(stored).map_err(AppError::internal)?;
    if let Some(obj) = value.as_object_mut() {
        for (k, v) in patch {
            obj.insert(k.clone(), v.clone());
        }
    }
    crate::http::extract::parse_json(&serde_json::to_vec(&value).map_err(AppError::internal)?)
}

/// A requested change: the version it was based on, the spec keys to overlay, and (for an
/// open project) the reason.
pub struct Change {
    pub version: i64,
    pub patch: serde_json::Map<String, serde_json::Value>,
    pub reason: Option<String>,
}

/// Edits a draft, or amends an open project (with a reason, recorded, extending the close
/// when fewer than three days remain). 412 when `version` is stale.
pub fn update(
    conn: &mut DbConn,
    actor: &AuthUser,
    id: &str,
    change: Change,
    packs: &RulePacks,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    let Change {
        version,
        patch,
        reason,
    } = change;
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        if p.version != version {
            return Err(conditional::stale());
        }
        let status = status_of(&p)?;
        let stored = spec_of(&p)?;
        let spec = merged(&stored, &patch)?;
        match status {
            ProjectStatus::Draft => {
                let warnings = spec
                    .check(packs.get(spec.method), now.and_utc())
                    .map_err(invalid)?;
                let street = check_references(tx, actor, &spec)?;
                apply_spec(&mut p, &spec, street, &warnings);
                p.updated_at = now;
                if !repo::save(tx, &p, version)? {
                    return Err(conditional::stale());
                }
                repo::set_needs(tx, &p.id, &spec.need_ids)?;
                audit_project(
                    tx,
                    actor,
                    "project.edited",
                    &p,
                    json!({"changed": patch.keys().collect::<Vec<_>>()}),
                    now,
                )?;
            }
            ProjectStatus::Open => {
                let reason = reason
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty() && r.chars().count() <= 1000)
                    .ok_or_else(|| {
                        AppError::field(
                            "reason",
                            "an amendment to an open project needs a reason (1 to 1000 characters)",
                        )
                    })?;
                let frozen: Vec<FieldError> = patch
                    .keys()
                    .filter(|k| FROZEN_WHEN_OPEN.contains(&k.as_str()))
                    .map(|k| {
                        FieldError::new(
                            k.clone(),
                            "cannot change once the project is open; cancel and publish anew",
                        )
                    })
                    .collect();
                if !frozen.is_empty() {
                    return Err(AppError::validation(frozen));
                }
                if spec.bid_close_at < stored.bid_close_at {
                    return Err(AppError::field(
                        "bid_close_at",
                        "an open project's close may only move later",
                    ));
                }
                let pack = pack_of(&p, packs, &spec)?;
                let warnings = spec.check(&pack, now.and_utc()).map_err(invalid)?;
                let mut spec = spec;
                let old_close = stored.bid_close_at;
                let floor = now.and_utc() + Duration::days(AMENDMENT_MIN_DAYS);
                if spec.bid_close_at < floor {
                    spec.bid_close_at = floor;
                }
                let street = p.street_id.clone();
                apply_spec(&mut p, &spec, street, &warnings);
                p.updated_at = now;
                if !repo::save(tx, &p, version)? {
                    return Err(conditional::stale());
                }
                let changes = serde_json::Value::Object(patch.clone());
                repo::insert_amendment(
                    tx,
                    &Amendment {
                        id: uuid::Uuid::now_v7().to_string(),
                        project_id: p.id.clone(),
                        reason: reason.clone(),
                        changes: changes.to_string(),
                        old_close_at: old_close.naive_utc(),
                        new_close_at: spec.bid_close_at.naive_utc(),
                        actor_id: actor.id.clone(),
                        at: now,
                    },
                )?;
                audit_project(
                    tx,
                    actor,
                    "project.amended",
                    &p,
                    json!({"reason": reason, "changes": changes, "before": {"bid_close_at": old_close}, "after": {"bid_close_at": spec.bid_close_at}}),
                    now,
                )?;
            }
            other => {
                return Err(AppError::invalid_state(format!(
                    "a project that is {} cannot be changed",
                    other.as_str()
                )))
            }
        }
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}

fn reserve_key(p: &Project) -> String {
    format!("reserve:project:{}:round:{}", p.id, p.round)
}

/// Publishes a draft: re-checks the spec at `now`, reserves the budget ceiling in the fund
/// (409 `budget_exceeded`), commits to a fresh seed, and links the needs.
pub fn publish(
    conn: &mut DbConn,
    actor: &AuthUser,
    id: &str,
    packs: &RulePacks,
    sealer: &Sealer,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        let status = status_of(&p)?;
        let next = status.next(ProjectAction::Publish).ok_or_else(|| {
            AppError::invalid_state(format!(
                "a project that is {} cannot be published",
                status.as_str()
            ))
        })?;
        let spec = spec_of(&p)?;
        let pack = packs.get(spec.method).clone();
        let warnings = spec.check(&pack, now.and_utc()).map_err(invalid)?;
        spec.check_bidding_period(&pack, now.and_utc())
            .map_err(|e| invalid(vec![e]))?;
        check_references(tx, actor, &spec)?;
        funds::reserve(
            tx,
            &Move {
                fund_id: &spec.fund_id,
                kind: "reserve",
                amount: spec.budget_ceiling,
                project_id: Some(&p.id),
                contract_id: None,
                tranche_id: None,
                ref_key: &reserve_key(&p),
                actor_id: Some(&actor.id),
            },
            now,
        )?;
        let seed: [u8; 32] = rand::random();
        let seed_hex = hex::encode(seed);
        p.seed_commitment = Some(hex::encode(Sha256::digest(seed)));
        p.seed_sealed = Some(sealer.seal(&format!("project-seed:{}", p.id), seed_hex.as_bytes()));
        p.rule_pack = Some(serde_json::to_string(&pack).map_err(AppError::internal)?);
        p.warnings = serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into());
        p.status = next.as_str().into();
        p.published_at = Some(now);
        p.updated_at = now;
        let version = p.version;
        if !repo::save(tx, &p, version)? {
            return Err(AppError::conflict(
                "concurrent_update",
                "the project changed meanwhile; read it again",
            ));
        }
        for nid in &spec.need_ids {
            let n =
                crate::needs::repo::find(tx, nid)?.ok_or_else(|| AppError::not_found("need"))?;
            let to = NeedStatus::parse(&n.status)
                .and_then(|s| s.next(NeedAction::LinkProject))
                .ok_or_else(|| {
                    AppError::invalid_state(format!("need {nid} is {}, not accepted", n.status))
                })?;
            crate::needs::repo::set_project(tx, nid, Some(&p.id), to.as_str(), now)?;
        }
        audit_project(
            tx,
            actor,
            "project.published",
            &p,
            json!({"before": {"status": status.as_str()}, "after": {"status": p.status, "seed_commitment": p.seed_commitment, "reserved": spec.budget_ceiling, "fund_id": spec.fund_id}}),
            now,
        )?;
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}

/// Cancels a project before any award: the reservation goes back to the fund and the needs
/// back to the guide list.
pub fn cancel(
    conn: &mut DbConn,
    actor: &AuthUser,
    id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        let status = status_of(&p)?;
        let next = status.next(ProjectAction::Cancel).ok_or_else(|| {
            AppError::invalid_state(format!(
                "a project that is {} cannot be cancelled",
                status.as_str()
            ))
        })?;
        if status.holds_reservation() {
            funds::unreserve(
                tx,
                &Move {
                    fund_id: &p.fund_id,
                    kind: "unreserve",
                    amount: Money::from_fen(p.budget_ceiling_fen),
                    project_id: Some(&p.id),
                    contract_id: None,
                    tranche_id: None,
                    ref_key: &format!("unreserve:project:{}:round:{}", p.id, p.round),
                    actor_id: Some(&actor.id),
                },
                now,
            )?;
        }
        release_needs(tx, &p.id, now)?;
        p.status = next.as_str().into();
        p.status_reason = Some(reason.clone());
        p.updated_at = now;
        let version = p.version;
        if !repo::save(tx, &p, version)? {
            return Err(AppError::conflict(
                "concurrent_update",
                "the project changed meanwhile; read it again",
            ));
        }
        audit_project(
            tx,
            actor,
            "project.cancelled",
            &p,
            json!({"before": {"status": status.as_str()}, "after": {"status": p.status, "reason": reason}}),
            now,
        )?;
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}

/// Puts the project's in-project needs back on the guide list.
fn release_needs(conn: &mut DbConn, project_id: &str, now: NaiveDateTime) -> Result<(), AppError> {
    for nid in repo::need_ids(conn, project_id)? {
        if let Some(n) = crate::needs::repo::find(conn, &nid)? {
            if n.project_id.as_deref() == Some(project_id) {
                if let Some(to) =
                    NeedStatus::parse(&n.status).and_then(|s| s.next(NeedAction::UnlinkProject))
                {
                    crate::needs::repo::set_project(conn, &nid, None, to.as_str(), now)?;
                }
            }
        }
    }
    Ok(())
}

/// Opens a new round of a failed project (流标 → 重新公告): a new close, a new seed, the
/// budget reserved again.
pub fn republish(
    conn: &mut DbConn,
    actor: &AuthUser,
    id: &str,
    bid_close_at: chrono::DateTime<chrono::Utc>,
    packs: &RulePacks,
    sealer: &Sealer,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        let status = status_of(&p)?;
        let next = status.next(ProjectAction::Republish).ok_or_else(|| {
            AppError::invalid_state(format!(
                "a project that is {} cannot be republished",
                status.as_str()
            ))
        })?;
        let mut spec = spec_of(&p)?;
        let pack = pack_of(&p, packs, &spec)?;
        let shift = bid_close_at.date_naive() - spec.bid_close_at.date_naive();
        if bid_close_at <= now.and_utc() {
            return Err(AppError::field("bid_close_at", "must be in the future"));
        }
        spec.bid_close_at = bid_close_at;
        if spec.service_start < bid_close_at.date_naive() {
            // Keep the service period's length, moved past the new close.
            spec.service_start += shift;
            spec.service_end += shift;
        }
        spec.check(&pack, now.and_utc()).map_err(invalid)?;
        spec.check_bidding_period(&pack, now.and_utc())
            .map_err(|e| invalid(vec![e]))?;
        p.round += 1;
        funds::reserve(
            tx,
            &Move {
                fund_id: &p.fund_id,
                kind: "reserve",
                amount: Money::from_fen(p.budget_ceiling_fen),
                project_id: Some(&p.id),
                contract_id: None,
                tranche_id: None,
                ref_key: &reserve_key(&p),
                actor_id: Some(&actor.id),
            },
            now,
        )?;
        let seed: [u8; 32] = rand::random();
        p.seed_commitment = Some(hex::encode(Sha256::digest(seed)));
        p.seed_sealed = Some(sealer.seal(
            &format!("project-seed:{}", p.id),
            hex::encode(seed).as_bytes(),
        ));
        p.seed = None;
        p.closed_at = None;
        p.status = next.as_str().into();
        p.status_reason = None;
        p.published_at = Some(now);
        p.updated_at = now;
        let warnings: Vec<String> = crate::error::decode_json("projects.warnings", &p.warnings)?;
        let street = p.street_id.clone();
        apply_spec(&mut p, &spec, street, &warnings);
        let version = p.version;
        if !repo::save(tx, &p, version)? {
            return Err(AppError::conflict(
                "concurrent_update",
                "the project changed meanwhile; read it again",
            ));
        }
        audit_project(
            tx,
            actor,
            "project.republished",
            &p,
            json!({"before": {"status": status.as_str(), "round": p.round - 1}, "after": {"status": p.status, "round": p.round, "bid_close_at": spec.bid_close_at, "seed_commitment": p.seed_commitment}}),
            now,
        )?;
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}
