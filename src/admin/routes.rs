//! `POST /admin/clock` (admin, sandbox only) and `POST /admin/jobs/{name}/run` (admin).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::service;
use crate::auth::{Access, AuthUser, Role};
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::Json;
use crate::jobs::{self, JobReport};
use crate::state::State;

const ADMIN: Access = Access::Roles(&[Role::Admin]);

pub fn register(r: &mut Router) {
    r.post("/api/v1/admin/clock", ADMIN, set_clock).post(
        "/api/v1/admin/jobs/{name}/run",
        ADMIN,
        run_job,
    );
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// Set the clock to this instant (RFC 3339).
    pub now: Option<DateTime<Utc>>,
    /// Move the clock by this many seconds (negative moves it back).
    pub advance_seconds: Option<i64>,
    /// Stop the clock at the new reading; by default (false) it runs on from there, so later
    /// timestamps differ. Access tokens count wall time, so a move expires none of them.
    pub frozen: Option<bool>,
}

/// The clock's reading after a move.
#[derive(ToSchema)]
pub struct ClockReading {
    pub now: DateTime<Utc>,
    pub frozen: bool,
}

/// Move the sandbox clock.
#[utoipa::path(post, path = "/api/v1/admin/clock", tag = "admin", request_body = ClockRequest,
    security(("bearer" = [])),
    responses((status = 200, body = ClockReading), (status = 404, body = Problem, description = "not in sandbox mode")))]
pub async fn set_clock(
    state: State,
    actor: AuthUser,
    body: Json<ClockRequest>,
) -> Result<HttpResponse, AppError> {
    if !state.clock.is_settable() {
        return Err(AppError::not_found("route"));
    }
    let b = body.0;
    let frozen = b.frozen.unwrap_or(false);
    match (b.now, b.advance_seconds) {
        (Some(now), None) => {
            state.clock.set(now, frozen);
        }
        (None, Some(secs)) => {
            if secs.unsigned_abs() > 100 * 365 * 86_400 {
                return Err(AppError::field(
                    "advance_seconds",
                    "must be within 100 years",
                ));
            }
            state.clock.advance(Duration::seconds(secs));
            let now = state.clock.now();
            state.clock.set(now, frozen);
        }
        _ => {
            return Err(AppError::field(
                "now",
                "give exactly one of now and advance_seconds",
            ))
        }
    }
    let reading = state.clock.reading();
    state
        .db
        .write(move |conn| service::clock_set(conn, &actor, reading))
        .await?;
    Ok(HttpResponse::Ok().json(json!({"now": reading.now, "frozen": reading.frozen})))
}

/// Run a scheduled job now.
#[utoipa::path(post, path = "/api/v1/admin/jobs/{name}/run", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "close_bidding, expire_invitations, finalize_awards, flag_unsigned_contracts, mature_tranches, open_reviews, remind, send_mail")),
    responses((status = 200, body = JobReport), (status = 404, body = Problem)))]
pub async fn run_job(state: State, name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (now, moves) = (state.clock.now(), state.clock.moves());
    let mut report = jobs::run(&state, &name, now).await?;
    report.already_done = state.job_tally.take(&name, moves);
    Ok(HttpResponse::Ok().json(report))
}
