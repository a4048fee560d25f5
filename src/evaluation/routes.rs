//! HTTP for the panel, experts' assignments, score sheets and the evaluation.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, ScoreSheet, Seat, SeatStatus};
use crate::auth::{Access, AuthUser, MaybeUser, Role};
use crate::bids::routes::DrawInputs;
use crate::clock::utc;
use crate::db::DbConn;
use crate::domain::scoring::display;
use crate::error::{decode_json, AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate;

const EXPERT: Access = Access::Roles(&[Role::Expert]);

pub fn register(r: &mut Router) {
    r.get("/api/v1/projects/{id}/panel", Access::Public, get_panel)
        .get(
            "/api/v1/projects/{id}/evaluation",
            Access::Public,
            get_evaluation,
        )
        .get("/api/v1/me/assignments", EXPERT, my_assignments)
        .post("/api/v1/assignments/{id}/accept", EXPERT, accept_assignment)
        .post(
            "/api/v1/assignments/{id}/decline",
            EXPERT,
            decline_assignment,
        )
        .put("/api/v1/bids/{id}/score", EXPERT, score_bid)
        .put("/api/v1/bids/{id}/score/draft", EXPERT, save_bid_draft)
        .get("/api/v1/bids/{id}/score/draft", EXPERT, bid_draft)
        .post(
            "/api/v1/projects/{id}/panel/redraw",
            Access::Roles(&[Role::Bureau]),
            redraw_panel,
        );
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PanelMember {
    pub expert_id: String,
    pub name: String,
    /// Members: invited (waiting for an answer), accepted, declined, or expired (no answer
    /// within the pack's `response_hours`). Alternates: standby, invited in order when a
    /// member declines or lets the invitation expire (they then list among the members).
    #[schema(value_type = super::model::SeatStatus)]
    pub status: String,
    pub position: i32,
    /// Score sheets this expert has submitted (one per qualified bid when done).
    pub sheets_submitted: u32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PanelResponse {
    pub members: Vec<PanelMember>,
    pub alternates: Vec<PanelMember>,
    pub draw: PanelDraw,
}

/// The draw: its public inputs and the revealed seed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PanelDraw {
    pub seed: Option<String>,
    #[serde(flatten)]
    pub inputs: DrawInputs,
}

/// Read a project's expert panel and its draw.
#[utoipa::path(get, path = "/api/v1/projects/{id}/panel", tag = "evaluation", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = PanelResponse), (status = 404, body = Problem), (status = 409, body = Problem, description = "not_closed")))]
pub async fn get_panel(
    state: State,
    viewer: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    panel_response(&state, viewer.0, id.into_inner()).await
}

async fn panel_response(
    state: &State,
    viewer: Option<AuthUser>,
    id: String,
) -> Result<HttpResponse, AppError> {
    let service::Panel {
        draw,
        seats,
        seed,
        sheets,
    } = state
        .db
        .read(move |c| service::panel(c, viewer.as_ref(), &id))
        .await?;
    let mut members = Vec::new();
    let mut alternates = Vec::new();
    for (s, name) in seats {
        let standby = s.is(SeatStatus::Standby);
        let m = PanelMember {
            sheets_submitted: sheets.get(&s.expert_id).copied().unwrap_or(0),
            expert_id: s.expert_id,
            name,
            status: s.status.into(),
            position: s.position,
        };
        // Alternates wait on standby; one invited after a decline has joined the members.
        if standby {
            alternates.push(m);
        } else {
            members.push(m);
        }
    }
    Ok(HttpResponse::Ok().json(PanelResponse {
        members,
        alternates,
        draw: PanelDraw {
            seed,
            inputs: DrawInputs {
                eligible_ids: decode_json("panel_draws.eligible_ids", &draw.eligible_ids)?,
                receipts: decode_json("panel_draws.receipts", &draw.receipts)?,
                receipts_root: draw.receipts_root,
                size: draw.size,
                status: draw.status.into(),
            },
        },
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AssignmentResponse {
    pub id: String,
    /// evaluation or review.
    pub kind: String,
    pub project_id: String,
    /// The project's title.
    pub project_title: String,
    pub review_id: Option<String>,
    pub round: i32,
    /// invited, accepted, declined or expired as the seat stands; `completed` once the expert
    /// has submitted every sheet it owes (each qualified bid of the round, or the review's one);
    /// `standby` seats are not the expert's yet and are not listed.
    #[schema(value_type = String, pattern = "^(invited|accepted|declined|expired|completed)$")]
    pub status: String,
    /// While invited: the time to accept or decline by (the rule pack's `response_hours` after
    /// the invitation), after which the seat passes to the next alternate.
    pub respond_by: Option<DateTime<Utc>>,
    /// When the work is due: while invited, `respond_by`; for a review, when its scoring closes.
    pub due_at: Option<DateTime<Utc>>,
}

/// An evaluation seat as an assignment.
fn evaluation_assignment(
    conn: &mut DbConn,
    s: Seat,
    packs: &crate::domain::rules::RulePacks,
) -> Result<AssignmentResponse, AppError> {
    let t = service::terms_of_seat(conn, &s, packs)?;
    let by = t.respond_by.map(utc);
    Ok(AssignmentResponse {
        id: s.id,
        kind: "evaluation".into(),
        project_id: s.project_id,
        project_title: t.project_title,
        review_id: None,
        round: s.round,
        status: t.status.into(),
        respond_by: by,
        due_at: by,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List the signed-in expert's assignments.
#[utoipa::path(get, path = "/api/v1/me/assignments", tag = "evaluation", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<AssignmentResponse>)))]
pub async fn my_assignments(
    state: State,
    actor: AuthUser,
    q: Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let (days, st) = (state.settings.reviews.scoring_days, state.clone());
    // Evaluation and review seats, merged in id order (both are time-ordered UUIDs).
    let rows = state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for s in service::assignments(c, &actor, after.as_deref(), fetch)? {
                out.push(evaluation_assignment(c, s, &st.rules)?);
            }
            for (s, r) in crate::reviews::service::assignments(c, &actor, after.as_deref(), fetch)?
            {
                out.push(review_assignment(c, s, &r, days, &st.rules)?);
            }
            out.sort_by(|a, b| a.id.cmp(&b.id));
            out.truncate(fetch as usize);
            Ok(out)
        })
        .await?;
    Ok(Page::from_rows(rows, limit, |s| s.id.clone(), |a| a).respond())
}

/// A review seat as an assignment: due when the panel's scoring closes.
fn review_assignment(
    conn: &mut DbConn,
    s: crate::reviews::repo::ReviewSeat,
    r: &crate::reviews::repo::Review,
    scoring_days: u32,
    packs: &crate::domain::rules::RulePacks,
) -> Result<AssignmentResponse, AppError> {
    let t = crate::reviews::service::terms_of_seat(conn, &s, r, packs)?;
    let closes = crate::reviews::service::scoring_closes_on(r, scoring_days);
    Ok(AssignmentResponse {
        id: s.id,
        kind: "review".into(),
        project_id: r.project_id.clone(),
        project_title: t.project_title,
        review_id: Some(r.id.clone()),
        round: t.round,
        status: t.status.into(),
        respond_by: t.respond_by.map(utc),
        due_at: Some(utc(crate::clock::end_of_day_cst(closes))),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"declaration": "no_conflict"}))]
pub struct AcceptRequest {
    /// Must be `no_conflict`: the expert declares no relationship with any bidder
    /// (政府采购法实施条例 art 9).
    pub declaration: String,
}

/// Accept a panel invitation, declaring no conflict.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/accept", tag = "evaluation", request_body = AcceptRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = AssignmentResponse), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn accept_assignment(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<AcceptRequest>,
) -> Result<HttpResponse, AppError> {
    if body.declaration != "no_conflict" {
        return Err(AppError::field(
            "declaration",
            "must be \"no_conflict\"; an expert with a conflict declines",
        ));
    }
    let (id, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    let days = state.settings.reviews.scoring_days;
    let a = state
        .db
        .write(move |c| {
            if crate::reviews::service::is_review_seat(c, &id)? {
                let (s, r) = crate::reviews::service::accept(c, &actor, &id, now)?;
                return review_assignment(c, s, &r, days, &st.rules);
            }
            let s = service::accept(c, &actor, &id, now)?;
            evaluation_assignment(c, s, &st.rules)
        })
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "本人与投标机构存在利害关系"}))]
pub struct DeclineRequest {
    #[schema(schema_with = crate::openapi::text_1000)]
    pub reason: String,
}

/// Decline a panel invitation.
#[utoipa::path(post, path = "/api/v1/assignments/{id}/decline", tag = "evaluation", request_body = DeclineRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = AssignmentResponse, description = "the next alternate is invited"), (status = 409, body = Problem)))]
pub async fn decline_assignment(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<DeclineRequest>,
) -> Result<HttpResponse, AppError> {
    let reason = validate::text("reason", &body.reason, 1, 1000)?;
    let (id, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    let days = state.settings.reviews.scoring_days;
    let a = state
        .db
        .write(move |c| {
            if crate::reviews::service::is_review_seat(c, &id)? {
                let (s, r) = crate::reviews::service::decline(c, &actor, &id, reason, now)?;
                return review_assignment(c, s, &r, days, &st.rules);
            }
            let s = service::decline(c, &actor, &id, reason, now)?;
            evaluation_assignment(c, s, &st.rules)
        })
        .await?;
    Ok(HttpResponse::Ok().json(a))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": {"plan": 42.5, "team": 25}, "comment": "方案完整，团队配置合理", "dissent": null}))]
pub struct ScoreRequest {
    /// Points per criterion key, 0..max_points, at most two decimals.
    #[schema(value_type = Object, example = json!({"plan": 42.5, "team": 25}))]
    pub points: BTreeMap<String, serde_json::Number>,
    pub comment: String,
    pub dissent: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SheetResponse {
    pub expert_id: String,
    pub bid_id: String,
    /// Points per criterion key, as numbers (as sent).
    #[schema(value_type = Object)]
    pub points: BTreeMap<String, serde_json::Number>,
    pub comment: String,
    pub dissent: Option<String>,
    pub submitted_at: DateTime<Utc>,
}

impl TryFrom<ScoreSheet> for SheetResponse {
    type Error = AppError;

    fn try_from(s: ScoreSheet) -> Result<Self, AppError> {
        Ok(SheetResponse {
            points: crate::domain::scoring::points_as_numbers(&service::points_of(&s)?),
            expert_id: s.expert_id,
            bid_id: s.bid_id,
            comment: s.comment,
            dissent: s.dissent,
            submitted_at: utc(s.submitted_at),
        })
    }
}

/// A bid's sheet as sent, checked for form: points as decimals, the comment and dissent (at
/// most 4000 characters; a blank dissent is none).
fn bid_sheet(
    points: &BTreeMap<String, serde_json::Number>,
    comment: &str,
    dissent: Option<&str>,
) -> Result<crate::drafts::DraftSheet, AppError> {
    let dissent = match dissent.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(validate::text("dissent", d, 1, 4000)?),
        None => None,
    };
    Ok(crate::drafts::DraftSheet {
        points: crate::domain::scoring::parse_points(points)?,
        comment: validate::text("comment", comment, 0, 4000)?,
        dissent,
    })
}

/// Save a draft of your sheet for a bid: only you see it, and it counts for nothing until you
/// submit the sheet with `PUT /bids/{id}/score` (final). Points may be partial; `missing`
/// names the criteria still unscored.
#[utoipa::path(put, path = "/api/v1/bids/{id}/score/draft", tag = "evaluation", request_body = crate::drafts::DraftRequest, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = crate::drafts::DraftResponse), (status = 404, body = Problem, description = "not an accepted panel member"),
              (status = 409, body = Problem, description = "score_final: the sheet is submitted; invalid_state when the round is not scoring"), (status = 422, body = Problem)))]
pub async fn save_bid_draft(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<crate::drafts::DraftRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let sheet = bid_sheet(&b.points, &b.comment, b.dissent.as_deref())?;
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    let (d, missing) = state
        .db
        .write(move |c| service::save_draft(c, &actor, &id, sheet, now))
        .await?;
    Ok(HttpResponse::Ok().json(crate::drafts::DraftResponse::of(d, missing)?))
}

/// Read your draft of a bid's sheet (404 `not_found` once the sheet is submitted or before any
/// draft).
#[utoipa::path(get, path = "/api/v1/bids/{id}/score/draft", tag = "evaluation", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = crate::drafts::DraftResponse), (status = 404, body = Problem)))]
pub async fn bid_draft(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (d, missing) = state
        .db
        .read(move |c| service::draft_of(c, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(crate::drafts::DraftResponse::of(d, missing)?))
}

/// Submit your score sheet for a bid. A submitted sheet is final: it cannot be changed or
/// withdrawn (a second submission is 409 `score_final`); to work on it first, save drafts
/// with `PUT /bids/{id}/score/draft`.
#[utoipa::path(put, path = "/api/v1/bids/{id}/score", tag = "evaluation", request_body = ScoreRequest, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = SheetResponse), (status = 404, body = Problem, description = "not an accepted panel member"),
              (status = 409, body = Problem, description = "score_final"), (status = 422, body = Problem)))]
