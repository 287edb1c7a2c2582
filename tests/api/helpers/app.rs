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
    customize(&mut settings);
    if std::env::var_os("TEST_LOG").is_some() {
        pilcrow::telemetry::init(&settings.log);
    }
    let secret = settings.jwt_secret().expect("secret");
    let keys = TokenKeys::new(&secret, &settings.auth);
    let app = Application::build(settings.clone()).await.expect("building the app");
    let address = format!("http://127.0.0.1:{}", app.port());
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
        drop_db: false,
    }
}

impl TestApp {
    /// A direct connection to this test's database, for checking what the API wrote.
    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db_url).await.expect("test database connection")
    }
}
