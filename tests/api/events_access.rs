//! Streams end when access does (ban, role change, leaving, revoked
//! tokens), are limited per user, never wait for a slow reader, and close
//! cleanly on shutdown.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{cast, spawn_app, spawn_app_with, SOON};

#[tokio::test]
async fn a_ban_a_role_change_or_leaving_ends_the_stream_at_once() {
    let app = spawn_app().await;
    for visibility in ["private", "public"] {
        let cast = cast(&app, visibility).await;
        let s = cast.session();
        let g = cast.group();
        let mut banned = app.subscribe(s, Some(&cast.member.token)).await;
        let mut demoted = app.subscribe(s, Some(&cast.moderator.token)).await;
        let mut leaving = app.subscribe(s, Some(&cast.organiser.token)).await;
        let mut bystander = app.subscribe(s, Some(&cast.owner.token)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;

        app.post(
            &format!("/groups/{g}/bans"),
            Some(&cast.owner.token),
            json!({"user_id": cast.member.id, "reason": "spam"}),
        )
        .await
        .expect(201);
        let end = banned.until(SOON, |e| e.event == "access_revoked").await;
        assert_eq!(end.data, json!({"reason": "banned"}), "{visibility}");
        banned.until_end(SOON).await;
        assert!(banned.ended, "{visibility}: the stream closes");

        app.put(
            &format!("/groups/{g}/members/{}/role", cast.moderator.id),
            Some(&cast.owner.token),
            json!({"role": "member"}),
        )
        .await
        .expect(200);
        let end = demoted.until(SOON, |e| e.event == "access_revoked").await;
        assert_eq!(end.data["reason"], "role_changed", "{visibility}");

        app.delete(&format!("/groups/{g}/members/me"), Some(&cast.organiser.token)).await.expect(204);
        let end = leaving.until(SOON, |e| e.event == "access_revoked").await;
        assert_eq!(end.data["reason"], "left", "{visibility}");

        // The owner's stream goes on.
        app.start_thread(s, &cast.owner, &cast.reading.paragraph_id(0), "still here").await;
        let next = bystander.until(SOON, |e| e.event != "counts").await;
        assert_eq!(next.event, "thread.created", "{visibility}");
    }
}

#[tokio::test]
async fn a_password_change_ends_the_users_streams_within_the_recheck_interval() {
    let app = spawn_app_with(|s| s.events.access_recheck_ms = 300).await;
    let cast = cast(&app, "public").await;
    let mut stream = app.subscribe(cast.session(), Some(&cast.member.token)).await;
    app.post(
        "/me/password",
        Some(&cast.member.token),
        json!({"current_password": cast.member.password, "new_password": "a whole new sentence of words"}),
    )
    .await
    .expect(204);
    let end = stream.until(SOON, |e| e.event == "access_revoked").await;
    assert_eq!(end.data["reason"], "token_revoked");
    // Reconnecting with the old token fails at once.
    assert_eq!(app.open_events(cast.session(), Some(&cast.member.token), "", None).await.status, 401);
}

#[tokio::test]
async fn streams_per_user_are_limited() {
    let app = spawn_app_with(|s| {
        s.events.max_streams_per_user = 2;
        s.events.ping_interval_ms = 100;
    })
    .await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let one = app.subscribe(s, Some(&cast.member.token)).await;
    let _two = app.subscribe(s, Some(&cast.member.token)).await;
    let mut req =
        app.client.get(app.url(&format!("/sessions/{s}/events"))).header("accept", "text/event-stream");
    req = req.bearer_auth(&cast.member.token);
    let third = app.raw(req).await;
    third.expect_problem(429, "rate_limited");
    assert!(third.header("retry-after").is_some());
    // Others are not affected.
    app.subscribe(s, Some(&cast.owner.token)).await;
    // Closing one frees its slot.
    drop(one);
    let reopened = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if app.open_events(s, Some(&cast.member.token), "", None).await.status == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(reopened.is_ok(), "the slot came back");
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_disconnected_and_nobody_waits_for_it() {
    let app = spawn_app_with(|s| {
        s.events.send_timeout_ms = 300;
    })
    .await;
    let cast = cast(&app, "public").await;
    let s = cast.session().to_owned();
    let thread = app.start_thread(&s, &cast.member, &cast.reading.paragraph_id(0), "opening").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let mut stuck = app.subscribe(&s, None).await;
    let mut reader = app.subscribe(&s, None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // ~6 MB of events: more than the socket buffers hold for the stuck one.
    let body = "x".repeat(10_000);
    let mut writers = Vec::new();
    for _ in 0..6 {
        let client = app.client.clone();
        let url = app.url(&format!("/threads/{t}/comments"));
        let token = cast.member.token.clone();
        let body = body.clone();
        writers.push(tokio::spawn(async move {
            for _ in 0..100 {
                let res =
                    client.post(&url).bearer_auth(&token).json(&json!({"body": body})).send().await.unwrap();
                assert_eq!(res.status(), 201);
            }
        }));
    }
    // The attentive reader keeps up while the stuck one blocks.
    let mut got = 0;
    while got < 600 {
        let e = reader.next_event(Duration::from_secs(10)).await.expect("the reader is not held up");
        if e.event == "comment.created" {
            got += 1;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    // The stuck stream was closed by the server: reading it now ends.
    let seen = stuck.until_end(Duration::from_secs(10)).await;
    assert!(stuck.ended, "the slow reader was disconnected");
    assert!(seen.iter().filter(|e| e.event == "comment.created").count() < 600, "it did not get everything");
}

#[tokio::test]
async fn shutdown_ends_streams_with_a_comment_and_a_valid_cursor() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let mut stream = app.subscribe(s, None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.start_thread(s, &cast.member, &cast.reading.paragraph_id(0), "before").await;
    let last = stream.until(SOON, |e| e.event == "counts").await.id.unwrap();
    app.events.shut_down();
    let rest = stream.until_end(SOON).await;
    assert!(stream.ended);
    assert!(rest.iter().all(|e| e.event != "resync"), "no resync on shutdown: {rest:?}");
    assert!(stream.comments.iter().any(|c| c.contains("shutting down")), "{:?}", stream.comments);
    // The cursor still works (here through the long-poll, as this instance is stopping).
    let page = app.get(&format!("/sessions/{s}/events?after={last}"), None).await.expect(200);
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires() {
    let app = spawn_app_with(|s| s.events.access_recheck_ms = 200).await;
    let cast = cast(&app, "private").await;
    let now = chrono::Utc::now().timestamp();
    let short = app
        .keys
        .sign(&pilcrow::auth::tokens::AccessClaims {
            iss: app.settings.auth.issuer.clone(),
            aud: app.settings.auth.audience.clone(),
            sub: cast.member.id.parse().unwrap(),
            iat: now,
            exp: now + 2,
            typ: "access".to_owned(),
            ver: 0,
        })
        .unwrap();
    let mut stream = app.subscribe(cast.session(), Some(&short)).await;
    let end = stream.until(Duration::from_secs(6), |e| e.event == "access_revoked").await;
    assert_eq!(end.data["reason"], "token_expired");
}
