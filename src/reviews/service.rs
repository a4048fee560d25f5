//! Reviews from scheduling to outcome (DESIGN.md, "Reviews"; API.md, "Reviews"): scheduled when
//! a contract becomes active, opened ahead of their due day with a drawn panel, reported on by
//! the organization, scored blind on the rubric, finalized in the transaction of the last sheet
//! (at completion, with the residents' satisfaction), and their outcome applied to the
//! contract's tranches.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::model::{ReviewAction, SURVEY_METHODS};
use super::repo::{self, Review, ReviewKind, ReviewSeat, ReviewSheet, ReviewStatus, Survey};
use super::score::{self, Satisfaction};
use crate::audit::{self, Event};
use crate::auth::{AuthUser, Role};
use crate::config::ReviewSettings;
use crate::contracts::model::{Contract, ContractStatus, TrancheAction};
use crate::contracts::service::{is_bureau_of, is_member_of};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::rules::{ReviewRule, RulePack, RulePacks};
use crate::domain::{draw, Money};
use crate::error::{AppError, FieldError};
use crate::evaluation::model::SeatAction;
use crate::evaluation::repo::SeatStatus;
use crate::notify;
use crate::status::Lifecycle;

/// The rules a review's moves need: the rule packs (a project's snapshot first) and the
/// `[reviews]` settings.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub packs: &'a RulePacks,
    pub settings: &'a ReviewSettings,
}

/// `outcome_reason` of a review failed for want of a report by the end of its due day.
pub const NO_REPORT: &str = "no_report";

fn audit_review(
    tx: &mut Tx<'_>,
    actor_id: Option<&str>,
    action: &str,
    r: &Review,
    summary: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append(
        tx,
        Event {
            actor_id,
            action,
            entity: "review",
            entity_id: &r.id,
            district_id: Some(&r.district_id),
            project_id: Some(&r.project_id),
            summary,
        },
        now,
    )?;
    Ok(())
}

/// The rules a review was scheduled under.
pub fn rules_of(r: &Review) -> Result<ReviewRule, AppError> {
    crate::error::decode_json("reviews.rules", &r.rules)
}

fn new_review(
    c: &Contract,
    kind: ReviewKind,
    attempt: i32,
    due_on: NaiveDate,
    rules: &ReviewRule,
    settings: &ReviewSettings,
    now: NaiveDateTime,
) -> Result<Review, AppError> {
    Ok(Review {
        id: uuid::Uuid::now_v7().to_string(),
        contract_id: c.id.clone(),
        project_id: c.project_id.clone(),
        district_id: c.district_id.clone(),
        organization_id: c.organization_id.clone(),
        kind,
        attempt,
        due_on,
        opens_on: due_on - chrono::Duration::days(settings.open_days_ahead as i64),
        status: ReviewStatus::Scheduled,
        rules: serde_json::to_string(rules).map_err(AppError::internal)?,
        panel_size: rules.review_panel_size as i32,
        eligible_ids: None,
        receipts: None,
        report: None,
        reported_at: None,
        reported_by: None,
        satisfaction_rate: None,
        score_cents: None,
        grade: None,
        outcome_reason: None,
        opened_at: None,
        finalized_at: None,
        created_at: now,
    })
}

/// When contract `c` becomes active: its mid-term and completion reviews, due as the project's
/// `review_plan` says (by default the middle and the end of the service period). A review
/// whose planned day is too near to open in time (a contract signed late) is due
/// `open_days_ahead` days from today instead, and the completion never before the mid-term.
pub fn schedule(
    tx: &mut Tx<'_>,
    c: &Contract,
    pack: &RulePack,
    settings: &ReviewSettings,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let p = crate::projects::repo::find(tx, &c.project_id)?
        .ok_or_else(|| AppError::not_found("project"))?;
    let spec = crate::projects::service::spec_of(&p)?;
    let (midterm, completion) = spec.review_dates();
    let earliest =
        crate::clock::cst_date(now) + chrono::Duration::days(settings.open_days_ahead as i64);
    let midterm = midterm.max(earliest);
    let completion = completion.max(midterm + chrono::Duration::days(1));
    for (kind, due) in [
        (ReviewKind::Midterm, midterm),
        (ReviewKind::Completion, completion),
    ] {
        let r = new_review(c, kind, 1, due, &pack.reviews, settings, now)?;
        repo::insert(tx, &r)?;
        audit_review(
            tx,
            None,
            "review.scheduled",
            &r,
            json!({"contract_id": c.id, "kind": kind, "attempt": 1, "due_on": r.due_on, "opens_on": r.opens_on}),
            now,
        )?;
    }
    Ok(())
}

/// The receipts a review's draw is seeded with: the winning bid's.
fn receipts_of(conn: &mut DbConn, c: &Contract) -> Result<Vec<String>, AppError> {
    let Some(a) = crate::awards::repo::find(conn, &c.award_id)? else {
        return Ok(Vec::new());
    };
    Ok(crate::bids::repo::find(conn, &a.bid_id)?
        .map(|b| vec![b.receipt_sha256])
        .unwrap_or_default())
}

/// The draw's server seed: the review's id, public, so anyone can recompute the panel
/// (`gongyi verify-draw --review`).
pub fn seed_of(review_id: &str) -> Vec<u8> {
    format!("review:{review_id}").into_bytes()
}

/// The address of pool expert `expert_id` (its account's), if both are there.
pub fn expert_address(conn: &mut DbConn, expert_id: &str) -> Result<Option<String>, AppError> {
    let Some(e) = crate::experts::repo::find(conn, expert_id)? else {
        return Ok(None);
    };
    Ok(crate::users::repo::find(conn, &e.user_id)?.map(|u| u.email))
}

/// The invitation to seat `seat_id` (a redraw's new seat is mailed again).
fn mail_expert(
    tx: &mut Tx<'_>,
    r: &Review,
    seat_id: &str,
    expert_id: &str,
    title: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(to) = expert_address(tx, expert_id)? else {
        return Ok(());
    };
    notify::enqueue(
        tx,
        &format!("review.invited:{}:{seat_id}", r.id),
        &notify::Mail {
            to,
            subject: format!("Review panel: {title}"),
            body: format!(
                "You were drawn for the {} review of \"{title}\" (contract {}), due {}.\nAccept with a no-conflict declaration (POST /api/v1/assignments/{{id}}/accept) or decline; see GET /api/v1/me/assignments. Once the organization has reported you score it at PUT /api/v1/reviews/{}/score.\n",
                r.kind.as_str(), r.contract_id, r.due_on, r.id
            ),
        },
        now,
    )
}

