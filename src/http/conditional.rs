//! `If-Match` / `ETag` over a resource's integer `version`.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;

use crate::error::AppError;

/// What an update's `If-Match` asks for (RFC 9110 § 13.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the resource as it is now, whatever its version.
    Any,
    /// One or more versions this server issued as ETags; any of them matches.
    Versions(Vec<i64>),
}

impl IfMatch {
    /// The version to guard the write with, given the version the resource is at now: that
    /// version when it matches, 412 when it does not. A missing resource never gets here: its
    /// 404 comes first, the same answer as out of scope.
    pub fn check(&self, current: i64) -> Result<i64, AppError> {
        match self {
            IfMatch::Any => Ok(current),
            IfMatch::Versions(v) if v.contains(&current) => Ok(current),
            IfMatch::Versions(_) => Err(stale()),
        }
    }
}

/// The versions an update expects: 428 when `If-Match` is missing, 412 when it names no
/// version this server issued.
pub fn if_match(req: &HttpRequest) -> Result<IfMatch, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Err(AppError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send If-Match with the version you read (the ETag)",
        ));
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(IfMatch::Any);
    }
    let versions = text
        .split(',')
        .map(|tag| {
            let tag = tag.trim();
            let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
            tag.parse::<i64>()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| stale())?;
    Ok(IfMatch::Versions(versions))
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

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn parsed(value: &str) -> Result<IfMatch, AppError> {
        if_match(
            &TestRequest::default()
                .insert_header(("If-Match", value))
                .to_http_request(),
        )
    }

    #[test]
    fn a_star_matches_any_version_and_a_list_any_of_its_versions() {
        assert_eq!(parsed("*").unwrap().check(7).unwrap(), 7);
        assert_eq!(parsed("\"3\"").unwrap().check(3).unwrap(), 3);
        assert_eq!(parsed("\"3\"").unwrap().check(4).unwrap_err().status, 412);
        assert_eq!(parsed("\"2\", \"4\"").unwrap().check(4).unwrap(), 4);
        assert_eq!(parsed("junk").unwrap_err().status, 412);
        let none = if_match(&TestRequest::default().to_http_request());
        assert_eq!(none.unwrap_err().status, 428);
    }
}
