//! HTTP for awards and objections.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Notice, Objection};
use crate::auth::{Access, AuthUser, Role};
use crate::clock::utc;
use crate::domain::Money;
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate;

const BUREAU: Access = Access::Roles(&[Role::Bureau]);

pub fn register(r: &mut Router) {
    r.post("/api/v1/projects/{id}/award", BUREAU, award_project)
        .get("/api/v1/awards/{id}", Access::Public, get_award)
        .get("/api/v1/awards/{id}/notice", Access::Public, award_notice)
        .post(
            "/api/v1/awards/{id}/objections",
            Access::Roles(&[Role::Org]),
            file_objection,
        )
        .get(
            "/api/v1/objections",
            Access::Roles(&[Role::Admin, Role::Bureau, Role::Org]),
            list_objections,
        )
        .post("/api/v1/objections/{id}/resolve", BUREAU, resolve_objection);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AwardResponse {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    pub bid_id: String,
    pub organization_id: String,
    /// The winning organization's name.
    pub organization_name: String,
    pub amount: Money,
    pub justification: Option<String>,
    /// The award's objections by status (the bureau lists them at `GET /objections`).
    pub objections: service::ObjectionCounts,
    /// The names of the panel's members (实施条例 art 43).
    pub panel: Vec<String>,
    /// The end of the objection window (working days, 政府采购法 art 52).
    pub objection_deadline: DateTime<Utc>,
    /// pending_objections, final or revoked.
    #[schema(value_type = super::model::AwardStatus)]
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub finalized_at: Option<DateTime<Utc>>,
}

fn respond(
    Notice {
        award: a,
        panel,
        organization_name,
        objections,
    }: Notice,
) -> AwardResponse {
    AwardResponse {
        organization_name,
        objections,
        id: a.id,
        project_id: a.project_id,
        round: a.round,
        bid_id: a.bid_id,
        organization_id: a.organization_id,
        amount: Money::from_fen(a.amount_fen),
        justification: a.justification,
        panel,
        objection_deadline: utc(a.objection_deadline),
        status: a.status.into(),
        created_at: utc(a.created_at),
        finalized_at: a.finalized_at.map(utc),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwardRequest {
    pub bid_id: String,
    /// Required when the bid is not ranked first.
    pub justification: Option<String>,
}

/// Award a project to a bid.
#[utoipa::path(post, path = "/api/v1/projects/{id}/award", tag = "awards", request_body = AwardRequest, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 201, body = AwardResponse), (status = 409, body = Problem, description = "evaluation_incomplete, invalid_state"),
              (status = 422, body = Problem, description = "justification required for a bid not ranked first")))]
pub async fn award_project(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<AwardRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    if let Some(j) = &b.justification {
        validate::text("justification", j, 0, 4000)?;
    }
    let (id, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    let notice = state
        .db
        .write(move |c| service::award(c, &actor, &id, &b.bid_id, b.justification, &st.rules, now))
        .await?;
    Ok(HttpResponse::Created().json(respond(notice)))
}

/// Read an award notice.
#[utoipa::path(get, path = "/api/v1/awards/{id}", tag = "awards", params(("id" = String, Path)),
    responses((status = 200, body = AwardResponse), (status = 404, body = Problem)))]
pub async fn get_award(state: State, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let notice = state.db.read(move |c| service::get_notice(c, &id)).await?;
    Ok(HttpResponse::Ok().json(respond(notice)))
}

/// The printable award notice (中标/成交公告: project, winner, amount, panel, objection deadline).
#[utoipa::path(get, path = "/api/v1/awards/{id}/notice", tag = "awards", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String, description = "printable HTML"), (status = 404, body = Problem)))]
pub async fn award_notice(state: State, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let page = state
        .db
        .read(move |c| {
            let n = service::get_notice(c, &id)?;
            crate::contracts::document::notice(c, n)
        })
        .await?;
    Ok(crate::contracts::routes::html(page))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObjectionResponse {
    pub id: String,
    pub award_id: String,
    pub organization_id: String,
    pub grounds: String,
    /// open, upheld or dismissed.
    #[schema(value_type = super::model::ObjectionStatus)]
    pub status: String,
    pub reply: Option<String>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl From<Objection> for ObjectionResponse {
    fn from(o: Objection) -> Self {
        ObjectionResponse {
            id: o.id,
            award_id: o.award_id,
            organization_id: o.organization_id,
            grounds: o.grounds,
            status: o.status.into(),
            reply: o.reply,
            created_at: utc(o.created_at),
            resolved_at: o.resolved_at.map(utc),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionRequest {
    #[schema(schema_with = crate::openapi::text_4000)]
    pub grounds: String,
}

/// File an objection to an award.
#[utoipa::path(post, path = "/api/v1/awards/{id}/objections", tag = "awards", request_body = ObjectionRequest, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 201, body = ObjectionResponse), (status = 403, body = Problem, description = "not_a_bidder"),
              (status = 409, body = Problem, description = "deadline_passed")))]
pub async fn file_objection(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<ObjectionRequest>,
) -> Result<HttpResponse, AppError> {
    let grounds = validate::text("grounds", &body.grounds, 1, 4000)?;
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    let o = state
        .db
        .write(move |c| service::object(c, &actor, &id, grounds, now))
        .await?;
    Ok(HttpResponse::Created().json(ObjectionResponse::from(o)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Upheld,
    Dismissed,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub outcome: Outcome,
    #[schema(schema_with = crate::openapi::text_4000)]
    pub reply: String,
}

/// Resolve an objection.
#[utoipa::path(post, path = "/api/v1/objections/{id}/resolve", tag = "awards", request_body = ResolveRequest, params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ObjectionResponse, description = "upheld revokes the award and reopens the evaluation"), (status = 409, body = Problem)))]
pub async fn resolve_objection(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<ResolveRequest>,
) -> Result<HttpResponse, AppError> {
    let reply = validate::text("reply", &body.reply, 1, 4000)?;
    let upheld = matches!(body.outcome, Outcome::Upheld);
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    let o = state
        .db
        .write(move |c| service::resolve(c, &actor, &id, upheld, reply, now))
        .await?;
    Ok(HttpResponse::Ok().json(ObjectionResponse::from(o)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListObjectionsQuery {
    pub project_id: Option<String>,
    pub award_id: Option<String>,
    #[param(value_type = Option<super::model::ObjectionStatus>)]
    pub status: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List objections: an admin's all, a bureau's district's, an organization's own; filtered by
/// project, award and status, oldest first.
#[utoipa::path(get, path = "/api/v1/objections", tag = "awards", params(ListObjectionsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ObjectionResponse>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_objections(
    state: State,
    actor: AuthUser,
    query: Query<ListObjectionsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(
            super::model::ObjectionStatus::parse(s)
                .ok_or_else(|| AppError::field("status", "must be open, upheld or dismissed"))?,
        ),
    };
    for (field, v) in [("project_id", &q.project_id), ("award_id", &q.award_id)] {
        if let Some(v) = v {
            validate::text(field, v, 1, 100)?;
        }
    }
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let f = super::repo::ObjectionFilter {
        project_id: q.project_id,
        award_id: q.award_id,
        status,
        ..Default::default()
    };
    let rows = state
        .db
        .read(move |c| service::list_objections(c, &actor, f, after.as_deref(), fetch))
        .await?;
    Ok(Page::from_rows(rows, limit, |o| o.id.clone(), ObjectionResponse::from).respond())
}
