//! The HTTP side of idempotency: the `Idempotency-Key` header, the hash of what a request asks
//! for, and the answer with `Idempotent-Replayed: true` when it is a replay. The rules live in
//! `crate::idempotency`; handlers only build a [`Call`] and answer an [`Answer`].

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::error::AppError;
use crate::idempotency::{Answer, Call};

/// The call `req` makes for `user_id`, asking for `body`.
pub fn call(req: &HttpRequest, user_id: &str, body: &impl Serialize) -> Result<Call, AppError> {
    let key = key(req)?;
    let route = format!("{} {}", req.method(), req.path());
    Ok(Call::new(user_id, key, &route, body))
}

/// The key from the `Idempotency-Key` header: 1–200 visible ASCII characters.
fn key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let k = v.to_str().unwrap_or("").trim();
    if k.is_empty() || k.len() > 200 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::field(
            "Idempotency-Key",
            "must be 1 to 200 visible ASCII characters",
        ));
    }
    Ok(Some(k.to_owned()))
}

/// The answer as a response; a replay says so in `Idempotent-Replayed`.
pub fn respond(answer: Answer) -> HttpResponse {
    let mut r = HttpResponse::build(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK));
    if answer.replayed {
        r.insert_header(("Idempotent-Replayed", "true"));
    }
    r.json(answer.body)
}
