//! The part of a deletion that follows the 202: bounded batches, each its
//! own transaction holding the deletion's row lock (`FOR UPDATE SKIP
//! LOCKED`), so one instance at a time works on one account however many
//! run, and a crash loses at most the batch in flight, which the next round
//! does again. Every step is idempotent and says how many rows it did; a
//! batch runs the first step that still has work, and a deletion with none
//! left is done.
//!
//! Steps, in order (the first three for `erase` only):
//! 1. tombstones: the user's comments, one thread at a time;
//! 2. the earlier versions of those comments, their thread titles, their votes;
//! 3. others' mentions of the old username, rewritten to the pseudonym
//!    (every comment whose words include it, once, in id order);
//! 4. personal rows: read marks, watches, notifications and their live
//!    events, push subscriptions, mail settings and digests, verification
//!    and reset links, stream tickets, refresh tokens, idempotent
//!    responses, blocks either way, mentions of them, the calendar feed,
//!    the record of briefings mailed, personal exports.
//!
//! Comments are locked before their thread and counter row (the write
//! protocol in src/db/replaceable/triggers.sql), threads in the order
//! posting locks them, so a batch never deadlocks with posting or
//! moderation.

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::sync::Notify;
use uuid::Uuid;

use super::DeletedContent;
use crate::db::prepared::Prepared;
use crate::db::Pool;
use crate::error::{ApiError, ApiResult};
use crate::notifications::mentions;

/// The personal rows, as (table, the column naming the user): each deleted
/// `batch` rows at a time.
macro_rules! personal {
    ($(($table:literal, $column:literal)),+ $(,)?) => {
        &[$(concat!(
            "DELETE FROM ", $table, " WHERE ctid = ANY(ARRAY(SELECT ctid FROM ", $table,
            " WHERE ", $column, " = $1 LIMIT $2))"
        )),+]
    };
}

const PERSONAL: &[&str] = personal![
    ("thread_reads", "user_id"),
    ("paragraph_reads", "user_id"),
    ("watches", "user_id"),
    ("notifications", "recipient_id"),
    ("inbox_events", "recipient_id"),
    ("push_subscriptions", "user_id"),
    ("notification_settings", "user_id"),
    ("notification_digests", "user_id"),
    ("email_verifications", "user_id"),
    ("password_resets", "user_id"),
    ("event_tickets", "user_id"),
    ("refresh_tokens", "user_id"),
    ("idempotency_keys", "user_id"),
    ("blocks", "blocker_id"),
    ("blocks", "blocked_id"),
    ("comment_mentions", "user_id"),
    ("calendar_feeds", "user_id"),
    ("session_briefings", "user_id"),
    // Their archives' chunks go with them (ON DELETE CASCADE).
    ("personal_exports", "user_id"),
];

/// Works deletions every `interval`, and at once when `wake` is notified
/// (a deletion was just requested on this instance), until the server
/// shuts down (a batch in flight finishes: it is one transaction).
pub async fn run(
    pool: Pool,
    wake: Arc<Notify>,
    interval: Duration,
    batch: i64,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
            _ = closing.wait_for(|closing| *closing) => return,
        }
        if let Err(e) = work(&pool, batch.max(1)).await {
            tracing::warn!(error = %e, cause = ?e.cause, "account deletion batch failed; trying again");
        }
    }
}

/// Batches until no deletion this instance may take has work left.
pub async fn work(pool: &Pool, batch: i64) -> ApiResult<()> {
    loop {
        let mut conn = pool.get().await?;
        let worked = conn.transaction::<_, ApiError, _>(async |conn| one_batch(conn, batch).await).await?;
        if !worked {
            return Ok(());
        }
    }
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    content: DeletedContent,
    #[diesel(sql_type = Nullable<Text>)]
    old_username: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    mentions_after: Option<Uuid>,
}

/// One batch of the oldest deletion free to take; false when there is none.
async fn one_batch(conn: &mut AsyncPgConnection, batch: i64) -> ApiResult<bool> {
    let claimed: Option<Claimed> =
        crate::sql!("steps/claim.sql").get_result(conn).await.map(Some).or_else(none_found)?;
    let Some(job) = claimed else {
        return Ok(false);
    };
    let user = job.user_id;
    if job.content == DeletedContent::Erase {
        if tombstones(conn, user, batch).await? > 0 {
            return Ok(true);
        }
        for step in [
            crate::sql!("steps/revisions.sql"),
            crate::sql!("steps/titles.sql"),
            crate::sql!("steps/votes.sql"),
        ] {
            if step.bind::<SqlUuid, _>(user).bind::<BigInt, _>(batch).execute(conn).await? > 0 {
                return Ok(true);
            }
        }
    }
    if let Some(old) = &job.old_username {
        if rename_mentions(conn, &job, old, batch).await? {
            return Ok(true);
        }
    }
    for sql in PERSONAL {
        if Prepared::new(sql).bind::<SqlUuid, _>(user).bind::<BigInt, _>(batch).execute(conn).await? > 0 {
            return Ok(true);
        }
    }
    crate::sql!("steps/finish.sql").bind::<SqlUuid, _>(user).execute(conn).await?;
    tracing::info!(%user, "account deletion finished");
    Ok(true)
}

fn none_found<T>(e: diesel::result::Error) -> Result<Option<T>, diesel::result::Error> {
    match e {
        diesel::result::Error::NotFound => Ok(None),
        e => Err(e),
    }
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Up to `batch` of the user's comments in one thread become tombstones.
async fn tombstones(conn: &mut AsyncPgConnection, user: Uuid, batch: i64) -> ApiResult<usize> {
    let locked: Vec<Id> = crate::sql!("steps/lock_comments.sql")
        .bind::<SqlUuid, _>(user)
        .bind::<BigInt, _>(batch)
        .load(conn)
        .await?;
    if locked.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = locked.into_iter().map(|r| r.id).collect();
    Ok(crate::sql!("steps/tombstone.sql")
        .bind::<SqlUuid, _>(user)
        .bind::<Array<SqlUuid>, _>(&ids)
        .execute(conn)
        .await?)
}

#[derive(QueryableByName)]
struct Naming {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    body: String,
}

/// The next `batch` comments whose words include `old`: those that mention
/// it name the pseudonym instead. False once every one has been read.
async fn rename_mentions(
    conn: &mut AsyncPgConnection,
    job: &Claimed,
    old: &str,
    batch: i64,
) -> ApiResult<bool> {
    let rows: Vec<Naming> = crate::sql!("steps/naming.sql")
        .bind::<Text, _>(old)
        .bind::<SqlUuid, _>(job.mentions_after.unwrap_or(Uuid::nil()))
        .bind::<BigInt, _>(batch)
        .load(conn)
        .await?;
    let Some(last) = rows.last().map(|r| r.id) else {
        return Ok(false);
    };
    let pseudonym: String = {
        use crate::schema::users;
        use diesel::QueryDsl;
        users::table.find(job.user_id).select(users::username).first(conn).await?
    };
    let (ids, bodies): (Vec<Uuid>, Vec<String>) = rows
        .into_iter()
        .filter_map(|r| mentions::renamed(&r.body, old, &pseudonym).map(|body| (r.id, body)))
        .unzip();
    if !ids.is_empty() {
        crate::sql!("steps/rename.sql")
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<Text>, _>(&bodies)
            .execute(conn)
            .await?;
    }
    crate::sql!("steps/named_up_to.sql")
        .bind::<SqlUuid, _>(job.user_id)
        .bind::<SqlUuid, _>(last)
        .execute(conn)
        .await?;
    Ok(true)
}
