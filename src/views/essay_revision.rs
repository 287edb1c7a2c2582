//! An essay's revisions as readers see them: the history (who revised,
//! when, what changed) and the text as of any revision. The one place these
//! views are made; applying a revision is `crate::essays::revisions`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Int4, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::UserView;
use crate::error::{ApiError, ApiResult};
use crate::essays::split::Kind;
use crate::schema::{essay_revisions, users};

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionSummary {
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub created_by: UserView,
    pub note: Option<String>,
    /// Paragraphs by change and threads by new status.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}

/// The history, newest first, before revision `before`.
#[tracing::instrument(skip_all)]
pub async fn history(
    conn: &mut AsyncPgConnection,
    essay_id: Uuid,
    before: Option<i32>,
    limit: i64,
) -> ApiResult<Vec<RevisionSummary>> {
    let mut query = essay_revisions::table
        .inner_join(users::table)
        .filter(essay_revisions::essay_id.eq(essay_id))
        .order(essay_revisions::revision.desc())
        .limit(limit + 1)
        .select((
            essay_revisions::revision,
            essay_revisions::created_at,
            UserView::as_select(),
            essay_revisions::note,
            essay_revisions::summary,
        ))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(essay_revisions::revision.lt(before));
    }
    type Row = (i32, DateTime<Utc>, UserView, Option<String>, serde_json::Value);
    let rows: Vec<Row> = query.load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(revision, created_at, created_by, note, summary)| RevisionSummary {
            revision,
            created_at,
            created_by,
            note,
            summary,
        })
        .collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionParagraph {
    pub id: Uuid,
    pub position: i32,
    pub text: String,
    pub kind: Kind,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionText {
    pub essay_id: Uuid,
    pub revision: i32,
    pub created_at: DateTime<Utc>,
    pub note: Option<String>,
    pub paragraphs: Vec<VersionParagraph>,
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = SqlUuid)]
    paragraph_id: Uuid,
    #[diesel(sql_type = Int4)]
    position: i32,
    #[diesel(sql_type = Text)]
    text: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

/// The text as of revision `n`: each paragraph alive then, at its latest
/// version up to `n`. 404 for a revision that does not exist.
#[tracing::instrument(skip_all)]
pub async fn text_at(conn: &mut AsyncPgConnection, essay_id: Uuid, n: i32) -> ApiResult<RevisionText> {
    let (created_at, note): (DateTime<Utc>, Option<String>) = essay_revisions::table
        .find((essay_id, n))
        .select((essay_revisions::created_at, essay_revisions::note))
        .first(conn)
        .await?;
    let rows: Vec<VersionRow> = crate::sql!("essay_revision/text_at.sql")
        .bind::<SqlUuid, _>(essay_id)
        .bind::<Int4, _>(n)
        .load(conn)
        .await?;
    let paragraphs = rows
        .into_iter()
        .map(|r| {
            let kind =
                r.kind.parse().map_err(|_| ApiError::internal(anyhow::anyhow!("bad kind {}", r.kind)))?;
            Ok(VersionParagraph { id: r.paragraph_id, position: r.position, text: r.text, kind })
        })
        .collect::<ApiResult<_>>()?;
    Ok(RevisionText { essay_id, revision: n, created_at, note, paragraphs })
}
