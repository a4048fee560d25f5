//! Jobs. The scheduler only triggers; each job is a plain `run_once(state, now)` that is
//! idempotent and guarded in the database (conditional updates that must touch one row), so
//! a double fire or two replicas do the work once. Tests call them with a chosen `now`.

pub mod close_bidding;
pub mod expire_invitations;
pub mod finalize_awards;
pub mod flag_unsigned_contracts;
pub mod mature_tranches;
pub mod open_reviews;
pub mod remind;
pub mod send_mail;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::config::JobSettings;
use crate::error::AppError;
use crate::state::State;

/// What a run did.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct JobReport {
    pub name: String,
    pub now: DateTime<Utc>,
    /// Items moved to their next state.
    pub processed: u64,
    /// Items attempted that failed and will be retried (or gave up).
    #[serde(default)]
    pub failed: u64,
    /// On a run by hand: items the scheduler's own runs of this job moved since the clock
    /// last moved or the job was last run by hand. A hand run just after a clock move often
    /// answers `processed: 0` because the scheduler got there first; this says so.
    #[serde(default)]
    pub already_done: u64,
}

impl JobReport {
    pub fn of(name: &str, now: DateTime<Utc>, processed: u64, failed: u64) -> JobReport {
        JobReport {
            name: name.to_owned(),
            now,
            processed,
            failed,
            already_done: 0,
        }
    }
}

/// What the scheduler's runs of each job moved, counted from the clock's last move
/// (`Clock::moves`) or the job's last run by hand, whichever came later.
#[derive(Debug, Default)]
pub struct Tally {
    runs: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

impl Tally {
    /// A scheduled run of `name`, begun when the clock had moved `moves` times, moved `n`.
    pub fn add(&self, name: &str, moves: u64, n: u64) {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        let e = runs.entry(name.to_owned()).or_insert((moves, 0));
        if e.0 != moves {
            *e = (moves, 0);
        }
        e.1 += n;
    }

    /// A run of `name` by hand: what the scheduler moved since the clock's move `moves` (0
    /// when that was before the last count began), and the count starts again.
    pub fn take(&self, name: &str, moves: u64) -> u64 {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        match runs.remove(name) {
            Some((at, n)) if at == moves => n,
            _ => 0,
        }
    }
}

/// Every job by name, as `POST /admin/jobs/{name}/run` accepts it.
pub const JOBS: &[&str] = &[
    "close_bidding",
    "expire_invitations",
    "finalize_awards",
    "flag_unsigned_contracts",
    "mature_tranches",
    "open_reviews",
    "remind",
    "send_mail",
];

/// Runs the job `name` once at `now`; 404 for an unknown name.
pub async fn run(state: &State, name: &str, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    match name {
        "send_mail" => {
            let report = send_mail::run_public(state, now).await;
            // Sealed mails after the answer, so its duration does not tell of them either.
            let st = state.clone();
            tokio::spawn(async move {
                if let Err(e) = send_mail::send_sealed(&st, now).await {
                    tracing::warn!(job = "send_mail", error = %e.chain(), "sealed mails not sent");
                }
            });
            report
        }
        "close_bidding" => close_bidding::run_once(state, now).await,
        "finalize_awards" => finalize_awards::run_once(state, now).await,
        "expire_invitations" => expire_invitations::run_once(state, now).await,
        "flag_unsigned_contracts" => flag_unsigned_contracts::run_once(state, now).await,
        "mature_tranches" => mature_tranches::run_once(state, now).await,
        "open_reviews" => open_reviews::run_once(state, now).await,
        "remind" => remind::run_once(state, now).await,
        _ => Err(AppError::not_found(&format!("job {name}"))),
    }
}

/// When each job of `JOBS` fires: its cron expression from the settings (seconds field first,
/// UTC). The one table `start` schedules from, so a job missing here is a failing test.
pub fn schedules(jobs: &JobSettings) -> Vec<(&'static str, String)> {
    vec![
        ("send_mail", jobs.send_mail_cron.clone()),
        ("close_bidding", jobs.close_bidding_cron.clone()),
        ("finalize_awards", jobs.finalize_awards_cron.clone()),
        ("expire_invitations", jobs.expire_invitations_cron.clone()),
        (
            "flag_unsigned_contracts",
            jobs.flag_unsigned_contracts_cron.clone(),
        ),
        ("mature_tranches", jobs.mature_tranches_cron.clone()),
        ("open_reviews", jobs.open_reviews_cron.clone()),
        ("remind", jobs.remind_cron.clone()),
    ]
}

/// Starts the cron triggers. Keep the returned scheduler alive for as long as jobs should run.
pub async fn start(state: State) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    for (name, cron) in schedules(&state.settings.jobs) {
        let job = trigger(state.clone(), name, &cron)?;
        sched.add(job).await?;
    }
    sched.start().await?;
    Ok(sched)
}

