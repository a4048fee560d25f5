//! `open_reviews`: a scheduled review opens `reviews.open_days_ahead` days before its due day
//! (China Standard Time) — its panel drawn, the experts invited, the organization asked to
//! report — and an open review whose due day ended without a report fails (`no_report`).
//! `processed` counts both moves; each is guarded, so a second run or a second replica moves
//! nothing twice.

use chrono::{DateTime, Utc};

use super::JobReport;
use crate::error::AppError;
use crate::reviews::repo::ReviewStatus;
use crate::state::State;

pub async fn run_once(state: &State, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    let naive = now.naive_utc();
    let today = crate::clock::cst_date(naive);
    let (opening, lapsed) = state
        .db
        .read(move |c| {
            Ok((
                crate::reviews::repo::due_to_open(c, today, 500)?,
                crate::reviews::repo::past_due(c, ReviewStatus::Open, today, 500)?,
            ))
        })
        .await?;
    let (mut processed, mut failed) = (0, 0);
    for r in opening {
        let id = r.id.clone();
        let moved = state
            .db
            .write(move |tx| crate::reviews::service::open(tx, &r.id, naive))
            .await;
        tally(moved, &id, &mut processed, &mut failed);
    }
    // A review opened just now whose due day is already over lapses on the next run.
    for r in lapsed {
        let (id, st) = (r.id.clone(), state.clone());
        let moved = state
            .db
            .write(move |tx| {
                let cx = crate::reviews::service::Rules {
                    packs: &st.rules,
                    settings: &st.settings.reviews,
                };
                crate::reviews::service::lapse(tx, &r.id, cx, naive)
            })
            .await;
        tally(moved, &id, &mut processed, &mut failed);
    }
    Ok(JobReport::of("open_reviews", now, processed, failed))
}

pub(super) fn tally(r: Result<bool, AppError>, id: &str, processed: &mut u64, failed: &mut u64) {
    match r {
        Ok(true) => *processed += 1,
        Ok(false) => {}
        Err(e) => {
            *failed += 1;
            tracing::error!(review_id = %id, error = %e.chain(), "a review move failed; it will be retried");
        }
    }
}

pub(super) fn tally_count(
    r: Result<u64, AppError>,
    id: &str,
    processed: &mut u64,
    failed: &mut u64,
) {
    match r {
        Ok(n) => *processed += n,
        Err(e) => {
            *failed += 1;
            tracing::error!(review_id = %id, error = %e.chain(), "reminders of a review failed; they will be retried");
        }
    }
}
