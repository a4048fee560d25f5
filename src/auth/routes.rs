//! HTTP for sign-in: `POST /auth/login`, `/auth/refresh`, `/auth/logout`.

use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::service::{self, Session};
use crate::auth::{Access, AuthUser, Role, SessionId};
use crate::error::{AppError, Problem};
use crate::http::routes::Router;
use crate::http::Json;
use crate::state::State;
use crate::users::model::User;
use crate::users::routes::UserResponse;

pub fn register(r: &mut Router) {
    r.post("/api/v1/auth/login", Access::Public, login)
        .post("/api/v1/auth/refresh", Access::Public, refresh)
        .post("/api/v1/auth/logout", Access::SignedIn, logout);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: UserResponse,
}

fn tokens(state: &State, user: User, session: Session) -> Result<HttpResponse, AppError> {
    let role =
        Role::parse(&user.role).ok_or_else(|| AppError::internal(anyhow::anyhow!("bad role")))?;
    let access_token = state
        .tokens
        .issue(&user.id, role, &session.id, state.clock.wall())?;
    let refresh_token = session.refresh_token;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: state.tokens.access_ttl_secs,
            refresh_token,
            user: user.into(),
        }))
}

/// Sign in with email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse),
              (status = 401, body = Problem, description = "invalid_credentials, the same for an unknown email"),
              (status = 429, body = Problem, description = "rate_limited, with Retry-After: this client address failed too often for this account, or sent too many attempts"),
              (status = 503, body = Problem, description = "overloaded, with Retry-After: the password-hashing queue is full")))]
pub async fn login(
    state: State,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let limits = &state.login_limits;
    let client = limits.client_ip(&req);
    limits.check_ip(client)?;
    let email = body.email.trim().to_lowercase();
    limits.check_account(&email, client)?;
    // A place in the hashing pool first: a sign-in refused for lack of one costs no query.
    let slot = state.hasher.reserve()?;
    let password = body.0.password;
    let lookup = email.clone();
    let found = state
        .db
        .read(move |conn| service::find_account(conn, &lookup))
        .await?;
    let checked = slot
        .run(move || service::check_password(found, &password))
        .await?;
    let user = match checked {
        Ok(u) => u,
        Err(e) => {
            if e.code == "invalid_credentials" {
                limits.record_failure(&email, client);
            }
            return Err(e);
        }
    };
    limits.record_success(&email, client);
    let ttl = state.tokens.refresh_ttl_secs;
    let now = state.clock.wall_naive();
    let uid = user.id.clone();
    let refresh = state
        .db
        .write(move |conn| service::start_session(conn, &uid, ttl, now))
        .await?;
    tokens(&state, user, refresh)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchange a refresh token for new tokens.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse),
              (status = 401, body = Problem, description = "invalid_refresh_token, or refresh_token_reused (family revoked)")))]
pub async fn refresh(
    state: State,
    req: HttpRequest,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let limits = &state.login_limits;
    limits.check_ip(limits.client_ip(&req))?;
    let presented = body.0.refresh_token;
    let ttl = state.tokens.refresh_ttl_secs;
    let now = state.clock.wall_naive();
    let (user, session) = state
        .db
        .write(move |conn| service::rotate(conn, &presented, ttl, now))
        .await?;
    tokens(&state, user, session)
}

/// Sign out, revoking the refresh token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    security(("bearer" = [])), responses((status = 204, description = "the session is over: its refresh token and the access token used here stop working"), (status = 401, body = Problem)))]
pub async fn logout(
    state: State,
    actor: AuthUser,
    session: SessionId,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let presented = body.0.refresh_token;
    let now = state.clock.wall_naive();
    let ended = state
        .db
        .write(move |conn| service::logout(conn, &actor.id, &session.0, &presented, now))
        .await?;
    // This process refuses the sessions' access tokens from the next request; others within
    // `auth.user_cache_ms` (see `auth::cache`).
    for sid in &ended {
        state.users_seen.forget_session(sid);
    }
    Ok(HttpResponse::NoContent().finish())
}
