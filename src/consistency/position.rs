//! A server's log position as last read, and fresh readings shared by
//! everyone who asks at once.

use std::sync::atomic::{AtomicU64, Ordering};

use super::token::Lsn;

/// The last position read from one server (it only grows), and a turn for
/// reading it again.
#[derive(Default)]
pub struct Position {
    latest: AtomicU64,
    /// Readings begun and finished; one runs at a time.
    begun: AtomicU64,
    finished: AtomicU64,
    turn: tokio::sync::Mutex<()>,
}

impl Position {
    pub fn latest(&self) -> Lsn {
        Lsn(self.latest.load(Ordering::Acquire))
    }

    pub fn raise(&self, to: Lsn) {
        self.latest.fetch_max(to.0, Ordering::AcqRel);
    }

    /// A position read after this call began, so at least as late as
    /// anything the caller saw before calling. Callers that arrive while a
    /// reading runs share the next one: under load one round trip serves
    /// every request that finished meanwhile. `None` when the reading fails.
    pub async fn fresh(&self, read: impl AsyncFnOnce() -> Option<Lsn>) -> Option<Lsn> {
        // A reading already begun may have begun before our caller's work
        // ended; only one that begins after now will do.
        let needed = self.begun.load(Ordering::Acquire) + 1;
        let _turn = self.turn.lock().await;
        if self.finished.load(Ordering::Acquire) >= needed {
            return Some(self.latest());
        }
        let this = self.begun.fetch_add(1, Ordering::AcqRel) + 1;
        let read = read().await;
        if let Some(at) = read {
            self.raise(at);
        }
        self.finished.store(this, Ordering::Release);
        read.map(|_| self.latest())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[tokio::test]
    async fn callers_waiting_together_share_one_reading() {
        let position = Arc::new(Position::default());
        let reads = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let first = {
            let (position, reads, gate) = (position.clone(), reads.clone(), gate.clone());
            tokio::spawn(async move {
                position
                    .fresh(async || {
                        gate.notified().await;
                        Some(Lsn(reads.fetch_add(1, Ordering::SeqCst) as u64 + 10))
                    })
                    .await
            })
        };
        tokio::task::yield_now().await;
        // These arrive while the first reading runs: it may have begun before
        // their work ended, so they need one more, which they share.
        let later: Vec<_> = (0..5)
            .map(|_| {
                let (position, reads) = (position.clone(), reads.clone());
                tokio::spawn(async move {
                    position.fresh(async || Some(Lsn(reads.fetch_add(1, Ordering::SeqCst) as u64 + 10))).await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        gate.notify_one();
        assert_eq!(first.await.expect("first"), Some(Lsn(10)));
        for waiter in later {
            assert_eq!(waiter.await.expect("later"), Some(Lsn(11)));
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "one reading for the first caller, one shared by the rest"
        );
    }

    #[tokio::test]
    async fn a_failed_reading_is_none_and_keeps_the_last_position() {
        let position = Position::default();
        position.raise(Lsn(7));
        assert_eq!(position.fresh(async || None).await, None);
        assert_eq!(position.latest(), Lsn(7));
        position.raise(Lsn(3));
        assert_eq!(position.latest(), Lsn(7), "positions never go back");
    }
}
