//! CPU-heavy request work on the blocking pool, at most N at once, rationed
//! per client. Two queues of this kind run: one for password hashing and
//! strength checks (`auth::passwords`), one for splitting essays and
//! planning revisions (`AppState::cpu`). Each client address and each account may have
//! only a few jobs waiting or running (the rest get 429 at once), a job waits
//! at most the queue timeout for its turn (then 429), and nothing that waits
//! here holds a database connection. So one client looping heavy requests
//! takes its share of the cores and no more, and never the pool.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

#[derive(Clone)]
pub struct CpuQueue {
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    per_client: usize,
    /// Jobs waiting or running, per admission key.
    queued: Arc<Mutex<HashMap<String, usize>>>,
    /// Threads of their own at a lower scheduling priority, or `None`: the
    /// runtime's blocking pool.
    threads: Option<Arc<Mutex<std::sync::mpsc::Sender<Job>>>>,
}

type Job = Box<dyn FnOnce() + Send>;

/// A place in the queue for each of its keys, given back on drop.
pub struct Ticket {
    keys: Vec<String>,
    queued: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let Ok(mut queued) = self.queued.lock() else { return };
        for key in &self.keys {
            if let Some(n) = queued.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    queued.remove(key);
                }
            }
        }
    }
}

impl CpuQueue {
    pub fn new(max_concurrent: usize, queue_timeout: Duration, per_client: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            queue_timeout,
            per_client: per_client.max(1),
            queued: Arc::default(),
            threads: None,
        }
    }

    /// A queue whose jobs run on `max_concurrent` threads of its own with
    /// scheduling priority `nice` (Linux; elsewhere the default): work that
    /// may take seconds of CPU (planning a revision of a long essay) then
    /// takes the cores only when reads and writes leave them idle, so a
    /// client looping such requests slows its own answers, not other
    /// readers' (benches/hostile.sh measures this).
    pub fn background(
        max_concurrent: usize,
        queue_timeout: Duration,
        per_client: usize,
        nice: i32,
    ) -> anyhow::Result<Self> {
        let (sender, receiver) = std::sync::mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..max_concurrent.max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new().name(format!("pilcrow-cpu-{n}")).spawn(move || {
                lower_priority(nice);
                loop {
                    // The lock is held only while waiting for a job, not while running it.
                    let job = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })?;
        }
        let mut queue = Self::new(max_concurrent, queue_timeout, per_client);
        queue.threads = Some(Arc::new(Mutex::new(sender)));
        Ok(queue)
    }

    /// Takes a place in the queue for each key (e.g. `addr:…`, `user:…`),
    /// or 429 when any of them already has its share waiting or running.
    pub fn admit(&self, keys: Vec<String>) -> ApiResult<Ticket> {
        let mut queued = self.queued.lock().map_err(|_| ApiError::internal(anyhow::anyhow!("queue lock")))?;
        if keys.iter().any(|k| queued.get(k).is_some_and(|n| *n >= self.per_client)) {
            return Err(ApiError::too_many_requests(1));
        }
        for key in &keys {
            *queued.entry(key.clone()).or_default() += 1;
        }
        Ok(Ticket { keys, queued: self.queued.clone() })
    }

    /// Runs `work` on the blocking pool once a slot is free; 429 when none
    /// frees within the queue timeout. The caller's ticket (its place in the
    /// queue) is kept until the request is done, across several runs if it
    /// needs them.
    pub async fn run<R: Send + 'static>(
        &self,
        _admitted: &Ticket,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> ApiResult<R> {
        let permit = tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::too_many_requests(1))?
            .map_err(ApiError::internal)?;
        let Some(threads) = &self.threads else {
            return tokio::task::spawn_blocking(move || {
                let result = work();
                drop(permit);
                result
            })
            .await
            .map_err(ApiError::internal);
        };
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // A panic is the job's alone: the thread goes on, and the caller
            // gets a 500 (below) when `done` is dropped unsent.
            if let Ok(value) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
                let _ = done.send(value);
            }
            drop(permit);
        });
        threads
            .lock()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("cpu queue lock")))?
            .send(job)
            .map_err(|_| ApiError::internal(anyhow::anyhow!("cpu queue threads ended")))?;
        result.await.map_err(|_| ApiError::internal(anyhow::anyhow!("a cpu job panicked")))
    }
}

/// Lowers the calling thread's scheduling priority (Linux: `setpriority`
/// on the thread id applies to that thread alone).
fn lower_priority(nice: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe {
        let tid = nix::libc::gettid();
        if nix::libc::setpriority(nix::libc::PRIO_PROCESS, tid as nix::libc::id_t, nice) != 0 {
            tracing::warn!(nice, "could not lower the CPU queue's thread priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

#[cfg(test)]
mod tests {
    use super::CpuQueue;
    use std::time::Duration;

    #[tokio::test]
    async fn a_client_past_its_share_is_refused_and_its_place_comes_back() {
        let queue = CpuQueue::new(1, Duration::from_millis(50), 2);
        let a = queue.admit(vec!["user:a".into()]).unwrap();
        let _b = queue.admit(vec!["user:a".into(), "addr:x".into()]).unwrap();
        let refused = queue.admit(vec!["user:a".into()]).err().unwrap();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.retry_after_secs, Some(1));
        // Another client still gets in.
        let _c = queue.admit(vec!["user:c".into()]).unwrap();
        drop(a);
        assert!(queue.admit(vec!["user:a".into()]).is_ok());
        // The address's one place is taken by `_b`, not yet its share.
        assert!(queue.admit(vec!["addr:x".into()]).is_ok());
    }

    #[tokio::test]
    async fn a_job_that_cannot_get_a_slot_in_time_is_429() {
        let queue = CpuQueue::new(1, Duration::from_millis(50), 10);
        let slow = queue.admit(vec!["user:a".into()]).unwrap();
        let q = queue.clone();
        let running =
            tokio::spawn(
                async move { q.run(&slow, || std::thread::sleep(Duration::from_millis(400))).await },
            );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = queue.admit(vec!["user:b".into()]).unwrap();
        let err = queue.run(&waiting, || ()).await.err().unwrap();
        assert_eq!(err.status.as_u16(), 429);
        running.await.unwrap().unwrap();
        assert_eq!(queue.run(&waiting, || 7).await.unwrap(), 7);
    }

    #[tokio::test]
    async fn background_threads_run_jobs_at_their_priority_and_survive_a_panic() {
        let queue = CpuQueue::background(1, Duration::from_secs(5), 10, 7).unwrap();
        let ticket = queue.admit(vec!["user:a".into()]).unwrap();
        let nice = queue.run(&ticket, || unsafe { nix::libc::getpriority(nix::libc::PRIO_PROCESS, 0) }).await;
        assert_eq!(nice.unwrap(), 7);
        let panicked = queue.run(&ticket, || panic!("a job's own failure")).await;
        assert_eq!(panicked.err().unwrap().status.as_u16(), 500);
        assert_eq!(queue.run(&ticket, || 6 * 7).await.unwrap(), 42);
    }
}
