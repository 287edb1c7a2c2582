//! Settings: built-in defaults, then `config/default.toml`, then
//! `config/{PILCROW_ENV}.toml`, then `PILCROW__SECTION__KEY` variables, then `DATABASE_URL`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use config::{Config, Environment as EnvSource, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const BUILT_IN: &str = include_str!("../config/default.toml");
const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
    Test,
}

impl Environment {
    fn from_env() -> anyhow::Result<Self> {
        match std::env::var("PILCROW_ENV").as_deref() {
            Err(_) | Ok("") | Ok("development") => Ok(Self::Development),
            Ok("production") => Ok(Self::Production),
            Ok("test") => Ok(Self::Test),
            Ok(other) => bail!("PILCROW_ENV must be development, production or test, not {other:?}"),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
            Self::Test => "test",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(skip, default = "default_env")]
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub mail: MailSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub events: EventsSettings,
    pub notifications: NotificationsSettings,
    pub push: PushSettings,
    pub cache: CacheSettings,
    pub search: SearchSettings,
    pub cpu: CpuSettings,
    pub accounts: AccountsSettings,
    pub exports: ExportsSettings,
}

fn default_env() -> Environment {
    Environment::Development
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub body_limit_bytes: usize,
    pub essay_body_limit_bytes: usize,
    pub cors_allowed_origins: Vec<String>,
    pub workers: usize,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` /
    /// `Forwarded` names the client; see `ratelimit`.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Where clients reach this server (`https://pilcrow.example.org`):
    /// the base of the permanent IRIs in the W3C annotation export.
    pub public_base_url: String,
    /// Which header of a trusted proxy names the client; see `ratelimit`.
    #[serde(default)]
    pub client_ip_header: ClientIpHeader,
    /// A request that has not answered after this long gets 503
    /// `deadline_exceeded` (live event streams excepted). 0 = none.
    pub request_timeout_ms: u64,
}

/// The header a trusted proxy names the client in (`server.client_ip_header`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIpHeader {
    /// `Forwarded` when the request has one, else `X-Forwarded-For`.
    #[default]
    Auto,
    /// Only `Forwarded` (RFC 7239).
    Forwarded,
    /// Only `X-Forwarded-For`.
    XForwardedFor,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: Option<SecretString>,
    /// Migrations, LISTEN and session-level locks (default: `url`).
    #[serde(default)]
    pub direct_url: Option<SecretString>,
    pub data_dir: PathBuf,
    pub pool_size: usize,
    pub pool_timeout_ms: u64,
    /// A private cluster under `data_dir` when no URL is set, outside development too.
    pub embedded: bool,
    pub statement_timeout_ms: u64,
    pub lock_timeout_ms: u64,
    pub idle_in_transaction_timeout_ms: u64,
    /// Streaming replicas that may answer reads (src/consistency/).
    #[serde(default)]
    pub replica_urls: Vec<SecretString>,
    /// How long a read whose token no replica has replayed waits for one
    /// before the primary answers it.
    pub replica_wait_ms: u64,
    /// A replica further behind than this is not used.
    pub replica_max_lag_ms: u64,
}

/// Live session events (src/events/): see `[events]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct EventsSettings {
    pub retention_hours: u64,
    pub prune_interval_secs: u64,
    pub ping_interval_ms: u64,
    pub retry_ms: u64,
    pub access_recheck_ms: u64,
    pub send_timeout_ms: u64,
    pub max_streams_per_user: usize,
    /// Anonymous streams and waiting long-polls per client address (IPv6: per /64).
    pub max_streams_per_address: usize,
    /// Streams and waiting long-polls per instance (lowered to fit the open-file limit).
    pub max_streams: usize,
    pub fallback_poll_ms: u64,
    pub batch_window_ms: u64,
    pub notify_interval_ms: u64,
    pub ticket_ttl_secs: i64,
}

/// In-app notifications (src/notifications/): see `[notifications]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct NotificationsSettings {
    pub derive_interval_ms: u64,
    /// The notifier's share of the time while requests write (0.01-1).
    pub busy_share: f64,
    pub client_poll_interval_secs: u64,
    /// Notification mail (src/mailing/): an item is mailed this long after
    /// its latest activity unless read by then.
    pub email_delay_secs: u64,
    /// How often an instance looks for items due for an immediate mail.
    pub email_interval_ms: u64,
    /// Items one look claims and mails at most (then it looks again).
    pub email_batch_size: i64,
    /// How often an instance runs a digest round (each digest goes out once
    /// per period whichever instance sends it).
    pub digest_interval_secs: u64,
    /// Readers a digest round reads and mails per page (its memory bound).
    pub digest_batch_size: i64,
    /// Digests mailed at once within a page, each on its own connection of
    /// mail's pool (which has this many and one more).
    pub digest_concurrency: usize,
    /// Items listed in one digest at most; the rest are counted.
    pub digest_max_items: i64,
    /// Hours before a session starts that its organisers are briefed.
    #[serde(default = "default_briefing_lead_hours")]
    pub briefing_lead_hours: i64,
    /// How often an instance looks for sessions due a briefing.
    #[serde(default = "default_briefing_interval_secs")]
    pub briefing_interval_secs: u64,
}

