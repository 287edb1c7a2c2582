//! Reading the per-paragraph counters. They are kept by the triggers in
//! `src/db/replaceable/triggers.sql` (the one "is counted" rule) and only read
//! here, so a read costs one index range scan however many comments the
//! session holds.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{self, AccessRow, GroupAccess};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::schema::{groups, paragraph_counts as pc, paragraphs, reading_sessions as rs};

#[derive(Debug, Serialize, ToSchema)]
pub struct ParagraphCount {
    pub paragraph_id: Uuid,
    pub position: i32,
    pub thread_count: i32,
    pub comment_count: i32,
    /// Question threads that count and have no accepted answer that counts.
    pub open_question_count: i32,
    /// Signed-in callers only: comments that count, by others, newer than
    /// the caller's read mark in their thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParagraphWithCounts {
    pub paragraph_id: Uuid,
    pub position: i32,
    pub text: String,
    pub thread_count: i32,
    pub comment_count: i32,
    /// Question threads that count and have no accepted answer that counts.
    pub open_question_count: i32,
    /// Signed-in callers only: comments that count, by others, newer than
    /// the caller's read mark in their thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_count: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCounts {
    pub session_id: Uuid,
    pub paragraphs: Vec<ParagraphCount>,
    /// Threads left on paragraphs an essay revision retired, by the same
    /// rule: the paragraph totals plus these equal every counted thread and
    /// comment of the session.
    pub orphaned: OrphanedCounts,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OrphanedCounts {
    pub thread_count: i32,
    pub comment_count: i32,
}

/// The counter rows of retired paragraphs, summed: the orphans' bucket.
pub async fn orphaned(conn: &mut AsyncPgConnection, session_id: Uuid) -> ApiResult<OrphanedCounts> {
    let (threads, comments): (Option<i64>, Option<i64>) = pc::table
        .inner_join(paragraphs::table)
        .filter(pc::session_id.eq(session_id))
        .filter(paragraphs::retired_in.is_not_null())
        .select((diesel::dsl::sum(pc::thread_count), diesel::dsl::sum(pc::comment_count)))
        .first(conn)
        .await?;
    let narrow = |n: Option<i64>| i32::try_from(n.unwrap_or(0)).unwrap_or(i32::MAX);
    Ok(OrphanedCounts { thread_count: narrow(threads), comment_count: narrow(comments) })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionParagraphs {
    pub session_id: Uuid,
    pub paragraphs: Vec<ParagraphWithCounts>,
}

/// The session's paragraphs in essay order, after the caller's access to
/// the session's group, in one query (one prepared statement, one round
/// trip): the access facts of [`access::groups_with_caller`] repeat on every
/// row and [`access::decide`] rules on them. `None` when there is no such
/// session; the caller still applies `require_read`.
macro_rules! session_rows {
    ($conn:expr, $caller:expr, $session_id:expr, ($($column:expr),+ $(,)?)) => {{
        let (uid, ver) = access::caller_key($caller);
        access::groups_with_caller(uid, ver)
            .inner_join(rs::table.on(rs::group_id.eq(groups::id)))
            .left_join(
                paragraphs::table
                    .on(paragraphs::essay_id.eq(rs::essay_id).and(paragraphs::retired_in.is_null())),
            )
            .left_join(pc::table.on(pc::session_id.eq(rs::id).and(pc::paragraph_id.eq(paragraphs::id))))
            .filter(rs::id.eq($session_id))
            .order(paragraphs::position.asc())
            .select((access::caller_columns(), ($($column),+)))
            .load($conn)
            .await?
    }};
}

/// Splits the rows of [`session_rows`] into the caller's access and the
/// paragraphs: 404 for no session, 401 for a revoked token.
fn split<T, P>(
    caller: Option<&Caller>,
    rows: Vec<(AccessRow, T)>,
    paragraph: impl Fn(T) -> Option<P>,
) -> ApiResult<(GroupAccess, Vec<P>)> {
    let mut rows = rows.into_iter();
    let Some((row, first)) = rows.next() else {
        return Err(ApiError::not_found());
    };
    let access = access::decide(caller.is_some(), row)?;
    let paragraphs = std::iter::once(first).chain(rows.map(|(_, t)| t)).filter_map(paragraph).collect();
    Ok((access, paragraphs))
}

/// The access decision alone, before any paragraph is read: a 404 for a
/// private session then costs what a 404 for a random id costs, whatever the
/// essay's length (no timing oracle). One small extra round trip; the
/// paragraph query below repeats the access columns and is ruled on again.
async fn readable(conn: &mut AsyncPgConnection, caller: Option<&Caller>, session_id: Uuid) -> ApiResult<()> {
    let (uid, ver) = access::caller_key(caller);
    let row: Option<AccessRow> = access::groups_with_caller(uid, ver)
        .inner_join(rs::table.on(rs::group_id.eq(groups::id)))
        .filter(rs::id.eq(session_id))
        .select(access::caller_columns())
        .first(conn)
        .await
        .optional()?;
    let row = row.ok_or_else(ApiError::not_found)?;
    access::decide(caller.is_some(), row)?.require_read()
}

/// The signed-in reader's unread comments per paragraph, once the caller may
/// read the session; `None` for anonymous callers (who get no unread counts).
async fn unread_for(
    conn: &mut AsyncPgConnection,
    access: &GroupAccess,
    session_id: Uuid,
) -> ApiResult<Option<HashMap<Uuid, i64>>> {
    match access.user_id {
        Some(user_id) if access.can_read() => {
            Ok(Some(crate::unread::paragraph_unread(conn, user_id, session_id).await?))
        }
        _ => Ok(None),
    }
}

fn unread_of(unread: &Option<HashMap<Uuid, i64>>, paragraph_id: Uuid) -> Option<i64> {
    unread.as_ref().map(|u| u.get(&paragraph_id).copied().unwrap_or(0))
}

/// Every paragraph of the session's essay in order, zeros included, with the
/// caller's access to it.
pub async fn counts(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    session_id: Uuid,
) -> ApiResult<(GroupAccess, Vec<ParagraphCount>)> {
    readable(conn, caller, session_id).await?;
    type Row = (AccessRow, (Option<Uuid>, Option<i32>, Option<i32>, Option<i32>, Option<i32>));
    let rows: Vec<Row> = session_rows!(
        conn,
        caller,
        session_id,
        (
            paragraphs::id.nullable(),
            paragraphs::position.nullable(),
            pc::thread_count.nullable(),
            pc::comment_count.nullable(),
            pc::open_question_count.nullable(),
        )
    );
    let (access, mut paragraphs) = split(caller, rows, |(id, position, threads, comments, questions)| {
        Some(ParagraphCount {
            paragraph_id: id?,
            position: position?,
            thread_count: threads.unwrap_or(0),
            comment_count: comments.unwrap_or(0),
            open_question_count: questions.unwrap_or(0),
            unread_count: None,
        })
    })?;
    let unread = unread_for(conn, &access, session_id).await?;
    for p in &mut paragraphs {
        p.unread_count = unread_of(&unread, p.paragraph_id);
    }
    Ok((access, paragraphs))
}

/// Every paragraph with its text and counts, with the caller's access to it.
pub async fn paragraphs_with_counts(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    session_id: Uuid,
) -> ApiResult<(GroupAccess, Vec<ParagraphWithCounts>)> {
    readable(conn, caller, session_id).await?;
    type Row =
        (AccessRow, (Option<Uuid>, Option<i32>, Option<String>, Option<i32>, Option<i32>, Option<i32>));
    let rows: Vec<Row> = session_rows!(
        conn,
        caller,
        session_id,
        (
            paragraphs::id.nullable(),
            paragraphs::position.nullable(),
            paragraphs::text.nullable(),
            pc::thread_count.nullable(),
            pc::comment_count.nullable(),
            pc::open_question_count.nullable(),
        )
    );
    let (access, mut paragraphs) =
        split(caller, rows, |(id, position, text, threads, comments, questions)| {
            Some(ParagraphWithCounts {
                paragraph_id: id?,
                position: position?,
                text: text?,
                thread_count: threads.unwrap_or(0),
                comment_count: comments.unwrap_or(0),
                open_question_count: questions.unwrap_or(0),
                unread_count: None,
            })
        })?;
    let unread = unread_for(conn, &access, session_id).await?;
    for p in &mut paragraphs {
        p.unread_count = unread_of(&unread, p.paragraph_id);
    }
    Ok((access, paragraphs))
}
