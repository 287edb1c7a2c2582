//! Subscribing a browser: keys that decode, https endpoints on public
//! addresses only, one row per endpoint, a cap per user, and only the
//! owner can see or remove a subscription.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with, spawn_pushing_app, Browser, PushReceiver};

#[tokio::test]
async fn loopback_private_and_plain_http_endpoints_are_refused() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let receiver = PushReceiver::start().await;
    let browser = Browser::new(&receiver);
    let with = |endpoint: &str| {
        let mut body = browser.subscription();
        body["endpoint"] = endpoint.into();
        body
    };
    let refused = [
        ("http://push.example.com/abc", "push_endpoint_insecure"),
        (receiver.origin.as_str(), "push_endpoint_insecure"),
        ("https://127.0.0.1/abc", "push_endpoint_not_public"),
        ("https://localhost:8443/abc", "push_endpoint_not_public"),
        ("https://10.1.2.3/abc", "push_endpoint_not_public"),
        ("https://169.254.169.254/latest", "push_endpoint_not_public"),
        ("https://100.64.0.1/abc", "push_endpoint_not_public"),
        ("https://[::1]/abc", "push_endpoint_not_public"),
        ("https://[fd00::1]/abc", "push_endpoint_not_public"),
        ("https://[fe80::1]/abc", "push_endpoint_not_public"),
        ("https://[::ffff:127.0.0.1]/abc", "push_endpoint_not_public"),
        ("https://[::ffff:192.168.0.1]/abc", "push_endpoint_not_public"),
        ("https://0.0.0.0/abc", "push_endpoint_not_public"),
        ("https://224.0.0.1/abc", "push_endpoint_not_public"),
        ("ftp://push.example.com/abc", "validation_failed"),
        ("not a url", "validation_failed"),
        ("https://user:pw@8.8.8.8/abc", "validation_failed"),
    ];
    for (endpoint, code) in refused {
        app.post("/me/push-subscriptions", Some(&alice.token), with(endpoint))
            .await
            .expect_problem(422, code);
    }
    let list = app.get("/me/push-subscriptions", Some(&alice.token)).await.expect(200);
    assert_eq!(list["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn keys_must_decode_to_a_p256_point_and_a_16_byte_secret() {
    let app = spawn_pushing_app().await;
    let alice = app.register("alice").await;
    let receiver = PushReceiver::start().await;
    let browser = Browser::new(&receiver);
    let good = browser.subscription();
    let mut bad_point = good.clone();
    // 65 bytes, but not a point on the curve.
    bad_point["keys"]["p256dh"] = format!("B{}", "A".repeat(86)).into();
    let mut short_auth = good.clone();
    short_auth["keys"]["auth"] = "AAAAAAAAAAAAAAAAAAAA".into();
    let mut not_base64 = good.clone();
    not_base64["keys"]["auth"] = "!!!".into();
    for body in [bad_point, short_auth, not_base64] {
        app.post("/me/push-subscriptions", Some(&alice.token), body)
            .await
            .expect_problem(422, "validation_failed");
    }
    app.post("/me/push-subscriptions", None, good.clone()).await.expect_unauthorized("missing_token");
    app.post("/me/push-subscriptions", Some(&alice.token), good).await.expect(201);
}

#[tokio::test]
async fn the_same_endpoint_is_one_subscription_and_only_its_owner_removes_it() {
    let app = spawn_pushing_app().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let receiver = PushReceiver::start().await;
    let browser = Browser::new(&receiver);
    let first = app.subscribe_push(&alice, &browser).await;
    let again = app.subscribe_push(&alice, &browser).await;
    assert_eq!(first, again, "the same endpoint again updates it");
    let list = app.get("/me/push-subscriptions", Some(&alice.token)).await.expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], first.as_str());
    assert_eq!(items[0]["endpoint"], browser.endpoint.as_str());

    // Someone else's subscription does not exist for bob.
    app.delete(&format!("/me/push-subscriptions/{first}"), Some(&bob.token))
        .await
        .expect_problem(404, "not_found");
    let bobs = app.get("/me/push-subscriptions", Some(&bob.token)).await.expect(200);
    assert_eq!(bobs["items"], json!([]));
    app.delete(&format!("/me/push-subscriptions/{first}"), Some(&alice.token)).await.expect(204);
    app.delete(&format!("/me/push-subscriptions/{first}"), Some(&alice.token))
        .await
        .expect_problem(404, "not_found");

    // The browser signs in as bob and subscribes: the endpoint is his now.
    let alices = app.subscribe_push(&alice, &browser).await;
    let bobs = app.subscribe_push(&bob, &browser).await;
    assert_ne!(alices, bobs);
    let list = app.get("/me/push-subscriptions", Some(&alice.token)).await.expect(200);
    assert_eq!(list["items"], json!([]), "alice's notifications no longer go to bob's browser");
}

#[tokio::test]
async fn a_user_holds_at_most_the_configured_number_of_subscriptions() {
    let app = spawn_app_with(|s| {
        s.push.allow_private_endpoints = true;
        s.push.max_subscriptions_per_user = 2;
    })
    .await;
    let alice = app.register("alice").await;
    let receiver = PushReceiver::start().await;
    let browsers = [Browser::new(&receiver), Browser::new(&receiver), Browser::new(&receiver)];
    let first = app.subscribe_push(&alice, &browsers[0]).await;
    app.subscribe_push(&alice, &browsers[1]).await;
    app.post("/me/push-subscriptions", Some(&alice.token), browsers[2].subscription())
        .await
        .expect_problem(422, "too_many_push_subscriptions");
    // Updating one held already is no new one.
    app.subscribe_push(&alice, &browsers[1]).await;
    app.delete(&format!("/me/push-subscriptions/{first}"), Some(&alice.token)).await.expect(204);
    app.subscribe_push(&alice, &browsers[2]).await;
}

#[tokio::test]
async fn the_public_key_needs_no_token_and_subscriptions_go_with_their_user() {
    let app = spawn_pushing_app().await;
    let key = app.push_key().await;
    let point = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &key).unwrap();
    assert_eq!(point.len(), 65);
    assert_eq!(point[0], 4, "uncompressed");
    assert!(p256::PublicKey::from_sec1_bytes(&point).is_ok());

    let alice = app.register("alice").await;
    let receiver = PushReceiver::start().await;
    app.subscribe_push(&alice, &Browser::new(&receiver)).await;
    let mut conn = app.db().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query(format!("DELETE FROM users WHERE id = '{}'", alice.id))
        .execute(&mut conn)
        .await
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let left: Count = diesel::sql_query("SELECT count(*) AS n FROM push_subscriptions")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(left.n, 0, "deleted with the user");
}
