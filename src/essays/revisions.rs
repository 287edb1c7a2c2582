//! Revisions in the database: reading what the planner needs, applying its
//! plan, and reading the history back. The plan itself is made by the pure
//! `super::revise`; the lock order applied here is stated once, in the
//! "Essay revisions" section of `src/db/replaceable/triggers.sql`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Array, Float4, Int4, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::revise::{self, AnchorStatus, Change, OldParagraph, Plan, ThreadAnchor};
use super::split::{Block, Kind};
use crate::cpu::{CpuQueue, Ticket};
use crate::error::{ApiError, ApiResult};
use crate::schema::{essay_revisions, essays, paragraph_versions, paragraphs, thread_anchors, threads};

/// How long the planner may think before it fails closed (retiring and
/// orphaning rather than guessing).
pub const PLAN_BUDGET: Duration = Duration::from_secs(2);

/// What a revision starts from. Equal snapshots plan alike: the planner
/// reads nothing else.
#[derive(PartialEq, Eq)]
pub struct Current {
    pub revision: i32,
    pub paragraphs: Vec<OldParagraph>,
    pub threads: Vec<ThreadAnchor>,
}

/// The essay's revision, current paragraphs and every thread on them (all
/// sessions). With `lock`, first the essay (FOR UPDATE: one revision at a
/// time), then the current paragraphs (FOR UPDATE, id order: waits for
/// thread starts holding one FOR SHARE), and only then the threads, so the
/// plan sees every thread that will exist when it is applied.
#[tracing::instrument(skip_all)]
pub async fn current(conn: &mut AsyncPgConnection, essay_id: Uuid, lock: bool) -> ApiResult<Current> {
    let revision: i32 = if lock {
        essays::table.find(essay_id).select(essays::revision).for_update().first(conn).await?
    } else {
        essays::table.find(essay_id).select(essays::revision).first(conn).await?
    };
    let current =
        paragraphs::table.filter(paragraphs::essay_id.eq(essay_id)).filter(paragraphs::retired_in.is_null());
    if lock {
        let _: Vec<Uuid> =
            current.order(paragraphs::id).select(paragraphs::id).for_update().load(conn).await?;
    }
    let rows: Vec<(Uuid, String, Kind)> = current
        .order(paragraphs::position)
        .select((paragraphs::id, paragraphs::text, paragraphs::kind))
        .load(conn)
        .await?;
    let paragraphs = rows.into_iter().map(|(id, text, kind)| OldParagraph { id, kind, text }).collect();
    type ThreadRow = (Uuid, Uuid, Option<String>, Option<i32>, Option<i32>, Option<AnchorStatus>);
    let rows: Vec<ThreadRow> = threads::table
        .inner_join(paragraphs::table)
        .left_join(thread_anchors::table)
        .filter(paragraphs::essay_id.eq(essay_id))
        .filter(paragraphs::retired_in.is_null())
        .order(threads::id)
        .select((
            threads::id,
            threads::paragraph_id,
            threads::quote_exact,
            threads::quote_start,
            threads::quote_end,
            thread_anchors::status.nullable(),
        ))
        .load(conn)
        .await?;
    let threads = rows
        .into_iter()
        .map(|(thread_id, paragraph_id, exact, start, end, status)| ThreadAnchor {
            thread_id,
            paragraph_id,
            quote: match (exact, start, end) {
                (Some(exact), Some(start), Some(end)) => Some(crate::anchors::Quote { exact, start, end }),
                _ => None,
            },
            orphaned: status == Some(AnchorStatus::Orphaned),
        })
        .collect();
    Ok(Current { revision, paragraphs, threads })
}

/// Runs the planner through the CPU queue, off the async workers. Callers
/// hold no database connection meanwhile: planning a long essay takes up to
/// [`PLAN_BUDGET`] of CPU, and a connection held across it is one the other
/// requests cannot have.
pub async fn plan(
    queue: &CpuQueue,
    ticket: &Ticket,
    current: Current,
    blocks: Arc<Vec<Block>>,
) -> ApiResult<(Current, Plan)> {
    queue
        .run(ticket, move || {
            let plan =
                revise::plan(&current.paragraphs, &blocks, &current.threads, PLAN_BUDGET, Uuid::now_v7);
            (current, plan)
        })
        .await
}

pub struct NewRevision<'a> {
    pub essay_id: Uuid,
    pub revision: i32,
    pub body: &'a str,
    pub format: &'a str,
    pub note: Option<&'a str>,
    pub created_by: Uuid,
}

