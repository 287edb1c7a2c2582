use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::anchor::AnchorView;
use super::anchors::Quote;
use crate::error::ApiResult;
use crate::essays::revise::AnchorStatus;
use crate::http::pages::keyset;
use crate::schema::{comments, thread_anchors, threads, users};
use crate::users::UserView;

crate::db_enum! {
    /// A discussion, or a question that can be voted on and answered.
    #[derive(Default)]
    pub enum ThreadKind {
        #[default]
        Discussion,
        Question,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = threads)]
pub struct Thread {
    pub id: Uuid,
    pub session_id: Uuid,
    pub paragraph_id: Uuid,
    pub author_id: Uuid,
    pub title: Option<String>,
    pub quote_exact: Option<String>,
    pub quote_start: Option<i32>,
    pub quote_end: Option<i32>,
    pub locked: bool,
    pub pinned: bool,
    pub hidden: bool,
    pub hidden_by: Option<Uuid>,
    pub hidden_reason: Option<String>,
    pub comment_count: i32,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub kind: ThreadKind,
    /// Every stored vote, banned voters' included (see `crate::questions`).
    pub vote_count: i32,
    /// Accepted answers whose comment counts.
    pub answer_count: i32,
}

/// Who hid something and why: shown to moderators only.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Moderation {
    pub hidden_by: Option<Uuid>,
    pub hidden_reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub paragraph_id: Uuid,
    pub title: Option<String>,
    pub quote: Option<Quote>,
    pub author: UserView,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    /// Comments that are neither hidden nor deleted, the opening one included.
    pub comment_count: i32,
    pub locked: bool,
    pub pinned: bool,
    pub hidden: bool,
    /// Present for moderators when the thread is hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Moderation>,
    /// How the quote sits in the current text (essay revisions move it).
    pub anchor: AnchorView,
    pub kind: ThreadKind,
    /// Votes of members who are not banned.
    pub vote_count: i64,
    /// Whether the caller has voted (false for anonymous callers).
    pub voted_by_me: bool,
    /// Whether an accepted answer counts (is neither hidden nor deleted).
    /// Always false for discussions.
    pub answered: bool,
    /// The accepted answers that count, oldest acceptance first.
    pub answer_ids: Vec<Uuid>,
    /// Comments that count, by others, newer than the caller's read mark:
    /// in thread lists, for signed-in callers only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
}

impl ThreadView {
    pub fn new(t: Thread, author: UserView, moderator: bool) -> Self {
        let quote = match (t.quote_exact, t.quote_start, t.quote_end) {
            (Some(exact), Some(start), Some(end)) => Some(Quote { exact, start, end }),
            _ => None,
        };
        let moderation = (moderator && t.hidden)
            .then(|| Moderation { hidden_by: t.hidden_by, hidden_reason: t.hidden_reason.clone() });
        ThreadView {
            id: t.id,
            session_id: t.session_id,
            paragraph_id: t.paragraph_id,
            title: t.title,
            quote,
            author,
            created_at: t.created_at,
            last_activity_at: t.last_activity_at,
            comment_count: t.comment_count,
            locked: t.locked,
            pinned: t.pinned,
            hidden: t.hidden,
            moderation,
            // Filled in by `super::anchor::fill`.
            anchor: AnchorView::default(),
            kind: t.kind,
            // The reader state (banned voters, the caller's vote, which
            // answers) comes from `crate::questions::decorate`.
            vote_count: t.vote_count.into(),
            voted_by_me: false,
            answered: t.answer_count > 0,
            answer_ids: Vec::new(),
            unread_count: None,
        }
    }
}

/// `QueryableByName` too: posting reads it back from `r.post_comments`.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = comments)]
pub struct Comment {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub depth: i16,
    pub sort_key: String,
    pub author_id: Uuid,
    pub body: String,
    pub deleted: bool,
    pub hidden: bool,
    pub hidden_by: Option<Uuid>,
    pub hidden_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub parent_id: Option<Uuid>,
    /// 0 for a comment on the thread itself, at most 8.
    pub depth: i16,
    pub author: UserView,
    /// Markdown as written; null when deleted or hidden (moderators see it).
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub hidden: bool,
    /// Present for moderators when the comment is hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Moderation>,
}

