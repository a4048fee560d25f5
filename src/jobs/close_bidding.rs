//! `close_bidding`: closes every open project whose `bid_close_at` has passed (catching up
//! after downtime). Each close is one guarded transaction, so running the job twice, or from
//! two processes at once, closes each round once.

use chrono::{DateTime, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::state::State;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let naive = now.naive_utc();
    let due = state
        .db
        .read(move |c| Ok(crate::projects::repo::due_to_close(c, naive, 200)?))
        .await?;
    let (mut processed, mut failed) = (0, 0);
    for p in due {
        let st = state.clone();
        let project_id = p.id.clone();
        let outcome = state
            .db
            .write(move |c| crate::rounds::close_round(c, &st.sealer, &st.rules, &p.id, naive))
            .await;
        match outcome {
            Ok(Some(_)) => processed += 1,
            Ok(None) => {}
            Err(e) => {
                failed += 1;
                tracing::error!(
                    job = "close_bidding",
                    %project_id,
                    error = %e.chain(),
                    "closing a project failed; it will be retried"
                );
            }
        }
    }
    Ok(JobReport::of("close_bidding", now, processed, failed))
}
