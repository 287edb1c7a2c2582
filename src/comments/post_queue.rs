//! Posts that arrive together are read and written together.
//!
//! A post joins the others waiting on the same HTTP worker, and a batch goes
//! through src/comments/posting.rs on one pooled connection: one statement
//! reads every post's facts, each is decided alone by the rules there, and
//! one call of `r.post_comments` (src/db/replaceable/triggers.sql) writes the
//! ones allowed, in one commit. What a post costs PostgreSQL is mostly being
//! statements and a commit of its own (benches/RESULTS.md, sessions 8 and 9).
//!
//! Nothing waits to fill a batch: a batch is what is queued when a write
//! slot is free, so a lone post goes at once, and under load batches grow by
//! themselves while the slots are busy. A post is answered only after its
//! batch commits; how a failed batch is written again is in posting.rs.

use std::sync::{Arc, OnceLock};

use tokio::sync::{mpsc, oneshot, Semaphore};

use super::posting::{self, again, Ask, Outcome};
use crate::db::{pool, Pool};
use crate::error::ApiError;

/// At most this many posts in one batch: enough to amortise the statements
/// and the commit, few enough that a batch holds its locks briefly.
const MAX_BATCH: usize = 32;

/// One worker's queue of posts waiting to be written (cheap to clone).
#[derive(Clone)]
pub struct PostQueue {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    sender: OnceLock<mpsc::UnboundedSender<Waiting>>,
}

struct Waiting {
    ask: Ask,
    answer: oneshot::Sender<Outcome>,
}

impl PostQueue {
    /// A queue writing through `pool`'s connections. Its task starts with the
    /// first post, on the runtime of the worker that sends it (diesel-async
    /// drives a connection on the runtime that opened it).
    pub fn new(pool: Pool) -> Self {
        PostQueue { inner: Arc::new(Inner { pool, sender: OnceLock::new() }) }
    }

    /// Decides and writes `ask` with the others waiting.
    pub async fn post(&self, ask: Ask) -> Outcome {
        let (answer, answered) = oneshot::channel();
        self.sender()
            .send(Waiting { ask, answer })
            .map_err(|_| ApiError::internal(anyhow::anyhow!("the post queue stopped")))?;
        answered.await.map_err(|_| ApiError::internal(anyhow::anyhow!("a post's batch ended unanswered")))?
    }

    fn sender(&self) -> &mpsc::UnboundedSender<Waiting> {
        self.inner.sender.get_or_init(|| {
            let (sender, queue) = mpsc::unbounded_channel();
            tokio::spawn(run(self.inner.pool.clone(), queue));
            sender
        })
    }
}

/// Batches handled at once: half the worker's pool, the rest left to other
/// requests. Measured at 64 connections (benches/RESULTS.md, "Posts that
/// arrive together"): fewer slots make bigger batches, which one hot paragraph likes (a quarter
/// of the pool: 1,516-1,708 posts/s, the whole pool: 933-1,114), but few
/// posters then wait for each other's commits (at 8 connections a quarter
/// wrote 580-984 posts/s, half 921-1,081, the whole pool 1,115-1,181).
/// That was a pool of 16; the automatic pool of two cores is 4, one slot a
/// worker, and wrote more at 8 and at 64 connections than 16 did
/// (benches/RESULTS.md, "The posting stall").
fn write_slots(pool: &Pool) -> usize {
    (pool.status().max_size / 2).max(1)
}

async fn run(pool: Pool, mut queue: mpsc::UnboundedReceiver<Waiting>) {
    let slots = Arc::new(Semaphore::new(write_slots(&pool)));
    loop {
        // The slot first: while every slot is busy, posts gather in the queue.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Some(first) = queue.recv().await else { return };
        // All that waits, even while other slots are free: fewer commits.
        // (Sharing the waiting posts among the free slots was measured: the
        // same at 64 connections, a tenth to a fifth fewer posts a second at
        // 8; benches/RESULTS.md, "A batch's facts in one statement".)
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            handle(&pool, batch).await;
            drop(slot);
        });
    }
}

async fn handle(pool: &Pool, batch: Vec<Waiting>) {
    let outcomes = match pool::conn(pool).await {
        Ok(mut conn) => {
            let asks: Vec<&Ask> = batch.iter().map(|w| &w.ask).collect();
            posting::post_all(&mut conn, &asks).await.map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    match outcomes {
        Ok(outcomes) => {
            for (waiting, outcome) in batch.into_iter().zip(outcomes) {
                let _ = waiting.answer.send(outcome);
            }
        }
        Err(e) => {
            for waiting in batch {
                let _ = waiting.answer.send(Err(again(&e)));
            }
        }
    }
}
