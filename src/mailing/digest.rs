//! Digests: a summary of what is still unread, grouped by group, session
//! and paragraph, mailed after each period to readers who chose that rhythm.
//!
//! Periods are UTC: a daily period is one UTC day, ending at 00:00 UTC; a
//! weekly one runs from Monday 00:00 UTC to the next Monday. A round at
//! `now` sends the digests of the latest period that has ended (yesterday,
//! or last week), listing the items whose latest activity fell in it and
//! that are still unread; a reader with none gets no mail. So an item
//! appears in at most one daily (or weekly) digest, and a reader who
//! reads along gets nothing.
//!
//! Exactly once per period across instances: the `(user, rhythm,
//! period_end)` key is inserted in the transaction that sends the mail and
//! commits after the SMTP server accepted it (see the `mailing` module docs
//! for what a crash does). Readers are read in keyset pages of
//! `notifications.digest_batch_size` ids and each digest lists at most
//! `notifications.digest_max_items` items, so a round's memory does not
//! grow with the number of readers.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

use super::compose::{self, DigestLine};
use super::settings::DigestRhythm;
use super::unsubscribe::Kind;
use super::Mailing;
use crate::mail::Outgoing;
use crate::notifications::Reason;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Digests mailed.
    pub sent: usize,
    /// Readers due one who had nothing unread and visible left: no mail.
    pub empty: usize,
    /// Digests claimed by another instance first.
    pub skipped: usize,
    /// Digests whose mail failed (tried again next round).
    pub failed: usize,
}

/// The latest period of `rhythm` that has ended by `now`: `[start, end)`.
pub fn period(rhythm: DigestRhythm, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let today = Utc.from_utc_datetime(&now.date_naive().and_hms_opt(0, 0, 0)?);
    match rhythm {
        DigestRhythm::Daily => Some((today - Duration::days(1), today)),
        DigestRhythm::Weekly => {
            let monday = today - Duration::days(i64::from(now.weekday().num_days_from_monday()));
            Some((monday - Duration::days(7), monday))
        }
        DigestRhythm::Off => None,
    }
}

fn period_words(rhythm: DigestRhythm, start: DateTime<Utc>) -> String {
    match rhythm {
        DigestRhythm::Weekly => format!("the week of {}", start.format("%-d %B %Y")),
        _ => start.format("%A %-d %B %Y").to_string(),
    }
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Recipient {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    display_name: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    group_id: Uuid,
    #[diesel(sql_type = Text)]
    group_name: String,
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = Text)]
    session_title: String,
    #[diesel(sql_type = SqlUuid)]
    paragraph_id: Uuid,
    #[diesel(sql_type = Nullable<Integer>)]
    paragraph_position: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    paragraph_text: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    thread_id: Uuid,
    #[diesel(sql_type = Text)]
    thread_title: String,
    #[diesel(sql_type = Text)]
    reason: Reason,
    #[diesel(sql_type = Integer)]
    new_count: i32,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    latest_comment_id: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

enum Outcome {
    Sent,
    Empty,
    Skipped,
}

