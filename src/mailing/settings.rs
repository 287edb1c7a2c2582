//! GET and PATCH /me/notification-settings: how a reader gets notification
//! mail (the meaning of each value is in the module docs of `mailing`).

use actix_web::{get, patch, web};
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiResult, Problem};
use crate::http::Json;
use crate::state::AppState;
use crate::users::models as users;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_notification_settings).service(patch_notification_settings);
}

crate::db_enum! {
    /// Mail about single items.
    pub enum EmailMode {
        /// Replies, mentions and moderation mailed one by one, and digests.
        Immediate,
        /// Digests only.
        Digest,
        /// No notification mail at all.
        Off,
    }
}

crate::db_enum! {
    /// How often a digest of what is still unread comes.
    pub enum DigestRhythm {
        /// After each UTC day (sent soon after 00:00 UTC).
        Daily,
        /// After each week from Monday 00:00 UTC.
        Weekly,
        Off,
    }
}

/// A reader's notification mail (defaults: immediate, daily).
#[derive(Debug, Serialize, ToSchema, QueryableByName)]
pub struct NotificationSettings {
    #[diesel(sql_type = Text)]
    pub email: EmailMode,
    #[diesel(sql_type = Text)]
    pub digest: DigestRhythm,
    /// Organisers: a briefing before each session of their groups
    /// (`notifications.briefing_lead_hours` ahead). Default true.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub briefing: bool,
}

/// The settings to change; what is left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsPatch {
    pub email: Option<EmailMode>,
    pub digest: Option<DigestRhythm>,
    pub briefing: Option<bool>,
}

/// The caller's notification mail settings.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = NotificationSettings), (status = 401, body = Problem)))]
#[get("/me/notification-settings")]
#[tracing::instrument(skip_all)]
pub async fn get_notification_settings(
    state: AppState,
    caller: Caller,
) -> ApiResult<web::Json<NotificationSettings>> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let settings = crate::sql!("settings/get.sql").bind::<SqlUuid, _>(user.id).get_result(&mut conn).await?;
    Ok(web::Json(settings))
}

/// Change how notification mail comes; fields left out (or `null`) stay as they are.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = NotificationSettingsPatch,
    responses(
        (status = 200, body = NotificationSettings),
        (status = 401, body = Problem),
        (status = 422, description = "An unknown field or value", body = Problem),
    ))]
#[patch("/me/notification-settings")]
#[tracing::instrument(skip_all)]
pub async fn patch_notification_settings(
    state: AppState,
    caller: Caller,
    body: Json<NotificationSettingsPatch>,
) -> ApiResult<web::Json<NotificationSettings>> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let settings = crate::sql!("settings/patch.sql")
        .bind::<SqlUuid, _>(user.id)
        .bind::<Nullable<Text>, _>(body.email.map(EmailMode::as_str))
        .bind::<Nullable<Text>, _>(body.digest.map(DigestRhythm::as_str))
        .bind::<Nullable<diesel::sql_types::Bool>, _>(body.briefing)
        .get_result(&mut conn)
        .await?;
    Ok(web::Json(settings))
}
