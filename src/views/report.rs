//! A report as moderators see it (with the comment, as a moderator sees
//! it) or as its reporter does (without): the one place a `ReportView` is
//! made. Reports are shown to nobody else.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CommentView, UserView, Viewer};
use crate::comments::Comment;
use crate::error::{ApiError, ApiResult};
use crate::moderation::reports::models::{Outcome, Report, ReportStatus};
use crate::schema::users;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: Uuid,
    pub group_id: Uuid,
    pub comment_id: Uuid,
    /// Who reported it (the reporter, and moderators, see this; nobody else sees reports).
    pub reporter: UserView,
    pub reason: String,
    pub status: ReportStatus,
    /// Once resolved.
    pub outcome: Option<Outcome>,
    pub note: Option<String>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The comment as a moderator sees it (in moderators' views only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<CommentView>,
}

impl ReportView {
    /// As its reporter sees it: without the comment.
    pub fn for_reporter(r: Report, reporter: UserView) -> Self {
        Self::new(r, reporter, None)
    }

    fn new(r: Report, reporter: UserView, comment: Option<CommentView>) -> Self {
        ReportView {
            id: r.id,
            group_id: r.group_id,
            comment_id: r.comment_id,
            reporter,
            reason: r.reason,
            status: r.status,
            outcome: r.outcome,
            note: r.note,
            resolved_by: r.resolved_by,
            resolved_at: r.resolved_at,
            created_at: r.created_at,
            comment,
        }
    }
}

/// Moderators' views of `rows`: each with its reporter and its comment.
pub async fn for_moderators(conn: &mut AsyncPgConnection, rows: Vec<Report>) -> ApiResult<Vec<ReportView>> {
    let comment_ids: Vec<Uuid> = rows.iter().map(|r| r.comment_id).collect();
    let reporter_ids: Vec<Uuid> = rows.iter().map(|r| r.reporter_id).collect();
    let mut found: HashMap<Uuid, (Comment, UserView)> =
        super::comment::rows(conn, &comment_ids).await?.into_iter().map(|(c, u)| (c.id, (c, u))).collect();
    let reporters: HashMap<Uuid, UserView> = users::table
        .filter(users::id.eq_any(&reporter_ids))
        .select(UserView::as_select())
        .load::<UserView>(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let mut views = Vec::with_capacity(rows.len());
    for r in rows {
        let comment =
            found.remove(&r.comment_id).map(|(c, author)| CommentView::of(Viewer::MODERATORS, c, author));
        let Some(reporter) = reporters.get(&r.reporter_id).cloned() else { continue };
        views.push(ReportView::new(r, reporter, comment));
    }
    Ok(views)
}

/// One report as moderators see it.
pub async fn one_for_moderators(conn: &mut AsyncPgConnection, report: Report) -> ApiResult<ReportView> {
    for_moderators(conn, vec![report]).await?.pop().ok_or_else(ApiError::not_found)
}
