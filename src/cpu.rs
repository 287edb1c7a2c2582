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
}

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
        }
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
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(ApiError::internal)
    }
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
}
