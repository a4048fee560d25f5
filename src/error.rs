//! One error type for the whole app, rendered as RFC 9457 `application/problem+json` with a
//! stable snake_case `code`. Internal causes go to the log with the request id, never to the
//! client.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::http::request_id;

mod unique;

/// A field that failed validation, named as the client sent it (`organization.uscc`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct AppError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u64>,
    #[source]
    pub source: Option<anyhow::Error>,
}

/// An RFC 9457 problem (`application/problem+json`): `code` is the stable, machine-readable
/// reason; `errors` names the fields of a 422; `request_id` is the `x-request-id` header of
/// the same response, to quote when reporting it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://gongyi.example/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP reason phrase of `status`.
    pub title: String,
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    pub detail: String,
    /// Stable snake_case code: `not_found`, `validation_failed`, `invalid_state`, …
    #[schema(pattern = "^[a-z0-9_]+$")]
    pub code: String,
    /// The fields that failed, on 422; absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
    /// Absent only for a problem rendered outside a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = true)]
    pub request_id: Option<String>,
}

impl AppError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> Self {
        AppError {
            status,
            code: code.into(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    /// 422 `validation_failed` naming the fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        AppError {
            errors,
            ..AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                detail,
            )
        }
    }

    /// 422 `validation_failed` for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::validation(vec![FieldError::new(field, message)])
    }

    /// 422 with a specific code (e.g. `invalid_uscc`) and the field it is about.
    pub fn invalid(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let mut e = AppError::field(field, message);
        e.code = code.into();
        e
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn forbidden() -> Self {
        AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role may not do this",
        )
    }

    pub fn not_found(what: &str) -> Self {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn invalid_state(detail: impl Into<String>) -> Self {
        AppError::conflict("invalid_state", detail)
    }

    /// 409 `concurrent_update`: a guarded write found `what` (`"project"`, `"bid"`) no longer
    /// at the version or status it was read at.
    pub fn concurrent_update(what: &str) -> Self {
        AppError::conflict(
            "concurrent_update",
            format!("the {what} changed meanwhile; read it again"),
        )
    }

    /// 401 `unauthenticated`: the route needs a signed-in user and none is.
    pub fn unauthenticated() -> Self {
        AppError::unauthorized("unauthenticated", "sign in first")
    }

    /// 401 `invalid_token`: the access token, or the account behind it, is not usable.
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        AppError::unauthorized("invalid_token", detail)
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many attempts; try again later",
            )
        }
    }

    /// 503 `overloaded`: a bounded pool (password hashing) has no room; try again shortly.
    pub fn overloaded(retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the server is busy; try again shortly",
            )
        }
    }

    pub fn db_unavailable(e: impl std::fmt::Display) -> Self {
        AppError {
            retry_after: Some(5),
            source: Some(anyhow::anyhow!("database unavailable: {e}")),
            ..AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database is not reachable; try again shortly",
            )
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        AppError {
            source: Some(e.into()),
            ..AppError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "an internal error occurred",
            )
        }
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://gongyi.example/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            errors: self.errors.clone(),
            request_id: request_id::current(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        // An `overloaded` answer is the server protecting itself, one per refused request in
        // a flood: logging each would make the flood fill the log too.
        if self.status.is_server_error() && self.code != "overloaded" {
            let id = &problem.request_id;
            match &self.source {
                Some(cause) => tracing::error!(request_id = ?id, code = %self.code, "{cause:#}"),
                None => tracing::error!(request_id = ?id, code = %self.code, "{}", self.detail),
            }
        }
        let mut resp = HttpResponse::build(self.status);
        resp.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(secs) = self.retry_after {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::not_found("resource"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // The constraint's name is the schema's business: it goes to the log only.
                tracing::info!(
                    constraint = info.constraint_name().unwrap_or(""),
                    message = info.message(),
                    "unique violation"
                );
                AppError::conflict(
                    "conflict",
                    unique::message(info.constraint_name(), info.message()),
                )
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => AppError::db_unavailable(e),
            Error::DatabaseError(_, ref info) if is_unavailable(info.message()) => {
                AppError::db_unavailable(e)
            }
            other => AppError::internal(other),
        }
    }
}

/// Messages of errors that mean the database is away, not that the query was wrong.
fn is_unavailable(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "database is locked",
        "terminating connection",
        "server closed the connection",
        "no connection to the server",
        "connection to server was lost",
        "could not send data to server",
        "could not receive data from server",
        "does not allow connections",
        "unable to open database",
    ]
    .iter()
    .any(|s| m.contains(s))
}

/// One field's problem as a 422 naming it, so `validate::text(…)?` reads as it should.
impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::validation(vec![e])
    }
}

impl AppError {
    /// For `map_err` on an insert: a unique-constraint violation becomes 409 `code`; any other
    /// database error converts as usual.
    pub fn unique_as(
        code: &'static str,
        detail: impl Into<String>,
    ) -> impl FnOnce(diesel::result::Error) -> AppError {
        let detail = detail.into();
        move |e| {
            if crate::db::is_unique_violation(&e) {
                AppError::conflict(code, detail)
            } else {
                e.into()
            }
        }
    }
}

impl AppError {
    /// This error and every cause under it, for the log (never for the client): `Display`
    /// alone stops at "500 … internal_error: an internal error occurred".
    pub fn chain(&self) -> String {
        chain_of(self)
    }
}

/// `error` and its sources, outermost first, joined by ": ". A cause whose text is already in
/// the line is not repeated (many errors print their source inside their own message).
pub fn chain_of(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

/// Decodes the JSON kept in a text column. Text that does not decode is corrupt data: an
/// internal error whose cause (the column and serde's complaint) goes to the log, never an
/// empty value passed off as the data.
pub fn decode_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> AppResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(column, e))
}

/// An internal error for a stored value of `column` that does not read back.
pub fn corrupt(column: &str, cause: impl std::fmt::Display) -> AppError {
    AppError::internal(anyhow::anyhow!(
        "{column} holds an unreadable value: {cause}"
    ))
}

pub type AppResult<T> = Result<T, AppError>;

impl From<crate::domain::spec::Invalid> for FieldError {
    fn from(i: crate::domain::spec::Invalid) -> Self {
        FieldError {
            field: i.field,
            message: i.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that prints its source in its own message, as lettre's do.
    #[derive(Debug, thiserror::Error)]
    #[error("network error: {0}")]
    struct Network(#[source] std::io::Error);

    #[test]
    fn the_chain_names_every_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = AppError::internal(anyhow::Error::new(Network(io)).context("sending mail"));
        let line = e.chain();
        assert!(
            line.starts_with("500 Internal Server Error internal_error"),
            "{line}"
        );
        assert!(
            line.contains(": sending mail: network error: connection refused"),
            "{line}"
        );
        assert_eq!(line.matches("connection refused").count(), 1, "{line}");
        // Display alone drops the causes, which is why the logs use the chain.
        assert!(!e.to_string().contains("sending mail"));
        let plain = AppError::conflict("bid_exists", "a live bid exists");
        assert_eq!(plain.chain(), plain.to_string());
    }
}