/// `open_reviews`, one review: its panel drawn (the evaluation's exclusions: experts of the
/// purchasing bureau, and those with a relationship to the contracted organization in the last
/// three years), the members invited, the organization asked to report.
pub fn open(tx: &mut Tx<'_>, review_id: &str, now: NaiveDateTime) -> Result<bool, AppError> {
    write_tx(tx, |tx| {
        let Some(r) = repo::find(tx, review_id)? else {
            return Ok(false);
        };
        if r.status.next(ReviewAction::Open).is_none() {
            return Ok(false);
        }
        let (c, title, eligible, receipts) = pool_of(tx, &r, now)?;
        if !repo::open(
            tx,
            &r.id,
            &serde_json::to_string(&eligible).map_err(AppError::internal)?,
            &serde_json::to_string(&receipts).map_err(AppError::internal)?,
            now,
        )? {
            return Ok(false);
        }
        let drawn = seat_panel(tx, &r, &title, &eligible, &receipts, now)?;
        notify::enqueue_to_organization(
            tx,
            &r.organization_id,
            &format!("review.opened:{}", r.id),
            format!("Report due: {} review of \"{title}\"", r.kind.as_str()),
            format!(
                "The {} review of contract {} is open. Submit your progress report (summary, KPI results, spending) by the end of {} (UTC+8): POST /api/v1/reviews/{}/report.",
                r.kind.as_str(),
                c.id,
                r.due_on,
                r.id
            ),
            now,
        )?;
        audit_review(
            tx,
            None,
            "review.opened",
            &r,
            json!({"members": drawn.as_ref().map(|d| d.members.clone()), "alternates": drawn.as_ref().map(|d| d.alternates.clone()), "eligible": eligible.len(), "receipts_root": drawn.as_ref().map(|d| d.receipts_root.clone())}),
            now,
        )?;
        Ok(true)
    })
}

/// What a review's draw is made from, as the pool is at `now`: the contract, the project's
/// title, the eligible experts (the evaluation's exclusions) and the seeding receipts.
fn pool_of(
    tx: &mut Tx<'_>,
    r: &Review,
    now: NaiveDateTime,
) -> Result<(Contract, String, Vec<String>, Vec<String>), AppError> {
    let c = crate::contracts::repo::find(tx, &r.contract_id)?
        .ok_or_else(|| AppError::not_found("contract"))?;
    let p = crate::projects::repo::find(tx, &r.project_id)?
        .ok_or_else(|| AppError::not_found("project"))?;
    let spec = crate::projects::service::spec_of(&p)?;
    let usccs: Vec<String> = crate::orgs::repo::find(tx, &c.organization_id)?
        .map(|o| vec![o.uscc])
        .unwrap_or_default();
    let eligible = crate::experts::service::eligible(
        tx,
        spec.category,
        &c.district_id,
        &usccs,
        crate::clock::cst_date(now),
    )?;
    let receipts = receipts_of(tx, &c)?;
    Ok((c, p.title, eligible, receipts))
}

/// Draws the review's panel from `eligible` and seats it: members invited and mailed,
/// alternates on standby. None on a shortfall: no seat, the bureau mailed.
fn seat_panel(
    tx: &mut Tx<'_>,
    r: &Review,
    title: &str,
    eligible: &[String],
    receipts: &[String],
    now: NaiveDateTime,
) -> Result<Option<draw::Draw>, AppError> {
    let size = r.panel_size.max(1) as usize;
    let drawn = draw::draw(&seed_of(&r.id), receipts, eligible, size, size);
    match &drawn {
        Some(d) => {
            for (i, id) in d.members.iter().chain(d.alternates.iter()).enumerate() {
                let member = i < d.members.len();
                let seat_id = uuid::Uuid::now_v7().to_string();
                repo::insert_seat(
                    tx,
                    &ReviewSeat {
                        id: seat_id.clone(),
                        review_id: r.id.clone(),
                        expert_id: id.clone(),
                        position: i as i32 + 1,
                        status: if member {
                            SeatStatus::Invited
                        } else {
                            SeatStatus::Standby
                        },
                        invited_at: member.then_some(now),
                        declaration: None,
                        decline_reason: None,
                        responded_at: None,
                        created_at: now,
                    },
                )?;
                if member {
                    mail_expert(tx, r, &seat_id, id, title, now)?;
                }
            }
        }
        None => notify::enqueue_to_bureau(
            tx,
            &r.district_id,
            &format!("review.panel_shortfall:{}:{}", r.id, now.and_utc().timestamp()),
            &format!("Review panel shortfall: {title}"),
            &format!(
                "Only {} experts are eligible for the {} review of contract {}; it needs {size}. Add experts to the pool, then redraw: POST /api/v1/reviews/{}/panel/redraw.",
                eligible.len(),
                r.kind.as_str(),
                r.contract_id,
                r.id
            ),
            now,
        )?,
    }
    Ok(drawn)
}

