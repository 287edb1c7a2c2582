//! A comment's earlier version, as moderators see its edit history: the
//! one place a `CommentEditView` is made. (Essay revisions are another
//! thing: `crate::essays::revisions`.)

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::UserView;
use crate::error::ApiResult;
use crate::http::pages::keyset;
use crate::http::Page;
use crate::schema::{comment_revisions as revs, users};

// Served as `RevisionView`, the name clients have generated types from.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RevisionView)]
pub struct CommentEditView {
    /// The comment's text as it was.
    body: String,
    /// When this version was written.
    edited_at: DateTime<Utc>,
    editor: UserView,
}

#[derive(Queryable)]
struct Row {
    id: Uuid,
    body: String,
    edited_at: DateTime<Utc>,
    editor: UserView,
}

/// A page of the comment's earlier versions, oldest first, after `after`.
#[tracing::instrument(skip_all)]
pub async fn page(
    conn: &mut AsyncPgConnection,
    comment_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> ApiResult<Page<CommentEditView>> {
    let mut query = revs::table
        .inner_join(users::table.on(users::id.eq(revs::editor_id)))
        .filter(revs::comment_id.eq(comment_id))
        .order((revs::edited_at.asc(), revs::id.asc()))
        .select((revs::id, revs::body, revs::edited_at, UserView::as_select()))
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset!(>, revs::edited_at => at, revs::id => id));
    }
    let rows = query.load::<Row>(conn).await?;
    let page = Page::from_rows(rows, limit, |r| (r.edited_at, r.id));
    Ok(page.map(|r| CommentEditView { body: r.body, edited_at: r.edited_at, editor: r.editor }))
}
