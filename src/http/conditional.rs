//! `If-Match` / `ETag` over a resource's integer `version`.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;

use crate::error::AppError;

/// The version an update expects: 428 when `If-Match` is missing, 412 when it is not a
/// version this server issued.
pub fn if_match(req: &HttpRequest) -> Result<i64, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Err(AppError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send If-Match with the version you read (the ETag)",
        ));
    };
    let text = value.to_str().unwrap_or("").trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse::<i64>().map_err(|_| stale())
}

pub fn stale() -> AppError {
    AppError::new(
        StatusCode::PRECONDITION_FAILED,
        "version_mismatch",
        "the resource changed since you read it; read it again",
    )
}

/// The ETag header value for `version`.
pub fn etag(version: i64) -> (header::HeaderName, String) {
    (header::ETAG, format!("\"{version}\""))
}
