//! HTTP for the calendar: read a year, replace a year (admin), count working days.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service;
use crate::auth::{Access, AuthUser, Role};
use crate::domain::calendar::{HolidayRange, YearArrangement};
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Query};
use crate::state::State;

pub fn register(r: &mut Router) {
    r.get("/api/v1/calendar/years/{year}", Access::Public, get_year)
        .put(
            "/api/v1/calendar/years/{year}",
            Access::Roles(&[Role::Admin]),
            put_year,
        )
        .get(
            "/api/v1/calendar/working-days",
            Access::Public,
            working_days,
        );
}

fn year_param(raw: &str) -> Result<i32, AppError> {
    raw.parse::<i32>()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| AppError::field("year", "must be a year between 2000 and 2100"))
}

/// Read a year's holidays and make-up days.
#[utoipa::path(get, path = "/api/v1/calendar/years/{year}", tag = "calendar", params(("year" = i32, Path, minimum = 2000, maximum = 2100)),
    responses((status = 200, body = YearArrangement), (status = 404, body = Problem, description = "no list: weekends only")))]
pub async fn get_year(state: State, year: web::Path<String>) -> Result<HttpResponse, AppError> {
    let y = year_param(&year)?;
    Ok(HttpResponse::Ok().json(state.db.read(move |c| service::year(c, y)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutYearRequest {
    pub source: Option<String>,
    pub holidays: Vec<HolidayRange>,
    /// Weekend days that are working days (调休上班).
    pub workdays: Vec<NaiveDate>,
}

/// Set a year's holidays and make-up days.
#[utoipa::path(put, path = "/api/v1/calendar/years/{year}", tag = "calendar", params(("year" = i32, Path, minimum = 2000, maximum = 2100)),
    request_body = PutYearRequest, security(("bearer" = [])),
    responses((status = 200, body = YearArrangement), (status = 422, body = Problem)))]
pub async fn put_year(
    state: State,
    actor: AuthUser,
    year: web::Path<String>,
    body: Json<PutYearRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let y = YearArrangement {
        year: year_param(&year)?,
        source: b.source,
        holidays: b.holidays,
        workdays: b.workdays,
    };
    let now = state.clock.now_naive();
    Ok(HttpResponse::Ok().json(
        state
            .db
            .write(move |c| service::put_year(c, &actor, y, now))
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WorkingDaysQuery {
    pub from: NaiveDate,
    pub days: u32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkingDaysResponse {
    pub from: NaiveDate,
    pub days: u32,
    /// The `days`-th working day after `from`.
    pub date: NaiveDate,
    /// Years counted with weekends only, for want of an official list.
    pub years_without_list: Vec<i32>,
}

/// Count working days from a date.
#[utoipa::path(get, path = "/api/v1/calendar/working-days", tag = "calendar", params(WorkingDaysQuery),
    responses((status = 200, body = WorkingDaysResponse)))]
pub async fn working_days(
    state: State,
    q: Query<WorkingDaysQuery>,
) -> Result<HttpResponse, AppError> {
    let (from, days) = (q.from, q.days);
    if days > 366 {
        return Err(AppError::field("days", "must be at most 366"));
    }
    let cal = state.db.read(service::load).await?;
    let counted = cal.add_working_days(from, days);
    Ok(HttpResponse::Ok().json(WorkingDaysResponse {
        from,
        days,
        date: counted.date,
        years_without_list: counted.years_without_list,
    }))
}
