use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::threads;

crate::db_enum! {
    /// A discussion, or a question that can be voted on and answered.
    #[derive(Default)]
    pub enum ThreadKind {
        #[default]
        Discussion,
        Question,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = threads)]
pub struct Thread {
    pub id: Uuid,
    pub session_id: Uuid,
    pub paragraph_id: Uuid,
    pub author_id: Uuid,
    pub title: Option<String>,
    pub quote_exact: Option<String>,
    pub quote_start: Option<i32>,
    pub quote_end: Option<i32>,
    pub locked: bool,
    pub pinned: bool,
    pub hidden: bool,
    pub hidden_by: Option<Uuid>,
    pub hidden_reason: Option<String>,
    pub comment_count: i32,
    pub created_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    pub kind: ThreadKind,
    /// Every stored vote, banned voters' included (see `crate::questions`).
    pub vote_count: i32,
    /// Accepted answers whose comment counts.
    pub answer_count: i32,
}
