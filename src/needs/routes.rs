//! HTTP for needs: intake, screening actions, and the scoped listing (the guide list).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::Need;
use super::service::{
    self, check_beneficiaries, Corrections, ListedNeeds, NeedCursor, NeedKey, NeedQuery, NeedSort,
    NewNeed,
};
use crate::auth::{Access, AuthUser, Role};
use crate::clock::utc;
use crate::domain::spec::{Category, Source, Urgency};
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate::{self, Errors};

const STAFF: Access = Access::Roles(&[Role::Admin, Role::Bureau, Role::Street, Role::Community]);
const COMMUNITY: Access = Access::Roles(&[Role::Community]);
const STREET: Access = Access::Roles(&[Role::Street]);
const BUREAU: Access = Access::Roles(&[Role::Bureau]);

pub fn register(r: &mut Router) {
    r.post("/api/v1/needs", COMMUNITY, create_need)
        .get("/api/v1/needs", STAFF, list_needs)
        .get("/api/v1/needs/{id}", STAFF, get_need)
        .post("/api/v1/needs/{id}/support", COMMUNITY, support_need)
        .post("/api/v1/needs/{id}/forward", STREET, forward_need)
        .post("/api/v1/needs/{id}/return", STREET, return_need)
        .post("/api/v1/needs/{id}/resubmit", COMMUNITY, resubmit_need)
        .post("/api/v1/needs/{id}/accept", BUREAU, accept_need)
        .post("/api/v1/needs/{id}/reject", BUREAU, reject_need)
        .post("/api/v1/needs/{id}/merge", BUREAU, merge_need);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NeedResponse {
    pub id: String,
    pub community_id: String,
    pub street_id: String,
    pub district_id: String,
    pub title: String,
    pub description: String,
    #[schema(value_type = Category)]
    pub category: String,
    #[schema(value_type = Source)]
    pub source: String,
    pub external_ref: Option<String>,
    pub beneficiary_group: String,
    pub beneficiaries: i64,
    #[schema(value_type = Urgency)]
    pub urgency: String,
    pub supporters: i64,
    #[schema(value_type = super::model::NeedStatus)]
    pub status: String,
    pub status_reason: Option<String>,
    pub merged_into: Option<String>,
    pub project_id: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Need> for NeedResponse {
    fn from(n: Need) -> Self {
        NeedResponse {
            id: n.id,
            community_id: n.community_id,
            street_id: n.street_id,
            district_id: n.district_id,
            title: n.title,
            description: n.description,
            category: n.category,
            source: n.source,
            external_ref: n.external_ref,
            beneficiary_group: n.beneficiary_group,
            beneficiaries: n.beneficiaries,
            urgency: n.urgency,
            supporters: n.supporters,
            status: n.status.into(),
            status_reason: n.status_reason,
            merged_into: n.merged_into,
            project_id: n.project_id,
            version: n.version,
            created_at: utc(n.created_at),
            updated_at: utc(n.updated_at),
        }
    }
}

fn ok(n: Need) -> HttpResponse {
    HttpResponse::Ok().json(NeedResponse::from(n))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNeedRequest {
    #[schema(schema_with = crate::openapi::text_200)]
    pub title: String,
    #[schema(schema_with = crate::openapi::text_4000)]
    pub description: String,
    pub category: Category,
    pub source: Source,
    /// The ticket id in the source channel (required for hotline_12345).
    pub external_ref: Option<String>,
    #[schema(schema_with = crate::openapi::text_200)]
    pub beneficiary_group: String,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub beneficiaries: i64,
    pub urgency: Urgency,
}

/// Submit a community need.
#[utoipa::path(post, path = "/api/v1/needs", tag = "needs", request_body = CreateNeedRequest, security(("bearer" = [])),
    responses((status = 201, body = NeedResponse), (status = 422, body = Problem)))]
pub async fn create_need(
    state: State,
    actor: AuthUser,
    body: Json<CreateNeedRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let mut e = Errors::default();
    let title = e.take(validate::text("title", &b.title, 1, 200));
    let description = e.take(validate::text("description", &b.description, 1, 4000));
    let group = e.take(validate::text(
        "beneficiary_group",
        &b.beneficiary_group,
        1,
        200,
    ));
    let beneficiaries = e.take(check_beneficiaries("beneficiaries", b.beneficiaries));
    let external_ref = e.take(service::ticket(
        b.source.as_str(),
        b.external_ref.as_deref(),
    ));
    e.finish()?;
    let cmd = NewNeed {
        title: title.unwrap_or_default(),
        description: description.unwrap_or_default(),
        category: b.category,
        source: b.source,
        external_ref: external_ref.flatten(),
        beneficiary_group: group.unwrap_or_default(),
        beneficiaries: beneficiaries.unwrap_or_default(),
        urgency: b.urgency,
    };
    let now = state.clock.now_naive();
    let need = state
        .db
        .write(move |c| service::submit(c, &actor, cmd, now))
        .await?;
    Ok(HttpResponse::Created().json(NeedResponse::from(need)))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortParam {
    Supporters,
    Newest,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListNeedsQuery {
    #[param(inline, value_type = Option<super::model::NeedStatus>)]
    pub status: Option<String>,
    #[param(inline)]
    pub category: Option<Category>,
    /// A district, street or community: needs in it and under it.
    pub region_id: Option<String>,
    /// Substring of title or description.
    pub q: Option<String>,
    /// `supporters` (default when status=accepted: the guide list) or `newest`.
    #[param(inline)]
    pub sort: Option<SortParam>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List needs (the guide list).
#[utoipa::path(get, path = "/api/v1/needs", tag = "needs", params(ListNeedsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<NeedResponse>), (status = 404, body = Problem, description = "`region_id` names no region")))]
pub async fn list_needs(
    state: State,
    actor: AuthUser,
    query: Query<ListNeedsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let status = match &q.status {
        Some(s) => Some(super::model::NeedStatus::parse(s).ok_or_else(|| {
            AppError::field(
                "status",
                format!(
                    "must be one of {}",
                    super::model::NeedStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?),
        None => None,
    };
    let sort = match q.sort {
        Some(SortParam::Supporters) => NeedSort::Supporters,
        Some(SortParam::Newest) => NeedSort::Newest,
        None if status == Some(super::model::NeedStatus::Accepted) => NeedSort::Supporters,
        None => NeedSort::Newest,
    };
    let page = PageParams::<NeedCursor>::parse(q.limit, q.cursor.as_deref())?;
    let cursor_fits = matches!(
        (&page.after, sort),
        (None, _)
            | (Some(NeedCursor::Supporters(..)), NeedSort::Supporters)
            | (Some(NeedCursor::Newest(_)), NeedSort::Newest)
    );

    if !cursor_fits {
        return Err(AppError::field("cursor", "belongs to another sort order"));
    }
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let query = NeedQuery {
        status,
        category: q.category.map(|c| c.as_str().to_owned()),
        region_id: q.region_id,
        q: crate::validate::search("q", q.q)?,
    };
    let rendered = state.needs_rendered.clone();
    let listed = state
        .db
        .read(move |c| service::list(c, &actor, query, sort, after.as_ref(), fetch, &rendered))
        .await?;
    let docs = match listed {
        ListedNeeds::Rendered(docs) => docs,
        ListedNeeds::Rows(rows) => state.needs_rendered.render_all(
            rows,
            |n| (n.id.clone(), n.version, n.supporters, n.urgency_rank),
            |k| (k.0.as_str(), k.1),
            |n| Ok(NeedResponse::from(n)),
        )?,
    };
    let cursor = move |((id, _, supporters, rank), _): &(NeedKey, _)| match sort {
        NeedSort::Supporters => NeedCursor::Supporters(*supporters, *rank, id.clone()),
        NeedSort::Newest => NeedCursor::Newest(id.clone()),
    };
    Ok(Page::from_rows(docs, limit, cursor, |(_, doc)| doc).respond())
}

/// Read a need.
#[utoipa::path(get, path = "/api/v1/needs/{id}", tag = "needs", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NeedResponse), (status = 404, body = Problem)))]
pub async fn get_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    Ok(ok(state
        .db
        .read(move |c| service::load(c, &actor, &id))
        .await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportRequest {
    /// Residents who added their support (1–10000).
    #[schema(minimum = 1, maximum = 10_000)]
    pub count: i64,
}

/// Add residents' support to a need.
#[utoipa::path(post, path = "/api/v1/needs/{id}/support", tag = "needs", request_body = SupportRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = NeedResponse), (status = 409, body = Problem)))]
pub async fn support_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<SupportRequest>,
) -> Result<HttpResponse, AppError> {
    if !(1..=10_000).contains(&body.count) {
        return Err(AppError::field("count", "must be 1 to 10000"));
    }
    let (id, count, now) = (id.into_inner(), body.count, state.clock.now_naive());
    Ok(ok(state
        .db
        .write(move |c| service::support(c, &actor, &id, count, now))
        .await?))
}

/// Forward a need to the bureau.
#[utoipa::path(post, path = "/api/v1/needs/{id}/forward", tag = "needs", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NeedResponse), (status = 409, body = Problem)))]
pub async fn forward_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    Ok(ok(state
        .db
        .write(move |c| service::forward(c, &actor, &id, now))
        .await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    #[schema(schema_with = crate::openapi::text_1000)]
    pub reason: String,
}

fn reason(b: &ReasonRequest) -> Result<String, AppError> {
    validate::text("reason", &b.reason, 1, 1000).map_err(AppError::from)
}

/// Return a need to its community.
#[utoipa::path(post, path = "/api/v1/needs/{id}/return", tag = "needs", request_body = ReasonRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = NeedResponse), (status = 409, body = Problem)))]
pub async fn return_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<ReasonRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, why, now) = (id.into_inner(), reason(&body)?, state.clock.now_naive());
    Ok(ok(state
        .db
        .write(move |c| service::give_back(c, &actor, &id, why, now))
        .await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResubmitRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<Category>,
    pub source: Option<Source>,
    pub external_ref: Option<String>,
    pub beneficiary_group: Option<String>,
    pub beneficiaries: Option<i64>,
    pub urgency: Option<Urgency>,
}

/// Resubmit a returned need.
#[utoipa::path(post, path = "/api/v1/needs/{id}/resubmit", tag = "needs", request_body = ResubmitRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = NeedResponse), (status = 409, body = Problem)))]
pub async fn resubmit_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<ResubmitRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let mut e = Errors::default();
    let c = Corrections {
        title: b
            .title
            .as_deref()
            .and_then(|t| e.take(validate::text("title", t, 1, 200))),
        description: b
            .description
            .as_deref()
            .and_then(|t| e.take(validate::text("description", t, 1, 4000))),
        category: b.category,
        source: b.source,
        external_ref: b
            .external_ref
            .map(|r| Some(r.trim().to_owned()).filter(|s| !s.is_empty())),
        beneficiary_group: b
            .beneficiary_group
            .as_deref()
            .and_then(|t| e.take(validate::text("beneficiary_group", t, 1, 200))),
        beneficiaries: b
            .beneficiaries
            .and_then(|n| e.take(check_beneficiaries("beneficiaries", n))),
        urgency: b.urgency,
    };
    e.finish()?;
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    Ok(ok(state
        .db
        .write(move |conn| service::resubmit(conn, &actor, &id, c, now))
        .await?))
}

/// Accept a need into the guide list.
#[utoipa::path(post, path = "/api/v1/needs/{id}/accept", tag = "needs", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NeedResponse), (status = 409, body = Problem)))]
pub async fn accept_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    Ok(ok(state
        .db
        .write(move |c| service::accept(c, &actor, &id, now))
        .await?))
}

/// Reject a need.
#[utoipa::path(post, path = "/api/v1/needs/{id}/reject", tag = "needs", request_body = ReasonRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = NeedResponse), (status = 409, body = Problem)))]
pub async fn reject_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<ReasonRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, why, now) = (id.into_inner(), reason(&body)?, state.clock.now_naive());
    Ok(ok(state
        .db
        .write(move |c| service::reject(c, &actor, &id, why, now))
        .await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub into_id: String,
}

/// Merge a need into another.
#[utoipa::path(post, path = "/api/v1/needs/{id}/merge", tag = "needs", request_body = MergeRequest, params(("id" = String, Path)),
    security(("bearer" = [])), responses((status = 200, body = NeedResponse), (status = 409, body = Problem)))]
pub async fn merge_need(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<MergeRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, into, now) = (id.into_inner(), body.0.into_id, state.clock.now_naive());
    Ok(ok(state
        .db
        .write(move |c| service::merge(c, &actor, &id, &into, now))
        .await?))
}
