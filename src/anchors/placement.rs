//! How well a thread's quote sits in the current text (`thread_anchors`):
//! written when a thread starts, changed by essay revisions
//! (`src/essays/revisions.rs`) and by a moderator's re-attach
//! (`super::reanchor`), and shown on every thread as `anchor`
//! (`crate::views::thread`).

use diesel::prelude::*;
use diesel::sql_types::{Int4, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::AnchoredQuote;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::essays::revise::text::context;
use crate::schema::thread_anchors;

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
    let text: Option<String> = crate::sql!("placement/lock_paragraph.sql")
        .bind::<SqlUuid, _>(session_id)
        .bind::<SqlUuid, _>(paragraph_id)
        .get_result::<TextRow>(conn)
        .await
        .optional()?
        .map(|r| r.text);
    // A statement of its own, after the lock: it sees a revision that
    // committed while we waited.
    let row: EssayRow =
        crate::sql!("placement/essay_revision.sql").bind::<SqlUuid, _>(session_id).get_result(conn).await?;
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