/// Draws a review's panel again with the pool as it is now (after a shortfall, or when the
/// alternates ran out), for an audited reason: the bureau of its district, while the review is
/// open or scoring and before any sheet. The seed stays the review's, so `verify-draw` checks
/// the new draw against the new eligible list.
pub fn redraw(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    review_id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<Review, AppError> {
    write_tx(tx, |tx| {
        let r = repo::find(tx, review_id)?
            .filter(|r| actor.district_id() == Some(r.district_id.as_str()))
            .ok_or_else(|| AppError::not_found("review"))?;
        if !(r.is(ReviewStatus::Open) || r.is(ReviewStatus::Scoring)) {
            return Err(AppError::invalid_state(format!(
                "a review's panel is redrawn while it is open or scoring; this one is {}",
                r.status.as_str()
            )));
        }
        if !repo::sheets(tx, &r.id)?.is_empty() {
            return Err(AppError::invalid_state(
                "scoring has begun; the panel can no longer be redrawn",
            ));
        }
        let (_, title, eligible, receipts) = pool_of(tx, &r, now)?;
        let before: Vec<String> = repo::seats(tx, &r.id)?
            .into_iter()
            .map(|s| s.expert_id)
            .collect();
        if !repo::redrawn(
            tx,
            &r.id,
            r.status,
            &serde_json::to_string(&eligible).map_err(AppError::internal)?,
            &serde_json::to_string(&receipts).map_err(AppError::internal)?,
        )? {
            return Err(AppError::concurrent_update("review"));
        }
        let drawn = seat_panel(tx, &r, &title, &eligible, &receipts, now)?;
        audit_review(
            tx,
            Some(&actor.id),
            "review.panel_redrawn",
            &r,
            json!({"reason": reason, "before": before, "members": drawn.as_ref().map(|d| d.members.clone()), "alternates": drawn.as_ref().map(|d| d.alternates.clone()), "eligible": eligible.len()}),
            now,
        )?;
        repo::find(tx, &r.id)?.ok_or_else(|| AppError::not_found("review"))
    })
}

/// `open_reviews`, the other half: an open review whose due day ended without a report fails
/// (`outcome_reason: "no_report"`), with a failure's consequences.
pub fn lapse(
    tx: &mut Tx<'_>,
    review_id: &str,
    cx: Rules<'_>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    write_tx(tx, |tx| {
        let Some(r) = repo::find(tx, review_id)? else {
            return Ok(false);
        };
        if r.status.next(ReviewAction::Lapse).is_none() || !past_due_day(&r, now) {
            return Ok(false);
        }
        let outcome = repo::Outcome {
            to: ReviewStatus::Failed,
            score_cents: None,
            grade: None,
            satisfaction_rate: None,
            reason: Some(NO_REPORT),
        };
        if !repo::finalize(tx, &r.id, r.status, &outcome, now)? {
            return Ok(false);
        }
        audit_review(
            tx,
            None,
            "review.failed",
            &r,
            json!({"outcome_reason": NO_REPORT, "due_on": r.due_on}),
            now,
        )?;
        apply(tx, &r, false, cx, now)?;
        Ok(true)
    })
}

/// Whether the review's due day (24:00 UTC+8) is over at `now`.
pub fn past_due_day(r: &Review, now: NaiveDateTime) -> bool {
    crate::clock::cst_date(now) > r.due_on
}

/// A KPI's result, as the organization reports it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KpiResult {
    pub indicator: String,
    pub actual: String,
}

/// A budget line's spending.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Spending {
    pub item: String,
    pub budgeted: Money,
    pub spent: Money,
}

/// The organization's progress report.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub summary: String,
    pub kpi_results: Vec<KpiResult>,
    pub spending: Vec<Spending>,
}

/// The indicators of a contract's KPIs.
fn indicators(c: &Contract) -> Vec<String> {
    serde_json::from_str::<Vec<serde_json::Value>>(&c.kpis)
        .unwrap_or_default()
        .iter()
        .filter_map(|k| k["indicator"].as_str().map(str::to_owned))
        .collect()
}

fn check_report(c: &Contract, r: &Report) -> Result<(), AppError> {
    let mut e = Vec::new();
    let n = r.summary.trim().chars().count();
    if !(1..=5000).contains(&n) {
        e.push(FieldError::new("summary", "must be 1 to 5000 characters"));
    }
    let known = indicators(c);
    if r.kpi_results.len() > 50 {
        e.push(FieldError::new("kpi_results", "at most 50 results"));
    }
    for (i, k) in r.kpi_results.iter().enumerate() {
        if !known.is_empty() && !known.contains(&k.indicator) {
            e.push(FieldError::new(
                format!("kpi_results[{i}].indicator"),
                format!("is not a KPI of the contract ({})", known.join(", ")),
            ));
        }
        let a = k.actual.trim().chars().count();
        if !(1..=200).contains(&a) {
            e.push(FieldError::new(
                format!("kpi_results[{i}].actual"),
                "must be 1 to 200 characters",
            ));
        }
    }
    if r.spending.len() > 100 {
        e.push(FieldError::new("spending", "at most 100 lines"));
    }
    for (i, s) in r.spending.iter().enumerate() {
        let n = s.item.trim().chars().count();
        if !(1..=200).contains(&n) {
            e.push(FieldError::new(
                format!("spending[{i}].item"),
                "must be 1 to 200 characters",
            ));
        }
    }
    if e.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(e))
    }
}

/// The organization reports, while the review is open and its due day lasts.
pub fn report(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    review_id: &str,
    body: Report,
    now: NaiveDateTime,
) -> Result<Review, AppError> {
    write_tx(tx, |tx| {
        let r = repo::find(tx, review_id)?
            .filter(|r| can_see(tx, actor, r).unwrap_or(false))
            .ok_or_else(|| AppError::not_found("review"))?;
        if !is_member_of(actor, &r.organization_id) {
            return Err(AppError::forbidden());
        }
        // Late is late: open past its day, or already failed for want of the report.
        let lapsed = r.is(ReviewStatus::Failed) && r.outcome_reason.as_deref() == Some(NO_REPORT);
        if (r.is(ReviewStatus::Open) || lapsed) && past_due_day(&r, now) {
            return Err(AppError::conflict(
                "deadline_passed",
                format!("the report was due by the end of {} (UTC+8)", r.due_on),
            ));
        }
        r.status.step(ReviewAction::Report)?;
        let c = crate::contracts::repo::find(tx, &r.contract_id)?
            .ok_or_else(|| AppError::not_found("contract"))?;
        check_report(&c, &body)?;
        let text = serde_json::to_string(&body).map_err(AppError::internal)?;
        if !repo::report(tx, &r.id, &text, &actor.id, now)? {
            let current = repo::find(tx, &r.id)?.map_or(r.status, |x| x.status);
            return Err(current.refuse(ReviewAction::Report));
        }
        audit_review(
            tx,
            Some(&actor.id),
            "review.reported",
            &r,
            json!({"kpi_results": body.kpi_results.len(), "spending": body.spending.len()}),
            now,
        )?;
        for s in repo::seats(tx, &r.id)? {
            if s.is(SeatStatus::Invited) || s.is(SeatStatus::Accepted) {
                mail_scoring(tx, &r, &s.expert_id, now)?;
            }
        }
        repo::find(tx, &r.id)?.ok_or_else(|| AppError::not_found("review"))
    })
}

