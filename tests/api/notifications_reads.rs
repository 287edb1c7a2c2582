//! Read by reading: one read state for a thread and its item. `unread_count`,
//! `?unread=true`, ETag and 304, and the polling headers.

use crate::helpers::{id, items, spawn_notifying_app};

#[tokio::test]
async fn reading_the_thread_or_the_item_marks_it_read_and_new_comments_unread_it() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "a question").await);
    let b1 = id(&app.comment(&t, &bob, None, "first answer").await);

    let inbox = app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    assert_eq!(inbox["unread_count"], 1);
    let first = app.get("/me/notifications", Some(&alice.token)).await;
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert!(tag.starts_with('"'), "strong: {tag}");
    assert!(first.header("x-poll-interval").is_some_and(|v| v.parse::<u64>().is_ok()));
    assert!(first.header("pilcrow-event-cursor").is_some());
    let again = app.revalidate("/me/notifications", Some(&alice.token), &tag).await;
    assert_eq!(again.status, 304);

    // Reading the thread up to the latest comment reads the item.
    app.mark_read(sid, &alice, &t, &b1).await;
    let inbox = app.inbox(&alice, "").await;
    assert_eq!(items(&inbox)[0]["unread"], false);
    assert_eq!(inbox["unread_count"], 0);
    assert!(items(&app.inbox(&alice, "?unread=true").await).is_empty());
    assert_eq!(app.revalidate("/me/notifications", Some(&alice.token), &tag).await.status, 200, "changed");

    // A new comment makes it unread again, counting from the read.
    let b2 = id(&app.comment(&t, &bob, None, "second answer").await);
    let inbox = app.inbox_until(&alice, |i| items(i)[0]["latest_comment_id"] == b2.as_str()).await;
    assert_eq!(items(&inbox)[0]["unread"], true);
    assert_eq!(items(&inbox)[0]["new_count"], 1);
    assert_eq!(inbox["unread_count"], 1);

    // PUT /me/notifications/read raises the same mark: the thread is read too.
    let item = items(&inbox)[0]["id"].as_str().unwrap().to_owned();
    app.put("/me/notifications/read", Some(&alice.token), serde_json::json!({"ids": [item]}))
        .await
        .expect(204);
    assert_eq!(app.inbox(&alice, "").await["unread_count"], 0);
    let list = app.get(&format!("/sessions/{sid}/threads"), Some(&alice.token)).await.expect(200);
    assert_eq!(list["items"][0]["unread_count"], 0, "the thread is read as well: {list}");

    let b3 = id(&app.comment(&t, &bob, None, "third").await);
    app.inbox_until(&alice, |i| items(i)[0]["latest_comment_id"] == b3.as_str()).await;
    app.put("/me/notifications/read", Some(&alice.token), serde_json::json!({"all": true})).await.expect(204);
    assert_eq!(app.inbox(&alice, "").await["unread_count"], 0);

    app.put("/me/notifications/read", Some(&alice.token), serde_json::json!({})).await.expect(422);
    app.put("/me/notifications/read", Some(&alice.token), serde_json::json!({"ids": [], "all": true}))
        .await
        .expect(422);
}

#[tokio::test]
async fn the_inbox_pages_newest_first() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let bob = app.register("bob").await;
    let reading = app.reading_with(&owner, "public", &[&bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let mut threads = Vec::new();
    for n in 0..3 {
        let t = id(&app.start_thread(sid, &owner, &para, &format!("thread {n}")).await);
        app.comment(&t, &bob, None, "a reply").await;
        threads.push(t);
    }
    app.inbox_until(&owner, |i| items(i).len() == 3).await;
    let page1 = app.inbox(&owner, "?limit=2").await;
    assert_eq!(items(&page1).len(), 2);
    let cursor = page1["next_cursor"].as_str().expect("a next page").to_owned();
    let page2 = app.inbox(&owner, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(items(&page2).len(), 1);
    assert!(page2["next_cursor"].is_null());
    let mut seen: Vec<String> = items(&page1)
        .iter()
        .chain(items(&page2))
        .map(|i| i["thread"]["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    threads.sort();
    assert_eq!(seen, threads);
    app.get("/me/notifications?cursor=junk", Some(&owner.token)).await.expect(400);
}
