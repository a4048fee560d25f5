//! HTTP for bids, the opening, and republishing a failed round.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contents::{Kpi, TeamMember};
use super::service::{self, BidView, Offer};
use crate::auth::{Access, AuthUser, MaybeUser, Role};
use crate::clock::utc;
use crate::domain::eligibility::Failure;
use crate::domain::Money;
use crate::error::{AppError, Problem};
use crate::http::idempotent;
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::idempotency;
use crate::state::State;
use crate::validate::{self, Errors};

const ORG: Access = Access::Roles(&[Role::Org]);

pub fn register(r: &mut Router) {
    r.post("/api/v1/projects/{id}/bids", ORG, create_bid)
        .get("/api/v1/projects/{id}/bids", Access::SignedIn, list_bids)
        .get("/api/v1/projects/{id}/opening", Access::Public, opening)
        .get("/api/v1/bids/{id}", Access::SignedIn, get_bid)
        .get("/api/v1/me/bids", ORG, my_bids)
        .put("/api/v1/bids/{id}", ORG, replace_bid)
        .post("/api/v1/bids/{id}/withdraw", ORG, withdraw_bid);
}

/// The bid's receipt. `sha256` is the lowercase hex SHA-256 of the RFC 8785 (JCS) canonical
/// JSON of exactly this object, as the bid is stored:
/// `{"kpis": [{"indicator", "target"}…], "matching_funds": "<yuan>.<fen>" or null,
/// "organization_id": "<the bidder's id>", "plan": "…", "price": "<yuan>.<fen>",
/// "project_id": "…", "round": <number>, "team": [{"certified": true|false, "name", "role"}…]}` —
/// JCS sorts the keys of every object (as above), writes no whitespace and escapes strings
/// minimally; money is its two-decimal string ("90000.00"), `round` a number, an absent
/// `matching_funds` `null`, team members and KPIs in the order sent with exactly their fields.
/// At the opening every receipt is published (`GET /projects/{id}/opening`), so each bidder
/// can check its bid was not altered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"sha256": "285836ea830c7902b898d94a8486e22a9d199720fe67353d0ec98eec2d8f2db6", "received_at": "2027-01-12T16:00:00.999999Z"}))]
pub struct Receipt {
    /// Lowercase hex SHA-256 of the RFC 8785 canonical JSON of the bid (see the schema).
    pub sha256: String,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BidResponse {
    pub id: String,
    pub project_id: String,
    pub round: i32,
    pub organization_id: String,
    pub price: Option<Money>,
    pub plan: Option<String>,
    pub team: Option<Vec<TeamMember>>,
    pub kpis: Option<Vec<Kpi>>,
    pub matching_funds: Option<Money>,
    #[schema(value_type = super::model::BidStatus)]
    pub status: String,
    pub disqualified_reasons: Vec<String>,
    pub receipt: Receipt,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A bid's stored reasons as `rule: reason` lines; stored reasons that do not read back are an
/// internal error.
fn reasons(text: &str) -> Result<Vec<String>, AppError> {
    let failures: Vec<Failure> = crate::error::decode_json("bids.disqualified_reasons", text)?;
    Ok(failures
        .into_iter()
        .map(|f| format!("{}: {}", f.rule, f.reason))
        .collect())
}

impl TryFrom<BidView> for BidResponse {
    type Error = AppError;
    fn try_from(v: BidView) -> Result<Self, AppError> {
        let b = v.bid;
        let disqualified_reasons = reasons(&b.disqualified_reasons)?;
        let c = v.contents;
        Ok(BidResponse {
            price: c.as_ref().map(|c| c.price),
            plan: c.as_ref().map(|c| c.plan.clone()),
            team: c.as_ref().map(|c| c.team.clone()),
            kpis: c.as_ref().map(|c| c.kpis.clone()),
            matching_funds: c.as_ref().and_then(|c| c.matching_funds),
            id: b.id,
            project_id: b.project_id,
            round: b.round,
            // A sealed bid is read by its own organization only, which its contents name.
            organization_id: b
                .organization_id
                .or_else(|| c.as_ref().map(|c| c.organization_id.clone()))
                .unwrap_or_default(),
            status: b.status.into(),
            disqualified_reasons,
            receipt: Receipt {
                sha256: b.receipt_sha256,
                received_at: utc(b.received_at),
            },
            version: b.version,
            created_at: utc(b.created_at),
            updated_at: utc(b.updated_at),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidRequest {
    pub price: Money,
    #[schema(schema_with = crate::openapi::text_20000)]
    pub plan: String,
    #[schema(min_items = 1, max_items = 50)]
    pub team: Vec<TeamMember>,
    #[schema(max_items = 50)]
    pub kpis: Vec<Kpi>,
    pub matching_funds: Option<Money>,
}

impl BidRequest {
    fn offer(self) -> Result<Offer, AppError> {
        let mut e = Errors::default();
        if !self.price.is_positive() {
            e.push("price", "must be more than 0.00");
        }
        let plan = e.take(validate::text("plan", &self.plan, 1, 20_000));
        if self.team.is_empty() || self.team.len() > 50 {
            e.push("team", "must list 1 to 50 members");
        }
        for (i, m) in self.team.iter().enumerate() {
            e.take(validate::text(&format!("team[{i}].name"), &m.name, 1, 100));
            e.take(validate::text(&format!("team[{i}].role"), &m.role, 1, 100));
        }
        if self.kpis.len() > 50 {
            e.push("kpis", "at most 50");
        }
        for (i, k) in self.kpis.iter().enumerate() {
            e.take(validate::text(
                &format!("kpis[{i}].indicator"),
                &k.indicator,
                1,
                200,
            ));
            e.take(validate::text(
                &format!("kpis[{i}].target"),
                &k.target,
                1,
                200,
            ));
        }
        e.finish()?;
        Ok(Offer {
            price: self.price,
            plan: plan.unwrap_or_default(),
            team: self.team,
            kpis: self.kpis,
            matching_funds: self.matching_funds,
        })
    }
}

/// The lane of a bid write: bids arriving together share one commit (the deadline rush), and
/// one organization's bids always go in the same lane.
fn lane(actor: &AuthUser) -> String {
    actor
        .organization_id
        .clone()
        .unwrap_or_else(|| actor.id.clone())
}

/// Submit a sealed bid.
#[utoipa::path(post, path = "/api/v1/projects/{id}/bids", tag = "bids", request_body = BidRequest,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "a replay returns the stored response")),
    security(("bearer" = [])),
    responses((status = 201, body = BidResponse),
              (status = 409, body = Problem, description = "deadline_passed, bid_exists"),
              (status = 422, body = Problem, description = "not_eligible with the failed rules, idempotency_key_reused, or a field")))]
pub async fn create_bid(
    state: State,
    actor: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<BidRequest>,
) -> Result<HttpResponse, AppError> {
    let call = idempotent::call(&req, &actor.id, &body.0)?;
    let offer = body.0.offer()?;
    let (st, pid) = (state.clone(), id.into_inner());
    let answer = state
        .db
        .write_grouped(&lane(&actor), move |tx| {
            // The deadline is judged by the clock read once the write connection is ours, not
            // when the request arrived (it may have waited for the connection).
            let now = st.clock.now_naive();
            idempotency::once(tx, &st.sealer, &call, 201, now, |tx| {
                service::place(tx, &st.sealer, &actor, &pid, &offer, now)
                    .and_then(BidResponse::try_from)
            })
        })
        .await?;
    Ok(idempotent::respond(answer))
}

/// Replace a bid before the close.
#[utoipa::path(put, path = "/api/v1/bids/{id}", tag = "bids", request_body = BidRequest,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)), security(("bearer" = [])),
    responses((status = 200, body = BidResponse, description = "with a new receipt"), (status = 409, body = Problem)))]
pub async fn replace_bid(
    state: State,
    actor: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<BidRequest>,
) -> Result<HttpResponse, AppError> {
    let call = idempotent::call(&req, &actor.id, &body.0)?;
    let offer = body.0.offer()?;
    let (st, bid) = (state.clone(), id.into_inner());
    let answer = state
        .db
        .write_grouped(&lane(&actor), move |tx| {
            let now = st.clock.now_naive();
            idempotency::once(tx, &st.sealer, &call, 200, now, |tx| {
                service::replace(tx, &st.sealer, &actor, &bid, &offer, now)
                    .and_then(BidResponse::try_from)
            })
        })
        .await?;
    Ok(idempotent::respond(answer))
}

/// Withdraw a bid before the close.
#[utoipa::path(post, path = "/api/v1/bids/{id}/withdraw", tag = "bids", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = BidResponse), (status = 409, body = Problem)))]
pub async fn withdraw_bid(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, st) = (id.into_inner(), state.clone());
    let v = state
        .db
        .write(move |c| service::withdraw(c, &st.sealer, &actor, &id, st.clock.now_naive()))
        .await?;
    Ok(HttpResponse::Ok().json(BidResponse::try_from(v)?))
}

/// Read a bid.
#[utoipa::path(get, path = "/api/v1/bids/{id}", tag = "bids", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = BidResponse), (status = 404, body = Problem, description = "for anyone who may not read it, before and after close")))]
pub async fn get_bid(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (id, st) = (id.into_inner(), state.clone());
    let v = state
        .db
        .read(move |c| service::get(c, &st.sealer, &actor, &id))
        .await?;
    Ok(HttpResponse::Ok().json(BidResponse::try_from(v)?))
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

/// List a project's bids.
#[utoipa::path(get, path = "/api/v1/projects/{id}/bids", tag = "bids", params(("id" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<BidResponse>, description = "an organization sees its own; the bureau of the district those of closed rounds"),
              (status = 409, body = Problem, description = "not_closed")))]
