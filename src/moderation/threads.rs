//! POST /threads/{thread_id}/moderation: lock, unlock, pin, unpin, hide, restore.

use actix_web::post;
use actix_web::web;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::modlog::{self as modlog, Action, Target};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::Json;
use crate::schema::threads;
use crate::state::AppState;
use crate::threads::models::Thread;
use crate::views::{self, ThreadView, Viewer};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(moderate_thread);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThreadAction {
    Lock,
    Unlock,
    Pin,
    Unpin,
    Hide,
    Restore,
}

impl ThreadAction {
    fn logged_as(self) -> Action {
        match self {
            ThreadAction::Lock => Action::Lock,
            ThreadAction::Unlock => Action::Unlock,
            ThreadAction::Pin => Action::Pin,
            ThreadAction::Unpin => Action::Unpin,
            ThreadAction::Hide => Action::Hide,
            ThreadAction::Restore => Action::Restore,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerateThread {
    pub action: ThreadAction,
    /// At most 1,000 characters. Goes to the moderation log; for `hide`, also
    /// shown to moderators on the thread.
    #[schema(schema_with = limits::optional_reason_or_null)]
    pub reason: Option<String>,
}

/// Applies `action` to the locked thread row; false when it changes nothing.
async fn apply(
    conn: &mut diesel_async::AsyncPgConnection,
    thread: &Thread,
    action: ThreadAction,
    actor: Uuid,
    reason: Option<&str>,
) -> ApiResult<bool> {
    let row = threads::table.find(thread.id);
    let changed = match action {
        ThreadAction::Lock | ThreadAction::Unlock => {
            let want = action == ThreadAction::Lock;
            thread.locked != want
                && diesel::update(row).set(threads::locked.eq(want)).execute(conn).await? == 1
        }
        ThreadAction::Pin | ThreadAction::Unpin => {
            let want = action == ThreadAction::Pin;
            thread.pinned != want
                && diesel::update(row).set(threads::pinned.eq(want)).execute(conn).await? == 1
        }
        // The counters follow `hidden` through the threads_counted_update
        // trigger (src/db/replaceable/triggers.sql).
        ThreadAction::Hide => {
            !thread.hidden
                && diesel::update(row)
                    .set((
                        threads::hidden.eq(true),
                        threads::hidden_by.eq(Some(actor)),
                        threads::hidden_reason.eq(reason),
                    ))
                    .execute(conn)
                    .await?
                    == 1
        }
        ThreadAction::Restore => {
            thread.hidden
                && diesel::update(row)
                    .set((
                        threads::hidden.eq(false),
                        threads::hidden_by.eq(None::<Uuid>),
                        threads::hidden_reason.eq(None::<String>),
                    ))
                    .execute(conn)
                    .await?
                    == 1
        }
    };
    Ok(changed)
}

/// Lock, unlock, pin, unpin, hide or restore a thread (moderator or above of
/// its group). Idempotent: an action that changes nothing is 200 and is not logged.
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])), request_body = ModerateThread,
    responses(
        (status = 200, description = "The thread as a moderator sees it", body = ThreadView),
        (status = 401, body = Problem),
        (status = 403, description = "`insufficient_role` or `banned`", body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Unknown action or a reason over 1,000 characters", body = Problem),
    ))]
#[post("/threads/{thread_id}/moderation")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn moderate_thread(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<ModerateThread>,
) -> ApiResult<web::Json<ThreadView>> {
    let req = body.0;
    let reason = super::optional_reason(req.reason.as_deref())?;
    let thread_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Thread(thread_id)).await?;
    let actor = access.require(Role::Moderator)?;
    let group_id = access.group_id;
    let access_after = access.clone();
    conn.transaction::<_, ApiError, _>(async move |conn| {
        // Concurrent actions on one thread take turns on its row.
        let thread: Thread = threads::table
            .find(thread_id)
            .select(Thread::as_select())
            .for_no_key_update()
            .first(conn)
            .await?;
        // Hiding acts on the author's words; locking and pinning on the discussion.
        if matches!(req.action, ThreadAction::Hide | ThreadAction::Restore) {
            access::require_outranks(conn, &access, thread.author_id).await?;
        }
        if apply(conn, &thread, req.action, actor, reason.as_deref()).await? {
            let target = Target::Thread(thread_id);
            modlog::record(conn, group_id, actor, req.action.logged_as(), target, reason.as_deref()).await?;
        }
        Ok(())
    })
    .await?;
    Ok(web::Json(views::thread::one(&mut conn, Viewer::of(&access_after), thread_id).await?))
}
