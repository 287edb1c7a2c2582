//! Personal data exports ("download my data"): `POST /me/exports` asks for
//! one (at most one a day), `GET /me/exports/{id}` tells how it goes, and
//! once it is ready a signed link serves the zip for 24 hours without a
//! token. The archive holds the account as the user gave it (profile,
//! memberships, votes, read marks, watches, mail settings, blocks, the
//! reports they filed) and every comment they wrote as a W3C Web Annotation
//! made by the session export's own model (`crate::annotations::models`);
//! other people's writing appears by IRI only.
//!
//! Built in the background by [`build::run`], on whichever instance claims
//! the export first (a lease, taken with `FOR UPDATE SKIP LOCKED` and
//! renewed as the build goes): an instance that dies mid-build lets the
//! lease run out, and the next instance to look builds it again from the
//! start. The archive is written as it is read, in keyset batches, so memory
//! follows the batch size, not the size of the account; compressing runs on
//! the CPU queue's threads, never on the async workers.
//!
//! Where the archive lives: in the database, as chunks
//! (`personal_export_chunks`). Instances share the database and nothing
//! else, so any of them serves a download, whichever built it; a data
//! directory would bind the download to one machine's disk. An archive is
//! deleted with its export, 24 hours after it was ready.
//!
//! Tables: `personal_exports` (one row per export, its status and lease)
//! and `personal_export_chunks` (the archive's bytes). [`delete_all`] removes
//! a user's exports and archives (account erasure calls it).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::ExportsSettings;
use crate::cpu::CpuQueue;
use crate::db::Pool;
use crate::error::ApiResult;
use crate::schema::personal_exports as pe;

mod archive;
pub mod build;
pub mod routes;

pub use routes::routes;

type HmacSha256 = Hmac<Sha256>;

/// The signature's length: the first 128 bits of the HMAC.
const MAC_BYTES: usize = 16;

crate::db_enum! {
    /// Where an export stands.
    pub enum ExportStatus {
        /// Asked for; being built (or waiting for an instance to build it).
        Pending,
        /// Built: `download_url` serves it until `expires_at`.
        Ready,
        /// Could not be built; another may be asked for at once.
        Failed,
    }
}

/// An export as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportView {
    pub id: Uuid,
    pub status: ExportStatus,
    /// When ready: the zip, for anyone holding this URL (no token), until `expires_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
    /// When ready: when the download stops working and the archive is deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What exports need, built once per instance.
pub struct Exports {
    pub(crate) pool: Pool,
    pub(crate) cpu: CpuQueue,
    pub(crate) mailing: std::sync::Arc<crate::mailing::Mailing>,
    /// `server.public_base_url`, without a trailing slash: IRIs and download links.
    pub(crate) public_base_url: String,
    pub(crate) settings: ExportsSettings,
    key: [u8; 32],
    /// Wakes this instance's builder when a request here asked for an export.
    wake: tokio::sync::Notify,
}

impl Exports {
    pub fn new(
        settings: &crate::config::Settings,
        pool: Pool,
        cpu: CpuQueue,
        mailing: std::sync::Arc<crate::mailing::Mailing>,
        secret: &SecretString,
    ) -> Self {
        let mut derive = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        derive.update(b"pilcrow personal export v1");
        let mut key = [0u8; 32];
        key.copy_from_slice(&derive.finalize().into_bytes());
        Self {
            pool,
            cpu,
            mailing,
            public_base_url: settings.server.public_base_url.trim_end_matches('/').to_owned(),
            settings: settings.exports.clone(),
            key,
            wake: tokio::sync::Notify::new(),
        }
    }

    fn mac(&self, id: Uuid, expires_at: DateTime<Utc>) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(&expires_at.timestamp().to_be_bytes());
        mac
    }

    /// The signature of export `id`'s download, valid until `expires_at`:
    /// it cannot be made without the server's secret, and names one export
    /// and its expiry (rotating `auth.jwt_secret` ends every link).
    pub fn signature(&self, id: Uuid, expires_at: DateTime<Utc>) -> String {
        URL_SAFE_NO_PAD.encode(&self.mac(id, expires_at).finalize().into_bytes()[..MAC_BYTES])
    }

    /// Whether `signature` is export `id`'s (compared in constant time).
    pub fn verify(&self, id: Uuid, expires_at: DateTime<Utc>, signature: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else { return false };
        given.len() == MAC_BYTES && self.mac(id, expires_at).verify_truncated_left(&given).is_ok()
    }

    /// The link that serves export `id`'s archive.
    pub fn download_url(&self, id: Uuid, expires_at: DateTime<Utc>) -> String {
        format!(
            "{}/api/v1/exports/{id}/archive?signature={}",
            self.public_base_url,
            self.signature(id, expires_at)
        )
    }

    /// Tells this instance's builder to look now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Deletes every export of `user_id`, with its archive, whatever its
/// status; returns how many. A build under way for one of them finds its
/// export gone at its next lease renewal and stops.
#[tracing::instrument(skip_all)]
pub async fn delete_all(conn: &mut AsyncPgConnection, user_id: Uuid) -> ApiResult<usize> {
    Ok(diesel::delete(pe::table.filter(pe::user_id.eq(user_id))).execute(conn).await?)
}

/// Retention: deletes exports past their 24 hours (ready ones from when they
/// were ready, failed ones from when they were asked for) with their
/// archives, and chunks no export will read. Returns how many exports went.
#[tracing::instrument(skip_all)]
pub async fn sweep(conn: &mut AsyncPgConnection) -> ApiResult<usize> {
    let exports = crate::sql!("retention.sql").execute(conn).await?;
    crate::sql!("orphan_chunks.sql").execute(conn).await?;
    Ok(exports)
}
