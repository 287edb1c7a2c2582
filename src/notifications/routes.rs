//! GET /me/notifications (the inbox) and PUT /me/notifications/read.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use diesel::sql_types::{Array, Bool, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::domain::limits::READ_MARKS;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{conditional, Json, PageParams};
use crate::state::AppState;
use crate::users::models as users;
use crate::versions::cursor;
use crate::views::notification::{self, Inbox, InboxKey};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_notifications).service(mark_notifications_read);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxFilter {
    /// Only unread items.
    pub unread: Option<bool>,
}

/// The caller's notifications, newest activity first, one per thread, with
/// how many are unread. Items of groups the caller can no longer read are
/// left out.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(InboxFilter, PageParams),
    responses(
        (status = 200, body = Inbox, headers(
            ("ETag" = String, description = "Strong tag of the body"),
            ("X-Poll-Interval" = u64, description = "Seconds to wait before asking again"),
            ("Pilcrow-Event-Cursor" = String, description = "Position in the event log this read is at"))),
        (status = 304, description = "Unchanged since the tag sent in If-None-Match"),
        (status = 400, description = "A bad cursor or limit", body = Problem),
        (status = 401, body = Problem),
    ))]
#[get("/me/notifications")]
#[tracing::instrument(skip_all)]
pub async fn list_notifications(
    state: AppState,
    req: HttpRequest,
    caller: Caller,
    filter: web::Query<InboxFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let limit = page.limit()?;
    let after: Option<InboxKey> = page.after()?;
    let mut conn = state.conn().await?;
    // A revoked token is refused before anything is read.
    let user = users::current(&mut conn, &caller).await?;
    let event_cursor = cursor::for_read(&mut conn).await?;
    let (_, version) = caller.unverified_key();
    let inbox =
        notification::inbox(&mut conn, (user.id, version), filter.unread.unwrap_or(false), after, limit)
            .await?;
    let poll = state.notification_poll_secs.to_string();
    conditional::json(&req, &inbox, &[("X-Poll-Interval", poll), (event_cursor.0, event_cursor.1)])
}

/// Either the items to mark read or all of them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MarkRead {
    Ids(MarkIds),
    All(MarkAll),
}

/// These items; ids that are not the caller's are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkIds {
    #[schema(max_items = 500)]
    pub ids: Vec<Uuid>,
}

/// Every item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkAll {
    #[schema(schema_with = only_true)]
    pub all: bool,
}

/// `all` means something only as `true`.
fn only_true() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])).build()
}

/// Mark items read: the same as reading their threads up to the latest
/// comment (`PUT /sessions/{id}/reads`), one read state for both.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = MarkRead,
    responses(
        (status = 204, description = "Marked"),
        (status = 401, body = Problem),
        (status = 422, description = "Neither `ids` nor `all: true`, both, or more than 500 ids", body = Problem),
    ))]
#[put("/me/notifications/read")]
#[tracing::instrument(skip_all)]
pub async fn mark_notifications_read(
    state: AppState,
    caller: Caller,
    body: Json<MarkRead>,
) -> ApiResult<HttpResponse> {
    let (ids, all) = match body.0 {
        MarkRead::Ids(MarkIds { ids }) => (ids, false),
        MarkRead::All(MarkAll { all: true }) => (Vec::new(), true),
        MarkRead::All(MarkAll { all: false }) => {
            return Err(ApiError::invalid_field("all", "must be true (or give ids)"))
        }
    };
    if ids.len() > READ_MARKS {
        return Err(ApiError::invalid_field("ids", format!("at most {READ_MARKS} ids per request")));
    }
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    if !all && ids.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    crate::sql!("routes/mark_read.sql")
        .bind::<SqlUuid, _>(user.id)
        .bind::<Bool, _>(all)
        .bind::<Array<SqlUuid>, _>(&ids)
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
