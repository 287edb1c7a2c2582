//! Mentions: resolved when written and reported in the 201, told once as
//! `mention`, never to someone who cannot read the group, within the
//! author's budget per recipient.

use serde_json::{json, Value};

use crate::helpers::{id, items, limited, small, spawn_app_with};

fn report(created: &Value) -> Vec<(String, String)> {
    created["mentions"]
        .as_array()
        .expect("mentions")
        .iter()
        .map(|m| (m["username"].as_str().unwrap().to_owned(), m["status"].as_str().unwrap().to_owned()))
        .collect()
}

fn pair(name: &str, status: &str) -> (String, String) {
    (name.to_owned(), status.to_owned())
}

#[tokio::test]
async fn a_mention_tells_a_reader_of_the_group_and_reports_every_name() {
    let app = spawn_app_with(|s| s.notifications.derive_interval_ms = 50).await;
    let owner = app.register("owner").await;
    let (alice, bob, carol) =
        (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let reading = app.reading_with(&owner, "private", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));

    let thread = app.start_thread(sid, &owner, &para, "opening words for @Alice").await;
    assert_eq!(report(&thread), [pair("alice", "notified")], "{thread}");
    assert_eq!(thread["comment_count"], 1, "the 201 is still the whole thread: {thread}");
    let t = id(&thread);

    let body = "@BOB, have a look; @carol too, and @nobody_here. Not `@owner`, not mail@alice.example.";
    let comment = app.comment(&t, &alice, None, body).await;
    assert_eq!(
        report(&comment),
        [pair("bob", "notified"), pair("carol", "not_a_member"), pair("nobody_here", "unknown")]
    );
    assert_eq!(comment["body"], body, "the 201 is still the whole comment: {comment}");

    let inbox = app.inbox_until(&bob, |i| !items(i).is_empty()).await;
    let item = &items(&inbox)[0];
    assert_eq!(item["reason"], "mention");
    assert_eq!(item["latest_comment_id"], id(&comment).as_str());
    assert_eq!(item["actors"][0]["username"], "alice");
    let alice_inbox = app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    assert_eq!(items(&alice_inbox)[0]["reason"], "mention", "named in the thread's opening");

    app.notifier_settled().await;
    assert!(items(&app.inbox(&carol, "").await).is_empty(), "an outsider of a private group is told nothing");
    // The owner's thread had a comment, a reply reason; the code span named nobody.
    assert_eq!(items(&app.inbox(&owner, "").await)[0]["reason"], "reply");

    // Naming oneself reports nothing.
    let own = app.comment(&t, &bob, None, "as @bob I agree with @alice").await;
    assert_eq!(report(&own), [pair("alice", "notified")]);
}

#[tokio::test]
async fn a_muted_thread_hears_no_mention() {
    let app = spawn_app_with(|s| s.notifications.derive_interval_ms = 50).await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let t = id(&app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "a thread").await);
    app.put(&format!("/threads/{t}/watch"), Some(&bob.token), json!({"level": "muted"})).await.expect(200);
    let comment = app.comment(&t, &alice, None, "what do you think, @bob?").await;
    assert_eq!(report(&comment), [pair("bob", "notified")]);
    app.notifier_settled().await;
    assert!(items(&app.inbox(&bob, "").await).is_empty());
}

#[tokio::test]
async fn past_the_budget_a_mention_is_rate_limited_and_the_comment_still_posted() {
    let app = spawn_app_with(|s| {
        limited(s);
        s.rate_limit.mentions_per_recipient = small(2);
        s.notifications.derive_interval_ms = 50;
    })
    .await;
    let owner = app.register("owner").await;
    let (alice, bob, carol) =
        (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob, &carol]).await;
    let t = id(&app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "a thread").await);
    for _ in 0..2 {
        let c = app.comment(&t, &alice, None, "@bob look").await;
        assert_eq!(report(&c), [pair("bob", "notified")]);
    }
    let third = app.comment(&t, &alice, None, "@bob look again, and @carol").await;
    assert_eq!(report(&third), [pair("bob", "rate_limited"), pair("carol", "notified")]);
    // Another author has a budget of their own.
    let others = app.comment(&t, &carol, None, "@bob from me").await;
    assert_eq!(report(&others), [pair("bob", "notified")]);

    app.notifier_settled().await;
    let inbox = app.inbox(&bob, "").await;
    assert_eq!(items(&inbox).len(), 1);
    assert_eq!(items(&inbox)[0]["new_count"], 3, "two of alice's and carol's, not the limited one: {inbox}");
}

#[tokio::test]
async fn a_blocked_author_tells_the_blocker_nothing() {
    let app = spawn_app_with(|s| s.notifications.derive_interval_ms = 50).await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let t = id(&app.start_thread(&reading.session_id, &bob, &reading.paragraph_id(0), "bob's thread").await);
    let b1 = id(&app.comment(&t, &bob, None, "bob's comment").await);
    app.put(&format!("/me/blocks/{}", alice.id), Some(&bob.token), json!({})).await.expect(204);

    // The author learns nothing of the block.
    let mention = app.comment(&t, &alice, Some(&b1), "@bob, a reply and a mention").await;
    assert_eq!(report(&mention), [pair("bob", "notified")]);
    app.notifier_settled().await;
    assert!(items(&app.inbox(&bob, "").await).is_empty(), "told by someone blocked");

    // Unblocked, the next reply tells him.
    app.delete(&format!("/me/blocks/{}", alice.id), Some(&bob.token)).await.expect(204);
    app.comment(&t, &alice, Some(&b1), "another reply").await;
    let inbox = app.inbox_until(&bob, |i| !items(i).is_empty()).await;
    assert_eq!(items(&inbox)[0]["new_count"], 1, "only what came after the block ended: {inbox}");
}