/// One round as of `now`: the daily and the weekly digests of the latest
/// ended periods, for every reader still due one.
pub async fn round(mailing: &Mailing, now: DateTime<Utc>) -> anyhow::Result<Round> {
    let mut report = Round::default();
    let batch = mailing.settings.digest_batch_size;
    for rhythm in [DigestRhythm::Daily, DigestRhythm::Weekly] {
        let Some((start, end)) = period(rhythm, now) else { continue };
        let words = period_words(rhythm, start);
        let mut after = Uuid::nil();
        loop {
            let page: Vec<Due> = {
                let mut conn =
                    crate::db::pool::conn(&mailing.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                crate::sql!("digest/page.sql")
                    .bind::<Text, _>(rhythm.as_str())
                    .bind::<Timestamptz, _>(start)
                    .bind::<Timestamptz, _>(end)
                    .bind::<SqlUuid, _>(after)
                    .bind::<BigInt, _>(batch)
                    .load(&mut conn)
                    .await?
            };
            let Some(last) = page.last() else { break };
            after = last.id;
            let full = page.len() as i64 >= batch;
            let words = &words;
            let mut outcomes = futures_util::stream::iter(page)
                .map(|due| send_one(mailing, due.id, rhythm, start, end, words))
                .buffer_unordered(mailing.settings.digest_concurrency.max(1));
            while let Some(outcome) = outcomes.next().await {
                match outcome {
                    Ok(Outcome::Sent) => report.sent += 1,
                    Ok(Outcome::Empty) => report.empty += 1,
                    Ok(Outcome::Skipped) => report.skipped += 1,
                    Err(e) => {
                        report.failed += 1;
                        tracing::warn!(error = ?e, "digest not sent");
                    }
                }
            }
            if !full {
                break;
            }
        }
    }
    let mut conn = crate::db::pool::conn(&mailing.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::sql!("digest/prune.sql").execute(&mut conn).await?;
    Ok(report)
}

async fn send_one(
    mailing: &Mailing,
    user: Uuid,
    rhythm: DigestRhythm,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    words: &str,
) -> anyhow::Result<Outcome> {
    let mut conn = crate::db::pool::conn(&mailing.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        crate::sql!("send_timeout.sql").execute(conn).await?;
        let Some(to) = crate::sql!("digest/claim.sql")
            .bind::<SqlUuid, _>(user)
            .bind::<Text, _>(rhythm.as_str())
            .bind::<Timestamptz, _>(end)
            .get_result::<Recipient>(conn)
            .await
            .optional()?
        else {
            return Ok(Outcome::Skipped);
        };
        let rows: Vec<Row> = crate::sql!("digest/items.sql")
            .bind::<SqlUuid, _>(user)
            .bind::<Timestamptz, _>(start)
            .bind::<Timestamptz, _>(end)
            .bind::<BigInt, _>(mailing.settings.digest_max_items)
            .load(conn)
            .await?;
        let Some(total) = <[Row]>::first(&rows).map(|r| r.total) else {
            // Claimed with nothing to tell: the period is done for this reader.
            return Ok(Outcome::Empty);
        };
        let lines: Vec<DigestLine> = rows
            .into_iter()
            .map(|r| DigestLine {
                group_id: r.group_id,
                group_name: r.group_name,
                session_id: r.session_id,
                session_title: r.session_title,
                paragraph_id: r.paragraph_id,
                paragraph_position: r.paragraph_position,
                paragraph_text: r.paragraph_text,
                thread_id: r.thread_id,
                thread_title: compose::excerpt(&r.thread_title, 80),
                reason: r.reason,
                new_count: r.new_count,
                latest_comment_id: r.latest_comment_id,
            })
            .collect();
        let unsubscribe_url = mailing.unsubscribe_url(user, Kind::Digest);
        let (subject, text) =
            compose::digest(&to.display_name, words, &lines, total, &mailing.app_url, &unsubscribe_url);
        crate::sql!("digest/sent.sql")
            .bind::<SqlUuid, _>(user)
            .bind::<Text, _>(rhythm.as_str())
            .bind::<Timestamptz, _>(end)
            .bind::<Integer, _>(lines.len() as i32)
            .execute(conn)
            .await?;
        // Sent last: the claim commits only once the SMTP server has accepted the mail.
        mailing
            .mailer
            .send_message(Outgoing { to: to.email, subject, text, unsubscribe: Some(unsubscribe_url) })
            .await?;
        Ok(Outcome::Sent)
    })
    .await
}

/// Runs for the life of the process: a round every `every`.
pub async fn run(mailing: Arc<Mailing>, mut closing: watch::Receiver<bool>, every: StdDuration) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        let started = std::time::Instant::now();
        match round(&mailing, Utc::now()).await {
            Ok(r) if r.sent + r.failed > 0 => tracing::info!(
                sent = r.sent,
                empty = r.empty,
                skipped = r.skipped,
                failed = r.failed,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "digest round"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "digest round"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_ends_at_utc_midnight_and_a_week_on_monday() {
        // Wednesday 9 December 2026, 15:30 UTC.
        let now = Utc.with_ymd_and_hms(2026, 12, 9, 15, 30, 0).unwrap();
        let (start, end) = period(DigestRhythm::Daily, now).unwrap();
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 9, 0, 0, 0).unwrap());
        let (start, end) = period(DigestRhythm::Weekly, now).unwrap();
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap());
        // On a Monday the week that ended at its midnight is the one sent.
        let monday = Utc.with_ymd_and_hms(2026, 12, 7, 0, 5, 0).unwrap();
        assert_eq!(period(DigestRhythm::Weekly, monday).unwrap().1, monday - Duration::minutes(5));
        assert_eq!(period(DigestRhythm::Off, now), None);
    }
}
