//! Notification mail: address verification (`verify`), each reader's mail
//! settings (`settings`), the immediate mail of replies, mentions and
//! moderation (`immediate`), daily and weekly digests (`digest`), and
//! one-click unsubscribe (`unsubscribe`). The texts are built in `compose`.
//!
//! What a setting means (`GET /me/notification-settings`):
//! - `email: "immediate"`: reply, mention and moderation items are mailed
//!   one by one (`notifications.email_delay_secs` after their latest
//!   activity, unless read by then), and digests come at the `digest` rhythm.
//! - `email: "digest"`: no mail per item; digests at the `digest` rhythm.
//! - `email: "off"`: no notification mail at all, whatever `digest` says.
//! - `digest: "off"`: no digests.
//! - `briefing: false`: no session briefings (src/organiser/briefing.rs),
//!   which organisers get otherwise unless `email` is `off`.
//!
//! Nothing is ever mailed to an address that is not verified, and nothing
//! is shown that the recipient may not see now: visibility, membership and
//! bans are checked again in the statement that picks what to send.
//!
//! Exactly once across instances, and what a crash does: every mail is sent
//! inside the transaction that records it (the item's row locked with
//! `FOR UPDATE SKIP LOCKED`, or the digest's `(user, rhythm, period_end)`
//! key inserted), and that transaction commits only after the SMTP server
//! has accepted the message. A failed send rolls back, so the mail is tried
//! again later: none is lost. A crash after the SMTP server accepted a
//! message and before the commit sends it again: the one way a repeat can happen.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::config::{NotificationsSettings, Settings};
use crate::db::Pool;
use crate::events::EventHub;
use crate::mail::Mailer;

pub mod compose;
pub mod digest;
pub mod immediate;
pub mod settings;
pub mod unsubscribe;
pub mod verify;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(verify::routes).configure(settings::routes).configure(unsubscribe::routes);
}

/// What mail work needs, built once per instance.
pub struct Mailing {
    /// Mail's own pool (`notifications.digest_concurrency` + 1
    /// connections, opened when needed): a mail holds a connection while
    /// the SMTP server takes it.
    pub(crate) pool: Pool,
    pub(crate) mailer: Mailer,
    /// The frontend's base URL (`mail.app_url`), without a trailing slash.
    pub(crate) app_url: String,
    /// Where a verification mail links (`mail.verify_link`).
    pub(crate) verify_link: String,
    /// `server.public_base_url`, without a trailing slash: unsubscribe URLs
    /// are this server's.
    pub(crate) public_base_url: String,
    pub(crate) unsubscribe: unsubscribe::Keys,
    pub(crate) settings: NotificationsSettings,
}

impl Mailing {
    /// The one-click link that stops `kind` mail to `user` (RFC 8058), for a
    /// mail's footer and its `List-Unsubscribe` header.
    pub fn unsubscribe_url(&self, user: uuid::Uuid, kind: unsubscribe::Kind) -> String {
        format!("{}/api/v1/unsubscribe/{}", self.public_base_url, self.unsubscribe.token(user, kind))
    }

    pub fn new(settings: &Settings, pool: Pool, secret: &SecretString) -> anyhow::Result<Self> {
        Ok(Self {
            pool,
            mailer: Mailer::new(settings)?,
            app_url: settings.app_url(),
            verify_link: settings.verify_link(),
            public_base_url: settings.server.public_base_url.trim_end_matches('/').to_owned(),
            unsubscribe: unsubscribe::Keys::new(secret),
            settings: settings.notifications.clone(),
        })
    }

    /// One digest round as of `now` (what the background task runs every
    /// `notifications.digest_interval_secs`): see [`digest::round`].
    pub async fn digest_round(&self, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<digest::Round> {
        digest::round(self, now).await
    }
}

/// Starts the immediate mailer and the digest rounds; both end when the
/// instance shuts down.
pub fn start(mailing: Arc<Mailing>, hub: &Arc<EventHub>) {
    let every = Duration::from_millis(mailing.settings.email_interval_ms.max(10));
    tokio::spawn(immediate::run(mailing.clone(), hub.closing(), every));
    let every = Duration::from_secs(mailing.settings.digest_interval_secs.max(1));
    tokio::spawn(digest::run(mailing.clone(), hub.closing(), every));
    let every = Duration::from_secs(mailing.settings.briefing_interval_secs.max(1));
    tokio::spawn(crate::organiser::briefing::run(mailing, hub.closing(), every));
}
