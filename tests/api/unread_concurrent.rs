//! Unread counts are arithmetic over numbers the triggers keep (a mark's
//! `below`, a reader's `seen` per paragraph). Here many writers post, a
//! moderator hides, restores and deletes comments and hides and restores
//! threads, and readers raise their marks, all at once over HTTP; then every
//! reader's unread count of every paragraph and every thread must equal a
//! count made straight from the comments and the marks, and the kept
//! numbers must equal their own recount. A second test holds one side of a
//! raise/hide race open, each way round, and checks the other side waits.

use std::collections::BTreeMap;

use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{id, spawn_app, TestApp, TestUser};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    id: String,
}

/// The unread rule counted from the rows: comments that count (neither they
/// nor their thread hidden, not deleted), by someone else, above the
/// reader's mark in their thread or in a thread never marked.
const RECOUNT: &str = "SELECT count(*) AS n FROM comments c JOIN threads t ON t.id = c.thread_id
       LEFT JOIN thread_reads r ON r.thread_id = t.id AND r.user_id = $2::uuid
      WHERE t.session_id = $1::uuid AND NOT t.hidden AND NOT c.hidden AND NOT c.deleted
        AND c.author_id <> $2::uuid AND (r.seq IS NULL OR c.seq > r.seq)";

async fn recount(db: &mut AsyncPgConnection, session: &str, user: &str, scope: &str, key: &str) -> i64 {
    let sql = format!("{RECOUNT} AND t.{scope} = $3::uuid");
    let row: Count = diesel::sql_query(sql)
        .bind::<Text, _>(session)
        .bind::<Text, _>(user)
        .bind::<Text, _>(key)
        .get_result(db)
        .await
        .expect("recount");
    row.n
}

/// Marks whose `below`, and seen rows whose `seen`, differ from a recount.
async fn kept_numbers_off(db: &mut AsyncPgConnection) -> (i64, i64) {
    let marks: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM thread_reads r
          WHERE r.below <> (SELECT count(*) FROM comments c
                             WHERE c.thread_id = r.thread_id AND c.seq <= r.seq
                               AND NOT c.hidden AND NOT c.deleted)",
    )
    .get_result(db)
    .await
    .expect("marks recount");
    let seen: Count = diesel::sql_query(
        "WITH want AS (SELECT r.user_id, r.session_id, t.paragraph_id, sum(r.below) AS seen
                         FROM thread_reads r JOIN threads t ON t.id = r.thread_id
                        WHERE NOT t.hidden GROUP BY 1, 2, 3)
         SELECT count(*) AS n
           FROM want w FULL JOIN paragraph_reads p USING (user_id, session_id, paragraph_id)
          WHERE coalesce(w.seen, 0) <> coalesce(p.seen, 0)",
    )
    .get_result(db)
    .await
    .expect("seen recount");
    (marks.n, seen.n)
}

/// Every reader's unread counts, by /counts and by the thread list, against
/// the recount; and the kept numbers against theirs.
async fn assert_exact(app: &TestApp, session: &str, users: &[&TestUser], threads: &[String]) {
    let mut db = app.db().await;
    for user in users {
        let counts = app.get(&format!("/sessions/{session}/counts"), Some(&user.token)).await.expect(200);
        for p in counts["paragraphs"].as_array().expect("paragraphs") {
            let para = p["paragraph_id"].as_str().unwrap();
            let want = recount(&mut db, session, &user.id, "paragraph_id", para).await;
            assert_eq!(p["unread_count"].as_i64(), Some(want), "{}: paragraph {para}", user.username);
        }
        let list = app.get(&format!("/sessions/{session}/threads"), Some(&user.token)).await.expect(200);
        let listed: BTreeMap<&str, i64> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_str().unwrap(), t["unread_count"].as_i64().unwrap()))
            .collect();
        for t in threads {
            let want = recount(&mut db, session, &user.id, "id", t).await;
            if let Some(got) = listed.get(t.as_str()) {
                assert_eq!(*got, want, "{}: thread {t}", user.username);
            }
        }
    }
    assert_eq!(kept_numbers_off(&mut db).await, (0, 0), "kept numbers differ from their recount");
}

