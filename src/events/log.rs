//! Reading the event log (written only by the triggers in
//! src/db/replaceable/triggers.sql, section "LIVE SESSION EVENTS"), its
//! retention, and the prune watermark.

use std::time::Duration;

use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::versions::cursor::{self, Cursor};

/// At most this many events per read: a page of replay, or one live batch.
pub const PAGE: i64 = 500;

#[derive(Debug, Clone, QueryableByName)]
pub struct EventRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub xid: i64,
    #[diesel(sql_type = SqlUuid)]
    pub session_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub paragraph_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub thread_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub comment_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub target_user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub detail: Option<serde_json::Value>,
}

impl EventRow {
    pub fn cursor(&self) -> Cursor {
        Cursor { xid: self.xid, id: self.id }
    }
}

/// One read of a session's settled events after `after`, and how far it
/// reached: when fewer than `PAGE` came back, everything below the horizon
/// has been seen, so the position moves up to it.
pub struct Page {
    pub rows: Vec<EventRow>,
    pub reached: Cursor,
    /// The readers named by `access.changed` events after `reached` that had
    /// committed by the end of the read (`None`: everyone). A transaction
    /// that took its xid before a ban's can commit after it yet sort before
    /// it, so what it wrote is withheld from those readers until their
    /// access is checked again.
    pub later_access: Vec<Option<Uuid>>,
    /// When the read began.
    pub read_at: std::time::Instant,
}

#[derive(QueryableByName)]
struct Target {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    target_user_id: Option<Uuid>,
}

#[tracing::instrument(skip_all)]
pub async fn settled_after(conn: &mut AsyncPgConnection, session_id: Uuid, after: Cursor) -> ApiResult<Page> {
    let read_at = std::time::Instant::now();
    let xmin = cursor::horizon(conn).await?;
    let rows: Vec<EventRow> = crate::sql!("log/page.sql")
        .bind::<SqlUuid, _>(session_id)
        .bind::<BigInt, _>(after.xid)
        .bind::<BigInt, _>(after.id)
        .bind::<BigInt, _>(xmin)
        .bind::<BigInt, _>(PAGE)
        .load(conn)
        .await?;
    let last = rows.last().map_or(after, EventRow::cursor);
    let reached = if (rows.len() as i64) < PAGE { last.max(Cursor::at_horizon(xmin)) } else { last };
    let later_access = if rows.is_empty() {
        Vec::new()
    } else {
        // A statement after the page's: it sees every commit the page saw.
        // Partial index session_events_access_idx.
        let targets: Vec<Target> = crate::sql!("log/access_targets.sql")
            .bind::<SqlUuid, _>(session_id)
            .bind::<BigInt, _>(reached.xid)
            .bind::<BigInt, _>(reached.id)
            .load(conn)
            .await?;
        let mut later: Vec<Option<Uuid>> = targets.into_iter().map(|t| t.target_user_id).collect();
        if later.len() == 100 {
            // Too many to name: everyone checks.
            later = vec![None];
        }
        later
    };
    Ok(Page { rows, reached, later_access, read_at })
}

#[derive(QueryableByName)]
struct HeldToken {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    version: i32,
}

/// Of the tokens `held` (user, version), those that no longer work: one
/// query for every signed-in reader of the instance.
pub async fn revoked_tokens(
    conn: &mut AsyncPgConnection,
    held: &[(Uuid, i32)],
) -> ApiResult<Vec<(Uuid, i32)>> {
    use diesel::sql_types::{Array, Integer};
    let (users, versions): (Vec<Uuid>, Vec<i32>) = held.iter().copied().unzip();
    let rows: Vec<HeldToken> = crate::sql!("log/revoked_tokens.sql")
        .bind::<Array<SqlUuid>, _>(users)
        .bind::<Array<Integer>, _>(versions)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.version)).collect())
}

