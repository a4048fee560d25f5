//! `send_mail`: delivers due outbox rows. Each row is claimed with a conditional update just
//! before it is sent, never a batch ahead, so two runners (two replicas, or a fire of the scheduler
//! overlapping a slow run) never send the same row: a claim taken ahead would lapse while the
//! row waited behind slow sends, and the second runner would send it too. A failure schedules a
//! retry with exponential back-off, and after `mail.max_attempts` the row is `dead` (kept, never
//! lost). Sealed mails (a bid's receipt) are delivered the same way but counted in no report,
//! and when the job runs by name (the admin trigger, the scheduler) after the report is
//! answered, so neither its figures nor its duration tell that a bid exists.

use chrono::{DateTime, Duration, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::notify::model::OutboxAction;
use crate::notify::repo;
use crate::state::State;
use crate::status::Lifecycle;

/// Delivers the due mails, public then sealed; the report counts the public ones only.
pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let report = run_public(state, now).await?;
    send_sealed(state, now).await?;
    Ok(report)
}

/// Delivers the due public mails and reports them.
pub async fn run_public(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let (processed, failed) = deliver(state, now, false).await?;
    Ok(JobReport::of("send_mail", now, processed, failed))
}

/// Delivers the due sealed mails, reporting nothing.
pub async fn send_sealed(state: &State, now: DateTime<Utc>) -> Result<(), AppError> {
    deliver(state, now, true).await.map(|_| ())
}

/// Claims and sends the due mails that are `sealed` or not: (sent, failed).
async fn deliver(state: &State, now: DateTime<Utc>, sealed: bool) -> Result<(u64, u64), AppError> {
    let naive = now.naive_utc();
    let started = std::time::Instant::now();
    let batch = state.settings.mail.batch;
    let lease = Duration::seconds(state.settings.mail.claim_secs.max(1));
    let due = state
        .db
        .read(move |conn| Ok(repo::due(conn, naive, sealed, batch)?))
        .await?;
    let (mut sent, mut failed) = (0, 0);
    let max = state.settings.mail.max_attempts;
    let base = state.settings.mail.retry_base_secs;
    for due_row in due {
        // The claim is taken at the time of the send: the job's `now` moved on by how long
        // this run has been sending.
        let at = naive + Duration::from_std(started.elapsed()).unwrap_or_default();
        let id = due_row.id.clone();
        let claimed = state
            .db
            .write(move |conn| {
                Ok(match repo::claim(conn, &id, at, at + lease)? {
                    true => repo::find(conn, &id)?,
                    false => None,
                })
            })
            .await?;
        // Another runner has it, or has sent it since the list was read.
        let Some(row) = claimed else { continue };
        let outcome = match row.opened(&state.sealer) {
            Ok(open) => state.mailer.send(&open).await,
            Err(e) => Err(format!("the sealed mail does not open: {e}")),
        };
        let (id, from) = (row.id.clone(), row.status);
        match outcome {
            Ok(()) => {
                sent += 1;
                let to = from.step(OutboxAction::Deliver)?;
                state
                    .db
                    .write(move |conn| Ok(repo::mark_sent(conn, &id, from, to, naive)?))
                    .await?;
            }
            Err(error) => {
                failed += 1;
                let attempts = row.attempts + 1;
                let dead = attempts >= max;
                let wait = base
                    .saturating_mul(1i64 << (row.attempts.clamp(0, 12)))
                    .min(6 * 3600);
                let retry_at = naive + Duration::seconds(wait);
                if row.sealed {
                    // Its error may name the recipient: stored sealed, not logged.
                    tracing::warn!(job = "send_mail", outbox_id = %row.id, attempts, dead, "sealed mail delivery failed");
                } else {
                    tracing::warn!(job = "send_mail", outbox_id = %row.id, attempts, dead, %error, "mail delivery failed");
                }
                let error = row.error_to_store(&state.sealer, &error);
                let to = from.step(if dead {
                    OutboxAction::GiveUp
                } else {
                    OutboxAction::Retry
                })?;
                state
                    .db
                    .write(move |conn| {
                        Ok(repo::mark_failed(conn, &id, &error, retry_at, from, to)?)
                    })
                    .await?;
            }
        }
    }
    Ok((sent, failed))
}
