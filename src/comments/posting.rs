//! A comment post: the facts it is decided on, the rules of posting, and its
//! write, for one post or for several at once (the post queue,
//! src/comments/post_queue.rs, hands a batch to [`post_all`]; a post under an
//! `Idempotency-Key` comes alone, inside the key's transaction).
//!
//! Nothing is locked while the facts are read and the rules applied. The
//! write, `r.post_comments` (src/db/replaceable/triggers.sql), inserts a post
//! only if its thread and session still look as its facts saw them; a post
//! left out is decided again by its caller. Several posts take one statement
//! to read and one to write: at the database, reading eight posts' facts in
//! one statement went about 3.7 times as far as eight statements, and
//! writing eight at once more than twice as far as one by one
//! (benches/RESULTS.md, sessions 8 and 9).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Jsonb, Nullable, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::Comment;
use crate::access::{self, Role};
use crate::db::is_timeout;
use crate::error::{is_connection_loss, ApiError, ApiResult};
use crate::sessions::models::Status;
use crate::threads::rules::{check_open, check_writable};
use crate::users::UserView;

/// Replies nest at most this deep (a thread's top-level comments are depth 0).
pub const MAX_DEPTH: i16 = 8;

/// A post as its caller asked for it (the body already checked).
#[derive(Clone)]
pub struct Ask {
    /// The caller's id and token version ([`access::caller_key`]).
    pub caller: (Uuid, i32),
    pub thread_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub body: String,
    /// Whom it tells of a mention (src/notifications/mentions.rs).
    pub mentioned: Vec<Uuid>,
}

/// A post written, with what its answer shows.
pub struct Posted {
    pub comment: Comment,
    pub author: UserView,
    pub moderator: bool,
}

/// What became of one post. `Ok(None)`: its thread or session changed
/// between its facts and its write; ask again.
pub type Outcome = ApiResult<Option<Posted>>;