fn default_briefing_lead_hours() -> i64 {
    24
}

fn default_briefing_interval_secs() -> u64 {
    60
}

/// Web Push (src/notifications/push/): see `[push]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct PushSettings {
    /// The VAPID key: a P-256 private scalar, 32 bytes in base64url.
    #[serde(default)]
    pub vapid_private_key: Option<SecretString>,
    /// Who runs this server, for push services: `mailto:` or `https:`.
    pub subject: String,
    /// Endpoints on loopback, private or link-local addresses, and plain
    /// `http`, are accepted (tests only).
    pub allow_private_endpoints: bool,
    pub max_subscriptions_per_user: i64,
    pub interval_ms: u64,
    pub batch: i64,
    pub ttl_secs: u64,
    pub request_timeout_ms: u64,
    pub concurrency: usize,
    pub lease_secs: u64,
    pub max_attempts: i16,
}

/// In-process caches: see `[cache]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct CacheSettings {
    pub kept_responses_max_bytes: u64,
    /// The earlier name of `kept_responses_max_bytes`, still read (and
    /// winning, since a deployment that sets it meant it).
    #[serde(default)]
    pub answers_max_bytes: Option<u64>,
}

impl CacheSettings {
    pub fn kept_responses_max_bytes(&self) -> u64 {
        self.answers_max_bytes.unwrap_or(self.kept_responses_max_bytes)
    }
}

/// Full-text search: see `[search]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchSettings {
    pub max_matches: i64,
}

/// CPU-heavy request work (essay splitting, revision planning): see `[cpu]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct CpuSettings {
    pub max_concurrent: usize,
    pub queue_timeout_ms: u64,
    pub max_per_client: usize,
    /// The queue's threads' scheduling priority (0-19, higher yields more).
    pub nice: i32,
}

/// Accounts their owners delete: see `[accounts]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct AccountsSettings {
    pub deletion_interval_ms: u64,
    pub deletion_batch: i64,
}

/// Personal data exports: see `[exports]` in config/default.toml.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportsSettings {
    pub poll_interval_ms: u64,
    pub lease_secs: u64,
    pub batch_rows: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    pub enabled: bool,
    /// `host:port` for a listener of its own; empty serves `/metrics` on the main port.
    pub bind: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    pub refresh_token_idle_days: i64,
    pub jwt_secret: Option<SecretString>,
    pub max_concurrent_hashes: usize,
    pub hash_queue_timeout_ms: u64,
    /// Hashes one client address, or one account, may have waiting or
    /// running at once; more are refused with 429 at once.
    pub max_hashes_per_client: usize,
    /// zxcvbn score (0–4) a new password needs.
    pub min_password_score: u8,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    /// Unset or empty: messages are written under `<data_dir>/mail/`.
    #[serde(default)]
    pub smtp_url: Option<SecretString>,
    pub from: String,
    /// The page that takes a reset token: the mail links `<this>?token=…`.
    /// Empty: `<server.public_base_url>/reset-password` (see [`Settings::reset_link`]).
    #[serde(default)]
    pub reset_link: String,
    /// The frontend's base URL: every link in notification mail points
    /// under it. Empty: `server.public_base_url` (see [`Settings::app_url`]).
    #[serde(default)]
    pub app_url: String,
    /// The page that takes a verification token: the mail links `<this>?token=…`.
    /// Empty: `<app_url>/verify-email` (see [`Settings::verify_link`]).
    #[serde(default)]
    pub verify_link: String,
}

/// `requests` per `window_secs`, replenished evenly, at most `burst` at once
/// (0: a burst of `requests`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Window {
    pub requests: u32,
    pub window_secs: u64,
    #[serde(default)]
    pub burst: u32,
}

