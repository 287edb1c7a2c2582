//! `pilcrow import-essay --group <slug> --title … FILE`: the same splitting
//! and limits as `POST /groups/{id}/essays`, on behalf of the group's creator.

use std::path::PathBuf;

use anyhow::{bail, Context};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::EssayFormat;
use crate::essays::routes::{MAX_BODY_BYTES, MAX_PARAGRAPHS};
use crate::essays::split;
use crate::schema::{essays, groups, paragraphs};

pub struct Request {
    pub group: String,
    pub title: String,
    pub author: Option<String>,
    pub format: Option<EssayFormat>,
    pub file: PathBuf,
}

pub async fn run(conn: &mut AsyncPgConnection, req: Request) -> anyhow::Result<()> {
    let body = tokio::fs::read_to_string(&req.file)
        .await
        .with_context(|| format!("reading {}", req.file.display()))?;
    let format = req.format.unwrap_or(match req.file.extension().and_then(|e| e.to_str()) {
        Some("md" | "markdown") => EssayFormat::Markdown,
        _ => EssayFormat::Text,
    });
    let (group_id, owner): (Uuid, Uuid) = groups::table
        .filter(groups::slug.eq(&req.group))
        .select((groups::id, groups::created_by))
        .first(conn)
        .await
        .optional()?
        .with_context(|| format!("no group has the slug {:?}", req.group))?;
    let essay = Essay {
        group_id,
        created_by: owner,
        title: &req.title,
        author: req.author.as_deref(),
        format,
        body: &body,
    };
    let (essay_id, paragraphs) = insert(conn, &essay).await?;
    println!("imported essay {essay_id} ({} paragraphs) into {}", paragraphs.len(), req.group);
    Ok(())
}

pub struct Essay<'a> {
    pub group_id: Uuid,
    pub created_by: Uuid,
    pub title: &'a str,
    pub author: Option<&'a str>,
    pub format: EssayFormat,
    pub body: &'a str,
}

/// Inserts the essay and its paragraphs; returns its id and the paragraph ids in order.
pub async fn insert(conn: &mut AsyncPgConnection, essay: &Essay<'_>) -> anyhow::Result<(Uuid, Vec<Uuid>)> {
    let title = essay.title.trim();
    if title.is_empty() || title.chars().count() > 300 {
        bail!("the title must be 1 to 300 characters");
    }
    if essay.body.len() > MAX_BODY_BYTES {
        bail!("an essay may hold at most {MAX_BODY_BYTES} bytes");
    }
    let (format, blocks) = match essay.format {
        EssayFormat::Text => ("text", split::split_text(essay.body)),
        EssayFormat::Markdown => ("markdown", split::split_markdown(essay.body)),
    };
    if blocks.is_empty() || blocks.len() > MAX_PARAGRAPHS {
        bail!("the essay splits into {} paragraphs; 1 to {MAX_PARAGRAPHS} are allowed", blocks.len());
    }
    let essay_id = Uuid::now_v7();
    let rows: Vec<_> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            (
                paragraphs::id.eq(Uuid::now_v7()),
                paragraphs::essay_id.eq(essay_id),
                paragraphs::position.eq(i as i32),
                paragraphs::text.eq(b.text.as_str()),
                paragraphs::kind.eq(b.kind.as_str()),
            )
        })
        .collect();
    let ids = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            diesel::insert_into(essays::table)
                .values((
                    essays::id.eq(essay_id),
                    essays::group_id.eq(essay.group_id),
                    essays::title.eq(title),
                    essays::author.eq(essay.author),
                    essays::format.eq(format),
                    essays::created_by.eq(essay.created_by),
                ))
                .execute(conn)
                .await?;
            for chunk in rows.chunks(2000) {
                diesel::insert_into(paragraphs::table).values(chunk).execute(conn).await?;
            }
            crate::essays::models::record_first_revision(conn, essay_id, essay.body).await?;
            paragraphs::table
                .filter(paragraphs::essay_id.eq(essay_id))
                .order(paragraphs::position)
                .select(paragraphs::id)
                .load(conn)
                .await
        })
        .await?;
    Ok((essay_id, ids))
}
