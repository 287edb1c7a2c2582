//! The moderation log's one writer, and the kinds of entry. It sits below
//! the features so that any of them (moderation, bans, role changes, deletes)
//! can log in the same transaction as its action.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::schema::modlog;

crate::db_enum! {
    pub enum Action {
        Lock,
        Unlock,
        Pin,
        Unpin,
        Hide,
        Restore,
        Ban,
        Unban,
        RoleChange,
        ResolveReport,
        Delete,
        /// A thread re-attached to a paragraph or quote (essay revisions).
        Reanchor,
    }
}

crate::db_enum! {
    /// The kinds of thing an action is taken on.
    pub enum TargetType {
        Thread,
        Comment,
        User,
        Report,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Thread(Uuid),
    Comment(Uuid),
    User(Uuid),
    Report(Uuid),
}

impl Target {
    fn parts(self) -> (&'static str, Uuid) {
        match self {
            Target::Thread(id) => ("thread", id),
            Target::Comment(id) => ("comment", id),
            Target::User(id) => ("user", id),
            Target::Report(id) => ("report", id),
        }
    }
}

diesel::define_sql_function! {
    /// The time of the call itself, not of the transaction's start: an action
    /// that waited for a row lock is logged after the one it waited for.
    fn clock_timestamp() -> diesel::sql_types::Timestamptz;
}

/// Writes one log row; call it in the same transaction as the action, after
/// taking the row locks that order it.
#[tracing::instrument(skip_all)]
pub async fn record(
    conn: &mut AsyncPgConnection,
    group_id: Uuid,
    actor_id: Uuid,
    action: Action,
    target: Target,
    reason: Option<&str>,
) -> ApiResult<()> {
    let (target_type, target_id) = target.parts();
    diesel::insert_into(modlog::table)
        .values((
            modlog::id.eq(Uuid::now_v7()),
            modlog::group_id.eq(group_id),
            modlog::actor_id.eq(actor_id),
            modlog::action.eq(action),
            modlog::target_type.eq(target_type),
            modlog::target_id.eq(target_id),
            modlog::reason.eq(reason),
            modlog::created_at.eq(clock_timestamp()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}
