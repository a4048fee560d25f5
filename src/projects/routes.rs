//! HTTP for projects.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Amendment, Project};
use super::service::{self, Listed, ProjectQuery};
use crate::auth::{Access, AuthUser, MaybeUser, Role};
use crate::clock::utc;
use crate::domain::rules::Method;
use crate::domain::spec::{Category, ProjectSpec};
use crate::error::{decode_json, AppError, Problem};
use crate::http::conditional::{etag, if_match};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate;

const BUREAU: Access = Access::Roles(&[Role::Bureau]);

pub fn register(r: &mut Router) {
    r.post("/api/v1/projects", BUREAU, create_project)
        .get("/api/v1/projects", Access::Public, list_projects)
        .get("/api/v1/projects/{id}", Access::Public, get_project)
        .patch("/api/v1/projects/{id}", BUREAU, update_project)
        .post("/api/v1/projects/{id}/publish", BUREAU, publish_project)
        .post("/api/v1/projects/{id}/cancel", BUREAU, cancel_project)
        .post("/api/v1/projects/{id}/republish", BUREAU, republish_project)
        .get(
            "/api/v1/projects/{id}/amendments",
            Access::Public,
            list_amendments,
        );
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectResponse {
    pub id: String,
    #[serde(flatten)]
    pub spec: ProjectSpec,
    pub district_id: String,
    #[schema(value_type = super::model::ProjectStatus)]
    pub status: String,
    pub status_reason: Option<String>,
    pub round: i32,
    /// The rule pack snapshot the project was published under (the current pack for drafts).
    /// `GET /projects/{id}` gives the whole pack; a list gives its summary (`method`, `name`,
    /// `citation`, `summary: true`), about 1.5 KB less an item.
    #[schema(value_type = Object)]
    pub rule_pack: serde_json::Value,
    /// Warnings from rules a pack marks `warn` (e.g. a rating threshold on a tender).
    pub warnings: Vec<String>,
    /// Lowercase hex SHA-256 of the seed, published at publication.
    pub seed_commitment: Option<String>,
    /// The seed itself, only after bidding has closed.
    pub seed: Option<String>,
    /// When the bids are (or were) opened: the close of bidding.
    pub bid_open_at: DateTime<Utc>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The latest round's award and, once drawn up, its contract (`GET /projects/{id}` only;
    /// lists leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award: Option<ProjectAward>,
}

/// Where a project's round ended: its award and contract.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectAward {
    pub award_id: String,
    pub round: i32,
    /// pending_objections, final or revoked.
    #[schema(value_type = crate::awards::model::AwardStatus)]
    pub status: String,
    pub bid_id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub amount: crate::domain::Money,
    pub contract_id: Option<String>,
}

fn respond(state: &State, p: Project) -> Result<ProjectResponse, AppError> {
    respond_as(state, p, true)
}

/// The project as a list shows it: its rule pack summarised.
fn list_item(state: &State, p: Project) -> Result<ProjectResponse, AppError> {
    respond_as(state, p, false)
}

fn respond_as(state: &State, p: Project, whole: bool) -> Result<ProjectResponse, AppError> {
    let spec = service::spec_of(&p)?;
    let pack = service::pack_of(&p, &state.rules, &spec)?;
    let rule_pack = if whole {
        serde_json::to_value(&pack).map_err(AppError::internal)?
    } else {
        serde_json::json!({"method": pack.method, "name": pack.name, "citation": pack.citation, "summary": true})
    };
    Ok(ProjectResponse {
        rule_pack,
        warnings: decode_json("projects.warnings", &p.warnings)?,
        bid_open_at: utc(p.closed_at.unwrap_or(p.bid_close_at)),
        id: p.id,
        spec,
        district_id: p.district_id,
        status: p.status.into(),
        status_reason: p.status_reason,
        round: p.round,
        seed_commitment: p.seed_commitment,
        seed: p.seed,
        version: p.version,
        created_at: utc(p.created_at),
        updated_at: utc(p.updated_at),
        published_at: p.published_at.map(utc),
        closed_at: p.closed_at.map(utc),
        award: None,
    })
}

fn one(
    state: &State,
    status: actix_web::http::StatusCode,
    p: Project,
) -> Result<HttpResponse, AppError> {
    let version = p.version;
    Ok(HttpResponse::build(status)
        .insert_header(etag(version))
        .json(respond(state, p)?))
}

/// Draft a service project.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProjectSpec, security(("bearer" = [])),
    responses((status = 201, body = ProjectResponse), (status = 422, body = Problem, description = "names the field and the rule")))]
