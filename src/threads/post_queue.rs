//! Posts that arrive together are written together.
//!
//! A post is decided alone (src/threads/comments.rs reads its facts and
//! applies the rules), but its write joins the others waiting on the same
//! HTTP worker: one call of `r.post_comments` (src/db/replaceable/triggers.sql)
//! inserts them all, in one statement and one commit. What a post costs
//! PostgreSQL is mostly being a statement and a commit of its own: at the
//! database, eight posts a call wrote more than twice as many per second as
//! one a call; through the server, posting under load gained a quarter to a
//! half, and posts on one paragraph share the wait for its counter row instead
//! of queueing for it one commit at a time (benches/RESULTS.md, session 8).
//!
//! Nothing waits to fill a batch: a batch is whatever is queued when a write
//! slot is free, so a lone post is written at once, and under load batches
//! grow by themselves while the slots are busy. A post is answered only after
//! its batch commits. A batch that fails (a deadlock with a writer outside
//! the protocol, a constraint) is written again one post at a time, so each
//! post gets its own answer and one bad post never fails another.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Nullable, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::{mpsc, oneshot, Semaphore};
use uuid::Uuid;

use super::models::Comment;
use crate::db::prepared::Prepared;
use crate::db::{is_timeout, pool, Pool};
use crate::error::{is_connection_loss, ApiError, ApiResult};
use crate::sessions::models::Status;

/// At most this many posts in one statement: enough to amortise the
/// statement and the commit, few enough that a batch holds its locks briefly.
const MAX_BATCH: usize = 32;

/// What the thread and session looked like when the post was decided; the
/// write goes ahead only if they still look so.
#[derive(Debug, QueryableByName)]
pub struct Seen {
    #[diesel(sql_type = Bool)]
    pub locked: bool,
    #[diesel(sql_type = Bool, column_name = thread_hidden)]
    pub hidden: bool,
    #[diesel(sql_type = Text)]
    pub status: Status,
}

/// Where the thread was when the post was decided: posts are written in the
/// order of their places (see [`write_now`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, QueryableByName)]
pub struct Place {
    #[diesel(sql_type = SqlUuid, column_name = thread_session)]
    pub session_id: Uuid,
    #[diesel(sql_type = SqlUuid, column_name = thread_paragraph)]
    pub paragraph_id: Uuid,
}

/// A decided post, ready to be written.
pub struct Post {
    pub thread_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub depth: i16,
    pub author_id: Uuid,
    pub body: String,
    pub seen: Seen,
    pub place: Place,
}

/// Inserts `posts` now, in one statement, each only if its thread and session
/// are still as it saw them; the comments written come back (by id), the
/// others were left out and must be decided again. They are written in the
/// order of the write protocol (session, paragraph, thread; then as queued),
/// the order `r.post_comments` takes the threads' locks in, so two batches
/// never wait for each other's counter rows in a circle. (A thread moved to
/// another paragraph since its post was decided could break that order; a
/// deadlock then fails the batch, and its posts are written one by one.)
pub async fn write_now(conn: &mut AsyncPgConnection, posts: &[(Uuid, &Post)]) -> QueryResult<Vec<Comment>> {
    let mut posts = posts.to_vec();
    posts.sort_by_key(|(id, p)| (p.place, p.thread_id, *id));
    Prepared::new("SELECT * FROM r.post_comments($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind::<Array<SqlUuid>, _>(posts.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(posts.iter().map(|(_, p)| p.thread_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<SqlUuid>>, _>(posts.iter().map(|(_, p)| p.parent_id).collect::<Vec<_>>())
        .bind::<Array<SmallInt>, _>(posts.iter().map(|(_, p)| p.depth).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(posts.iter().map(|(_, p)| p.author_id).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(posts.iter().map(|(_, p)| p.body.as_str()).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(posts.iter().map(|(_, p)| p.seen.locked).collect::<Vec<_>>())
        .bind::<Array<Bool>, _>(posts.iter().map(|(_, p)| p.seen.hidden).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(posts.iter().map(|(_, p)| p.seen.status.as_str()).collect::<Vec<_>>())
        .load::<Comment>(conn)
        .await
}

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
    id: Uuid,
    post: Post,
    answer: oneshot::Sender<ApiResult<Option<Comment>>>,
}

impl PostQueue {
    /// A queue writing through `pool`'s connections. Its task starts with the
    /// first post, on the runtime of the worker that sends it (diesel-async
    /// drives a connection on the runtime that opened it).
    pub fn new(pool: Pool) -> Self {
        PostQueue { inner: Arc::new(Inner { pool, sender: OnceLock::new() }) }
    }

    /// Writes `post` with the others waiting. `None`: its thread or session
    /// changed since it was decided; decide again.
    pub async fn write(&self, post: Post) -> ApiResult<Option<Comment>> {
        let (answer, answered) = oneshot::channel();
        let waiting = Waiting { id: Uuid::now_v7(), post, answer };
        self.sender()
            .send(waiting)
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

/// Batches written at once: half the worker's pool, the rest left to requests
/// reading their facts. Measured at 64 connections (benches/RESULTS.md,
/// session 8): fewer slots make bigger batches, which one hot paragraph
/// likes (a quarter of the pool: 1,516-1,708 posts/s, the whole pool: 933-1,114),
/// but few posters then wait for each other's commits (at 8 connections a
/// quarter wrote 580-984 posts/s, half 921-1,081, the whole pool 1,115-1,181).
fn write_slots(pool: &Pool) -> usize {
    (pool.status().max_size / 2).max(1)
}

async fn run(pool: Pool, mut queue: mpsc::UnboundedReceiver<Waiting>) {
    let slots = Arc::new(Semaphore::new(write_slots(&pool)));
    loop {
        // The slot first: while every slot is busy, posts gather in the queue.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Some(first) = queue.recv().await else { return };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(async move {
            write_batch(&pool, batch).await;
            drop(slot);
        });
    }
}

async fn write_batch(pool: &Pool, batch: Vec<Waiting>) {
    let mut conn = match pool::conn(pool).await {
        Ok(conn) => conn,
        Err(e) => {
            for waiting in batch {
                let _ = waiting.answer.send(Err(again(&e)));
            }
            return;
        }
    };
    let posts: Vec<(Uuid, &Post)> = batch.iter().map(|w| (w.id, &w.post)).collect();
    let written = write_now(&mut conn, &posts).await;
    drop(posts);
    match written {
        Ok(comments) => {
            let mut by_id: HashMap<Uuid, Comment> = comments.into_iter().map(|c| (c.id, c)).collect();
            for waiting in batch {
                let _ = waiting.answer.send(Ok(by_id.remove(&waiting.id)));
            }
        }
        // Waiting or the connection was the trouble, not a post: each alone
        // would fare no better.
        Err(e) if batch.len() == 1 || is_timeout(&e) || is_connection_loss(&e) => {
            let e = ApiError::from(e);
            for waiting in batch {
                let _ = waiting.answer.send(Err(again(&e)));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, posts = batch.len(), "a batch of posts failed; writing each alone");
            for waiting in batch {
                let one = write_now(&mut conn, &[(waiting.id, &waiting.post)]).await;
                let _ = waiting.answer.send(one.map(|mut c| c.pop()).map_err(ApiError::from));
            }
        }
    }
}

/// The same answer for every post of a batch that could not start.
fn again(e: &ApiError) -> ApiError {
    let mut copy = ApiError::new(e.status, e.code, e.detail.clone());
    copy.retry_after_secs = e.retry_after_secs;
    copy
}
