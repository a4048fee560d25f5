//! HTTP for reviews (the experts' whole tool: a REST client reads the report and scores it) and
//! the residents' satisfaction surveys of a contract.

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::repo::{Filter, ReviewKind, ReviewStatus, Survey};
use super::score;
use super::service::{self, NewSurvey, Report, View};
use crate::auth::{Access, AuthUser, MaybeUser, Role};
use crate::clock::utc;
use crate::domain::rules::ReviewCriterion;
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate;

const READERS: Access = Access::Roles(&[Role::Admin, Role::Bureau, Role::Org, Role::Expert]);

pub fn register(r: &mut Router) {
    r.get("/api/v1/reviews", READERS, list_reviews)
        .get("/api/v1/reviews/{id}", READERS, get_review)
        .post(
            "/api/v1/reviews/{id}/report",
            Access::Roles(&[Role::Org]),
            report_review,
        )
        .post(
            "/api/v1/reviews/{id}/panel/redraw",
            Access::Roles(&[Role::Bureau]),
            redraw_review_panel,
        )
        .put(
            "/api/v1/reviews/{id}/score",
            Access::Roles(&[Role::Expert]),
            score_review,
        )
        .put(
            "/api/v1/reviews/{id}/score/draft",
            Access::Roles(&[Role::Expert]),
            save_review_draft,
        )
        .get(
            "/api/v1/reviews/{id}/score/draft",
            Access::Roles(&[Role::Expert]),
            review_draft,
        )
        .post(
            "/api/v1/contracts/{id}/satisfaction",
            Access::Roles(&[Role::Bureau, Role::Community]),
            record_survey,
        )
        .get(
            "/api/v1/contracts/{id}/satisfaction",
            Access::Public,
            list_surveys,
        );
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PanelSeat {
    pub expert_id: String,
    pub name: String,
    /// invited, accepted, declined, expired or standby.
    #[schema(value_type = crate::evaluation::model::SeatStatus)]
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReviewSheetResponse {
    pub expert_id: String,
    #[schema(value_type = Object)]
    pub points: BTreeMap<String, serde_json::Number>,
    pub comment: String,
    pub submitted_at: DateTime<Utc>,
}

/// What `gongyi verify-draw --review` recomputes the panel from: the server seed is
/// `review:{id}`, public from the start.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReviewDraw {
    pub seed: String,
    pub size: i32,
    pub eligible_ids: Vec<String>,
    pub receipts: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReviewResponse {
    pub id: String,
    pub contract_id: String,
    pub project_id: String,
    #[schema(value_type = super::model::ReviewKind)]
    pub kind: String,
    /// 1, or 2 for the re-review after a failure.
    pub attempt: i32,
    pub due_on: NaiveDate,
    pub opens_on: NaiveDate,
    /// The day the experts' scoring closes (`due_on` + `reviews.scoring_days`).
    pub scoring_closes_on: NaiveDate,
    #[schema(value_type = super::model::ReviewStatus)]
    pub status: String,
    pub panel: Vec<PanelSeat>,
    pub draw: Option<ReviewDraw>,
    pub rubric: Vec<ReviewCriterion>,
    /// The organization's report, once in.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    pub reported_at: Option<DateTime<Utc>>,
    pub sheets: Vec<ReviewSheetResponse>,
    /// Σ satisfied ÷ Σ respondents the completion score used (four decimals).
    pub satisfaction_rate: Option<Decimal>,
    /// Two decimals, half-up, rounded once.
    pub score: Option<Decimal>,
    pub grade: Option<String>,
    pub finalized_at: Option<DateTime<Utc>>,
    /// `no_report` when it failed for want of a report.
    pub outcome_reason: Option<String>,
}

fn review(v: View, names: &BTreeMap<String, String>, scoring_days: u32) -> ReviewResponse {
    let r = v.review;
    let strings = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    };
    let draw = r.opened_at.map(|_| ReviewDraw {
        seed: String::from_utf8_lossy(&service::seed_of(&r.id)).into_owned(),
        size: r.panel_size,
        eligible_ids: strings(&r.eligible_ids),
        receipts: strings(&r.receipts),
    });
    ReviewResponse {
        scoring_closes_on: r.due_on + chrono::Duration::days(scoring_days as i64),
        panel: v
            .seats
            .iter()
            .map(|s| PanelSeat {
                expert_id: s.expert_id.clone(),
                name: names.get(&s.expert_id).cloned().unwrap_or_default(),
                status: s.status.as_str().into(),
            })
            .collect(),
        draw,
        rubric: v.rules.rubric,
        report: r
            .report
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
        reported_at: r.reported_at.map(utc),
        sheets: v
            .sheets
            .iter()
            .map(|s| ReviewSheetResponse {
                expert_id: s.expert_id.clone(),
                points: crate::domain::scoring::points_as_numbers(
                    &service::points_of(s).unwrap_or_default(),
                ),
                comment: s.comment.clone(),
                submitted_at: utc(s.submitted_at),
            })
            .collect(),
        satisfaction_rate: r.satisfaction_rate.as_deref().and_then(|s| s.parse().ok()),
        score: r.score_cents.map(score::from_cents),
        grade: r.grade,
        finalized_at: r.finalized_at.map(utc),
        outcome_reason: r.outcome_reason,
        id: r.id,
        contract_id: r.contract_id,
        project_id: r.project_id,
        kind: r.kind.as_str().into(),
        attempt: r.attempt,
        due_on: r.due_on,
        opens_on: r.opens_on,
        status: r.status.as_str().into(),
    }
}

/// The panel experts' names.
fn names(
    conn: &mut crate::db::DbConn,
    views: &[View],
) -> Result<BTreeMap<String, String>, AppError> {
    let mut out = BTreeMap::new();
    for s in views.iter().flat_map(|v| v.seats.iter()) {
        if out.contains_key(&s.expert_id) {
            continue;
        }
        if let Some(e) = crate::experts::repo::find(conn, &s.expert_id)? {
            out.insert(s.expert_id.clone(), e.name);
        }
    }
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListReviewsQuery {
    pub contract_id: Option<String>,
    /// scheduled, open, scoring, passed or failed.
    pub status: Option<String>,
    /// midterm or completion.
    pub kind: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List reviews: an admin's all, a bureau's district, an organization's own contracts', an
/// expert's panels (a review it has not accepted shows without its report).
#[utoipa::path(get, path = "/api/v1/reviews", tag = "reviews", params(ListReviewsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ReviewResponse>), (status = 422, body = Problem)))]
pub async fn list_reviews(
    state: State,
    actor: AuthUser,
    query: Query<ListReviewsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(ReviewStatus::parse(s).ok_or_else(|| {
            AppError::field(
                "status",
                "must be scheduled, open, scoring, passed or failed",
            )
        })?),
    };
    let kind = match q.kind.as_deref() {
        None => None,
        Some(s) => Some(
            ReviewKind::parse(s)
                .ok_or_else(|| AppError::field("kind", "must be midterm or completion"))?,
        ),
    };
    if let Some(c) = &q.contract_id {
        validate::text("contract_id", c, 1, 100)?;
    }
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let days = state.settings.reviews.scoring_days;
    let (views, names) = state
        .db
        .read(move |c| {
            let f = Filter {
                contract_id: q.contract_id.as_deref(),
                status,
                kind,
            };
            let views = service::list(c, &actor, &f, after.as_deref(), fetch)?;
            let names = names(c, &views)?;
            Ok((views, names))
        })
        .await?;
    Ok(Page::from_rows(
        views,
        limit,
        |v| v.review.id.clone(),
        |v| review(v, &names, days),
    )
    .respond())
}

async fn answer(state: &State, actor: AuthUser, id: String) -> Result<HttpResponse, AppError> {
    let days = state.settings.reviews.scoring_days;
    let (v, names) = state
        .db
        .read(move |c| {
            let v = service::get(c, &actor, &id)?;
            let names = names(c, std::slice::from_ref(&v))?;
            Ok((v, names))
        })
        .await?;
    Ok(HttpResponse::Ok().json(review(v, &names, days)))
}

/// A review: the report once in; the other experts' sheets hidden from an expert until its own
/// is in, and from the organization until the review is finalized.
#[utoipa::path(get, path = "/api/v1/reviews/{id}", tag = "reviews", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ReviewResponse), (status = 404, body = Problem, description = "not a review the caller may read (an expert: until it accepted its seat)")))]
pub async fn get_review(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    answer(&state, actor, id.into_inner()).await
}

/// The organization's progress report, while the review is open and before its due day ends
/// (24:00 UTC+8).
#[utoipa::path(post, path = "/api/v1/reviews/{id}/report", tag = "reviews", request_body = Report, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ReviewResponse, description = "scoring"), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem, description = "deadline_passed after the due day; invalid_state when not open"), (status = 422, body = Problem)))]
pub async fn report_review(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<Report>,
) -> Result<HttpResponse, AppError> {
    let (id, now, who) = (id.into_inner(), state.clock.now_naive(), actor.clone());
    let rid = id.clone();
    state
        .db
        .write(move |c| service::report(c, &who, &rid, body.0, now))
        .await?;
    answer(&state, actor, id).await
}

/// Draw a review's panel anew with the pool as it is now (after a shortfall, or when the
/// alternates ran out): the bureau of its district, while the review is open or scoring and no
/// sheet is in. The reason is audited.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/panel/redraw", tag = "reviews", request_body = crate::evaluation::routes::RedrawRequest,
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ReviewResponse), (status = 404, body = Problem, description = "not a review of the caller's district"),
              (status = 409, body = Problem, description = "invalid_state: the review is not open or scoring, or scoring has begun"), (status = 422, body = Problem)))]
