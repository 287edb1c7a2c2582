//! A push service answering 410 Gone (or 404) has dropped the browser's
//! subscription: the server deletes it and pushes there no more.

use crate::helpers::{id, spawn_pushing_app, Browser, PushReceiver, PUSH_WAIT};

#[tokio::test]
async fn a_410_from_the_push_service_deletes_the_subscription() {
    let app = spawn_pushing_app().await;
    let receiver = PushReceiver::start().await;
    let owner = app.register("owner").await;
    let alice = app.register("alice").await;
    let reading = app.reading_with(&owner, "public", &[&alice]).await;
    let (gone, kept) = (Browser::new(&receiver), Browser::new(&receiver));
    let gone_id = app.subscribe_push(&owner, &gone).await;
    let kept_id = app.subscribe_push(&owner, &kept).await;
    receiver.answer(&gone.path, 410);

    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "a question").await;
    app.comment(&id(&thread), &alice, None, "an answer").await;
    receiver.wait_for(&gone.path, 1).await;
    receiver.wait_for(&kept.path, 1).await;

    let started = std::time::Instant::now();
    loop {
        let list = app.get("/me/push-subscriptions", Some(&owner.token)).await.expect(200);
        let ids: Vec<&str> =
            list["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        if ids == [kept_id.as_str()] {
            break;
        }
        assert!(ids.contains(&kept_id.as_str()), "the other subscription stays: {list}");
        assert!(started.elapsed() < PUSH_WAIT, "the gone subscription was never deleted: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    app.delete(&format!("/me/push-subscriptions/{gone_id}"), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");

    // The next change goes to the remaining browser only.
    app.comment(&id(&thread), &alice, None, "more").await;
    receiver.wait_for(&kept.path, 2).await;
    assert_eq!(receiver.received(&gone.path).len(), 1);
}
