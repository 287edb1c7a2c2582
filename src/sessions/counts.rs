//! Reading the per-paragraph counters. They are kept by the triggers of the
//! threads migration (the one "is counted" rule) and only read here, so a
//! read costs one index range scan however many comments the session holds.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::schema::{paragraph_counts as pc, paragraphs, reading_sessions as rs};

#[derive(Debug, Serialize, ToSchema)]
pub struct ParagraphCount {
    pub paragraph_id: Uuid,
    pub position: i32,
    pub thread_count: i32,
    pub comment_count: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParagraphWithCounts {
    pub paragraph_id: Uuid,
    pub position: i32,
    pub text: String,
    pub thread_count: i32,
    pub comment_count: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCounts {
    pub session_id: Uuid,
    pub paragraphs: Vec<ParagraphCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionParagraphs {
    pub session_id: Uuid,
    pub paragraphs: Vec<ParagraphWithCounts>,
}

/// Every paragraph of the session's essay in order, zeros included.
pub async fn counts(conn: &mut AsyncPgConnection, session_id: Uuid) -> ApiResult<Vec<ParagraphCount>> {
    let rows: Vec<(Uuid, i32, Option<i32>, Option<i32>)> = paragraphs::table
        .left_join(pc::table.on(pc::paragraph_id.eq(paragraphs::id).and(pc::session_id.eq(session_id))))
        .filter(
            paragraphs::essay_id
                .nullable()
                .eq(rs::table.find(session_id).select(rs::essay_id).single_value()),
        )
        .order(paragraphs::position.asc())
        .select((
            paragraphs::id,
            paragraphs::position,
            pc::thread_count.nullable(),
            pc::comment_count.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(paragraph_id, position, threads, comments)| ParagraphCount {
            paragraph_id,
            position,
            thread_count: threads.unwrap_or(0),
            comment_count: comments.unwrap_or(0),
        })
        .collect())
}

#[derive(Queryable)]
struct TextRow {
    paragraph_id: Uuid,
    position: i32,
    text: String,
    threads: Option<i32>,
    comments: Option<i32>,
}

pub async fn paragraphs_with_counts(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
) -> ApiResult<Vec<ParagraphWithCounts>> {
    let rows: Vec<TextRow> = paragraphs::table
        .left_join(pc::table.on(pc::paragraph_id.eq(paragraphs::id).and(pc::session_id.eq(session_id))))
        .filter(
            paragraphs::essay_id
                .nullable()
                .eq(rs::table.find(session_id).select(rs::essay_id).single_value()),
        )
        .order(paragraphs::position.asc())
        .select((
            paragraphs::id,
            paragraphs::position,
            paragraphs::text,
            pc::thread_count.nullable(),
            pc::comment_count.nullable(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| ParagraphWithCounts {
            paragraph_id: r.paragraph_id,
            position: r.position,
            text: r.text,
            thread_count: r.threads.unwrap_or(0),
            comment_count: r.comments.unwrap_or(0),
        })
        .collect())
}
