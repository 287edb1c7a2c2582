//! GET /groups/{group_id}/search.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::models::{self as search_db, Search, SearchKey};
use crate::access::{self, Scope};
use crate::auth::MaybeCaller;
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{Check, Page, PageParams};
use crate::schema::reading_sessions as rs;
use crate::state::AppState;
use crate::users::blocks::ShowBlocked;
use crate::views::Viewer;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(search);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Web-search syntax: words, "quoted phrases", -excluded, or. 1–500 characters.
    #[param(schema_with = limits::search_query)]
    pub q: String,
    /// Only this session of the group.
    pub session_id: Option<Uuid>,
}

crate::db_enum! {
    /// Where a search hit was found.
    pub enum Matched {
        Comment,
        Title,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub thread_id: Uuid,
    /// The matching comment; null when the thread's title matched.
    pub comment_id: Option<Uuid>,
    pub session_id: Uuid,
    pub paragraph_id: Uuid,
    pub matched: Matched,
    /// HTML-escaped text around the matches, each match in `<mark>…</mark>`;
    /// null when `author_blocked`.
    pub snippet: Option<String>,
    /// Whether the caller blocks who wrote it: then `snippet` is null unless
    /// the search asked `show_blocked=true`.
    pub author_blocked: bool,
    /// When the comment (or, for a title, the thread) was written.
    pub created_at: DateTime<Utc>,
    /// Moderators only ever see true here: hidden content is found for them alone.
    pub hidden: bool,
}

/// Search a group's thread titles and comments, newest first. Results are
/// what the caller could read through the other routes: hidden threads and
/// comments for moderators only, deleted comments never. One search reads at
/// most `search.max_matches` (1,000) matching comments and as many titles:
/// a query matching more is answered from that many of them, not
/// necessarily the newest, so narrow it with more words or a phrase.
#[utoipa::path(security((), ("bearer" = [])), tag = "search", params(SearchParams, PageParams, ShowBlocked),
    responses(
        (status = 200, body = Page<SearchHit>),
        (status = 404, body = Problem),
        (status = 429, description = "`rate_limited`: too many searches from this address or by this user; see Retry-After", body = Problem),
        (status = 422, description = "`q` blank, over 500 characters or holding NUL; a `session_id` of another group", body = Problem),
    ))]
#[get("/groups/{group_id}/search")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn search(
    state: AppState,
    caller: MaybeCaller,
    _quota: crate::ratelimit::SearchQuota,
    path: web::Path<Uuid>,
    params: web::Query<SearchParams>,
    page: web::Query<PageParams>,
    show: web::Query<ShowBlocked>,
) -> ApiResult<web::Json<Page<SearchHit>>> {
    let limit = page.limit()?;
    let after: Option<SearchKey> = page.after()?;
    let mut check = Check::new();
    check.text("q", &params.q, limits::SEARCH_QUERY);
    // PostgreSQL text cannot hold NUL.
    check.require(!params.q.contains('\0'), "q", "must not contain NUL");
    check.done()?;
    let group_id = *path;
    state
        .read(async |conn| {
            let access = access::resolve(conn, caller.0.as_ref(), Scope::Group(group_id)).await?;
            access.require_read()?;
            if let Some(session_id) = params.session_id {
                let in_group: bool = diesel::select(diesel::dsl::exists(
                    rs::table.filter(rs::id.eq(session_id)).filter(rs::group_id.eq(group_id)),
                ))
                .get_result(conn)
                .await?;
                if !in_group {
                    return Err(ApiError::invalid_field("session_id", "is not a session of this group"));
                }
            }
            let query = Search {
                query: &params.q,
                group_id,
                session_id: params.session_id,
                include_hidden: access.is_moderator(),
                after,
                limit,
                max_matches: state.search_max_matches,
            };
            let hits = search_db::hits(conn, &query).await?;
            let blocked = show.collapsed(conn, access.user_id).await?;
            let viewer = Viewer::of(&access).collapsing(&blocked);
            let page = Page::from_rows(hits, limit, |h| (h.created_at, h.key_id));
            // A collapsed hit's words are never cut into a snippet.
            let texts: Vec<String> = page
                .items
                .iter()
                .map(|h| if viewer.blocks(h.author_id) { String::new() } else { h.text.clone() })
                .collect();
            let snippets = search_db::snippets(conn, &params.q, &texts).await?;
            Ok(web::Json(Page {
                next_cursor: page.next_cursor,
                items: page
                    .items
                    .into_iter()
                    .zip(snippets)
                    .map(|(h, snippet)| SearchHit {
                        author_blocked: viewer.blocks(h.author_id),
                        snippet: (!viewer.blocks(h.author_id)).then_some(snippet),
                        thread_id: h.thread_id,
                        matched: if h.comment_id.is_some() { Matched::Comment } else { Matched::Title },
                        comment_id: h.comment_id,
                        session_id: h.session_id,
                        paragraph_id: h.paragraph_id,
                        created_at: h.created_at,
                        hidden: h.hidden,
                    })
                    .collect(),
            }))
        })
        .await
}
