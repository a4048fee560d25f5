//! HTTP for contracts and tranches.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Amendment, ContractStatus, Tranche};
use super::release;
use super::repo::Filter;
use super::service::{self, Amend, View};
use crate::auth::{Access, AuthUser, MaybeUser, Role};
use crate::bids::contents::Kpi;
use crate::clock::utc;
use crate::domain::Money;
use crate::error::{AppError, Problem};
use crate::http::conditional::{etag, if_match};
use crate::http::idempotent;
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::idempotency;
use crate::state::State;
use crate::validate;

const BUREAU: Access = Access::Roles(&[Role::Bureau]);

pub fn register(r: &mut Router) {
    r.get(
        "/api/v1/contracts",
        Access::Roles(&[Role::Admin, Role::Bureau, Role::Org]),
        list_contracts,
    )
    .get("/api/v1/contracts/{id}", Access::Public, get_contract)
    .post(
        "/api/v1/contracts/{id}/sign",
        Access::Roles(&[Role::Bureau, Role::Org]),
        sign_contract,
    )
    .post("/api/v1/contracts/{id}/amendments", BUREAU, amend_contract)
    .post(
        "/api/v1/contracts/{id}/terminate",
        BUREAU,
        terminate_contract,
    )
    .get(
        "/api/v1/contracts/{id}/document",
        Access::Public,
        contract_document,
    )
    .get(
        "/api/v1/contracts/{id}/tranches",
        Access::Public,
        list_tranches,
    )
    .post("/api/v1/tranches/{id}/release", BUREAU, release_tranche);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrancheResponse {
    pub id: String,
    pub contract_id: String,
    pub seq: i32,
    #[schema(value_type = crate::domain::spec::Condition)]
    pub condition: String,
    /// The day an `on_date` tranche becomes releasable.
    pub date: Option<NaiveDate>,
    pub percent: i32,
    pub amount: Money,
    #[schema(value_type = super::model::TrancheStatus)]
    pub status: String,
    /// When its condition was met.
    pub releasable_at: Option<DateTime<Utc>>,
    /// The day it must be paid by once releasable (working days, rule data; a due day ends at
    /// 24:00 UTC+8).
    pub release_due: Option<NaiveDate>,
    /// Releasable and past `release_due`.
    pub release_overdue: bool,
    /// Shown to the parties only.
    pub payment_reference: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    /// Shown to the parties only.
    pub released_by: Option<String>,
}

fn tranche(t: Tranche, full: bool, now: chrono::NaiveDateTime) -> TrancheResponse {
    TrancheResponse {
        release_overdue: release::is_overdue(&t, now),
        id: t.id,
        contract_id: t.contract_id,
        seq: t.seq,
        condition: t.condition,
        date: t.date,
        percent: t.percent,
        amount: Money::from_fen(t.amount_fen),
        status: t.status.into(),
        releasable_at: t.releasable_at.map(utc),
        release_due: t.release_due,
        payment_reference: t.payment_reference.filter(|_| full),
        released_at: t.released_at.map(utc),
        released_by: t.released_by.filter(|_| full),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AmendmentResponse {
    pub amount_before: Money,
    pub amount_after: Money,
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl From<Amendment> for AmendmentResponse {
    fn from(a: Amendment) -> Self {
        AmendmentResponse {
            amount_before: Money::from_fen(a.amount_before_fen),
            amount_after: Money::from_fen(a.amount_after_fen),
            reason: a.reason,
            at: utc(a.at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractResponse {
    pub id: String,
    pub project_id: String,
    pub award_id: String,
    pub round: i32,
    pub organization_id: String,
    pub organization_name: String,
    pub district_id: String,
    pub fund_id: String,
    pub original_amount: Money,
    pub amount: Money,
    pub service_start: NaiveDate,
    pub service_end: NaiveDate,
    /// From the winning bid.
    pub kpis: Vec<Kpi>,
    #[schema(value_type = super::model::ContractStatus)]
    pub status: String,
    /// The award notice + 30 days (政府采购法 art 46), at the end of that day UTC+8.
    pub sign_deadline: DateTime<Utc>,
    pub signed_by_bureau_at: Option<DateTime<Utc>>,
    pub signed_by_org_at: Option<DateTime<Utc>>,
    pub signature_overdue: bool,
    pub termination_proposed: bool,
    /// The sum of the released tranches.
    pub released: Money,
    pub amendments: Vec<AmendmentResponse>,
    pub tranches: Vec<TrancheResponse>,
    /// For `If-Match` (also the `ETag`).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub terminated_at: Option<DateTime<Utc>>,
    pub termination_reason: Option<String>,
}

fn contract(v: View, now: chrono::NaiveDateTime) -> Result<ContractResponse, AppError> {
    let released = Money::from_fen(v.released_fen());
    let c = v.contract;
    let kpis: Vec<Kpi> = crate::error::decode_json("contracts.kpis", &c.kpis)?;
    Ok(ContractResponse {
        id: c.id,
        project_id: c.project_id,
        award_id: c.award_id,
        round: c.round,
        organization_id: c.organization_id,
        organization_name: v.organization_name,
        district_id: c.district_id,
        fund_id: c.fund_id,
        original_amount: Money::from_fen(c.original_amount_fen),
        amount: Money::from_fen(c.amount_fen),
        service_start: c.service_start,
        service_end: c.service_end,
        kpis,
        status: c.status.into(),
        sign_deadline: utc(c.sign_deadline),
        signed_by_bureau_at: c.signed_by_bureau_at.map(utc),
        signed_by_org_at: c.signed_by_org_at.map(utc),
        signature_overdue: c.signature_overdue,
        termination_proposed: c.termination_proposed,
        released,
        amendments: v.amendments.into_iter().map(Into::into).collect(),
        tranches: v
            .tranches
            .into_iter()
            .map(|t| tranche(t, v.full, now))
            .collect(),
        version: c.version,
        created_at: utc(c.created_at),
        activated_at: c.activated_at.map(utc),
        completed_at: c.completed_at.map(utc),
        terminated_at: c.terminated_at.map(utc),
        termination_reason: c.termination_reason,
    })
}

/// A contract's answer, its version as the ETag.
fn answer(v: View, now: chrono::NaiveDateTime) -> Result<HttpResponse, AppError> {
    let version = v.contract.version;
    let body = contract(v, now)?;
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(body))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListContractsQuery {
    #[param(value_type = Option<super::model::ContractStatus>)]
    pub status: Option<String>,
    pub project_id: Option<String>,
    pub organization_id: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List contracts: an admin's all, a bureau's district, an organization's own.
#[utoipa::path(get, path = "/api/v1/contracts", tag = "contracts", params(ListContractsQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ContractResponse>), (status = 422, body = Problem)))]
pub async fn list_contracts(
    state: State,
    actor: AuthUser,
    query: Query<ListContractsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(ContractStatus::parse(s).ok_or_else(|| {
            AppError::field(
                "status",
                "must be pending_signature, active, completed or terminated",
            )
        })?),
    };
    for (field, v) in [
        ("project_id", &q.project_id),
        ("organization_id", &q.organization_id),
    ] {
        if let Some(v) = v {
            validate::text(field, v, 1, 100)?;
        }
    }
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let filter = Filter {
        status,
        project_id: q.project_id,
        organization_id: q.organization_id,
        ..Filter::default()
    };
    let rows = state
        .db
        .read(move |c| service::list(c, &actor, filter, after.as_deref(), fetch))
        .await?;
    let now = state.clock.now_naive();
    let mut items = Vec::with_capacity(rows.len());
    let more = rows.len() as i64 > limit;
    let mut next = None;
    for v in rows.into_iter().take(limit as usize) {
        next = Some(v.contract.id.clone());
        items.push(contract(v, now)?);
    }
    Ok(Page {
        items,
        next_cursor: next
            .filter(|_| more)
            .map(|k| crate::http::pagination::encode_cursor(&k)),
    }
    .respond())
}

/// Read a contract (anyone once it is active, without payment references).
#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "contracts", params(("id" = String, Path)),
    responses((status = 200, body = ContractResponse), (status = 404, body = Problem)))]
pub async fn get_contract(
    state: State,
    actor: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = read(&state, actor, id).await?;
    answer(v, state.clock.now_naive())
}

/// The contract `id` as the caller may see it (404 otherwise).
async fn read(state: &State, actor: MaybeUser, id: web::Path<String>) -> Result<View, AppError> {
    let id = id.into_inner();
    state
        .db
        .read(move |c| service::get(c, actor.0.as_ref(), &id))
        .await
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrancheList {
    pub items: Vec<TrancheResponse>,
}

/// A contract's tranches, in `seq` order.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/tranches", tag = "contracts", params(("id" = String, Path)),
    responses((status = 200, body = TrancheList), (status = 404, body = Problem)))]
pub async fn list_tranches(
    state: State,
    actor: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let v = read(&state, actor, id).await?;
    let now = state.clock.now_naive();
    let full = v.full;
    Ok(HttpResponse::Ok().json(TrancheList {
        items: v
            .tranches
            .into_iter()
            .map(|t| tranche(t, full, now))
            .collect(),
    }))
}

/// Sign a contract: the bureau of its district, or a member of the organization.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/sign", tag = "contracts", params(("id" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = ContractResponse, description = "active once both sides have signed"),
              (status = 409, body = Problem, description = "already_signed, invalid_state")))]
pub async fn sign_contract(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, st) = (id.into_inner(), state.clone());
    let v = state
        .db
        .write(move |c| {
            service::sign(
                c,
                &actor,
                &id,
                &st.rules,
                &st.settings.reviews,
                st.clock.now_naive(),
            )
        })
        .await?;
    answer(v, state.clock.now_naive())
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendmentRequest {
    /// The new contract amount.
    pub amount: Money,
    #[schema(schema_with = crate::openapi::text_4000)]
    pub reason: String,
}

/// Amend a contract's amount (`If-Match` with its version).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/amendments", tag = "contracts", request_body = AmendmentRequest,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "the contract's ETag"),
           ("Idempotency-Key" = Option<String>, Header, description = "a replay returns the stored response")),
    security(("bearer" = [])),
    responses((status = 201, body = ContractResponse, description = "with the new amount and the tranches re-split"),
              (status = 409, body = Problem, description = "budget_exceeded, invalid_state"),
              (status = 412, body = Problem, description = "version_mismatch"),
              (status = 422, body = Problem, description = "amendment_over_limit, idempotency_key_reused, or amount below what is released")))]
