//! How well a thread's quote sits in the current text (`thread_anchors`):
//! written when a thread starts, changed by essay revisions
//! (`src/essays/revisions.rs`) and by a moderator's re-attach
//! (`super::reanchor`), and shown on every thread as `anchor`.

use diesel::prelude::*;
use diesel::sql_types::{Int4, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::anchors::AnchoredQuote;
use super::models::ThreadView;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::essays::revise::text::context;
use crate::essays::revise::{AnchorStatus, OrphanReason};
use crate::schema::thread_anchors;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnchorView {
    pub status: AnchorStatus,
    /// Why, when orphaned.
    pub reason: Option<OrphanReason>,
    /// For fuzzy anchors: how similar the new text is to the old quote (0–1).
    pub confidence: Option<f32>,
    /// The essay revision the anchor was last set on.
    pub revision: i32,
    /// The quote as first written (`{paragraph_id, exact, start, end,
    /// revision}`), once the thread has moved or been orphaned; null before.
    #[schema(value_type = Option<Object>)]
    pub original_quote: Option<serde_json::Value>,
    /// Up to 32 code points before and after the quote in its paragraph.
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

impl Default for AnchorView {
    fn default() -> Self {
        AnchorView {
            status: AnchorStatus::Anchored,
            reason: None,
            confidence: None,
            revision: 1,
            original_quote: None,
            prefix: None,
            suffix: None,
        }
    }
}

type AnchorRow = (
    Uuid,
    AnchorStatus,
    Option<OrphanReason>,
    Option<f32>,
    i32,
    Option<serde_json::Value>,
    Option<String>,
    Option<String>,
);

/// Fills in `anchor` on threads built by `ThreadView::new`: one query for
/// any number of them.
#[tracing::instrument(skip_all)]
pub async fn fill(conn: &mut AsyncPgConnection, views: &mut [ThreadView]) -> ApiResult<()> {
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<AnchorRow> = thread_anchors::table
        .filter(thread_anchors::thread_id.eq_any(&ids))
        .select((
            thread_anchors::thread_id,
            thread_anchors::status,
            thread_anchors::reason,
            thread_anchors::confidence,
            thread_anchors::revision,
            thread_anchors::original_quote,
            thread_anchors::quote_prefix,
            thread_anchors::quote_suffix,
        ))
        .load(conn)
        .await?;
    for (id, status, reason, confidence, revision, original_quote, prefix, suffix) in rows {
        if let Some(v) = views.iter_mut().find(|v| v.id == id) {
            v.anchor = AnchorView { status, reason, confidence, revision, original_quote, prefix, suffix };
        }
    }
    Ok(())
}

/// A current paragraph of a session's essay, read `FOR SHARE`, and the
/// essay's revision read after that lock.
pub struct LockedParagraph {
    pub essay_id: Uuid,
    pub revision: i32,
    /// None when the paragraph is not a current one of the essay.
    pub text: Option<String>,
}

#[derive(QueryableByName)]
struct EssayRow {
    #[diesel(sql_type = SqlUuid)]
    essay_id: Uuid,
    #[diesel(sql_type = Int4)]
    revision: i32,
}

/// Share-locks `paragraph_id` if it is a current paragraph of the session's
/// essay. A revision holding it waits for us, or we wait for the revision
/// and then read its result (retired: not found; edited: the new text).
#[tracing::instrument(skip_all)]
pub async fn lock_paragraph(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    paragraph_id: Uuid,
) -> ApiResult<LockedParagraph> {
    let text: Option<String> = crate::sql!("anchor/lock_paragraph.sql")
        .bind::<SqlUuid, _>(session_id)
        .bind::<SqlUuid, _>(paragraph_id)
        .get_result::<TextRow>(conn)
        .await
        .optional()?
        .map(|r| r.text);
    // A statement of its own, after the lock: it sees a revision that
    // committed while we waited.
    let row: EssayRow =
        crate::sql!("anchor/essay_revision.sql").bind::<SqlUuid, _>(session_id).get_result(conn).await?;
    Ok(LockedParagraph { essay_id: row.essay_id, revision: row.revision, text })
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    text: String,
}

/// 409 `essay_revised` when the client read another revision than the current one.
pub fn check_revision(current: i32, seen: i32) -> ApiResult<()> {
    if seen != current {
        return Err(ApiError::conflict(
            ErrorCode::EssayRevised,
            format!("The essay is now at revision {current} (you read {seen}): reload it and choose the quote again."),
        ));
    }
    Ok(())
}

/// The anchor row of a thread that just started on `text` at `revision`.
#[tracing::instrument(skip_all)]
pub async fn record_new(
    conn: &mut AsyncPgConnection,
    thread_id: Uuid,
    text: &str,
    revision: i32,
    quote: Option<&AnchoredQuote>,
) -> ApiResult<()> {
    let (prefix, suffix) = quote_context(text, quote).unzip();
    diesel::insert_into(thread_anchors::table)
        .values((
            thread_anchors::thread_id.eq(thread_id),
            thread_anchors::quote_prefix.eq(prefix),
            thread_anchors::quote_suffix.eq(suffix),
            thread_anchors::revision.eq(revision),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The 32 code points either side of `quote` in `text`.
pub fn quote_context(text: &str, quote: Option<&AnchoredQuote>) -> Option<(String, String)> {
    let (start, end) = quote?.span();
    let chars: Vec<char> = text.chars().collect();
    Some(context(&chars, start as usize, end as usize))
}
