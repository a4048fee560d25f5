//! `expire_invitations`: an expert who neither accepts nor declines within the rule pack's
//! `response_hours` loses the seat, and the next alternate is invited: evaluation panels and
//! review panels alike.

use chrono::{DateTime, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::state::State;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let st = state.clone();
    let naive = now.naive_utc();
    let processed = state
        .db
        .write(move |c| {
            Ok::<_, AppError>(
                crate::evaluation::service::expire_invitations(c, &st.rules, naive)?
                    + crate::reviews::service::expire_invitations(c, &st.rules, naive)?,
            )
        })
        .await?;
    Ok(JobReport::of("expire_invitations", now, processed, 0))
}
