//! The pusher: sends each change the notifier makes to a notification
//! (a new item, or more activity on one) to every push subscription of its
//! recipient, once across instances, while the item is unread and its
//! thread still visible to them.
//!
//! A round claims a batch of rows whose `updated_at` differs from
//! `pushed_for` with `FOR UPDATE SKIP LOCKED`, and commits the claim at once
//! as a lease (`push_not_before`, `push.lease_secs` ahead): other instances
//! skip leased rows, and no row lock is held while push services answer, so
//! the notifier never waits on them. The round then sends without holding a
//! database connection, and records per row what it pushed: `pushed_for`
//! becomes the `updated_at` it claimed, so a change the notifier made
//! meanwhile is still due and is pushed by the next round.
//!
//! Delivery is at least once. A crash (or a lost database) between a push
//! service's 201 and the commit that records it leaves the lease to run
//! out, after which another round pushes that change again. Every push for a
//! thread carries the same `Topic`, so a push service still holding the
//! first replaces it with the second, and a browser that already showed it
//! shows it again under the same thread (a service worker that tags its
//! notification with `thread_id` replaces it in place).
//!
//! Push services answering 404 or 410 have dropped the subscription: it is
//! deleted. 429, 5xx and network failures are tried again, for the
//! subscriptions that failed only, after a growing delay (or the
//! service's `Retry-After`), at most `push.max_attempts` times in all; any
//! other answer drops that push (logged). A round's sending stops at half the
//! lease, so no claim runs out while its round still sends; what it did
//! not get to is tried again later like a failure.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Bytea, Double, Integer, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use reqwest::Url;
use uuid::Uuid;

use super::{addresses, Push};
use crate::error::{ApiError, ApiResult};
use crate::events::EventHub;
use crate::schema::push_subscriptions;

/// A thread title in a payload is cut to this many characters, and at most
/// this many actors are named, so a payload stays far below the 4 KB a
/// push service takes.
const TITLE_CHARS: usize = 120;

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = SmallInt)]
    push_attempts: i16,
    #[diesel(sql_type = diesel::sql_types::Nullable<Array<SqlUuid>>)]
    push_retry: Option<Vec<Uuid>>,
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = SqlUuid)]
    notification_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    thread_id: Uuid,
    #[diesel(sql_type = Text)]
    reason: String,
    #[diesel(sql_type = Integer)]
    new_count: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Bool)]
    public_group: bool,
    #[diesel(sql_type = Array<Text>)]
    actors: Vec<String>,
    #[diesel(sql_type = SqlUuid)]
    subscription_id: Uuid,
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = Bytea)]
    p256dh: Vec<u8>,
    #[diesel(sql_type = Bytea)]
    auth: Vec<u8>,
}

/// The JSON a push carries. In a private group, ids only: the client fetches
/// the rest with its token, so a push service never reads a private title.
fn payload(due: &Due) -> serde_json::Value {
    let mut body = serde_json::json!({
        "kind": "notification",
        "notification_id": due.notification_id,
        "thread_id": due.thread_id,
    });
    if due.public_group {
        body["reason"] = due.reason.clone().into();
        body["title"] = due.title.as_ref().map(|t| t.chars().take(TITLE_CHARS).collect::<String>()).into();
        body["new_count"] = due.new_count.into();
        body["actors"] = due.actors.iter().take(5).cloned().collect::<Vec<_>>().into();
    }
    body
}

/// One request ready to go.
struct Outgoing {
    notification_id: Uuid,
    subscription_id: Uuid,
    endpoint: Url,
    body: Vec<u8>,
    authorization: String,
    topic: String,
    urgency: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    /// The push service no longer knows the subscription.
    Gone,
    /// Worth another try, not before this long (when the service said).
    Retry(Option<Duration>),
    Dropped,
}

