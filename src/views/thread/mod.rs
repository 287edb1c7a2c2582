//! A thread as one reader sees it: the one place a `ThreadView` is made.
//!
//! A thread's view is its row, its author, its anchor (`thread_anchors`),
//! its votes without those of members whose ban is live, and what depends
//! on the reader: their own vote, and in lists their unread count. The
//! accepted answers that count come with it. All of it is read here, for
//! any number of threads at once, so the route that starts a thread, the
//! one that reads it, the lists, moderation, answers, re-anchoring and live
//! events all show the same thread the same way.

mod anchor;
pub mod list;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::dsl::AsSelect;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use self::anchor::AnchorColumns;
pub use self::anchor::AnchorView;
use super::{Moderation, Reads, UserView, Viewer};
use crate::access::{self, GroupAccess, Scope};
use crate::anchors::Quote;
use crate::auth::Caller;
use crate::db::rules::counts;
use crate::error::{ApiError, ApiResult};
use crate::schema::{comments, thread_anchors, thread_answers, thread_votes, threads, users};
use crate::threads::models::ThreadKind;
use crate::users::blocks::ShowBlocked;

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadView {
    id: Uuid,
    session_id: Uuid,
    paragraph_id: Uuid,
    /// Null when the thread has none, when `author_blocked`, and once its
    /// author erased their account.
    title: Option<String>,
    quote: Option<Quote>,
    /// Null when the author deleted their account with its words.
    author: Option<UserView>,
    /// Whether the reader blocks the author: then `title` is null unless
    /// the read asked `show_blocked=true` (the opening comment, the body,
    /// comes collapsed in the thread's comments). Always false for everyone
    /// else.
    author_blocked: bool,
    created_at: DateTime<Utc>,
    last_activity_at: DateTime<Utc>,
    /// Comments that are neither hidden nor deleted, the opening one included.
    comment_count: i32,
    locked: bool,
    pinned: bool,
    hidden: bool,
    /// Present for moderators when the thread is hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    moderation: Option<Moderation>,
    /// How the quote sits in the current text (essay revisions move it).
    anchor: AnchorView,
    kind: ThreadKind,
    /// Votes of members who are not banned.
    vote_count: i64,
    /// Whether the caller has voted (false for anonymous callers).
    voted_by_me: bool,
    /// Whether an accepted answer counts (is neither hidden nor deleted).
    /// Always false for discussions.
    answered: bool,
    /// The accepted answers that count, oldest acceptance first.
    answer_ids: Vec<Uuid>,
    /// Comments that count, by others, newer than the caller's read mark:
    /// in thread lists, for signed-in callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    unread_count: Option<i64>,
}

impl ThreadView {
    pub fn id(&self) -> Uuid {
        self.id
    }

    pub fn hidden(&self) -> bool {
        self.hidden
    }
}

/// The columns of `threads` a view shows.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = threads)]
struct ThreadColumns {
    id: Uuid,
    session_id: Uuid,
    paragraph_id: Uuid,
    author_id: Uuid,
    title: Option<String>,
    quote_exact: Option<String>,
    quote_start: Option<i32>,
    quote_end: Option<i32>,
    locked: bool,
    pinned: bool,
    hidden: bool,
    hidden_by: Option<Uuid>,
    hidden_reason: Option<String>,
    comment_count: i32,
    created_at: DateTime<Utc>,
    last_activity_at: DateTime<Utc>,
    kind: ThreadKind,
    /// Accepted answers whose comment counts.
    answer_count: i32,
}

/// A thread's votes without those of members whose ban is live, in SQL:
/// the stored count (every vote) minus a probe per live ban of the group
/// (bans are few, and a ban that ends by itself needs no trigger this way).
pub fn effective_votes() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql(
        "(threads.vote_count - (SELECT count(*) FROM thread_votes v JOIN r.live_bans b \
           ON b.group_id = v.group_id AND b.user_id = v.user_id \
          WHERE v.thread_id = threads.id))",
    )
}

/// One row of a view: the thread, its author, its anchor, its votes.
type Row = (ThreadColumns, UserView, Option<AnchorColumns>, i64);