fn mail_scoring(
    tx: &mut Tx<'_>,
    r: &Review,
    expert_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(to) = expert_address(tx, expert_id)? else {
        return Ok(());
    };
    notify::enqueue(
        tx,
        &format!("review.reported:{}:{expert_id}", r.id),
        &notify::Mail {
            to,
            subject: format!("Report in: {} review of contract {}", r.kind.as_str(), r.contract_id),
            body: format!(
                "The organization has reported. Read it at GET /api/v1/reviews/{0} and score at PUT /api/v1/reviews/{0}/score.\n",
                r.id
            ),
        },
        now,
    )
}

/// The caller's seat on the review's panel, if any (standby seats are not theirs yet).
fn seat_of(
    conn: &mut DbConn,
    actor: &AuthUser,
    review_id: &str,
) -> Result<Option<ReviewSeat>, AppError> {
    if actor.role != Role::Expert {
        return Ok(None);
    }
    let Some(e) = crate::experts::repo::find_by_user(conn, &actor.id)? else {
        return Ok(None);
    };
    Ok(repo::seats(conn, review_id)?
        .into_iter()
        .find(|s| s.expert_id == e.id && !s.is(SeatStatus::Standby)))
}

/// Who may read review `r`: admin; the district's bureau; the organization's members; an expert
/// who accepted a seat on its panel.
pub fn can_see(conn: &mut DbConn, actor: &AuthUser, r: &Review) -> Result<bool, AppError> {
    Ok(match actor.role {
        Role::Admin => true,
        Role::Bureau => is_bureau_of(actor, &r.district_id),
        Role::Org => is_member_of(actor, &r.organization_id),
        Role::Expert => seat_of(conn, actor, &r.id)?.is_some_and(|s| s.is(SeatStatus::Accepted)),
        _ => false,
    })
}

/// The points of a sheet; stored points that do not read back are an internal error.
pub fn points_of(s: &ReviewSheet) -> Result<BTreeMap<String, Decimal>, AppError> {
    crate::domain::scoring::decode_points("review_sheets.points", &s.points)
}

const FINAL: &str = "your sheet for this review is submitted and final";

/// A review's rubric: (criterion key, maximum points) in order.
type Rubric = Vec<(String, u32)>;

/// Checks that `actor` may score review `review_id` now (an accepted member of its panel,
/// the review scoring, its sheet not in) and that `points` and `comment` fit the rubric (every
/// criterion unless `draft`): the review, the seat and the rubric's (key, maximum) pairs.
fn scoring(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    review_id: &str,
    points: &BTreeMap<String, Decimal>,
    comment: &str,
    draft: bool,
) -> Result<(Review, ReviewSeat, Rubric), AppError> {
    let r = repo::find(tx, review_id)?.ok_or_else(|| AppError::not_found("review"))?;
    let Some(seat) = seat_of(tx, actor, &r.id)?.filter(|s| s.is(SeatStatus::Accepted)) else {
        // Seen or not, only an accepted panel member scores.
        return Err(AppError::forbidden());
    };
    if repo::sheets(tx, &r.id)?
        .iter()
        .any(|s| s.expert_id == seat.expert_id)
    {
        return Err(AppError::conflict("score_final", FINAL));
    }
    r.status.step(ReviewAction::Score)?;
    let rubric: Rubric = rules_of(&r)?
        .rubric
        .iter()
        .map(|c| (c.key.clone(), c.max_points))
        .collect();
    let mut errors = crate::domain::scoring::check_points(
        rubric.iter().map(|(k, m)| (k.as_str(), *m)),
        points,
        "the rubric",
        draft,
    );
    if comment.chars().count() > 5000 {
        errors.push(FieldError::new("comment", "at most 5000 characters"));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    Ok((r, seat, rubric))
}

/// Saves the expert's draft of its sheet for review `review_id` (points may be partial); the
/// draft and the rubric criteria it leaves unscored.
pub fn save_draft(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    review_id: &str,
    sheet: crate::drafts::DraftSheet,
    now: NaiveDateTime,
) -> Result<(crate::drafts::Draft, Vec<String>), AppError> {
    write_tx(tx, |tx| {
        let (r, seat, rubric) = scoring(tx, actor, review_id, &sheet.points, &sheet.comment, true)?;
        let missing = crate::domain::scoring::unscored(
            rubric.iter().map(|(k, m)| (k.as_str(), *m)),
            &sheet.points,
        );
        let d =
            crate::drafts::Draft::new(crate::drafts::REVIEW, &r.id, &seat.expert_id, sheet, now);
        crate::drafts::save(tx, &d)?;
        Ok((d, missing))
    })
}

/// The expert's own draft for review `review_id` (404 `draft` when there is none, or the sheet
/// is in), and the rubric criteria it leaves unscored.
pub fn draft_of(
    conn: &mut DbConn,
    actor: &AuthUser,
    review_id: &str,
) -> Result<(crate::drafts::Draft, Vec<String>), AppError> {
    let r = repo::find(conn, review_id)?.ok_or_else(|| AppError::not_found("review"))?;
    let Some(seat) = seat_of(conn, actor, &r.id)?.filter(|s| s.is(SeatStatus::Accepted)) else {
        return Err(AppError::forbidden());
    };
    let d = crate::drafts::find(conn, crate::drafts::REVIEW, &r.id, &seat.expert_id)?
        .ok_or_else(|| AppError::not_found("draft"))?;
    let missing = crate::domain::scoring::unscored(
        rules_of(&r)?
            .rubric
            .iter()
            .map(|c| (c.key.as_str(), c.max_points)),
        &d.points()?,
    );
    Ok((d, missing))
}

/// An accepted panel expert's final sheet, in place of its draft; the last one finalizes the
/// review.
pub fn score_sheet(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    review_id: &str,
    points: BTreeMap<String, Decimal>,
    comment: String,
    cx: Rules<'_>,
    now: NaiveDateTime,
) -> Result<Review, AppError> {
    write_tx(tx, |tx| {
        let (r, seat, _) = scoring(tx, actor, review_id, &points, &comment, false)?;
        let sheet = ReviewSheet {
            id: uuid::Uuid::now_v7().to_string(),
            review_id: r.id.clone(),
            expert_id: seat.expert_id.clone(),
            points: crate::domain::scoring::encode_points(&points),
            comment,
            submitted_at: now,
        };
        repo::insert_sheet(tx, &sheet).map_err(AppError::unique_as("score_final", FINAL))?;
        crate::drafts::discard(tx, crate::drafts::REVIEW, &r.id, &seat.expert_id)?;
        audit_review(
            tx,
            Some(&actor.id),
            "review.sheet_submitted",
            &r,
            json!({"expert_id": seat.expert_id, "points": crate::domain::scoring::points_as_numbers(&points), "comment": sheet.comment}),
            now,
        )?;
        finalize_if_complete(tx, &r.id, cx, now)?;
        repo::find(tx, &r.id)?.ok_or_else(|| AppError::not_found("review"))
    })
}

/// Finalizes a scoring review once every seat of its panel has a sheet (and, at completion,
/// the contract has a survey; without one the bureau is mailed and the review waits). Returns
/// whether it was finalized.
pub fn finalize_if_complete(
    tx: &mut Tx<'_>,
    review_id: &str,
    cx: Rules<'_>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let Some(r) = repo::find(tx, review_id)? else {
        return Ok(false);
    };
    if !r.is(ReviewStatus::Scoring) {
        return Ok(false);
    }
    let sheets = repo::sheets(tx, &r.id)?;
    if sheets.len() < r.panel_size as usize {
        return Ok(false);
    }
    let rules = rules_of(&r)?;
    let satisfaction = match r.kind {
        ReviewKind::Midterm => None,
        ReviewKind::Completion => {
            let surveys: Vec<(i32, i32)> = repo::surveys(tx, &r.contract_id)?
                .iter()
                .map(|s| (s.respondents, s.satisfied))
                .collect();
            match score::rate(&surveys) {
                Some(rate) => Some(Satisfaction {
                    weight: rules.satisfaction_weight,
                    rate,
                }),
                None => {
                    notify::enqueue_to_bureau(
                        tx,
                        &r.district_id,
                        &format!("review.awaiting_survey:{}", r.id),
                        &format!("Completion review waits for a survey: contract {}", r.contract_id),
                        &format!(
                            "Every expert has scored the completion review {} but no resident satisfaction survey is recorded for contract {} (实施条例 art 45). Record one: POST /api/v1/contracts/{}/satisfaction.",
                            r.id, r.contract_id, r.contract_id
                        ),
                        now,
                    )?;
                    return Ok(false);
                }
            }
        }
    };
    let all: Vec<BTreeMap<String, Decimal>> =
        sheets.iter().map(points_of).collect::<Result<_, _>>()?;
    let s = score::score(&rules.rubric, &all, satisfaction)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("no sheets to score")))?;
    let grade = rules.grade(s).to_owned();
    let passed = rules.passes(s);
    let to = r.status.step(if passed {
        ReviewAction::Pass
    } else {
        ReviewAction::Fail
    })?;
    let outcome = repo::Outcome {
        to,
        score_cents: Some(score::to_cents(s)),
        grade: Some(&grade),
        satisfaction_rate: satisfaction.map(|x| x.rate.round_dp(4).to_string()),
        reason: None,
    };
    if !repo::finalize(tx, &r.id, r.status, &outcome, now)? {
        return Ok(false);
    }
    audit_review(
        tx,
        None,
        if passed {
            "review.passed"
        } else {
            "review.failed"
        },
        &r,
        json!({"score": s.to_string(), "grade": grade, "satisfaction_rate": outcome.satisfaction_rate, "sheets": sheets.len()}),
        now,
    )?;
    apply(tx, &r, passed, cx, now)?;
    Ok(true)
}

