//! The `anchor` of a thread's view: how well its quote sits in the current
//! text, as `thread_anchors` holds it (written when the thread starts,
//! changed by essay revisions and by a moderator's re-attach).

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::essays::revise::{AnchorStatus, OrphanReason};
use crate::schema::thread_anchors;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnchorView {
    status: AnchorStatus,
    /// Why, when orphaned.
    reason: Option<OrphanReason>,
    /// For fuzzy anchors: how similar the new text is to the old quote (0–1).
    confidence: Option<f32>,
    /// The essay revision the anchor was last set on.
    revision: i32,
    /// The quote as first written (`{paragraph_id, exact, start, end,
    /// revision}`), once the thread has moved or been orphaned; null before.
    #[schema(value_type = Option<Object>)]
    original_quote: Option<serde_json::Value>,
    /// Up to 32 code points before and after the quote in its paragraph.
    prefix: Option<String>,
    suffix: Option<String>,
}

/// The columns of [`AnchorView`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = thread_anchors)]
pub(super) struct AnchorColumns {
    status: AnchorStatus,
    reason: Option<OrphanReason>,
    confidence: Option<f32>,
    revision: i32,
    original_quote: Option<serde_json::Value>,
    quote_prefix: Option<String>,
    quote_suffix: Option<String>,
}

impl From<Option<AnchorColumns>> for AnchorView {
    /// A thread has its anchor row from the start; one without (written
    /// before anchors were kept) is anchored as first written.
    fn from(row: Option<AnchorColumns>) -> Self {
        match row {
            Some(a) => AnchorView {
                status: a.status,
                reason: a.reason,
                confidence: a.confidence,
                revision: a.revision,
                original_quote: a.original_quote,
                prefix: a.quote_prefix,
                suffix: a.quote_suffix,
            },
            None => AnchorView {
                status: AnchorStatus::Anchored,
                reason: None,
                confidence: None,
                revision: 1,
                original_quote: None,
                prefix: None,
                suffix: None,
            },
        }
    }
}
