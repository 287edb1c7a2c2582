//! Revising the fixture essay: scripted revisions (a word fixed, paragraphs
//! swapped, one split, one deleted) with threads that must follow their
//! quotes, counts that stay exact, the history, dry runs and `If-Match`.

use serde_json::json;

use crate::helpers::{assert_counts_exact, assert_quotes_exact, fixture_blocks, spawn_app};

#[tokio::test]
async fn scripted_revisions_of_the_fixture_keep_threads_and_counts() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &reader, "member").await;
    let (sid, essay_id) = (reading.session_id.as_str(), reading.essay["id"].as_str().unwrap().to_owned());
    let mut blocks = fixture_blocks();
    let p = |i: usize| reading.paragraph_id(i);
    let t = |i: usize| reading.paragraph_text(i);

    let after_fix = app.start_quoted(sid, &reader, &p(2), &t(2), "a voice let them out").await;
    let in_fix = app.start_quoted(sid, &reader, &p(2), &t(2), "written things down").await;
    let renamed = app.start_quoted(sid, &owner, &p(9), &t(9), "Charles Dickens").await;
    let swapped = app.start_quoted(sid, &reader, &p(3), &t(3), "knowing again").await;
    let split_half = app.start_quoted(sid, &reader, &p(7), &t(7), "Spinners, weavers and menders").await;
    let deleted = app.start_thread(sid, &reader, &p(10), "on the whole paragraph").await;
    for thread in [&after_fix, &renamed, &deleted] {
        app.comment(thread["id"].as_str().unwrap(), &owner, None, "a reply").await;
    }
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_owned();
    let totals = assert_counts_exact(&app, sid, &owner.token).await;
    assert_eq!(totals, (6, 9));

    // 1. A word fixed before one quote and inside another; a name rewritten.
    blocks[2] = blocks[2].replace("written things down", "written anything down");
    blocks[9] = blocks[9].replace("Charles Dickens toured", "Mark Twain toured");
    let report = app.revise(&essay_id, &owner, &blocks, json!({"note": "copy-edit"})).await.expect(201);
    assert_eq!(report["revision"], 2);
    assert_eq!(report["summary"]["edited"], 2, "{report}");
    let threads = assert_quotes_exact(&app, &essay_id, sid, &owner).await;
    let status = |t: &serde_json::Value| threads[&id(t)]["anchor"]["status"].as_str().unwrap().to_owned();
    assert_eq!(status(&after_fix), "moved");
    assert_eq!(status(&in_fix), "fuzzy");
    assert_eq!(threads[&id(&in_fix)]["quote"]["exact"], "written anything down");
    assert_eq!(threads[&id(&in_fix)]["anchor"]["original_quote"]["exact"], "written things down");
    assert_eq!(status(&renamed), "orphaned");
    assert_eq!(threads[&id(&renamed)]["anchor"]["reason"], "quote_edited");
    assert_eq!(threads[&id(&renamed)]["paragraph_id"], p(9).as_str(), "an orphan stays on its paragraph");
    assert_eq!(assert_counts_exact(&app, sid, &owner.token).await, totals);

    // 2. Paragraphs 3 and 5 swapped: ids and quotes kept.
    blocks.swap(3, 5);
    let report = app.revise(&essay_id, &owner, &blocks, json!({})).await.expect(201);
    let moved = report["paragraphs"].as_array().unwrap().iter().filter(|p| p["change"] == "moved").count();
    assert!(moved >= 1, "{report}");
    assert_eq!(report["paragraphs"][5]["id"], p(3).as_str());
    let threads = assert_quotes_exact(&app, &essay_id, sid, &owner).await;
    assert_eq!(threads[&id(&swapped)]["paragraph_id"], p(3).as_str());
    assert_eq!(threads[&id(&swapped)]["quote"], swapped["quote"]);
    assert_eq!(assert_counts_exact(&app, sid, &owner.token).await, totals);

    // 3. Paragraph 7 split after its first sentence.
    let (first, rest) = blocks[7].split_once(". ").expect("two sentences");
    let (first, rest) = (format!("{first}."), rest.to_owned());
    blocks.splice(7..8, [first, rest.clone()]);
    let report = app.revise(&essay_id, &owner, &blocks, json!({})).await.expect(201);
    assert_eq!(report["summary"]["added"], 1, "{report}");
    let threads = assert_quotes_exact(&app, &essay_id, sid, &owner).await;
    let current = app.current_paragraphs(&essay_id).await;
    let holder = &threads[&id(&split_half)];
    let text = &current.iter().find(|(pid, _)| pid == holder["paragraph_id"].as_str().unwrap()).unwrap().1;
    assert_eq!(text, &rest, "the thread follows its sentence: {holder}");
    assert_eq!(assert_counts_exact(&app, sid, &owner.token).await, totals);

    // 4. The paragraph after "What changed?" deleted: its thread is orphaned.
    let gone = blocks.iter().position(|b| b.starts_with("What changed?")).unwrap();
    blocks.remove(gone);
    let report = app.revise(&essay_id, &owner, &blocks, json!({})).await.expect(201);
    assert_eq!(report["retired"][0]["id"], p(10).as_str(), "{report}");
    let threads = assert_quotes_exact(&app, &essay_id, sid, &owner).await;
    assert_eq!(threads[&id(&deleted)]["anchor"]["status"], "orphaned");
    assert_eq!(threads[&id(&deleted)]["anchor"]["reason"], "paragraph_retired");
    assert_eq!(assert_counts_exact(&app, sid, &owner.token).await, totals);
    let counts = app.get(&format!("/sessions/{sid}/counts"), None).await.expect(200);
    assert_eq!(counts["orphaned"], json!({"thread_count": 1, "comment_count": 2}));
    assert!(counts["paragraphs"].as_array().unwrap().iter().all(|c| c["paragraph_id"] != p(10).as_str()));
    let orphans = app.get(&format!("/sessions/{sid}/threads?anchor=orphaned"), None).await.expect(200);
    let mut listed: Vec<String> = orphans["items"].as_array().unwrap().iter().map(id).collect();
    listed.sort();
    let mut expected = vec![id(&renamed), id(&deleted)];
    expected.sort();
    assert_eq!(listed, expected);

    // The retired paragraph is still readable in the revision that had it.
    let old = app.get(&format!("/essays/{essay_id}/revisions/1"), None).await.expect(200);
    assert_eq!(old["paragraphs"][10]["id"], p(10).as_str());
    assert_eq!(old["paragraphs"][10]["text"], t(10).as_str());
    assert_eq!(old["paragraphs"][9]["text"], t(9).as_str(), "the text before the rename");
    let now = app.get(&format!("/essays/{essay_id}/revisions/5"), None).await.expect(200);
    assert_eq!(now["paragraphs"].as_array().unwrap().len(), blocks.len());
    let history = app.get(&format!("/essays/{essay_id}/revisions"), None).await.expect(200);
    let numbers: Vec<i64> =
        history["items"].as_array().unwrap().iter().map(|r| r["revision"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [5, 4, 3, 2, 1]);
    assert_eq!(history["items"][3]["note"], "copy-edit");
    assert_eq!(history["items"][3]["created_by"]["id"], owner.id.as_str());
}

