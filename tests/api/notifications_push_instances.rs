//! Two instances push each change once between them.

use crate::helpers::{id, items, pushing_instance_on, spawn_pushing_app, Browser, PushReceiver, PUSH_WAIT};

#[derive(diesel::QueryableByName)]
struct Owed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn two_instances_push_each_change_once() {
    let app = spawn_pushing_app().await;
    let other = pushing_instance_on(&app).await;
    let receiver = PushReceiver::start().await;
    let owner = app.register("owner").await;
    let mut members = Vec::new();
    for i in 0..6 {
        members.push(app.register(&format!("member{i}")).await);
    }
    let refs: Vec<_> = members.iter().collect();
    let reading = app.reading_with(&owner, "public", &refs).await;
    let browsers: Vec<Browser> = (0..members.len()).map(|_| Browser::new(&receiver)).collect();
    for (user, browser) in members.iter().zip(&browsers) {
        other.subscribe_push(user, browser).await;
    }
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "a question").await;
    let t = id(&thread);
    let mut firsts = Vec::new();
    for user in &members {
        firsts.push(id(&app.comment(&t, user, None, "my reading").await));
    }
    for first in &firsts {
        other.comment(&t, &owner, Some(first), "an answer").await;
    }
    for user in &members {
        app.inbox_until(user, |i| items(i).first().is_some_and(|x| x["reason"] == "reply")).await;
    }
    app.notifier_settled().await;
    let key = app.push_key().await;
    // Once no change is owed a push, every push that will happen has happened.
    let mut conn = app.db().await;
    let started = std::time::Instant::now();
    loop {
        use diesel_async::RunQueryDsl;
        let owed: Owed = diesel::sql_query(
            "SELECT count(*) AS n FROM notifications WHERE pushed_for IS DISTINCT FROM updated_at",
        )
        .get_result(&mut conn)
        .await
        .unwrap();
        if owed.n == 0 {
            break;
        }
        assert!(started.elapsed() < PUSH_WAIT, "the pushers never caught up");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    for (user, browser) in members.iter().zip(&browsers) {
        let pushes = receiver.received(&browser.path);
        let inbox = app.inbox(user, "").await;
        // One item per member; each change to it pushed once (a member's own
        // comment and the reply may land in one change or in two).
        let changes: std::collections::HashSet<String> = pushes
            .iter()
            .map(|p| {
                let payload = browser.open(p, &key, &receiver.origin);
                assert_eq!(payload["notification_id"], items(&inbox)[0]["id"]);
                format!("{}", payload["new_count"])
            })
            .collect();
        assert!(!pushes.is_empty(), "{} was told", user.username);
        assert_eq!(changes.len(), pushes.len(), "no change pushed twice to {}", user.username);
    }
}
