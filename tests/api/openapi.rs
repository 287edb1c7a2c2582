//! The served OpenAPI document is a contract frontends generate clients from:
//! valid 3.1, every `$ref` resolving, every token-reading route saying so,
//! every error described as a problem, and request fields carrying limits.

use serde_json::Value;

use crate::helpers::spawn_app;

/// Operations that never read a token.
const ANONYMOUS_ONLY: [&str; 14] = [
    "get /health",
    "get /ready",
    "post /api/v1/auth/register",
    "post /api/v1/auth/login",
    "post /api/v1/auth/refresh",
    "post /api/v1/auth/password-reset",
    "post /api/v1/auth/password-reset/confirm",
    "get /api/v1/push/public-key",
    "post /api/v1/auth/verify-email",
    "get /api/v1/unsubscribe/{token}",
    "post /api/v1/unsubscribe/{token}",
    "get /api/v1/groups/{group_id}/calendar.ics",
    "get /api/v1/calendar-feeds/{token}/calendar.ics",
    "get /api/v1/exports/{export_id}/archive",
];

async fn document() -> Value {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await.expect(200);
    // Kept for .ci/run, which also runs an external validator on it.
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("openapi.json");
    let _ = std::fs::write(out, serde_json::to_vec_pretty(&doc).expect("serialise"));
    doc
}

fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                ops.push((format!("{method} {path}"), op));
            }
        }
    }
    ops
}

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_parses_as_openapi_3_1_and_every_ref_resolves() {
    let doc = document().await;
    assert_eq!(doc["openapi"], "3.1.0");
    let text = serde_json::to_string(&doc).expect("serialise");
    if let Err(e) = oas3::from_json(&text) {
        panic!("not an OpenAPI 3.1 document: {e}");
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "expected many references, found {}", all.len());
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external reference {r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
}

/// Client generators name methods by operation id: two routes with one id
/// collide (two handlers of the same name in different modules did).
#[tokio::test]
async fn operation_ids_are_unique() {
    let doc = document().await;
    let mut seen = std::collections::HashMap::new();
    for (name, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{name} has no operationId"));
        if let Some(other) = seen.insert(id.to_owned(), name.clone()) {
            panic!("{name} and {other} share the operationId {id}");
        }
    }
}

#[tokio::test]
async fn every_route_that_reads_a_token_declares_bearer_security() {
    let doc = document().await;
    let ops = operations(&doc);
    assert!(ops.len() >= 48, "only {} operations", ops.len());
    for (name, op) in ops {
        let security = op["security"].as_array();
        if ANONYMOUS_ONLY.contains(&name.as_str()) {
            assert!(security.is_none(), "{name} reads no token but declares security");
            continue;
        }
        let security = security.unwrap_or_else(|| panic!("{name} declares no security"));
        assert!(security.iter().any(|req| req.get("bearer").is_some()), "{name} lacks bearer");
    }
    // Where anonymous callers are served too, the token is optional (an
    // empty requirement), so "Try it out" sends it when there is one.
    let get_group = &doc["paths"]["/api/v1/groups/{group_id}"]["get"]["security"];
    assert!(get_group.as_array().expect("security").iter().any(|req| req == &serde_json::json!({})));
    let members = &doc["paths"]["/api/v1/groups/{group_id}/members"]["get"]["security"];
    assert!(members.as_array().expect("security").iter().any(|req| req.get("bearer").is_some()));
}

#[tokio::test]
async fn every_error_is_a_problem_and_every_response_is_described() {
    let doc = document().await;
    for (name, op) in operations(&doc) {
        let responses = op["responses"].as_object().expect("responses");
        for status in ["400", "422", "429", "503"] {
            assert!(responses.contains_key(status), "{name} does not list {status}");
        }
        if op.get("requestBody").is_some() {
            assert!(responses.contains_key("413") && responses.contains_key("415"), "{name}: 413/415");
        }
        if op["security"].as_array().is_some() {
            assert!(responses.contains_key("401"), "{name} reads a token but does not list 401");
        }
        for (status, response) in responses {
            let description = response["description"].as_str().unwrap_or_default();
            assert!(!description.is_empty(), "{name} {status} has no description");
            if status.starts_with('4') || status.starts_with('5') {
                let content = response["content"].as_object().expect("error content");
                assert_eq!(
                    content.keys().collect::<Vec<_>>(),
                    ["application/problem+json"],
                    "{name} {status}"
                );
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                    "{name} {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn problem_codes_are_one_closed_enum() {
    let doc = document().await;
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Problem"]["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
    let codes: Vec<&str> =
        schemas["ErrorCode"]["enum"].as_array().expect("enum").iter().filter_map(Value::as_str).collect();
    for code in ["validation_failed", "invalid_credentials", "thread_locked", "not_found", "rate_limited"] {
        assert!(codes.contains(&code), "{code} missing from ErrorCode");
    }
    // A code the server really sends is in the list.
    let app = spawn_app().await;
    let res = app.get("/me", None).await;
    assert!(codes.contains(&res.code()), "{} not in the document", res.code());
}

#[tokio::test]
async fn request_fields_carry_the_limits_the_server_enforces() {
    let doc = document().await;
    let schemas = &doc["components"]["schemas"];
    let field = |schema: &str, name: &str| schemas[schema]["properties"][name].clone();

    let username = field("RegisterRequest", "username");
    assert_eq!((username["minLength"].as_u64(), username["maxLength"].as_u64()), (Some(3), Some(32)));
    assert_eq!(username["pattern"], "^[A-Za-z0-9_-]{3,32}$");
    let password = field("RegisterRequest", "password");
    assert_eq!((password["minLength"].as_u64(), password["maxLength"].as_u64()), (Some(8), Some(128)));
    let body = field("CreateComment", "body");
    assert_eq!((body["minLength"].as_u64(), body["maxLength"].as_u64()), (Some(1), Some(10_000)));
    assert_eq!(field("CreateThread", "title")["maxLength"].as_u64(), Some(200));
    assert_eq!(field("CreateGroup", "visibility")["$ref"], "#/components/schemas/Visibility");
    assert_eq!(schemas["Visibility"]["enum"], serde_json::json!(["public", "private"]));
    assert_eq!(schemas["Role"]["enum"], serde_json::json!(["member", "moderator", "organiser", "owner"]));

    let params = doc["paths"]["/api/v1/groups"]["get"]["parameters"].as_array().expect("parameters");
    let limit = params.iter().find(|p| p["name"] == "limit").expect("limit parameter");
    assert_eq!(limit["schema"]["minimum"].as_u64(), Some(1));
    assert_eq!(limit["schema"]["maximum"].as_u64(), Some(100));
    assert_eq!(limit["schema"]["default"].as_u64(), Some(50));

    // The numbers are the server's: one past the documented maximum is refused.
    let app = spawn_app().await;
    let long = "x".repeat(33);
    let res = app
        .post(
            "/auth/register",
            None,
            serde_json::json!({"username": long, "email": "a@example.org", "password": "long enough pw"}),
        )
        .await;
    res.expect_problem(422, "validation_failed");
    app.get("/groups?limit=101", None).await.expect_problem(422, "validation_failed");
}
