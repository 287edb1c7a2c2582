//! The organiser's report on a session (`GET /sessions/{id}/report`): the
//! one place a `SessionReport` is made.
//!
//! It counts exactly what `/counts` counts (the counting rule, `r.counts`):
//! the thread, comment and open-question numbers are the counters the
//! triggers keep (src/db/replaceable/triggers.sql), read as `/counts` reads
//! them; the totals add the paragraphs and the orphans (threads left on
//! paragraphs a revision retired), as `/counts` does with its `orphaned`
//! bucket. Question threads are counted from the session's threads, and
//! who took part and when from one grouped pass over its counted comments
//! (people.sql). The whole answer is kept by version (src/versions/
//! session.rs), so that pass runs once per change to the session, not once
//! per request.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ThreadView, UserView, Viewer};
use crate::error::{ApiError, ApiResult};
use crate::schema::users;
use crate::sessions::models::SessionView;
use crate::threads::models::ThreadKind;
use crate::views::thread::list::{self, ThreadListing, ThreadSort};

/// Characters of a paragraph's text shown as its excerpt.
pub const EXCERPT_CHARS: usize = 160;
/// Open questions listed at most (newest first); `totals.open_questions` counts them all.
pub const OPEN_QUESTIONS_SHOWN: i64 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionReport {
    session: SessionView,
    totals: ReportTotals,
    /// Every current paragraph in essay order, zeros included.
    paragraphs: Vec<ReportParagraph>,
    /// Question threads that count and have no accepted answer that counts,
    /// newest first (at most 100).
    open_questions: Vec<ThreadView>,
    /// Everyone with a counted thread or comment in the session, most
    /// comments first.
    participation: Vec<Participation>,
    /// Counted comments per UTC hour in which there were any, oldest first.
    activity: Vec<HourActivity>,
}