impl Window {
    /// How many may come at once.
    pub fn burst(&self) -> u32 {
        if self.burst == 0 {
            self.requests.max(1)
        } else {
            self.burst
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub login_per_account: Window,
    pub login_per_address: Window,
    pub login_per_device: Window,
    pub register_per_address: Window,
    pub password_reset_per_address: Window,
    pub password_reset_per_recipient: Window,
    pub email_verification_per_user: Window,
    pub groups_per_user: Window,
    pub threads_per_user: Window,
    pub comments_per_user: Window,
    pub reports_per_user: Window,
    pub invites_per_user: Window,
    pub essays_per_user: Window,
    pub revisions_per_user: Window,
    pub event_tickets_per_user: Window,
    pub search_per_address: Window,
    pub search_per_user: Window,
    pub mentions_per_recipient: Window,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

impl Settings {
    /// Reads the layers from `config/` under the working directory.
    pub fn load() -> anyhow::Result<Self> {
        Self::load_from(Path::new("config"))
    }

    pub fn load_from(config_dir: &Path) -> anyhow::Result<Self> {
        let environment = Environment::from_env()?;
        let mut builder = Config::builder()
            .add_source(File::from_str(BUILT_IN, FileFormat::Toml))
            .add_source(File::from(config_dir.join("default.toml")).required(false))
            .add_source(File::from(config_dir.join(format!("{}.toml", environment.as_str()))).required(false))
            .add_source(
                EnvSource::with_prefix("PILCROW")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("server.cors_allowed_origins")
                    .with_list_parse_key("server.trusted_proxies")
                    .with_list_parse_key("database.replica_urls")
                    .try_parsing(true),
            );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.is_empty() {
                builder = builder.set_override("database.url", url)?;
            }
        }
        let mut settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("invalid configuration")?;
        settings.environment = environment;
        if environment == Environment::Production {
            // Whichever file was read, production logs are for machines.
            settings.log.format = LogFormat::Json;
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.database.url.is_none() && !self.private_cluster_allowed() {
            bail!(
                "PILCROW_ENV={} needs a database: set DATABASE_URL (or database.embedded = true for a \
                 private cluster on this machine)",
                self.environment.as_str()
            );
        }
        let base = &self.server.public_base_url;
        if !(base.starts_with("https://") || base.starts_with("http://")) || base.contains(['?', '#', ' ']) {
            bail!("server.public_base_url must be an http(s) URL without query or fragment, not {base:?}");
        }
        let app = &self.mail.app_url;
        if !app.trim().is_empty()
            && (!(app.starts_with("https://") || app.starts_with("http://")) || app.contains(['?', '#', ' ']))
        {
            bail!("mail.app_url must be an http(s) URL without query or fragment, not {app:?}");
        }
        if self.notifications.email_batch_size < 1
            || self.notifications.digest_batch_size < 1
            || self.notifications.digest_max_items < 1
        {
            bail!(
                "notifications.email_batch_size, digest_batch_size and digest_max_items must be at least 1"
            );
        }
        if !(1..=24 * 365).contains(&self.notifications.briefing_lead_hours) {
            bail!("notifications.briefing_lead_hours must be between 1 and 8760");
        }
        if self.auth.access_token_ttl_secs <= 0
            || self.auth.refresh_token_ttl_days <= 0
            || self.auth.refresh_token_idle_days <= 0
        {
            bail!("auth token lifetimes must be positive");
        }
        if let Some(secret) = &self.auth.jwt_secret {
            if secret.expose_secret().len() < MIN_SECRET_BYTES {
                bail!("auth.jwt_secret must be at least {MIN_SECRET_BYTES} bytes");
            }
        } else if self.environment == Environment::Production {
            bail!(
                "production needs a JWT secret of at least {MIN_SECRET_BYTES} bytes: \
                 set PILCROW__AUTH__JWT_SECRET"
            );
        }
        match &self.push.vapid_private_key {
            Some(key) => {
                crate::notifications::push::keys::VapidKey::parse(key.expose_secret())
                    .context("push.vapid_private_key")?;
            }
            None if self.environment == Environment::Production => bail!(
                "production needs a VAPID key for Web Push: set PILCROW__PUSH__VAPID_PRIVATE_KEY \
                 (`pilcrow vapid-key` makes one)"
            ),
            None => {}
        }
        let subject = &self.push.subject;
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            bail!("push.subject must be a mailto: or https: URL, not {subject:?}");
        }
        Ok(())
    }

    /// The configured VAPID key or, outside production, one kept under the
    /// data directory (made on first use), so browsers' subscriptions, which
    /// are bound to the key, survive a restart.
    pub fn vapid_key(&self) -> anyhow::Result<crate::notifications::push::keys::VapidKey> {
        use crate::notifications::push::keys::VapidKey;
        if let Some(key) = &self.push.vapid_private_key {
            return VapidKey::parse(key.expose_secret());
        }
        let path = self.database.data_dir.join("vapid_private_key");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if let Ok(key) = VapidKey::parse(existing.trim()) {
                return Ok(key);
            }
        }
        std::fs::create_dir_all(&self.database.data_dir)
            .with_context(|| format!("creating {}", self.database.data_dir.display()))?;
        let encoded = VapidKey::generate();
        write_private(&path, &encoded)?;
        VapidKey::parse(&encoded)
    }

    /// Where a reset mail links: `mail.reset_link`, or the reset page under
    /// `server.public_base_url`, so one setting moves both.
    pub fn reset_link(&self) -> String {
        if self.mail.reset_link.trim().is_empty() {
            format!("{}/reset-password", self.server.public_base_url.trim_end_matches('/'))
        } else {
            self.mail.reset_link.clone()
        }
    }

    /// The frontend notification mail links to: `mail.app_url`, or
    /// `server.public_base_url`; without a trailing slash.
    pub fn app_url(&self) -> String {
        let url = if self.mail.app_url.trim().is_empty() {
            &self.server.public_base_url
        } else {
            &self.mail.app_url
        };
        url.trim().trim_end_matches('/').to_owned()
    }

    /// Where a verification mail links: `mail.verify_link`, or the
    /// verification page under [`Self::app_url`].
    pub fn verify_link(&self) -> String {
        if self.mail.verify_link.trim().is_empty() {
            format!("{}/verify-email", self.app_url())
        } else {
            self.mail.verify_link.trim().to_owned()
        }
    }

    /// Without a database URL: a private cluster, in development or when asked for.
    pub fn private_cluster_allowed(&self) -> bool {
        self.environment == Environment::Development || self.database.embedded
    }

    /// The configured JWT secret or, outside production, one kept under the
    /// data directory (made on first use) so tokens survive a restart.
    pub fn jwt_secret(&self) -> anyhow::Result<SecretString> {
        if let Some(secret) = &self.auth.jwt_secret {
            return Ok(secret.clone());
        }
        let path = self.database.data_dir.join("jwt_secret");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let existing = existing.trim().to_owned();
            if existing.len() >= MIN_SECRET_BYTES {
                return Ok(existing.into());
            }
        }
        std::fs::create_dir_all(&self.database.data_dir)
            .with_context(|| format!("creating {}", self.database.data_dir.display()))?;
        let secret = crate::secrets::random_token(48);
        write_private(&path, &secret)?;
        Ok(secret.into())
    }

