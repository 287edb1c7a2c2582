use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::schema::{comments, threads};

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

pub struct NewComment<'a> {
    pub thread_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub depth: i16,
    pub author_id: Uuid,
    pub body: &'a str,
}

/// Inserts a comment; the database fills in its tree key and the counters.
#[tracing::instrument(skip_all)]
pub async fn insert_comment(conn: &mut AsyncPgConnection, new: &NewComment<'_>) -> ApiResult<Comment> {
    Ok(diesel::insert_into(comments::table)
        .values((
            comments::id.eq(Uuid::now_v7()),
            comments::thread_id.eq(new.thread_id),
            comments::parent_id.eq(new.parent_id),
            comments::depth.eq(new.depth),
            // Replaced by the comments_posted trigger.
            comments::sort_key.eq(""),
            comments::author_id.eq(new.author_id),
            comments::body.eq(new.body),
        ))
        .returning(Comment::as_returning())
        .get_result(conn)
        .await?)
}
