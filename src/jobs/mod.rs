//! Jobs. The scheduler only triggers; each job is a plain `run_once(state, now)` that is
//! idempotent and guarded in the database (conditional updates that must touch one row), so
//! a double fire or two replicas do the work once. Tests call them with a chosen `now`.

pub mod close_bidding;
pub mod expire_invitations;
pub mod finalize_awards;
pub mod send_mail;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::app::State;
use crate::error::AppError;

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
}

/// Every job by name, as `POST /admin/jobs/{name}/run` accepts it.
pub const JOBS: &[&str] = &[
    "close_bidding",
    "expire_invitations",
    "finalize_awards",
    "send_mail",
];

/// Runs the job `name` once at `now`; 404 for an unknown name.
pub async fn run(state: &State, name: &str, now: DateTime<Utc>) -> Result<JobReport, AppError> {
    match name {
        "send_mail" => send_mail::run_once(state, now).await,
        "close_bidding" => close_bidding::run_once(state, now).await,
        "finalize_awards" => finalize_awards::run_once(state, now).await,
        "expire_invitations" => expire_invitations::run_once(state, now).await,
        _ => Err(AppError::not_found(&format!("job {name}"))),
    }
}

/// Starts the cron triggers. Keep the returned scheduler alive for as long as jobs should run.
pub async fn start(state: State) -> anyhow::Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    let schedules = [
        ("send_mail", state.settings.jobs.send_mail_cron.clone()),
        (
            "close_bidding",
            state.settings.jobs.close_bidding_cron.clone(),
        ),
        (
            "finalize_awards",
            state.settings.jobs.finalize_awards_cron.clone(),
        ),
    ];
    for (name, cron) in schedules {
        let st = state.clone();
        let job = Job::new_async(cron.as_str(), move |_id, _sched| {
            let st = st.clone();
            Box::pin(async move {
                let now = st.clock.now();
                match run(&st, name, now).await {
                    Ok(r) if r.processed > 0 || r.failed > 0 => tracing::info!(
                        job = name,
                        processed = r.processed,
                        failed = r.failed,
                        "job ran"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(job = name, error = %e.chain(), "job failed"),
                }
            })
        })
        .map_err(|e| anyhow::anyhow!("job {name}: bad cron {cron:?}: {e}"))?;
        sched.add(job).await?;
    }
    sched.start().await?;
    Ok(sched)
}