/// An outcome's consequences for the contract: a pass makes the tranches of its condition
/// releasable (withheld ones too) and may complete the contract; a first failure withholds
/// them and schedules the re-review; a second proposes termination.
fn apply(
    tx: &mut Tx<'_>,
    r: &Review,
    passed: bool,
    cx: Rules<'_>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(c) = crate::contracts::repo::lock(tx, &r.contract_id)? else {
        return Ok(());
    };
    if !c.is(ContractStatus::Active) {
        return Ok(());
    }
    let condition = r.kind.condition();
    let p = crate::projects::repo::find(tx, &c.project_id)?
        .ok_or_else(|| AppError::not_found("project"))?;
    let tranches = crate::contracts::repo::tranches_of(tx, &c.id)?;
    if passed {
        let pack = crate::projects::service::pack_of(
            &p,
            cx.packs,
            &crate::projects::service::spec_of(&p)?,
        )?;
        let mut matured = Vec::new();
        for t in tranches.iter().filter(|t| t.condition() == Some(condition)) {
            if let Some(due) = crate::contracts::release::make_releasable(tx, t, &pack, now)? {
                matured.push(json!({"tranche_id": t.id, "seq": t.seq, "release_due": due}));
            }
        }
        audit::append(
            tx,
            Event {
                actor_id: None,
                action: "contract.review_passed",
                entity: "contract",
                entity_id: &c.id,
                district_id: Some(&c.district_id),
                project_id: Some(&c.project_id),
                summary: json!({"review_id": r.id, "kind": r.kind, "attempt": r.attempt, "releasable": matured}),
            },
            now,
        )?;
        notify::enqueue_to_organization(
            tx,
            &c.organization_id,
            &format!("review.passed:{}", r.id),
            format!("Review passed: contract {}", c.id),
            format!(
                "The {} review of contract {} passed; {} tranche(s) are now releasable.",
                r.kind.as_str(),
                c.id,
                matured.len()
            ),
            now,
        )?;
        if r.kind == ReviewKind::Completion {
            crate::contracts::service::complete_if_done(tx, &c, None, now)?;
        }
        return Ok(());
    }
    if r.attempt < 2 {
        let mut withheld = Vec::new();
        for t in tranches.iter().filter(|t| t.condition() == Some(condition)) {
            if t.status.next(TrancheAction::Withhold).is_some()
                && crate::contracts::repo::withhold(tx, &t.id, t.status)?
            {
                withheld.push(t.id.clone());
            }
        }
        let due = r.due_on + chrono::Duration::days(cx.settings.rectification_days as i64);
        let rules = rules_of(r)?;
        let again = new_review(&c, r.kind, r.attempt + 1, due, &rules, cx.settings, now)?;
        repo::insert(tx, &again)?;
        audit_review(
            tx,
            None,
            "review.scheduled",
            &again,
            json!({"contract_id": c.id, "kind": again.kind, "attempt": again.attempt, "due_on": again.due_on, "opens_on": again.opens_on, "after": r.id}),
            now,
        )?;
        audit::append(
            tx,
            Event {
                actor_id: None,
                action: "contract.review_failed",
                entity: "contract",
                entity_id: &c.id,
                district_id: Some(&c.district_id),
                project_id: Some(&c.project_id),
                summary: json!({"review_id": r.id, "kind": r.kind, "attempt": r.attempt, "withheld": withheld, "rereview_id": again.id, "rereview_due_on": again.due_on}),
            },
            now,
        )?;
        notify::enqueue_to_organization(
            tx,
            &c.organization_id,
            &format!("review.failed:{}", r.id),
            format!("Review failed: contract {}", c.id),
            format!(
                "The {} review of contract {} failed{}. Its tranches are withheld; rectify within {} days — the re-review is due {}.",
                r.kind.as_str(),
                c.id,
                if r.outcome_reason.as_deref() == Some(NO_REPORT) { " (no report)" } else { "" },
                cx.settings.rectification_days,
                again.due_on
            ),
            now,
        )?;
        return Ok(());
    }
    if crate::contracts::repo::propose_termination(tx, &c.id)? {
        audit::append(
            tx,
            Event {
                actor_id: None,
                action: "contract.termination_proposed",
                entity: "contract",
                entity_id: &c.id,
                district_id: Some(&c.district_id),
                project_id: Some(&c.project_id),
                summary: json!({"review_id": r.id, "kind": r.kind, "attempt": r.attempt}),
            },
            now,
        )?;
        notify::enqueue_to_bureau(
            tx,
            &c.district_id,
            &format!("contract.termination_proposed:{}", c.id),
            &format!("Termination proposed: contract {}", c.id),
            &format!(
                "The {} re-review of contract {} failed as well; termination is proposed. Decide at POST /api/v1/contracts/{}/terminate.",
                r.kind.as_str(),
                c.id,
                c.id
            ),
            now,
        )?;
    }
    Ok(())
}