pub async fn amend_contract(
    state: State,
    actor: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<AmendmentRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let call = idempotent::call(&req, &actor.id, &b)?;
    if !b.amount.is_positive() {
        return Err(AppError::field("amount", "must be positive"));
    }
    let reason = validate::text("reason", &b.reason, 1, 4000)?;
    let cmd = Amend {
        amount: b.amount,
        reason,
        if_match: if_match(&req)?,
    };
    let (id, st) = (id.into_inner(), state.clone());
    let answer = state
        .db
        .write(move |tx| {
            let now = st.clock.now_naive();
            idempotency::once(tx, &st.sealer, &call, 201, now, |tx| {
                service::amend(tx, &actor, &id, cmd, &st.rules, now).and_then(|v| contract(v, now))
            })
        })
        .await?;
    Ok(with_etag(answer))
}

/// A contract's answer made once per `Idempotency-Key`, with its version as the ETag.
fn with_etag(answer: idempotency::Answer) -> HttpResponse {
    let version = answer.body["version"].as_i64();
    let mut r = idempotent::respond(answer);
    if let Some((name, value)) = version.map(etag) {
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, value);
        }
    }
    r
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminateRequest {
    #[schema(schema_with = crate::openapi::text_4000)]
    pub reason: String,
}

/// Terminate a contract: unreleased tranches cancelled, their money returned to the fund.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/terminate", tag = "contracts", request_body = TerminateRequest,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "a replay returns the stored response")),
    security(("bearer" = [])),
    responses((status = 200, body = ContractResponse), (status = 409, body = Problem, description = "invalid_state once completed or terminated"),
              (status = 422, body = Problem, description = "idempotency_key_reused, or a field")))]
