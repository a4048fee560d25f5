//! Publishing (the fund reserves the ceiling), cancelling (the reservation returned, the needs released) and republishing a failed round.

use super::*;

pub(super) fn reserve_key(p: &Project) -> String {
    format!("reserve:project:{}:round:{}", p.id, p.round)
}

/// Reserves `ceiling` on the fund for the project's current round (once per round, by its
/// ledger key) and commits a fresh draw seed: its hash published now, the seed sealed until the
/// opening reveals it.
#[allow(clippy::too_many_arguments)]
fn reserve_and_seed(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    p: &mut Project,
    fund_id: &str,
    ceiling: Money,
    sealer: &Sealer,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    funds::take_available(
        tx,
        &Move {
            fund_id,
            kind: "reserve",
            amount: ceiling,
            project_id: Some(&p.id),
            contract_id: None,
            tranche_id: None,
            ref_key: &reserve_key(p),
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
    Ok(())
}

/// Publishes a draft: re-checks the spec at `now`, reserves the budget ceiling in the fund
/// (409 `budget_exceeded`), commits to a fresh seed, and links the needs.
pub fn publish(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    packs: &RulePacks,
    sealer: &Sealer,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        let status = p.status;
        let next = status.step(ProjectAction::Publish)?;
        let spec = spec_of(&p)?;
        let pack = packs.get(spec.method).clone();
        let warnings = spec.check(&pack, now.and_utc()).map_err(invalid)?;
        spec.check_bidding_period(&pack, now.and_utc())
            .map_err(|e| invalid(vec![e]))?;
        check_references(tx, actor, &spec)?;
        reserve_and_seed(
            tx,
            actor,
            &mut p,
            &spec.fund_id,
            spec.budget_ceiling,
            sealer,
            now,
        )?;
        p.rule_pack = Some(serde_json::to_string(&pack).map_err(AppError::internal)?);
        p.warnings = serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into());
        p.status = next;
        p.published_at = Some(now);
        p.updated_at = now;
        let version = p.version;
        if !repo::save(tx, &p, version)? {
            return Err(AppError::concurrent_update("project"));
        }
        for nid in &spec.need_ids {
            let n =
                crate::needs::repo::find(tx, nid)?.ok_or_else(|| AppError::not_found("need"))?;
            let to = n.status.step(NeedAction::LinkProject)?;
            crate::needs::repo::set_project(tx, nid, Some(&p.id), to, now)?;
        }
        audit_project(
            tx,
            Some(&actor.id),
            "project.published",
            &p,
            json!({"before": {"status": status}, "after": {"status": p.status, "seed_commitment": p.seed_commitment, "reserved": spec.budget_ceiling, "fund_id": spec.fund_id}}),
            now,
        )?;
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}

/// Cancels a project before any award: the reservation goes back to the fund and the needs
/// back to the guide list.
pub fn cancel(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        let status = p.status;
        let next = status.step(ProjectAction::Cancel)?;
        if status.holds_reservation() {
            unreserve_ceiling(tx, &p, Some(&actor.id), now)?;
        }
        release_needs(tx, &p.id, now)?;
        p.status = next;
        p.status_reason = Some(reason.clone());
        p.updated_at = now;
        let version = p.version;
        if !repo::save(tx, &p, version)? {
            return Err(AppError::concurrent_update("project"));
        }
        audit_project(
            tx,
            Some(&actor.id),
            "project.cancelled",
            &p,
            json!({"before": {"status": status}, "after": {"status": p.status, "reason": reason}}),
            now,
        )?;
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}

/// Puts the project's in-project needs back on the guide list.
pub(super) fn release_needs(
    conn: &mut Tx<'_>,
    project_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for nid in repo::need_ids(conn, project_id)? {
        if let Some(n) = crate::needs::repo::find(conn, &nid)? {
            if n.project_id.as_deref() == Some(project_id) {
                if let Some(to) = n.status.next(NeedAction::UnlinkProject) {
                    crate::needs::repo::set_project(conn, &nid, None, to, now)?;
                }
            }
        }
    }
    Ok(())
}

/// Opens a new round of a failed project (流标 → 重新公告): a new close, a new seed, the
/// budget reserved again.
pub fn republish(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    bid_close_at: chrono::DateTime<chrono::Utc>,
    packs: &RulePacks,
    sealer: &Sealer,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    write_tx(conn, |tx| {
        let mut p = load_for_bureau(tx, actor, id)?;
        let status = p.status;
        let next = status.step(ProjectAction::Republish)?;
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
        let (fund_id, ceiling) = (p.fund_id.clone(), Money::from_fen(p.budget_ceiling_fen));
        reserve_and_seed(tx, actor, &mut p, &fund_id, ceiling, sealer, now)?;
        p.seed = None;
        p.closed_at = None;
        p.status = next;
        p.status_reason = None;
        p.published_at = Some(now);
        p.updated_at = now;
        let warnings: Vec<String> = crate::error::decode_json("projects.warnings", &p.warnings)?;
        let street = p.street_id.clone();
        apply_spec(&mut p, &spec, street, &warnings);
        let version = p.version;
        if !repo::save(tx, &p, version)? {
            return Err(AppError::concurrent_update("project"));
        }
        audit_project(
            tx,
            Some(&actor.id),
            "project.republished",
            &p,
            json!({"before": {"status": status, "round": p.round - 1}, "after": {"status": p.status, "round": p.round, "bid_close_at": spec.bid_close_at, "seed_commitment": p.seed_commitment}}),
            now,
        )?;
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("project"))
    })
}
