//! A comment as stored.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::comments;

/// `QueryableByName` too: posting reads it back from `r.post_comments`.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = comments)]
pub struct Comment {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub depth: i16,
    pub sort_key: String,
    pub author_id: Uuid,
    pub body: String,
    pub deleted: bool,
    pub hidden: bool,
    pub hidden_by: Option<Uuid>,
    pub hidden_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}