pub async fn score_bid(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<ScoreRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let sheet = bid_sheet(&b.points, &b.comment, b.dissent.as_deref())?;
    let (points, comment, dissent) = (sheet.points, sheet.comment, sheet.dissent);
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    let s = state
        .db
        .write(move |c| service::score(c, &actor, &id, points, comment, dissent, now))
        .await?;
    Ok(HttpResponse::Ok().json(SheetResponse::try_from(s)?))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RankingRow {
    pub rank: usize,
    pub bid_id: String,
    pub organization_id: String,
    pub organization_name: String,
    /// Two decimals, rounded half-up for display (the ranking used exact values).
    pub technical_score: String,
    /// The part of `technical_score` given by `track_record` criteria ("0.00" without them).
    pub track_record_points: String,
    pub price_score: String,
    pub total_score: String,
    pub price: String,
    pub abnormally_low: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EvaluationResponse {
    /// scoring, or complete when every panel member's sheets are in.
    #[schema(value_type = String, pattern = "^(scoring|complete)$")]
    pub status: String,
    pub sheets: Vec<SheetResponse>,
    /// Present once complete; scores rounded half-up to two places for display.
    pub ranking: Option<Vec<RankingRow>>,
}

/// Read a project's score sheets and ranking.
#[utoipa::path(get, path = "/api/v1/projects/{id}/evaluation", tag = "evaluation", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = EvaluationResponse), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "not_closed before the opening; not_public_yet for anyone but the bureau and the panel before the award")))]
pub async fn get_evaluation(
    state: State,
    viewer: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, st) = (id.into_inner(), state.clone());
    let v = state
        .db
        .read(move |c| service::evaluation(c, viewer.0.as_ref(), &id, &st.rules))
        .await?;
    Ok(HttpResponse::Ok().json(EvaluationResponse {
        status: if v.complete {
            "complete".into()
        } else {
            "scoring".into()
        },
        sheets: v
            .sheets
            .into_iter()
            .map(SheetResponse::try_from)
            .collect::<Result<_, _>>()?,
        ranking: v.ranking.map(|rows| {
            rows.into_iter()
                .map(|r| RankingRow {
                    rank: r.rank,
                    bid_id: r.bid_id,
                    organization_name: v.names.get(&r.organization_id).cloned().unwrap_or_default(),
                    organization_id: r.organization_id,
                    technical_score: format!("{:.2}", display(r.technical)),
                    track_record_points: format!("{:.2}", display(r.record_points)),
                    price_score: format!("{:.2}", display(r.price_score)),
                    total_score: format!("{:.2}", display(r.total)),
                    price: format!("{:.2}", r.price),
                    abnormally_low: r.abnormally_low,
                })
                .collect()
        }),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "两名专家回避后备选专家不足，补充专家库后重新抽取"}))]
pub struct RedrawRequest {
    #[schema(schema_with = crate::openapi::text_1000)]
    pub reason: String,
}

/// Draw the expert panel anew.
#[utoipa::path(post, path = "/api/v1/projects/{id}/panel/redraw", tag = "evaluation", request_body = RedrawRequest,
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = PanelResponse), (status = 409, body = Problem, description = "scoring has begun")))]
pub async fn redraw_panel(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<RedrawRequest>,
) -> Result<HttpResponse, AppError> {
    let reason = validate::text("reason", &body.reason, 1, 1000)?;
    let (pid, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    let (viewer, project) = (actor.clone(), pid.clone());
    state
        .db
        .write(move |c| service::redraw(c, &actor, &pid, reason, &st.rules, now))
        .await?;
    panel_response(&state, Some(viewer), project).await
}
