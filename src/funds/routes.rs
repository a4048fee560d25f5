//! HTTP for funds: create, read with balances, the ledger.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Balances, Fund, LedgerEntry, NewFund};
use crate::auth::{Access, AuthUser, Role};
use crate::clock::utc;
use crate::domain::spec::FundSource;
use crate::domain::Money;
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate::{self, Errors};

const MANAGERS: Access = Access::Roles(&[Role::Admin, Role::Bureau]);

pub fn register(r: &mut Router) {
    r.post("/api/v1/funds", MANAGERS, create_fund)
        .get("/api/v1/funds", MANAGERS, list_funds)
        .get("/api/v1/funds/{id}", MANAGERS, get_fund)
        .get("/api/v1/funds/{id}/ledger", MANAGERS, fund_ledger)
        .get("/api/v1/funds/{id}/reconcile", MANAGERS, reconcile_fund);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FundResponse {
    pub id: String,
    pub name: String,
    pub district_id: String,
    pub fiscal_year: i32,
    #[schema(value_type = crate::domain::spec::FundSource)]
    pub source: String,
    pub total: Money,
    pub reserved: Money,
    pub committed: Money,
    pub released: Money,
    pub available: Money,
    pub created_at: DateTime<Utc>,
}

impl FundResponse {
    fn new(f: Fund, b: Balances) -> FundResponse {
        let available = service::available(&f, &b);
        FundResponse {
            id: f.id,
            name: f.name,
            district_id: f.district_id,
            fiscal_year: f.fiscal_year,
            source: f.source,
            total: Money::from_fen(f.total_fen),
            reserved: Money::from_fen(b.reserved),
            committed: Money::from_fen(b.committed),
            released: Money::from_fen(b.released),
            available: Money::from_fen(available),
            created_at: utc(f.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFundRequest {
    #[schema(schema_with = crate::openapi::text_200)]
    pub name: String,
    pub district_id: String,
    #[schema(minimum = 2000, maximum = 2100)]
    pub fiscal_year: i32,
    pub source: FundSource,
    pub total: Money,
}

/// Create a fund.
#[utoipa::path(post, path = "/api/v1/funds", tag = "funds", request_body = CreateFundRequest, security(("bearer" = [])),
    responses((status = 201, body = FundResponse), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_fund(
    state: State,
    actor: AuthUser,
    body: Json<CreateFundRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let mut e = Errors::default();
    let name = e.take(validate::text("name", &b.name, 1, 200));
    if !(2000..=2100).contains(&b.fiscal_year) {
        e.push("fiscal_year", "must be a year between 2000 and 2100");
    }
    if !b.total.is_positive() {
        e.push("total", "must be more than 0.00");
    }
    e.finish()?;
    let cmd = NewFund {
        name: name.unwrap_or_default(),
        district_id: b.district_id,
        fiscal_year: b.fiscal_year,
        source: b.source,
        total: b.total,
    };
    let now = state.clock.now_naive();
    let fund = state
        .db
        .write(move |c| service::create(c, &actor, cmd, now))
        .await?;
    Ok(HttpResponse::Created().json(FundResponse::new(fund, Balances::default())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListFundsQuery {
    pub district_id: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List funds.
#[utoipa::path(get, path = "/api/v1/funds", tag = "funds", params(ListFundsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<FundResponse>)))]
pub async fn list_funds(
    state: State,
    actor: AuthUser,
    query: Query<ListFundsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after, district) = (page.limit, page.fetch(), page.after, q.district_id);
    let rows = state
        .db
        .read(move |c| service::list(c, &actor, district, after.as_deref(), fetch))
        .await?;
    Ok(Page::from_rows(
        rows,
        limit,
        |(f, _)| f.id.clone(),
        |(f, b)| FundResponse::new(f, b),
    )
    .respond())
}

/// Read a fund.
#[utoipa::path(get, path = "/api/v1/funds/{id}", tag = "funds", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = FundResponse), (status = 404, body = Problem)))]
pub async fn get_fund(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (f, b) = state.db.read(move |c| service::get(c, &actor, &id)).await?;
    Ok(HttpResponse::Ok().json(FundResponse::new(f, b)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntryResponse {
    pub id: String,
    /// reserve, unreserve, commit, uncommit or release.
    pub kind: String,
    pub amount: Money,
    pub project_id: Option<String>,
    pub contract_id: Option<String>,
    pub tranche_id: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<LedgerEntry> for LedgerEntryResponse {
    fn from(e: LedgerEntry) -> Self {
        LedgerEntryResponse {
            id: e.id,
            kind: e.kind,
            amount: Money::from_fen(e.amount_fen),
            project_id: e.project_id,
            contract_id: e.contract_id,
            tranche_id: e.tranche_id,
            at: utc(e.at),
        }
    }
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

/// List a fund's ledger entries.
#[utoipa::path(get, path = "/api/v1/funds/{id}/ledger", tag = "funds", params(("id" = String, Path), PageQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<LedgerEntryResponse>), (status = 404, body = Problem)))]
pub async fn fund_ledger(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    query: Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = PageParams::<String>::parse(query.limit, query.cursor.as_deref())?;
    let (limit, fetch, after, id) = (page.limit, page.fetch(), page.after, id.into_inner());
    let rows = state
        .db
        .read(move |c| service::ledger(c, &actor, &id, after.as_deref(), fetch))
        .await?;
    Ok(Page::from_rows(rows, limit, |e| e.id.clone(), LedgerEntryResponse::from).respond())
}

/// Recompute a fund's balances from its ledger and check them.
#[utoipa::path(get, path = "/api/v1/funds/{id}/reconcile", tag = "funds", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = super::reconcile::Reconciliation, description = "`ok` false names the first mismatch"), (status = 404, body = Problem)))]
pub async fn reconcile_fund(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let report = state
        .db
        .read(move |c| {
            let (f, _) = service::get(c, &actor, &id)?;
            super::reconcile::fund(c, &f)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
