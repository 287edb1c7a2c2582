//! Blocks: PUT, DELETE and GET under /me/blocks. A block is private to the
//! blocker; what the blocked user writes tells the blocker nothing (the
//! notifier, src/notifications/notifier/derive.sql, and mentions read
//! `blocks`), what they wrote reaches the blocker collapsed (the views,
//! src/views, given [`ShowBlocked::collapsed`]), and nothing the blocked
//! user sees changes.

use actix_web::{delete, get, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::models as users;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::pages::keyset;
use crate::http::{Page, PageParams};
use crate::schema::{blocks, users as users_table};
use crate::state::AppState;
use crate::views::UserView;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(put_block).service(delete_block).service(list_blocks);
}

/// `?show_blocked=` of the routes that read threads and comments.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShowBlocked {
    /// Show the threads and comments of users you block in full. By default
    /// they come collapsed: `author_blocked: true`, with a null `body` (a
    /// thread: a null `title`; a search hit: a null `snippet`).
    #[serde(default)]
    pub show_blocked: bool,
}

impl ShowBlocked {
    /// Whose writing reaches `reader` collapsed, sorted: nobody's when they
    /// asked to see it or are anonymous.
    pub async fn collapsed(
        &self,
        conn: &mut AsyncPgConnection,
        reader: Option<Uuid>,
    ) -> ApiResult<Vec<Uuid>> {
        match reader {
            Some(reader) if !self.show_blocked => blocked_by(conn, reader).await,
            _ => Ok(Vec::new()),
        }
    }
}

/// The users `blocker` blocks, sorted by id.
pub async fn blocked_by(conn: &mut AsyncPgConnection, blocker: Uuid) -> ApiResult<Vec<Uuid>> {
    Ok(blocks::table
        .filter(blocks::blocker_id.eq(blocker))
        .order(blocks::blocked_id.asc())
        .select(blocks::blocked_id)
        .load(conn)
        .await?)
}

/// Block a user: their replies and mentions no longer notify you, and their
/// threads and comments reach you collapsed. Blocking again changes nothing.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Blocked"), (status = 401, body = Problem),
        (status = 404, description = "No such user", body = Problem),
        (status = 422, description = "Blocking yourself", body = Problem)))]
#[put("/me/blocks/{user_id}")]
#[tracing::instrument(skip_all)]
pub async fn put_block(state: AppState, caller: Caller, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let me = users::current(&mut conn, &caller).await?;
    if me.id == *path {
        return Err(ApiError::invalid_field("user_id", "you cannot block yourself"));
    }
    let exists: bool =
        diesel::select(diesel::dsl::exists(users_table::table.find(*path))).get_result(&mut conn).await?;
    if !exists {
        return Err(ApiError::not_found());
    }
    diesel::insert_into(blocks::table)
        .values((blocks::blocker_id.eq(me.id), blocks::blocked_id.eq(*path)))
        .on_conflict_do_nothing()
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unblock a user (204 also when they were not blocked).
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses((status = 204, description = "Not blocked"), (status = 401, body = Problem)))]
#[delete("/me/blocks/{user_id}")]
#[tracing::instrument(skip_all)]
pub async fn delete_block(state: AppState, caller: Caller, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let me = users::current(&mut conn, &caller).await?;
    diesel::delete(blocks::table.find((me.id, *path))).execute(&mut conn).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The users you block, most recently blocked first.
#[utoipa::path(tag = "users", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<UserView>), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/me/blocks")]
#[tracing::instrument(skip_all)]
pub async fn list_blocks(
    state: AppState,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<UserView>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    let mut conn = state.conn().await?;
    let me = users::current(&mut conn, &caller).await?;
    let mut query = blocks::table
        .inner_join(users_table::table.on(users_table::id.eq(blocks::blocked_id)))
        .filter(blocks::blocker_id.eq(me.id))
        .order((blocks::created_at.desc(), blocks::blocked_id.desc()))
        .select((blocks::created_at, UserView::as_select()))
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset!(<, blocks::created_at => at, blocks::blocked_id => id));
    }
    let rows: Vec<(DateTime<Utc>, UserView)> = query.load(&mut conn).await?;
    let page = Page::from_rows(rows, limit, |(at, user)| (*at, user.id));
    Ok(web::Json(Page {
        items: page.items.into_iter().map(|(_, u)| u).collect(),
        next_cursor: page.next_cursor,
    }))
}