#[diesel::dsl::auto_type(no_type_alias)]
fn rows() -> _ {
    let thread: AsSelect<ThreadColumns, Pg> = ThreadColumns::as_select();
    let author: AsSelect<UserView, Pg> = UserView::as_select();
    let anchor: AsSelect<Option<AnchorColumns>, Pg> = Option::<AnchorColumns>::as_select();
    let votes: diesel::expression::SqlLiteral<diesel::sql_types::BigInt> = effective_votes();
    threads::table
        .inner_join(users::table)
        .left_join(thread_anchors::table)
        .select((thread, author, anchor, votes))
}

/// What depends on the reader, or on rows beside the thread's own, for a
/// set of threads.
struct ReaderState {
    voted: HashSet<Uuid>,
    answers: HashMap<Uuid, Vec<Uuid>>,
    unread: Option<HashMap<Uuid, i64>>,
}

impl ReaderState {
    async fn read(
        conn: &mut AsyncPgConnection,
        ids: &[Uuid],
        reader: Option<Uuid>,
        with_unread: bool,
    ) -> ApiResult<Self> {
        let voted: HashSet<Uuid> = match reader {
            Some(me) => thread_votes::table
                .filter(thread_votes::user_id.eq(me))
                .filter(thread_votes::thread_id.eq_any(ids))
                .select(thread_votes::thread_id)
                .load::<Uuid>(conn)
                .await?
                .into_iter()
                .collect(),
            None => HashSet::new(),
        };
        let accepted: Vec<(Uuid, Uuid)> = thread_answers::table
            .inner_join(comments::table.on(comments::id.eq(thread_answers::comment_id)))
            .filter(thread_answers::thread_id.eq_any(ids))
            .filter(counts(comments::hidden, comments::deleted, false))
            .order((thread_answers::accepted_at.asc(), thread_answers::comment_id.asc()))
            .select((thread_answers::thread_id, thread_answers::comment_id))
            .load(conn)
            .await?;
        let mut answers: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (thread, comment) in accepted {
            answers.entry(thread).or_default().push(comment);
        }
        let unread = match (reader, with_unread) {
            (Some(me), true) => Some(crate::unread::models::thread_unread(conn, me, ids).await?),
            _ => None,
        };
        Ok(ReaderState { voted, answers, unread })
    }

    fn view(&self, viewer: Viewer, (t, author, anchor, votes): Row) -> ThreadView {
        let quote = match (t.quote_exact, t.quote_start, t.quote_end) {
            (Some(exact), Some(start), Some(end)) => Some(Quote { exact, start, end }),
            _ => None,
        };
        let author_blocked = viewer.blocks(t.author_id);
        ThreadView {
            id: t.id,
            session_id: t.session_id,
            paragraph_id: t.paragraph_id,
            title: t.title.filter(|_| !author_blocked && !author.erased),
            quote,
            author: (!author.erased).then_some(author),
            author_blocked,
            created_at: t.created_at,
            last_activity_at: t.last_activity_at,
            comment_count: t.comment_count,
            locked: t.locked,
            pinned: t.pinned,
            hidden: t.hidden,
            moderation: Moderation::shown_to(viewer, t.hidden, t.hidden_by, t.hidden_reason),
            anchor: anchor.into(),
            kind: t.kind,
            vote_count: votes,
            voted_by_me: self.voted.contains(&t.id),
            answered: t.answer_count > 0,
            answer_ids: self.answers.get(&t.id).cloned().unwrap_or_default(),
            unread_count: self.unread.as_ref().map(|u| u.get(&t.id).copied().unwrap_or(0)),
        }
    }
}

/// Whole views of `rows` for `viewer`, in their order.
async fn build(
    conn: &mut AsyncPgConnection,
    viewer: Viewer<'_>,
    rows: Vec<Row>,
    with_unread: bool,
) -> ApiResult<Vec<ThreadView>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0.id).collect();
    let state = ReaderState::read(conn, &ids, viewer.user_id, with_unread).await?;
    Ok(rows.into_iter().map(|row| state.view(viewer, row)).collect())
}

