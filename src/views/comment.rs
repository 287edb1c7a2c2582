//! A comment as one reader sees it: the one place a `CommentView` is made.
//!
//! Members see tombstones (`body: null`) for deleted and hidden comments;
//! moderators see everything, with who hid it and why. A reader who blocks
//! the author gets the comment collapsed (`author_blocked: true`, `body:
//! null`, the author kept) unless they asked to see it. Pages of comments
//! are kept by version (`crate::sessions::answers`), so what is read here is
//! declared in [`reads`].

use chrono::{DateTime, Utc};
use diesel::dsl::AsSelect;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Moderation, Reads, UserView, Viewer};
use crate::comments::Comment;
use crate::error::ApiResult;
use crate::schema::{comments, users};

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    id: Uuid,
    thread_id: Uuid,
    parent_id: Option<Uuid>,
    /// 0 for a comment on the thread itself, at most 8.
    depth: i16,
    /// Null when the author deleted their account with its words.
    author: Option<UserView>,
    /// Markdown as written; null when deleted or hidden (moderators see
    /// it), when `author_blocked`, and for everyone once its author erased it.
    body: Option<String>,
    /// Whether the reader blocks the author: then `body` is null unless the
    /// read asked `show_blocked=true` (always false for everyone else).
    author_blocked: bool,
    created_at: DateTime<Utc>,
    edited_at: Option<DateTime<Utc>>,
    deleted: bool,
    hidden: bool,
    /// Present for moderators when the comment is hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    moderation: Option<Moderation>,
}

impl CommentView {
    /// From a row read with its author (`comments` joined to `users`,
    /// selecting `(Comment::as_select(), UserView::as_select())`): a comment
    /// needs nothing else, so rows read by a write (posting) build it too.
    /// An erased author's comment is a tombstone to everyone at once, before
    /// the erasure has reached its row.
    pub fn of(viewer: Viewer, c: Comment, author: UserView) -> Self {
        let erased = author.erased;
        let author_blocked = viewer.blocks(c.author_id);
        let visible = !erased && (viewer.moderator || !(c.deleted || c.hidden)) && !author_blocked;
        CommentView {
            id: c.id,
            thread_id: c.thread_id,
            parent_id: c.parent_id,
            depth: c.depth,
            author: (!erased).then_some(author),
            body: visible.then_some(c.body),
            author_blocked,
            created_at: c.created_at,
            edited_at: c.edited_at,
            deleted: c.deleted || erased,
            hidden: c.hidden,
            moderation: Moderation::shown_to(viewer, c.hidden, c.hidden_by, c.hidden_reason),
        }
    }
}

#[diesel::dsl::auto_type(no_type_alias)]
fn with_author() -> _ {
    let comment: AsSelect<Comment, Pg> = Comment::as_select();
    let author: AsSelect<UserView, Pg> = UserView::as_select();
    comments::table.inner_join(users::table).select((comment, author))
}

/// One comment with its author, as `viewer` sees it (no access check:
/// the caller has made it).
#[tracing::instrument(skip_all)]
pub async fn one(conn: &mut AsyncPgConnection, viewer: Viewer<'_>, id: Uuid) -> ApiResult<CommentView> {
    let (c, author) = with_author().filter(comments::id.eq(id)).first(conn).await?;
    Ok(CommentView::of(viewer, c, author))
}

/// Comments by id with their authors, as each of `viewers` sees them
/// (live events render members' and moderators' views of one batch).
#[tracing::instrument(skip_all)]
pub async fn rows(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> ApiResult<Vec<(Comment, UserView)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(with_author().filter(comments::id.eq_any(ids)).load(conn).await?)
}

/// A page of a thread's comments in tree order, after the `sort_key` `after`
/// (`limit + 1` rows: the last says another page exists).
#[tracing::instrument(skip_all)]
pub async fn page_rows(
    conn: &mut AsyncPgConnection,
    thread_id: Uuid,
    after: Option<&str>,
    limit: i64,
) -> ApiResult<Vec<(Comment, UserView)>> {
    Ok(with_author()
        .filter(comments::thread_id.eq(thread_id))
        .filter(comments::sort_key.gt(after.unwrap_or_default().to_owned()))
        .order(comments::sort_key.asc())
        .limit(limit + 1)
        .load(conn)
        .await?)
}

/// A kept comment page is named by its session's events and the
/// `profiles` watermark: every column read here that changes must append
/// an event (`comments_events_update`) or, for authors, move the watermark
/// (declared in [`super::user::reads`]).
pub fn reads() -> Reads {
    Reads::new("comment")
        .query(&with_author())
        .fixed(&[
            "comments.id",
            "comments.thread_id",
            "comments.parent_id",
            "comments.depth",
            "comments.sort_key",
            "comments.author_id",
            "comments.created_at",
            "users.id",
            "users.created_at",
        ])
        .follows(&[
            ("comments.edited_at", "set by every edit, with comments.body"),
            ("comments.hidden_by", "set by hiding and restoring, with comments.hidden"),
            ("comments.hidden_reason", "set by hiding and restoring, with comments.hidden"),
        ])
}
