//! `spawn_app`: the real application on port 0 against its own database.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use pilcrow::auth::tokens::TokenKeys;
use pilcrow::config::Settings;
use pilcrow::startup::Application;

use super::cluster::{drop_database, fresh_database};

pub struct TestApp {
    pub address: String,
    pub db_url: String,
    pub client: reqwest::Client,
    pub keys: TokenKeys,
    pub settings: Settings,
    /// The instance's live events hub (to shut its streams down as SIGTERM would).
    pub events: std::sync::Arc<pilcrow::events::EventHub>,
    /// The instance's kept responses (to see whether one was reused).
    pub kept_responses: std::sync::Arc<pilcrow::versions::kept::KeptResponses>,
    /// The instance's notification mail (to run a digest round as of a given time).
    pub mailing: std::sync::Arc<pilcrow::mailing::Mailing>,
    drop_db: bool,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if self.drop_db {
            drop_database(&self.db_url);
        }
    }
}

pub fn test_settings() -> Settings {
    let mut settings = Settings::load().expect("loading settings");
    settings.server.port = 0;
    settings.server.workers = 1;
    settings.database.pool_size = 8;
    settings.database.pool_timeout_ms = 1500;
    settings.auth.jwt_secret = Some(format!("test-secret-{}", uuid::Uuid::new_v4()).into());
    // Not the development key kept under data_dir: tests run in parallel.
    settings.push.vapid_private_key = Some(pilcrow::notifications::push::keys::VapidKey::generate().into());
    // Every test comes from 127.0.0.1 and many post in bulk (concurrency
    // tests post hundreds of comments): rate limits and the per-client share
    // of the hashing queue are off here, and tests/api/rate_limits.rs turns
    // them on with small numbers.
    settings.rate_limit.enabled = false;
    settings.auth.max_hashes_per_client = 1_000;
    // Registration mails a verification link; without SMTP it is a file under
    // data_dir, kept with the build's scratch files rather than in ./data,
    // and only the latest run's.
    static DATA_DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    settings.database.data_dir = DATA_DIR
        .get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-data");
            let _ = std::fs::remove_dir_all(dir.join("mail"));
            dir
        })
        .clone();
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    let db_url = fresh_database().await;
    let mut app = spawn_app_on(&db_url, customize).await;
    app.drop_db = true;
    app
}

/// The app against a database the test manages itself.
pub async fn spawn_app_on(db_url: &str, customize: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    settings.database.url = Some(db_url.to_owned().into());
    if let Some(pooler) = super::pooler::shared_session_pooler() {
        settings.database.direct_url = Some(db_url.to_owned().into());
        settings.database.url = Some(pooler.url_for(db_url).into());
    }
    customize(&mut settings);
    if std::env::var_os("TEST_LOG").is_some() {
        pilcrow::telemetry::init(&settings.log);
    }
    let secret = settings.jwt_secret().expect("secret");
    let keys = TokenKeys::new(&secret, &settings.auth);
    let app = Application::build(settings.clone()).await.expect("building the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let events = app.events();
    let kept_responses = app.kept_responses();
    let mailing = app.mailing();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        db_url: db_url.to_owned(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        keys,
        settings,
        events,
        kept_responses,
        mailing,
        drop_db: false,
    }
}

impl TestApp {
    /// Another instance of the same application: same database, same token
    /// key, its own port, pool, hub and LISTEN connection.
    pub async fn second_instance(&self) -> TestApp {
        let secret = self.settings.auth.jwt_secret.clone();
        // Mail goes where the first instance's goes, with its links.
        let (mail, base) = (self.settings.mail.clone(), self.settings.server.public_base_url.clone());
        spawn_app_on(&self.db_url, move |s| {
            s.auth.jwt_secret = secret;
            s.mail = mail;
            s.server.public_base_url = base;
        })
        .await
    }

    /// A direct connection to this test's database, for checking what the API wrote.
    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db_url).await.expect("test database connection")
    }
}
