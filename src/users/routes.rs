//! HTTP for users: `POST/GET /users`, `PATCH /users/{id}`, `GET /me`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::model::User;
use super::service::{self, CreateUser, UpdateUser, UserFilter};
use crate::auth::{passwords, Access, AuthUser, Role};
use crate::clock::utc;
use crate::error::{AppError, Problem};
use crate::http::conditional::{etag, if_match};
use crate::http::routes::Router;
use crate::http::{Json, Page, PageParams, Query};
use crate::state::State;
use crate::validate::{self, Errors};

const ADMIN: Access = Access::Roles(&[Role::Admin]);

pub fn register(r: &mut Router) {
    r.post("/api/v1/users", ADMIN, create_user)
        .get("/api/v1/users", ADMIN, list_users)
        .get("/api/v1/users/{id}", ADMIN, get_user)
        .patch("/api/v1/users/{id}", ADMIN, update_user)
        .get("/api/v1/me", Access::SignedIn, me);
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    pub id: String,
    pub email: String,
    pub name: String,
    #[schema(value_type = crate::auth::Role)]
    pub role: String,
    pub region_id: Option<String>,
    pub organization_id: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(u: User) -> Self {
        UserResponse {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            region_id: u.region_id,
            organization_id: u.organization_id,
            active: u.active,
            version: u.version,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(schema_with = crate::openapi::email)]
    pub email: String,
    #[schema(schema_with = crate::openapi::text_100)]
    pub name: String,
    #[schema(schema_with = crate::openapi::password)]
    pub password: String,
    /// admin, bureau, street, community or expert (organization accounts come from registration).
    pub role: Role,
    pub region_id: Option<String>,
}

impl CreateUserRequest {
    fn parse(self) -> Result<CreateUser, AppError> {
        let mut errors = Errors::default();
        let email = errors.take(validate::email("email", &self.email));
        let name = errors.take(validate::text("name", &self.name, 1, 100));
        errors.take(passwords::check_policy("password", &self.password));
        if self.role == Role::Org {
            errors.push(
                "role",
                "organization accounts are created by POST /organizations/register",
            );
        }
        errors.finish()?;
        Ok(CreateUser {
            email: email.unwrap_or_default(),
            name: name.unwrap_or_default(),
            password: self.password,
            role: self.role,
            region_id: self.region_id,
            organization_id: None,
        })
    }
}

/// Create a user account.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserRequest,
    security(("bearer" = [])),
    responses((status = 201, body = UserResponse), (status = 409, body = Problem, description = "email_taken"),
              (status = 422, body = Problem)))]
pub async fn create_user(
    state: State,
    actor: AuthUser,
    body: Json<CreateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let cmd = body.0.parse()?;
    let hash = state.hasher.hash(cmd.password.clone()).await?;
    let now = state.clock.now_naive();
    let user = state
        .db
        .write(move |conn| service::create_user_hashed(conn, Some(&actor), cmd, hash, now))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(etag(user.version))
        .json(UserResponse::from(user)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListUsersQuery {
    #[param(inline)]
    pub role: Option<Role>,
    pub region_id: Option<String>,
    /// Substring of email or name.
    pub q: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// List user accounts.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListUsersQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<UserResponse>)))]
pub async fn list_users(
    state: State,
    query: Query<ListUsersQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let page = PageParams::<String>::parse(q.limit, q.cursor.as_deref())?;
    let filter = UserFilter {
        role: q.role.map(|r| r.as_str().to_owned()),
        region_id: q.region_id,
        q: crate::validate::search("q", q.q)?,
    };
    let (limit, fetch, after) = (page.limit, page.fetch(), page.after);
    let rows = state
        .db
        .read(move |conn| service::list_users(conn, &filter, after.as_deref(), fetch))
        .await?;
    Ok(Page::from_rows(rows, limit, |u| u.id.clone(), UserResponse::from).respond())
}

/// Read a user account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = UserResponse), (status = 404, body = Problem)))]
pub async fn get_user(state: State, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let user = state
        .db
        .read(move |conn| service::get_user(conn, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(UserResponse::from(user)))
}

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub name: Option<String>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub region_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Change a user account.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUserRequest,
    security(("bearer" = [])), params(("id" = String, Path), ("If-Match" = String, Header, description = "the version read")),
    responses((status = 200, body = UserResponse), (status = 412, body = Problem), (status = 428, body = Problem)))]
pub async fn update_user(
    state: State,
    actor: AuthUser,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<UpdateUserRequest>,
) -> Result<HttpResponse, AppError> {
    let version = if_match(&req)?;
    let b = body.0;
    let mut errors = Errors::default();
    let name = b
        .name
        .as_deref()
        .and_then(|n| errors.take(validate::text("name", n, 1, 100)));
    errors.finish()?;
    let cmd = UpdateUser {
        name,
        role: b.role,
        region_id: b.region_id,
        active: b.active,
    };
    let id = id.into_inner();
    let now = state.clock.now_naive();
    let user = state
        .db
        .write(move |conn| service::update_user(conn, &actor, &id, &version, cmd, now))
        .await?;
    state.users_seen.forget(&user.id);
    Ok(HttpResponse::Ok()
        .insert_header(etag(user.version))
        .json(UserResponse::from(user)))
}

/// Read the signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserResponse), (status = 401, body = Problem)))]
pub async fn me(state: State, actor: AuthUser) -> Result<HttpResponse, AppError> {
    let user = state
        .db
        .read(move |conn| service::get_user(conn, &actor.id))
        .await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}
