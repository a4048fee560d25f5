//! Closing a round at its deadline.

use chrono::NaiveDateTime;
use serde_json::json;

use crate::audit;
use crate::bids::contents::open_envelope;
use crate::bids::model::{Bid, BidAction, BidStatus};
use crate::bids::repo;
use crate::crypto::Sealer;
use crate::db::{write_tx, Tx};
use crate::domain::eligibility::{Credentials, Failure};
use crate::domain::rules::RulePacks;
use crate::error::AppError;
use crate::notify::{self, Mail};
use crate::projects::model::{ProjectAction, ProjectStatus};
use crate::projects::service as projects;
use crate::status::Lifecycle;

/// What closing a round did.
#[derive(Debug, Clone, Default)]
pub struct Closed {
    pub qualified: usize,
    pub disqualified: usize,
    pub failed: bool,
}

/// Closes the current round of `project_id` at `now`: claims the project with a guarded
/// update (so two runners close it once), opens every sealed bid, checks its receipt and the
/// eligibility of its frozen credentials, reveals the seed, and moves the project to
/// `evaluating`, or to `failed` (budget returned) with fewer qualified bids than the minimum
/// (政府采购法 art 36). Bidders are mailed the outcome. `None` when there was nothing to do.
pub fn close_round(
    conn: &mut Tx<'_>,
    sealer: &Sealer,
    packs: &RulePacks,
    project_id: &str,
    now: NaiveDateTime,
) -> Result<Option<Closed>, AppError> {
    write_tx(conn, |tx| {
        let Some(mut p) = crate::projects::repo::find(tx, project_id)? else {
            return Ok(None);
        };
        if !p.is(ProjectStatus::Open) || p.bid_close_at > now {
            return Ok(None);
        }
        if !crate::projects::repo::claim(tx, &p.id, p.version, p.status)? {
            return Ok(None);
        }
        p.version += 1;
        let spec = projects::spec_of(&p)?;
        let pack = projects::pack_of(&p, packs, &spec)?;
        let mut result = Closed::default();
        let mut opened = Vec::new();
        // The round's sealed audit events enter the chain first, in the order received with
        // their original times (DESIGN.md § Audit).
        audit::open_sealed(
            tx,
            sealer,
            audit::Round {
                project_id: &p.id,
                round: p.round,
            },
        )?;
        for mut b in repo::list_round(tx, &p.id, p.round)? {
            if !b.is(BidStatus::Submitted) {
                continue;
            }
            let envelope = open_envelope(sealer, &b)
                .ok()
                .flatten()
                .filter(|e| e.contents.receipt() == b.receipt_sha256);
            // The organization as the seal names it (rows sealed before the keyed hash name it
            // in clear too).
            b.organization_id = envelope
                .as_ref()
                .map(|e| e.contents.organization_id.clone())
                .or(b.organization_id.take());
            b.credentials = envelope
                .as_ref()
                .and_then(|e| e.credentials.clone())
                .or(b.credentials.take());
            let creds = b
                .credentials
                .as_deref()
                .map(serde_json::from_str::<Credentials>);
            let mut reasons: Vec<Failure> = match (&envelope, creds) {
                (None, _) => vec![Failure {
                    rule: "integrity".into(),
                    reason: "the sealed bid did not open to its receipt".into(),
                }],
                (_, None | Some(Err(_))) => vec![Failure {
                    rule: "integrity".into(),
                    reason: "the frozen credentials are unreadable".into(),
                }],
                (Some(_), Some(Ok(mut creds))) => {
                    // Terminations since the bid count too (the frozen list only grows).
                    if spec.eligibility.termination_limit().is_some() {
                        creds.terminations =
                            crate::orgs::service::terminations(tx, &creds.organization_id)?;
                    }
                    creds.check(
                        &spec.eligibility,
                        &p.district_id,
                        crate::clock::cst_date(now),
                    )
                }
            };
            // The standing at the opening counts too: a suspension after the bid disqualifies.
            if let Some(o) = crate::orgs::repo::find(tx, b.organization())? {
                reasons.extend(o.status.standing(o.status_reason.as_deref()));
            }
            if envelope.is_none() {
                tracing::error!(bid_id = %b.id, "a sealed bid did not open to its receipt");
            }
            reasons.dedup();
            let status = b.status.step(if reasons.is_empty() {
                BidAction::Qualify
            } else {
                BidAction::Disqualify
            })?;
            let text = envelope
                .as_ref()
                .map(|e| serde_json::to_string(&e.contents).unwrap_or_default());
            repo::open(
                tx,
                &b.id,
                b.status,
                status,
                &repo::Opened {
                    organization_id: b.organization_id.as_deref(),
                    contents: text.as_deref(),
                    credentials: b.credentials.as_deref(),
                    price_fen: envelope.as_ref().map(|e| e.contents.price.fen()),
                    reasons: &serde_json::to_string(&reasons).map_err(AppError::internal)?,
                },
                now,
            )?;
            match status {
                BidStatus::Qualified => result.qualified += 1,
                _ => result.disqualified += 1,
            }
            opened.push((b, status, reasons));
        }
        result.failed = (result.qualified as u32) < spec.min_bids(&pack);
        let next = p.status.step(if result.failed {
            ProjectAction::Fail
        } else {
            ProjectAction::Close
        })?;
        if result.failed {
            projects::unreserve_ceiling(tx, &p, None, now)?;
        }
        if let Some(s) = &p.seed_sealed {
            let seed = sealer
                .open(&format!("project-seed:{}", p.id), s)
                .map_err(AppError::internal)?;
            p.seed = Some(String::from_utf8(seed).map_err(AppError::internal)?);
        }
        if next == ProjectStatus::Evaluating {
            let bids: Vec<Bid> = opened.iter().map(|(b, _, _)| b.clone()).collect();
            if !crate::evaluation::service::draw_panel(tx, &p, &spec, &pack, &bids, now)? {
                p.status_reason = Some(crate::evaluation::service::PANEL_SHORTFALL.into());
            }
        }
        p.status = next;
        p.closed_at = Some(now);
        p.updated_at = now;
        let version = p.version;
        if !crate::projects::repo::save(tx, &p, version)? {
            return Err(AppError::concurrent_update("project"));
        }
        projects::audit_project(
            tx,
            None,
            "project.bidding_closed",
            &p,
            json!({
                "after": {"status": p.status, "round": p.round, "seed": p.seed, "qualified": result.qualified, "disqualified": result.disqualified},
                "receipts": opened.iter().map(|(b, s, _)| json!({"bid_id": b.id, "sha256": b.receipt_sha256, "status": s})).collect::<Vec<_>>(),
            }),
            now,
        )?;
        for (b, status, reasons) in &opened {
            if let Some(org) = crate::orgs::repo::find(tx, b.organization())? {
                let why = reasons
                    .iter()
                    .map(|r| format!("- {}: {}", r.rule, r.reason))
                    .collect::<Vec<_>>()
                    .join("\n");
                notify::enqueue(
                    tx,
                    &format!("bid.opened:{}", b.id),
                    &Mail {
                        to: org.contact_email,
                        subject: format!("Bid opening: {}", p.title),
                        body: format!(
                            "Bidding on \"{}\" (round {}) closed at {}.\nYour bid {} (receipt {}) is {}.{}\nThe project is now {}.\n",
                            p.title,
                            p.round,
                            now.and_utc().to_rfc3339(),
                            b.id,
                            b.receipt_sha256,
                            status,
                            if why.is_empty() { String::new() } else { format!("\n{why}") },
                            p.status
                        ),
                    },
                    now,
                )?;
            }
        }
        Ok(Some(result))
    })
}
