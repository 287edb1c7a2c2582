//! The immediate mail of reply, mention and moderation items: each is
//! mailed once `notifications.email_delay_secs` have passed since its latest
//! activity, unless it was read meanwhile (read = the recipient's
//! `thread_reads` mark reaches the item's `latest_seq`), to a verified
//! address whose settings say `email: "immediate"`. Watched activity and the
//! other reasons wait for the digest.
//!
//! One mail per item per unread episode: once mailed, more activity on the
//! item sends nothing until its recipient has read up to what the mail
//! told (`notification_mails.mailed_seq`); activity after that reading is a
//! new episode and may be mailed again. New activity within the delay
//! moves the item's `updated_at`, so a lively thread is mailed once it has
//! been quiet for the delay; an item whose activity is a day old is left to
//! the digest.
//!
//! Exactly once across instances: candidates are read without locks, then
//! each item is taken in a transaction of its own with `FOR UPDATE SKIP
//! LOCKED` and every condition checked again, mailed, and marked in that
//! transaction, which commits after the SMTP server accepted the message
//! (never lost; repeated only by a crash between that acceptance and the
//! commit, see the `mailing` module docs).

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::watch;
use uuid::Uuid;

use super::compose::{self, ItemMail};
use super::unsubscribe::Kind;
use super::Mailing;
use crate::mail::Outgoing;
use crate::notifications::Reason;

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Item {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    recipient_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    thread_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    latest_comment_id: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    latest_seq: i64,
    #[diesel(sql_type = Integer)]
    new_count: i32,
    #[diesel(sql_type = Text)]
    reason: Reason,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Text)]
    group_name: String,
    #[diesel(sql_type = Text)]
    session_title: String,
    #[diesel(sql_type = Text)]
    thread_title: String,
    #[diesel(sql_type = Nullable<Text>)]
    comment_body: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    actor: Option<String>,
}

/// One look: mails what is due, up to `notifications.email_batch_size`
/// items. Returns how many were mailed and whether the look was full (more may be due).
pub async fn mail_due(mailing: &Mailing) -> anyhow::Result<(usize, bool)> {
    let delay = mailing.settings.email_delay_secs as f64;
    let batch = mailing.settings.email_batch_size;
    let mut conn = crate::db::pool::conn(&mailing.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let due: Vec<Due> = crate::sql!("immediate/due.sql")
        .bind::<Double, _>(delay)
        .bind::<BigInt, _>(batch)
        .load(&mut conn)
        .await?;
    let full = due.len() as i64 >= batch;
    let mut mailed = 0;
    for Due { id } in due {
        match mail_one(mailing, &mut conn, id).await {
            Ok(true) => mailed += 1,
            Ok(false) => {}
            // Rolled back: the item is tried again at a later look.
            Err(e) => tracing::warn!(error = ?e, "notification mail not sent"),
        }
    }
    Ok((mailed, full))
}

async fn mail_one(mailing: &Mailing, conn: &mut AsyncPgConnection, id: Uuid) -> anyhow::Result<bool> {
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        crate::sql!("send_timeout.sql").execute(conn).await?;
        let Some(item) = crate::sql!("immediate/item.sql")
            .bind::<SqlUuid, _>(id)
            .bind::<Double, _>(mailing.settings.email_delay_secs as f64)
            .get_result::<Item>(conn)
            .await
            .optional()?
        else {
            // Read, mailed, hidden or taken by another instance meanwhile.
            return Ok(false);
        };
        let unsubscribe_url = mailing.unsubscribe_url(item.recipient_id, Kind::Immediate);
        let thread_title = compose::excerpt(&item.thread_title, 80);
        let (subject, text) = compose::item(
            &ItemMail {
                display_name: &item.display_name,
                reason: item.reason,
                actor: item.actor.as_deref(),
                thread_title: &thread_title,
                session_title: &item.session_title,
                group_name: &item.group_name,
                comment: item.comment_body.as_deref(),
                new_count: item.new_count,
                link: compose::thread_link(&mailing.app_url, item.thread_id, item.latest_comment_id),
            },
            &mailing.app_url,
            &unsubscribe_url,
            mailing.settings.email_delay_secs,
        );
        // Marked first, sent last: the commit follows the SMTP server's acceptance.
        crate::sql!("immediate/mark.sql")
            .bind::<SqlUuid, _>(item.id)
            .bind::<BigInt, _>(item.latest_seq)
            .execute(conn)
            .await?;
        mailing
            .mailer
            .send_message(Outgoing { to: item.email, subject, text, unsubscribe: Some(unsubscribe_url) })
            .await?;
        Ok(true)
    })
    .await
}

/// Runs for the life of the process: a look every `every`, and at once
/// again while looks come back full and mail went out.
pub async fn run(mailing: Arc<Mailing>, mut closing: watch::Receiver<bool>, every: Duration) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        loop {
            match mail_due(&mailing).await {
                // Full and progressing: more may be due. (A full look that
                // mailed nothing, SMTP being down, waits for the next tick.)
                Ok((mailed, true)) if mailed > 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = ?e, "looking for notification mail");
                    break;
                }
            }
        }
    }
}
