//! A request id for every request: generated (or taken from a sane `X-Request-Id`), set on the
//! response, carried by the tracing span of every log line, and put in every problem body.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The id of the request being served on this task, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok()
}

pub const HEADER: &str = "x-request-id";

fn acceptable(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The path as the log may show it: a bid route's ids are left out (which project an
/// organization bids on, and which bid it edits, stay sealed in the log too), and its lines
/// are `debug` (off by default), so the log does not count bids either.
fn loggable(path: &str) -> (std::borrow::Cow<'_, str>, bool) {
    let parts: Vec<&str> = path.trim_start_matches("/api/v1/").split('/').collect();
    match parts.as_slice() {
        ["projects", _, "bids"] => ("/api/v1/projects/{id}/bids".into(), true),
        ["bids", _] => ("/api/v1/bids/{id}".into(), true),
        ["bids", _, action] => (format!("/api/v1/bids/{{id}}/{action}").into(), true),
        _ => (path.into(), false),
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let (path, sealed) = loggable(req.path());
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %path);
    let started = Instant::now();
    // An error a middleware returns (the access check's 401 and 403) is rendered here, inside
    // the scope, so its problem body carries the id like every other answer.
    let result = REQUEST_ID
        .scope(
            id.clone(),
            async move {
                next.call(req).await.map_err(|e| {
                    let rendered = e.error_response();
                    actix_web::Error::from(InternalError::from_response(e.to_string(), rendered))
                })
            }
            .instrument(span.clone()),
        )
        .await;
    let _enter = span.enter();
    match result {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let elapsed_ms = started.elapsed().as_millis() as u64;
            if sealed && status < 500 {
                tracing::debug!(status, elapsed_ms, "served");
            } else {
                tracing::info!(status, elapsed_ms, "served");
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                resp.headers_mut()
                    .insert(HeaderName::from_static(HEADER), value);
            }
            Ok(resp)
        }
        Err(e) => {
            tracing::warn!(error = %e, "request failed");
            let mut rendered = e.error_response();
            if let Ok(value) = HeaderValue::from_str(&id) {
                rendered
                    .headers_mut()
                    .insert(HeaderName::from_static(HEADER), value);
            }
            Err(InternalError::from_response(e.to_string(), rendered).into())
        }
    }
}