pub async fn terminate_contract(
    state: State,
    actor: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<TerminateRequest>,
) -> Result<HttpResponse, AppError> {
    let call = idempotent::call(&req, &actor.id, &body.0)?;
    let reason = validate::text("reason", &body.reason, 1, 4000)?;
    let (id, st) = (id.into_inner(), state.clone());
    let answer = state
        .db
        .write(move |tx| {
            let now = st.clock.now_naive();
            idempotency::once(tx, &st.sealer, &call, 200, now, |tx| {
                service::terminate(tx, &actor, &id, reason, now).and_then(|v| contract(v, now))
            })
        })
        .await?;
    Ok(with_etag(answer))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The treasury's payment reference (国库支付凭证号), 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub payment_reference: String,
}

/// Release (pay) a releasable tranche. Send an `Idempotency-Key`: a retry returns the stored answer.
#[utoipa::path(post, path = "/api/v1/tranches/{id}/release", tag = "contracts", request_body = ReleaseRequest,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "a replay returns the stored response")),
    security(("bearer" = [])),
    responses((status = 200, body = TrancheResponse, description = "released"),
              (status = 409, body = Problem, description = "invalid_state unless releasable"),
              (status = 422, body = Problem, description = "idempotency_key_reused, or a field")))]
pub async fn release_tranche(
    state: State,
    actor: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<ReleaseRequest>,
) -> Result<HttpResponse, AppError> {
    let call = idempotent::call(&req, &actor.id, &body.0)?;
    let reference = validate::text("payment_reference", &body.payment_reference, 1, 100)?;
    let (st, id) = (state.clone(), id.into_inner());
    // Releases arriving together share one transaction and one commit (`db::group`): each alone
    // queued for the audit chain's head row until its own commit (`scripts/bench-release`). The
    // lane is the tranche's contract, so two batches side by side never lock the same contract.
    let lane = match state.tranche_lanes.get(&id) {
        Some(lane) => lane,
        None => {
            let (id, lanes, who) = (id.clone(), state.tranche_lanes.clone(), actor.clone());
            state
                .db
                .read(move |c| release::lane_of(c, &lanes, &who, &id))
                .await?
        }
    };
    let answer = state
        .db
        .write_grouped(&lane, move |tx| {
            let now = st.clock.now_naive();
            // A paid tranche is no longer releasable: the guard refuses a repeat.
            idempotency::once_guarded(tx, &st.sealer, &call, 200, now, |tx| {
                release::release(tx, &actor, &id, &reference, now).map(|t| tranche(t, true, now))
            })
        })
        .await?;
    Ok(idempotent::respond(answer))
}

/// The answer of a printable document.
pub fn html(page: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(page)
}

/// The printable contract (parties, amount in figures and in capitals, period, KPIs, tranche
/// schedule, signatures), self-contained HTML with print CSS.
#[utoipa::path(get, path = "/api/v1/contracts/{id}/document", tag = "contracts", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String, description = "printable HTML"), (status = 404, body = Problem)))]
pub async fn contract_document(
    state: State,
    actor: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let page = state
        .db
        .read(move |c| {
            let v = service::get(c, actor.0.as_ref(), &id)?;
            super::document::contract(c, v)
        })
        .await?;
    Ok(html(page))
}
