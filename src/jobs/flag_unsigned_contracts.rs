//! `flag_unsigned_contracts`: a contract still unsigned after its deadline (the award notice +
//! 30 days, 政府采购法 art 46) is flagged `signature_overdue` and the bureau mailed, once.

use chrono::{DateTime, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::state::State;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let naive = now.naive_utc();
    let due = state
        .db
        .read(move |c| {
            Ok(crate::contracts::repo::unsigned_past_deadline(
                c, naive, 500,
            )?)
        })
        .await?;
    let (mut processed, mut failed) = (0, 0);
    for c in due {
        let id = c.id.clone();
        match state
            .db
            .write(move |tx| crate::contracts::service::flag_unsigned(tx, &c.id, naive))
            .await
        {
            Ok(true) => processed += 1,
            Ok(false) => {}
            Err(e) => {
                failed += 1;
                tracing::error!(job = "flag_unsigned_contracts", contract_id = %id, error = %e.chain(), "flagging failed; it will be retried");
            }
        }
    }
    Ok(JobReport::of(
        "flag_unsigned_contracts",
        now,
        processed,
        failed,
    ))
}
