//! HTTP for the audit chain: `GET /audit` (admin; a bureau sees its own district) and
//! `GET /audit/verify` (admin).

use actix_web::HttpResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, AuditRow, Verification};
use crate::auth::{Access, AuthUser, Role};
use crate::clock::utc;
use crate::error::AppError;
use crate::http::routes::Router;
use crate::http::{Page, PageParams, Query};
use crate::state::State;

pub fn register(r: &mut Router) {
    r.get(
        "/api/v1/audit",
        Access::Roles(&[Role::Admin, Role::Bureau]),
        list_events,
    )
    .get(
        "/api/v1/audit/verify",
        Access::Roles(&[Role::Admin]),
        verify_chain,
    );
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventResponse {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub district_id: Option<String>,
    /// The project the entity belongs to (a bid, an award, an objection, a sheet), when it
    /// belongs to one; null on events recorded before 2026-12-03.
    pub project_id: Option<String>,
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub hash: String,
    pub prev_hash: String,
}

impl From<AuditRow> for AuditEventResponse {
    fn from(r: AuditRow) -> Self {
        AuditEventResponse {
            seq: r.seq,
            at: utc(r.at),
            actor_id: r.actor_id,
            action: r.action,
            entity: r.entity,
            entity_id: r.entity_id,
            district_id: r.district_id,
            project_id: r.project_id,
            summary: serde_json::from_str(&r.summary)
                .unwrap_or(serde_json::Value::String(r.summary)),
            hash: r.hash,
            prev_hash: r.prev_hash,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// What the event is about: project, bid, award, objection, contract, tranche, review, …
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// Every event of one project's procurement: the project's own, its bids' (once opened),
    /// its panel's, sheets', award's and objections'.
    pub project_id: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List audit events.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<AuditEventResponse>, description = "newest first")))]
pub async fn list_events(
    state: State,
    actor: AuthUser,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let page = PageParams::<i64>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let filter = service::AuditFilter {
        entity: q.entity,
        entity_id: q.entity_id,
        project_id: q.project_id,
        district_id: None,
    };
    let rows = state
        .db
        .read(move |conn| service::list(conn, &actor, filter, after, fetch))
        .await?;
    Ok(Page::from_rows(rows, limit, |r| r.seq, AuditEventResponse::from).respond())
}

/// Verify the audit hash chain.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Verification)))]
pub async fn verify_chain(state: State) -> Result<HttpResponse, AppError> {
    let report = state.db.read(service::verify).await?;
    Ok(HttpResponse::Ok().json(report))
}
