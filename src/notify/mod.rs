//! Notifications. A service never sends mail: it writes an outbox row in the same transaction
//! as the change that causes it (`enqueue`), and the `send_mail` job delivers pending rows with
//! retries and back-off, so no mail is lost when SMTP is down and none is sent for a change
//! that rolled back.

pub mod mailer;
pub mod model;
pub mod repo;

use chrono::NaiveDateTime;

use crate::crypto::Sealer;
use crate::db::Tx;
use crate::error::AppError;

/// A mail to send.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Queues `mail` once per `dedupe_key`, in the caller's transaction: a retried transaction or
/// a job that runs twice does not mail twice. In a grouped batch on PostgreSQL the row is
/// written with the batch's other mails in one statement (`db::insert_batched`).
pub fn enqueue(
    tx: &mut Tx<'_>,
    dedupe_key: &str,
    mail: &Mail,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::db::insert_batched(tx, repo::NewMail::pending(dedupe_key, mail, now))?;
    Ok(())
}

/// [`enqueue`] written at once, not held for a batch: whether the mail is new (false when its
/// `dedupe_key` was queued before, by this process or another replica).
pub fn enqueue_once(
    tx: &mut Tx<'_>,
    dedupe_key: &str,
    mail: &Mail,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    Ok(repo::insert_new(tx, &[repo::NewMail::pending(dedupe_key, mail, now)])? == 1)
}

/// Mails the contact address of organization `organization_id` once per `key` (nothing when
/// the organization is gone).
pub fn enqueue_to_organization(
    tx: &mut Tx<'_>,
    organization_id: &str,
    key: &str,
    subject: String,
    body: String,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(o) = crate::orgs::repo::find(tx, organization_id)? else {
        return Ok(());
    };
    enqueue(
        tx,
        key,
        &Mail {
            to: o.contact_email,
            subject,
            body,
        },
        now,
    )
}

/// The bureau accounts of `district_id` (at most 100): who a district's mails go to.
pub fn bureau_accounts(
    conn: &mut crate::db::DbConn,
    district_id: &str,
) -> Result<Vec<crate::users::model::User>, AppError> {
    let bureau = crate::users::repo::UserFilter {
        role: Some(crate::auth::Role::Bureau.as_str().into()),
        region_id: Some(district_id.to_owned()),
        q: None,
    };
    Ok(crate::users::repo::list(conn, &bureau, None, 100)?)
}

/// Mails every bureau account of `district_id` (at most 100), each once: its dedupe key is
/// `key:<user id>`.
pub fn enqueue_to_bureau(
    tx: &mut Tx<'_>,
    district_id: &str,
    key: &str,
    subject: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for u in bureau_accounts(tx, district_id)? {
        enqueue(
            tx,
            &format!("{key}:{}", u.id),
            &Mail {
                to: u.email,
                subject: subject.to_owned(),
                body: body.to_owned(),
            },
            now,
        )?;
    }
    Ok(())
}

/// [`enqueue`] for a mail that tells of something sealed (a bid's receipt): its recipient,
/// subject and body are sealed in the outbox, emptied once sent, and its delivery is not
/// counted in any job report (`jobs::send_mail`).
pub fn enqueue_sealed(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    dedupe_key: &str,
    mail: &Mail,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::db::insert_batched(tx, repo::NewMail::sealed(sealer, dedupe_key, mail, now))?;
    Ok(())
}