/// The whole session by the counting rule, orphaned threads included: the
/// paragraphs' numbers plus `/counts`' `orphaned` bucket.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ReportTotals {
    threads: i64,
    comments: i64,
    questions: i64,
    open_questions: i64,
    /// Distinct people with a counted thread or comment.
    participants: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportParagraph {
    paragraph_id: Uuid,
    position: i32,
    /// The paragraph's text, cut on a word after at most 160 characters.
    excerpt: String,
    thread_count: i32,
    comment_count: i32,
    /// Question threads that count.
    question_count: i32,
    open_question_count: i32,
    /// Distinct people with a counted thread or comment on the paragraph.
    participant_count: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Participation {
    user: UserView,
    /// Threads they started that count.
    threads: i32,
    /// Their comments that count (a thread's first comment included).
    comments: i32,
    /// Their latest counted thread or comment.
    last_active_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HourActivity {
    /// The start of the hour, UTC.
    hour: DateTime<Utc>,
    comments: i32,
}

#[derive(QueryableByName)]
struct ParagraphRow {
    #[diesel(sql_type = SqlUuid)]
    paragraph_id: Uuid,
    #[diesel(sql_type = Integer)]
    position: i32,
    #[diesel(sql_type = Text)]
    text: String,
    #[diesel(sql_type = Bool)]
    retired: bool,
    #[diesel(sql_type = Integer)]
    thread_count: i32,
    #[diesel(sql_type = Integer)]
    comment_count: i32,
    #[diesel(sql_type = Integer)]
    open_question_count: i32,
    #[diesel(sql_type = Integer)]
    question_count: i32,
}

#[derive(QueryableByName)]
struct PeopleRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    paragraph_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    author_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    hour: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    comments: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    threads: Option<i32>,
    #[diesel(sql_type = Timestamptz)]
    last_at: DateTime<Utc>,
}

/// One person's numbers while they are added up.
struct Tally {
    threads: i32,
    comments: i32,
    last_at: DateTime<Utc>,
}

/// The report on `session` for a caller the route has found to be one of
/// its group's organisers.
pub async fn build(conn: &mut AsyncPgConnection, session: SessionView) -> ApiResult<SessionReport> {
    let session_id = session.id;
    let rows: Vec<ParagraphRow> =
        crate::sql!("session_report/paragraphs.sql").bind::<SqlUuid, _>(session_id).load(conn).await?;
    let people: Vec<PeopleRow> =
        crate::sql!("session_report/people.sql").bind::<SqlUuid, _>(session_id).load(conn).await?;

    let mut per_paragraph: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
    let mut per_person: HashMap<Uuid, Tally> = HashMap::new();
    let mut hours: BTreeMap<DateTime<Utc>, i32> = BTreeMap::new();
    for row in people {
        match (row.paragraph_id, row.author_id, row.hour) {
            (None, None, Some(hour)) => *hours.entry(hour).or_default() += row.comments,
            (Some(paragraph), Some(author), _) => {
                per_paragraph.entry(paragraph).or_default().insert(author);
                let tally = per_person.entry(author).or_insert(Tally {
                    threads: 0,
                    comments: 0,
                    last_at: row.last_at,
                });
                tally.threads += row.threads.unwrap_or(0);
                if row.threads.is_none() {
                    tally.comments += row.comments;
                }
                tally.last_at = tally.last_at.max(row.last_at);
            }
            _ => {}
        }
    }

    let mut totals = ReportTotals { participants: per_person.len() as i64, ..ReportTotals::default() };
    let mut paragraphs = Vec::with_capacity(rows.len());
    for row in rows {
        totals.threads += i64::from(row.thread_count);
        totals.comments += i64::from(row.comment_count);
        totals.questions += i64::from(row.question_count);
        totals.open_questions += i64::from(row.open_question_count);
        if row.retired {
            continue;
        }
        let participant_count = per_paragraph.get(&row.paragraph_id).map_or(0, |p| p.len() as i32);
        paragraphs.push(ReportParagraph {
            paragraph_id: row.paragraph_id,
            position: row.position,
            excerpt: crate::mailing::compose::excerpt(&row.text, EXCERPT_CHARS),
            thread_count: row.thread_count,
            comment_count: row.comment_count,
            question_count: row.question_count,
            open_question_count: row.open_question_count,
            participant_count,
        });
    }

    let ids: Vec<Uuid> = per_person.keys().copied().collect();
    let people: Vec<UserView> = if ids.is_empty() {
        Vec::new()
    } else {
        users::table.filter(users::id.eq_any(&ids)).select(UserView::as_select()).load(conn).await?
    };
    let mut participation: Vec<Participation> = people
        .into_iter()
        .filter_map(|user| {
            let tally = per_person.get(&user.id)?;
            Some(Participation {
                threads: tally.threads,
                comments: tally.comments,
                last_active_at: tally.last_at,
                user,
            })
        })
        .collect();
    participation.sort_by(|a, b| {
        (b.comments, b.threads, b.last_active_at)
            .cmp(&(a.comments, a.threads, a.last_active_at))
            .then_with(|| a.user.username.cmp(&b.user.username))
    });

    let listing = ThreadListing {
        kind: Some(ThreadKind::Question),
        answered: Some(false),
        sort: ThreadSort::New,
        ..ThreadListing::default()
    };
    let open_questions =
        list::page(conn, Viewer::MEMBERS, session_id, listing, None, OPEN_QUESTIONS_SHOWN).await?.items;
    let activity = hours.into_iter().map(|(hour, comments)| HourActivity { hour, comments }).collect();
    Ok(SessionReport { session, totals, paragraphs, open_questions, participation, activity })
}

/// The report as CSV: a header, then one row per current paragraph in
/// essay order (RFC 4180 quoting).
pub fn to_csv(report: &SessionReport) -> ApiResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::with_capacity(64 * (report.paragraphs.len() + 1)));
    out.write_record([
        "paragraph_id",
        "position",
        "excerpt",
        "thread_count",
        "comment_count",
        "question_count",
        "open_question_count",
        "participant_count",
    ])
    .map_err(ApiError::internal)?;
    for p in &report.paragraphs {
        out.write_record([
            p.paragraph_id.to_string(),
            p.position.to_string(),
            p.excerpt.clone(),
            p.thread_count.to_string(),
            p.comment_count.to_string(),
            p.question_count.to_string(),
            p.open_question_count.to_string(),
            p.participant_count.to_string(),
        ])
        .map_err(ApiError::internal)?;
    }
    out.into_inner().map_err(ApiError::internal)
}

/// Kept by version, like `/counts`: every column read here (paragraphs.sql,
/// people.sql and the views they embed) that changes must append a session
/// event or move the `profiles` watermark, or follow one that does.
pub fn reads() -> super::Reads {
    super::Reads::new("session report")
        .columns(&[
            "threads.session_id",
            "threads.paragraph_id",
            "threads.author_id",
            "threads.created_at",
            "threads.kind",
            "threads.hidden",
            "comments.thread_id",
            "comments.author_id",
            "comments.created_at",
            "comments.hidden",
            "comments.deleted",
            "reading_sessions.essay_id",
            "paragraphs.position",
            "paragraphs.text",
            "paragraphs.retired_in",
            "paragraph_counts.thread_count",
            "paragraph_counts.comment_count",
            "paragraph_counts.open_question_count",
        ])
        .fixed(&[
            "threads.session_id",
            "threads.author_id",
            "threads.created_at",
            "threads.kind",
            "comments.thread_id",
            "comments.author_id",
            "comments.created_at",
            "reading_sessions.essay_id",
        ])
        .follows(super::counts::PARAGRAPHS_FOLLOW)
}
