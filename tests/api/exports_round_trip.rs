//! A personal export from request to unpacked zip: every file holds the
//! account's own data, the annotations are the session export's model, and
//! other people's writing appears by IRI only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    export_settings, id, json_of, must_assertions, spawn_app_with, unzip, wpt_annotation_model, TestApp,
};

const BASE: &str = "https://pilcrow.example.org";
/// Words only other people wrote: none may appear anywhere in the archive.
const OTHERS_REPLY: &str = "A reply by someone else: quokka lanterns at dusk";
const OTHERS_THREAD: &str = "Someone else's thread about wombat harbours";
const REPORT_ABOUT_HER: &str = "Reported by another: marmoset grievance";

async fn root_of(app: &TestApp, thread: &Value) -> Value {
    app.get(&format!("/threads/{}/comments", id(thread)), None).await.expect(200)["items"][0].clone()
}

#[tokio::test]
async fn an_export_holds_the_accounts_own_data_and_others_by_iri_only() {
    let app = spawn_app_with(|s| {
        export_settings(s);
        s.server.public_base_url = format!("{BASE}/");
        // Several batches even for this small account.
        s.exports.batch_rows = 2;
    })
    .await;
    let owner = app.register("organiser").await;
    let her = app.register("rosalind").await;
    let other = app.register("bartholomew").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &her, "member").await;
    app.add_member(&reading.group_id, &owner, &other, "member").await;
    let sid = reading.session_id.as_str();

    // Her writing: a quoted thread, a titled thread, replies in her own and
    // in another's thread, and one she deleted.
    let quoted = app
        .start_quoted(sid, &her, &reading.paragraph_id(4), &reading.paragraph_text(4), "listener’s ear")
        .await;
    let quoted_root = root_of(&app, &quoted).await;
    let titled = app
        .post(
            &format!("/sessions/{sid}/threads"),
            Some(&her.token),
            json!({"paragraph_id": reading.paragraph_id(6), "title": "Margins", "body": "Her own margin note"}),
        )
        .await
        .expect(201);
    let others_reply = app.comment(&id(&quoted), &other, Some(&id(&quoted_root)), OTHERS_REPLY).await;
    let her_answer =
        app.comment(&id(&quoted), &her, Some(&id(&others_reply)), "Her answer to that reply").await;
    let others_thread = app.start_thread(sid, &other, &reading.paragraph_id(2), OTHERS_THREAD).await;
    let others_root = root_of(&app, &others_thread).await;
    let her_visit =
        app.comment(&id(&others_thread), &her, Some(&id(&others_root)), "Her word in another's thread").await;
    let gone = app.comment(&id(&titled), &her, None, "Written and then deleted").await;
    app.delete(&format!("/comments/{}", id(&gone)), Some(&her.token)).await.expect(204);

    // Her settings and marks.
    let question = app.ask(sid, &owner, &reading.paragraph_id(8), "Who is the narrator?").await;
    assert!(app.vote(&id(&question), Some(&her.token)).await.status < 300);
    app.mark_read(sid, &her, &id(&others_thread), &id(&others_root)).await;
    let watched = app
        .put(&format!("/threads/{}/watch", id(&titled)), Some(&her.token), json!({"level": "watching"}))
        .await;
    assert!(watched.status < 300, "{}", watched.body);
    app.patch("/me/notification-settings", Some(&her.token), json!({"email": "digest", "digest": "weekly"}))
        .await
        .expect(200);
    app.call(Method::PUT, &format!("/me/blocks/{}", other.id), Some(&her.token), None).await.expect(204);
    app.post(
        &format!("/comments/{}/reports", id(&others_reply)),
        Some(&her.token),
        json!({"reason": "Her report of an unkind reply"}),
    )
    .await
    .expect(201);
    // A report about her is not hers to take away.
    app.post(
        &format!("/comments/{}/reports", id(&her_answer)),
        Some(&other.token),
        json!({"reason": REPORT_ABOUT_HER}),
    )
    .await
    .expect(201);

    let export_id = app.request_export(&her).await;
    let done = app.export_done(&her, &export_id, 30).await;
    assert_eq!(done["status"], "ready", "{done}");
    let url = done["download_url"].as_str().expect("a download URL");
    assert!(url.starts_with(&format!("{BASE}/api/v1/exports/{export_id}/archive?signature=")), "{url}");
    let expires: chrono::DateTime<chrono::Utc> = done["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires - chrono::Utc::now();
    assert!(left > chrono::Duration::hours(23) && left <= chrono::Duration::hours(24), "{left}");

    let (status, headers, bytes) = app.download(url).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"pilcrow-export-") && disposition.ends_with(".zip\""),
        "{disposition}"
    );
    assert_eq!(headers["content-length"].to_str().unwrap(), bytes.len().to_string());
    let files = unzip(&bytes);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "annotations.jsonld",
            "blocks.json",
            "memberships.json",
            "notification-settings.json",
            "profile.json",
            "reads.json",
            "reports.json",
            "votes.json",
            "watches.json"
        ]
    );
    let everything = files.values().cloned().collect::<Vec<_>>().join("\n");
    for words in [OTHERS_REPLY, OTHERS_THREAD, REPORT_ABOUT_HER, "Written and then deleted", "bartholomew"] {
        assert!(!everything.contains(words), "the archive holds {words:?}");
    }

    let profile = json_of(&files, "profile.json");
    assert_eq!(profile["id"], her.id.as_str());
    assert_eq!(profile["username"], "rosalind");
    assert_eq!(profile["email"], her.email.as_str());
    assert!(profile.get("password_hash").is_none() && !everything.contains("argon2"));

    let memberships = json_of(&files, "memberships.json");
    assert_eq!(memberships.as_array().unwrap().len(), 1, "{memberships}");
    assert_eq!(memberships[0]["group"]["id"], reading.group_id.as_str());
    assert_eq!(memberships[0]["role"], "member");

    let votes = json_of(&files, "votes.json");
    assert_eq!(
        votes,
        json!([{"thread": format!("{BASE}/api/v1/threads/{}", id(&question)),
        "group_id": reading.group_id, "created_at": votes[0]["created_at"]}])
    );

    let reads = json_of(&files, "reads.json");
    let read_threads: Vec<&Value> = reads.as_array().unwrap().iter().map(|r| &r["thread"]).collect();
    assert!(
        read_threads.contains(&&json!(format!("{BASE}/api/v1/threads/{}", id(&others_thread)))),
        "{reads}"
    );

    let watches = json_of(&files, "watches.json");
    let watch = watches
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["scope"] == "thread" && w["scope_id"] == id(&titled).as_str())
        .unwrap_or_else(|| panic!("the watch is exported: {watches}"));
    assert_eq!(watch["level"], "watching");
    assert_eq!(watch["iri"], format!("{BASE}/api/v1/threads/{}", id(&titled)));

    let settings = json_of(&files, "notification-settings.json");
    assert_eq!((settings["email"].as_str(), settings["digest"].as_str()), (Some("digest"), Some("weekly")));

    let blocks = json_of(&files, "blocks.json");
    assert_eq!(blocks.as_array().unwrap().len(), 1);
    assert_eq!(blocks[0]["user"], format!("{BASE}/api/v1/users/{}", other.id));

    let reports = json_of(&files, "reports.json");
    assert_eq!(reports.as_array().unwrap().len(), 1, "only the report she filed: {reports}");
    assert_eq!(reports[0]["reason"], "Her report of an unkind reply");
    assert_eq!(reports[0]["comment"], format!("{BASE}/api/v1/annotations/{}", id(&others_reply)));

    let collection = json_of(&files, "annotations.jsonld");
    assert_eq!(collection["type"], "AnnotationCollection");
    assert_eq!(collection["@context"], "http://www.w3.org/ns/anno.jsonld");
    let page = &collection["first"];
    let items = page["items"].as_array().unwrap();
    let titled_root = root_of(&app, &titled).await;
    let mine = [&quoted_root, &titled_root, &her_answer, &her_visit];
    assert_eq!(items.len(), mine.len(), "her four comments, the deleted one left out");
    assert_eq!(collection["total"], 4);
    assert_eq!(page["partOf"]["total"], 4);
    for comment in mine {
        let iri = format!("{BASE}/api/v1/annotations/{}", id(comment));
        let item = items.iter().find(|a| a["id"] == iri).unwrap_or_else(|| panic!("{iri} exported"));
        assert_eq!(item["creator"]["nickname"], "rosalind");
        // The same model as the session export: the very same annotation.
        let served = app.get(&format!("/annotations/{}", id(comment)), None).await.expect(200);
        assert_eq!(item, &served);
    }
    let quoted_item = items.iter().find(|a| a["id"].as_str().unwrap().ends_with(&id(&quoted_root))).unwrap();
    let selector = &quoted_item["target"]["selector"][0];
    assert_eq!(selector["type"], "FragmentSelector");
    assert_eq!(selector["value"], format!("p-{}", reading.paragraph_id(4)));
    assert_eq!(selector["refinedBy"]["type"], "TextQuoteSelector");
    assert_eq!(selector["refinedBy"]["exact"], "listener’s ear");
    assert_eq!(quoted_item["target"]["selector"][1]["refinedBy"]["type"], "TextPositionSelector");
    // Others' comments she answered: their IRIs, never their words.
    let answer = items.iter().find(|a| a["id"].as_str().unwrap().ends_with(&id(&her_answer))).unwrap();
    assert_eq!(answer["target"], format!("{BASE}/api/v1/annotations/{}", id(&others_reply)));
    let visit = items.iter().find(|a| a["id"].as_str().unwrap().ends_with(&id(&her_visit))).unwrap();
    assert_eq!(visit["target"], format!("{BASE}/api/v1/annotations/{}", id(&others_root)));

    let Some(dir) = wpt_annotation_model() else { return };
    let musts = must_assertions(&dir, "annotations/annotationMusts.test");
    for item in items {
        for assertion in &musts {
            assertion.check(item);
        }
    }
    for assertion in must_assertions(&dir, "collections/collectionMusts.test") {
        assertion.check(&collection);
    }
    let mut standalone = page.clone();
    standalone["@context"] = json!("http://www.w3.org/ns/anno.jsonld");
    for assertion in must_assertions(&dir, "collections/pages/pageMusts.test") {
        assertion.check(&standalone);
    }
    eprintln!("checked {} exported annotations against {} MUST assertions", items.len(), musts.len());
}
