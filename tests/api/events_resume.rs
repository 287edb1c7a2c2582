//! Resuming without gaps: every event after a cursor exactly once, in
//! commit order, even while writers commit out of order; a late commit is
//! delivered late, never skipped; old or unreadable cursors get `resync`.

use std::collections::HashSet;
use std::time::Duration;

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::{json, Value};

use crate::helpers::{cast, created_comment_ids, spawn_app, Sse, SOON};

fn cursor(e: &Sse) -> (i64, i64) {
    let (x, i) = e.id.as_deref().expect("id").split_once('.').expect("cursor");
    (x.parse().unwrap(), i.parse().unwrap())
}

#[tokio::test]
async fn last_event_id_replays_exactly_the_missed_events() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.member, &cast.reading.paragraph_id(0), "opening").await;
    let t = thread["id"].as_str().unwrap();
    let mut stream = app.subscribe(s, None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut before = Vec::new();
    for n in 0..3 {
        before.push(app.comment(t, &cast.member, None, &format!("before {n}")).await["id"].clone());
    }
    // (Opened without a cursor, the stream may first repeat the opening
    // comment: it starts at the horizon, and clients upsert.)
    let mut seen = Vec::new();
    while !created_comment_ids(&seen).iter().any(|id| before[2] == id.as_str()) {
        seen.push(stream.next_event(SOON).await.expect("an event"));
    }
    let last = seen.last().unwrap().id.clone().unwrap();
    drop(stream);

    let mut missed = Vec::new();
    for n in 0..5 {
        missed.push(
            app.comment(t, &cast.member, None, &format!("missed {n}")).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut resumed = app.open_events(s, None, "", Some(&last)).await;
    assert_eq!(resumed.status, 200);
    let mut got = Vec::new();
    while created_comment_ids(&got).len() < 5 {
        got.push(resumed.next_event(SOON).await.expect("a replayed event"));
    }
    got.extend(resumed.collect_for(Duration::from_millis(500)).await);
    assert_eq!(created_comment_ids(&got), missed, "exactly the missed comments, in order");
    let counts = got.iter().rev().find(|e| e.event == "counts").expect("counts");
    assert_eq!(counts.data["paragraphs"][0]["comment_count"], 9);

    // ?after= does the same on a first connect; the header wins over it.
    let mut by_query = app.open_events(s, None, &format!("?after={last}"), None).await;
    let mut got = Vec::new();
    while created_comment_ids(&got).len() < 5 {
        got.push(by_query.next_event(SOON).await.expect("a replayed event"));
    }
    assert_eq!(created_comment_ids(&got), missed);
    let mut both = app.open_events(s, None, "?after=0.0", Some(&last)).await;
    let first = both.until(SOON, |e| e.event == "comment.created").await;
    assert_eq!(first.data["comment"]["id"], missed[0].as_str());
}

#[tokio::test]
async fn unreadable_and_pruned_cursors_get_resync_then_live_events() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let para = cast.reading.paragraph_id(0);
    let thread = app.start_thread(s, &cast.member, &para, "opening").await;
    let t = thread["id"].as_str().unwrap();

    for bad in ["garbage", "-1.5", "1.2.3", ""] {
        let mut stream = app.open_events(s, None, "", Some(bad)).await;
        assert_eq!(stream.status, 200, "{bad:?}");
        if bad.is_empty() {
            continue;
        }
        let first = stream.next_event(SOON).await.expect("resync");
        assert_eq!(first.event, "resync", "{bad:?}");
        assert_eq!(first.data, json!({}));
        assert!(first.id.is_some(), "resync carries the cursor to go on from");
    }
    let page = app.get(&format!("/sessions/{s}/events?after=garbage"), None).await.expect(200);
    assert_eq!(page["items"][0]["event"], "resync");

    // Retention removes what the old cursor would need.
    let mut stream = app.subscribe(s, None).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.comment(t, &cast.member, None, "soon pruned").await;
    let old = stream.until(SOON, |e| e.event == "comment.created").await.id.unwrap();
    drop(stream);
    app.comment(t, &cast.member, None, "also pruned").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut db = app.db().await;
    let pruned = pilcrow::events::log::prune_once(&mut db, Duration::ZERO).await.expect("prune");
    assert!(pruned >= 2, "pruned {pruned}");
    let mut resumed = app.open_events(s, None, "", Some(&old)).await;
    let first = resumed.next_event(SOON).await.expect("resync");
    assert_eq!(first.event, "resync");
    // After the resync, live events flow from the new cursor.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fresh = app.comment(t, &cast.member, None, "after the prune").await;
    let next = resumed.until(SOON, |e| e.event == "comment.created").await;
    assert_eq!(next.data["comment"]["id"], fresh["id"]);
}

#[tokio::test]
async fn a_late_commit_is_delivered_late_and_in_commit_order() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let para = cast.reading.paragraph_id(0);
    let slow_thread = app.start_thread(s, &cast.member, &para, "slow").await;
    // Another paragraph: T1 holds its own paragraph's counter row.
    let fast_thread = app.start_thread(s, &cast.member, &cast.reading.paragraph_id(1), "fast").await;
    let mut stream = app.subscribe(s, None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // T1 takes its xid and writes its event, and stays open.
    let mut t1 = app.db().await;
    let late = uuid::Uuid::now_v7();
    t1.batch_execute(&format!(
        "BEGIN; INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body) \
         VALUES ('{late}', '{}', 0, '', '{}', 'late')",
        slow_thread["id"].as_str().unwrap(),
        cast.member.id
    ))
    .await
    .unwrap();
    let early = app.comment(fast_thread["id"].as_str().unwrap(), &cast.member, None, "early").await;
    // (A stream opened without a cursor may first repeat the threads'
    // opening comments: it starts at the horizon; those are left out here.)
    let early_id = early["id"].as_str().unwrap().to_owned();
    let ours = |events: &[crate::helpers::Sse]| -> Vec<String> {
        created_comment_ids(events)
            .into_iter()
            .filter(|id| *id == early_id || *id == late.to_string())
            .collect()
    };
    let held = stream.collect_for(Duration::from_millis(1200)).await;
    assert!(ours(&held).is_empty(), "nothing passes the open transaction: {held:?}");

    t1.batch_execute("COMMIT").await.unwrap();
    let mut got = held;
    while ours(&got).len() < 2 {
        got.push(stream.next_event(SOON).await.expect("both arrive after the commit"));
    }
    assert_eq!(ours(&got), [late.to_string(), early_id.clone()]);
}

/// 8 writers post concurrently into 4 threads; a reader drops mid-way and
/// resumes: every comment exactly once, in commit order.
#[tokio::test]
async fn resume_under_eight_concurrent_writers_misses_nothing_and_repeats_nothing() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session().to_owned();
    let mut threads = Vec::new();
    for p in 0..4 {
        let t = app.start_thread(&s, &cast.member, &cast.reading.paragraph_id(p), "opening").await;
        threads.push(t["id"].as_str().unwrap().to_owned());
    }
    let mut first = app.subscribe(&s, None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let per_writer = 25;
    let mut writers = Vec::new();
    for w in 0..8 {
        let client = app.client.clone();
        let url = app.url(&format!("/threads/{}/comments", threads[w % 4]));
        let token = cast.member.token.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..per_writer {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("w{w} n{n}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
            }
            ids
        }));
    }

    // Read part of the stream, then drop it.
    let mut received = Vec::new();
    while created_comment_ids(&received).len() < 40 {
        received.push(first.next_event(Duration::from_secs(10)).await.expect("events while writing"));
    }
    let last = received.last().unwrap().id.clone().unwrap();
    drop(first);

    let mut posted = Vec::new();
    for w in writers {
        posted.extend(w.await.unwrap());
    }
    let mut resumed = app.open_events(&s, None, "", Some(&last)).await;
    let total = 8 * per_writer;
    let seen = |received: &[crate::helpers::Sse]| {
        created_comment_ids(received).iter().filter(|id| posted.contains(id)).count()
    };
    while seen(&received) < total {
        match resumed.next_event(Duration::from_secs(10)).await {
            Some(e) => received.push(e),
            None => break,
        }
    }
    // (The first stream, opened without a cursor, may repeat the threads'
    // opening comments: it starts at the horizon. Only the posted ones count.)
    let ids: Vec<String> =
        created_comment_ids(&received).into_iter().filter(|id| posted.contains(id)).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a comment came twice");
    let expected: HashSet<&String> = posted.iter().collect();
    assert_eq!(unique, expected, "every posted comment arrived");

    // One order for everyone: cursors only grow (each counts event repeats
    // the id before it). It is the order the writing transactions began to
    // write (xid order), which keeps cause before effect; see docs/api.md.
    let cursors: Vec<(i64, i64)> = received.iter().filter(|e| e.event != "counts").map(cursor).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "out of order");
}

