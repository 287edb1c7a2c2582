//! Turning log rows into what each viewer receives. The log holds ids only;
//! here each event is rendered at delivery time, once as a member sees the
//! resource now and once as a moderator does, with the same views the REST
//! routes serve (`ThreadView`, `CommentView`, `SessionView`). The rules:
//! - a hidden thread, and every comment in it, never reaches members; hiding
//!   a thread reaches them as `thread.removed {thread_id}` (moderators get
//!   `thread.updated` with `hidden: true`);
//! - a hidden or deleted comment reaches members with `body: null`;
//! - `access.changed` reaches nobody: it makes open streams check access;
//! - each batch ends with one `counts` event: the current counters of every
//!   paragraph its events touched (the same for every viewer).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix_web::web::Bytes;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use super::log::Page;
use crate::comments::Comment;
use crate::error::{ApiError, ApiResult};
use crate::sessions::models::{self as sessions_db, SessionView};
use crate::versions::cursor::Cursor;
use crate::views::{self, CommentView, UserView, Viewer};

/// One event as one kind of viewer gets it: its kind, its `data` JSON, and
/// the whole SSE frame with its id, formatted once and shared by every
/// reader (sending it to a thousand streams copies no bytes).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub event: &'static str,
    pub data: Arc<str>,
    pub frame: Bytes,
}

impl Rendered {
    fn at(mut self, id: Cursor) -> Self {
        self.frame = Bytes::from(format!("id: {id}\nevent: {}\ndata: {}\n\n", self.event, self.data));
        self
    }
}

/// One logged event, rendered for both kinds of viewer (`None`: not for them).
#[derive(Debug, Clone)]
pub struct Delivered {
    pub cursor: Cursor,
    pub member: Option<Rendered>,
    pub moderator: Option<Rendered>,
    /// `access.changed`: whose streams check access again (`Some(None)`: everyone's).
    pub recheck: Option<Option<Uuid>>,
}

/// A run of consecutive events: every event after `from` up to `to`, none
/// missing. `counts` follows the events, with the id `to` carries.
#[derive(Debug, Clone)]
pub struct Batch {
    pub from: Cursor,
    pub to: Cursor,
    pub events: Vec<Delivered>,
    pub counts: Option<Rendered>,
    /// Every frame of the batch for a member, then for a moderator, counts
    /// included, in one buffer: a reader who has none of the batch yet (every
    /// live reader) gets it in one send and, mostly, one socket write, where
    /// a frame at a time cost a channel send and a timer per frame per reader.
    pub whole: (Bytes, Bytes),
    /// Whose access changed in events that sort after this batch but had
    /// committed when it was read (`None`: everyone's): those readers check
    /// access before any of it is sent.
    pub later_access: Vec<Option<Uuid>>,
    /// When the read began: a check started since then sees every access
    /// change the batch names.
    pub read_at: std::time::Instant,
}

impl Batch {
    /// No events: where a pump begins. A stream that replayed the log before
    /// the pump read its first horizon may have stopped below it (an event
    /// settled in between), and the pump passes what lies below without a
    /// batch; this one, starting above the stream, sends it back to the log.
    pub fn start_at(at: Cursor) -> Self {
        Batch {
            from: at,
            to: at,
            events: Vec::new(),
            counts: None,
            whole: (Bytes::new(), Bytes::new()),
            later_access: Vec::new(),
            read_at: std::time::Instant::now(),
        }
    }
}

