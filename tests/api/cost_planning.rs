//! What heavy requests cost the others: revision planning holds no pooled
//! connection and goes through the CPU queue with a per-client share, and
//! the request deadline ends whatever runs past it (live events excepted).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{id, spawn_app_on, spawn_app_with, TestApp, TestUser};

/// A text of `n` paragraphs of 60 words, and the same with one word changed
/// in every paragraph: nothing is unchanged, so the planner measures
/// similarities until its budget runs out (about its 2 s in a debug build).
fn texts(n: usize) -> (String, String) {
    const VOCAB: [&str; 12] = [
        "lamp", "reader", "voice", "page", "room", "quiet", "listen", "story", "night", "oil", "book",
        "window",
    ];
    let paragraph = |i: usize, edited: bool| {
        let words: Vec<&str> = (0..60).map(|k| VOCAB[(i * 7 + k * 5 + k * k) % VOCAB.len()]).collect();
        let head = if edited { "Revised paragraph" } else { "Paragraph" };
        format!("{head} {i}: {}.", words.join(" "))
    };
    let old: Vec<String> = (0..n).map(|i| paragraph(i, false)).collect();
    let new: Vec<String> = (0..n).map(|i| paragraph(i, true)).collect();
    (old.join("\n\n"), new.join("\n\n"))
}

struct Heavy {
    owner: TestUser,
    reader: TestUser,
    essay_id: String,
    thread_id: String,
    revised: String,
}

/// A public group with a 2,000-paragraph essay, a session and a thread
/// started by a member.
async fn heavy(app: &TestApp) -> Heavy {
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let group = app.create_group(&owner, "public").await;
    app.add_member(&group, &owner, &reader, "member").await;
    let (old, revised) = texts(2_000);
    let essay = app
        .post(
            &format!("/groups/{group}/essays"),
            Some(&owner.token),
            json!({"title": "Long", "format": "text", "body": old}),
        )
        .await
        .expect(201);
    let essay_id = id(&essay);
    let session = app.open_session(&group, &owner, &essay_id).await;
    let para = essay["paragraphs"][0]["id"].as_str().unwrap().to_owned();
    let thread_id = id(&app.start_thread(&session, &reader, &para, "A thread").await);
    Heavy { owner, reader, essay_id, thread_id, revised }
}

fn dry_run(app: &TestApp, h: &Heavy) -> tokio::task::JoinHandle<(u16, Option<String>)> {
    let request = app
        .client
        .post(app.url(&format!("/essays/{}/revisions", h.essay_id)))
        .bearer_auth(&h.owner.token)
        .json(&json!({"body": h.revised, "dry_run": true}));
    tokio::spawn(async move {
        let res = request.send().await.unwrap();
        let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        (res.status().as_u16(), retry)
    })
}

/// One client floods dry runs of a long essay with two connections in the
/// pool: its share of the queue (2) is waiting or planning, a third is
/// refused at once with 429 and Retry-After, and another user's thread read
/// still answers at once, because no plan holds a connection (before, each
/// dry run held one for its 2 s of planning and the read waited for them).
#[tokio::test]
async fn a_client_flooding_dry_runs_takes_its_share_and_no_connection() {
    let app = spawn_app_with(|s| {
        s.database.pool_size = 2;
        s.database.pool_timeout_ms = 10_000;
        s.cpu.max_concurrent = 1;
        s.cpu.max_per_client = 2;
        s.cpu.queue_timeout_ms = 20_000;
    })
    .await;
    let h = heavy(&app).await;

    let started = Instant::now();
    let flood = [dry_run(&app, &h), dry_run(&app, &h)];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, retry) = dry_run(&app, &h).await.unwrap();
    assert_eq!(status, 429, "a third plan of the same client waits nowhere");
    assert_eq!(retry.as_deref(), Some("1"));

    let read = Instant::now();
    app.get(&format!("/threads/{}", h.thread_id), Some(&h.reader.token)).await.expect(200);
    let read = read.elapsed();
    let mut done = Vec::new();
    for run in flood {
        done.push(run.await.unwrap().0);
    }
    let planning = started.elapsed();
    assert_eq!(done, [200, 200], "both planned in turn");
    assert!(
        read < Duration::from_millis(1000) && read * 3 < planning,
        "the read took {read:?} while two plans took {planning:?}"
    );
}

