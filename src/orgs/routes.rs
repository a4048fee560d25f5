//! HTTP for organizations.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::OrgStatus;
use super::service::{self, Decision, Organization, Registration};
use crate::auth::{passwords, Access, AuthUser, MaybeUser, Role};
use crate::clock::utc;
use crate::domain::spec::{OrgType, Rating};
use crate::domain::uscc::{Uscc, UsccError};
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::users::routes::UserResponse;
use crate::users::service::CreateUser;
use crate::validate::{self, Errors};

const BUREAU: Access = Access::Roles(&[Role::Bureau]);

pub fn register(r: &mut Router) {
    r.post(
        "/api/v1/organizations/register",
        Access::Public,
        register_organization,
    )
    .get("/api/v1/organizations", Access::Public, list_organizations)
    .get(
        "/api/v1/organizations/{id}",
        Access::Public,
        get_organization,
    )
    .post(
        "/api/v1/organizations/{id}/verify",
        BUREAU,
        verify_organization,
    )
    .post(
        "/api/v1/organizations/{id}/reject",
        BUREAU,
        reject_organization,
    )
    .post(
        "/api/v1/organizations/{id}/suspend",
        BUREAU,
        suspend_organization,
    );
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrganizationResponse {
    pub id: String,
    pub name: String,
    pub uscc: String,
    /// Read from position 1 of the credit code.
    pub registration_authority: String,
    /// Read from position 2 of the credit code.
    pub registration_category: String,
    #[schema(value_type = crate::domain::spec::OrgType)]
    pub org_type: String,
    pub registered_on: NaiveDate,
    #[schema(value_type = Option<crate::domain::spec::Rating>)]
    pub rating: Option<String>,
    pub rating_awarded_on: Option<NaiveDate>,
    pub social_workers: i32,
    pub district_id: String,
    pub contact_email: String,
    #[schema(value_type = super::model::OrgStatus)]
    pub status: String,
    pub status_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    /// Its delivery record (`GET /organizations/{id}` only): contracts, how they ended, every
    /// finalized review's score and grade, and the mean score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_record: Option<crate::reviews::service::TrackRecord>,
}

impl From<Organization> for OrganizationResponse {
    fn from(o: Organization) -> Self {
        let code = Uscc::parse(&o.uscc).ok();
        OrganizationResponse {
            registration_authority: code
                .as_ref()
                .map(|c| c.authority().to_owned())
                .unwrap_or_default(),
            registration_category: code
                .as_ref()
                .map(|c| c.category().to_owned())
                .unwrap_or_default(),
            id: o.id,
            name: o.name,
            uscc: o.uscc,
            org_type: o.org_type,
            registered_on: o.registered_on,
            rating: o.rating,
            rating_awarded_on: o.rating_awarded_on,
            social_workers: o.social_workers,
            district_id: o.district_id,
            contact_email: o.contact_email,
            status: o.status.into(),
            status_reason: o.status_reason,
            version: o.version,
            created_at: utc(o.created_at),
            track_record: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationFields {
    #[schema(schema_with = crate::openapi::text_200)]
    pub name: String,
    /// 统一社会信用代码, 18 characters (GB 32100-2015).
    pub uscc: String,
    pub org_type: OrgType,
    pub registered_on: NaiveDate,
    pub rating: Option<Rating>,
    pub rating_awarded_on: Option<NaiveDate>,
    pub social_workers: i32,
    pub district_id: String,
    #[schema(schema_with = crate::openapi::email)]
    pub contact_email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountFields {
    #[schema(schema_with = crate::openapi::email)]
    pub email: String,
    #[schema(schema_with = crate::openapi::text_100)]
    pub name: String,
    #[schema(schema_with = crate::openapi::password)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub organization: OrganizationFields,
    pub account: AccountFields,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterResponse {
    pub organization: OrganizationResponse,
    pub user: UserResponse,
}

/// Register a social organization and its first account.
#[utoipa::path(post, path = "/api/v1/organizations/register", tag = "organizations", request_body = RegisterRequest,
    responses((status = 201, body = RegisterResponse), (status = 409, body = Problem, description = "uscc_taken or email_taken"),
              (status = 422, body = Problem, description = "invalid_uscc names the expected check character")))]
pub async fn register_organization(
    state: State,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, AppError> {
    let RegisterRequest {
        organization: o,
        account: a,
    } = body.0;
    let uscc = Uscc::parse(&o.uscc).map_err(|e| {
        let msg = match &e {
            UsccError::Check { expected, found } => {
                format!("the check character is {found}; {expected} was expected")
            }
            other => other.to_string(),
        };
        AppError::invalid("invalid_uscc", "organization.uscc", msg)
    })?;
    let today = state.clock.now().date_naive();
    let mut e = Errors::default();
    let name = e.take(validate::text("organization.name", &o.name, 1, 200));
    let contact = e.take(validate::email(
        "organization.contact_email",
        &o.contact_email,
    ));
    if o.registered_on > today {
        e.push("organization.registered_on", "must not be in the future");
    }
    match (o.rating, o.rating_awarded_on) {
        (Some(_), None) => e.push(
            "organization.rating_awarded_on",
            "is required with a rating",
        ),
        (None, Some(_)) => e.push("organization.rating", "is required with rating_awarded_on"),
        (_, Some(d)) if d > today => e.push(
            "organization.rating_awarded_on",
            "must not be in the future",
        ),
        _ => {}
    }
    if !(0..=100_000).contains(&o.social_workers) {
        e.push("organization.social_workers", "must be 0 to 100000");
    }
    let email = e.take(validate::email("account.email", &a.email));
    let account_name = e.take(validate::text("account.name", &a.name, 1, 100));
    e.take(passwords::check_policy("account.password", &a.password));
    e.finish()?;
    let reg = Registration {
        name: name.unwrap_or_default(),
        uscc,
        org_type: o.org_type,
        registered_on: o.registered_on,
        rating: o.rating,
        rating_awarded_on: o.rating_awarded_on,
        social_workers: o.social_workers,
        district_id: o.district_id,
        contact_email: contact.unwrap_or_default(),
        account: CreateUser {
            email: email.unwrap_or_default(),
            name: account_name.unwrap_or_default(),
            password: a.password,
            role: Role::Org,
            region_id: None,
            organization_id: None,
        },
    };
    let hash = state.hasher.hash(reg.account.password.clone()).await?;
    let now = state.clock.now_naive();
    let (org, user) = state
        .db
        .write(move |c| service::register(c, reg, hash, now))
        .await?;
    Ok(HttpResponse::Created().json(RegisterResponse {
        organization: org.into(),
        user: user.into(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListOrganizationsQuery {
    /// pending_verification, verified, rejected or suspended (staff in scope only; others see verified).
    #[param(inline, value_type = Option<super::model::OrgStatus>)]
    pub status: Option<String>,
    /// Substring of the name, or of the credit code.
    pub q: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List social organizations.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "organizations", params(ListOrganizationsQuery),
    responses((status = 200, body = Page<OrganizationResponse>)))]
pub async fn list_organizations(
    state: State,
    viewer: MaybeUser,
    query: Query<ListOrganizationsQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let status = match &q.status {
        Some(s) => Some(
            OrgStatus::parse(s)
                .ok_or_else(|| AppError::field("status", "is not an organization status"))?,
        ),
        None => None,
    };
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let text = crate::validate::search("q", q.q)?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let rows = state
        .db
        .read(move |c| {
            let viewer = viewer.0.as_ref();
            service::list(c, viewer, status, text, after.as_deref(), fetch)
        })
        .await?;
    Ok(Page::from_rows(rows, limit, |o| o.id.clone(), OrganizationResponse::from).respond())
}

/// Read a social organization.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)),
    responses((status = 200, body = OrganizationResponse), (status = 404, body = Problem)))]
pub async fn get_organization(
    state: State,
    viewer: MaybeUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (o, record) = state
        .db
        .read(move |c| {
            let o = service::get(c, viewer.0.as_ref(), &id)?;
            let record = crate::reviews::service::track_record(c, &o.id)?;
            Ok((o, record))
        })
        .await?;
    let mut out = OrganizationResponse::from(o);
    out.track_record = Some(record);
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub reason: Option<String>,
}

async fn decide(
    state: State,
    actor: AuthUser,
    id: String,
    d: Decision,
    body: DecisionRequest,
) -> Result<HttpResponse, AppError> {
    let reason = match body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(r) => Some(validate::text("reason", r, 1, 1000)?),
        None => None,
    };
    let now = state.clock.now_naive();
    let o = state
        .db
        .write(move |c| service::decide(c, &actor, &id, d, reason, now))
        .await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(o)))
}

/// Verify an organization.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/verify", tag = "organizations", params(("id" = String, Path)),
    request_body = DecisionRequest, security(("bearer" = [])), responses((status = 200, body = OrganizationResponse), (status = 409, body = Problem)))]
pub async fn verify_organization(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<DecisionRequest>,
) -> Result<HttpResponse, AppError> {
    decide(state, actor, id.into_inner(), Decision::Verify, body.0).await
}

/// Reject an organization's registration.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/reject", tag = "organizations", params(("id" = String, Path)),
    request_body = DecisionRequest, security(("bearer" = [])), responses((status = 200, body = OrganizationResponse), (status = 409, body = Problem)))]
pub async fn reject_organization(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<DecisionRequest>,
) -> Result<HttpResponse, AppError> {
    decide(state, actor, id.into_inner(), Decision::Reject, body.0).await
}

/// Suspend an organization.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/suspend", tag = "organizations", params(("id" = String, Path)),
    request_body = DecisionRequest, security(("bearer" = [])), responses((status = 200, body = OrganizationResponse), (status = 409, body = Problem)))]
pub async fn suspend_organization(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<DecisionRequest>,
) -> Result<HttpResponse, AppError> {
    decide(state, actor, id.into_inner(), Decision::Suspend, body.0).await
}
