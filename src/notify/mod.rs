//! Notifications. A service never sends mail: it writes an outbox row in the same transaction
//! as the change that causes it (`enqueue`), and the `send_mail` job delivers pending rows with
//! retries and back-off, so no mail is lost when SMTP is down and none is sent for a change
//! that rolled back.

pub mod mailer;
pub mod repo;

use chrono::NaiveDateTime;

use crate::db::DbConn;
use crate::error::AppError;

/// A mail to send.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Queues `mail` once per `dedupe_key`: a retried transaction or a job that runs twice does
/// not mail twice. Returns whether a row was added.
pub fn enqueue(
    conn: &mut DbConn,
    dedupe_key: &str,
    mail: &Mail,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    Ok(repo::insert_once(conn, dedupe_key, mail, now)?)
}

/// Like [`enqueue`], for callers that need not know whether the mail was new: in a grouped
/// batch on PostgreSQL the row is written with the batch's other mails in one statement
/// (`db::insert_batched`).
pub fn enqueue_batched(
    conn: &mut DbConn,
    dedupe_key: &str,
    mail: &Mail,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::db::insert_batched(conn, repo::NewMail::pending(dedupe_key, mail, now))?;
    Ok(())
}