    /// HTTP workers. Automatic (0): one per core, or half the cores when
    /// the database runs on this machine (the private cluster), which then
    /// needs the rest; on 2 cores that measured 15 % more comment posts.
    pub fn workers(&self, database_on_this_machine: bool) -> usize {
        if self.server.workers != 0 {
            return self.server.workers;
        }
        if database_on_this_machine {
            (cores() / 2).max(1)
        } else {
            cores()
        }
    }

    /// Connections for requests: `database.pool_size`, or twice the cores
    /// up to the 16 that were the default before (a server's 100 connections
    /// hold a few instances of that).
    pub fn pool_size(&self) -> usize {
        match self.database.pool_size {
            0 => (2 * cores()).min(16),
            size => size,
        }
    }

    pub fn max_concurrent_hashes(&self) -> usize {
        if self.auth.max_concurrent_hashes == 0 {
            (cores() / 2).max(1)
        } else {
            self.auth.max_concurrent_hashes
        }
    }

    /// `cpu.max_concurrent`, with 0 meaning half the cores (at least one).
    pub fn max_concurrent_cpu(&self) -> usize {
        if self.cpu.max_concurrent == 0 {
            (cores() / 2).max(1)
        } else {
            self.cpu.max_concurrent
        }
    }
}

/// The CPU cores this process may use (2 when the system will not say): the
/// automatic worker, pool and hashing sizes follow it.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Settings;

    #[test]
    fn the_reset_link_follows_the_public_base_url_unless_set() {
        let mut settings =
            Settings::load_from(std::path::Path::new("/nonexistent")).expect("built-in defaults");
        settings.server.public_base_url = "https://reading.example/".into();
        assert_eq!(settings.reset_link(), "https://reading.example/reset-password");
        settings.mail.reset_link = "https://app.reading.example/reset".into();
        assert_eq!(settings.reset_link(), "https://app.reading.example/reset");
    }

    #[test]
    fn mail_links_follow_the_app_url_which_follows_the_public_base_url() {
        let mut settings =
            Settings::load_from(std::path::Path::new("/nonexistent")).expect("built-in defaults");
        settings.server.public_base_url = "https://reading.example/".into();
        assert_eq!(settings.app_url(), "https://reading.example");
        assert_eq!(settings.verify_link(), "https://reading.example/verify-email");
        settings.mail.app_url = "https://app.reading.example/".into();
        assert_eq!(settings.verify_link(), "https://app.reading.example/verify-email");
        settings.mail.verify_link = "https://app.reading.example/confirm".into();
        assert_eq!(settings.verify_link(), "https://app.reading.example/confirm");
    }
}
