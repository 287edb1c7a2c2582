//! The read side: every view the API answers with is built here, whole, for
//! one reader, in the module named after it. Routes, live events and kept
//! answers take views only from these modules, and a view's fields are
//! private to its module, so a half-built one cannot be made elsewhere.
//!
//! Each module also declares which columns its view reads ([`Reads`]). A
//! view that is served again without being rebuilt (kept responses, a client's
//! 304, a live event) is exact only while every change to those columns
//! either appends a session event or moves a watermark: the triggers of
//! `src/db/replaceable/triggers.sql` that do so watch named columns
//! (`AFTER UPDATE OF …`). `tests/api/read_models.rs` compares each
//! declaration with those watch lists, so a column added to a view and
//! forgotten there fails a test instead of serving stale answers.

pub mod comment;
pub mod comment_edit;
pub mod counts;
pub mod essay_revision;
pub mod notification;
pub mod reads;
pub mod report;
pub mod session_report;
pub mod thread;
pub mod user;

pub use comment::CommentView;
pub use reads::Reads;
pub use thread::ThreadView;
pub use user::UserView;

use uuid::Uuid;

use crate::access::GroupAccess;

/// Who a view is built for: what they may see depends on their role, and
/// some fields (their own vote, their unread counts, whose writing comes
/// collapsed) on who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer<'a> {
    pub user_id: Option<Uuid>,
    pub moderator: bool,
    /// The users the reader blocks, sorted, whose threads and comments
    /// reach them collapsed (`author_blocked: true`, no body or title);
    /// empty unless a read route asked for it ([`Viewer::collapsing`]).
    pub blocked: &'a [Uuid],
}

impl<'a> Viewer<'a> {
    /// Every member reading a live stream: nobody's own state in it.
    pub const MEMBERS: Viewer<'static> = Viewer { user_id: None, moderator: false, blocked: &[] };
    /// Every moderator reading a live stream.
    pub const MODERATORS: Viewer<'static> = Viewer { user_id: None, moderator: true, blocked: &[] };

    pub fn of(access: &GroupAccess) -> Viewer<'static> {
        Viewer { user_id: access.user_id, moderator: access.is_moderator(), blocked: &[] }
    }

    /// The same reader, with the writing of the users in `blocked` (sorted:
    /// [`crate::users::blocks::blocked_by`]) collapsed.
    pub fn collapsing(self, blocked: &'a [Uuid]) -> Viewer<'a> {
        Viewer { blocked, ..self }
    }

    /// Whether what `author` wrote reaches this reader collapsed.
    pub fn blocks(&self, author: Uuid) -> bool {
        self.blocked.binary_search(&author).is_ok()
    }
}

/// Who hid something and why: shown to moderators only.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Moderation {
    pub hidden_by: Option<Uuid>,
    pub hidden_reason: Option<String>,
}

impl Moderation {
    /// Present for moderators when the thing is hidden.
    fn shown_to(
        viewer: Viewer,
        hidden: bool,
        hidden_by: Option<Uuid>,
        hidden_reason: Option<String>,
    ) -> Option<Self> {
        (viewer.moderator && hidden).then_some(Moderation { hidden_by, hidden_reason })
    }
}

/// Every view's declaration, for the test that checks them against the
/// triggers' watch lists.
pub fn declarations() -> Vec<Reads> {
    vec![thread::reads(), comment::reads(), user::reads(), counts::reads(), session_report::reads()]
}
