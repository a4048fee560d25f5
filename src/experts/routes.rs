//! HTTP for the expert pool.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Expert, NewExpert, NewRelationship, Relationship};
use crate::auth::{passwords, Access, AuthUser, Role};
use crate::clock::utc;
use crate::domain::spec::Category;
use crate::domain::uscc::Uscc;
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::users::service::CreateUser;
use crate::validate::{self, Errors};

pub fn register(r: &mut Router) {
    r.post(
        "/api/v1/experts",
        Access::Roles(&[Role::Admin]),
        create_expert,
    )
    .get(
        "/api/v1/experts",
        Access::Roles(&[Role::Admin, Role::Bureau]),
        list_experts,
    )
    .get(
        "/api/v1/experts/{id}",
        Access::Roles(&[Role::Admin, Role::Bureau]),
        get_expert,
    )
    .post(
        "/api/v1/experts/{id}/relationships",
        Access::Roles(&[Role::Admin, Role::Expert]),
        add_relationship,
    );
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelationshipResponse {
    pub id: String,
    pub organization_uscc: String,
    /// employment, director, shareholder or kin.
    pub kind: String,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
}

impl From<Relationship> for RelationshipResponse {
    fn from(r: Relationship) -> Self {
        RelationshipResponse {
            id: r.id,
            organization_uscc: r.organization_uscc,
            kind: r.kind,
            since: r.since,
            until: r.until,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExpertResponse {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub title: String,
    pub specialties: Vec<Category>,
    pub region_id: Option<String>,
    pub bureau_district_id: Option<String>,
    pub relationships: Vec<RelationshipResponse>,
    pub created_at: DateTime<Utc>,
}

fn respond(e: Expert, rels: Vec<Relationship>) -> Result<ExpertResponse, AppError> {
    Ok(ExpertResponse {
        specialties: service::specialties(&e)?,
        id: e.id,
        user_id: e.user_id,
        name: e.name,
        title: e.title,
        region_id: e.region_id,
        bureau_district_id: e.bureau_district_id,
        relationships: rels.into_iter().map(Into::into).collect(),
        created_at: utc(e.created_at),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "li.prof@univ.edu.cn", "name": "李教授", "password": "a-long-password", "title": "副教授", "specialties": ["elderly", "health"], "region_id": null, "bureau_district_id": null}))]
pub struct CreateExpertRequest {
    #[schema(schema_with = crate::openapi::email)]
    pub email: String,
    #[schema(schema_with = crate::openapi::text_100)]
    pub name: String,
    #[schema(schema_with = crate::openapi::password)]
    pub password: String,
    #[schema(schema_with = crate::openapi::text_100)]
    pub title: String,
    #[schema(min_items = 1)]
    pub specialties: Vec<Category>,
    pub region_id: Option<String>,
    /// The district whose bureau employs the expert: never drawn for that district's projects.
    pub bureau_district_id: Option<String>,
}

/// Add an expert to the pool.
#[utoipa::path(post, path = "/api/v1/experts", tag = "experts", request_body = CreateExpertRequest, security(("bearer" = [])),
    responses((status = 201, body = ExpertResponse), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_expert(
    state: State,
    actor: AuthUser,
    body: Json<CreateExpertRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let mut e = Errors::default();
    let email = e.take(validate::email("email", &b.email));
    let name = e.take(validate::text("name", &b.name, 1, 100));
    let title = e.take(validate::text("title", &b.title, 1, 100));
    e.take(passwords::check_policy("password", &b.password));
    if b.specialties.is_empty() {
        e.push("specialties", "must name at least one category");
    }
    e.finish()?;
    let cmd = NewExpert {
        account: CreateUser {
            email: email.unwrap_or_default(),
            name: name.unwrap_or_default(),
            password: b.password,
            role: Role::Expert,
            region_id: None,
            organization_id: None,
        },
        title: title.unwrap_or_default(),
        specialties: b.specialties,
        region_id: b.region_id,
        bureau_district_id: b.bureau_district_id,
    };
    let hash = state.hasher.hash(cmd.account.password.clone()).await?;
    let now = state.clock.now_naive();
    let ex = state
        .db
        .write(move |c| service::create(c, &actor, cmd, hash, now))
        .await?;
    Ok(HttpResponse::Created().json(respond(ex, vec![])?))
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

/// List experts.
#[utoipa::path(get, path = "/api/v1/experts", tag = "experts", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<ExpertResponse>)))]
pub async fn list_experts(state: State, q: Query<PageQuery>) -> Result<HttpResponse, AppError> {
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let rows = state
        .db
        .read(move |c| service::list(c, after.as_deref(), fetch))
        .await?;
    let rows = rows
        .into_iter()
        .map(|(e, r)| respond(e, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(rows, limit, |e| e.id.clone(), |e| e).respond())
}

/// Read an expert.
#[utoipa::path(get, path = "/api/v1/experts/{id}", tag = "experts", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ExpertResponse), (status = 404, body = Problem)))]
pub async fn get_expert(state: State, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (e, r) = state
        .db
        .read(move |c| service::get_with_relationships(c, &id))
        .await?;
    Ok(HttpResponse::Ok().json(respond(e, r)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organization_uscc": "53100000500019795A", "kind": "director", "since": "2022-01-01", "until": null}))]
pub struct RelationshipRequest {
    pub organization_uscc: String,
    /// employment, director, shareholder or kin (of the legal representative).
    pub kind: String,
    pub since: NaiveDate,
    pub until: Option<NaiveDate>,
}

/// Declare an expert's relationship with an organization.
#[utoipa::path(post, path = "/api/v1/experts/{id}/relationships", tag = "experts", request_body = RelationshipRequest,
    params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 201, body = RelationshipResponse), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_relationship(
    state: State,
    actor: AuthUser,
    id: web::Path<String>,
    body: Json<RelationshipRequest>,
) -> Result<HttpResponse, AppError> {
    let b = body.0;
    let mut e = Errors::default();
    let uscc = match Uscc::parse(&b.organization_uscc) {
        Ok(u) => Some(u),
        Err(err) => {
            e.push("organization_uscc", err.to_string());
            None
        }
    };
    if !["employment", "director", "shareholder", "kin"].contains(&b.kind.as_str()) {
        e.push("kind", "must be employment, director, shareholder or kin");
    }
    if b.until.is_some_and(|u| u < b.since) {
        e.push("until", "must not be before since");
    }
    e.finish()?;
    let Some(uscc) = uscc else {
        return Err(AppError::field("organization_uscc", "is not a credit code"));
    };
    let r = NewRelationship {
        uscc,
        kind: b.kind,
        since: b.since,
        until: b.until,
    };
    let (id, now) = (id.into_inner(), state.clock.now_naive());
    let rel = state
        .db
        .write(move |c| service::add_relationship(c, &actor, &id, r, now))
        .await?;
    Ok(HttpResponse::Created().json(RelationshipResponse::from(rel)))
}
