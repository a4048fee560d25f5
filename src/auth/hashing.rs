//! The password-hashing pool: argon2 runs on a few dedicated threads (niced) behind a bounded
//! queue, never on the async workers or the database's blocking pool. A sign-in flood then
//! costs those threads (by default every core but one) and a full queue answers 503
//! `overloaded` at once, before the sign-in reads the database, instead of every other request
//! waiting behind hashes.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use crate::error::AppError;

type Job = Box<dyn FnOnce() + Send>;

/// How much lower than the request workers the hashing threads run (Linux `nice`): when the
/// cores are oversubscribed, a worker answering `/healthz` goes before another hash.
const NICENESS: i32 = 10;

/// A handle to the hashing threads; they end when the last handle (and slot) is dropped.
pub struct HashPool {
    jobs: Sender<Job>,
    in_flight: Arc<AtomicUsize>,
    capacity: usize,
    threads: usize,
}

/// Room for one check in the pool, taken before any other work for the request (a refused
/// sign-in then costs no database read either); given back when the check ends or the slot is
/// dropped unused.
pub struct Slot {
    jobs: Sender<Job>,
    in_flight: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Slot")
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashPool {
    /// `threads` hashing threads (0: every core but one, at least one) and room for `queue`
    /// checks waiting for one of them.
    pub fn new(threads: usize, queue: usize) -> HashPool {
        let threads = match threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1))
                .unwrap_or(1)
                .max(1),
            n => n,
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&rx))
                .expect("spawning a password-hashing thread");
        }
        HashPool {
            jobs: tx,
            in_flight: Arc::new(AtomicUsize::new(0)),
            capacity: threads + queue,
            threads,
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// A slot for one check; 503 `overloaded` with Retry-After when every thread is busy and
    /// the queue is full.
    pub fn reserve(&self) -> Result<Slot, AppError> {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::overloaded(1));
        }
        Ok(Slot {
            jobs: self.jobs.clone(),
            in_flight: self.in_flight.clone(),
        })
    }

    /// Reserves a slot and runs `f` in it (see [`Slot::run`]).
    pub fn run<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let queued = self.reserve().map(|slot| slot.run(f));
        async move { queued?.await }
    }

    /// The argon2id hash of `password`, computed on the pool.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || super::passwords::hash(&password)).await?
    }
}

impl Slot {
    /// Queues `f` for a hashing thread at once; the future resolves to its result.
    pub fn run<T, F>(self, f: F) -> impl Future<Output = Result<T, AppError>> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.clone();
        let job: Job = Box::new(move || {
            let _slot = self;
            let _ = tx.send(f());
        });
        let sent = jobs.send(job).map_err(|_| {
            AppError::internal(anyhow::anyhow!("the password-hashing threads are gone"))
        });
        async move {
            sent?;
            rx.await
                .map_err(|_| AppError::internal(anyhow::anyhow!("a password-hashing job panicked")))
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; on Linux `who = 0` is the calling thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS);
    }
    loop {
        let job = {
            let rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv()
        };
        let Ok(job) = job else { return };
        // A panicking job loses its answer (the caller gets a 500), not the thread.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_full_queue_answers_503_with_retry_after_and_the_pool_keeps_working() {
        let pool = HashPool::new(1, 1);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let h = hold.clone();
        // One job occupies the thread, one waits in the queue; the third finds no room.
        let busy = tokio::spawn(pool.run(move || h.lock().unwrap().recv().ok()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let h2 = hold.clone();
        let queued = tokio::spawn(pool.run(move || h2.lock().unwrap().recv().ok()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let err = pool.run(|| ()).await.unwrap_err();
        assert_eq!(err.status.as_u16(), 503);
        assert_eq!(err.code, "overloaded");
        assert_eq!(err.retry_after, Some(1));
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert!(busy.await.unwrap().is_ok());
        assert!(queued.await.unwrap().is_ok());
        assert_eq!(pool.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn an_unused_slot_is_given_back() {
        let pool = HashPool::new(1, 0);
        let slot = pool.reserve().unwrap();
        assert_eq!(pool.reserve().unwrap_err().code, "overloaded");
        drop(slot);
        assert_eq!(pool.run(|| 3).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_panicking_job_is_a_500_and_the_thread_lives_on() {
        let pool = HashPool::new(1, 4);
        let err = pool
            .run(|| {
                if true {
                    panic!("boom")
                }
            })
            .await
            .unwrap_err();
        assert_eq!(err.status.as_u16(), 500);
        assert_eq!(pool.run(|| 1 + 1).await.unwrap(), 2);
    }
}