/// A satisfaction survey as recorded.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSurvey {
    pub respondents: i64,
    pub satisfied: i64,
    pub method: String,
    pub surveyed_on: NaiveDate,
}

/// Whether `actor` may record surveys of contract `c`: its district's bureau, or a community
/// worker of a community whose need the project serves (实施条例 art 45).
fn may_survey(conn: &mut DbConn, actor: &AuthUser, c: &Contract) -> Result<bool, AppError> {
    Ok(match actor.role {
        Role::Bureau => is_bureau_of(actor, &c.district_id),
        Role::Community => {
            let Some(region) = actor.region.as_ref() else {
                return Ok(false);
            };
            let mut served = false;
            for id in crate::projects::repo::need_ids(conn, &c.project_id)? {
                if crate::needs::repo::find(conn, &id)?.is_some_and(|n| n.community_id == region.id)
                {
                    served = true;
                    break;
                }
            }
            served
        }
        _ => false,
    })
}

/// Records a survey of the residents a contract serves; a completion review waiting for one is
/// finalized in the same transaction.
pub fn record_survey(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    contract_id: &str,
    body: NewSurvey,
    cx: Rules<'_>,
    now: NaiveDateTime,
) -> Result<Survey, AppError> {
    write_tx(tx, |tx| {
        let c = crate::contracts::repo::find(tx, contract_id)?
            .filter(|c| c.status.is_public() || is_bureau_of(actor, &c.district_id))
            .ok_or_else(|| AppError::not_found("contract"))?;
        if !may_survey(tx, actor, &c)? {
            return Err(AppError::forbidden());
        }
        let mut e = Vec::new();
        if !(1..=1_000_000).contains(&body.respondents) {
            e.push(FieldError::new("respondents", "must be 1 to 1000000"));
        }
        if body.satisfied < 0 || body.satisfied > body.respondents {
            e.push(FieldError::new(
                "satisfied",
                "must be between 0 and respondents",
            ));
        }
        if !SURVEY_METHODS.contains(&body.method.as_str()) {
            e.push(FieldError::new(
                "method",
                format!("must be one of {}", SURVEY_METHODS.join(", ")),
            ));
        }
        if body.surveyed_on > crate::clock::cst_date(now) {
            e.push(FieldError::new("surveyed_on", "cannot be in the future"));
        }
        if !e.is_empty() {
            return Err(AppError::validation(e));
        }
        if c.status != ContractStatus::Active {
            return Err(AppError::invalid_state(format!(
                "the contract is {}; surveys are recorded while it is active",
                c.status.as_str()
            )));
        }
        let s = Survey {
            id: uuid::Uuid::now_v7().to_string(),
            contract_id: c.id.clone(),
            respondents: body.respondents as i32,
            satisfied: body.satisfied as i32,
            method: body.method.clone(),
            surveyed_on: body.surveyed_on,
            recorded_by: actor.id.clone(),
            created_at: now,
        };
        repo::insert_survey(tx, &s)?;
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "contract.survey_recorded",
                entity: "contract",
                entity_id: &c.id,
                district_id: Some(&c.district_id),
                project_id: Some(&c.project_id),
                summary: json!({"survey_id": s.id, "respondents": s.respondents, "satisfied": s.satisfied, "method": s.method, "surveyed_on": s.surveyed_on}),
            },
            now,
        )?;
        for r in repo::of_contract(tx, &c.id)? {
            if r.kind == ReviewKind::Completion && r.is(ReviewStatus::Scoring) {
                finalize_if_complete(tx, &r.id, cx, now)?;
            }
        }
        Ok(s)
    })
}

/// A contract's surveys and their totals.
pub struct Surveys {
    pub surveys: Vec<Survey>,
    pub respondents: i64,
    pub satisfied: i64,
    pub rate: Option<Decimal>,
}

pub fn surveys(conn: &mut DbConn, contract_id: &str) -> Result<Surveys, AppError> {
    let surveys = repo::surveys(conn, contract_id)?;
    let pairs: Vec<(i32, i32)> = surveys
        .iter()
        .map(|s| (s.respondents, s.satisfied))
        .collect();
    Ok(Surveys {
        respondents: pairs.iter().map(|(r, _)| *r as i64).sum(),
        satisfied: pairs.iter().map(|(_, s)| *s as i64).sum(),
        rate: score::rate(&pairs).map(|r| r.round_dp(4)),
        surveys,
    })
}

