#![allow(dead_code)] // shared by every test file; not each uses every helper
//! `spawn_app`: the real application on port 0 against its own database,
//! cloned from a migrated template on one throwaway cluster per test run.

use std::sync::{Mutex, OnceLock};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pilcrow::auth::tokens::TokenKeys;
use pilcrow::config::Settings;
use pilcrow::db::embedded::Cluster;
use pilcrow::db::migrate;
use pilcrow::startup::Application;
use reqwest::Method;
use serde_json::{json, Value};

const TEMPLATE: &str = "template_pilcrow";

struct TestCluster {
    /// Kept alive for the whole run; the guard stops it when the process exits.
    _cluster: Mutex<Cluster>,
    base_url: String,
}

impl TestCluster {
    fn url(&self, db: &str) -> String {
        format!("{} dbname={db}", self.base_url)
    }
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();

fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(|| {
        // Its own thread and runtime: the first test's runtime ends with that test.
        std::thread::spawn(|| {
            let cluster = Cluster::start_ephemeral().expect("starting the test PostgreSQL cluster");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                cluster.ensure_database(TEMPLATE).await.expect("creating the template database");
                migrate::run(&cluster.url(TEMPLATE)).await.expect("migrating the template database");
            });
            let base_url = cluster.url("postgres").replace(" dbname=postgres", "");
            TestCluster { _cluster: Mutex::new(cluster), base_url }
        })
        .join()
        .expect("test cluster thread")
    })
}

/// A fresh database cloned from the migrated template.
pub async fn fresh_database() -> String {
    let c = cluster();
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AsyncPgConnection::establish(&c.url("postgres")).await.expect("admin connection");
    for attempt in 0..50 {
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => return c.url(&name),
            // The template is briefly "being accessed" right after migrating it.
            Err(e) if attempt < 49 && e.to_string().contains("being accessed") => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(e) => panic!("creating {name}: {e}"),
        }
    }
    unreachable!()
}

fn drop_database(url: &str) {
    let Some(name) = url.rsplit("dbname=").next().map(str::to_owned) else { return };
    let admin = cluster().url("postgres");
    // Drop runs outside any runtime we may use; do it on a thread of its own.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        rt.block_on(async {
            let mut conn = AsyncPgConnection::establish(&admin).await.ok()?;
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .ok()
        })
    })
    .join();
}

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

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem's `code`, for error responses.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self.body
    }

    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_eq!(self.body["status"], status, "body: {}", self.body);
    }

    /// A 401 as RFC 6750 asks: problem+json and a `WWW-Authenticate: Bearer` challenge.
    #[track_caller]
    pub fn expect_unauthorized(&self, code: &str) {
        self.expect_problem(401, code);
        assert!(
            self.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")),
            "no Bearer challenge; headers: {:?}",
            self.headers
        );
    }
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh: String,
}

