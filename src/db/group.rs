//! Group commit: writes that arrive together share one transaction and one commit.
//!
//! A durable commit costs a flush of the log to disk (SQLite's WAL with `synchronous = FULL`,
//! PostgreSQL's WAL), and on PostgreSQL the audit chain's head row stays locked until the commit.
//! In a burst — the last minute before a bid deadline — requests that each wait for their own
//! commit queue up behind that cost. [`Db::write_grouped`](super::Db::write_grouped) queues a
//! request's work instead; one leader at a time takes the write connection, runs every queued
//! piece of work in one transaction, commits once, and only then answers each caller.
//!
//! A batch is first run *flat*: every piece of work straight inside the one transaction, with no
//! savepoints (nested [`write_tx`] calls run inline), because each savepoint costs two more round
//! trips per request. If any piece fails, panics or meets a failure it handles itself, the whole
//! transaction is rolled back and the batch is run again, each piece inside its own savepoint, so
//! one that fails rolls back alone and reports its own error. Work is therefore run more than once
//! (it is `FnMut`) and is handed nothing but the batch's [`Tx`]: what it writes goes through that.
//!
//! The audit events of a batch wait in its `Tx` and are chained together just before its commit,
//! so the chain's head row is locked once per batch. On PostgreSQL, where every statement is a
//! round trip, a flat run also holds back the rows its work inserts through
//! [`insert_batched`](super::insert_batched) (bids, receipt mails, idempotency records) and
//! writes each kind in one statement before the commit.
//!
//! Work is sorted into lanes by a key (the bidding organization): one leader per lane, so on
//! PostgreSQL (with a pool of at least 8) two batches run side by side, while the work of one
//! organization (its live bid, its idempotency keys) always lands in the same lane, so two lanes
//! never insert the same unique row and cannot deadlock on one; they only queue briefly for the
//! audit head at commit. SQLite has one lane: it has one writer. A lane's leader takes its turn
//! at the write gate (`Db::write_gate`) like any request and keeps it while batches keep coming.
//!
//! Nothing is answered before the commit that makes it durable. When that commit fails, nothing
//! of the batch is stored and every caller whose work succeeded gets 503 `database_unavailable`
//! (one whose work failed keeps its own error), so a retry (with the same `Idempotency-Key`) is
//! safe.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use super::tx::{write_tx, Flat as FlatMode, Tx};
use super::{DbConn, Pool};
use crate::error::AppError;

/// The most pieces of work one transaction takes; the rest wait for the next one.
const MAX_BATCH: usize = 128;

