//! Strict extractors. `Json<T>` accepts only JSON content types (415 otherwise), bodies up to
//! the configured limit (413), and answers 400 for malformed JSON and 422 naming the field for
//! wrong types, missing and unknown fields. A bare request (no body, no `Content-Type`, what
//! curl and REST clients send for an action) reads as `{}`, so an optional body may be left
//! out. `Query<T>` answers 422 naming the parameter.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

mod strict_json;

/// The JSON body limit in bytes, stored in app data by the app builder.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

pub struct Json<T>(pub T);

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What the `Content-Type` header says about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Declared {
    Json,
    Other,
    Absent,
}

fn content_type(req: &HttpRequest) -> Declared {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return Declared::Absent;
    };
    match ct.to_str() {
        Ok(ct) if is_json(ct) => Declared::Json,
        _ => Declared::Other,
    }
}

fn is_json(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared_type = content_type(req);
        let limit = req
            .app_data::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(64 * 1024);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            let not_json = || {
                AppError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "the body must be JSON (Content-Type: application/json)",
                )
            };
            // Without a Content-Type only an empty body is accepted (as `{}`); a body that is
            // sent must say it is JSON.
            let bare_allowed = declared_type == Declared::Absent;
            if declared_type == Declared::Other || (bare_allowed && declared.is_some_and(|n| n > 0))
            {
                return Err(not_json());
            }
            let too_large = || {
                AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the body exceeds the limit of {limit} bytes"),
                )
            };
            if declared.is_some_and(|n| n > limit) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::bad_request("bad_body", format!("could not read the body: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            if bare_allowed {
                if !body.is_empty() {
                    return Err(not_json());
                }
                return parse_json(b"{}").map(Json);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Deserialises a JSON document: 400 when it is not JSON at all or names a key twice in one
/// object, 422 naming the field when it is JSON of the wrong shape. Every request body is an
/// object.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let value = strict_json::parse(body)?;
    if !value.is_object() {
        return Err(AppError::field("body", "must be a JSON object"));
    }
    deserialize_naming_every_missing_field(value)
}

/// Deserialises `value`, and on failure names every required field that is missing, not just
/// the first serde stops at (a bid without price, plan and team names all three), then the
/// first other error. Each missing field is filled with a stand-in of a type that gets past it
/// and the document is tried again; only failing bodies pay for this, a few tries a field.
fn deserialize_naming_every_missing_field<T: DeserializeOwned>(
    mut value: serde_json::Value,
) -> Result<T, AppError> {
    // Of every shape a field here takes: nullable, text, number, list, object, flag, money,
    // day, instant (an enum's first variant is tried when one is named).
    let stand_ins = [
        serde_json::Value::Null,
        serde_json::json!(""),
        serde_json::json!(0),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!(false),
        serde_json::json!("0.00"),
        serde_json::json!("2026-01-01"),
        serde_json::json!("2026-01-01T00:00:00Z"),
    ];
    let mut errors: Vec<FieldError> = Vec::new();
    let mut attempt = serde_path_to_error::deserialize::<_, T>(value.clone());
    for _ in 0..32 {
        let err = match attempt {
            Ok(t) if errors.is_empty() => return Ok(t),
            Ok(_) => break,
            Err(e) => e,
        };
        let path: Vec<serde_path_to_error::Segment> = err.path().iter().cloned().collect();
        let shown = err.path().to_string();
        let message = err.into_inner().to_string();
        let error = data_error(&shown, &message);
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let field = error.field.clone();
        errors.push(error);
        let Some(name) = missing else { break };
        // The stand-in that moves the first error off this field; none: stop here.
        let mut next = None;
        let mut candidates: Vec<serde_json::Value> = stand_ins.to_vec();
        let mut i = 0;
        while i < candidates.len() && next.is_none() {
            let mut tried = value.clone();
            if !put_at(&mut tried, &path, &name, candidates[i].clone()) {
                break;
            }
            i += 1;
            let result = serde_path_to_error::deserialize::<_, T>(tried.clone());
            let stuck = match &result {
                Ok(_) => false,
                Err(e) => {
                    let text = e.inner().to_string();
                    let here = data_error(&e.path().to_string(), &text).field == field;
                    if here && candidates.len() == stand_ins.len() {
                        if let Some(variant) = first_variant(&text) {
                            candidates.push(serde_json::Value::String(variant));
                        }
                    }
                    here
                }
            };
            if !stuck {
                next = Some((tried, result));
            }
        }
        let Some((tried, result)) = next else { break };
        value = tried;
        attempt = result;
    }
    Err(AppError::validation(errors))
}

/// The first variant an "unknown variant" message offers (`expected one of `a`, `b``).
fn first_variant(message: &str) -> Option<String> {
    let rest = message.split("expected one of `").nth(1)?;
    rest.split('`').next().map(str::to_owned)
}

/// Sets `name` to `v` in the object at `path` inside `value`; false when there is none.
fn put_at(
    value: &mut serde_json::Value,
    path: &[serde_path_to_error::Segment],
    name: &str,
    v: serde_json::Value,
) -> bool {
    use serde_path_to_error::Segment;
    let mut at = value;
    for seg in path {
        let next = match seg {
            Segment::Map { key } => at.get_mut(key.as_str()),
            Segment::Seq { index } => at.get_mut(*index),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => return false,
        }
    }
    match at.as_object_mut() {
        Some(o) => {
            o.insert(name.to_owned(), v);
            true
        }
        None => false,
    }
}

/// Turns serde's message into a field error. serde reports an unknown field at the path of
/// the object that holds it, so the field's own name is taken from the message.
fn data_error(path: &str, message: &str) -> FieldError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let base = if path == "." {
        String::new()
    } else {
        path.to_owned()
    };
    let named = |name: &str| {
        if base.is_empty() || base == name || base.ends_with(&format!(".{name}")) {
            if base.is_empty() {
                name.to_owned()
            } else {
                base.clone()
            }
        } else {
            format!("{base}.{name}")
        }
    };
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(name) = rest.split('`').next() {
                let field = named(name);
                let text = if prefix.starts_with("unknown") {
                    "unknown field"
                } else {
                    "is required"
                };
                return FieldError::new(field, text);
            }
        }
    }
    FieldError::new(
        if base.is_empty() {
            "body".to_owned()
        } else {
            base
        },
        message,
    )
}

/// A strict query-string extractor: a bad parameter is 422 naming it.
pub struct Query<T>(pub T);

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(qs: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(qs));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let mut fe = data_error(&path, &message);
        if fe.field == "body" {
            fe.field = "query".into();
        }
        AppError::validation(vec![fe])
    })
}

fn form_urlencoded_parse(qs: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(qs.as_bytes())
}