pub async fn list_bids(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    q: Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after, id, st) = (
        page.limit,
        page.fetch(),
        page.after,
        id.into_inner(),
        state.clone(),
    );
    let rows = state
        .db
        .read(move |c| service::list(c, &st.sealer, &actor, &id, after.as_deref(), fetch))
        .await?;
    bid_page(rows, limit)
}

/// The signed-in organization's own bids on every project, newest first, sealed ones
/// included (only their organization can read them before the close).
#[utoipa::path(get, path = "/api/v1/me/bids", tag = "bids", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<BidResponse>, description = "status shows the result: submitted, withdrawn, qualified, disqualified, awarded or lost")))]
pub async fn my_bids(
    state: State,
    actor: AuthUser,
    q: Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, before, st) = (page.limit, page.fetch(), page.after, state.clone());
    let rows = state
        .db
        .read(move |c| service::mine(c, &st.sealer, &actor, before.as_deref(), fetch))
        .await?;
    bid_page(rows, limit)
}

/// A page of bids (`rows` fetched one past `limit`).
fn bid_page(rows: Vec<service::BidView>, limit: i64) -> Result<HttpResponse, AppError> {
    let rows = rows
        .into_iter()
        .map(BidResponse::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, limit, |b| b.id.clone(), |b| b).respond())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpenedBid {
    pub bid_id: String,
    pub organization_id: String,
    pub organization_name: String,
    pub sha256: String,
    pub received_at: DateTime<Utc>,
    #[schema(value_type = super::model::BidStatus)]
    pub status: String,
    pub disqualified_reasons: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpeningResponse {
    pub project_id: String,
    pub round: i32,
    pub closed_at: Option<DateTime<Utc>>,
    pub seed: Option<String>,
    pub seed_commitment: Option<String>,
    pub bids: Vec<OpenedBid>,
    /// The public inputs of the expert draw (absent when the round failed).
    pub draw: Option<DrawInputs>,
}

/// The public inputs of the expert draw, enough to recompute it: the draw seed is
/// SHA-256(server seed bytes ‖ `receipts_root` bytes); the `eligible_ids` are shuffled by
/// Fisher–Yates from the last position down (for i = n−1 … 1, j = next_u64 mod (i + 1) from
/// ChaCha20 keyed by the draw seed, stream 0; swap i and j); the first `size` are members, the
/// next `size` alternates. `gongyi verify-draw` does exactly this.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DrawInputs {
    /// The eligible expert ids, sorted.
    pub eligible_ids: Vec<String>,
    /// The bid receipts (lowercase hex SHA-256) the draw is seeded with.
    pub receipts: Vec<String>,
    /// Lowercase hex SHA-256 of the `receipts`, sorted and concatenated as ASCII.
    pub receipts_root: String,
    /// Members drawn; as many alternates follow.
    pub size: i32,
    /// drawn, or shortfall.
    #[schema(value_type = crate::evaluation::model::DrawStatus)]
    pub status: String,
}

