//! A session's threads, a page at a time, as one reader sees them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::{build, effective_votes, rows, Row, ThreadView};
use crate::error::ApiResult;
use crate::essays::revise::AnchorStatus;
use crate::http::pages::keyset;
use crate::http::Page;
use crate::schema::{thread_anchors, threads};
use crate::threads::models::ThreadKind;
use crate::views::Viewer;

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
}

/// A page of the session's threads; hidden ones for moderators only, and
/// unread counts for signed-in readers.
#[tracing::instrument(skip_all)]
pub async fn page(
    conn: &mut AsyncPgConnection,
    viewer: Viewer<'_>,
    session_id: Uuid,
    listing: ThreadListing,
    after: Option<ThreadAfter>,
    limit: i64,
) -> ApiResult<Page<ThreadView>> {
    let mut query = rows().filter(threads::session_id.eq(session_id)).limit(limit + 1).into_boxed();
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
        query = query.filter(thread_anchors::status.eq(status));
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
    if !viewer.moderator {
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
    let found: Vec<Row> = query.load(conn).await?;
    let page = Page::from_rows(found, limit, |(t, _, _, votes)| match listing.sort {
        ThreadSort::Activity => ThreadAfter::Activity((t.pinned, t.last_activity_at, t.id)),
        ThreadSort::Votes => ThreadAfter::Votes((t.pinned, *votes, t.id)),
        ThreadSort::New => ThreadAfter::New((t.pinned, t.created_at, t.id)),
    });
    let items = build(conn, viewer, page.items, true).await?;
    Ok(Page { items, next_cursor: page.next_cursor })
}
