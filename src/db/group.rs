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
//! (it is `FnMut`) and must not act outside the database before its batch commits.
//!
//! The audit events of a batch are held back and chained together just before its commit
//! (`audit::service::Deferred`), so the chain's head row is locked once per batch. On
//! PostgreSQL, where every statement is a round trip, a flat run also holds back the rows its
//! work inserts through [`insert_batched`] (bids, receipt mails, idempotency records) and writes
//! each kind in one statement before the commit.
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

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use diesel::connection::SimpleConnection;
use diesel::QueryResult;

use super::{write_tx, DbConn, Pool};
use crate::audit::service::Deferred;
use crate::error::AppError;

/// The most pieces of work one transaction takes; the rest wait for the next one.
const MAX_BATCH: usize = 128;

/// One caller's queued work.
trait Work: Send {
    /// Runs the work on the batch's connection (again, when the batch is redone with
    /// savepoints); whether it succeeded.
    fn run(&mut self, conn: &mut DbConn) -> bool;
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
    F: FnMut(&mut DbConn) -> Result<T, AppError> + Send,
    T: Send,
{
    fn run(&mut self, conn: &mut DbConn) -> bool {
        self.result = None;
        let result = (self.f)(conn);
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
fn run_caught(work: &mut dyn Work, conn: &mut DbConn) -> bool {
    catch_unwind(AssertUnwindSafe(|| work.run(conn))).unwrap_or(false)
}

thread_local! {
    /// `Some(spoiled)` while this thread runs a batch flat.
    static FLAT: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Whether this thread runs a batch flat: [`write_tx`] then runs its work inline.
pub(super) fn flat() -> bool {
    FLAT.with(|f| f.get().is_some())
}

/// Marks the flat batch to be redone with savepoints: a nested transaction failed, and its
/// writes cannot be rolled back alone.
pub(super) fn spoil() {
    FLAT.with(|f| {
        if f.get().is_some() {
            f.set(Some(true));
        }
    });
}

/// Rows that can be written many at a time (see [`insert_batched`]).
pub trait BatchRow: Sized + 'static {
    /// Writes `rows` in as few statements as the backend allows.
    fn insert_all(conn: &mut DbConn, rows: &[Self]) -> QueryResult<()>;
}

/// The held rows of one kind: a `Vec<R>` and how to write it.
struct Held {
    kind: TypeId,
    rows: Box<dyn Any>,
    write: fn(&mut DbConn, Box<dyn Any>) -> QueryResult<()>,
}

fn write_held_rows<R: BatchRow>(conn: &mut DbConn, rows: Box<dyn Any>) -> QueryResult<()> {
    match rows.downcast::<Vec<R>>() {
        Ok(rows) => R::insert_all(conn, &rows),
        Err(_) => unreachable!("held rows are filed under their own type"),
    }
}

thread_local! {
    /// Rows held back while this thread runs a batch flat on PostgreSQL, by kind, in the order
    /// the kinds first came.
    static HELD: RefCell<Option<Vec<Held>>> = const { RefCell::new(None) };
}

/// Inserts `row` now or, while a batch runs flat on PostgreSQL, with the batch's other rows of
/// its kind in one statement just before the commit (a statement per kind and batch instead of
/// one per row). A held row is invisible to the reads of its own batch, so use this only for
/// rows that nothing reads back before the commit and whose conflicts a constraint catches: a
/// conflict among held rows fails the batch's flat run, and the batch is redone with
/// savepoints, where every row is inserted at once and each piece of work meets its own
/// conflict.
pub fn insert_batched<R: BatchRow>(conn: &mut DbConn, row: R) -> QueryResult<()> {
    let unheld = HELD.with(|h| match h.borrow_mut().as_mut() {
        None => Some(row),
        Some(held) => {
            let kind = TypeId::of::<R>();
            let i = match held.iter().position(|g| g.kind == kind) {
                Some(i) => i,
                None => {
                    held.push(Held {
                        kind,
                        rows: Box::new(Vec::<R>::new()),
                        write: write_held_rows::<R>,
                    });
                    held.len() - 1
                }
            };
            match held[i].rows.downcast_mut::<Vec<R>>() {
                Some(rows) => rows.push(row),
                None => unreachable!("held rows are filed under their own type"),
            }
            None
        }
    });
    match unheld {
        Some(row) => R::insert_all(conn, std::slice::from_ref(&row)),
        None => Ok(()),
    }
}

/// Writes the held rows, kind by kind.
fn write_held(conn: &mut DbConn) -> QueryResult<usize> {
    let held = HELD.with(|h| h.borrow_mut().as_mut().map(std::mem::take));
    let held = held.unwrap_or_default();
    let kinds = held.len();
    for g in held {
        (g.write)(conn, g.rows)?;
    }
    Ok(kinds)
}

/// Runs a batch flat while alive.
struct FlatRun(());

impl FlatRun {
    /// `hold_rows`: hold [`insert_batched`] rows for one statement per kind (PostgreSQL, where
    /// each statement is a round trip).
    fn enter(hold_rows: bool) -> FlatRun {
        FLAT.with(|f| f.set(Some(false)));
        if hold_rows {
            HELD.with(|h| *h.borrow_mut() = Some(Vec::new()));
        }
        FlatRun(())
    }

    fn spoiled(&self) -> bool {
        FLAT.with(|f| f.get() == Some(true))
    }
}

impl Drop for FlatRun {
    fn drop(&mut self) {
        FLAT.with(|f| f.set(None));
        HELD.with(|h| *h.borrow_mut() = None);
    }
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
}

#[derive(Default)]
struct State {
    queue: Vec<Box<dyn Work>>,
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
        F: FnMut(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let work = Box::new(Pending {
            f,
            result: None,
            reply,
        });
        let mut state = self.lock(lane);
        state.queue.push(work);
        let start = !state.leading;
        state.leading = true;
        (start, rx)
    }

    /// Runs the lane's batches until its queue is empty.
    fn lead(&self, lane: usize, pool: &Pool) {
        loop {
            let batch: Vec<Box<dyn Work>> = {
                let mut state = self.lock(lane);
                if state.queue.is_empty() {
                    state.leading = false;
                    return;
                }
                let n = state.queue.len().min(MAX_BATCH);
                state.queue.drain(..n).collect()
            };
            run_batch(pool, batch);
        }
    }
}

fn run_batch(pool: &Pool, mut batch: Vec<Box<dyn Work>>) {
    let mut conn = match pool.get() {
        Ok(conn) => conn,
        Err(e) => {
            // Dropping the work unrun answers each caller 503 (see `write_grouped`).
            tracing::error!(error = %e, "no write connection for a grouped batch");
            return;
        }
    };
    let outcome = match run_flat(&mut conn, &mut batch) {
        Ok(()) => Ok(()),
        Err(Flat::Failed(e)) => Err(e),
        Err(Flat::Redo) => {
            // What the flat run answered was rolled back; work the redo does not reach (it
            // stops when its transaction fails) must not answer with it.
            batch.iter_mut().for_each(|work| work.forget());
            run_with_savepoints(&mut conn, &mut batch)
        }
    };
    let failed = outcome.err().map(|e| {
        tracing::error!(error = %e, "a grouped commit failed");
        e.to_string()
    });
    for work in batch {
        work.finish(failed.as_deref());
    }
}

/// Every piece of work straight in one transaction; `Redo` at the first failure.
fn run_flat(conn: &mut DbConn, batch: &mut [Box<dyn Work>]) -> Result<(), Flat> {
    let audit = Deferred::begin();
    write_tx(conn, |tx| {
        let run = FlatRun::enter(matches!(tx, DbConn::Pg(_)));
        for work in batch.iter_mut() {
            if !run_caught(work.as_mut(), tx) || run.spoiled() {
                return Err(Flat::Redo);
            }
        }
        // A held row that conflicts (a twin request, the same Idempotency-Key twice) fails here.
        let kinds = write_held(tx).map_err(|_| Flat::Redo)?;
        drop(run);
        let chained = audit.flush(tx).map_err(|_| Flat::Redo)?;
        // A statement that failed inside work which then carried on has aborted a PostgreSQL
        // transaction, and PostgreSQL answers COMMIT of an aborted transaction by rolling it
        // back *without an error*. The statements above prove it alive; without them, ask.
        if kinds == 0 && chained == 0 && matches!(tx, DbConn::Pg(_)) {
            tx.batch_execute("SELECT 1").map_err(|_| Flat::Redo)?;
        }
        Ok(())
    })
}

/// Every piece of work in its own savepoint of one transaction: one that fails rolls back alone.
fn run_with_savepoints(conn: &mut DbConn, batch: &mut [Box<dyn Work>]) -> Result<(), AppError> {
    let audit = Deferred::begin();
    write_tx(conn, |tx| -> Result<(), AppError> {
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
        audit.flush(tx).map(|_| ())
    })
}

impl super::Db {
    /// Like [`write`](super::Db::write), but the work may share its transaction and commit with
    /// other callers' (see the module docs). `f` must make its writes through [`write_tx`], must
    /// not depend on being alone in its transaction, and may run more than once (a batch meeting
    /// a failure is redone with savepoints), so it must not act outside the database. Work with
    /// the same `lane_key` always runs in the same lane.
    pub async fn write_grouped<T, F>(&self, lane_key: &str, f: F) -> Result<T, AppError>
    where
        F: FnMut(&mut DbConn) -> Result<T, AppError> + Send + 'static,
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
