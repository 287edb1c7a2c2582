//! Waking every instance, off the write path.
//!
//! Writers never NOTIFY: a transaction that has sent NOTIFY takes a
//! cluster-wide lock at commit, which would serialise every write. Instead,
//! after local writes (`EventHub::touch`, called by every request's frame
//! in src/http/frame.rs), the notifier of that instance reads the log's tail
//! every `notify_interval_ms`, below the settled horizon, wakes its own
//! pumps and sends one `pg_notify` per batch of sessions in its own
//! autocommit statement. Every instance keeps one LISTEN connection (never
//! a pooled one: the pool would recycle it) and wakes its pumps for the
//! sessions named. A lost notification only delays: while an instance does
//! not write, its notifier still reads the tail once a second, whoever
//! wrote, and wakes its pumps for what settled (the pumps never poll on
//! their own); after the LISTEN connection comes back every pump reads at
//! once.

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use tokio_postgres::AsyncMessage;
use uuid::Uuid;

use super::hub::EventHub;
use super::log;
use crate::db::{pool, Connector};
use crate::versions::cursor::{self, Cursor};

pub const CHANNEL: &str = "pilcrow_events";
/// The payload that wakes every instance's inbox pump (src/notifications/live.rs).
pub const INBOX: &str = "inbox";
const LISTEN: &str = "LISTEN pilcrow_events";
/// Session ids per NOTIFY: 200 × 37 bytes stays under the 8,000-byte payload limit.
const IDS_PER_NOTIFY: usize = 200;
/// After a local write, the tail is read for this long: a transaction that
/// commits late settles later than its neighbours.
const AFTER_WRITE: Duration = Duration::from_secs(5);

/// The notifier of this instance; runs for the life of the process.
pub async fn notifier(hub: Arc<EventHub>) {
    let every = Duration::from_millis(hub.settings.notify_interval_ms.max(5));
    let mut tail: Option<Cursor> = None;
    let mut closing = hub.closing();
    let mut idle_ticks = 0u32;
    // While this instance does not write, the tail is still followed, once
    // a second, so the first read after a quiet spell is a short one.
    let idle_every = (1000 / every.as_millis().max(1)) as u32;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        if tail.is_some() && !hub.wrote_within(AFTER_WRITE) {
            idle_ticks += 1;
            if idle_ticks < idle_every {
                continue;
            }
        }
        idle_ticks = 0;
        // Idle, what the tail holds was written elsewhere, and its writer
        // has told everyone: wake local pumps only.
        let wrote = hub.wrote_within(AFTER_WRITE);
        if let Err(e) = notify_once(&hub, &mut tail, wrote).await {
            tracing::warn!(error = %e, "reading the event log's tail");
        }
    }
}

async fn notify_once(hub: &EventHub, tail: &mut Option<Cursor>, notify: bool) -> crate::error::ApiResult<()> {
    let mut conn = pool::conn(&hub.pool).await?;
    let Some(after) = *tail else {
        *tail = Some(Cursor::at_horizon(cursor::horizon(&mut conn).await?));
        return Ok(());
    };
    let (sessions, reached) = log::settled_sessions(&mut conn, after).await?;
    *tail = Some(reached);
    for session in &sessions {
        hub.ring(*session);
    }
    if !notify {
        return Ok(());
    }
    for chunk in sessions.chunks(IDS_PER_NOTIFY) {
        let payload = chunk.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",");
        crate::sql!("notify/notify.sql")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}

/// Wakes every instance's inbox pump (src/notifications/live.rs), in an
/// autocommit statement of its own.
pub async fn wake_inboxes(hub: &EventHub) -> crate::error::ApiResult<()> {
    let mut conn = pool::conn(&hub.pool).await?;
    crate::sql!("notify/notify.sql")
        .bind::<Text, _>(CHANNEL)
        .bind::<Text, _>(INBOX)
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// The one LISTEN connection of this instance: reconnects with back-off.
pub async fn listener(connector: Arc<Connector>, hub: Arc<EventHub>) {
    let mut backoff = Duration::from_millis(100);
    let mut closing = hub.closing();
    loop {
        match connector.bare_client().await {
            Ok((client, mut messages)) => {
                // The connection only makes progress while its messages are polled.
                let listen = client.batch_execute(LISTEN);
                let mut listen = std::pin::pin!(listen);
                let ready = loop {
                    tokio::select! {
                        done = &mut listen => break done,
                        message = messages.next() => {
                            if message.is_none() { break Ok(()); }
                        }
                    }
                };
                if let Err(e) = ready {
                    tracing::warn!(error = %e, "LISTEN failed");
                } else {
                    backoff = Duration::from_millis(100);
                    // Anything missed while the connection was down.
                    hub.ring_all();
                    ::metrics::counter!("pilcrow_event_listener_connects_total").increment(1);
                    loop {
                        tokio::select! {
                            message = messages.next() => match message {
                                Some(Ok(AsyncMessage::Notification(n))) if n.payload() == INBOX => {
                                    hub.ring_inbox();
                                }
                                Some(Ok(AsyncMessage::Notification(n))) => {
                                    for id in n.payload().split(',') {
                                        if let Ok(id) = id.parse() {
                                            hub.ring(id);
                                        }
                                    }
                                }
                                Some(Ok(_)) => {}
                                Some(Err(e)) => {
                                    tracing::warn!(error = %e, "LISTEN connection lost");
                                    break;
                                }
                                None => break,
                            },
                            _ = closing.changed() => return,
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "opening the LISTEN connection"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = closing.changed() => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Retention: every `prune_interval_secs`, one instance (whichever takes
/// the advisory lock) deletes events older than `retention_hours`.
pub async fn retention(hub: Arc<EventHub>) {
    let keep = Duration::from_secs(hub.settings.retention_hours * 3600);
    let every = Duration::from_secs(hub.settings.prune_interval_secs.max(1));
    let mut closing = hub.closing();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        let Ok(mut conn) = pool::conn(&hub.pool).await else { continue };
        // Batches of 5,000, so no one transaction holds many locks.
        loop {
            match log::prune_once(&mut conn, keep).await {
                Ok(5000) => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(deleted = n, "expired session events");
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "pruning session events");
                    break;
                }
            }
        }
    }
}