impl CommentView {
    /// Members see tombstones (`body: null`) for deleted and hidden comments;
    /// moderators see everything, with who hid it and why.
    pub fn new(c: Comment, author: UserView, moderator: bool) -> Self {
        let visible = moderator || !(c.deleted || c.hidden);
        let moderation = (moderator && c.hidden)
            .then(|| Moderation { hidden_by: c.hidden_by, hidden_reason: c.hidden_reason.clone() });
        CommentView {
            id: c.id,
            thread_id: c.thread_id,
            parent_id: c.parent_id,
            depth: c.depth,
            author,
            body: visible.then_some(c.body),
            created_at: c.created_at,
            edited_at: c.edited_at,
            deleted: c.deleted,
            hidden: c.hidden,
            moderation,
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn find_thread(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<(Thread, UserView)> {
    find_thread_pipelined(conn, id).await
}

/// [`find_thread`] as a future that can share a round trip with others.
pub fn find_thread_pipelined(
    conn: &AsyncPgConnection,
    id: Uuid,
) -> futures_util::future::BoxFuture<'_, ApiResult<(Thread, UserView)>> {
    let query = threads::table
        .inner_join(users::table)
        .filter(threads::id.eq(id))
        .select((Thread::as_select(), UserView::as_select()))
        .first(&mut &*conn);
    Box::pin(async move { Ok(query.await?) })
}

#[tracing::instrument(skip_all)]
pub async fn find_comment(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<(Comment, UserView)> {
    Ok(comments::table
        .inner_join(users::table)
        .filter(comments::id.eq(id))
        .select((Comment::as_select(), UserView::as_select()))
        .first(conn)
        .await?)
}

/// Keyset position in a thread list sorted by activity: pinned first, then latest activity.
pub type ThreadKey = (bool, DateTime<Utc>, Uuid);
/// Keyset position in a thread list sorted by votes (the count banned voters excluded).
pub type VotesKey = (bool, i64, Uuid);

crate::db_enum! {
    /// How a thread list is sorted; pinned threads always come first.
    #[derive(Default)]
    pub enum ThreadSort {
        /// Latest activity first.
        #[default]
        Activity,
        /// Most votes first (votes of banned members not counted), then newest.
        Votes,
        /// Newest thread first.
        New,
    }
}

/// Where a page of a thread list starts; the variant matches the sort (and
/// is serialised as its bare key, the cursor's content).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum ThreadAfter {
    Activity(ThreadKey),
    Votes(VotesKey),
    New(ThreadKey),
}

/// What a thread list shows, besides its session.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadListing {
    pub paragraph_id: Option<Uuid>,
    pub kind: Option<ThreadKind>,
    /// Some: questions only, answered or not.
    pub answered: Option<bool>,
    /// Some: only threads whose anchor has this status.
    pub anchor: Option<AnchorStatus>,
    pub sort: ThreadSort,
    pub include_hidden: bool,
}

/// A thread's votes without those of members whose ban is live, in SQL:
/// the stored count minus a probe per live ban of the group (bans are few,
/// and a ban that ends by itself needs no trigger this way).
pub fn effective_votes() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql(
        "(threads.vote_count - (SELECT count(*) FROM thread_votes v JOIN r.live_bans b \
           ON b.group_id = v.group_id AND b.user_id = v.user_id \
          WHERE v.thread_id = threads.id))",
    )
}

#[tracing::instrument(skip_all)]
pub async fn list_threads(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    listing: ThreadListing,
    after: Option<ThreadAfter>,
    limit: i64,
) -> ApiResult<Vec<(Thread, UserView, i64)>> {
    let mut query = threads::table
        .inner_join(users::table)
        .filter(threads::session_id.eq(session_id))
        .select((Thread::as_select(), UserView::as_select(), effective_votes()))
        .limit(limit + 1)
        .into_boxed();
    query = match listing.sort {
        ThreadSort::Activity => {
            query.order((threads::pinned.desc(), threads::last_activity_at.desc(), threads::id.desc()))
        }
        ThreadSort::Votes => {
            query.order((threads::pinned.desc(), effective_votes().desc(), threads::id.desc()))
        }
        ThreadSort::New => {
            query.order((threads::pinned.desc(), threads::created_at.desc(), threads::id.desc()))
        }
    };
    if let Some(paragraph_id) = listing.paragraph_id {
        query = query.filter(threads::paragraph_id.eq(paragraph_id));
    }
    if let Some(status) = listing.anchor {
        let anchored =
            thread_anchors::table.filter(thread_anchors::status.eq(status)).select(thread_anchors::thread_id);
        query = query.filter(threads::id.eq_any(anchored));
    }
    if let Some(kind) = listing.kind {
        query = query.filter(threads::kind.eq(kind));
    }
    if let Some(answered) = listing.answered {
        query = query.filter(threads::kind.eq(ThreadKind::Question));
        query = if answered {
            query.filter(threads::answer_count.gt(0))
        } else {
            query.filter(threads::answer_count.eq(0))
        };
    }
    if !listing.include_hidden {
        query = query.filter(threads::hidden.eq(false));
    }
    query =
        match after {
            None => query,
            Some(ThreadAfter::Activity((pinned, at, id))) => query.filter(
                keyset!(<, threads::pinned => pinned, threads::last_activity_at => at, threads::id => id),
            ),
            Some(ThreadAfter::Votes((pinned, votes, id))) => query
                .filter(keyset!(<, threads::pinned => pinned, effective_votes() => votes, threads::id => id)),
            Some(ThreadAfter::New((pinned, at, id))) => query
                .filter(keyset!(<, threads::pinned => pinned, threads::created_at => at, threads::id => id)),
        };
    Ok(query.load(conn).await?)
}

/// A page of a thread's comments in tree order, after the `sort_key` `after`.
#[tracing::instrument(skip_all)]
pub async fn list_comments(
    conn: &mut AsyncPgConnection,
    thread_id: Uuid,
    after: Option<String>,
    limit: i64,
) -> ApiResult<Vec<(Comment, UserView)>> {
    let after = after.unwrap_or_default();
    Ok(comments::table
        .inner_join(users::table)
        .filter(comments::thread_id.eq(thread_id))
        .filter(comments::sort_key.gt(after))
        .order(comments::sort_key.asc())
        .limit(limit + 1)
        .select((Comment::as_select(), UserView::as_select()))
        .load(conn)
        .await?)
}
