//! The `pilcrow` binary itself, run as an operator would run it, against the
//! test's own database.

use std::process::{Command, Output};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_on, TestApp};

fn pilcrow(db_url: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilcrow"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DATABASE_URL")
        .env_remove("PILCROW__DATABASE__URL")
        .env_remove("PILCROW_ENV")
        .env_remove("RUST_LOG")
        .env("PILCROW__DATABASE__DATA_DIR", std::env::temp_dir().join("pilcrow-cli-test-data"));
    if let Some(url) = db_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd.output().expect("running pilcrow")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[track_caller]
fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn help_and_version_exit_zero() {
    let help = succeeded(&pilcrow(None, &["--help"]));
    for command in ["serve", "migrate", "admin", "import-essay", "demo", "healthcheck", "openapi"] {
        assert!(help.contains(command), "{command} missing from --help:\n{help}");
    }
    let version = succeeded(&pilcrow(None, &["--version"]));
    assert_eq!(version.trim(), format!("pilcrow {}", env!("CARGO_PKG_VERSION")));
    let admin_help = succeeded(&pilcrow(None, &["admin", "--help"]));
    assert!(admin_help.contains("grant-admin") && admin_help.contains("revoke-admin"));
    assert!(!pilcrow(None, &["no-such-command"]).status.success());
}

#[test]
fn production_without_a_database_url_refuses_in_one_sentence() {
    let out = Command::new(env!("CARGO_BIN_EXE_pilcrow"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("DATABASE_URL")
        .env_remove("PILCROW__DATABASE__URL")
        .env("PILCROW_ENV", "production")
        .env("PILCROW__AUTH__JWT_SECRET", "x".repeat(48))
        .output()
        .expect("running pilcrow");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("needs a database") && stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("PostgreSQL cluster"), "it must not start one: {stderr}");
}

async fn is_admin(app: &TestApp, username: &str) -> bool {
    use pilcrow::schema::users;
    let mut conn = app.db().await;
    users::table
        .filter(users::username.eq(username))
        .select(users::is_admin)
        .first(&mut conn)
        .await
        .expect("user")
}

#[tokio::test]
async fn admin_grants_and_revokes_site_administration() {
    let app = spawn_app().await;
    app.register("ada").await;
    let url = app.db_url.clone();
    let out = tokio::task::spawn_blocking(move || pilcrow(Some(&url), &["admin", "grant-admin", "ada"]))
        .await
        .unwrap();
    assert!(succeeded(&out).contains("ada is now a site administrator"));
    assert!(is_admin(&app, "ada").await);
    let url = app.db_url.clone();
    let out = tokio::task::spawn_blocking(move || pilcrow(Some(&url), &["admin", "revoke-admin", "ada"]))
        .await
        .unwrap();
    succeeded(&out);
    assert!(!is_admin(&app, "ada").await);
    let url = app.db_url.clone();
    let out = tokio::task::spawn_blocking(move || pilcrow(Some(&url), &["admin", "grant-admin", "nobody"]))
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no user is called \"nobody\""), "{}", text(&out.stderr));
}

#[tokio::test]
async fn import_essay_splits_a_file_into_the_group() {
    let app = spawn_app().await;
    let ada = app.register("ada").await;
    let group = app
        .post(
            "/groups",
            Some(&ada.token),
            json!({"name": "Margins", "slug": "margins", "visibility": "public"}),
        )
        .await
        .expect(201);
    let file = std::env::temp_dir().join(format!("pilcrow-import-{}.md", uuid::Uuid::new_v4().simple()));
    std::fs::write(&file, "# A heading\n\nFirst “paragraph” — here.\n\nSecond one.\n").expect("write");
    let url = app.db_url.clone();
    let path = file.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        pilcrow(
            Some(&url),
            &["import-essay", "--group", "margins", "--title", "Notes", "--author", "Ada", &path],
        )
    })
    .await
    .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(succeeded(&out).contains("(3 paragraphs)"), "{}", text(&out.stdout));
    let essays =
        app.get(&format!("/groups/{}/essays", group["id"].as_str().unwrap()), None).await.expect(200);
    let essay = &essays["items"][0];
    assert_eq!(essay["title"], "Notes");
    let full = app.get(&format!("/essays/{}", essay["id"].as_str().unwrap()), None).await.expect(200);
    assert_eq!(full["paragraphs"][0]["kind"], "heading");
    assert_eq!(full["paragraphs"][1]["text"], "First “paragraph” — here.");

    let url = app.db_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        pilcrow(Some(&url), &["import-essay", "--group", "nope", "--title", "x", "Cargo.toml"])
    })
    .await
    .unwrap();
    assert!(text(&out.stderr).contains("no group has the slug \"nope\""), "{}", text(&out.stderr));
}

fn demo_password(stdout: &str) -> String {
    let line =
        stdout.lines().find(|l| l.starts_with("Sign in as demo with password ")).expect("sign-in line");
    line.trim_start_matches("Sign in as demo with password ").trim_end_matches(':').to_owned()
}

