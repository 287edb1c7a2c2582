//! Posts that arrive together are read and written together
//! (src/comments/post_queue.rs, src/comments/posting.rs, `r.post_comments`):
//! each is still decided alone, written once, counted once, in its thread's
//! order, only if its thread and session are as it saw them, and a post that
//! fails never fails the others of its batch.

use std::sync::Arc;
use std::time::Duration;

use diesel_async::SimpleAsyncConnection;
use pilcrow::comments::post_queue::PostQueue;
use pilcrow::comments::posting::{self, Ask, Place, Post, Seen};
use pilcrow::db::{build_pool, Connector};
use pilcrow::sessions::models::Status;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{all_counts, cast, comments_of, id, spawn_app, TestApp, TestUser};

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("uuid")
}

/// A top-level post decided on an open, unlocked, shown thread at `place`.
fn decided(place: Place, thread: &str, author: Uuid, body: &str) -> Post {
    Post {
        thread_id: uuid(thread),
        parent_id: None,
        depth: 0,
        author_id: author,
        body: body.to_owned(),
        mentioned: Vec::new(),
        seen: Seen { locked: false, hidden: false, status: Status::Open },
        place,
    }
}

/// `who`'s post as asked, with their current token version.
async fn ask(app: &TestApp, who: &TestUser, thread: &str, parent: Option<&str>, body: &str) -> Ask {
    let mut db = app.db().await;
    let version: TokenVersion = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT token_version FROM users WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(uuid(&who.id)),
        &mut db,
    )
    .await
    .expect("token version");
    Ask {
        caller: (uuid(&who.id), version.token_version),
        thread_id: uuid(thread),
        parent_id: parent.map(uuid),
        body: body.to_owned(),
        mentioned: Vec::new(),
    }
}

#[derive(diesel::QueryableByName)]
struct TokenVersion {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    token_version: i32,
}

/// Many members' posts at once, on threads of two paragraphs, replies among
/// them: every one is answered 201 with what was stored, and the counts are
/// exactly the number of posts.
#[tokio::test]
async fn posts_sent_together_are_each_written_once_and_counted() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let (p1, p2) = (cast.reading.paragraph_id(1), cast.reading.paragraph_id(2));
    let a = id(&app.start_thread(cast.session(), &cast.member, &p1, "a").await);
    let b = id(&app.start_thread(cast.session(), &cast.moderator, &p1, "b").await);
    let c = id(&app.start_thread(cast.session(), &cast.owner, &p2, "c").await);
    let parent = id(&app.comment(&a, &cast.owner, None, "the parent").await);

    let (app, cast, parent) = (&app, &cast, &parent);
    let (a, b, c) = (&a, &b, &c);
    let posts = (0..36).map(|i| {
        let (thread, parent) = match i % 4 {
            0 => (a, Some(parent.as_str())),
            1 => (a, None),
            2 => (b, None),
            _ => (c, None),
        };
        let who = [&cast.member, &cast.moderator, &cast.organiser][i % 3];
        let body = format!("post {i}");
        async move {
            let sent = app
                .post(
                    &format!("/threads/{thread}/comments"),
                    Some(&who.token),
                    json!({"body": body, "parent_id": parent}),
                )
                .await
                .expect(201);
            assert_eq!(sent["body"], body);
            assert_eq!(sent["thread_id"], thread.as_str());
            assert_eq!(sent["depth"], if parent.is_some() { 1 } else { 0 });
            sent["id"].as_str().expect("id").to_owned()
        }
    });
    let mut ids = futures_util::future::join_all(posts).await;
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 36);

    // Thread starts count one comment each; a: 1 + parent + 18, b: 1 + 9, c: 1 + 9.
    assert_eq!(all_counts(app, cast, &p1, None).await, (2, 2 + 19 + 9));
    assert_eq!(all_counts(app, cast, &p2, None).await, (1, 10));
    let listed = comments_of(app, a, None).await;
    assert_eq!(listed.len(), 20);
    // Tree order: the parent's nine replies right after it, oldest first.
    assert_eq!(listed[1]["id"], parent.as_str());
    assert!(listed[2..11].iter().all(|c| c["parent_id"] == parent.as_str()));
}

/// The batch statement itself: posts whose thread changed since their
/// decision, or whose thread does not exist, are left out; the others are
/// written, two on one thread in the order they were queued.
#[tokio::test]
async fn a_batch_writes_only_the_posts_that_still_hold() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(3);
    let open = id(&app.start_thread(cast.session(), &cast.member, &para, "open").await);
    let locked = id(&app.start_thread(cast.session(), &cast.member, &para, "locked").await);
    app.post(&format!("/threads/{locked}/moderation"), Some(&cast.owner.token), json!({"action": "lock"}))
        .await
        .expect(200);

    let member = uuid(&cast.member.id);
    let place = Place { session_id: uuid(cast.session()), paragraph_id: uuid(&para) };
    let post = |thread: &str, body: &str| decided(place, thread, member, body);
    let posts = [
        (Uuid::now_v7(), post(&open, "first")),
        (Uuid::now_v7(), post(&locked, "decided before the lock")),
        (Uuid::now_v7(), post(&Uuid::now_v7().to_string(), "no such thread")),
        (Uuid::now_v7(), post(&open, "second")),
    ];
    let refs: Vec<(Uuid, &Post)> = posts.iter().map(|(id, p)| (*id, p)).collect();
    let mut db = app.db().await;
    let written = posting::write_now(&mut db, &refs).await.expect("the batch");
    let bodies: Vec<&str> = written.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(bodies, ["first", "second"]);
    assert!(written[0].sort_key < written[1].sort_key);
    assert_eq!(written[0].id, posts[0].0);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (2, 4));
    assert_eq!(comments_of(&app, &locked, None).await.len(), 1);
}

