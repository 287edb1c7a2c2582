use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{recount, spawn_app, Recount, TestApp, TestUser};

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

async fn all_comments(app: &TestApp, thread_id: &str, limit: usize, token: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/threads/{thread_id}/comments?limit={limit}&cursor={c}"),
            None => format!("/threads/{thread_id}/comments?limit={limit}"),
        };
        let page = app.get(&path, token).await.expect(200);
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Every reply comes after its parent, and siblings in creation order.
fn assert_tree_order(comments: &[Value]) {
    let mut seen = HashSet::new();
    for c in comments {
        if let Some(parent) = c["parent_id"].as_str() {
            assert!(seen.contains(parent), "reply {} listed before its parent", c["id"]);
        } else {
            assert_eq!(c["depth"], 0);
        }
        seen.insert(c["id"].as_str().unwrap().to_owned());
    }
}

#[tokio::test]
async fn counts_follow_reply_edit_and_delete() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let (sid, para) = (reading.session_id.clone(), reading.paragraph_id(5));
    let thread = app.start_thread(&sid, &owner, &para, "opening").await;
    let tid = thread["id"].as_str().unwrap();
    assert_eq!(app.paragraph_counts(&sid, &para, None).await, (1, 1));

    let reply = app.comment(tid, &owner, None, "second").await;
    let rid = reply["id"].as_str().unwrap();
    let nested = app.comment(tid, &owner, Some(rid), "third").await;
    assert_eq!(nested["depth"], 2 - 1);
    assert_eq!(app.paragraph_counts(&sid, &para, None).await, (1, 3));

    let edited =
        app.patch(&format!("/comments/{rid}"), Some(&owner.token), json!({"body": "second, edited"})).await;
    let edited = edited.expect(200);
    assert_eq!(edited["body"], "second, edited");
    assert!(edited["edited_at"].is_string());
    assert_eq!(app.paragraph_counts(&sid, &para, None).await, (1, 3));

    app.delete(&format!("/comments/{rid}"), Some(&owner.token)).await.expect(204);
    // Deleting twice changes nothing.
    app.delete(&format!("/comments/{rid}"), Some(&owner.token)).await.expect(204);
    assert_eq!(app.paragraph_counts(&sid, &para, None).await, (1, 2));
    let t = app.get(&format!("/threads/{tid}"), None).await.expect(200);
    assert_eq!(t["comment_count"], 2);

    let listed = app.get(&format!("/threads/{tid}/comments"), None).await.expect(200);
    let tomb = listed["items"].as_array().unwrap().iter().find(|c| c["id"] == rid).unwrap().clone();
    assert_eq!(tomb["deleted"], true);
    assert!(tomb["body"].is_null());
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "the tombstone keeps its place in the tree");

    // Deleting the opening comment leaves the thread, which still counts.
    let first = listed["items"][0]["id"].as_str().unwrap();
    app.delete(&format!("/comments/{first}"), Some(&owner.token)).await.expect(204);
    assert_eq!(app.paragraph_counts(&sid, &para, None).await, (1, 1));
    assert_eq!(recount(&mut app.db().await, &sid, &para).await, Recount { threads: 1, comments: 1 });
}

#[tokio::test]
async fn only_authors_edit_and_authors_or_moderators_delete() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let reading = app.reading(&owner, "public").await;
    for u in [&alice, &bob] {
        app.post(&format!("/groups/{}/join", reading.group_id), Some(&u.token), json!({})).await.expect(201);
    }
    let thread = app.start_thread(&reading.session_id, &alice, &reading.paragraph_id(0), "alice's").await;
    let cid =
        app.get(&format!("/threads/{}/comments", thread["id"].as_str().unwrap()), None).await.expect(200)
            ["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    app.patch(&format!("/comments/{cid}"), Some(&bob.token), json!({"body": "bob was here"}))
        .await
        .expect_problem(403, "not_author");
    app.delete(&format!("/comments/{cid}"), Some(&bob.token)).await.expect_problem(403, "not_author");
    app.patch(&format!("/comments/{cid}"), Some(&alice.token), json!({"body": ""}))
        .await
        .expect_problem(422, "validation_failed");
    app.patch(&format!("/comments/{cid}"), Some(&alice.token), json!({"body": "x".repeat(10_001)}))
        .await
        .expect_problem(422, "validation_failed");
    app.patch(&format!("/comments/{cid}"), Some(&alice.token), json!({"body": "é".repeat(10_000)}))
        .await
        .expect(200);
    // The owner is a moderator too: deleting someone else's comment is logged.
    app.delete(&format!("/comments/{cid}"), Some(&owner.token)).await.expect(204);
    app.patch(&format!("/comments/{cid}"), Some(&alice.token), json!({"body": "back"}))
        .await
        .expect_problem(409, "comment_deleted");
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let logged: N = diesel::sql_query("SELECT count(*) AS n FROM modlog WHERE action = 'delete'")
        .get_result(&mut app.db().await)
        .await
        .unwrap();
    assert_eq!(logged.n, 1);
}