/// A REST read's `Pilcrow-Event-Cursor`: connecting from it misses nothing
/// the read did not contain, while writers keep writing.
#[tokio::test]
async fn the_rest_cursor_misses_nothing() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session().to_owned();
    let thread = app.start_thread(&s, &cast.member, &cast.reading.paragraph_id(0), "opening").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = app.client.clone();
        let url = app.url(&format!("/threads/{t}/comments"));
        let token = cast.member.token.clone();
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..20 {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("w{w} n{n}")}))
                    .send()
                    .await
                    .unwrap();
                ids.push(res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned());
            }
            ids
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let read = app.get(&format!("/threads/{t}/comments?limit=100"), None).await;
    let cursor = read.header("pilcrow-event-cursor").expect("cursor").to_owned();
    let mut known: HashSet<String> =
        read.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    let mut stream = app.open_events(&s, None, &format!("?after={cursor}"), None).await;
    let mut posted = Vec::new();
    for w in writers {
        posted.extend(w.await.unwrap());
    }
    let missing = |known: &HashSet<String>| posted.iter().filter(|id| !known.contains(*id)).count();
    while missing(&known) > 0 {
        let e = stream.next_event(Duration::from_secs(5)).await.expect("the rest arrives");
        if e.event == "comment.created" {
            known.insert(e.data["comment"]["id"].as_str().unwrap().to_owned());
        }
    }
}

#[tokio::test]
async fn the_log_is_written_by_the_database_for_any_write_path() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.member, &cast.reading.paragraph_id(0), "opening").await;
    let mut stream = app.subscribe(s, Some(&cast.moderator.token)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A write made outside the server (plain SQL) is still an event, and
    // still reaches readers (by the fallback poll, as no server was told).
    let mut db = app.db().await;
    db.batch_execute(&format!(
        "UPDATE threads SET pinned = true WHERE id = '{}'",
        thread["id"].as_str().unwrap()
    ))
    .await
    .unwrap();
    let pinned = stream.until(Duration::from_secs(5), |e| e.event == "thread.updated").await;
    assert_eq!(pinned.data["thread"]["pinned"], true);
    let _ = diesel::sql_query("SELECT 1").execute(&mut db).await;
}