/// A review as a viewer may see it: the others' sheets hidden from an expert until its own is
/// in, and from the organization until the review is finalized.
pub struct View {
    pub review: Review,
    pub seats: Vec<ReviewSeat>,
    pub sheets: Vec<ReviewSheet>,
    pub rules: ReviewRule,
}

pub fn get(conn: &mut DbConn, actor: &AuthUser, id: &str) -> Result<View, AppError> {
    let r = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("review"))?;
    if !can_see(conn, actor, &r)? {
        return Err(AppError::not_found("review"));
    }
    view(conn, actor, r)
}

fn view(conn: &mut DbConn, actor: &AuthUser, r: Review) -> Result<View, AppError> {
    let seats = repo::seats(conn, &r.id)?;
    let mut sheets = repo::sheets(conn, &r.id)?;
    let finalized = r.finalized_at.is_some();
    match actor.role {
        Role::Expert => {
            let mine = seat_of(conn, actor, &r.id)?.map(|s| s.expert_id);
            let own_in = sheets.iter().any(|s| Some(&s.expert_id) == mine.as_ref());
            if !own_in {
                sheets.retain(|s| Some(&s.expert_id) == mine.as_ref());
            }
        }
        Role::Org if !finalized => sheets.clear(),
        _ => {}
    }
    let rules = rules_of(&r)?;
    Ok(View {
        review: r,
        seats,
        sheets,
        rules,
    })
}

/// Which reviews `actor` may list.
pub fn list(
    conn: &mut DbConn,
    actor: &AuthUser,
    f: &repo::Filter<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<View>, AppError> {
    let expert;
    let scope = match actor.role {
        Role::Admin => repo::Scope::All,
        Role::Bureau => match actor.district_id() {
            Some(d) => repo::Scope::District(d),
            None => return Ok(Vec::new()),
        },
        Role::Org => match actor.organization_id.as_deref() {
            Some(o) => repo::Scope::Organization(o),
            None => return Ok(Vec::new()),
        },
        Role::Expert => match crate::experts::repo::find_by_user(conn, &actor.id)? {
            Some(e) => {
                expert = e.id;
                repo::Scope::Expert(&expert)
            }
            None => return Ok(Vec::new()),
        },
        _ => return Err(AppError::forbidden()),
    };
    let rows = repo::list(conn, scope, f, after, limit)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        // An expert lists the panels it sits on, but reads one only once it accepted.
        if actor.role == Role::Expert && !can_see(conn, actor, &r)? {
            let rules = rules_of(&r)?;
            let seats = repo::seats(conn, &r.id)?;
            out.push(View {
                review: Review { report: None, ..r },
                seats,
                sheets: Vec::new(),
                rules,
            });
            continue;
        }
        out.push(view(conn, actor, r)?);
    }
    Ok(out)
}