#[tokio::test]
async fn dry_runs_store_nothing_and_if_match_guards_against_lost_edits() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let member = app.register("member").await;
    let outsider = app.register("outsider").await;
    let reading = app.reading(&owner, "private").await;
    app.add_member(&reading.group_id, &owner, &member, "member").await;
    let essay_id = reading.essay["id"].as_str().unwrap();
    let mut blocks = fixture_blocks();
    blocks[4] = blocks[4].replace("well", "village well");

    let plan = app.revise(essay_id, &owner, &blocks, json!({"dry_run": true})).await.expect(200);
    assert_eq!((plan["revision"].clone(), plan["dry_run"].clone()), (json!(2), json!(true)));
    assert_eq!(plan["paragraphs"][4]["change"], "edited");
    let essay = app.get(&format!("/essays/{essay_id}"), Some(&owner.token)).await.expect(200);
    assert_eq!(essay["revision"], 1, "a dry run stores nothing");
    assert_eq!(essay["paragraphs"][4]["text"], reading.paragraph_text(4).as_str());
    let history = app.get(&format!("/essays/{essay_id}/revisions"), Some(&owner.token)).await.expect(200);
    assert_eq!(history["items"].as_array().unwrap().len(), 1);

    // Only organisers revise; outsiders of a private group see nothing.
    app.revise(essay_id, &member, &blocks, json!({})).await.expect_problem(403, "insufficient_role");
    app.revise(essay_id, &outsider, &blocks, json!({})).await.expect_problem(404, "not_found");
    let path = format!("/essays/{essay_id}/revisions");
    app.get(&path, Some(&outsider.token)).await.expect_problem(404, "not_found");
    app.get(&format!("{path}/1"), None).await.expect_problem(404, "not_found");

    let with_match = |tag: &'static str| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&owner.token)
            .header("If-Match", tag)
            .json(&json!({"body": blocks.join("\n\n")}))
    };
    let first = app.raw(with_match("\"1\"")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["revision"], 2);
    assert_eq!(first.header("location"), Some(format!("/api/v1/essays/{essay_id}/revisions/2").as_str()));
    // A second organiser still holding revision 1 is refused, not overwritten.
    app.raw(with_match("\"1\"")).await.expect_problem(412, "revision_conflict");
    app.raw(with_match("one")).await.expect_problem(400, "bad_request");
    assert_eq!(app.raw(with_match("\"2\"")).await.status, 201);

    app.get(&format!("{path}/9"), Some(&member.token)).await.expect_problem(404, "not_found");
    app.revise(essay_id, &owner, &[" ".to_owned()], json!({})).await.expect_problem(422, "validation_failed");
    app.revise(essay_id, &owner, &blocks, json!({"role": "x"}))
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn a_thread_started_on_a_stale_revision_is_refused() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let (sid, essay_id) = (reading.session_id.as_str(), reading.essay["id"].as_str().unwrap());
    let mut blocks = fixture_blocks();
    let dropped = reading.paragraph_id(12);
    blocks.remove(12);
    app.revise(essay_id, &owner, &blocks, json!({})).await.expect(201);

    let path = format!("/sessions/{sid}/threads");
    let start = |paragraph: String, revision: i64| json!({"paragraph_id": paragraph, "body": "hello", "essay_revision": revision});
    app.post(&path, Some(&owner.token), start(reading.paragraph_id(0), 1))
        .await
        .expect_problem(409, "essay_revised");
    app.post(&path, Some(&owner.token), start(reading.paragraph_id(0), 2)).await.expect(201);
    // A retired paragraph takes no new threads, whatever revision is named.
    app.post(&path, Some(&owner.token), json!({"paragraph_id": dropped, "body": "late"}))
        .await
        .expect_problem(422, "validation_failed");
    let essay = app.get(&format!("/essays/{essay_id}"), None).await.expect(200);
    assert_eq!(essay["revision"], 2);
    assert!(essay["paragraphs"].as_array().unwrap().iter().all(|p| p["id"] != dropped.as_str()));

    // A revision may change the format: the first line becomes a heading, same id.
    let mut markdown = fixture_blocks();
    markdown.remove(12);
    markdown[0] = format!("# {}", markdown[0]);
    let report = app.revise(essay_id, &owner, &markdown, json!({"format": "markdown"})).await.expect(201);
    assert_eq!(report["paragraphs"][0]["kind"], "heading");
    assert_eq!(report["paragraphs"][0]["id"], reading.paragraph_id(0).as_str());
    let essay = app.get(&format!("/essays/{essay_id}"), None).await.expect(200);
    assert_eq!((essay["format"].clone(), essay["revision"].clone()), (json!("markdown"), json!(3)));
}
