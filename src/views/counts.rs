//! A session's paragraphs with their counts, as one reader sees them
//! (`/counts`, `/paragraphs` and the live `counts` event): the one place
//! these views are made. The counters are kept by the triggers in
//! `src/db/replaceable/triggers.sql` (the one "is counted" rule) and only
//! read here, so a read costs one index range scan however many comments
//! the session holds. Both routes' answers are kept by version
//! (`crate::versions`), so what they read is declared in [`reads`].

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Reads;
use crate::error::ApiResult;
use crate::schema::{paragraph_counts as pc, paragraphs, reading_sessions as rs};
use crate::versions::session::SessionRead;

#[derive(Debug, Serialize, ToSchema)]
pub struct ParagraphCount {
    paragraph_id: Uuid,
    position: i32,
    thread_count: i32,
    comment_count: i32,
    /// Question threads that count and have no accepted answer that counts.
    open_question_count: i32,
    /// Signed-in callers only: comments that count, by others, newer than
    /// the caller's read mark in their thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    unread_count: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParagraphWithCounts {
    paragraph_id: Uuid,
    position: i32,
    text: String,
    thread_count: i32,
    comment_count: i32,
    /// Question threads that count and have no accepted answer that counts.
    open_question_count: i32,
    /// Signed-in callers only: comments that count, by others, newer than
    /// the caller's read mark in their thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    unread_count: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCounts {
    session_id: Uuid,
    paragraphs: Vec<ParagraphCount>,
    /// Threads left on paragraphs an essay revision retired, by the same
    /// rule: the paragraph totals plus these equal every counted thread and
    /// comment of the session.
    orphaned: OrphanedCounts,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct OrphanedCounts {
    thread_count: i32,
    comment_count: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionParagraphs {
    session_id: Uuid,
    paragraphs: Vec<ParagraphWithCounts>,
}

/// The session's paragraphs in essay order, and the retired paragraphs that
/// still hold counted threads (the orphans), last, each beside its counter
/// row if it has one; select [`counters`] (and whatever else is wanted).
#[diesel::dsl::auto_type]
fn paragraph_rows(session_id: Uuid) -> _ {
    rs::table
        .inner_join(paragraphs::table.on(paragraphs::essay_id.eq(rs::essay_id)))
        .left_join(pc::table.on(pc::session_id.eq(rs::id).and(pc::paragraph_id.eq(paragraphs::id))))
        .filter(rs::id.eq(session_id))
        .filter(paragraphs::retired_in.is_null().or(pc::thread_count.nullable().gt(0_i32)))
        .order((paragraphs::retired_in.is_not_null().asc(), paragraphs::position.asc()))
}

/// The [`Counters`] of [`paragraph_rows`].
#[diesel::dsl::auto_type]
fn counters() -> _ {
    (
        paragraphs::id,
        paragraphs::position,
        paragraphs::retired_in.is_not_null(),
        pc::thread_count.nullable(),
        pc::comment_count.nullable(),
        pc::open_question_count.nullable(),
    )
}

type Counters = (Uuid, i32, bool, Option<i32>, Option<i32>, Option<i32>);

/// A reader's unread counts by paragraph.
enum Unread {
    /// Anonymous readers have none.
    NotSignedIn,
    /// No thread of the session marked read: every counted comment.
    Everything,
    /// The reader's seen counts by paragraph: the counted comments less
    /// these are unread ("UNREAD BY ARITHMETIC", src/db/replaceable/triggers.sql).
    Seen(HashMap<Uuid, i64>),
}

impl Unread {
    fn of(&self, paragraph_id: Uuid, counted_comments: Option<i32>) -> Option<i64> {
        match self {
            Unread::NotSignedIn => None,
            Unread::Everything => Some(i64::from(narrow(counted_comments))),
            Unread::Seen(seen) => {
                Some(i64::from(narrow(counted_comments)) - seen.get(&paragraph_id).copied().unwrap_or(0))
            }
        }
    }
}

/// The paragraph rows and the reader's unread counts: two statements in one
/// round trip, sent once the caller may read the session, or one when the
/// reader has marked nothing read.
async fn with_unread<R: Send>(
    conn: &AsyncPgConnection,
    read: &SessionRead,
    session_id: Uuid,
    rows: impl std::future::Future<Output = QueryResult<Vec<R>>>,
) -> ApiResult<(Vec<R>, Unread)> {
    let unread = async {
        match read.access.user_id {
            None => Ok(Unread::NotSignedIn),
            Some(_) if !read.has_read_marks => Ok(Unread::Everything),
            Some(user_id) => crate::unread::paragraph_seen(conn, user_id, session_id).await.map(Unread::Seen),
        }
    };
    let (rows, unread) = futures_util::join!(rows, unread);
    Ok((rows?, unread?))
}

fn narrow(n: Option<i32>) -> i32 {
    n.unwrap_or(0)
}

/// Every paragraph of the session's essay in order, zeros included, and the
/// orphans' bucket, for a caller allowed to read the session.
pub async fn counts(
    conn: &mut AsyncPgConnection,
    read: &SessionRead,
    session_id: Uuid,
) -> ApiResult<SessionCounts> {
    let pipe: &AsyncPgConnection = conn;
    let rows = paragraph_rows(session_id).select((counters(),)).load(&mut &*pipe);
    let (rows, unread): (Vec<(Counters,)>, _) = with_unread(pipe, read, session_id, rows).await?;
    let mut orphaned = OrphanedCounts::default();
    let mut paragraphs = Vec::with_capacity(rows.len());
    for ((id, position, retired, threads, comments, questions),) in rows {
        if retired {
            orphaned.thread_count += narrow(threads);
            orphaned.comment_count += narrow(comments);
            continue;
        }
        paragraphs.push(ParagraphCount {
            paragraph_id: id,
            position,
            thread_count: narrow(threads),
            comment_count: narrow(comments),
            open_question_count: narrow(questions),
            unread_count: unread.of(id, comments),
        });
    }
    Ok(SessionCounts { session_id, paragraphs, orphaned })
}

/// Every current paragraph with its text and counts, for a caller allowed
/// to read the session.
pub async fn paragraphs(
    conn: &mut AsyncPgConnection,
    read: &SessionRead,
    session_id: Uuid,
) -> ApiResult<SessionParagraphs> {
    let pipe: &AsyncPgConnection = conn;
    let rows = paragraph_rows(session_id).select((counters(), paragraphs::text)).load(&mut &*pipe);
    let (rows, unread): (Vec<(Counters, String)>, _) = with_unread(pipe, read, session_id, rows).await?;
    let paragraphs = rows
        .into_iter()
        .filter(|((_, _, retired, ..), _)| !retired)
        .map(|((id, position, _, threads, comments, questions), text)| ParagraphWithCounts {
            paragraph_id: id,
            position,
            text,
            thread_count: narrow(threads),
            comment_count: narrow(comments),
            open_question_count: narrow(questions),
            unread_count: unread.of(id, comments),
        })
        .collect();
    Ok(SessionParagraphs { session_id, paragraphs })
}

/// The live `counts` event's paragraphs: the `touched` ones' current
/// counters, shared by every reader, so without anyone's `unread_count` (a
/// reader's own unread counts come from `/counts`).
#[tracing::instrument(skip_all)]
pub async fn for_live(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    touched: &[Uuid],
) -> ApiResult<Vec<ParagraphCount>> {
    // paragraph, position, threads, comments, open questions
    type Row = (Uuid, i32, Option<i32>, Option<i32>, Option<i32>);
    let rows: Vec<Row> = paragraphs::table
        .left_join(pc::table.on(pc::paragraph_id.eq(paragraphs::id).and(pc::session_id.eq(session_id))))
        .filter(paragraphs::id.eq_any(touched))
        .order(paragraphs::position.asc())
        .select((
            paragraphs::id,
            paragraphs::position,
            pc::thread_count.nullable(),
            pc::comment_count.nullable(),
            pc::open_question_count.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(paragraph_id, position, threads, comments, open_questions)| ParagraphCount {
            paragraph_id,
            position,
            thread_count: narrow(threads),
            comment_count: narrow(comments),
            open_question_count: narrow(open_questions),
            unread_count: None,
        })
        .collect())
}

/// How a paragraph's text and counters reach kept reads: every view that
/// reads them (this one, the session report) declares these.
pub const PARAGRAPHS_FOLLOW: &[(&str, &str)] = &[
    ("paragraphs.position", "set by a revision, which appends essay.revised"),
    ("paragraphs.text", "set by a revision, which appends essay.revised"),
    ("paragraphs.retired_in", "set by a revision, which appends essay.revised"),
    ("paragraph_counts.thread_count", "moved only with a thread event, in the same transaction"),
    ("paragraph_counts.comment_count", "moved only with a comment or thread event, in the same transaction"),
    (
        "paragraph_counts.open_question_count",
        "moved only with a thread or comment event, in the same transaction",
    ),
];

/// Kept by version: the counters change only with the events their
/// writers append (comment and thread events, each in the writer's
/// transaction), paragraphs only with a revision (`essay.revised`); a
/// reader's unread counts are versioned by their own seen counts.
pub fn reads() -> Reads {
    Reads::new("session counts and paragraphs")
        .query(&paragraph_rows(Uuid::nil()).select((counters(), paragraphs::text)))
        .columns(&[
            "paragraph_reads.user_id",
            "paragraph_reads.session_id",
            "paragraph_reads.paragraph_id",
            "paragraph_reads.seen",
        ])
        .fixed(&[
            "reading_sessions.id",
            "reading_sessions.essay_id",
            "paragraphs.id",
            "paragraphs.essay_id",
            "paragraph_counts.session_id",
            "paragraph_counts.paragraph_id",
            "paragraph_reads.user_id",
            "paragraph_reads.session_id",
            "paragraph_reads.paragraph_id",
        ])
        .follows(PARAGRAPHS_FOLLOW)
        .follows(&[(
            "paragraph_reads.seen",
            "raised by the reader's own marks, counted into the version (versions::session); moved \
             otherwise only with a comment or thread event, in the same transaction",
        )])
}