/// The thread as `viewer` sees it, for a route that has checked access
/// (after a write, say). 404 when there is no such thread.
#[tracing::instrument(skip_all)]
pub async fn one(conn: &mut AsyncPgConnection, viewer: Viewer<'_>, id: Uuid) -> ApiResult<ThreadView> {
    let row: Row = rows().filter(threads::id.eq(id)).first(conn).await?;
    one_of(conn, viewer, row).await
}

/// `GET /threads/{id}`: the caller's access and the thread as they see it;
/// 404 unless they may read the group and, for a hidden thread, moderate
/// it. The access check and the thread's row share a round trip (the
/// access query probes that row anyway); nothing of the thread is used
/// before access allows it.
#[tracing::instrument(skip_all)]
pub async fn visible(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    id: Uuid,
    show: &ShowBlocked,
) -> ApiResult<(GroupAccess, ThreadView)> {
    let (access, row) = {
        let shared: &AsyncPgConnection = conn;
        let access = access::resolve_pipelined(shared, caller, Scope::Thread(id));
        let row = rows().filter(threads::id.eq(id)).first::<Row>(&mut &*shared);
        futures_util::join!(access, row)
    };
    let access = access?;
    let row = row?;
    crate::threads::rules::check_visible(&access, row.0.hidden)?;
    let blocked = show.collapsed(conn, access.user_id).await?;
    let view = one_of(conn, Viewer::of(&access).collapsing(&blocked), row).await?;
    Ok((access, view))
}

async fn one_of(conn: &mut AsyncPgConnection, viewer: Viewer<'_>, row: Row) -> ApiResult<ThreadView> {
    build(conn, viewer, vec![row], false).await?.pop().ok_or_else(ApiError::not_found)
}

/// Threads by id as every member and every moderator of a live stream see
/// them (nobody's own vote in either): `(member's, moderator's)`.
#[tracing::instrument(skip_all)]
pub async fn for_live(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, (ThreadView, ThreadView)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Row> = rows().filter(threads::id.eq_any(ids)).load(conn).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0.id).collect();
    let state = ReaderState::read(conn, &ids, None, false).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let moderator = state.view(Viewer::MODERATORS, row.clone());
            (row.0.id, (state.view(Viewer::MEMBERS, row), moderator))
        })
        .collect())
}

/// Thread views are not kept, but live events carry them: every column
/// read here that changes must append an event (`threads_events_update`,
/// `thread_anchors_events`) or reach readers another way, said here.
pub fn reads() -> Reads {
    Reads::new("thread")
        .query(&rows())
        .columns(&[
            "thread_votes.thread_id",
            "thread_votes.user_id",
            "thread_votes.group_id",
            "bans.group_id",
            "bans.user_id",
            "bans.expires_at",
            "thread_answers.thread_id",
            "thread_answers.comment_id",
            "thread_answers.accepted_at",
            "comments.hidden",
            "comments.deleted",
        ])
        .fixed(&[
            "threads.id",
            "threads.session_id",
            "threads.author_id",
            "threads.created_at",
            "threads.kind",
            "thread_anchors.thread_id",
            "users.id",
            "users.created_at",
            "thread_votes.thread_id",
            "thread_votes.user_id",
            "thread_votes.group_id",
            "thread_answers.thread_id",
            "thread_answers.comment_id",
            "thread_answers.accepted_at",
            "bans.group_id",
            "bans.user_id",
        ])
        .follows(&[
            ("threads.hidden_by", "set by hiding and restoring, with threads.hidden"),
            ("threads.hidden_reason", "set by hiding and restoring, with threads.hidden"),
            ("threads.comment_count", "moved only by comments, whose changes append comment events"),
            ("threads.last_activity_at", "moved only by posting, which appends comment.created"),
            ("thread_anchors.confidence", "set with thread_anchors.status"),
            ("thread_anchors.original_quote", "set with thread_anchors.status"),
            ("thread_anchors.revision", "set by a revision, which appends essay.revised"),
            ("bans.expires_at", "bans append access.changed; vote counts follow on the thread's next event"),
        ])
}
