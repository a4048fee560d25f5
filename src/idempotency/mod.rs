//! Idempotency for any POST (Stripe's semantics): `(user, Idempotency-Key)` keeps the request's
//! hash and the status and body it was answered with. [`once`] runs a use case at most once per
//! key: a replay gets the stored answer, the same key with another request is 422
//! `idempotency_key_reused`, and two requests with one key at once have one effect (the second
//! meets the first's record — a unique key — and replays it). Stored bodies are sealed, since a
//! bid's answer carries its price before the deadline, and the user and request hash are keyed
//! hashes, so a stored record does not tie an organization to a bid either.

pub mod repo;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::crypto::Sealer;
use crate::db::{write_tx, DbConn, Tx};
use crate::error::AppError;

/// One request that may be sent more than once: who sent it, its key (none: no idempotency)
/// and the hash of what it asks for.
#[derive(Debug, Clone)]
pub struct Call {
    pub user_id: String,
    pub key: Option<String>,
    pub hash: String,
}

impl Call {
    /// `route` names the operation (method and path); `body` is what the request asks for.
    pub fn new(user_id: &str, key: Option<String>, route: &str, body: &impl Serialize) -> Call {
        let body = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
        Call {
            user_id: user_id.to_owned(),
            key,
            hash: request_hash(route, &body),
        }
    }
}

/// What a use case answered, or the stored answer replayed.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub replayed: bool,
}

/// Runs `act` in a transaction of its own (a savepoint inside the caller's) with the record of
/// its answer, once per `call.key`. An error answer is not stored: the request may be retried.
pub fn once<R, F>(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    call: &Call,
    status: u16,
    now: chrono::NaiveDateTime,
    act: F,
) -> Result<Answer, AppError>
where
    R: Serialize,
    F: FnOnce(&mut Tx<'_>) -> Result<R, AppError>,
{
    run(tx, sealer, call, status, now, act, true)
}

/// [`once`] for an action that refuses its own repeat with 409 — a guarded state change such as
/// paying a tranche, which is no longer releasable once paid. The key's record is then read
/// only when it can matter, which spares every first attempt a round trip:
/// - a replay is refused by the action (409), then answered from the record;
/// - a key reused with another request whose action is refused gets 422 from the record;
/// - a key reused with another request whose action succeeds collides with the key's record
///   when its answer is stored (a unique violation, 409), so the action is rolled back and the
///   record answers 422.
pub fn once_guarded<R, F>(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    call: &Call,
    status: u16,
    now: chrono::NaiveDateTime,
    act: F,
) -> Result<Answer, AppError>
where
    R: Serialize,
    F: FnOnce(&mut Tx<'_>) -> Result<R, AppError>,
{
    run(tx, sealer, call, status, now, act, false)
}

fn run<R, F>(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    call: &Call,
    status: u16,
    now: chrono::NaiveDateTime,
    act: F,
    look_first: bool,
) -> Result<Answer, AppError>
where
    R: Serialize,
    F: FnOnce(&mut Tx<'_>) -> Result<R, AppError>,
{
    let Some(key) = &call.key else {
        let body = write_tx(tx, act)?;
        return Ok(Answer {
            status,
            body: serde_json::to_value(body).map_err(AppError::internal)?,
            replayed: false,
        });
    };
    if look_first {
        if let Some(stored) = lookup(tx, sealer, &call.user_id, key, &call.hash)? {
            return Ok(stored);
        }
    }
    let outcome = write_tx(tx, |tx| -> Result<Answer, AppError> {
        let body = serde_json::to_value(act(tx)?).map_err(AppError::internal)?;
        store(tx, sealer, call, key, status, &body, now)?;
        Ok(Answer {
            status,
            body,
            replayed: false,
        })
    });
    match outcome {
        // A twin request with the same key may have won meanwhile (its record is a unique
        // key, and the use case's own guards refuse a second effect): answer as it did.
        Err(e) if e.status == actix_web::http::StatusCode::CONFLICT => {
            match lookup(tx, sealer, &call.user_id, key, &call.hash)? {
                Some(stored) => Ok(stored),
                None => Err(e),
            }
        }
        outcome => outcome,
    }
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

/// The user and the request hash as stored: keyed hashes, so a database copy tells neither who
/// sent a request nor, by hashing guesses (a withdrawal's path and empty body), what it asked.
fn stored_user(sealer: &Sealer, user_id: &str) -> String {
    sealer.keyed_hash("idempotency-user", &[user_id])
}

fn stored_hash(sealer: &Sealer, hash: &str) -> String {
    sealer.keyed_hash("idempotency-request", &[hash])
}

/// The stored answer for `(user, key)`: `Some` to replay, 422 when the key was used for
/// another request.
fn lookup(
    conn: &mut DbConn,
    sealer: &Sealer,
    user_id: &str,
    key: &str,
    hash: &str,
) -> Result<Option<Answer>, AppError> {
    let Some(row) = repo::find(conn, &stored_user(sealer, user_id), key)? else {
        return Ok(None);
    };
    if row.request_hash != stored_hash(sealer, hash) {
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
    Ok(Some(Answer {
        status: row.status_code as u16,
        body,
        replayed: true,
    }))
}

fn store(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    call: &Call,
    key: &str,
    status: u16,
    body: &serde_json::Value,
    now: chrono::NaiveDateTime,
) -> Result<(), AppError> {
    let sealed = sealer.seal(
        &context(&call.user_id, key),
        &serde_json::to_vec(body).map_err(AppError::internal)?,
    );
    repo::insert(
        tx,
        repo::Row {
            user_id: stored_user(sealer, &call.user_id),
            key: key.to_owned(),
            request_hash: stored_hash(sealer, &call.hash),
            status_code: status as i32,
            body: sealed,
            created_at: now,
        },
    )?;
    Ok(())
}
