//! Session briefings: `notifications.briefing_lead_hours` before a session
//! starts, each organiser (or owner) of its group with a verified address is
//! mailed the five most discussed paragraphs, the open questions and the
//! new participants (people writing in the group for the first time).
//!
//! It follows the organiser's mail settings: nothing when notification mail
//! is `off` or briefings are turned off (`briefing: false`, which the
//! mail's one-click unsubscribe sets). A closed session gets none, nor does
//! one whose start has passed (an instance that was down then does not send
//! it late).
//!
//! Exactly once across instances, like a digest: the `(session, organiser)`
//! row of `session_briefings` is inserted in the transaction that sends the
//! mail, which commits only once the SMTP server accepted it (see the
//! `mailing` module docs for what a crash does).

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncConnection, RunQueryDsl};
use tokio::sync::watch;
use uuid::Uuid;

use crate::mail::Outgoing;
use crate::mailing::compose::{excerpt, thread_link};
use crate::mailing::unsubscribe::Kind;
use crate::mailing::Mailing;

/// Paragraphs a briefing lists.
const TOP_PARAGRAPHS: i64 = 5;
/// Open questions a briefing lists at most (it counts the rest).
const QUESTIONS_SHOWN: i64 = 10;
/// New participants a briefing names at most (it counts the rest).
const NEWCOMERS_SHOWN: i64 = 20;
/// Organisers one look claims at most (it looks again while it finds some).
const BATCH: i64 = 100;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Briefings mailed.
    pub sent: usize,
    /// Briefings another instance claimed first.
    pub skipped: usize,
    /// Briefings whose mail failed (tried again next round).
    pub failed: usize,
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Text)]
    session_title: String,
    #[diesel(sql_type = Timestamptz)]
    starts_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    group_name: String,
    #[diesel(sql_type = Text)]
    essay_title: String,
}

#[derive(QueryableByName)]
struct ParagraphLine {
    #[diesel(sql_type = BigInt)]
    total_threads: i64,
    #[diesel(sql_type = BigInt)]
    total_comments: i64,
    #[diesel(sql_type = Nullable<Integer>)]
    position: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    text: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    thread_count: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    comment_count: Option<i32>,
}

#[derive(QueryableByName)]
struct QuestionLine {
    #[diesel(sql_type = SqlUuid)]
    thread_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Integer)]
    position: i32,
    #[diesel(sql_type = Integer)]
    vote_count: i32,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

#[derive(QueryableByName)]
struct Newcomer {
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// What a briefing says, read in the transaction that claims it.
pub struct Briefing {
    pub display_name: String,
    pub session_id: Uuid,
    pub session_title: String,
    pub group_name: String,
    pub essay_title: String,
    pub starts_at: DateTime<Utc>,
    pub total_threads: i64,
    pub total_comments: i64,
    /// (position, text, threads, comments), most discussed first.
    pub paragraphs: Vec<(i32, String, i32, i32)>,
    /// (thread, title, position, votes).
    pub questions: Vec<(Uuid, String, i32, i32)>,
    pub questions_total: i64,
    /// (username, display name).
    pub newcomers: Vec<(String, String)>,
    pub newcomers_total: i64,
}

enum Outcome {
    Sent,
    Skipped,
}

/// One round as of `now`: every organiser due a briefing gets theirs.
pub async fn round(mailing: &Mailing, now: DateTime<Utc>) -> anyhow::Result<Round> {
    let mut report = Round::default();
    let lead = i32::try_from(mailing.settings.briefing_lead_hours).unwrap_or(24);
    loop {
        let due: Vec<Due> = {
            let mut conn = crate::db::pool::conn(&mailing.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::sql!("briefing/due.sql")
                .bind::<Timestamptz, _>(now)
                .bind::<Integer, _>(lead)
                .bind::<BigInt, _>(BATCH)
                .load(&mut conn)
                .await?
        };
        let full = due.len() as i64 >= BATCH;
        let mut progress = false;
        for d in due {
            match send_one(mailing, d.session_id, d.user_id, now, lead).await {
                Ok(Outcome::Sent) => {
                    report.sent += 1;
                    progress = true;
                }
                Ok(Outcome::Skipped) => report.skipped += 1,
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(error = ?e, "briefing not sent");
                }
            }
        }
        // A page that was full and moved on may have more behind it; one
        // that failed throughout waits for the next round.
        if !full || !progress {
            break;
        }
    }
    Ok(report)
}

async fn send_one(
    mailing: &Mailing,
    session_id: Uuid,
    user: Uuid,
    now: DateTime<Utc>,
    lead: i32,
) -> anyhow::Result<Outcome> {
    let mut conn = crate::db::pool::conn(&mailing.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        crate::sql!("../mailing/send_timeout.sql").execute(conn).await?;
        let Some(to) = crate::sql!("briefing/claim.sql")
            .bind::<SqlUuid, _>(session_id)
            .bind::<SqlUuid, _>(user)
            .bind::<Timestamptz, _>(now)
            .bind::<Integer, _>(lead)
            .get_result::<Claimed>(conn)
            .await
            .optional()?
        else {
            return Ok(Outcome::Skipped);
        };
        let briefing = read(conn, session_id, to.display_name.clone(), &to).await?;
        let unsubscribe_url = mailing.unsubscribe_url(user, Kind::Briefing);
        let (subject, text) = compose(&briefing, &mailing.app_url, &unsubscribe_url);
        // Sent last: the claim commits only once the SMTP server has accepted the mail.
        mailing
            .mailer
            .send_message(Outgoing { to: to.email, subject, text, unsubscribe: Some(unsubscribe_url) })
            .await?;
        Ok(Outcome::Sent)
    })
    .await
}