/// The cron job that runs `name` with the clock's time and logs what it did. A fire that finds
/// the previous run of the same job still going is skipped: runs would pile up behind a slow
/// SMTP server (a run then takes a connect timeout per mail), each walking the same rows.
fn trigger(state: State, name: &'static str, cron: &str) -> anyhow::Result<Job> {
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    Job::new_async(cron, move |_id, _sched| {
        let st = state.clone();
        let running = running.clone();
        Box::pin(async move {
            let Some(_run) = Running::begin(&running) else {
                tracing::debug!(
                    job = name,
                    "the previous run is still going; this fire is skipped"
                );
                return;
            };
            let (now, moves) = (st.clock.now(), st.clock.moves());
            match run(&st, name, now).await {
                Ok(r) => {
                    st.job_tally.add(name, moves, r.processed);
                    if r.processed > 0 || r.failed > 0 {
                        tracing::info!(
                            job = name,
                            processed = r.processed,
                            failed = r.failed,
                            "job ran"
                        );
                    }
                }
                Err(e) => tracing::error!(job = name, error = %e.chain(), "job failed"),
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("job {name}: bad cron {cron:?}: {e}"))
}

/// A job's run in this process; the flag is cleared when it ends, even by a panic.
struct Running(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Running {
    fn begin(flag: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> Option<Running> {
        use std::sync::atomic::Ordering;
        (!flag.swap(true, Ordering::AcqRel)).then(|| Running(flag.clone()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::config::Settings;

    #[test]
    fn a_hand_run_reports_what_the_scheduler_did_since_the_clock_moved() {
        let t = Tally::default();
        t.add("close_bidding", 0, 2);
        // The clock moves: what came before no longer counts.
        t.add("close_bidding", 1, 1);
        t.add("close_bidding", 1, 0);
        t.add("send_mail", 1, 5);
        assert_eq!(t.take("close_bidding", 1), 1);
        assert_eq!(t.take("close_bidding", 1), 0, "the count starts again");
        // A count begun before the clock's last move is stale.
        assert_eq!(t.take("send_mail", 2), 0);
    }

    #[test]
    fn a_fire_while_the_job_still_runs_is_skipped_and_the_next_one_runs() {
        let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let first = Running::begin(&flag).expect("nothing runs yet");
        assert!(
            Running::begin(&flag).is_none(),
            "the first run is still going"
        );
        drop(first);
        assert!(
            Running::begin(&flag).is_some(),
            "it ended: the next fire runs"
        );
    }

    #[tokio::test]
    async fn every_job_has_a_schedule_that_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        for settings in [Settings::defaults(), Settings::load(&dir).unwrap()] {
            let table = schedules(&settings.jobs);
            let scheduled: BTreeSet<&str> = table.iter().map(|(name, _)| *name).collect();
            assert_eq!(scheduled.len(), table.len(), "a job is scheduled twice");
            assert_eq!(scheduled, JOBS.iter().copied().collect::<BTreeSet<_>>());
            for (name, cron) in table {
                assert!(
                    Job::new_async(cron.as_str(), |_, _| Box::pin(async {})).is_ok(),
                    "{name}: {cron:?} does not parse"
                );
            }
        }
    }
}
