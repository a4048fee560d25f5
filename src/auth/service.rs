//! Sign-in use cases: login, refresh-token rotation with reuse detection, logout.

use chrono::{Duration, NaiveDateTime};

use super::repo::{self, RefreshToken};
use super::tokens::{new_refresh_token, refresh_hash};
use crate::auth::passwords;
use crate::db::{write_tx, DbConn, Tx};
use crate::error::AppError;
use crate::users::model::User;

pub fn invalid_credentials() -> AppError {
    AppError::unauthorized("invalid_credentials", "the email or password is wrong")
}

fn invalid_refresh() -> AppError {
    AppError::unauthorized(
        "invalid_refresh_token",
        "the refresh token is unknown, expired or revoked",
    )
}

/// The account that signs in with `email` (trimmed and lowercased), if there is one.
pub fn find_account(conn: &mut DbConn, email: &str) -> Result<Option<User>, AppError> {
    Ok(crate::users::repo::find_by_email(conn, email)?)
}

/// The user whose password matches, or `invalid_credentials` — the same answer, after the
/// same work, whether the email is unknown, the password wrong or the account disabled.
/// Pure CPU (argon2): call it off the async threads and without holding a connection.
pub fn check_password(user: Option<User>, password: &str) -> Result<User, AppError> {
    match user {
        None => {
            passwords::verify_dummy(password);
            Err(invalid_credentials())
        }
        Some(user) => {
            let ok = passwords::verify(password, &user.password_hash);
            if ok && user.active {
                Ok(user)
            } else {
                Err(invalid_credentials())
            }
        }
    }
}

/// A signed-in session: its id (the refresh-token family, the access token's `sid`) and the
/// plain refresh token.
pub struct Session {
    pub id: String,
    pub refresh_token: String,
}

/// Starts a new refresh-token family for `user_id`.
pub fn start_session(
    conn: &mut Tx<'_>,
    user_id: &str,
    ttl_secs: i64,
    now: NaiveDateTime,
) -> Result<Session, AppError> {
    let token = new_refresh_token();
    let family = uuid::Uuid::now_v7().to_string();
    write_tx(conn, |tx| {
        repo::insert(tx, &new_row(user_id, &family, &token, ttl_secs, now))?;
        Ok::<_, AppError>(())
    })?;
    Ok(Session {
        id: family,
        refresh_token: token,
    })
}

fn new_row(
    user_id: &str,
    family_id: &str,
    token: &str,
    ttl_secs: i64,
    now: NaiveDateTime,
) -> RefreshToken {
    RefreshToken {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user_id.to_owned(),
        family_id: family_id.to_owned(),
        token_hash: refresh_hash(token),
        created_at: now,
        expires_at: now + Duration::seconds(ttl_secs),
        used_at: None,
        revoked_at: None,
    }
}

enum Rotation {
    Rotated { user: Box<User>, session: Session },
    Reused,
    Invalid,
}

/// Exchanges a refresh token for a new one in the same family. Presenting a token that was
/// already rotated revokes the whole family (the token was stolen, or the client replayed it).
pub fn rotate(
    conn: &mut Tx<'_>,
    presented: &str,
    ttl_secs: i64,
    now: NaiveDateTime,
) -> Result<(User, Session), AppError> {
    let hash = refresh_hash(presented);
    // The revocation of a reused family must commit, so the outcome is returned as a value
    // and turned into an error only after the transaction.
    let outcome = write_tx(conn, |tx| {
        let Some(row) = repo::find_by_hash(tx, &hash)? else {
            return Ok::<_, AppError>(Rotation::Invalid);
        };
        if row.used_at.is_some() || row.revoked_at.is_some() {
            repo::revoke_family(tx, &row.family_id, now)?;
            return Ok(Rotation::Reused);
        }
        if row.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        let user = match crate::users::repo::find(tx, &row.user_id)? {
            Some(u) if u.active => u,
            _ => return Ok(Rotation::Invalid),
        };
        if !repo::mark_used(tx, &row.id, now)? {
            repo::revoke_family(tx, &row.family_id, now)?;
            return Ok(Rotation::Reused);
        }
        let token = new_refresh_token();
        repo::insert(
            tx,
            &new_row(&user.id, &row.family_id, &token, ttl_secs, now),
        )?;
        Ok(Rotation::Rotated {
            user: Box::new(user),
            session: Session {
                id: row.family_id,
                refresh_token: token,
            },
        })
    })?;
    match outcome {
        Rotation::Rotated { user, session } => Ok((*user, session)),
        Rotation::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its family is revoked");
            Err(AppError::unauthorized(
                "refresh_token_reused",
                "this refresh token was already used; every session of its family is now revoked",
            ))
        }
        Rotation::Invalid => Err(invalid_refresh()),
    }
}

/// Ends the caller's session `session_id` (the one its access token belongs to, so that token
/// stops working too) and the session the refresh token belongs to, if it is the caller's.
/// Returns the ids of the sessions ended.
pub fn logout(
    conn: &mut Tx<'_>,
    user_id: &str,
    session_id: &str,
    presented: &str,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let hash = refresh_hash(presented);
    write_tx(conn, |tx| {
        repo::revoke_family(tx, session_id, now)?;
        let mut ended = vec![session_id.to_owned()];
        if let Some(row) = repo::find_by_hash(tx, &hash)? {
            if row.user_id == user_id && row.family_id != session_id {
                repo::revoke_family(tx, &row.family_id, now)?;
                ended.push(row.family_id);
            }
        }
        Ok(ended)
    })
}