/// With a 300 ms deadline, a dry run that plans for longer is ended with 503
/// `deadline_exceeded` and Retry-After; quick reads pass, and a long-poll,
/// which waits on purpose, is not cut short.
#[tokio::test]
async fn the_request_deadline_ends_a_slow_request_but_not_a_long_poll() {
    let app = spawn_app_with(|_| {}).await;
    let h = heavy(&app).await;
    let secret = app.settings.auth.jwt_secret.clone();
    let strict = spawn_app_on(&app.db_url, move |s| {
        s.auth.jwt_secret = secret;
        s.server.request_timeout_ms = 300;
    })
    .await;

    let started = Instant::now();
    let res = strict
        .post(
            &format!("/essays/{}/revisions", h.essay_id),
            Some(&h.owner.token),
            json!({"body": h.revised, "dry_run": true}),
        )
        .await;
    let took = started.elapsed();
    res.expect_problem(503, "deadline_exceeded");
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(took < Duration::from_millis(1500), "answered after {took:?}");

    strict.get(&format!("/threads/{}", h.thread_id), Some(&h.reader.token)).await.expect(200);

    let session: Value = strict.get(&format!("/threads/{}", h.thread_id), None).await.expect(200);
    let s = session["session_id"].as_str().unwrap().to_owned();
    let first = strict
        .raw(
            strict
                .client
                .get(strict.url(&format!("/sessions/{s}/events")))
                .header("accept", "application/json"),
        )
        .await
        .expect(200);
    let cursor = first["cursor"].as_str().unwrap();
    let started = Instant::now();
    let polled = strict
        .raw(
            strict
                .client
                .get(strict.url(&format!("/sessions/{s}/events?after={cursor}&wait=1")))
                .header("accept", "application/json"),
        )
        .await
        .expect(200);
    assert_eq!(polled["items"], json!([]));
    assert!(started.elapsed() >= Duration::from_millis(900), "the long-poll waited its second");
}

/// An organiser's essay upload that trickles in holds no connection while it
/// does: with one connection in the pool, another user's read answers at
/// once meanwhile (before, the import held its connection from the access
/// check to the end of the upload, and the read waited for it).
#[tokio::test]
async fn a_slow_essay_upload_holds_no_connection() {
    let app = spawn_app_with(|s| {
        s.database.pool_size = 1;
        s.database.pool_timeout_ms = 10_000;
    })
    .await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let para = reading.paragraph_id(0);
    let thread = id(&app.start_thread(&reading.session_id, &owner, &para, "A thread").await);

    let body =
        serde_json::to_vec(&json!({"title": "Slow", "format": "text", "body": "One.\n\nTwo."})).unwrap();
    let (head, tail) = body.split_at(10);
    let (head, tail) = (head.to_vec(), tail.to_vec());
    let chunks = futures_util::stream::iter([head, tail]).then(|chunk| async move {
        if chunk.first() != Some(&b'{') {
            tokio::time::sleep(Duration::from_millis(2_000)).await;
        }
        Ok::<_, std::io::Error>(chunk)
    });
    let upload = app
        .client
        .post(app.url(&format!("/groups/{}/essays", reading.group_id)))
        .bearer_auth(&owner.token)
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(reqwest::Body::wrap_stream(chunks));
    let upload = tokio::spawn(async move { upload.send().await.unwrap().status().as_u16() });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let read = Instant::now();
    app.get(&format!("/threads/{thread}"), None).await.expect(200);
    let read = read.elapsed();
    assert_eq!(upload.await.unwrap(), 201);
    assert!(read < Duration::from_millis(1000), "the read waited {read:?} for the upload's connection");
}