/// Encrypts and signs a round's pushes (CPU work: run off the async threads).
fn prepare(push: &Push, rows: Vec<Due>, now_secs: i64) -> Vec<Outgoing> {
    let mut signatures: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for due in rows {
        let Ok(endpoint) = Url::parse(&due.endpoint) else { continue };
        let Ok(ua_public) = p256::PublicKey::from_sec1_bytes(&due.p256dh) else { continue };
        let Ok(auth) = <[u8; 16]>::try_from(due.auth.as_slice()) else { continue };
        let auth = web_push_native::Auth::from(auth);
        let message = payload(&due).to_string().into_bytes();
        let Ok(body) = web_push_native::encrypt(message, &ua_public, &auth) else { continue };
        let origin = endpoint.origin().ascii_serialization();
        let authorization = signatures
            .entry(origin)
            .or_insert_with_key(|origin| push.key.authorization(origin, &push.settings.subject, now_secs))
            .clone();
        out.push(Outgoing {
            notification_id: due.notification_id,
            subscription_id: due.subscription_id,
            endpoint,
            body,
            authorization,
            // 32 base64url characters at most: the thread's id in hex is exactly that.
            topic: due.thread_id.simple().to_string(),
            urgency: if matches!(due.reason.as_str(), "mention" | "reply") { "high" } else { "normal" },
        });
    }
    out
}

async fn send(push: &Push, outgoing: &Outgoing, deadline: tokio::time::Instant) -> Outcome {
    if !addresses::literal_allowed(&outgoing.endpoint, push.allow_private) {
        return Outcome::Dropped;
    }
    if tokio::time::Instant::now() >= deadline {
        return Outcome::Retry(None);
    }
    let request = push
        .client
        .post(outgoing.endpoint.clone())
        .header("TTL", push.settings.ttl_secs.to_string())
        .header("Urgency", outgoing.urgency)
        .header("Topic", &outgoing.topic)
        .header(reqwest::header::AUTHORIZATION, &outgoing.authorization)
        .header(reqwest::header::CONTENT_ENCODING, "aes128gcm")
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(outgoing.body.clone());
    let host = outgoing.endpoint.host_str().unwrap_or_default().to_owned();
    let response = match tokio::time::timeout_at(deadline, request.send()).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => {
            tracing::info!(%host, error = %e, "push not delivered; will try again");
            return Outcome::Retry(None);
        }
        Err(_) => return Outcome::Retry(None),
    };
    let status = response.status();
    match status.as_u16() {
        200..=299 => Outcome::Delivered,
        404 | 410 => Outcome::Gone,
        429 | 500..=599 => {
            let after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            tracing::info!(%host, %status, "push service busy; will try again");
            Outcome::Retry(after)
        }
        _ => {
            tracing::warn!(%host, %status, "push service refused a push; dropped");
            Outcome::Dropped
        }
    }
}

/// How long before the next try after `attempts` failed ones.
fn backoff(attempts: i16, asked: Option<Duration>) -> Duration {
    let exp = Duration::from_secs(15u64 << attempts.clamp(0, 8) as u32);
    exp.max(asked.unwrap_or_default()).min(Duration::from_secs(3600))
}

