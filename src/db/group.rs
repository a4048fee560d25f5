//! Group commit: writes that arrive together share one transaction and one commit.
//!
//! A durable commit costs a flush of the log to disk (SQLite's WAL with `synchronous = FULL`,
//! PostgreSQL's WAL), and on PostgreSQL the audit chain's head row stays locked until the commit.
//! In a burst — the last minute before a bid deadline — requests that each wait for their own
//! commit queue up behind that cost. [`Db::write_grouped`](super::Db::write_grouped) queues a
//! request's work instead; one leader at a time takes the write connection, runs every queued
//! piece of work in one transaction, each inside its own savepoint (one that fails rolls back
//! alone and reports its own error), commits once, and only then answers each caller.
//!
//! The audit events of a batch are held back and chained together just before its commit
//! (`audit::service::Deferred`), so the chain's head row is locked once per batch.
//!
//! Work is sorted into lanes by a key (the bidding organization): one leader per lane, so on
//! PostgreSQL several batches run side by side, while the work of one organization (its live bid,
//! its idempotency keys) always lands in the same lane, so two lanes never insert the same unique
//! row and cannot deadlock on one; they only queue briefly for the audit head at commit. SQLite
//! has one lane: it has one writer.
//!
//! Nothing is answered before the commit that makes it durable. When that commit fails, every
//! caller of the batch gets 503 `database_unavailable` and nothing of the batch is stored, so a
//! retry (with the same `Idempotency-Key`) is safe.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use super::{write_tx, DbConn, Pool};
use crate::audit::service::Deferred;
use crate::error::AppError;

/// The most pieces of work one transaction takes; the rest wait for the next one.
const MAX_BATCH: usize = 128;

/// Called once the batch's fate is known: `None` committed, `Some(message)` did not.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
/// Runs one caller's work on the batch's connection: whether it succeeded, and how to answer.
type Job = Box<dyn FnOnce(&mut DbConn) -> (bool, Finish) + Send>;

pub(super) struct Group {
    lanes: Vec<Mutex<State>>,
}

#[derive(Default)]
struct State {
    queue: Vec<Job>,
    /// Whether a leader is running batches; it stops when it finds the queue empty.
    leading: bool,
}

impl Group {
    pub(super) fn new(lanes: usize) -> Group {
        Group {
            lanes: (0..lanes.max(1)).map(|_| Mutex::default()).collect(),
        }
    }

    /// The lane of `key`: always the same one for the same key.
    fn lane(&self, key: &str) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % self.lanes.len() as u64) as usize
    }

    fn lock(&self, lane: usize) -> std::sync::MutexGuard<'_, State> {
        self.lanes[lane].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `f`; returns whether the caller must start a leader.
    fn push<T, F>(
        &self,
        lane: usize,
        f: F,
    ) -> (bool, tokio::sync::oneshot::Receiver<Result<T, AppError>>)
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit_failed| {
                let answer = match (result, commit_failed) {
                    (result, None) => result,
                    (Err(own), Some(_)) => Err(own),
                    (Ok(_), Some(message)) => Err(AppError::db_unavailable(format!(
                        "the grouped commit failed: {message}"
                    ))),
                };
                // The caller may have gone (client disconnected); the outcome stands anyway.
                let _ = tx.send(answer);
            });
            (ok, finish)
        });
        let mut state = self.lock(lane);
        state.queue.push(job);
        let start = !state.leading;
        state.leading = true;
        (start, rx)
    }

    /// Runs the lane's batches until its queue is empty.
    fn lead(&self, lane: usize, pool: &Pool) {
        loop {
            let jobs: Vec<Job> = {
                let mut state = self.lock(lane);
                if state.queue.is_empty() {
                    state.leading = false;
                    return;
                }
                let n = state.queue.len().min(MAX_BATCH);
                state.queue.drain(..n).collect()
            };
            run_batch(pool, jobs);
        }
    }
}

fn run_batch(pool: &Pool, jobs: Vec<Job>) {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            // Dropping the jobs unrun answers each caller 503 (see `write_grouped`).
            tracing::error!(error = %e, "no write connection for a grouped batch");
            drop(jobs);
            return;
        }
    };
    let mut finishers: Vec<Finish> = Vec::with_capacity(jobs.len());
    let audit = Deferred::begin();
    let outcome = write_tx(&mut conn, |tx| -> Result<(), AppError> {
        for job in jobs {
            let mut finish: Option<Finish> = None;
            let step = write_tx(tx, |sp| {
                // A panic in one caller's work must not take the others' answers with it.
                match catch_unwind(AssertUnwindSafe(|| job(sp))) {
                    Ok((ok, f)) => {
                        finish = Some(f);
                        if ok {
                            Ok(())
                        } else {
                            Err(diesel::result::Error::RollbackTransaction)
                        }
                    }
                    Err(_) => Err(diesel::result::Error::RollbackTransaction),
                }
            });
            if let Some(f) = finish {
                finishers.push(f);
            }
            match step {
                Ok(()) | Err(diesel::result::Error::RollbackTransaction) => {}
                // The savepoint itself failed: the transaction cannot be trusted any more.
                Err(e) => return Err(e.into()),
            }
        }
        audit.flush(tx)
    });
    drop(audit);
    let failed = outcome.err().map(|e| {
        tracing::error!(error = %e, "a grouped commit failed");
        e.to_string()
    });
    for finish in finishers {
        finish(failed.as_deref());
    }
}

impl super::Db {
    /// Like [`write`](super::Db::write), but the work may share its transaction and commit with
    /// other callers' (see the module docs). `f` must make its writes through [`write_tx`] (it
    /// becomes a savepoint) and must not depend on being alone in its transaction. Work with
    /// the same `lane_key` always runs in the same lane.
    pub async fn write_grouped<T, F>(&self, lane_key: &str, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let lane = self.group.lane(lane_key);
        let (start, answer) = self.group.push(lane, f);
        if start {
            let (group, pool) = (self.group.clone(), self.write.clone());
            tokio::task::spawn_blocking(move || group.lead(lane, &pool));
        }
        answer.await.unwrap_or_else(|_| {
            Err(AppError::db_unavailable(
                "the write was not run (no connection, or it panicked)",
            ))
        })
    }
}
