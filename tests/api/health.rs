use std::time::{Duration, Instant};

use pilcrow::db::embedded::{Cluster, ClusterOptions};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_on};

#[tokio::test]
async fn health_and_ready_answer_200() {
    let app = spawn_app().await;
    let health = app.get("!/health", None).await;
    assert_eq!(health.status, 200);
    assert!(health.header("x-request-id").is_some_and(|id| !id.is_empty()));
    assert_eq!(health.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(app.get("!/ready", None).await.expect(200)["status"], "ready");
}

#[tokio::test]
async fn openapi_document_and_docs_are_served() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await.expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for path in ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/me", "/health", "/ready"] {
        assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
    }
    let redirect = app.get("!/docs", None).await;
    assert_eq!(redirect.status, 308);
    let page = app.get("!/docs/", None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.as_str().is_some_and(|html| html.contains("swagger")), "docs page is not Swagger UI");
}

/// The database stops under a running server: /ready and data routes answer
/// 503 (never 500, never a hang), and both recover once it is back, without
/// restarting the service.
#[tokio::test]
async fn database_outage_gives_503_then_recovers() {
    let root = std::env::temp_dir().join(format!("pilcrow-outage-{}", uuid::Uuid::new_v4().simple()));
    let options = ClusterOptions { root: root.clone(), ephemeral: false };
    let mut cluster = tokio::task::spawn_blocking(move || Cluster::start(options)).await.unwrap().unwrap();
    cluster.ensure_database("pilcrow").await.unwrap();
    let url = cluster.url("pilcrow");
    let app = spawn_app_on(&url, |s| s.database.pool_timeout_ms = 500).await;
    let user = app.register("outage").await;
    app.get("!/ready", None).await.expect(200);

    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop();
        cluster
    })
    .await
    .unwrap();

    let started = Instant::now();
    app.get("!/ready", None).await.expect_problem(503, "database_unavailable");
    app.get("/me", Some(&user.token)).await.expect_problem(503, "database_unavailable");
    let login = app.post("/auth/login", None, json!({"login": "outage", "password": user.password})).await;
    login.expect_problem(503, "database_unavailable");
    assert!(login.header("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(10), "503s took {:?}", started.elapsed());

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.restart().unwrap();
        cluster
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.get("!/ready", None).await.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the service did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/me", Some(&user.token)).await.expect(200)["username"], "outage");

    drop(app);
    tokio::task::spawn_blocking(move || drop(cluster)).await.unwrap();
    let _ = std::fs::remove_dir_all(root);
}