pub async fn create_project(
    state: State,
    actor: AuthUser,
    body: Json<ProjectSpec>,
) -> Result<HttpResponse, AppError> {
    let spec = body.0;
    let now = state.clock.now_naive();
    let st = state.clone();
    let p = state
        .db
        .write(move |c| service::create(c, &actor, spec, &st.rules, now))
        .await?;
    one(&state, actix_web::http::StatusCode::CREATED, p)
}

/// Edit a draft, or amend an open project.
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = String, Path), ("If-Match" = String, Header)),
    request_body(content = Object, description = "part of the project spec; on an open project also `reason`"),
    security(("bearer" = [])),
    responses((status = 200, body = ProjectResponse), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_project(
    state: State,
    actor: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<serde_json::Map<String, serde_json::Value>>,
) -> Result<HttpResponse, AppError> {
    let version = if_match(&req)?;
    let mut patch = body.0;
    let reason = match patch.remove("reason") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(_) => return Err(AppError::field("reason", "must be a string")),
    };
    let (id, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    let p = state
        .db
        .write(move |c| {
            service::update(
                c,
                &actor,
                &id,
                service::Change {
                    version,
                    patch,
                    reason,
                },
                &st.rules,
                now,
            )
        })
        .await?;
    one(&state, actix_web::http::StatusCode::OK, p)
}

/// Publish a project for bidding.
#[utoipa::path(post, path = "/api/v1/projects/{id}/publish", tag = "projects", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProjectResponse), (status = 409, body = Problem, description = "budget_exceeded or invalid_state"),
              (status = 422, body = Problem)))]
pub async fn publish_project(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, now, st) = (id.into_inner(), state.clock.now_naive(), state.clone());
    let p = state
        .db
        .write(move |c| service::publish(c, &actor, &id, &st.rules, &st.sealer, now))
        .await?;
    one(&state, actix_web::http::StatusCode::OK, p)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[schema(schema_with = crate::openapi::text_1000)]
    pub reason: String,
}

/// Cancel a project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/cancel", tag = "projects", request_body = CancelRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = ProjectResponse), (status = 409, body = Problem)))]
pub async fn cancel_project(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<CancelRequest>,
) -> Result<HttpResponse, AppError> {
    let reason = validate::text("reason", &body.reason, 1, 1000)?;
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    let p = state
        .db
        .write(move |c| service::cancel(c, &actor, &id, reason, now))
        .await?;
    one(&state, actix_web::http::StatusCode::OK, p)
}

/// Read a service project.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = ProjectResponse), (status = 404, body = Problem)))]
pub async fn get_project(
    state: State,
    viewer: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (p, award) = state
        .db
        .read(move |c| {
            let p = service::get(c, viewer.0.as_ref(), &id)?;
            let award = project_award(c, &p.id)?;
            Ok((p, award))
        })
        .await?;
    let version = p.version;
    let mut body = respond(&state, p)?;
    body.award = award;
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(body))
}

/// The project's latest award, with its winner's name and its contract.
fn project_award(
    conn: &mut crate::db::DbConn,
    project_id: &str,
) -> Result<Option<ProjectAward>, AppError> {
    Ok(
        crate::awards::service::outcome_of_project(conn, project_id)?.map(|o| ProjectAward {
            award_id: o.award.id,
            round: o.award.round,
            status: o.award.status.into(),
            bid_id: o.award.bid_id,
            organization_id: o.award.organization_id,
            organization_name: o.organization_name,
            amount: crate::domain::Money::from_fen(o.award.amount_fen),
            contract_id: o.contract_id,
        }),
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListProjectsQuery {
    #[param(inline, value_type = Option<super::model::ProjectStatus>)]
    pub status: Option<String>,
    #[param(inline)]
    pub category: Option<Category>,
    /// A district, street or community: projects in it and under it.
    pub region_id: Option<String>,
    #[param(inline)]
    pub method: Option<Method>,
    /// Substring of the title.
    pub q: Option<String>,
    /// Budget ceiling at least this (yuan, up to two decimals).
    #[param(value_type = Option<String>, pattern = r"^\d{1,13}(\.\d{1,2})?$", example = "100000.00")]
    pub budget_min: Option<String>,
    /// Budget ceiling at most this (yuan, up to two decimals).
    #[param(value_type = Option<String>, pattern = r"^\d{1,13}(\.\d{1,2})?$", example = "500000.00")]
    pub budget_max: Option<String>,
    /// Bidding closes after this instant (RFC 3339).
    pub closes_after: Option<DateTime<Utc>>,
    /// Bidding closes before this instant (RFC 3339).
    pub closes_before: Option<DateTime<Utc>>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List service projects.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListProjectsQuery),
    responses((status = 200, body = Page<ProjectResponse>, description = "newest first; drafts only for the bureau in scope")))]
