//! An inbox item, as its recipient sees it: the one place a
//! `NotificationView` is made. It is rebuilt on every read (the inbox's
//! `ETag` hashes the bytes), so it declares no reads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::UserView;
use crate::error::ApiResult;
use crate::http::Page;
use crate::notifications::Reason;
use crate::schema::users;

impl NotificationView {
    pub fn id(&self) -> Uuid {
        self.id
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    id: Uuid,
    /// The strongest reason seen since the recipient last read the thread.
    reason: Reason,
    thread: NotifiedThread,
    latest_comment_id: Option<Uuid>,
    /// Comments that notified since the item was last read.
    new_count: i32,
    /// Who wrote them.
    actors: Vec<UserView>,
    /// Whether the recipient's read mark of the thread is below the latest comment.
    unread: bool,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotifiedThread {
    id: Uuid,
    title: Option<String>,
    session_id: Uuid,
    group_id: Uuid,
    paragraph_id: Uuid,
}

/// The inbox page and the count of unread items.
#[derive(Debug, Serialize, ToSchema)]
pub struct Inbox {
    items: Vec<NotificationView>,
    next_cursor: Option<String>,
    unread_count: i64,
}

/// The keyset of the inbox: newest activity first.
#[derive(Debug, Serialize, Deserialize)]
pub struct InboxKey(DateTime<Utc>, Uuid);

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    reason: Reason,
    #[diesel(sql_type = SqlUuid)]
    thread_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    group_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    paragraph_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    latest_comment_id: Option<Uuid>,
    #[diesel(sql_type = Integer)]
    new_count: i32,
    #[diesel(sql_type = Array<SqlUuid>)]
    actor_ids: Vec<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    unread: bool,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A page of `user_id`'s inbox (token version `version`, which
/// `r.caller_access` checks), after `after`.
#[tracing::instrument(skip_all)]
pub async fn inbox(
    conn: &mut AsyncPgConnection,
    (user_id, version): (Uuid, i32),
    unread_only: bool,
    after: Option<InboxKey>,
    limit: i64,
) -> ApiResult<Inbox> {
    let (at, id) = after.map_or((None, None), |k| (Some(k.0), Some(k.1)));
    let rows: Vec<Row> = crate::sql!("notification/inbox.sql")
        .bind::<SqlUuid, _>(user_id)
        .bind::<Integer, _>(version)
        .bind::<Bool, _>(unread_only)
        .bind::<Nullable<Timestamptz>, _>(at)
        .bind::<Nullable<SqlUuid>, _>(id)
        .bind::<BigInt, _>(limit + 1)
        .load(conn)
        .await?;
    let count: Count = crate::sql!("notification/unread_count.sql")
        .bind::<SqlUuid, _>(user_id)
        .bind::<Integer, _>(version)
        .get_result(conn)
        .await?;
    let page = Page::from_rows(rows, limit, |r| InboxKey(r.updated_at, r.id));
    let items = views_of(conn, page.items).await?;
    Ok(Inbox { items, next_cursor: page.next_cursor, unread_count: count.n })
}

/// The items `ids` of `user_id`'s inbox that the inbox would show now, as it
/// would show them (the live stream's `notification` events).
#[tracing::instrument(skip_all)]
pub async fn by_ids(
    conn: &mut AsyncPgConnection,
    (user_id, version): (Uuid, i32),
    ids: &[Uuid],
) -> ApiResult<Vec<NotificationView>> {
    let rows: Vec<Row> = crate::sql!("notification/by_ids.sql")
        .bind::<SqlUuid, _>(user_id)
        .bind::<Integer, _>(version)
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await?;
    views_of(conn, rows).await
}

/// Rows made whole: each with its actors' user views.
async fn views_of(conn: &mut AsyncPgConnection, rows: Vec<Row>) -> ApiResult<Vec<NotificationView>> {
    let mut actor_ids: Vec<Uuid> = rows.iter().flat_map(|r| r.actor_ids.iter().copied()).collect();
    actor_ids.sort_unstable();
    actor_ids.dedup();
    let actors: HashMap<Uuid, UserView> = users::table
        .filter(users::id.eq_any(&actor_ids))
        .select(UserView::as_select())
        .load::<UserView>(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| NotificationView {
            id: r.id,
            reason: r.reason,
            thread: NotifiedThread {
                id: r.thread_id,
                title: r.title,
                session_id: r.session_id,
                group_id: r.group_id,
                paragraph_id: r.paragraph_id,
            },
            latest_comment_id: r.latest_comment_id,
            new_count: r.new_count,
            actors: r.actor_ids.iter().filter_map(|a| actors.get(a).cloned()).collect(),
            unread: r.unread,
            updated_at: r.updated_at,
        })
        .collect())
}