/// Reads, decides and writes `asks` on `conn`, two statements for all of
/// them; one outcome per ask, in order. `Err`: the facts could not be read
/// (the connection or a timeout), the same for every ask.
pub async fn post_all(conn: &mut AsyncPgConnection, asks: &[&Ask]) -> QueryResult<Vec<Outcome>> {
    let facts = read_facts(conn, asks).await?;
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(asks.len());
    let mut decided = Vec::new();
    for (i, (ask, facts)) in asks.iter().zip(facts).enumerate() {
        match facts.ok_or_else(ApiError::not_found).and_then(|facts| decide(facts, ask)) {
            Ok((post, author, moderator)) => {
                decided.push((i, Uuid::now_v7(), post, author, moderator));
                outcomes.push(Ok(None));
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    let posts: Vec<(Uuid, &Post)> = decided.iter().map(|(_, id, post, ..)| (*id, post)).collect();
    let written = write_all(conn, &posts).await;
    for ((i, _, _, author, moderator), written) in decided.into_iter().zip(written) {
        outcomes[i] = written.map(|comment| comment.map(|comment| Posted { comment, author, moderator }));
    }
    Ok(outcomes)
}

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
    pub mentioned: Vec<Uuid>,
    pub seen: Seen,
    pub place: Place,
}

#[derive(QueryableByName)]
struct Facts {
    #[diesel(sql_type = BigInt)]
    ord: i64,
    #[diesel(embed)]
    caller: access::CallerFacts,
    #[diesel(embed)]
    seen: Seen,
    #[diesel(embed)]
    place: Place,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    parent_thread: Option<Uuid>,
    #[diesel(sql_type = Nullable<SmallInt>)]
    parent_depth: Option<i16>,
}

/// The facts of each ask, by position. Nothing is locked or written here;
/// nothing read is used before the access check allows it.
async fn read_facts(conn: &mut AsyncPgConnection, asks: &[&Ask]) -> QueryResult<Vec<Option<Facts>>> {
    let rows: Vec<Facts> = crate::sql!("posting/facts.sql")
        .bind::<Array<SqlUuid>, _>(asks.iter().map(|a| a.caller.0).collect::<Vec<_>>())
        .bind::<Array<Integer>, _>(asks.iter().map(|a| a.caller.1).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(asks.iter().map(|a| a.thread_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<SqlUuid>>, _>(asks.iter().map(|a| a.parent_id).collect::<Vec<_>>())
        .load(conn)
        .await?;
    let mut facts: Vec<Option<Facts>> = asks.iter().map(|_| None).collect();
    for row in rows {
        let slot = usize::try_from(row.ord - 1).ok().and_then(|i| facts.get_mut(i));
        if let Some(slot) = slot {
            *slot = Some(row);
        }
    }
    Ok(facts)
}

/// The rules of posting, all here: 404 unless the caller may see the thread
/// (and, unless a moderator, it is not hidden), 401 revoked, 403 banned or
/// not a member, 409 `thread_locked` / `session_closed`, 422 for a parent
/// outside this thread or a reply deeper than [`MAX_DEPTH`].
fn decide(facts: Facts, ask: &Ask) -> ApiResult<(Post, UserView, bool)> {
    let access = facts.caller.decide(true)?;
    let author_id = access.require(Role::Member)?;
    check_writable(facts.seen.locked, facts.seen.hidden, &access)?;
    check_open(facts.seen.status)?;
    let depth = match (ask.parent_id, facts.parent_thread, facts.parent_depth) {
        (None, _, _) => 0,
        (Some(_), Some(parent_thread), Some(depth)) if parent_thread == ask.thread_id => depth + 1,
        (Some(_), _, _) => {
            return Err(ApiError::invalid_field("parent_id", "is not a comment of this thread"))
        }
    };
    if depth > MAX_DEPTH {
        return Err(ApiError::invalid_field(
            "parent_id",
            format!("replies nest at most {MAX_DEPTH} levels deep"),
        ));
    }
    let moderator = access.is_moderator();
    let author = access.caller.ok_or_else(ApiError::not_found)?;
    let post = Post {
        thread_id: ask.thread_id,
        parent_id: ask.parent_id,
        depth,
        author_id,
        body: ask.body.clone(),
        mentioned: ask.mentioned.clone(),
        seen: facts.seen,
        place: facts.place,
    };
    Ok((post, author, moderator))
}

/// Writes `posts` in one statement; if that fails for something a post did
/// (a constraint, a deadlock with a writer outside the protocol), each again
/// alone, so one bad post never fails another. Waiting or the connection
/// being the trouble, each alone would fare no better: all get that error.
async fn write_all(conn: &mut AsyncPgConnection, posts: &[(Uuid, &Post)]) -> Vec<ApiResult<Option<Comment>>> {
    if posts.is_empty() {
        return Vec::new();
    }
    match write_now(conn, posts).await {
        Ok(comments) => {
            let mut by_id: HashMap<Uuid, Comment> = comments.into_iter().map(|c| (c.id, c)).collect();
            posts.iter().map(|(id, _)| Ok(by_id.remove(id))).collect()
        }
        Err(e) if posts.len() == 1 || is_timeout(&e) || is_connection_loss(&e) => {
            let e = ApiError::from(e);
            posts.iter().map(|_| Err(again(&e))).collect()
        }
        Err(e) => {
            tracing::warn!(error = %e, posts = posts.len(), "a batch of posts failed; writing each alone");
            let mut each = Vec::with_capacity(posts.len());
            for post in posts {
                let one = write_now(conn, std::slice::from_ref(post)).await;
                each.push(one.map(|mut c| c.pop()).map_err(ApiError::from));
            }
            each
        }
    }
}

/// The same answer for every post that shares a failure.
pub fn again(e: &ApiError) -> ApiError {
    let mut copy = ApiError::new(e.status, e.code, e.detail.clone());
    copy.retry_after_secs = e.retry_after_secs;
    copy
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
    let posts: Vec<serde_json::Value> = posts
        .iter()
        .map(|(id, p)| {
            serde_json::json!({
                "id": id,
                "thread_id": p.thread_id,
                "parent_id": p.parent_id,
                "depth": p.depth,
                "author_id": p.author_id,
                "body": p.body,
                "seen_locked": p.seen.locked,
                "seen_hidden": p.seen.hidden,
                "seen_status": p.seen.status.as_str(),
                "mentions": p.mentioned,
            })
        })
        .collect();
    crate::sql!("posting/write.sql")
        .bind::<Jsonb, _>(serde_json::Value::Array(posts))
        .load::<Comment>(conn)
        .await
}

/// [`post_all`] for one post.
pub async fn post_one(conn: &mut AsyncPgConnection, ask: &Ask) -> Outcome {
    post_all(conn, &[ask])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a post went unanswered")))?
}