pub async fn redraw_review_panel(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<crate::evaluation::routes::RedrawRequest>,
) -> Result<HttpResponse, AppError> {
    let reason = validate::text("reason", &body.reason, 1, 1000)?;
    let (id, now, who) = (id.into_inner(), state.clock.now_naive(), actor.clone());
    let rid = id.clone();
    state
        .db
        .write(move |c| service::redraw(c, &who, &rid, reason, now))
        .await?;
    answer(&state, actor, id).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": {"implementation": 30, "inputs": 17.5, "finance": 18, "outcomes": 21}, "comment": "按计划推进，台账完整"}))]
pub struct ReviewScoreRequest {
    /// Points per rubric key, 0..max_points, at most two decimals.
    #[schema(value_type = Object)]
    pub points: BTreeMap<String, serde_json::Number>,
    pub comment: String,
}

/// Save a draft of your sheet for a review: only you see it, and it counts for nothing until
/// you submit the sheet with `PUT /reviews/{id}/score` (final). Points may be partial;
/// `missing` names the rubric criteria still unscored.
#[utoipa::path(put, path = "/api/v1/reviews/{id}/score/draft", tag = "reviews", request_body = crate::drafts::DraftRequest, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = crate::drafts::DraftResponse), (status = 403, body = Problem, description = "not an accepted member of the panel"),
              (status = 409, body = Problem, description = "score_final: the sheet is in; invalid_state when not scoring"), (status = 422, body = Problem)))]
