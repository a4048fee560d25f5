//! Creating a draft project and changing it: freely while a draft, by amendment (with its minimum days before the deadline) once open.

use super::*;

pub fn create(
    conn: &mut Tx<'_>,
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
            status: ProjectStatus::Draft,
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
            Some(&actor.id),
            "project.created",
            &p,
            json!({"after": {"status": p.status, "title": p.title, "budget_ceiling": spec.budget_ceiling}}),
            now,
        )?;
        Ok(p)
    })
}

/// Overlays a partial spec (top-level keys) on the stored one.
pub(super) fn merged(
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
    pub version: conditional::IfMatch,
    pub patch: serde_json::Map<String, serde_json::Value>,
    pub reason: Option<String>,
}

/// Edits a draft, or amends an open project (with a reason, recorded, extending the close
/// when fewer than three days remain). 422 for a key the spec does not have; 412 when
/// `version` is stale.
pub fn update(
    conn: &mut Tx<'_>,
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
    // Unknown keys are refused before anything is loaded, let alone merged.
    let unknown: Vec<FieldError> = patch
        .keys()
        .filter(|k| ProjectSpec::key(k).is_none())
        .map(|k| FieldError::new(k.clone(), "unknown field"))
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::validation(unknown));
    }
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        let version = version.check(p.version)?;
        let status = p.status;
        let stored = spec_of(&p)?;
        let spec = merged(&stored, &patch)?;
        match status {
            ProjectStatus::Draft => {
                status.step(ProjectAction::Edit)?;
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
                    Some(&actor.id),
                    "project.edited",
                    &p,
                    json!({"changed": patch.keys().collect::<Vec<_>>()}),
                    now,
                )?;
            }
            ProjectStatus::Open => {
                status.step(ProjectAction::Amend)?;
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
                    .filter(|k| ProjectSpec::key(k) == Some(WhenOpen::Frozen))
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
                    Some(&actor.id),
                    "project.amended",
                    &p,
                    json!({"reason": reason, "changes": changes, "before": {"bid_close_at": old_close}, "after": {"bid_close_at": spec.bid_close_at}}),
                    now,
                )?;
            }
            other => return Err(other.refuse(ProjectAction::Edit)),
        }
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}