/// Waits until a backend of the app's database waits for a lock.
async fn until_a_write_waits(app: &TestApp) {
    let mut db = app.db().await;
    for _ in 0..500 {
        let waiting = diesel_async::RunQueryDsl::get_result::<Waiting>(
            diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity \
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
            ),
            &mut db,
        )
        .await
        .expect("pg_stat_activity");
        if waiting.n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the first batch never waited");
}

#[derive(diesel::QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A queue with one write slot: while a first batch waits for a thread's
/// lock, two posts queue up and go in the next batch together. One of them
/// has an empty body (the route refuses it with 422; here it reaches the
/// table's check), so that batch's write fails; the posts are written again
/// each alone, and the good one lands.
#[tokio::test]
async fn a_failing_post_never_fails_the_others_of_its_batch() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(4);
    let held = id(&app.start_thread(cast.session(), &cast.member, &para, "held").await);
    let other = id(&app.start_thread(cast.session(), &cast.member, &para, "other").await);
    let connector = Connector::new(&app.db_url, None).expect("connector");
    // A pool of 2 has one write slot (half of it).
    let queue = PostQueue::new(build_pool(Arc::new(connector), 2, Duration::from_secs(5)).expect("pool"));
    let first = ask(&app, &cast.member, &held, None, "waits for the lock").await;
    let good = ask(&app, &cast.member, &other, None, "good").await;
    let empty = ask(&app, &cast.member, &other, None, "").await;

    let mut holder = app.db().await;
    holder
        .batch_execute(&format!("BEGIN; SELECT id FROM threads WHERE id = '{held}' FOR NO KEY UPDATE"))
        .await
        .expect("hold a thread");
    let first = queue.post(first);
    let rest = async {
        until_a_write_waits(&app).await;
        let good = queue.post(good);
        let empty = queue.post(empty);
        let release = async {
            // Both are queued before the slot frees.
            tokio::time::sleep(Duration::from_millis(200)).await;
            holder.batch_execute("COMMIT").await.expect("release the thread");
        };
        let (good, empty, ()) = tokio::join!(good, empty, release);
        (good, empty)
    };
    let (first, (good, empty)) = tokio::join!(first, rest);
    assert_eq!(first.expect("first").expect("written").comment.body, "waits for the lock");
    assert_eq!(good.expect("good").expect("written").comment.body, "good");
    let empty = empty.err().expect("an empty body fails the table's check");
    assert!(empty.status.is_server_error(), "{empty:?}");
    let bodies: Vec<String> = comments_of(&app, &other, None)
        .await
        .iter()
        .map(|c| c["body"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(bodies, ["other", "good"]);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (2, 4));
}

/// One statement reads the facts of a whole batch, yet each post is decided
/// on its own: an outsider's, one on a locked thread, one under a parent of
/// another thread and one on no thread are each refused as alone, and the
/// others of the same batch are written, answered with their authors.
#[tokio::test]
async fn each_post_of_a_batch_is_decided_on_its_own_facts() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let para = cast.reading.paragraph_id(1);
    let open = id(&app.start_thread(cast.session(), &cast.member, &para, "open").await);
    let locked = id(&app.start_thread(cast.session(), &cast.member, &para, "locked").await);
    let elsewhere = id(&app.start_thread(cast.session(), &cast.member, &para, "elsewhere").await);
    let foreign = id(&app.comment(&elsewhere, &cast.member, None, "a comment of another thread").await);
    let parent = id(&app.comment(&open, &cast.member, None, "the parent").await);
    app.post(&format!("/threads/{locked}/moderation"), Some(&cast.owner.token), json!({"action": "lock"}))
        .await
        .expect(200);

    let asks = [
        ask(&app, &cast.member, &open, Some(&parent), "a reply").await,
        ask(&app, &cast.outsider, &open, None, "from outside").await,
        ask(&app, &cast.member, &locked, None, "on a locked thread").await,
        ask(&app, &cast.moderator, &locked, None, "a moderator on a locked thread").await,
        ask(&app, &cast.member, &open, Some(&foreign), "under a foreign parent").await,
        ask(&app, &cast.member, &Uuid::now_v7().to_string(), None, "on no thread").await,
        ask(&app, &cast.organiser, &open, None, "top level").await,
    ];
    let refs: Vec<&Ask> = asks.iter().collect();
    let mut db = app.db().await;
    let outcomes = posting::post_all(&mut db, &refs).await.expect("the batch");
    let statuses: Vec<u16> = outcomes
        .iter()
        .map(|o| match o {
            Ok(Some(_)) => 201,
            Ok(None) => 0,
            Err(e) => e.status.as_u16(),
        })
        .collect();
    assert_eq!(statuses, [201, 404, 409, 201, 422, 404, 201]);
    let written: Vec<(String, String, i16)> = outcomes
        .into_iter()
        .filter_map(|o| o.ok().flatten())
        .map(|p| (p.comment.body, p.author.username, p.comment.depth))
        .collect();
    let name = |u: &TestUser| u.username.clone();
    assert_eq!(
        written,
        [
            ("a reply".to_owned(), name(&cast.member), 1),
            ("a moderator on a locked thread".to_owned(), name(&cast.moderator), 0),
            ("top level".to_owned(), name(&cast.organiser), 0),
        ]
    );
    assert_eq!(comments_of(&app, &open, Some(&cast.member.token)).await.len(), 4);
}
