//! A revision reaches live readers: `essay.revised` once per session of the
//! essay, and a thread orphaned in place (only its anchor changed) as
//! `thread.updated` carrying the new anchor.

use serde_json::json;

use crate::helpers::{fixture_blocks, spawn_app, SOON};

#[tokio::test]
async fn a_revision_is_announced_and_orphans_arrive_as_thread_updates() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let (sid, essay_id) = (reading.session_id.as_str(), reading.essay["id"].as_str().unwrap().to_owned());
    let thread = app
        .start_quoted(sid, &owner, &reading.paragraph_id(9), &reading.paragraph_text(9), "Charles Dickens")
        .await;
    let mut stream = app.subscribe(sid, None).await;

    let mut blocks = fixture_blocks();
    blocks[9] = blocks[9].replace("Charles Dickens toured", "Mark Twain toured");
    app.revise(&essay_id, &owner, &blocks, json!({"note": "a name"})).await.expect(201);

    // Both arrive, in the order the revision wrote them (its thread
    // updates, then the announcement).
    let (mut revised, mut updated) = (None, None);
    while revised.is_none() || updated.is_none() {
        let event = stream.next_event(SOON).await.expect("the revision's events");
        match event.event.as_str() {
            "essay.revised" => revised = Some(event),
            "thread.updated" if event.data["thread"]["id"] == thread["id"] => updated = Some(event),
            _ => {}
        }
    }
    let (revised, updated) = (revised.unwrap(), updated.unwrap());
    assert_eq!(revised.data, json!({"essay_id": essay_id, "revision": 2}));
    assert_eq!(updated.data["thread"]["anchor"]["status"], "orphaned", "{}", updated.data);
    // The event carries the thread exactly as a reader would GET it now.
    let now = app.get(&format!("/threads/{}", thread["id"].as_str().unwrap()), None).await.expect(200);
    assert_eq!(updated.data["thread"], now);
}
