//! Operations at the HTTP edge: HEAD, /docs headers, CORS refusals, request
//! ids and trace context, and the Prometheus endpoint.

use reqwest::Method;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn head_answers_wherever_get_does_with_no_body() {
    let app = spawn_app_with(|_| {}).await;
    let ada = app.register("ada").await;
    for path in ["!/health", "/me", "/openapi.json"] {
        let get = app.client.get(app.url(path)).bearer_auth(&ada.token).send().await.expect("get");
        let get_length = get.headers().get("content-length").cloned();
        let get_status = get.status();
        let head = app.client.head(app.url(path)).bearer_auth(&ada.token).send().await.expect("head");
        assert_eq!(head.status(), get_status, "HEAD {path}");
        assert_eq!(head.headers().get("content-length").cloned(), get_length, "HEAD {path} length");
        assert!(head.bytes().await.expect("body").is_empty(), "HEAD {path} sent a body");
    }
    // A route without GET still refuses HEAD the way it refuses GET.
    let head = app.client.head(app.url("/auth/login")).send().await.expect("head");
    assert_eq!(head.status(), 405);
}

#[tokio::test]
async fn docs_forbid_framing_and_foreign_content() {
    let app = spawn_app_with(|_| {}).await;
    let page = app.get("!/docs/", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let csp = page.header("content-security-policy").expect("CSP on /docs");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(app.get("!/health", None).await.header("content-security-policy").is_none());
}

#[tokio::test]
async fn cors_allows_the_frontend_headers_and_refuses_strangers_with_a_problem() {
    let app = spawn_app_with(|s| s.server.cors_allowed_origins = vec!["http://localhost:5173".into()]).await;
    let preflight = |origin: &str, headers: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/groups"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", headers)
    };
    let wanted = "authorization, content-type, idempotency-key, traceparent, x-request-id, if-none-match, if-match, last-event-id";
    let ok = app.raw(preflight("http://localhost:5173", wanted)).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let allowed = ok.header("access-control-allow-headers").expect("allowed headers").to_lowercase();
    for header in wanted.split(", ") {
        assert!(allowed.contains(header), "{header} not allowed: {allowed}");
    }
    let refused = app.raw(preflight("https://evil.example", "authorization")).await;
    refused.expect_problem(403, "cors_rejected");
    let bad_header = app.raw(preflight("http://localhost:5173", "x-made-up")).await;
    bad_header.expect_problem(403, "cors_rejected");
}

#[tokio::test]
async fn request_id_and_traceparent_are_kept_and_echoed() {
    let app = spawn_app_with(|_| {}).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let res = app
        .raw(
            app.client
                .get(app.url("/me"))
                .header("x-request-id", "frontend-42")
                .header("traceparent", traceparent),
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.header("x-request-id"), Some("frontend-42"));
    assert_eq!(res.header("traceparent"), Some(traceparent));
    // An id that is not a plain token is replaced, and a broken traceparent is not echoed.
    let res = app
        .raw(
            app.client
                .get(app.url("!/health"))
                .header("x-request-id", "two words")
                .header("traceparent", "00-zz"),
        )
        .await;
    let id = res.header("x-request-id").expect("fresh id");
    assert!(id != "two words" && uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert!(res.header("traceparent").is_none());
}

/// The value of one Prometheus series, or 0 when it is absent.
fn series(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_show_the_pool() {
    // pool_size 0: twice the cores, at most 16, for the one worker's pool
    // and as many again for the shared one.
    let app = spawn_app_with(|s| {
        s.metrics.enabled = true;
        s.database.pool_size = 0;
    })
    .await;
    let automatic = (2 * std::thread::available_parallelism().map_or(2, usize::from)).min(16);
    let group =
        "pilcrow_http_requests_total{route=\"/api/v1/groups/{group_id}\",method=\"GET\",status=\"404\"}";
    let before = series(app.get("!/metrics", None).await.body.as_str().unwrap_or(""), group);
    for _ in 0..3 {
        app.get(&format!("/groups/{}", uuid::Uuid::new_v4()), None).await.expect_problem(404, "not_found");
    }
    let metrics = app.get("!/metrics", None).await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").is_some_and(|t| t.starts_with("text/plain")));
    let text = metrics.body.as_str().expect("text").to_owned();
    assert!(series(&text, group) >= before + 3.0, "{text}");
    assert!(
        !text.contains("/api/v1/groups/0") && !text.contains("/api/v1/groups/1"),
        "a raw path leaked: {text}"
    );
    assert!(text.contains("pilcrow_http_request_duration_seconds_bucket{route=\"/api/v1/groups/{group_id}\""));
    assert_eq!(series(&text, "pilcrow_pool_max_size"), (2 * automatic) as f64, "{text}");
    assert!(text.contains("pilcrow_pool_in_use") && text.contains("pilcrow_pool_waiting"), "{text}");
}

#[tokio::test]
async fn metrics_are_off_by_default_and_can_have_a_port_of_their_own() {
    let app = spawn_app_with(|_| {}).await;
    app.get("!/metrics", None).await.expect_problem(404, "not_found");

    let db_url = crate::helpers::fresh_database().await;
    let mut settings = crate::helpers::test_settings();
    settings.database.url = Some(db_url.into());
    settings.metrics.bind = "127.0.0.1:0".into();
    let separate = pilcrow::startup::Application::build(settings).await.expect("app");
    let port = separate.metrics_port().expect("metrics port");
    let main_port = separate.port();
    tokio::spawn(separate.run_until_stopped());
    let client = reqwest::Client::new();
    let text = client.get(format!("http://127.0.0.1:{port}/metrics")).send().await.expect("metrics");
    assert_eq!(text.status(), 200);
    assert!(text.text().await.expect("text").contains("pilcrow_pool_size"));
    let main = client.get(format!("http://127.0.0.1:{main_port}/metrics")).send().await.expect("main");
    assert_eq!(main.status(), 404, "metrics.bind keeps /metrics off the main port");
}
