//! Per-user creation limits allow a small burst, then the hourly rate; the
//! costly routes (essays, revisions and their dry runs, event tickets,
//! search) have limits of their own; search is limited per address (an
//! IPv6 client by its /64) and per user.

use pilcrow::config::Window;
use serde_json::json;

use crate::helpers::{
    assert_rate_limited, fixture_blocks, limited, limited_behind_proxy, small, spawn_app_with, Resp, TestApp,
};

impl TestApp {
    async fn search_from(&self, client: &str, group_id: &str, token: Option<&str>) -> Resp {
        let mut req = self
            .client
            .get(self.url(&format!("/groups/{group_id}/search?q=canary")))
            .header("x-forwarded-for", client);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        self.raw(req).await
    }
}

#[tokio::test]
async fn a_quick_run_of_comments_stops_at_the_burst_not_the_hourly_quota() {
    // The shipped defaults: 300 an hour, 10 at once.
    let app = spawn_app_with(limited).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let reading = app.reading(&alice, "public").await;
    let thread = app.start_thread(&reading.session_id, &alice, &reading.paragraph_id(0), "first").await;
    let thread = thread["id"].as_str().expect("thread id");
    for i in 0..10 {
        app.comment(thread, &alice, None, &format!("quick {i}")).await;
    }
    let eleventh = app
        .post(&format!("/threads/{thread}/comments"), Some(&alice.token), json!({"body": "one more"}))
        .await;
    assert_rate_limited(&eleventh, "comments");
    // One comment is earned back every 12 s (3600 s / 300).
    let retry: u64 = eleventh.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After");
    assert!(retry <= 12, "Retry-After {retry}");
    app.post(&format!("/groups/{}/join", reading.group_id), Some(&bob.token), json!({})).await.expect(201);
    app.comment(thread, &bob, None, "another reader is not held up").await;
}

#[tokio::test]
async fn essays_revisions_and_dry_runs_and_event_tickets_are_limited_per_user() {
    let app = spawn_app_with(|s| {
        limited(s);
        s.rate_limit.essays_per_user = small(2);
        s.rate_limit.revisions_per_user = small(2);
        s.rate_limit.event_tickets_per_user = small(2);
    })
    .await;
    let alice = app.register("alice").await;
    let reading = app.reading(&alice, "public").await;
    let group = &reading.group_id;
    let essay = json!({"title": "T", "author": "A", "format": "text", "body": "One.\n\nTwo."});
    app.post(&format!("/groups/{group}/essays"), Some(&alice.token), essay.clone()).await.expect(201);
    let third = app.post(&format!("/groups/{group}/essays"), Some(&alice.token), essay).await;
    assert_rate_limited(&third, "essays");

    let essay_id = reading.essay["id"].as_str().expect("essay id");
    let mut blocks = fixture_blocks();
    blocks.push("A closing paragraph.".into());
    for _ in 0..2 {
        app.revise(essay_id, &alice, &blocks, json!({"dry_run": true})).await.expect(200);
    }
    assert_rate_limited(&app.revise(essay_id, &alice, &blocks, json!({})).await, "revisions");

    let tickets = format!("/sessions/{}/event-tickets", reading.session_id);
    for _ in 0..2 {
        app.post(&tickets, Some(&alice.token), json!({})).await.expect(201);
    }
    assert_rate_limited(&app.post(&tickets, Some(&alice.token), json!({})).await, "event-tickets");
}

#[tokio::test]
async fn searches_are_limited_per_address_and_per_user() {
    let app = spawn_app_with(|s| {
        limited_behind_proxy(s);
        s.rate_limit.search_per_address = Window { requests: 3, window_secs: 60, burst: 0 };
        s.rate_limit.search_per_user = Window { requests: 2, window_secs: 60, burst: 0 };
    })
    .await;
    let alice = app.register("alice").await;
    let group = app.create_group(&alice, "public").await;
    for _ in 0..3 {
        app.search_from("192.0.2.1", &group, None).await.expect(200);
    }
    assert_rate_limited(&app.search_from("192.0.2.1", &group, None).await, "search-address");
    app.search_from("192.0.2.2", &group, None).await.expect(200);
    // An IPv6 host cannot step around it inside its /64.
    for i in 1..=3 {
        app.search_from(&format!("2001:db8:1:2::{i}"), &group, None).await.expect(200);
    }
    let same_64 = app.search_from("2001:db8:1:2:ffff:ffff:ffff:ffff", &group, None).await;
    assert_rate_limited(&same_64, "search-address");
    app.search_from("2001:db8:1:3::1", &group, None).await.expect(200);
    // A signed-in user, from ever new addresses.
    for i in 0..2 {
        app.search_from(&format!("198.51.100.{i}"), &group, Some(&alice.token)).await.expect(200);
    }
    assert_rate_limited(&app.search_from("198.51.100.9", &group, Some(&alice.token)).await, "search-user");
}
