//! `finalize_awards`: awards whose objection window has passed with no open objection become
//! final; the winner's bid `awarded`, the others `lost`; every bidder is mailed; the contract is
//! drawn up and the fund commits its amount. Each award is one guarded transaction, so a
//! double run finalises once.

use chrono::{DateTime, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::state::State;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let naive = now.naive_utc();
    let due = state
        .db
        .read(move |c| Ok(crate::awards::repo::due(c, naive, 200)?))
        .await?;
    let (mut processed, mut failed) = (0, 0);
    for a in due {
        let award_id = a.id.clone();
        let st = state.clone();
        match state
            .db
            .write(move |c| {
                crate::awards::service::finalize(c, &st.sealer, &st.rules, &a.id, naive)
            })
            .await
        {
            Ok(true) => processed += 1,
            Ok(false) => {}
            Err(e) => {
                failed += 1;
                tracing::error!(
                    job = "finalize_awards",
                    %award_id,
                    error = %e.chain(),
                    "finalising an award failed; it will be retried"
                );
            }
        }
    }
    Ok(JobReport::of("finalize_awards", now, processed, failed))
}