#[tokio::test]
async fn replies_nest_at_most_eight_deep_and_stay_in_their_thread() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "root").await;
    let tid = thread["id"].as_str().unwrap();
    let mut parent = app.get(&format!("/threads/{tid}/comments"), None).await.expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for depth in 1..=8 {
        let c = app.comment(tid, &owner, Some(&parent), &format!("depth {depth}")).await;
        assert_eq!(c["depth"], depth);
        parent = c["id"].as_str().unwrap().to_owned();
    }
    let too_deep = app
        .post(
            &format!("/threads/{tid}/comments"),
            Some(&owner.token),
            json!({"body": "nine", "parent_id": parent}),
        )
        .await;
    too_deep.expect_problem(422, "validation_failed");
    assert_eq!(too_deep.body["errors"][0]["field"], "parent_id");

    let other = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(1), "other").await;
    app.post(
        &format!("/threads/{}/comments", other["id"].as_str().unwrap()),
        Some(&owner.token),
        json!({"body": "cross", "parent_id": parent}),
    )
    .await
    .expect_problem(422, "validation_failed");
}

/// 300+ comments in a branching tree, read in pages of 37 while new replies
/// keep arriving: every comment read is in tree order, none twice, and every
/// comment that existed when reading began is read.
#[tokio::test]
async fn tree_order_and_stable_pages_across_300_comments() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "root").await;
    let tid = thread["id"].as_str().unwrap().to_owned();
    let mut all: Vec<String> = ids(&app.get(&format!("/threads/{tid}/comments"), None).await.expect(200));
    for i in 0..320usize {
        // Reply to an earlier comment chosen by a fixed pattern, keeping depth small.
        let parent = if i % 4 == 0 { None } else { Some(all[(i * 7) % all.len()].clone()) };
        let c = app
            .post(
                &format!("/threads/{tid}/comments"),
                Some(&owner.token),
                json!({"body": format!("c{i}"), "parent_id": parent}),
            )
            .await;
        if c.status == 201 {
            all.push(c.body["id"].as_str().unwrap().to_owned());
        } else {
            c.expect_problem(422, "validation_failed"); // too deep: fine, skipped
        }
    }
    assert!(all.len() > 300);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut page_no = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/threads/{tid}/comments?limit=37&cursor={c}"),
            None => format!("/threads/{tid}/comments?limit=37"),
        };
        let page = app.get(&path, None).await.expect(200);
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        // Replies arrive between page fetches, some under already-read comments.
        app.comment(&tid, &owner, Some(&all[page_no * 3]), "late reply").await;
        page_no += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_tree_order(&seen);
    let seen_ids: Vec<String> = seen.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    let unique: HashSet<&String> = seen_ids.iter().collect();
    assert_eq!(unique.len(), seen_ids.len(), "a comment appeared twice");
    for id in &all {
        assert!(unique.contains(id), "comment {id} was skipped");
    }
    // A fresh full read is in tree order too.
    assert_tree_order(&all_comments(&app, &tid, 100, None).await);
}

async fn member(app: &TestApp, group_id: &str, name: &str) -> TestUser {
    let u = app.register(name).await;
    app.post(&format!("/groups/{group_id}/join"), Some(&u.token), json!({})).await.expect(201);
    u
}

/// Many writers at once on one hot paragraph: threads, replies and deletions
/// interleave, and the counters equal a recount from the rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_one_paragraph_keep_counts_exact() {
    let app = std::sync::Arc::new(spawn_app_with_pool(24).await);
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let (sid, para) = (reading.session_id.clone(), reading.paragraph_id(7));
    let seed = app.start_thread(&sid, &owner, &para, "seed").await;
    let seed_id = seed["id"].as_str().unwrap().to_owned();
    let mut writers = Vec::new();
    for w in 0..12 {
        let user = member(&app, &reading.group_id, &format!("writer{w}")).await;
        let (app, sid, para, seed_id) = (app.clone(), sid.clone(), para.clone(), seed_id.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..10 {
                match i % 3 {
                    0 => {
                        app.start_thread(&sid, &user, &para, &format!("t{w}-{i}")).await;
                    }
                    1 => {
                        app.comment(&seed_id, &user, None, &format!("c{w}-{i}")).await;
                    }
                    _ => {
                        let c = app.comment(&seed_id, &user, None, "to delete").await;
                        app.delete(&format!("/comments/{}", c["id"].as_str().unwrap()), Some(&user.token))
                            .await
                            .expect(204);
                    }
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let expected = recount(&mut app.db().await, &sid, &para).await;
    // 1 seed + 12 writers × 4 threads; comments: seed 1 + 48 openings + 36 replies.
    assert_eq!(expected, Recount { threads: 49, comments: 85 });
    assert_eq!(app.paragraph_counts(&sid, &para, None).await, (49, 85));
    let seed_now = app.get(&format!("/threads/{seed_id}"), None).await.expect(200);
    assert_eq!(seed_now["comment_count"], 37);
}

async fn spawn_app_with_pool(size: usize) -> TestApp {
    crate::helpers::spawn_app_with(|s| {
        s.database.pool_size = size;
        s.server.workers = 2;
    })
    .await
}