/// Renders the page read after `from` as one batch.
#[tracing::instrument(skip_all, fields(events = page.rows.len()))]
pub async fn batch(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    from: Cursor,
    page: &Page,
) -> ApiResult<Batch> {
    let (rows, to) = (&page.rows, page.reached);
    let thread_ids: HashSet<Uuid> = rows.iter().filter_map(|r| r.thread_id).collect();
    let comment_ids: HashSet<Uuid> = rows.iter().filter_map(|r| r.comment_id).collect();
    // Thread views as the REST routes build them, once per role:
    // (member's, moderator's).
    let thread_ids: Vec<Uuid> = thread_ids.into_iter().collect();
    let threads = views::thread::for_live(conn, &thread_ids).await?;
    let comment_ids: Vec<Uuid> = comment_ids.into_iter().collect();
    let comments: HashMap<Uuid, (Comment, UserView)> =
        views::comment::rows(conn, &comment_ids).await?.into_iter().map(|row| (row.0.id, row)).collect();
    let session = if rows.iter().any(|r| r.kind == "session.updated") {
        let view = SessionView::from(sessions_db::find(conn, session_id).await?);
        Some(to_json(&json!({ "session": view }))?)
    } else {
        None
    };

    let mut events = Vec::with_capacity(rows.len());
    let mut touched: Vec<Uuid> = Vec::new();
    for row in rows {
        touched.extend(row.paragraph_id);
        if let Some(old) = row.detail.as_ref().and_then(|d| d.get("old_paragraph_id")) {
            touched.extend(old.as_str().and_then(|s| s.parse::<Uuid>().ok()));
        }
        let thread = row.thread_id.and_then(|id| threads.get(&id));
        let (member, moderator) = match row.kind.as_str() {
            kind @ ("thread.created" | "thread.updated" | "thread.restored") => match thread {
                Some((member_view, moderator_view)) => {
                    let kind = static_kind(kind);
                    let member = if member_view.hidden() {
                        None
                    } else {
                        Some(rendered(kind, json!({ "thread": member_view }))?)
                    };
                    let moderator = rendered(kind, json!({ "thread": moderator_view }))?;
                    (member, Some(moderator))
                }
                None => (None, None),
            },
            "thread.removed" => {
                let member = rendered("thread.removed", json!({ "thread_id": row.thread_id }))?;
                let moderator = match thread {
                    Some((_, moderator_view)) => {
                        Some(rendered("thread.updated", json!({ "thread": moderator_view }))?)
                    }
                    None => None,
                };
                (Some(member), moderator)
            }
            kind @ ("comment.created" | "comment.updated") => {
                let comment = row.comment_id.and_then(|id| comments.get(&id));
                match (comment, thread) {
                    (Some((c, author)), Some((thread, _))) => {
                        let kind = static_kind(kind);
                        let member = if thread.hidden() {
                            None
                        } else {
                            Some(rendered(
                                kind,
                                json!({ "comment": CommentView::of(Viewer::MEMBERS, c.clone(), author.clone()) }),
                            )?)
                        };
                        let moderator = rendered(
                            kind,
                            json!({ "comment": CommentView::of(Viewer::MODERATORS, c.clone(), author.clone()) }),
                        )?;
                        (member, Some(moderator))
                    }
                    _ => (None, None),
                }
            }
            "session.updated" => {
                let both = session.clone().map(|data| Rendered {
                    event: "session.updated",
                    data,
                    frame: Bytes::new(),
                });
                (both.clone(), both)
            }
            "essay.revised" => {
                let detail = row.detail.clone().unwrap_or_default();
                let data = json!({ "essay_id": detail.get("essay_id"), "revision": detail.get("revision") });
                let both = rendered("essay.revised", data)?;
                (Some(both.clone()), Some(both))
            }
            _ => (None, None),
        };
        let recheck = (row.kind == "access.changed").then_some(row.target_user_id);
        let cursor = row.cursor();
        let (member, moderator) = (member.map(|r| r.at(cursor)), moderator.map(|r| r.at(cursor)));
        events.push(Delivered { cursor, member, moderator, recheck });
    }
    touched.sort_unstable();
    touched.dedup();
    let counts =
        if touched.is_empty() { None } else { Some(counts(conn, session_id, &touched).await?.at(to)) };
    let whole = |pick: fn(&Delivered) -> &Option<Rendered>| -> Bytes {
        let frames = events.iter().filter_map(|e| pick(e).as_ref()).chain(counts.as_ref());
        let mut joined = Vec::with_capacity(frames.clone().map(|r| r.frame.len()).sum());
        for rendered in frames {
            joined.extend_from_slice(&rendered.frame);
        }
        Bytes::from(joined)
    };
    let whole = (whole(|e| &e.member), whole(|e| &e.moderator));
    Ok(Batch {
        from,
        to,
        events,
        counts,
        whole,
        later_access: page.later_access.clone(),
        read_at: page.read_at,
    })
}

fn static_kind(kind: &str) -> &'static str {
    match kind {
        "thread.created" => "thread.created",
        "thread.updated" => "thread.updated",
        "thread.restored" => "thread.restored",
        "comment.created" => "comment.created",
        _ => "comment.updated",
    }
}

fn to_json(value: &serde_json::Value) -> ApiResult<Arc<str>> {
    Ok(serde_json::to_string(value).map_err(ApiError::internal)?.into())
}

fn rendered(event: &'static str, data: serde_json::Value) -> ApiResult<Rendered> {
    Ok(Rendered { event, data: to_json(&data)?, frame: Bytes::new() })
}

/// The `counts` event: the touched paragraphs' current counters. Shared by
/// every reader, so without anyone's `unread_count` (a reader's own unread
/// counts come from `/counts`).
async fn counts(conn: &mut AsyncPgConnection, session_id: Uuid, touched: &[Uuid]) -> ApiResult<Rendered> {
    let paragraphs = views::counts::for_live(conn, session_id, touched).await?;
    rendered("counts", json!({ "session_id": session_id, "paragraphs": paragraphs }))
}
