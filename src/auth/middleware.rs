//! The access check wrapped around every route: reads the bearer token, loads the user from
//! the database (or the short-lived memo of it), enforces the route's declared `Access`, and marks authenticated
//! responses `Cache-Control: no-store`.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::auth::{Access, AuthUser, SessionId};
use crate::error::AppError;
use crate::state::AppState;

/// The bearer token of a request: `Ok(None)` when no Authorization header was sent.
fn bearer(req: &ServiceRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = text.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(malformed());
    }
    Ok(Some(token.trim().to_owned()))
}

fn malformed() -> AppError {
    AppError::invalid_token("the Authorization header must be `Bearer <token>`")
}

pub async fn authorize(
    access: Access,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let user = match bearer(&req)? {
        None => None,
        Some(token) => {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::internal(anyhow::anyhow!("app state missing")))?;
            Some(authenticate(&state, &token).await?)
        }
    };
    let (user, session) = match user {
        Some((u, s)) => (Some(u), Some(s)),
        None => (None, None),
    };
    if !access.allows(user.as_ref().map(|u| u.role)) {
        return Err(match user {
            None => AppError::unauthenticated(),
            Some(_) => AppError::forbidden(),
        }
        .into());
    }
    let signed_in = user.is_some();
    if let Some(user) = user {
        req.extensions_mut().insert(user);
    }
    if let Some(session) = session {
        req.extensions_mut().insert(session);
    }
    let mut res = next.call(req).await?;
    if signed_in {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// Verifies the token, that its session is still signed in, and loads its user; a signed-out
/// session and a deactivated or deleted user are refused.
pub async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<(AuthUser, SessionId), AppError> {
    let claims = state.tokens.verify(token, state.clock.wall())?;
    let asked = std::time::Instant::now();
    let sid = claims.sid;
    if let Some(user) = state
        .users_seen
        .get(&sid, asked)
        .filter(|u| u.id == claims.sub)
    {
        return Ok((user, SessionId(sid)));
    }
    let (id, session) = (claims.sub, sid.clone());
    let user = state
        .db
        .read(move |conn| {
            if !crate::auth::repo::session_alive(conn, &session)? {
                return Ok(None);
            }
            crate::users::repo::find_auth_user(conn, &id)
        })
        .await?;
    match user {
        Some(u) => {
            state.users_seen.put(&sid, &u, asked);
            Ok((u, SessionId(sid)))
        }
        None => Err(AppError::invalid_token(
            "the session has ended, or the account no longer exists or is disabled",
        )),
    }
}
