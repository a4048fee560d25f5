//! HTTP for regions: `POST /regions` (admin), `GET /regions` (anyone).

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, CreateRegion, Region};
use crate::auth::{Access, AuthUser, RegionKind, Role};
use crate::clock::utc;
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate::{self, Errors};

pub fn register(r: &mut Router) {
    r.post(
        "/api/v1/regions",
        Access::Roles(&[Role::Admin]),
        create_region,
    )
    .get("/api/v1/regions", Access::Public, list_regions);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegionResponse {
    pub id: String,
    pub name: String,
    #[schema(value_type = crate::auth::RegionKind)]
    pub kind: String,
    pub parent_id: Option<String>,
    pub district_id: Option<String>,
    pub street_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Region> for RegionResponse {
    fn from(r: Region) -> Self {
        RegionResponse {
            id: r.id,
            name: r.name,
            kind: r.kind,
            parent_id: r.parent_id,
            district_id: r.district_id,
            street_id: r.street_id,
            created_at: utc(r.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRegionRequest {
    #[schema(schema_with = crate::openapi::text_100)]
    pub name: String,
    pub kind: RegionKind,
    pub parent_id: Option<String>,
}

/// Create a region.
#[utoipa::path(post, path = "/api/v1/regions", tag = "regions", request_body = CreateRegionRequest,
    security(("bearer" = [])),
    responses((status = 201, body = RegionResponse), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_region(
    state: State,
    actor: AuthUser,
    body: Json<CreateRegionRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let mut errors = Errors::default();
    let name = errors.take(validate::text("name", &b.name, 1, 100));
    errors.finish()?;
    let cmd = CreateRegion {
        name: name.unwrap_or_default(),
        kind: b.kind,
        parent_id: b.parent_id,
    };
    let now = state.clock.now_naive();
    let region = state
        .db
        .write(move |conn| service::create_region(conn, &actor, cmd, now))
        .await?;
    Ok(HttpResponse::Created().json(RegionResponse::from(region)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListRegionsQuery {
    #[param(inline)]
    pub kind: Option<RegionKind>,
    pub parent_id: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List regions.
#[utoipa::path(get, path = "/api/v1/regions", tag = "regions", params(ListRegionsQuery),
    responses((status = 200, body = Page<RegionResponse>)))]
pub async fn list_regions(
    state: State,
    query: Query<ListRegionsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let rows = state
        .db
        .read(move |conn| {
            let parent = q.parent_id.as_deref();
            service::list_regions(conn, q.kind, parent, after.as_deref(), fetch)
        })
        .await?;
    Ok(Page::from_rows(rows, limit, |r| r.id.clone(), RegionResponse::from).respond())
}
