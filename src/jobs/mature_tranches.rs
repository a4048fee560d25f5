//! `mature_tranches`: `on_date` tranches of active contracts become releasable on their day
//! (China Standard Time), with the day they must be paid by; a releasable tranche left unpaid
//! past that day is overdue, and the bureau is mailed once. `processed` counts both moves.

use chrono::{DateTime, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::state::State;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let naive = now.naive_utc();
    let today = crate::clock::cst_date(naive);
    let (maturing, overdue) = state
        .db
        .read(move |c| {
            Ok((
                crate::contracts::repo::maturing_on_date(c, today, 500)?,
                crate::contracts::repo::overdue_unnotified(c, today, 500)?,
            ))
        })
        .await?;
    let (mut processed, mut failed) = (0, 0);
    for t in maturing {
        let (id, st) = (t.id.clone(), state.clone());
        let moved = state
            .db
            .write(move |tx| crate::contracts::release::mature_on_date(tx, &t.id, &st.rules, naive))
            .await;
        tally(moved, &id, &mut processed, &mut failed);
    }
    for t in overdue {
        let id = t.id.clone();
        let told = state
            .db
            .write(move |tx| crate::contracts::release::notify_overdue(tx, &t.id, naive))
            .await;
        tally(told, &id, &mut processed, &mut failed);
    }
    Ok(JobReport::of("mature_tranches", now, processed, failed))
}

fn tally(r: Result<bool, AppError>, id: &str, processed: &mut u64, failed: &mut u64) {
    match r {
        Ok(true) => *processed += 1,
        Ok(false) => {}
        Err(e) => {
            *failed += 1;
            tracing::error!(job = "mature_tranches", tranche_id = %id, error = %e.chain(), "a tranche move failed; it will be retried");
        }
    }
}