impl TestApp {
    /// `path` is under /api/v1 unless it starts with `!` (then it is taken as is).
    pub fn url(&self, path: &str) -> String {
        match path.strip_prefix('!') {
            Some(raw) => format!("{}{raw}", self.address),
            None => format!("{}/api/v1{path}", self.address),
        }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn raw(&self, req: reqwest::RequestBuilder) -> Resp {
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn login(&self, login: &str, password: &str) -> Resp {
        self.post("/auth/login", None, json!({"login": login, "password": password})).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.post("/auth/refresh", None, json!({"refresh_token": refresh_token})).await
    }

    /// Registers `username` (email `<username>@example.org`, password `password-<username>`).
    pub async fn register(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.org");
        let password = format!("password-{username}");
        let body = self
            .post("/auth/register", None, json!({"username": username, "email": email, "password": password}))
            .await
            .expect(201);
        TestUser {
            id: body["user"]["id"].as_str().expect("id").to_owned(),
            username: username.to_owned(),
            email,
            password,
            token: body["access_token"].as_str().expect("access").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }
}

async fn read(res: reqwest::Response) -> Resp {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp { status, headers, body }
}

/// The essay fixture shared by every test, read from ../shared at test time.
pub fn essay_fixture() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/essay-revolutions.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Scenario builders: one line each for the things most tests need.
impl TestApp {
    /// A group owned by `owner`; `visibility` is "public" or "private". Returns its id.
    pub async fn create_group(&self, owner: &TestUser, visibility: &str) -> String {
        let name = format!("Group {}", uuid::Uuid::new_v4().simple());
        let body = self
            .post("/groups", Some(&owner.token), json!({"name": name, "visibility": visibility}))
            .await
            .expect(201);
        body["id"].as_str().expect("group id").to_owned()
    }

    /// `user` joins a public group, or is invited into a private one by `owner`.
    pub async fn add_member(&self, group_id: &str, owner: &TestUser, user: &TestUser, role: &str) {
        let invite = self
            .post(&format!("/groups/{group_id}/invites"), Some(&owner.token), json!({}))
            .await
            .expect(201);
        let code = invite["code"].as_str().expect("code");
        self.post(&format!("/invites/{code}/accept"), Some(&user.token), json!({})).await.expect(201);
        if role != "member" {
            self.put(
                &format!("/groups/{group_id}/members/{}/role", user.id),
                Some(&owner.token),
                json!({"role": role}),
            )
            .await
            .expect(200);
        }
    }

    /// Imports `body` as a text essay into the group; returns the essay JSON (with paragraphs).
    pub async fn import_essay(&self, group_id: &str, organiser: &TestUser, body: &str) -> Value {
        self.post(
            &format!("/groups/{group_id}/essays"),
            Some(&organiser.token),
            json!({"title": "Why do revolutions end in tyranny?", "author": "Tess Lee Ack", "format": "text", "body": body}),
        )
        .await
        .expect(201)
    }

    /// An open session on the essay; returns its id.
    pub async fn open_session(&self, group_id: &str, organiser: &TestUser, essay_id: &str) -> String {
        let body = self
            .post(
                &format!("/groups/{group_id}/sessions"),
                Some(&organiser.token),
                json!({"essay_id": essay_id, "title": "Week 1", "starts_at": "2026-01-01T18:00:00Z", "status": "open"}),
            )
            .await
            .expect(201);
        body["id"].as_str().expect("session id").to_owned()
    }
}

/// A group with the fixture essay and an open session, owned by `owner`.
pub struct Reading {
    pub group_id: String,
    pub essay: Value,
    pub session_id: String,
}

impl Reading {
    pub fn paragraph_id(&self, position: usize) -> String {
        self.essay["paragraphs"][position]["id"].as_str().expect("paragraph id").to_owned()
    }

    pub fn paragraph_text(&self, position: usize) -> String {
        self.essay["paragraphs"][position]["text"].as_str().expect("paragraph text").to_owned()
    }
}

impl TestApp {
    pub async fn reading(&self, owner: &TestUser, visibility: &str) -> Reading {
        let group_id = self.create_group(owner, visibility).await;
        let essay = self.import_essay(&group_id, owner, &essay_fixture()).await;
        let essay_id = essay["id"].as_str().expect("essay id").to_owned();
        let session_id = self.open_session(&group_id, owner, &essay_id).await;
        Reading { group_id, essay, session_id }
    }
}

impl TestApp {
    /// A direct connection to this test's database, for checking what the API wrote.
    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db_url).await.expect("test database connection")
    }

    /// Starts a thread on the paragraph; returns the thread JSON.
    pub async fn start_thread(
        &self,
        session_id: &str,
        user: &TestUser,
        paragraph_id: &str,
        body: &str,
    ) -> Value {
        self.post(
            &format!("/sessions/{session_id}/threads"),
            Some(&user.token),
            json!({"paragraph_id": paragraph_id, "body": body}),
        )
        .await
        .expect(201)
    }

    /// Comments on a thread (replying to `parent` when given); returns the comment JSON.
    pub async fn comment(&self, thread_id: &str, user: &TestUser, parent: Option<&str>, body: &str) -> Value {
        self.post(
            &format!("/threads/{thread_id}/comments"),
            Some(&user.token),
            json!({"body": body, "parent_id": parent}),
        )
        .await
        .expect(201)
    }

    /// (thread_count, comment_count) of one paragraph, as /counts reports it.
    pub async fn paragraph_counts(
        &self,
        session_id: &str,
        paragraph_id: &str,
        token: Option<&str>,
    ) -> (i64, i64) {
        let counts = self.get(&format!("/sessions/{session_id}/counts"), token).await.expect(200);
        let p = counts["paragraphs"]
            .as_array()
            .expect("paragraphs")
            .iter()
            .find(|p| p["paragraph_id"] == paragraph_id)
            .expect("paragraph in counts")
            .clone();
        (
            p["thread_count"].as_i64().expect("thread_count"),
            p["comment_count"].as_i64().expect("comment_count"),
        )
    }
}

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq)]
pub struct Recount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub threads: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub comments: i64,
}

/// Counts for one paragraph recomputed from the rows by the contract's rule.
pub async fn recount(conn: &mut AsyncPgConnection, session_id: &str, paragraph_id: &str) -> Recount {
    diesel::sql_query(
        "SELECT count(DISTINCT t.id) FILTER (WHERE NOT t.hidden) AS threads,
                count(c.id) FILTER (WHERE NOT t.hidden AND NOT c.hidden AND NOT c.deleted) AS comments
           FROM threads t LEFT JOIN comments c ON c.thread_id = t.id
          WHERE t.session_id = $1::uuid AND t.paragraph_id = $2::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(session_id)
    .bind::<diesel::sql_types::Text, _>(paragraph_id)
    .get_result(conn)
    .await
    .expect("recount")
}

impl TestApp {
    /// An invite code for the group, created by `organiser` with `body` (`{max_uses?, expires_at?}`).
    pub async fn invite(&self, group_id: &str, organiser: &TestUser, body: Value) -> String {
        let invite =
            self.post(&format!("/groups/{group_id}/invites"), Some(&organiser.token), body).await.expect(201);
        invite["code"].as_str().expect("code").to_owned()
    }

    /// Follows `next_cursor` from `path` (which must not hold a query string yet)
    /// with pages of `limit`, calling `between` after every page; returns every item id seen.
    pub async fn walk_ids<F, Fut>(
        &self,
        path: &str,
        token: Option<&str>,
        limit: usize,
        mut between: F,
    ) -> Vec<String>
    where
        F: FnMut(usize) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        for page_no in 0..1000 {
            let url = match &cursor {
                Some(c) => format!("{path}?limit={limit}&cursor={c}"),
                None => format!("{path}?limit={limit}"),
            };
            let page = self.get(&url, token).await.expect(200);
            let items = page["items"].as_array().expect("items");
            assert!(items.len() <= limit, "page larger than limit: {page}");
            for item in items {
                let id = item.get("id").or_else(|| item["user"].get("id")).expect("item id");
                ids.push(id.as_str().expect("id string").to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return ids,
            }
            between(page_no).await;
        }
        panic!("more than 1000 pages")
    }
}

impl Resp {
    /// Status, content type and body, for comparing two responses.
    pub fn shape(&self) -> (u16, Option<String>, Value) {
        (self.status, self.header("content-type").map(str::to_owned), self.body.clone())
    }
}
