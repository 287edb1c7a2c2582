//! A moderator re-attaches a thread: an orphan of an essay revision, or a
//! fuzzy move put right. Logged as `reanchor`; the thread's counts move with
//! it through the `threads_counted_move` trigger.

use actix_web::post;
use actix_web::web;
use diesel::prelude::*;
use diesel::sql_types::{Int4, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::placement as anchor;
use super::{AnchoredQuote, Quote};
use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::modlog::{self, Action, Target};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::Json;
use crate::schema::{essays, reading_sessions as rs, threads};
use crate::state::AppState;
use crate::threads::models::Thread;
use crate::views::{self, ThreadView, Viewer};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(reanchor_thread);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reanchor {
    /// A current paragraph of the thread's essay.
    pub paragraph_id: Uuid,
    /// A span of that paragraph; none makes it a paragraph-level thread.
    pub quote: Option<Quote>,
}

/// Re-attach a thread to a paragraph (and quote) of the current text
/// (moderator). Its anchor becomes `anchored` at the current revision; the
/// first quote is kept in `anchor.original_quote`.
#[utoipa::path(tag = "moderation", security(("bearer" = [])),
    request_body = Reanchor,
    responses(
        (status = 200, body = ThreadView),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Not a current paragraph of the essay, or a quote that does not match", body = Problem),
    ))]
#[post("/threads/{thread_id}/anchor")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn reanchor_thread(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<Reanchor>,
) -> ApiResult<web::Json<ThreadView>> {
    let req = body.0;
    let thread_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Thread(thread_id)).await?;
    let actor = access.require(Role::Moderator)?;
    let viewer = Viewer::of(&access);
    let group_id = access.group_id;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let session_id: Uuid = threads::table.find(thread_id).select(threads::session_id).first(conn).await?;
        // Essay FOR SHARE: no revision runs while the thread is re-attached
        // (a revision takes it FOR UPDATE first).
        let essay_id: Uuid = rs::table.find(session_id).select(rs::essay_id).first(conn).await?;
        let _: i32 = essays::table.find(essay_id).select(essays::revision).for_share().first(conn).await?;
        let paragraph = anchor::lock_paragraph(conn, session_id, req.paragraph_id).await?;
        let Some(text) = paragraph.text else {
            return Err(ApiError::invalid_field("paragraph_id", "is not a current paragraph of this essay"));
        };
        let quote: Option<AnchoredQuote> = req
            .quote
            .map(|q| q.anchor(&text))
            .transpose()
            .map_err(|m| ApiError::invalid_field("quote", m))?;
        let thread: Thread = threads::table
            .find(thread_id)
            .select(Thread::as_select())
            .for_no_key_update()
            .first(conn)
            .await?;
        let (prefix, suffix) = anchor::quote_context(&text, quote.as_ref()).unzip();
        let to_quote = quote.as_ref().map(|q| {
            let (start, end) = q.span();
            serde_json::json!({"exact": q.exact(), "start": start, "end": end})
        });
        let from_quote = thread.quote_exact.as_ref().map(
            |exact| serde_json::json!({"exact": exact, "start": thread.quote_start, "end": thread.quote_end}),
        );
        // Threads written outside the API (`pilcrow demo`) may have no anchor row yet.
        crate::sql!("reanchor/ensure_anchor.sql").bind::<SqlUuid, _>(thread_id).execute(conn).await?;
        crate::sql!("reanchor/anchor.sql")
            .bind::<SqlUuid, _>(thread_id)
            .bind::<Int4, _>(paragraph.revision)
            .bind::<Nullable<Text>, _>(prefix)
            .bind::<Nullable<Text>, _>(suffix)
            .execute(conn)
            .await?;
        crate::sql!("reanchor/record_history.sql")
            .bind::<SqlUuid, _>(thread_id)
            .bind::<Int4, _>(paragraph.revision)
            .bind::<SqlUuid, _>(actor)
            .bind::<SqlUuid, _>(thread.paragraph_id)
            .bind::<SqlUuid, _>(req.paragraph_id)
            .bind::<Nullable<Jsonb>, _>(from_quote)
            .bind::<Nullable<Jsonb>, _>(to_quote)
            .execute(conn)
            .await?;
        // The paragraph change (if any) moves the counts: threads_counted_move.
        diesel::update(threads::table.find(thread_id))
            .set((
                threads::paragraph_id.eq(req.paragraph_id),
                threads::quote_exact.eq(quote.as_ref().map(AnchoredQuote::exact)),
                threads::quote_start.eq(quote.as_ref().map(|q| q.span().0)),
                threads::quote_end.eq(quote.as_ref().map(|q| q.span().1)),
            ))
            .execute(conn)
            .await?;
        modlog::record(conn, group_id, actor, Action::Reanchor, Target::Thread(thread_id), None).await?;
        Ok(())
    })
    .await?;
    Ok(web::Json(views::thread::one(&mut conn, viewer, thread_id).await?))
}
