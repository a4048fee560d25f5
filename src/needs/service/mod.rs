//! Need use cases. Each write is one transaction: load, check scope and status, move with a
//! guarded update, append the audit event, and queue mail where someone must act. Reads
//! (`load`, the scoped `list`) check the caller's scope here too.

use chrono::NaiveDateTime;
use serde_json::json;

use super::model::{Need, NeedAction, NeedStatus};
use super::repo::{self, NeedEdits};
use crate::audit::{self, Event};
use crate::auth::{AuthUser, RegionKind, RegionPath, Role};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::spec::{Category, Source, Urgency};
use crate::error::{AppError, FieldError};
use crate::notify::{self, Mail};
use crate::status::Lifecycle;

mod list;
mod review;
pub use list::*;
pub use review::*;

/// A validated new need.
#[derive(Debug, Clone)]
pub struct NewNeed {
    pub title: String,
    pub description: String,
    pub category: Category,
    pub source: Source,
    pub external_ref: Option<String>,
    pub beneficiary_group: String,
    pub beneficiaries: i64,
    pub urgency: Urgency,
}

/// Validated corrections made when resubmitting.
#[derive(Debug, Clone, Default)]
pub struct Corrections {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<Category>,
    pub source: Option<Source>,
    pub external_ref: Option<Option<String>>,
    pub beneficiary_group: Option<String>,
    pub beneficiaries: Option<i64>,
    pub urgency: Option<Urgency>,
}

/// The ticket number rule, for intake and resubmission alike: at most 100 characters, and a
/// need from the 12345 hotline carries one. Returns the number trimmed, `None` when empty.
pub fn ticket(source: &str, external_ref: Option<&str>) -> Result<Option<String>, FieldError> {
    let external_ref = external_ref.map(str::trim).filter(|s| !s.is_empty());
    match external_ref {
        Some(t) if t.chars().count() > 100 => Err(FieldError::new(
            "external_ref",
            "must be at most 100 characters",
        )),
        None if source == Source::Hotline12345.as_str() => Err(FieldError::new(
            "external_ref",
            "a 12345 hotline need carries its ticket number",
        )),
        _ => Ok(external_ref.map(str::to_owned)),
    }
}

/// How many people a need may name as its beneficiaries.
pub fn check_beneficiaries(field: &str, n: i64) -> Result<i64, FieldError> {
    if (1..=10_000_000).contains(&n) {
        Ok(n)
    } else {
        Err(FieldError::new(field, "must be 1 to 10000000"))
    }
}

pub fn path_of(n: &Need) -> RegionPath {
    RegionPath {
        id: n.community_id.clone(),
        kind: RegionKind::Community,
        district_id: Some(n.district_id.clone()),
        street_id: Some(n.street_id.clone()),
    }
}

/// The need, if the caller's scope covers it (404 otherwise, revealing nothing).
pub fn load(conn: &mut DbConn, actor: &AuthUser, id: &str) -> Result<Need, AppError> {
    let need = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("need"))?;
    actor.require_region(&path_of(&need), "need")?;
    Ok(need)
}

fn audit_need(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    action: &str,
    n: &Need,
    summary: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append(
        conn,
        Event {
            actor_id: Some(&actor.id),
            action,
            entity: "need",
            entity_id: &n.id,
            district_id: Some(&n.district_id),
            project_id: None,
            summary,
        },
        now,
    )?;
    Ok(())
}

/// Tells the worker who submitted the need what happened to it.
fn mail_creator(
    conn: &mut Tx<'_>,
    n: &Need,
    what: &str,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    if let Some(creator) = crate::users::repo::find(conn, &n.created_by)? {
        let body = format!(
            "The need \"{}\" ({}) was {what}.{}\n",
            n.title,
            n.id,
            reason.map(|r| format!("\nReason: {r}")).unwrap_or_default()
        );
        notify::enqueue(
            conn,
            &format!("need.{what}:{}:{}", n.id, n.version + 1),
            &Mail {
                to: creator.email,
                subject: format!("Need {what}: {}", n.title),
                body,
            },
            now,
        )?;
    }
    Ok(())
}

pub fn submit(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    cmd: NewNeed,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    let region = actor
        .region
        .clone()
        .filter(|r| r.kind == RegionKind::Community)
        .ok_or_else(AppError::forbidden)?;
    write_tx(conn, |tx| {
        let need = Need {
            id: uuid::Uuid::now_v7().to_string(),
            community_id: region.id.clone(),
            street_id: region.street_id.clone().unwrap_or_default(),
            district_id: region.district().to_owned(),
            title: cmd.title,
            description: cmd.description,
            category: cmd.category.as_str().into(),
            source: cmd.source.as_str().into(),
            external_ref: cmd.external_ref,
            beneficiary_group: cmd.beneficiary_group,
            beneficiaries: cmd.beneficiaries,
            urgency: cmd.urgency.as_str().into(),
            urgency_rank: cmd.urgency.rank(),
            supporters: 0,
            status: NeedStatus::Submitted,
            status_reason: None,
            merged_into: None,
            project_id: None,
            created_by: actor.id.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        repo::insert(tx, &need)?;
        audit_need(
            tx,
            actor,
            "need.submitted",
            &need,
            json!({"after": {"status": need.status, "title": need.title, "source": need.source, "external_ref": need.external_ref}}),
            now,
        )?;
        Ok(need)
    })
}

pub fn support(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    count: i64,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    write_tx(conn, |tx| {
        let before = load(tx, actor, id)?;
        before.status.step(NeedAction::Support)?;
        repo::add_supporters(tx, id, count, now)?;
        let after = repo::find(tx, id)?.ok_or_else(|| AppError::not_found("need"))?;
        audit_need(
            tx,
            actor,
            "need.supported",
            &after,
            json!({"before": {"supporters": before.supporters}, "after": {"supporters": after.supporters}, "added": count}),
            now,
        )?;
        Ok(after)
    })
}

/// Merges a duplicate into `into_id` (same district): the target gains its supporters.
pub fn merge(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    into_id: &str,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    if id == into_id {
        return Err(AppError::field(
            "into_id",
            "a need cannot be merged into itself",
        ));
    }
    write_tx(conn, |tx| {
        let target = repo::find(tx, into_id)?
            .filter(|t| actor.can_see_region(&path_of(t)))
            .ok_or_else(|| AppError::field("into_id", "no such need in your district"))?;
        target.status.step(NeedAction::Absorb)?;
        let (before, after) = step(tx, actor, id, NeedAction::Merge, None, now)?;
        if !repo::set_merged(tx, id, after.version, into_id, now)? {
            return Err(AppError::concurrent_update("need"));
        }
        repo::add_supporters(tx, into_id, before.supporters, now)?;
        let merged = repo::find(tx, id)?.ok_or_else(|| AppError::not_found("need"))?;
        audit_need(
            tx,
            actor,
            "need.merged",
            &merged,
            json!({"before": {"status": before.status}, "after": {"status": merged.status, "merged_into": into_id, "supporters_moved": before.supporters}}),
            now,
        )?;
        mail_creator(
            tx,
            &before,
            merged.status.as_str(),
            Some(&format!("duplicate of need {into_id}")),
            now,
        )?;
        Ok(merged)
    })
}
