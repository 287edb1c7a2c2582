//! Exactly once: two instances deriving at the same time make no
//! duplicates, deriving a range again changes nothing, and the notifier's
//! cursor survives a restart.

use crate::helpers::{id, items, notifying_instance_on, spawn_notifying_app};

#[tokio::test]
async fn two_instances_deriving_concurrently_duplicate_nothing() {
    let app = spawn_notifying_app().await;
    let second = notifying_instance_on(&app).await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "busy thread").await);
    let posts = (0..20).map(|n| {
        let (app, second, t, bob) = (&app, &second, &t, &bob);
        async move {
            let on = if n % 2 == 0 { app } else { second };
            on.comment(t, bob, None, &format!("reply {n}")).await;
        }
    });
    futures_util::future::join_all(posts).await;
    app.notifier_settled().await;
    let inbox = app.inbox(&alice, "").await;
    assert_eq!(items(&inbox).len(), 1);
    assert_eq!(items(&inbox)[0]["new_count"], 20, "each comment counted once: {inbox}");

    // Deriving the whole log again (the cursor moved back to its start)
    // changes nothing: each item takes in only what is newer than it holds.
    let mut conn = app.db().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query("UPDATE notifier_cursor SET xid = 0, id = 0").execute(&mut conn).await.unwrap();
    app.notifier_settled().await;
    assert_eq!(app.inbox(&alice, "").await, inbox, "a repeated derivation changed the inbox");
}

#[tokio::test]
async fn what_was_posted_before_a_restart_is_delivered_once_after_it() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "before the restart").await);
    app.comment(&t, &bob, None, "delivered by the first").await;
    app.inbox_until(&alice, |i| !items(i).is_empty()).await;

    // The notifier stops (as on SIGTERM) with comments not yet derived.
    let held = app.hold_notifier().await;
    app.comment(&t, &bob, None, "posted, not yet derived").await;
    app.events.shut_down();
    crate::helpers::release_notifier(held).await;
    // The first instance stays up (it owns the test's database) but derives no more.
    let restarted = notifying_instance_on(&app).await;
    restarted.notifier_settled().await;
    let inbox = restarted.inbox(&alice, "").await;
    assert_eq!(items(&inbox).len(), 1);
    assert_eq!(items(&inbox)[0]["new_count"], 2, "both comments, once each: {inbox}");
}