/// The briefing's contents for session `session_id`.
async fn read(
    conn: &mut diesel_async::AsyncPgConnection,
    session_id: Uuid,
    display_name: String,
    claimed: &Claimed,
) -> anyhow::Result<Briefing> {
    let paragraphs: Vec<ParagraphLine> = crate::sql!("briefing/paragraphs.sql")
        .bind::<SqlUuid, _>(session_id)
        .bind::<BigInt, _>(TOP_PARAGRAPHS)
        .load(conn)
        .await?;
    let questions: Vec<QuestionLine> = crate::sql!("briefing/questions.sql")
        .bind::<SqlUuid, _>(session_id)
        .bind::<BigInt, _>(QUESTIONS_SHOWN)
        .load(conn)
        .await?;
    let newcomers: Vec<Newcomer> = crate::sql!("briefing/newcomers.sql")
        .bind::<SqlUuid, _>(session_id)
        .bind::<BigInt, _>(NEWCOMERS_SHOWN)
        .load(conn)
        .await?;
    let (total_threads, total_comments) =
        <[ParagraphLine]>::first(&paragraphs).map_or((0, 0), |p| (p.total_threads, p.total_comments));
    Ok(Briefing {
        display_name,
        session_id,
        session_title: claimed.session_title.clone(),
        group_name: claimed.group_name.clone(),
        essay_title: claimed.essay_title.clone(),
        starts_at: claimed.starts_at,
        total_threads,
        total_comments,
        paragraphs: paragraphs
            .into_iter()
            .filter_map(|p| Some((p.position?, p.text?, p.thread_count?, p.comment_count?)))
            .collect(),
        questions_total: <[QuestionLine]>::first(&questions).map_or(0, |q| q.total),
        questions: questions
            .into_iter()
            .map(|q| (q.thread_id, q.title.unwrap_or_default(), q.position, q.vote_count))
            .collect(),
        newcomers_total: <[Newcomer]>::first(&newcomers).map_or(0, |n| n.total),
        newcomers: newcomers.into_iter().map(|n| (n.username, n.display_name)).collect(),
    })
}

fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Subject and plain-text body of a briefing.
pub fn compose(b: &Briefing, app_url: &str, unsubscribe_url: &str) -> (String, String) {
    let when = b.starts_at.format("%A %-d %B %Y at %H:%M UTC");
    let subject =
        format!("Briefing: \"{}\" starts {}", b.session_title, b.starts_at.format("%-d %B, %H:%M UTC"));
    let mut body = format!(
        "Hello {},\n\n\"{}\" ({}), a reading of \"{}\", starts on {when}.\n\nSo far: {} and {}.\n",
        b.display_name,
        b.session_title,
        b.group_name,
        b.essay_title,
        plural(b.total_threads, "thread", "threads"),
        plural(b.total_comments, "comment", "comments"),
    );
    if b.paragraphs.is_empty() {
        body.push_str("\nNobody has written about the text yet.\n");
    } else {
        body.push_str("\nMost discussed paragraphs:\n");
        for (position, text, threads, comments) in &b.paragraphs {
            let _ = writeln!(
                body,
                "  ¶ {} ({} in {}): {}",
                position + 1,
                plural(i64::from(*comments), "comment", "comments"),
                plural(i64::from(*threads), "thread", "threads"),
                excerpt(text, 140)
            );
        }
    }
    if b.questions.is_empty() {
        body.push_str("\nNo open questions.\n");
    } else {
        let _ = writeln!(body, "\nOpen questions ({}):", b.questions_total);
        for (thread, title, position, votes) in &b.questions {
            let _ = writeln!(
                body,
                "  - \"{}\" (¶ {}, {})\n    {}",
                excerpt(title, 100),
                position + 1,
                plural(i64::from(*votes), "vote", "votes"),
                thread_link(app_url, *thread, None)
            );
        }
        let more = b.questions_total - b.questions.len() as i64;
        if more > 0 {
            let _ = writeln!(body, "  …and {more} more.");
        }
    }
    if b.newcomers.is_empty() {
        body.push_str("\nNo new participants.\n");
    } else {
        let _ = writeln!(
            body,
            "\nNew participants, writing in the group for the first time ({}):",
            b.newcomers_total
        );
        for (username, display_name) in &b.newcomers {
            let _ = writeln!(body, "  - {display_name} (@{username})");
        }
        let more = b.newcomers_total - b.newcomers.len() as i64;
        if more > 0 {
            let _ = writeln!(body, "  …and {more} more.");
        }
    }
    let _ = write!(
        body,
        "\nThe session: {app_url}/sessions/{}\nIts full report: {app_url}/sessions/{}/report\n\n-- \n\
         You get this as an organiser of {}.\n\
         Choose which mail you get: {app_url}/settings/notifications\n\
         Stop these briefings (one click): {unsubscribe_url}\n",
        b.session_id, b.session_id, b.group_name
    );
    (subject, body)
}

/// Runs for the life of the process: a round every `every`.
pub async fn run(mailing: Arc<Mailing>, mut closing: watch::Receiver<bool>, every: StdDuration) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        match round(&mailing, Utc::now()).await {
            Ok(r) if r.sent + r.failed > 0 => {
                tracing::info!(sent = r.sent, skipped = r.skipped, failed = r.failed, "briefing round")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "briefing round"),
        }
    }
}
