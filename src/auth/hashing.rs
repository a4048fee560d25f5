//! The password-hashing pool: argon2 runs on a few dedicated threads behind a bounded queue,
//! never on the async workers or the database's blocking pool. A sign-in flood then costs
//! those threads (by default every core but one) and a full queue answers 503 `overloaded` at
//! once, instead of every other request waiting behind hashes.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use crate::error::AppError;

type Job = Box<dyn FnOnce() + Send>;

/// A handle to the hashing threads; they end when the last handle is dropped.
pub struct HashPool {
    queue: SyncSender<Job>,
    threads: usize,
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
        let (tx, rx) = mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&rx))
                .expect("spawning a password-hashing thread");
        }
        HashPool { queue: tx, threads }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Queues `f` for a hashing thread at once (503 `overloaded` with Retry-After when the
    /// queue is full); the future resolves to its result.
    pub fn run<T, F>(&self, f: F) -> impl Future<Output = Result<T, AppError>> + Send + 'static
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        let queued = match self.queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(AppError::overloaded(1)),
            Err(TrySendError::Disconnected(_)) => Err(AppError::internal(anyhow::anyhow!(
                "the password-hashing threads are gone"
            ))),
        };
        async move {
            queued?;
            rx.await
                .map_err(|_| AppError::internal(anyhow::anyhow!("a password-hashing job panicked")))
        }
    }

    /// The argon2id hash of `password`, computed on the pool.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.run(move || super::passwords::hash(&password)).await?
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
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
