use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::http::pages::keyset;
use crate::schema::reading_sessions as rs;

crate::db_enum! {
    pub enum Status {
        Scheduled,
        Open,
        Closed,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rs)]
pub struct Session {
    pub id: Uuid,
    pub group_id: Uuid,
    pub essay_id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub status: Status,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    pub group_id: Uuid,
    pub essay_id: Uuid,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub status: Status,
    pub created_at: DateTime<Utc>,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        let status = s.status;
        SessionView {
            id: s.id,
            group_id: s.group_id,
            essay_id: s.essay_id,
            title: s.title,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            status,
            created_at: s.created_at,
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<Session> {
    Ok(rs::table.find(id).select(Session::as_select()).first(conn).await?)
}

#[tracing::instrument(skip_all)]
pub async fn list(
    conn: &mut AsyncPgConnection,
    group_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> ApiResult<Vec<Session>> {
    let mut query = rs::table
        .filter(rs::group_id.eq(group_id))
        .order((rs::starts_at.desc(), rs::id.desc()))
        .select(Session::as_select())
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset!(<, rs::starts_at => at, rs::id => id));
    }
    Ok(query.load(conn).await?)
}