/// One caller's queued work.
trait Work: Send {
    /// Runs the work on the batch's connection (again, when the batch is redone with
    /// savepoints); whether it succeeded.
    fn run(&mut self, tx: &mut Tx<'_>) -> bool;
    /// Forgets the outcome of a run that was rolled back.
    fn forget(&mut self);
    /// Answers the caller once the batch's fate is known: `None` committed, `Some(message)` not.
    fn finish(self: Box<Self>, commit_failed: Option<&str>);
}

struct Pending<T, F> {
    f: F,
    /// The outcome of the last run; `None` before the first and after a panic.
    result: Option<Result<T, AppError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, AppError>>,
}

impl<T, F> Work for Pending<T, F>
where
    F: FnMut(&mut Tx<'_>) -> Result<T, AppError> + Send,
    T: Send,
{
    fn run(&mut self, tx: &mut Tx<'_>) -> bool {
        self.result = None;
        let result = (self.f)(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn forget(&mut self) {
        self.result = None;
    }

    fn finish(self: Box<Self>, commit_failed: Option<&str>) {
        // After a panic, or when the redo stopped before this work, there is no answer: dropping `reply` answers 503 (see `write_grouped`).
        let Some(result) = self.result else { return };
        let answer = match (result, commit_failed) {
            (result, None) => result,
            (Err(own), Some(_)) => Err(own),
            (Ok(_), Some(message)) => Err(AppError::db_unavailable(format!(
                "the grouped commit failed: {message}"
            ))),
        };
        // The caller may have gone (client disconnected); the outcome stands anyway.
        let _ = self.reply.send(answer);
    }
}

/// Runs `work` once, a panic counting as a failure.
fn run_caught(work: &mut dyn Work, tx: &mut Tx<'_>) -> bool {
    catch_unwind(AssertUnwindSafe(|| work.run(tx))).unwrap_or(false)
}

/// Why a flat batch did not commit.
enum Flat {
    /// Some work failed: roll back and redo the batch with savepoints.
    Redo,
    /// The transaction itself failed (begin or commit).
    Failed(AppError),
}

impl From<diesel::result::Error> for Flat {
    fn from(e: diesel::result::Error) -> Flat {
        Flat::Failed(e.into())
    }
}

pub(super) struct Group {
    lanes: Vec<Mutex<State>>,
    /// How long a caller may wait for its batch's connection in all (`database.connect_timeout_ms`):
    /// the answer is 503 then, as for any other request.
    wait: Duration,
}

/// The least time a batch is given to get its connection, however long its work has queued.
const MIN_CONNECT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    /// Each piece of work with the time it was queued.
    queue: Vec<(Instant, Box<dyn Work>)>,
    /// Whether a leader is running batches; it stops when it finds the queue empty.
    leading: bool,
}

impl Group {
    pub(super) fn new(lanes: usize, wait: Duration) -> Group {
        Group {
            lanes: (0..lanes.max(1)).map(|_| Mutex::default()).collect(),
            wait,
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
        F: FnMut(&mut Tx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work = Box::new(Pending {
            f,
            result: None,
            reply,
        });
        let mut state = self.lock(lane);
        state.queue.push((Instant::now(), work));
        let start = !state.leading;
        state.leading = true;
        (start, rx)
    }

    /// Runs the lane's batches until its queue is empty.
    fn lead(&self, lane: usize, pool: &Pool) {
        loop {
            let (oldest, batch): (Option<Instant>, Vec<Box<dyn Work>>) = {
                let mut state = self.lock(lane);
                if state.queue.is_empty() {
                    state.leading = false;
                    return;
                }
                let n = state.queue.len().min(MAX_BATCH);
                let oldest = state.queue[..n].iter().map(|(at, _)| *at).min();
                (oldest, state.queue.drain(..n).map(|(_, w)| w).collect())
            };
            // The batch gets what is left of its oldest caller's wait, so that nobody waits for
            // a connection much longer than `wait` in all, even behind batches that found none.
            let left = oldest.map_or(self.wait, |at| self.wait.saturating_sub(at.elapsed()));
            if !run_batch(pool, batch, left.max(MIN_CONNECT)) {
                // No connection (the database is away): what queued meanwhile would only wait
                // for the same answer. Dropping the work unrun answers each caller 503.
                let rest = std::mem::take(&mut self.lock(lane).queue);
                drop(rest);
            }
        }
    }
}

/// Runs one batch; false when it got no connection (its work dropped unrun: 503 to each caller).
fn run_batch(pool: &Pool, mut batch: Vec<Box<dyn Work>>, connect: Duration) -> bool {
    let mut conn = match pool.get_timeout(connect) {
        Ok(conn) => conn,
        Err(e) => {
            // Dropping the work unrun answers each caller 503 (see `write_grouped`).
            tracing::error!(error = %e, "no write connection for a grouped batch");
            return false;
        }
    };
    let mut tx = Tx::new(&mut conn);
    let outcome = match run_flat(&mut tx, &mut batch) {
        Ok(()) => Ok(()),
        Err(Flat::Failed(e)) => Err(e),
        Err(Flat::Redo) => {
            // What the flat run answered was rolled back; work the redo does not reach (it
            // stops when its transaction fails) must not answer with it.
            batch.iter_mut().for_each(|work| work.forget());
            run_with_savepoints(&mut tx, &mut batch)
        }
    };
    let failed = outcome.err().map(|e| {
        tracing::error!(error = %e, "a grouped commit failed");
        e.to_string()
    });
    for work in batch {
        work.finish(failed.as_deref());
    }
    true
}

/// Every piece of work straight in one transaction; `Redo` at the first failure.
fn run_flat(tx: &mut Tx<'_>, batch: &mut [Box<dyn Work>]) -> Result<(), Flat> {
    let hold_rows = matches!(**tx, DbConn::Pg(_));
    write_tx(tx, |tx| {
        tx.flat = FlatMode {
            on: true,
            spoiled: false,
            hold_rows,
        };
        let ran = batch
            .iter_mut()
            .all(|work| run_caught(work.as_mut(), tx) && !tx.flat.spoiled);
        tx.flat = FlatMode::default();
        if !ran {
            return Err(Flat::Redo);
        }
        // A held row that conflicts (a twin request, the same Idempotency-Key twice) fails
        // here; so does the audit chain's head, if a failed statement aborted the transaction.
        let written = tx.write_pending().map_err(|_| Flat::Redo)?;
        // A statement that failed inside work which then carried on has aborted a PostgreSQL
        // transaction, and PostgreSQL answers COMMIT of an aborted transaction by rolling it
        // back *without an error*. The statements above prove it alive; without them, ask.
        if written == 0 && matches!(**tx, DbConn::Pg(_)) {
            tx.batch_execute("SELECT 1").map_err(|_| Flat::Redo)?;
        }
        Ok(())
    })
}

/// Every piece of work in its own savepoint of one transaction: one that fails rolls back alone.
fn run_with_savepoints(tx: &mut Tx<'_>, batch: &mut [Box<dyn Work>]) -> Result<(), AppError> {
    write_tx(tx, |tx| -> Result<(), AppError> {
        for work in batch.iter_mut() {
            let step = write_tx(tx, |sp| {
                if run_caught(work.as_mut(), sp) {
                    Ok(())
                } else {
                    Err(diesel::result::Error::RollbackTransaction)
                }
            });
            match step {
                Ok(()) | Err(diesel::result::Error::RollbackTransaction) => {}
                // The savepoint itself failed: the transaction cannot be trusted any more.
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    })
}

impl super::Db {
    /// Like [`write`](super::Db::write), but the work may share its transaction and commit with
    /// other callers' (see the module docs). `f` gets the batch's [`Tx`], must make its writes
    /// through [`write_tx`], must not depend on being alone in its transaction, and may run more
    /// than once (a batch meeting a failure is redone with savepoints), so it must not act
    /// outside the database. Work with the same `lane_key` always runs in the same lane.
    pub async fn write_grouped<T, F>(&self, lane_key: &str, f: F) -> Result<T, AppError>
    where
        F: FnMut(&mut Tx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let lane = self.group.lane(lane_key);
        let (start, answer) = self.group.push(lane, f);
        if start {
            // The lane's turn at the write gate, in line with other requests.
            let (group, pool, gate) = (
                self.group.clone(),
                self.write.clone(),
                self.write_gate.clone(),
            );
            tokio::spawn(async move {
                let turn = gate.acquire_owned().await.ok();
                tokio::task::spawn_blocking(move || {
                    let _turn = turn;
                    group.lead(lane, &pool)
                });
            });
        }
        answer.await.unwrap_or_else(|_| {
            Err(AppError::db_unavailable(
                "the write was not run (no connection, or it panicked)",
            ))
        })
    }
}
