//! The W3C Web Annotation export of a seeded session: its shape, IRIs from
//! the configured base URL (never from `Host`), the caller's visibility, and
//! every exported annotation, page and collection against every MUST
//! assertion of the W3C test suite's data when that is present.

use serde_json::{json, Value};

use crate::helpers::{fixture_blocks, id, must_assertions, spawn_app_with, wpt_annotation_model};

const BASE: &str = "https://pilcrow.example.org";

async fn first_comment(app: &crate::helpers::TestApp, thread: &Value) -> Value {
    app.get(&format!("/threads/{}/comments", id(thread)), None).await.expect(200)["items"][0].clone()
}

#[tokio::test]
async fn a_sessions_discussion_exports_as_w3c_annotations() {
    let app = spawn_app_with(|s| s.server.public_base_url = format!("{BASE}/")).await;
    let owner = app.register("organiser").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &reader, "member").await;
    let (sid, essay_id) = (reading.session_id.as_str(), reading.essay["id"].as_str().unwrap());
    let text = reading.paragraph_text(4);
    let quoted = app.start_quoted(sid, &reader, &reading.paragraph_id(4), &text, "listener’s ear").await;
    let plain = app
        .post(
            &format!("/sessions/{sid}/threads"),
            Some(&reader.token),
            json!({"paragraph_id": reading.paragraph_id(6), "title": "Workshops", "body": "**Who** read?"}),
        )
        .await
        .expect(201);
    let orphan = app
        .start_quoted(sid, &reader, &reading.paragraph_id(9), &reading.paragraph_text(9), "Charles Dickens")
        .await;
    let quoted_root = first_comment(&app, &quoted).await;
    let reply = app.comment(&id(&quoted), &owner, Some(&id(&quoted_root)), "A reply").await;
    let nested = app.comment(&id(&quoted), &reader, Some(&id(&reply)), "A reply to the reply").await;
    let hidden = app.comment(&id(&plain), &owner, None, "hidden later").await;
    app.post(&format!("/comments/{}/moderation", id(&hidden)), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    let deleted = app.comment(&id(&plain), &reader, None, "deleted later").await;
    app.delete(&format!("/comments/{}", id(&deleted)), Some(&reader.token)).await.expect(204);
    // A revision moves one quote and orphans another.
    let mut blocks = fixture_blocks();
    blocks[4] = format!("Indeed: {}", blocks[4]);
    blocks[9] = blocks[9].replace("Charles Dickens", "Mark Twain");
    app.revise(essay_id, &owner, &blocks, json!({})).await.expect(201);

    let path = format!("/sessions/{sid}/annotations");
    let response = app
        .raw(app.client.get(app.url(&path)).bearer_auth(&reader.token).header("Host", "evil.example"))
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some("application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"")
    );
    let collection = response.body;
    assert_eq!(collection["type"], "AnnotationCollection");
    assert_eq!(collection["id"], format!("{BASE}/api/v1/sessions/{sid}/annotations"));
    let page = &collection["first"];
    assert_eq!(page["partOf"]["total"], 5, "three openings and two replies; hidden and deleted left out");
    let items = page["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 5);
    assert!(collection.to_string().find("evil.example").is_none());
    let by_id = |comment: &Value| {
        items
            .iter()
            .find(|a| a["id"] == format!("{BASE}/api/v1/annotations/{}", id(comment)))
            .cloned()
            .expect("exported")
    };

    let root = by_id(&quoted_root);
    assert_eq!(root["motivation"], "commenting");
    assert_eq!(root["target"]["source"], format!("{BASE}/api/v1/essays/{essay_id}"));
    let selectors = root["target"]["selector"].as_array().unwrap();
    assert_eq!(selectors[0]["value"], format!("p-{}", reading.paragraph_id(4)));
    assert_eq!(selectors[0]["refinedBy"]["type"], "TextQuoteSelector");
    assert_eq!(selectors[0]["refinedBy"]["exact"], "listener’s ear");
    let new_text = format!("Indeed: {text}");
    let (start, end) = crate::helpers::span_of(&new_text, "listener’s ear");
    assert_eq!(
        selectors[1]["refinedBy"],
        json!({"type": "TextPositionSelector", "start": start, "end": end})
    );
    let prefix = selectors[0]["refinedBy"]["prefix"].as_str().unwrap();
    assert!(new_text.contains(&format!("{prefix}listener’s ear")) && prefix.chars().count() == 32);
    assert_eq!(root["target"]["state"]["type"], "TimeState");
    assert_eq!(root["creator"]["nickname"], "reader");
    assert!(root["creator"].get("email").is_none());
    assert_eq!(by_id(&reply)["target"], format!("{BASE}/api/v1/annotations/{}", id(&quoted_root)));
    assert_eq!(by_id(&reply)["motivation"], "replying");
    assert_eq!(by_id(&nested)["target"], format!("{BASE}/api/v1/annotations/{}", id(&reply)));
    let plain_root = by_id(&first_comment(&app, &plain).await);
    assert_eq!(plain_root["target"]["selector"].as_array().unwrap().len(), 1, "a paragraph-level thread");
    assert_eq!(
        plain_root["body"][1],
        json!({"type": "TextualBody", "value": "Workshops", "purpose": "describing", "format": "text/plain"})
    );
    let orphan_root = by_id(&first_comment(&app, &orphan).await);
    let orphan_selectors = orphan_root["target"]["selector"].as_array().unwrap();
    assert_eq!(orphan_selectors.len(), 1, "an orphan keeps its quote, not a position: {orphan_root}");
    assert_eq!(orphan_selectors[0]["refinedBy"]["exact"], "Charles Dickens");

    // One annotation alone, alike; hidden content only for moderators.
    let one = app.get(&format!("/annotations/{}", id(&reply)), None).await.expect(200);
    assert_eq!(one["@context"], "http://www.w3.org/ns/anno.jsonld");
    assert_eq!(one["id"], by_id(&reply)["id"]);
    app.get(&format!("/annotations/{}", id(&hidden)), Some(&reader.token))
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/annotations/{}", id(&hidden)), Some(&owner.token)).await.expect(200);
    let moderated = app.get(&path, Some(&owner.token)).await.expect(200);
    assert_eq!(moderated["total"], 7);
    app.get(&format!("{path}?page=nonsense"), None).await.expect_problem(400, "invalid_cursor");
    let first_page = app.get(&format!("{path}?page=first"), None).await.expect(200);
    assert_eq!(first_page["type"], "AnnotationPage");
    assert_eq!(first_page["items"], page["items"]);

    let Some(dir) = wpt_annotation_model() else { return };
    let musts = must_assertions(&dir, "annotations/annotationMusts.test");
    let mut annotations = items.clone();
    annotations.extend(moderated["first"]["items"].as_array().unwrap().iter().cloned());
    annotations.push(one);
    for annotation in &annotations {
        for assertion in &musts {
            assertion.check(annotation);
        }
    }
    for assertion in must_assertions(&dir, "collections/collectionMusts.test") {
        assertion.check(&collection);
    }
    for assertion in must_assertions(&dir, "collections/pages/pageMusts.test") {
        assertion.check(&first_page);
    }
    eprintln!("checked {} annotations against {} MUST assertions", annotations.len(), musts.len());
    // And the assertions do bite: a broken annotation fails some of them.
    let mut broken = items[0].clone();
    broken["id"] = json!(42);
    broken["target"]["selector"][0]["value"] = json!(7);
    let failed: Vec<&str> = musts.iter().filter(|a| !a.passes(&broken)).map(|a| a.file.as_str()).collect();
    assert!(failed.len() >= 2, "{failed:?}");
}

#[tokio::test]
async fn private_sessions_export_nothing_to_outsiders_and_pages_follow_on() {
    let app = spawn_app_with(|s| s.server.public_base_url = BASE.to_owned()).await;
    let owner = app.register("organiser").await;
    let outsider = app.register("outsider").await;
    let reading = app.reading(&owner, "private").await;
    let sid = reading.session_id.as_str();
    let thread = app.start_thread(sid, &owner, &reading.paragraph_id(0), "opening").await;
    for i in 0..100 {
        app.comment(&id(&thread), &owner, None, &format!("comment {i}")).await;
    }
    let path = format!("/sessions/{sid}/annotations");
    app.get(&path, Some(&outsider.token)).await.expect_problem(404, "not_found");
    app.get(&path, None).await.expect_problem(404, "not_found");
    let comments =
        app.get(&format!("/threads/{}/comments?limit=1", id(&thread)), Some(&owner.token)).await.expect(200);
    app.get(&format!("/annotations/{}", id(&comments["items"][0])), Some(&outsider.token))
        .await
        .expect_problem(404, "not_found");

    let collection = app.get(&path, Some(&owner.token)).await.expect(200);
    assert_eq!(collection["total"], 101);
    let first = &collection["first"];
    assert_eq!(first["items"].as_array().unwrap().len(), 100);
    let next = first["next"].as_str().expect("a second page");
    let relative = next.strip_prefix(&format!("{BASE}/api/v1")).expect("under the base URL");
    let second = app.get(relative, Some(&owner.token)).await.expect(200);
    assert_eq!(second["startIndex"], 100);
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second.get("next").is_none());
    if let Some(dir) = wpt_annotation_model() {
        for assertion in must_assertions(&dir, "collections/pages/pageMusts.test") {
            assertion.check(&second);
        }
    }
}
