//! Live events reach readers: framing, kinds, counts, pings, the JSON
//! long-poll, and delivery across two instances on one database.

use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{cast, spawn_app, spawn_app_with, SOON};

#[tokio::test]
async fn a_reader_sees_threads_comments_and_counts_as_they_happen() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let para = cast.reading.paragraph_id(2);
    let mut stream = app.subscribe(s, Some(&cast.member.token)).await;
    assert_eq!(stream.headers.get("content-type").unwrap(), "text/event-stream");
    assert_eq!(stream.headers.get("cache-control").unwrap(), "no-store");

    let thread = app.start_thread(s, &cast.organiser, &para, "opening").await;
    let t = thread["id"].as_str().unwrap();
    let created = stream.until(SOON, |e| e.event == "thread.created").await;
    assert_eq!(created.data["thread"]["id"], t);
    assert_eq!(created.data["thread"]["paragraph_id"], para.as_str());
    let opening = stream.until(SOON, |e| e.event == "comment.created").await;
    assert_eq!(opening.data["comment"]["body"], "opening");
    let counts = stream.until(SOON, |e| e.event == "counts").await;
    assert_eq!(counts.data["session_id"], s);
    assert_eq!(
        counts.data["paragraphs"],
        json!([{"paragraph_id": para, "position": 2, "thread_count": 1, "comment_count": 1, "open_question_count": 0}])
    );
    assert!(stream.retries.len() == 1, "retry is sent once: {:?}", stream.retries);

    let posted_at = Instant::now();
    let mut reply = app.comment(t, &cast.member, None, "a reply").await;
    // The 201 also reports the body's mentions, beside the comment.
    assert_eq!(reply.as_object_mut().and_then(|c| c.remove("mentions")), Some(json!([])));
    let got = stream.until(SOON, |e| e.event == "comment.created").await;
    assert!(posted_at.elapsed() < Duration::from_secs(2), "delivered within 2 s");
    assert_eq!(got.data["comment"], reply, "the comment exactly as the reader would GET it");
    let counts = stream.until(SOON, |e| e.event == "counts").await;
    assert_eq!(counts.data["paragraphs"][0]["comment_count"], 2);

    // Edits, deletes, locks and session changes each have their kind.
    app.patch(
        &format!("/comments/{}", reply["id"].as_str().unwrap()),
        Some(&cast.member.token),
        json!({"body": "edited"}),
    )
    .await
    .expect(200);
    let edited = stream.until(SOON, |e| e.event == "comment.updated").await;
    assert_eq!(edited.data["comment"]["body"], "edited");
    app.delete(&format!("/comments/{}", reply["id"].as_str().unwrap()), Some(&cast.member.token))
        .await
        .expect(204);
    let deleted = stream.until(SOON, |e| e.event == "comment.updated").await;
    assert_eq!(deleted.data["comment"]["deleted"], true);
    assert_eq!(deleted.data["comment"]["body"], serde_json::Value::Null);
    app.post(&format!("/threads/{t}/moderation"), Some(&cast.moderator.token), json!({"action": "lock"}))
        .await
        .expect(200);
    let locked = stream.until(SOON, |e| e.event == "thread.updated").await;
    assert_eq!(locked.data["thread"]["locked"], true);
    app.patch(&format!("/sessions/{s}"), Some(&cast.organiser.token), json!({"title": "Week 2"}))
        .await
        .expect(200);
    let session = stream.until(SOON, |e| e.event == "session.updated").await;
    assert_eq!(session.data["session"]["title"], "Week 2");
    // Ids are cursors, strictly increasing.
    let ids: Vec<String> = [created, opening, got, edited, deleted, locked, session]
        .iter()
        .map(|e| e.id.clone().expect("id"))
        .collect();
    let parsed: Vec<(i64, i64)> = ids
        .iter()
        .map(|id| {
            let (x, i) = id.split_once('.').unwrap();
            (x.parse().unwrap(), i.parse().unwrap())
        })
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn pings_keep_an_idle_stream_open() {
    let app = spawn_app_with(|s| s.events.ping_interval_ms = 200).await;
    let cast = cast(&app, "public").await;
    let mut stream = app.subscribe(cast.session(), None).await;
    assert!(stream.collect_for(Duration::from_millis(900)).await.is_empty());
    assert!(stream.comments.iter().filter(|c| *c == "ping").count() >= 2, "{:?}", stream.comments);
}

#[tokio::test]
async fn the_json_long_poll_waits_for_the_next_event() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let para = cast.reading.paragraph_id(0);
    let first = app
        .raw(app.client.get(app.url(&format!("/sessions/{s}/events"))).header("accept", "application/json"))
        .await
        .expect(200);
    assert_eq!(first["items"], json!([]));
    let cursor = first["cursor"].as_str().unwrap().to_owned();

    let waiting = {
        let client = app.client.clone();
        let url = app.url(&format!("/sessions/{s}/events?after={cursor}&wait=10"));
        tokio::spawn(async move {
            client.get(url).send().await.unwrap().json::<serde_json::Value>().await.unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let thread = app.start_thread(s, &cast.member, &para, "hello").await;
    let page = waiting.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "the wait ended when the event came");
    let kinds: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|i| i["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["thread.created", "comment.created", "counts"]);
    assert_eq!(page["items"][0]["data"]["thread"]["id"], thread["id"]);
    let next = page["cursor"].as_str().unwrap();
    assert_ne!(next, cursor);

    // From the new cursor: nothing again, at once with wait=0.
    let again = app.get(&format!("/sessions/{s}/events?after={next}"), None).await.expect(200);
    assert_eq!(again["items"], json!([]));
    // wait is bounded.
    app.get(&format!("/sessions/{s}/events?wait=26"), None).await.expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn an_event_written_on_one_instance_reaches_readers_on_another() {
    let a = spawn_app().await;
    let b = a.second_instance().await;
    let cast = cast(&a, "public").await;
    let s = cast.session();
    let para = cast.reading.paragraph_id(0);
    let thread = a.start_thread(s, &cast.member, &para, "first").await;
    let t = thread["id"].as_str().unwrap();
    let mut on_b = b.subscribe(s, Some(&cast.member.token)).await;
    // Give the stream time to start.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut latencies = Vec::new();
    for n in 0..5 {
        let posted = Instant::now();
        let c = a.comment(t, &cast.member, None, &format!("from a, {n}")).await;
        // (A stream opened without a cursor starts at the horizon, which may
        // repeat a few recent events: clients upsert.)
        on_b.until(SOON, |e| e.event == "comment.created" && e.data["comment"]["id"] == c["id"]).await;
        latencies.push(posted.elapsed());
    }
    latencies.sort();
    println!("latencies across instances: {latencies:?}");
    // NOTIFY, not the 2 s fallback (nor the idle 1 s tail), brought them.
    assert!(latencies[2] < Duration::from_millis(500), "{latencies:?}");

    // The listener's connection is killed: events still arrive (fallback
    // poll), and the listener comes back.
    let mut db = a.db().await;
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
          WHERE datname = current_database() AND query LIKE 'LISTEN pilcrow_events%'",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let c = a.comment(t, &cast.member, None, "after the kill").await;
    on_b.until(Duration::from_secs(5), |e| {
        e.event == "comment.created" && e.data["comment"]["id"] == c["id"]
    })
    .await;
    let listeners = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let n: N = diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                  WHERE datname = current_database() AND query LIKE 'LISTEN pilcrow_events%'",
            )
            .get_result(&mut db)
            .await
            .unwrap();
            if n.n >= 2 {
                return n.n;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(listeners.is_ok(), "both instances listen again");
}