pub async fn save_review_draft(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<crate::drafts::DraftRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    if b.dissent.is_some() {
        return Err(AppError::field(
            "dissent",
            "a review's sheet has no dissent",
        ));
    }
    let sheet = crate::drafts::DraftSheet {
        points: crate::domain::scoring::parse_points(&b.points)?,
        comment: validate::text("comment", &b.comment, 0, 5000)?,
        dissent: None,
    };
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    let (d, missing) = state
        .db
        .write(move |c| service::save_draft(c, &actor, &id, sheet, now))
        .await?;
    Ok(HttpResponse::Ok().json(crate::drafts::DraftResponse::of(d, missing)?))
}

/// Read your draft of a review's sheet (404 once the sheet is in or before any draft).
#[utoipa::path(get, path = "/api/v1/reviews/{id}/score/draft", tag = "reviews", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = crate::drafts::DraftResponse), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn review_draft(
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

/// An accepted panel expert's sheet. A submitted sheet is final (a second one is 409
/// `score_final`); save drafts with `PUT /reviews/{id}/score/draft` first. The last sheet
/// finalizes the review.
#[utoipa::path(put, path = "/api/v1/reviews/{id}/score", tag = "reviews", request_body = ReviewScoreRequest, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ReviewResponse), (status = 403, body = Problem, description = "not an accepted member of the panel"),
              (status = 409, body = Problem, description = "score_final: the sheet is in; invalid_state when not scoring"), (status = 422, body = Problem)))]
