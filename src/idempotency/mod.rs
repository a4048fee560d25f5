//! Idempotency keys for bid-creating and money-moving POSTs. `(user_id, key)` is the primary
//! key of the stored responses, with the request's hash beside it: a replay returns the stored
//! response; the same key with another body is 422. Stored bodies are sealed, since a bid's
//! response carries its price before the deadline.

pub mod repo;

use sha2::{Digest, Sha256};

use crate::crypto::Sealer;
use crate::db::DbConn;
use crate::error::AppError;

/// A stored response.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: u16,
    pub body: serde_json::Value,
}

/// The key from the `Idempotency-Key` header: 1–200 visible ASCII characters.
pub fn parse_key(req: &actix_web::HttpRequest) -> Result<Option<String>, AppError> {
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

/// The hash of what a request asks for (its route and canonical body).
pub fn request_hash(route: &str, body: &serde_json::Value) -> String {
    let canonical = serde_json_canonicalizer::to_vec(body).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(route.as_bytes());
    h.update([0]);
    h.update(&canonical);
    hex::encode(h.finalize())
}

fn context(user_id: &str, key: &str) -> String {
    format!("idempotency:{user_id}:{key}")
}

/// The stored response for `(user, key)`: `Some` to replay, 422 when the key was used for
/// another request.
pub fn lookup(
    conn: &mut DbConn,
    sealer: &Sealer,
    user_id: &str,
    key: &str,
    hash: &str,
) -> Result<Option<Stored>, AppError> {
    let Some(row) = repo::find(conn, user_id, key)? else {
        return Ok(None);
    };
    if row.request_hash != hash {
        return Err(AppError::invalid(
            "idempotency_key_reused",
            "Idempotency-Key",
            "this key was used with a different request; use a new key",
        ));
    }
    let plain = sealer
        .open(&context(user_id, key), &row.body)
        .map_err(AppError::internal)?;
    let body = serde_json::from_slice(&plain).map_err(AppError::internal)?;
    Ok(Some(Stored {
        status: row.status_code as u16,
        body,
    }))
}

pub fn store(
    conn: &mut DbConn,
    sealer: &Sealer,
    user_id: &str,
    key: &str,
    hash: &str,
    stored: &Stored,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    let sealed = sealer.seal(
        &context(user_id, key),
        &serde_json::to_vec(&stored.body).map_err(AppError::internal)?,
    );
    repo::insert(
        conn,
        repo::Row {
            user_id: user_id.to_owned(),
            key: key.to_owned(),
            request_hash: hash.to_owned(),
            status_code: stored.status as i32,
            body: sealed,
            created_at: now,
        },
    )?;
    Ok(())
}