/// An expert's review assignments, with their reviews, in seat id order after `after`.
pub fn assignments(
    conn: &mut DbConn,
    actor: &AuthUser,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<(ReviewSeat, Review)>, AppError> {
    let Some(e) = crate::experts::repo::find_by_user(conn, &actor.id)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for s in repo::seats_of_expert(conn, &e.id, after, limit)? {
        if let Some(r) = repo::find(conn, &s.review_id)? {
            out.push((s, r));
        }
    }
    Ok(out)
}

fn own_seat(conn: &mut DbConn, actor: &AuthUser, seat_id: &str) -> Result<ReviewSeat, AppError> {
    let e = crate::experts::repo::find_by_user(conn, &actor.id)?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    repo::find_seat(conn, seat_id)?
        .filter(|s| s.expert_id == e.id && !s.is(SeatStatus::Standby))
        .ok_or_else(|| AppError::not_found("assignment"))
}

/// The terms of a review seat as an assignment (the round is the contract's).
pub fn terms_of_seat(
    conn: &mut DbConn,
    s: &ReviewSeat,
    r: &Review,
    packs: &RulePacks,
) -> Result<crate::evaluation::service::SeatTerms, AppError> {
    let round = crate::contracts::repo::find(conn, &r.contract_id)?.map_or(0, |k| k.round);
    let done = s.is(SeatStatus::Accepted)
        && repo::sheets(conn, &r.id)?
            .iter()
            .any(|x| x.expert_id == s.expert_id);
    crate::evaluation::service::seat_terms(
        conn,
        packs,
        &r.project_id,
        s.status,
        s.invited_at,
        round,
        done,
    )
}

/// Whether `seat_id` is a review seat (the assignment routes serve both kinds).
pub fn is_review_seat(conn: &mut DbConn, seat_id: &str) -> Result<bool, AppError> {
    Ok(repo::find_seat(conn, seat_id)?.is_some())
}

/// Accepting a review seat, with the declaration of no conflict, opens the report to the expert.
pub fn accept(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    seat_id: &str,
    now: NaiveDateTime,
) -> Result<(ReviewSeat, Review), AppError> {
    write_tx(tx, |tx| {
        let s = own_seat(tx, actor, seat_id)?;
        let to = s.status.step(SeatAction::Accept)?;
        let r = repo::find(tx, &s.review_id)?.ok_or_else(|| AppError::not_found("review"))?;
        if r.finalized_at.is_some() {
            return Err(AppError::invalid_state("the review is finalized"));
        }
        if !repo::answer_seat(tx, &s.id, s.status, to, Some("no_conflict"), None, now)? {
            let current = repo::find_seat(tx, &s.id)?.map_or(s.status, |x| x.status);
            return Err(current.refuse(SeatAction::Accept));
        }
        audit_review(
            tx,
            Some(&actor.id),
            "review.seat_accepted",
            &r,
            json!({"seat_id": s.id, "expert_id": s.expert_id}),
            now,
        )?;
        let s = repo::find_seat(tx, &s.id)?.ok_or_else(|| AppError::not_found("assignment"))?;
        Ok((s, r))
    })
}

/// Declining a review seat invites the next alternate; with none left the bureau is told.
pub fn decline(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    seat_id: &str,
    reason: String,
    now: NaiveDateTime,
) -> Result<(ReviewSeat, Review), AppError> {
    write_tx(tx, |tx| {
        let s = own_seat(tx, actor, seat_id)?;
        let to = s.status.step(SeatAction::Decline)?;
        let r = repo::find(tx, &s.review_id)?.ok_or_else(|| AppError::not_found("review"))?;
        if !repo::answer_seat(tx, &s.id, s.status, to, None, Some(&reason), now)? {
            let current = repo::find_seat(tx, &s.id)?.map_or(s.status, |x| x.status);
            return Err(current.refuse(SeatAction::Decline));
        }
        invite_alternate(tx, &r, &s, "declined", now)?;
        audit_review(
            tx,
            Some(&actor.id),
            "review.seat_declined",
            &r,
            json!({"seat_id": s.id, "expert_id": s.expert_id, "reason": reason}),
            now,
        )?;
        let s = repo::find_seat(tx, &s.id)?.ok_or_else(|| AppError::not_found("assignment"))?;
        Ok((s, r))
    })
}

/// A seat left (`declined`, or `expired` unanswered): the first alternate on standby is
/// invited and mailed; with none left the bureau is told to add experts and redraw.
fn invite_alternate(
    tx: &mut Tx<'_>,
    r: &Review,
    left: &ReviewSeat,
    how: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let next = repo::seats(tx, &r.id)?
        .into_iter()
        .find(|x| x.is(SeatStatus::Standby));
    match next {
        Some(alt) if repo::invite_seat(tx, &alt.id, now)? => {
            let title = crate::projects::repo::find(tx, &r.project_id)?
                .map(|p| p.title)
                .unwrap_or_default();
            mail_expert(tx, r, &alt.id, &alt.expert_id, &title, now)
        }
        _ => notify::enqueue_to_bureau(
            tx,
            &r.district_id,
            &format!("review.no_alternate:{}:{}", r.id, left.id),
            &format!("Review panel short of alternates: contract {}", r.contract_id),
            &format!(
                "An expert {how} a seat on the {} review of contract {} and no alternate is left. Add experts to the pool, then redraw: POST /api/v1/reviews/{}/panel/redraw.",
                r.kind.as_str(),
                r.contract_id,
                r.id
            ),
            now,
        ),
    }
}

/// `expire_invitations`, review seats: an expert who neither accepts nor declines within the
/// project's rule pack's `response_hours` loses the seat, and the next alternate is invited.
pub fn expire_invitations(
    conn: &mut Tx<'_>,
    packs: &RulePacks,
    now: NaiveDateTime,
) -> Result<u64, AppError> {
    let mut expired = 0;
    for s in repo::stale_invitations(conn, now, 500)? {
        let done = write_tx(conn, |tx| {
            let Some(r) = repo::find(tx, &s.review_id)? else {
                return Ok(false);
            };
            let Some(p) = crate::projects::repo::find(tx, &r.project_id)? else {
                return Ok(false);
            };
            let spec = crate::projects::service::spec_of(&p)?;
            let hours = crate::projects::service::pack_of(&p, packs, &spec)?
                .panel
                .response_hours;
            let due = s
                .invited_at
                .is_some_and(|at| at + chrono::Duration::hours(hours as i64) <= now);
            // A seat answered meanwhile no longer expires: skipped, not refused.
            let Some(to) = s.status.next(SeatAction::Expire) else {
                return Ok(false);
            };
            if !due
                || !repo::answer_seat(
                    tx,
                    &s.id,
                    s.status,
                    to,
                    None,
                    Some("no answer in time"),
                    now,
                )?
            {
                return Ok(false);
            }
            invite_alternate(tx, &r, &s, "did not answer", now)?;
            audit_review(
                tx,
                None,
                "review.seat_expired",
                &r,
                json!({"seat_id": s.id, "expert_id": s.expert_id, "hours": hours}),
                now,
            )?;
            Ok::<_, AppError>(true)
        })?;
        if done {
            expired += 1;
        }
    }
    Ok(expired)
}

/// An organization's record of delivery: its contracts, how they ended, every finalized
/// review's grade and score, and the mean score.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrackRecord {
    pub contracts: u64,
    pub completed: u64,
    pub terminated: u64,
    pub reviews: Vec<ReviewRecord>,
    /// The mean of the scored reviews (two decimals), `null` before any.
    pub mean_score: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewRecord {
    pub contract_id: String,
    #[schema(value_type = String)]
    pub kind: String,
    pub attempt: i32,
    pub score: Option<Decimal>,
    pub grade: Option<String>,
    pub outcome_reason: Option<String>,
}

pub fn track_record(conn: &mut DbConn, organization_id: &str) -> Result<TrackRecord, AppError> {
    let contracts = crate::contracts::repo::of_organization(conn, organization_id)?;
    let public: Vec<&Contract> = contracts.iter().filter(|c| c.status.is_public()).collect();
    let reviews: Vec<ReviewRecord> = repo::of_organization(conn, organization_id)?
        .into_iter()
        .filter(|r| r.finalized_at.is_some())
        .map(|r| ReviewRecord {
            contract_id: r.contract_id,
            kind: r.kind.as_str().into(),
            attempt: r.attempt,
            score: r.score_cents.map(score::from_cents),
            grade: r.grade.or_else(|| Some("fail".into())),
            outcome_reason: r.outcome_reason,
        })
        .collect();
    let scored: Vec<Decimal> = reviews.iter().filter_map(|r| r.score).collect();
    let mean_score = (!scored.is_empty()).then(|| {
        (scored.iter().sum::<Decimal>() / Decimal::from(scored.len() as u64))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    });
    Ok(TrackRecord {
        contracts: public.len() as u64,
        completed: public
            .iter()
            .filter(|c| c.is(ContractStatus::Completed))
            .count() as u64,
        terminated: public
            .iter()
            .filter(|c| c.is(ContractStatus::Terminated))
            .count() as u64,
        reviews,
        mean_score,
    })
}

/// When the experts' scoring of a review closes: `scoring_days` after its due day.
pub fn scoring_closes(r: &Review, settings: &ReviewSettings) -> NaiveDate {
    scoring_closes_on(r, settings.scoring_days)
}

pub fn scoring_closes_on(r: &Review, scoring_days: u32) -> NaiveDate {
    r.due_on + chrono::Duration::days(scoring_days as i64)
}