/// Read a project's bid opening.
#[utoipa::path(get, path = "/api/v1/projects/{id}/opening", tag = "bids", params(("id" = String, Path)),
    responses((status = 200, body = OpeningResponse), (status = 409, body = Problem, description = "not_closed")))]
pub async fn opening(
    state: State,
    viewer: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let service::Opening {
        project: p,
        round,
        bids,
        draw,
    } = state
        .db
        .read(move |c| service::opening(c, viewer.0.as_ref(), &id))
        .await?;
    let draw = match draw {
        Some(d) => Some(DrawInputs {
            eligible_ids: crate::error::decode_json("panel_draws.eligible_ids", &d.eligible_ids)?,
            receipts: crate::error::decode_json("panel_draws.receipts", &d.receipts)?,
            receipts_root: d.receipts_root,
            size: d.size,
            status: d.status.into(),
        }),
        None => None,
    };
    let current = round == p.round;
    Ok(HttpResponse::Ok().json(OpeningResponse {
        project_id: p.id,
        round,
        closed_at: if current { p.closed_at.map(utc) } else { None },
        seed: if current { p.seed } else { None },
        seed_commitment: if current { p.seed_commitment } else { None },
        draw,
        bids: bids
            .into_iter()
            .map(|o| {
                Ok(OpenedBid {
                    bid_id: o.bid.id,
                    organization_id: o.bid.organization_id.unwrap_or_default(),
                    organization_name: o.organization_name,
                    sha256: o.bid.receipt_sha256,
                    received_at: utc(o.bid.received_at),
                    status: o.bid.status.into(),
                    disqualified_reasons: reasons(&o.bid.disqualified_reasons)?,
                })
            })
            .collect::<Result<_, AppError>>()?,
    }))
}
