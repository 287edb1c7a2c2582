//! Thread starts racing a revision of their paragraph: each is either
//! re-anchored by the revision or refused; none is anchored to text that no
//! longer exists, none is lost, and the counts stay exact.

use serde_json::json;

use crate::helpers::{assert_counts_exact, assert_quotes_exact, fixture_blocks, span_of, spawn_app};

#[tokio::test]
async fn twenty_four_thread_starts_race_a_revision_of_their_paragraph() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let (sid, essay_id) = (reading.session_id.clone(), reading.essay["id"].as_str().unwrap().to_owned());
    let (paragraph, text) = (reading.paragraph_id(2), reading.paragraph_text(2));
    // Kept, shifted by the revision; deleted by it; kept.
    let quotes =
        ["a voice let them out", "Silent, solitary reading is the newcomer", "for a room of listeners"];
    let mut blocks = fixture_blocks();
    blocks[2] = format!(
        "In short: {}",
        blocks[2].replace(" Silent, solitary reading is the newcomer in this story, not the default.", "")
    );

    let starts = (0..24).map(|i| {
        let exact = quotes[i % quotes.len()];
        let (start, end) = span_of(&text, exact);
        let body = json!({"paragraph_id": paragraph, "body": format!("thread {i}"),
                          "quote": {"exact": exact, "start": start, "end": end}});
        let request = app
            .client
            .post(app.url(&format!("/sessions/{sid}/threads")))
            .bearer_auth(&owner.token)
            .json(&body);
        // Spread over the revision's run: some before it, some while it
        // holds its locks, some after.
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(40 * i as u64)).await;
            request.send().await.expect("thread start").status().as_u16()
        }
    });
    let revision = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        app.revise(&essay_id, &owner, &blocks, json!({})).await
    };
    let (statuses, revised) = tokio::join!(futures_util::future::join_all(starts), revision);
    assert_eq!(revised.status, 201, "{}", revised.body);
    let created = statuses.iter().filter(|s| **s == 201).count();
    assert!(statuses.iter().all(|s| *s == 201 || *s == 422), "{statuses:?}");

    let threads = assert_quotes_exact(&app, &essay_id, &sid, &owner).await;
    assert_eq!(threads.len(), created, "every created thread is still there");
    for t in threads.values() {
        if t["quote"]["exact"] == quotes[1] {
            assert_eq!(t["anchor"]["status"], "orphaned", "{t}");
        } else {
            // Every offset shifted: a thread that landed first was moved by
            // the revision; one that came after, with old offsets, was refused.
            assert_eq!(t["anchor"]["status"], "moved", "{t}");
        }
    }
    println!("{created} of 24 thread starts landed before the revision, the rest were refused: {statuses:?}");
    let (thread_total, comment_total) = assert_counts_exact(&app, &sid, &owner.token).await;
    assert_eq!((thread_total, comment_total), (created as i64, created as i64));
}