pub async fn score_review(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<ReviewScoreRequest>,
) -> Result<HttpResponse, AppError> {
    let points = crate::domain::scoring::parse_points(&body.points)?;
    let comment = validate::text("comment", &body.comment, 0, 5000)?;
    let (id, now, who, st) = (
        id.into_inner(),
        state.clock.now_naive(),
        actor.clone(),
        state.clone(),
    );
    let rid = id.clone();
    state
        .db
        .write(move |c| {
            let cx = service::Rules {
                packs: &st.rules,
                settings: &st.settings.reviews,
            };
            service::score_sheet(c, &who, &rid, points, comment, cx, now)
        })
        .await?;
    answer(&state, actor, id).await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SurveyResponse {
    pub id: String,
    pub contract_id: String,
    pub respondents: i32,
    pub satisfied: i32,
    pub method: String,
    pub surveyed_on: NaiveDate,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<Survey> for SurveyResponse {
    fn from(s: Survey) -> Self {
        SurveyResponse {
            id: s.id,
            contract_id: s.contract_id,
            respondents: s.respondents,
            satisfied: s.satisfied,
            method: s.method,
            surveyed_on: s.surveyed_on,
            recorded_by: s.recorded_by,
            created_at: utc(s.created_at),
        }
    }
}

/// Record a resident satisfaction survey of an active contract (实施条例 art 45): the bureau
/// of its district, or a community worker of a community whose need the project serves.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/satisfaction", tag = "reviews", request_body = NewSurvey, params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 201, body = SurveyResponse), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_survey(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<NewSurvey>,
) -> Result<HttpResponse, AppError> {
    let (id, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    let s = state
        .db
        .write(move |c| {
            let cx = service::Rules {
                packs: &st.rules,
                settings: &st.settings.reviews,
            };
            service::record_survey(c, &actor, &id, body.0, cx, now)
        })
        .await?;
    Ok(HttpResponse::Created().json(SurveyResponse::from(s)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SurveysResponse {
    pub surveys: Vec<SurveyResponse>,
    pub respondents: i64,
    pub satisfied: i64,
    /// Σ satisfied ÷ Σ respondents (four decimals); `null` before any survey.
    pub rate: Option<Decimal>,
}

/// A contract's satisfaction surveys and their rate, seen as the contract is.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/satisfaction", tag = "reviews", params(("id" = String, Path)),
    responses((status = 200, body = SurveysResponse), (status = 404, body = Problem)))]
pub async fn list_surveys(
    state: State,
    actor: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let s = state
        .db
        .read(move |c| {
            // Seen as the contract is (404 to whoever may not see it).
            crate::contracts::service::get(c, actor.0.as_ref(), &id)?;
            service::surveys(c, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SurveysResponse {
        surveys: s.surveys.into_iter().map(SurveyResponse::from).collect(),
        respondents: s.respondents,
        satisfied: s.satisfied,
        rate: s.rate,
    }))
}
