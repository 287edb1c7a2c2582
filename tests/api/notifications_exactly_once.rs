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

/// The cursor row's version and its locker: unchanged only while nobody
/// takes or moves it.
async fn cursor_row(app: &crate::helpers::TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    use diesel_async::RunQueryDsl;
    let mut conn = app.db().await;
    diesel::sql_query(
        "SELECT xmin::text || '/' || xmax::text AS row FROM notifier_cursor WHERE name = 'notifications'",
    )
    .get_result::<Row>(&mut conn)
    .await
    .expect("the cursor row")
    .row
}

#[tokio::test]
async fn an_idle_notifier_writes_nothing() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let alice = app.register("alice").await;
    let reading = app.reading_with(&owner, "public", &[&alice]).await;
    let t =
        id(&app.start_thread(&reading.session_id, &alice, &reading.paragraph_id(0), "a quiet thread").await);
    app.notifier_settled().await;
    // A round that began before the log's top was read may still be ending.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // Rounds every 50 ms with nothing to derive take no lock and move nothing
    // (taking the cursor is a row lock, a write).
    let idle = cursor_row(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(cursor_row(&app).await, idle, "an idle round wrote the cursor row");

    app.comment(&t, &owner, None, "after the quiet").await;
    app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    assert_ne!(cursor_row(&app).await, idle, "the round that derived the comment moved the cursor");
}