/// Applies `plan` as revision `new.revision`, inside the transaction that
/// took the locks of [`current`] (called with `lock`).
#[tracing::instrument(skip_all, fields(essay = %new.essay_id, revision = new.revision))]
pub async fn apply(
    conn: &mut AsyncPgConnection,
    new: &NewRevision<'_>,
    old: &[OldParagraph],
    plan: &Plan,
) -> ApiResult<()> {
    let n = new.revision;
    diesel::insert_into(essay_revisions::table)
        .values((
            essay_revisions::essay_id.eq(new.essay_id),
            essay_revisions::revision.eq(n),
            essay_revisions::body.eq(new.body),
            essay_revisions::format.eq(new.format),
            essay_revisions::note.eq(new.note),
            essay_revisions::created_by.eq(new.created_by),
            essay_revisions::summary.eq(serde_json::to_value(&plan.summary).map_err(ApiError::internal)?),
        ))
        .execute(conn)
        .await?;

    let retired: Vec<Uuid> = plan.retired.iter().map(|r| r.id).collect();
    diesel::update(paragraphs::table.filter(paragraphs::id.eq_any(&retired)))
        .set(paragraphs::retired_in.eq(n))
        .execute(conn)
        .await?;
    // Positions are unique among current paragraphs and a partial unique
    // index cannot be deferred: move every current one out of the way first.
    crate::sql!("revisions/lift_positions.sql").bind::<SqlUuid, _>(new.essay_id).execute(conn).await?;
    let kept: Vec<_> = plan.paragraphs.iter().filter(|p| p.change != Change::Added).collect();
    crate::sql!("revisions/update_kept.sql")
        .bind::<Array<SqlUuid>, _>(kept.iter().map(|p| p.id).collect::<Vec<_>>())
        .bind::<Array<Int4>, _>(kept.iter().map(|p| p.position).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(kept.iter().map(|p| p.text.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(kept.iter().map(|p| p.kind.as_str()).collect::<Vec<_>>())
        .execute(conn)
        .await?;
    let added: Vec<_> = plan
        .paragraphs
        .iter()
        .filter(|p| p.change == Change::Added)
        .map(|p| {
            (
                paragraphs::id.eq(p.id),
                paragraphs::essay_id.eq(new.essay_id),
                paragraphs::position.eq(p.position),
                paragraphs::text.eq(p.text.as_str()),
                paragraphs::kind.eq(p.kind),
                paragraphs::introduced_in.eq(n),
            )
        })
        .collect();
    for chunk in added.chunks(2000) {
        diesel::insert_into(paragraphs::table).values(chunk).execute(conn).await?;
    }

    // A version row wherever position, kind or text changed.
    let old_position: HashMap<Uuid, i32> = old.iter().enumerate().map(|(i, p)| (p.id, i as i32)).collect();
    let versions: Vec<_> = plan
        .paragraphs
        .iter()
        .filter(|p| p.change != Change::Unchanged || old_position.get(&p.id) != Some(&p.position))
        .map(|p| {
            (
                paragraph_versions::paragraph_id.eq(p.id),
                paragraph_versions::revision.eq(n),
                paragraph_versions::position.eq(p.position),
                paragraph_versions::kind.eq(p.kind),
                paragraph_versions::text.eq(p.text.as_str()),
                paragraph_versions::change.eq(p.change),
            )
        })
        .collect();
    for chunk in versions.chunks(2000) {
        diesel::insert_into(paragraph_versions::table).values(chunk).execute(conn).await?;
    }

    move_threads(conn, n, plan).await?;
    diesel::update(essays::table.find(new.essay_id))
        .set((essays::revision.eq(n), essays::format.eq(new.format)))
        .execute(conn)
        .await?;
    announce_revision(conn, new.essay_id, n).await
}

/// Re-anchors the planned threads: anchors (keeping the first quote),
/// history, then the threads themselves, whose paragraph change moves their
/// counts through the `threads_counted_move` trigger.
async fn move_threads(conn: &mut AsyncPgConnection, n: i32, plan: &Plan) -> ApiResult<()> {
    if plan.threads.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = plan.threads.iter().map(|t| t.thread_id).collect();
    // Thread rows before counter rows, in id order, as comments lock them.
    crate::sql!("revisions/lock_threads.sql").bind::<Array<SqlUuid>, _>(&ids).execute(conn).await?;
    // Threads written outside the API (`pilcrow demo`) may have no anchor row yet.
    crate::sql!("revisions/ensure_anchors.sql").bind::<Array<SqlUuid>, _>(&ids).execute(conn).await?;
    let to_quote = |t: &revise::ThreadMove| t.to.as_ref().and_then(|p| p.quote.clone());
    let statuses: Vec<&str> = plan.threads.iter().map(|t| t.status.as_str()).collect();
    let reasons: Vec<Option<&str>> = plan.threads.iter().map(|t| t.reason.map(|r| r.as_str())).collect();
    let confidences: Vec<Option<f32>> = plan.threads.iter().map(|t| t.confidence).collect();
    let prefixes: Vec<Option<String>> =
        plan.threads.iter().map(|t| t.context.as_ref().map(|c| c.0.clone())).collect();
    let suffixes: Vec<Option<String>> =
        plan.threads.iter().map(|t| t.context.as_ref().map(|c| c.1.clone())).collect();
    let placed: Vec<bool> = plan.threads.iter().map(|t| t.to.is_some()).collect();
    crate::sql!("revisions/update_anchors.sql")
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Text>, _>(&statuses)
        .bind::<Array<Nullable<Text>>, _>(&reasons)
        .bind::<Array<Nullable<Float4>>, _>(&confidences)
        .bind::<Array<Nullable<Text>>, _>(&prefixes)
        .bind::<Array<Nullable<Text>>, _>(&suffixes)
        .bind::<Int4, _>(n)
        .bind::<Array<diesel::sql_types::Bool>, _>(&placed)
        .execute(conn)
        .await?;
    let json = |q: Option<crate::anchors::Quote>| q.and_then(|q| serde_json::to_value(q).ok());
    let from_quotes: Vec<Option<serde_json::Value>> =
        plan.threads.iter().map(|t| json(t.from.quote.clone())).collect();
    let to_quotes: Vec<Option<serde_json::Value>> = plan.threads.iter().map(|t| json(to_quote(t))).collect();
    let from_paragraphs: Vec<Uuid> = plan.threads.iter().map(|t| t.from.paragraph_id).collect();
    let to_paragraphs: Vec<Option<Uuid>> =
        plan.threads.iter().map(|t| t.to.as_ref().map(|p| p.paragraph_id)).collect();
    crate::sql!("revisions/record_history.sql")
        .bind::<Int4, _>(n)
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<SqlUuid>, _>(&from_paragraphs)
        .bind::<Array<Nullable<SqlUuid>>, _>(&to_paragraphs)
        .bind::<Array<Nullable<diesel::sql_types::Jsonb>>, _>(&from_quotes)
        .bind::<Array<Nullable<diesel::sql_types::Jsonb>>, _>(&to_quotes)
        .bind::<Array<Text>, _>(&statuses)
        .execute(conn)
        .await?;
    // Placed threads only: an orphan keeps its paragraph and its old quote.
    let moved: Vec<_> = plan.threads.iter().filter_map(|t| Some((t.thread_id, t.to.as_ref()?))).collect();
    crate::sql!("revisions/move_threads.sql")
        .bind::<Array<SqlUuid>, _>(moved.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind::<Array<SqlUuid>, _>(moved.iter().map(|(_, p)| p.paragraph_id).collect::<Vec<_>>())
        .bind::<Array<Nullable<Text>>, _>(
            moved.iter().map(|(_, p)| p.quote.as_ref().map(|q| q.exact.clone())).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Int4>>, _>(
            moved.iter().map(|(_, p)| p.quote.as_ref().map(|q| q.start)).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Int4>>, _>(
            moved.iter().map(|(_, p)| p.quote.as_ref().map(|q| q.end)).collect::<Vec<_>>(),
        )
        .execute(conn)
        .await?;
    Ok(())
}

/// Every revision passes here once, inside its transaction, after its
/// paragraphs and threads are written: `essay.revised {essay_id, revision}`
/// for every session of the essay. The moved threads' own `thread.updated`
/// and `counts` events come from the triggers that watch `threads` and
/// `thread_anchors` (src/db/replaceable/triggers.sql).
async fn announce_revision(conn: &mut AsyncPgConnection, essay_id: Uuid, revision: i32) -> ApiResult<()> {
    crate::sql!("revisions/announce.sql")
        .bind::<SqlUuid, _>(essay_id)
        .bind::<diesel::sql_types::Integer, _>(revision)
        .execute(conn)
        .await?;
    tracing::info!(%essay_id, revision, "essay revised");
    Ok(())
}