pub async fn list_projects(
    state: State,
    viewer: MaybeUser,
    query: Query<ListProjectsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let status = match &q.status {
        Some(s) => Some(super::model::ProjectStatus::parse(s).ok_or_else(|| {
            AppError::field(
                "status",
                format!(
                    "must be one of {}",
                    super::model::ProjectStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?),
        None => None,
    };
    let money = |field: &str, v: &Option<String>| -> Result<Option<i64>, AppError> {
        v.as_deref()
            .map(|t| {
                // A filter takes whole yuan too ("100000"), unlike an amount written to a record.
                t.parse::<rust_decimal::Decimal>()
                    .ok()
                    .filter(|d| {
                        d.scale() <= 2
                            && !d.is_sign_negative()
                            && t.chars().all(|c| c.is_ascii_digit() || c == '.')
                    })
                    .and_then(|d| d.checked_mul(rust_decimal::Decimal::ONE_HUNDRED))
                    .and_then(|f| rust_decimal::prelude::ToPrimitive::to_i64(&f))
                    .ok_or_else(|| {
                        AppError::field(
                            field,
                            "must be an amount in yuan with at most two decimals, e.g. 100000.00",
                        )
                    })
            })
            .transpose()
    };
    let (budget_min, budget_max) = (
        money("budget_min", &q.budget_min)?,
        money("budget_max", &q.budget_max)?,
    );
    if let (Some(lo), Some(hi)) = (budget_min, budget_max) {
        if lo > hi {
            return Err(AppError::field("budget_min", "must not exceed budget_max"));
        }
    }
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let query = ProjectQuery {
        budget_min,
        budget_max,
        closes_after: q.closes_after.map(|t| t.naive_utc()),
        closes_before: q.closes_before.map(|t| t.naive_utc()),
        status,
        category: q.category.map(|c| c.as_str().to_owned()),
        method: q.method.map(|m| m.as_str().to_owned()),
        region_id: q.region_id,
        q: crate::validate::search("q", q.q)?,
    };
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let rendered = state.projects_rendered.clone();
    let listed = state
        .db
        .read(move |c| {
            let viewer = viewer.0.as_ref();
            service::list(c, viewer, query, &rendered, after.as_deref(), fetch)
        })
        .await?;
    let docs = match listed {
        Listed::Rendered(docs) => docs,
        Listed::Rows(rows) => state.projects_rendered.render_all(
            rows,
            |p| (p.id.clone(), p.version),
            |(id, v)| (id.as_str(), *v),
            |p| list_item(&state, p),
        )?,
    };
    Ok(Page::from_rows(docs, limit, |((id, _), _)| id.clone(), |(_, doc)| doc).respond())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AmendmentResponse {
    pub id: String,
    pub reason: String,
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    pub old_close_at: DateTime<Utc>,
    pub new_close_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

impl TryFrom<Amendment> for AmendmentResponse {
    type Error = AppError;

    fn try_from(a: Amendment) -> Result<Self, AppError> {
        Ok(AmendmentResponse {
            changes: decode_json("project_amendments.changes", &a.changes)?,
            id: a.id,
            reason: a.reason,
            old_close_at: utc(a.old_close_at),
            new_close_at: utc(a.new_close_at),
            at: utc(a.at),
        })
    }
}

/// List a project's amendments.
#[utoipa::path(get, path = "/api/v1/projects/{id}/amendments", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AmendmentResponse>), (status = 404, body = Problem)))]
pub async fn list_amendments(
    state: State,
    viewer: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let rows = state
        .db
        .read(move |c| service::amendments(c, viewer.0.as_ref(), &id))
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(AmendmentResponse::try_from)
            .collect::<Result<Vec<_>, _>>()?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepublishRequest {
    pub bid_close_at: DateTime<Utc>,
}

/// Republish a failed project for another round.
#[utoipa::path(post, path = "/api/v1/projects/{id}/republish", tag = "projects", request_body = RepublishRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = ProjectResponse, description = "open, with round + 1"), (status = 409, body = Problem)))]
pub async fn republish_project(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<RepublishRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, now, st, close) = (
        id.into_inner(),
        state.clock.now_naive(),
        state.clone(),
        body.bid_close_at,
    );
    let p = state
        .db
        .write(move |c| service::republish(c, &actor, &id, close, &st.rules, &st.sealer, now))
        .await?;
    one(&state, actix_web::http::StatusCode::OK, p)
}