/// One round: claims, sends and records a batch. Returns how many
/// notifications it claimed.
#[tracing::instrument(skip_all)]
pub async fn push_once(pool: &crate::db::pool::Pool, push: &Arc<Push>) -> ApiResult<usize> {
    let lease = Duration::from_secs(push.settings.lease_secs.max(10));
    let mut conn = crate::db::pool::conn(pool).await?;
    let claimed: Vec<Claimed> = crate::sql!("sender/claim.sql")
        .bind::<diesel::sql_types::BigInt, _>(push.settings.batch.max(1))
        .bind::<Double, _>(lease.as_secs_f64())
        .load(&mut conn)
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let deadline = tokio::time::Instant::now() + lease / 2;
    let ids: Vec<Uuid> = claimed.iter().map(|c| c.id).collect();
    let owed: HashMap<Uuid, Option<HashSet<Uuid>>> =
        claimed.iter().map(|c| (c.id, c.push_retry.as_ref().map(|r| r.iter().copied().collect()))).collect();
    let changes: Vec<chrono::DateTime<Utc>> = claimed.iter().map(|c| c.updated_at).collect();
    let rows: Vec<Due> = crate::sql!("sender/pushes.sql")
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Timestamptz>, _>(&changes)
        .load(&mut conn)
        .await?
        .into_iter()
        .filter(|due: &Due| {
            owed.get(&due.notification_id)
                .is_some_and(|only| only.as_ref().is_none_or(|only| only.contains(&due.subscription_id)))
        })
        .collect();
    // No connection is held while push services answer.
    drop(conn);

    let outgoing = if rows.is_empty() {
        Vec::new()
    } else {
        let job = push.clone();
        let now_secs = Utc::now().timestamp();
        tokio::task::spawn_blocking(move || prepare(&job, rows, now_secs))
            .await
            .map_err(|e| ApiError::internal(anyhow::anyhow!("preparing pushes: {e}")))?
    };
    let concurrency = push.settings.concurrency.max(1);
    let sends = outgoing.into_iter().map(|o| {
        let push = push.clone();
        async move { (o.notification_id, o.subscription_id, send(&push, &o, deadline).await) }
    });
    let outcomes: Vec<(Uuid, Uuid, Outcome)> =
        futures_util::stream::iter(sends).buffer_unordered(concurrency).collect().await;

    let mut conn = crate::db::pool::conn(pool).await?;
    let gone: Vec<Uuid> = outcomes
        .iter()
        .filter(|(_, _, o)| *o == Outcome::Gone)
        .map(|(_, subscription, _)| *subscription)
        .collect();
    if !gone.is_empty() {
        diesel::delete(push_subscriptions::table.filter(push_subscriptions::id.eq_any(&gone)))
            .execute(&mut conn)
            .await?;
    }
    for claim in &claimed {
        let mut retry = Vec::new();
        let mut asked = None;
        for (notification, subscription, outcome) in &outcomes {
            if *notification == claim.id {
                if let Outcome::Retry(after) = outcome {
                    retry.push(*subscription);
                    asked = asked.max(*after);
                }
            }
        }
        let given_up = !retry.is_empty() && claim.push_attempts + 1 >= push.settings.max_attempts;
        if given_up {
            tracing::warn!(notification = %claim.id, subscriptions = retry.len(), "pushes given up after retries");
        }
        let done = retry.is_empty() || given_up;
        crate::sql!("sender/finish.sql")
            .bind::<SqlUuid, _>(claim.id)
            .bind::<Timestamptz, _>(claim.updated_at)
            .bind::<Bool, _>(done)
            .bind::<Array<SqlUuid>, _>(&retry)
            .bind::<Double, _>(backoff(claim.push_attempts, asked).as_secs_f64())
            .execute(&mut conn)
            .await?;
    }
    Ok(claimed.len())
}

/// Runs for the life of the process: a round every `push.interval_ms`, and
/// at once again while rounds find full batches.
pub async fn run(hub: Arc<EventHub>, push: Arc<Push>) {
    let every = Duration::from_millis(push.settings.interval_ms.max(10));
    let batch = usize::try_from(push.settings.batch.max(1)).unwrap_or(1);
    let mut closing = hub.closing();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        loop {
            match push_once(&hub.pool, &push).await {
                Ok(n) if n >= batch => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "pushing notifications");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_public_payload_fits_a_push() {
        let due = Due {
            notification_id: Uuid::new_v4(),
            thread_id: Uuid::new_v4(),
            reason: "answer_accepted".into(),
            new_count: i32::MAX,
            // Control characters escape to six bytes each in JSON.
            title: Some("\u{1}".repeat(200)),
            public_group: true,
            actors: vec!["x".repeat(64); 20],
            subscription_id: Uuid::new_v4(),
            endpoint: String::new(),
            p256dh: Vec::new(),
            auth: Vec::new(),
        };
        let body = payload(&due).to_string();
        // 4096 bytes less the aes128gcm header (86), the padding delimiter and the tag (17).
        assert!(body.len() < 3993, "{} bytes", body.len());
        let private = payload(&Due { public_group: false, ..due });
        let keys: Vec<&String> = private.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "ids only: {private}");
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert_eq!(backoff(0, None), Duration::from_secs(15));
        assert_eq!(backoff(2, None), Duration::from_secs(60));
        assert_eq!(backoff(0, Some(Duration::from_secs(100))), Duration::from_secs(100));
        assert_eq!(backoff(20, Some(Duration::from_secs(999_999))), Duration::from_secs(3600));
    }
}
