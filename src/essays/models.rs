use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::split::{Block, Kind};
use crate::error::ApiResult;
use crate::http::pages::keyset;
use crate::schema::{essays, paragraphs};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = essays)]
pub struct EssaySummary {
    pub id: Uuid,
    pub group_id: Uuid,
    pub title: String,
    pub author: Option<String>,
    pub source_url: Option<String>,
    pub license: Option<String>,
    /// "text" or "markdown".
    pub format: String,
    pub created_at: DateTime<Utc>,
    /// The current revision: 1 when imported, one more with every revision.
    pub revision: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = paragraphs)]
pub struct ParagraphRow {
    pub id: Uuid,
    pub position: i32,
    pub text: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParagraphView {
    /// Never changes once created.
    pub id: Uuid,
    /// From 0, in essay order.
    pub position: i32,
    pub text: String,
    /// What the block was in a Markdown essay; "paragraph" for plain text.
    pub kind: Kind,
}

impl From<ParagraphRow> for ParagraphView {
    fn from(p: ParagraphRow) -> Self {
        ParagraphView { id: p.id, position: p.position, text: p.text, kind: p.kind }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EssayView {
    #[serde(flatten)]
    pub essay: EssaySummary,
    pub paragraphs: Vec<ParagraphView>,
}

pub struct NewEssay<'a> {
    pub group_id: Uuid,
    pub title: &'a str,
    pub author: Option<&'a str>,
    pub source_url: Option<&'a str>,
    pub license: Option<&'a str>,
    pub format: &'a str,
    pub created_by: Uuid,
}

/// Inserts the essay and its paragraphs as revision 1, with `body` as
/// submitted (call inside a transaction).
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewEssay<'_>,
    body: &str,
    blocks: &[Block],
) -> ApiResult<EssayView> {
    let essay: EssaySummary = diesel::insert_into(essays::table)
        .values((
            essays::id.eq(Uuid::now_v7()),
            essays::group_id.eq(new.group_id),
            essays::title.eq(new.title),
            essays::author.eq(new.author),
            essays::source_url.eq(new.source_url),
            essays::license.eq(new.license),
            essays::format.eq(new.format),
            essays::created_by.eq(new.created_by),
        ))
        .returning(EssaySummary::as_returning())
        .get_result(conn)
        .await?;
    let rows: Vec<_> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (
                paragraphs::id.eq(Uuid::now_v7()),
                paragraphs::essay_id.eq(essay.id),
                paragraphs::position.eq(i as i32),
                paragraphs::text.eq(b.text.as_str()),
                paragraphs::kind.eq(b.kind),
            )
        })
        .collect();
    // 5 binds a row: 5,000 paragraphs stay well under PostgreSQL's 65,535.
    for chunk in rows.chunks(2000) {
        diesel::insert_into(paragraphs::table).values(chunk).execute(conn).await?;
    }
    record_first_revision(conn, essay.id, body).await?;
    let paragraphs = paragraphs_of(conn, essay.id).await?;
    Ok(EssayView { essay, paragraphs })
}

/// Revision 1 of a just-imported essay: its body as submitted and every
/// paragraph's first version (the history `GET /essays/{id}/revisions/1`
/// reads). Shared by the API import and `pilcrow import`.
#[tracing::instrument(skip_all)]
pub async fn record_first_revision(
    conn: &mut AsyncPgConnection,
    essay_id: Uuid,
    body: &str,
) -> diesel::QueryResult<()> {
    use diesel::sql_types::{Text, Uuid as SqlUuid};
    crate::sql!("models/first_revision.sql")
        .bind::<SqlUuid, _>(essay_id)
        .bind::<Text, _>(body)
        .execute(conn)
        .await?;
    crate::sql!("models/first_paragraph_versions.sql").bind::<SqlUuid, _>(essay_id).execute(conn).await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn paragraphs_of(conn: &mut AsyncPgConnection, essay_id: Uuid) -> ApiResult<Vec<ParagraphView>> {
    let rows: Vec<ParagraphRow> = paragraphs::table
        .filter(paragraphs::essay_id.eq(essay_id))
        .filter(paragraphs::retired_in.is_null())
        .order(paragraphs::position.asc())
        .select(ParagraphRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

#[tracing::instrument(skip_all)]
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<EssaySummary> {
    Ok(essays::table.find(id).select(EssaySummary::as_select()).first(conn).await?)
}

#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AsyncPgConnection,
    group_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> ApiResult<Vec<EssaySummary>> {
    let mut query = essays::table
        .filter(essays::group_id.eq(group_id))
        .order((essays::created_at.desc(), essays::id.desc()))
        .select(EssaySummary::as_select())
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset!(<, essays::created_at => at, essays::id => id));
    }
    Ok(query.load(conn).await?)
}