/// Comment ids of the session, oldest first.
async fn comment_ids(db: &mut AsyncPgConnection, session: &str) -> Vec<String> {
    let rows: Vec<Key> = diesel::sql_query(
        "SELECT c.id::text AS id FROM comments c JOIN threads t ON t.id = c.thread_id
          WHERE t.session_id = $1::uuid ORDER BY c.seq",
    )
    .bind::<Text, _>(session)
    .load(db)
    .await
    .expect("comment ids");
    rows.into_iter().map(|r| r.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unread_counts_equal_a_recount_after_concurrent_posts_moderation_and_marks() {
    let app = spawn_app().await;
    let owner = app.register("uc_owner").await;
    let mut readers = Vec::new();
    for i in 0..4 {
        readers.push(app.register(&format!("uc_reader{i}")).await);
    }
    let reading = app.reading(&owner, "public").await;
    for reader in &readers {
        app.add_member(&reading.group_id, &owner, reader, "member").await;
    }
    let sid = reading.session_id.as_str();
    let mut threads = Vec::new();
    for i in 0..6 {
        let para = reading.paragraph_id(i % 3);
        threads.push(id(&app.start_thread(sid, &readers[i % 4], &para, &format!("opening {i}")).await));
    }
    let threads = &threads;
    let app = &app;

    // Each reader posts, and every other turn reads a thread and marks it
    // read up to one of the comments it was shown.
    let writers = readers.iter().enumerate().map(|(w, user)| async move {
        for n in 0..14 {
            let t = &threads[(w + n) % threads.len()];
            let res = app
                .post(
                    &format!("/threads/{t}/comments"),
                    Some(&user.token),
                    json!({"body": format!("w{w} n{n}")}),
                )
                .await;
            assert!(res.status == 201 || res.status == 404, "posting answered {}", res.status);
            // Now and then the writer deletes what they just wrote.
            if res.status == 201 && n % 5 == 4 {
                let gone = app.delete(&format!("/comments/{}", id(&res.body)), Some(&user.token)).await;
                assert!(gone.status == 204 || gone.status == 404, "deleting answered {}", gone.status);
            }
            if n % 2 == 0 {
                let other = &threads[(w * 5 + n * 3) % threads.len()];
                let page = app.get(&format!("/threads/{other}/comments"), Some(&user.token)).await;
                if page.status != 200 {
                    continue;
                }
                let items = page.body["items"].as_array().unwrap();
                let seen = &items[(w + n) % items.len()];
                let res = app
                    .put(
                        &format!("/sessions/{sid}/reads"),
                        Some(&user.token),
                        json!({"threads": {other: seen["id"]}}),
                    )
                    .await;
                // A thread hidden meanwhile is no longer the member's to mark.
                assert!(res.status == 204 || res.status == 422, "marking answered {}", res.status);
            }
        }
    });
    // The moderator hides, restores and deletes comments, and hides and
    // restores threads, while that goes on.
    let moderation = async {
        let mut db = app.db().await;
        for k in 0..36_usize {
            let ids = comment_ids(&mut db, sid).await;
            let c = &ids[(k * 7) % ids.len()];
            let res = match k % 6 {
                0 | 2 | 3 => {
                    app.post(
                        &format!("/comments/{c}/moderation"),
                        Some(&owner.token),
                        json!({"action": "hide"}),
                    )
                    .await
                }
                1 | 4 => {
                    let hidden = &ids[((k - 1) * 7) % ids.len()];
                    app.post(
                        &format!("/comments/{hidden}/moderation"),
                        Some(&owner.token),
                        json!({"action": "restore"}),
                    )
                    .await
                }
                _ => {
                    let t = &threads[k % threads.len()];
                    let action = if (k / 6) % 2 == 0 { "hide" } else { "restore" };
                    app.post(
                        &format!("/threads/{t}/moderation"),
                        Some(&owner.token),
                        json!({"action": action}),
                    )
                    .await
                }
            };
            assert!(res.status < 500, "moderation answered {}: {}", res.status, res.body);
        }
    };
    let (_, ()) = tokio::join!(join_all(writers), moderation);

    // The race left some of everything behind.
    let mut db = app.db().await;
    for what in ["hidden", "deleted"] {
        let left: Count = diesel::sql_query(format!("SELECT count(*) AS n FROM comments WHERE {what}"))
            .get_result(&mut db)
            .await
            .unwrap();
        assert!(left.n > 0, "no {what} comment left");
    }

    let mut users: Vec<&TestUser> = readers.iter().collect();
    users.push(&owner);
    assert_exact(app, sid, &users, threads).await;

    // Restoring every thread brings their marks' seen counts back exactly.
    for t in threads {
        let res = app
            .post(&format!("/threads/{t}/moderation"), Some(&owner.token), json!({"action": "restore"}))
            .await;
        assert!(res.status < 500);
    }
    assert_exact(app, sid, &users, threads).await;
}

/// Waits until some backend of the test database waits for a lock.
async fn until_someone_waits(app: &TestApp) {
    let mut db = app.db().await;
    for _ in 0..500 {
        let row: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut db)
        .await
        .unwrap();
        if row.n > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("nobody waited for the marks lock");
}

#[tokio::test]
async fn a_raise_and_a_hide_of_the_same_session_never_interleave() {
    let app = spawn_app().await;
    let owner = app.register("ur_owner").await;
    let reader = app.register("ur_reader").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &reader, "member").await;
    let sid = reading.session_id.as_str();
    let para = reading.paragraph_id(0);
    let t = id(&app.start_thread(sid, &owner, &para, "opening").await);
    let c1 = id(&app.comment(&t, &owner, None, "one").await);
    let c2 = id(&app.comment(&t, &owner, None, "two").await);
    let c3 = id(&app.comment(&t, &owner, None, "three").await);
    let threads = vec![t.clone()];
    let users = [&owner, &reader];

    // A hide left uncommitted (its trigger holds the session's marks lock):
    // a raise over the hidden comment waits, then counts it as hidden.
    let mut hider = app.db().await;
    hider
        .batch_execute(&format!("BEGIN; UPDATE comments SET hidden = true WHERE id = '{c1}'"))
        .await
        .unwrap();
    let reads = format!("/sessions/{sid}/reads");
    let raise = app.put(&reads, Some(&reader.token), json!({"threads": {&t: &c2}}));
    let commit = async {
        until_someone_waits(&app).await;
        hider.batch_execute("COMMIT").await.unwrap();
    };
    let (res, ()) = tokio::join!(raise, commit);
    res.expect(204);
    assert_eq!(app.paragraph_entry(sid, &para, Some(&reader.token)).await["unread_count"], 1);
    assert_exact(&app, sid, &users, &threads).await;

    // A raise left uncommitted (holding the lock shared, its `below`
    // counting c2 as counted): a hide of c2 waits, then takes it out.
    let mut raiser = app.db().await;
    raiser
        .batch_execute(&format!(
            "BEGIN; INSERT INTO thread_reads (user_id, session_id, thread_id, seq, below)
             SELECT '{u}', '{sid}', '{t}', c.seq, r.mark_below('{u}', '{sid}', '{t}', c.seq)
               FROM comments c WHERE c.id = '{c3}'
             ON CONFLICT (user_id, session_id, thread_id) DO UPDATE
                SET seq = EXCLUDED.seq,
                    below = r.mark_below(thread_reads.user_id, thread_reads.session_id, thread_reads.thread_id, EXCLUDED.seq)",
            u = reader.id
        ))
        .await
        .unwrap();
    let moderation = format!("/comments/{c2}/moderation");
    let hide = app.post(&moderation, Some(&owner.token), json!({"action": "hide"}));
    let commit = async {
        until_someone_waits(&app).await;
        raiser.batch_execute("COMMIT").await.unwrap();
    };
    let (res, ()) = tokio::join!(hide, commit);
    res.expect(200);
    assert_eq!(app.paragraph_entry(sid, &para, Some(&reader.token)).await["unread_count"], 0);
    assert_exact(&app, sid, &users, &threads).await;
    // Restored, both come back as read (they are below the mark).
    for c in [&c1, &c2] {
        app.post(&format!("/comments/{c}/moderation"), Some(&owner.token), json!({"action": "restore"}))
            .await
            .expect(200);
    }
    assert_eq!(app.paragraph_entry(sid, &para, Some(&reader.token)).await["unread_count"], 0);
    assert_exact(&app, sid, &users, &threads).await;
}