#[tokio::test]
async fn demo_seeds_once_and_prints_a_working_sign_in() {
    let app = spawn_app().await;
    let url = app.db_url.clone();
    let first = tokio::task::spawn_blocking(move || pilcrow(Some(&url), &["demo"])).await.unwrap();
    let first = succeeded(&first);
    let url = app.db_url.clone();
    let second = tokio::task::spawn_blocking(move || pilcrow(Some(&url), &["demo"])).await.unwrap();
    let second = succeeded(&second);
    let password = demo_password(&second);
    assert_ne!(demo_password(&first), password, "a rerun gives a fresh password");

    let login = app.login("demo", &password).await.expect(200);
    let token = login["access_token"].as_str().expect("token");
    let groups = app.get("/groups?limit=50", Some(token)).await.expect(200);
    let demo: Vec<_> =
        groups["items"].as_array().unwrap().iter().filter(|g| g["slug"] == "demo-readers").collect();
    assert_eq!(demo.len(), 1, "seeded once: {groups}");
    let session_id = second.split("session ").nth(1).and_then(|s| s.split('.').next()).expect("session id");
    let threads = app.get(&format!("/sessions/{session_id}/threads"), Some(token)).await.expect(200);
    assert_eq!(threads["items"].as_array().expect("threads").len(), 3, "{threads}");
    let paragraphs = app.get(&format!("/sessions/{session_id}/paragraphs"), None).await.expect(200);
    let text = paragraphs.to_string();
    assert!(text.contains('“') && text.contains('—'), "curly quotes and an em dash");
}

#[tokio::test]
async fn bound_parameters_never_reach_the_log_even_at_trace() {
    let app = spawn_app().await;
    let ada = app.register("ada-secret-name").await;
    let url = app.db_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pilcrow"));
        cmd.args(["admin", "grant-admin", "ada-secret-name"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "trace,tokio_postgres=trace");
        cmd.output().expect("running pilcrow")
    })
    .await
    .unwrap();
    succeeded(&out);
    let log = text(&out.stderr);
    assert!(
        !log.contains("ada-secret-name") && !log.contains("parameters"),
        "a bound parameter was logged:\n{log}"
    );
    assert!(!log.contains("tokio_postgres"), "{log}");
    drop(ada);
}

#[tokio::test]
async fn healthcheck_exits_zero_only_when_the_server_answers() {
    let app = spawn_app_on(&crate::helpers::fresh_database().await, |_| {}).await;
    let health = format!("{}/health", app.address);
    let ok =
        tokio::task::spawn_blocking(move || pilcrow(None, &["healthcheck", "--url", &health])).await.unwrap();
    succeeded(&ok);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let down = format!("http://127.0.0.1:{closed}/health");
    let out =
        tokio::task::spawn_blocking(move || pilcrow(None, &["healthcheck", "--url", &down])).await.unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn production_logs_json_whatever_the_configured_format() {
    let app = spawn_app().await;
    let url = app.db_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_pilcrow"))
            .arg("migrate")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PILCROW_ENV", "production")
            .env("DATABASE_URL", url)
            .env("PILCROW__AUTH__JWT_SECRET", "y".repeat(48))
            .env("PILCROW__PUSH__VAPID_PRIVATE_KEY", pilcrow::notifications::push::keys::VapidKey::generate())
            .env("PILCROW__LOG__FORMAT", "pretty")
            .env("RUST_LOG", "info")
            .output()
            .expect("running pilcrow")
    })
    .await
    .unwrap();
    succeeded(&out);
    let log = text(&out.stderr);
    let lines: Vec<&str> = log.lines().collect();
    assert!(!lines.is_empty(), "migrate logged nothing");
    for line in lines {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn openapi_prints_the_served_document_with_no_server_or_database() {
    let app = spawn_app().await;
    let served = app.get("/openapi.json", None).await.expect(200);
    // Production with neither a database URL nor a secret: the command needs neither.
    let out = tokio::task::spawn_blocking(|| {
        Command::new(env!("CARGO_BIN_EXE_pilcrow"))
            .arg("openapi")
            .current_dir(std::env::temp_dir())
            .env_remove("DATABASE_URL")
            .env("PILCROW_ENV", "production")
            .output()
            .expect("running pilcrow")
    })
    .await
    .unwrap();
    let printed: serde_json::Value = serde_json::from_str(&succeeded(&out)).expect("the output is JSON");
    assert_eq!(printed, served);
}

#[tokio::test]
async fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let app = spawn_app().await;
    let url = app.db_url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_pilcrow"))
            .arg("migrate")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("PILCROW_ENV")
            .env("DATABASE_URL", url)
            .env("PILCROW__LOG__FORMAT", "pretty")
            .env("RUST_LOG", "info")
            .output()
            .expect("running pilcrow")
    })
    .await
    .unwrap();
    succeeded(&out);
    let log = text(&out.stderr);
    assert!(!log.trim().is_empty(), "migrate logged nothing");
    assert!(!log.contains('\x1b'), "escape sequences in a piped log:\n{log:?}");
}
