//! `GET /healthz` answers while the process runs; `GET /readyz` only while the database
//! answers a fresh connection (503 with Retry-After otherwise, recovering by itself).

use actix_web::HttpResponse;
use serde_json::json;

use crate::auth::Access;
use crate::db::run_blocking;
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::state::State;

pub fn register(r: &mut Router) {
    r.get("/healthz", Access::Public, healthz)
        .get("/readyz", Access::Public, readyz);
}

/// The body of `/healthz`.
#[derive(utoipa::ToSchema)]
pub struct Health {
    #[schema(pattern = "^ok$")]
    pub status: String,
}

/// The body of `/readyz`.
#[derive(utoipa::ToSchema)]
pub struct Readiness {
    #[schema(pattern = "^ready$")]
    pub status: String,
    #[schema(pattern = "^ok$")]
    pub database: String,
}

/// Liveness: the process runs.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, body = Readiness), (status = 503, body = Problem)))]
pub async fn readyz(state: State) -> Result<HttpResponse, AppError> {
    let db = state.db.clone();
    run_blocking(move || db.check()).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"})))
}
