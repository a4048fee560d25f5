//! `remind`: report and scoring reminders and overdue escalations for open and scoring reviews
//! (`reviews::remind`); `processed` counts the mails queued by this run, so a second run on the
//! same day reports 0.

use chrono::{DateTime, Utc};

use super::open_reviews::tally_count;
use super::JobReport;
use crate::error::AppError;
use crate::reviews::repo::ReviewStatus;
use crate::state::State;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let naive = now.naive_utc();
    let reviews = state
        .db
        .read(move |c| {
            let mut all = crate::reviews::repo::in_status(c, ReviewStatus::Open, 2000)?;
            all.extend(crate::reviews::repo::in_status(
                c,
                ReviewStatus::Scoring,
                2000,
            )?);
            Ok(all)
        })
        .await?;
    let (mut processed, mut failed) = (0, 0);
    for r in reviews {
        let (id, st) = (r.id.clone(), state.clone());
        let sent = state
            .db
            .write(move |tx| crate::reviews::remind::remind(tx, &r, &st.settings.reviews, naive))
            .await;
        tally_count(sent, &id, &mut processed, &mut failed);
    }
    Ok(JobReport::of("remind", now, processed, failed))
}
