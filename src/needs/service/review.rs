//! The street's and the bureau's review of a need: forward, give back, accept, reject, and the resubmission of one given back.

use super::*;

/// Moves the need by `action`: 404 outside scope, 409 `invalid_state` from the wrong status.
pub(super) fn step(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    action: NeedAction,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<(Need, Need), AppError> {
    let before = load(conn, actor, id)?;
    let from = before.status;
    let to = from.step(action)?;
    if !repo::transition(conn, id, from, before.version, to, reason, now)? {
        return Err(AppError::concurrent_update("need"));
    }
    let after = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("need"))?;
    Ok((before, after))
}

pub(super) fn simple(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    action: NeedAction,
    reason: Option<String>,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    write_tx(conn, |tx| {
        let (before, after) = step(tx, actor, id, action, reason.as_deref(), now)?;
        // forwarded, returned, accepted, rejected: the audit action is named by the new status.
        let name = after.status.as_str();
        audit_need(
            tx,
            actor,
            &format!("need.{name}"),
            &after,
            json!({"before": {"status": before.status}, "after": {"status": after.status, "reason": reason}}),
            now,
        )?;
        if matches!(
            action,
            NeedAction::Return | NeedAction::Reject | NeedAction::Accept
        ) {
            mail_creator(tx, &before, name, reason.as_deref(), now)?;
        }
        Ok(after)
    })
}

pub fn forward(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    simple(conn, actor, id, NeedAction::Forward, None, now)
}

pub fn give_back(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    simple(conn, actor, id, NeedAction::Return, Some(reason), now)
}

pub fn accept(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    simple(conn, actor, id, NeedAction::Accept, None, now)
}

pub fn reject(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    simple(conn, actor, id, NeedAction::Reject, Some(reason), now)
}

pub fn resubmit(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    c: Corrections,
    now: NaiveDateTime,
) -> Result<Need, AppError> {
    write_tx(conn, |tx| {
        let current = load(tx, actor, id)?;
        let source = c
            .source
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| current.source.clone());
        let external_ref = match &c.external_ref {
            Some(r) => r.clone(),
            None => current.external_ref.clone(),
        };
        ticket(&source, external_ref.as_deref())?;
        let (before, _) = step(tx, actor, id, NeedAction::Resubmit, None, now)?;
        let edits = NeedEdits {
            title: c.title.clone(),
            description: c.description.clone(),
            category: c.category.map(|v| v.as_str().to_owned()),
            source: c.source.map(|v| v.as_str().to_owned()),
            external_ref: c.external_ref.clone(),
            beneficiary_group: c.beneficiary_group.clone(),
            beneficiaries: c.beneficiaries,
            urgency: c.urgency.map(|v| v.as_str().to_owned()),
            urgency_rank: c.urgency.map(|v| v.rank()),
        };
        repo::edit(tx, id, &edits, now)?;
        let after = repo::find(tx, id)?.ok_or_else(|| AppError::not_found("need"))?;
        audit_need(
            tx,
            actor,
            "need.resubmitted",
            &after,
            json!({"before": {"status": before.status, "title": before.title}, "after": {"status": after.status, "title": after.title}}),
            now,
        )?;
        Ok(after)
    })
}