#[derive(QueryableByName)]
struct Tail {
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The sessions with events that settled after `after`, across the whole
/// log (the notifier's view), and the position reached.
#[tracing::instrument(skip_all)]
pub async fn settled_sessions(conn: &mut AsyncPgConnection, after: Cursor) -> ApiResult<(Vec<Uuid>, Cursor)> {
    let xmin = cursor::horizon(conn).await?;
    let rows: Vec<Tail> = crate::sql!("log/tail.sql")
        .bind::<BigInt, _>(after.xid)
        .bind::<BigInt, _>(after.id)
        .bind::<BigInt, _>(xmin)
        .load(conn)
        .await?;
    let last = rows.last().map_or(after, |t| Cursor { xid: t.xid, id: t.id });
    let reached = if rows.len() < 5000 { last.max(Cursor::at_horizon(xmin)) } else { last };
    let mut sessions: Vec<Uuid> = rows.into_iter().map(|t| t.session_id).collect();
    sessions.sort_unstable();
    sessions.dedup();
    Ok((sessions, reached))
}

#[derive(QueryableByName)]
struct Mark {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Everything at or below this position may have been pruned.
pub async fn pruned_up_to(conn: &mut AsyncPgConnection) -> ApiResult<Cursor> {
    let mark: Mark = crate::sql!("log/pruned_mark.sql").get_result(conn).await?;
    Ok(Cursor { xid: mark.xid, id: mark.id })
}

/// Whether a reader at `position` may have missed pruned events: checked
/// after reading (a prune committing before the read moved the mark first).
pub async fn too_old(conn: &mut AsyncPgConnection, position: Cursor) -> ApiResult<bool> {
    let mark = pruned_up_to(conn).await?;
    Ok(mark != Cursor::default() && position < mark)
}

/// Takes advisory lock `key` until the transaction ends, unless another
/// session holds it: whether it was taken.
pub async fn try_xact_lock(conn: &mut AsyncPgConnection, key: i64) -> ApiResult<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let got: Locked = crate::sql!("log/prune_lock.sql").bind::<BigInt, _>(key).get_result(conn).await?;
    Ok(got.locked)
}

/// Any number that is not another advisory lock of this application.
const PRUNE_LOCK: i64 = 0x7069_6c63_6576_7473; // "pilcevts"

/// Deletes up to 5,000 events older than `keep` and moves the watermark to
/// the highest one deleted, in one transaction, if no other instance is
/// pruning; the same for the inbox's log. Returns the most either lost.
#[tracing::instrument(skip_all)]
pub async fn prune_once(conn: &mut AsyncPgConnection, keep: Duration) -> ApiResult<usize> {
    let keep_secs = keep.as_secs() as f64;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        if !try_xact_lock(conn, PRUNE_LOCK).await? {
            return Ok(0);
        }
        let gone: Vec<Mark> =
            crate::sql!("log/prune.sql").bind::<diesel::sql_types::Double, _>(keep_secs).load(conn).await?;
        if let Some(top) = gone.iter().map(|m| Cursor { xid: m.xid, id: m.id }).max() {
            crate::sql!("log/raise_pruned_mark.sql")
                .bind::<BigInt, _>(top.xid)
                .bind::<BigInt, _>(top.id)
                .execute(conn)
                .await?;
        }
        // The inbox's log (src/notifications/live.rs) is kept as long.
        let inbox_gone: Vec<Mark> = crate::sql!("log/prune_inbox.sql")
            .bind::<diesel::sql_types::Double, _>(keep_secs)
            .load(conn)
            .await?;
        if let Some(top) = inbox_gone.iter().map(|m| Cursor { xid: m.xid, id: m.id }).max() {
            crate::sql!("log/raise_inbox_mark.sql")
                .bind::<BigInt, _>(top.xid)
                .bind::<BigInt, _>(top.id)
                .execute(conn)
                .await?;
        }
        crate::sql!("log/expire_tickets.sql").execute(conn).await?;
        Ok(gone.len().max(inbox_gone.len()))
    })
    .await
}
