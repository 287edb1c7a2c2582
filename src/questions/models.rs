//! The parts of a thread that depend on who reads it or on live bans:
//! filled in for every thread a route returns.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::rules::{counts, live_bans};
use crate::error::ApiResult;
use crate::schema::{comments, thread_answers, thread_votes};
use crate::threads::models::ThreadView;

/// Fills in `vote_count` (without the votes of members whose ban is live),
/// `voted_by_me` (for `viewer`; false without one, as in live events, which
/// are shared by every reader) and `answer_ids` (accepted answers that count,
/// oldest acceptance first).
#[tracing::instrument(skip_all, fields(threads = views.len()))]
pub async fn decorate(
    conn: &mut AsyncPgConnection,
    viewer: Option<Uuid>,
    views: &mut [ThreadView],
) -> ApiResult<()> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    let banned: HashMap<Uuid, i64> = thread_votes::table
        .inner_join(live_bans::table.on(
            live_bans::group_id.eq(thread_votes::group_id).and(live_bans::user_id.eq(thread_votes::user_id)),
        ))
        .filter(thread_votes::thread_id.eq_any(&ids))
        .group_by(thread_votes::thread_id)
        .select((thread_votes::thread_id, diesel::dsl::count_star()))
        .load::<(Uuid, i64)>(conn)
        .await?
        .into_iter()
        .collect();
    let mine: HashSet<Uuid> = match viewer {
        Some(me) => thread_votes::table
            .filter(thread_votes::user_id.eq(me))
            .filter(thread_votes::thread_id.eq_any(&ids))
            .select(thread_votes::thread_id)
            .load::<Uuid>(conn)
            .await?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };
    let answers: Vec<(Uuid, Uuid)> = thread_answers::table
        .inner_join(comments::table.on(comments::id.eq(thread_answers::comment_id)))
        .filter(thread_answers::thread_id.eq_any(&ids))
        .filter(counts(comments::hidden, comments::deleted, false))
        .order((thread_answers::accepted_at.asc(), thread_answers::comment_id.asc()))
        .select((thread_answers::thread_id, thread_answers::comment_id))
        .load(conn)
        .await?;
    for view in views.iter_mut() {
        view.vote_count -= banned.get(&view.id).copied().unwrap_or(0);
        view.voted_by_me = mine.contains(&view.id);
        view.answer_ids = answers.iter().filter(|(t, _)| *t == view.id).map(|(_, c)| *c).collect();
    }
    Ok(())
}
