//! `send_mail`: delivers due outbox rows. Each row is claimed with a conditional update before
//! sending, so two runners never send the same row at once; a failure schedules a retry with
//! exponential back-off, and after `mail.max_attempts` the row is `dead` (kept, never lost).

use chrono::{DateTime, Duration, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::notify::model::OutboxAction;
use crate::notify::repo;
use crate::state::State;
use crate::status::Lifecycle;

/// How long a claim protects a row being sent.
const CLAIM_SECS: i64 = 120;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let naive = now.naive_utc();
    let batch = state.settings.mail.batch;
    let until = naive + Duration::seconds(CLAIM_SECS);
    let claimed = state
        .db
        .write(move |conn| {
            let mut claimed = Vec::new();
            for row in repo::due(conn, naive, batch)? {
                if repo::claim(conn, &row.id, naive, until)? {
                    claimed.push(row);
                }
            }
            Ok(claimed)
        })
        .await?;
    let (mut sent, mut failed) = (0, 0);
    let max = state.settings.mail.max_attempts;
    let base = state.settings.mail.retry_base_secs;
    for row in claimed {
        let outcome = state.mailer.send(&row).await;
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
                tracing::warn!(job = "send_mail", outbox_id = %row.id, attempts, dead, %error, "mail delivery failed");
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
    Ok(JobReport {
        name: "send_mail".into(),
        now,
        processed: sent,
        failed,
    })
}
