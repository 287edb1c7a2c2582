//! GET /sessions/{id}/report: the organiser's numbers equal `/counts` under
//! hiding and deleting, who took part, CSV, ETag/304, and who may read it.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{cast, check_cell, spawn_app, Cell, TestApp, Who};

fn by_paragraph<'a>(list: &'a Value, paragraph_id: &str) -> &'a Value {
    list.as_array()
        .expect("a list")
        .iter()
        .find(|p| p["paragraph_id"] == paragraph_id)
        .unwrap_or_else(|| panic!("paragraph {paragraph_id} in {list}"))
}

async fn hide_comment(app: &TestApp, token: &str, comment: &Value) {
    app.post(
        &format!("/comments/{}/moderation", comment["id"].as_str().unwrap()),
        Some(token),
        json!({"action": "hide", "reason": "off topic"}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn the_report_counts_what_counts_counts_and_who_took_part() {
    let app = spawn_app().await;
    let owner = app.register("rep_owner").await;
    let reading = app.reading(&owner, "public").await;
    let (group, session) = (&reading.group_id, &reading.session_id);
    let ana = app.register("rep_ana").await;
    let ben = app.register("rep_ben").await;
    let cy = app.register("rep_cy").await;
    for u in [&ana, &ben, &cy] {
        app.add_member(group, &owner, u, "member").await;
    }
    let (p0, p1, p2) = (reading.paragraph_id(0), reading.paragraph_id(1), reading.paragraph_id(2));

    // Paragraph 0: two discussions that count, one hidden thread.
    let t1 = app.start_thread(session, &ana, &p0, "The opening line carries the argument.").await;
    let t1_id = t1["id"].as_str().unwrap();
    let hidden_reply = app.comment(t1_id, &ben, None, "A reply a moderator will hide.").await;
    app.comment(t1_id, &ana, None, "And a follow-up that stays.").await;
    hide_comment(&app, &owner.token, &hidden_reply).await;
    let t2 = app.start_thread(session, &ben, &p0, "Does the second clause contradict it?").await;
    let deleted = app.comment(t2["id"].as_str().unwrap(), &cy, None, "I take this back.").await;
    app.delete(&format!("/comments/{}", deleted["id"].as_str().unwrap()), Some(&cy.token)).await.expect(204);
    let t3 = app.start_thread(session, &cy, &p0, "A thread that will be hidden.").await;
    app.comment(t3["id"].as_str().unwrap(), &ana, None, "Gone with its thread.").await;
    app.post(
        &format!("/threads/{}/moderation", t3["id"].as_str().unwrap()),
        Some(&owner.token),
        json!({"action": "hide"}),
    )
    .await
    .expect(200);

    // Paragraph 1: an open question and an answered one.
    let open = app.ask(session, &ben, &p1, "What does the author mean by leisure?").await;
    app.comment(open["id"].as_str().unwrap(), &ana, None, "Perhaps time that is not sold.").await;
    let answered = app.ask(session, &ana, &p1, "Which year was this written?").await;
    let answer = app.comment(answered["id"].as_str().unwrap(), &ben, None, "1932, I believe.").await;
    app.accept(answered["id"].as_str().unwrap(), answer["id"].as_str().unwrap(), Some(&ana.token))
        .await
        .expect(200);

    let report = app.get(&format!("/sessions/{session}/report"), Some(&owner.token)).await.expect(200);
    let counts = app.get(&format!("/sessions/{session}/counts"), Some(&owner.token)).await.expect(200);

    // Every paragraph's numbers are /counts' numbers.
    let paragraphs = report["paragraphs"].as_array().unwrap();
    assert_eq!(paragraphs.len(), counts["paragraphs"].as_array().unwrap().len());
    for (i, p) in paragraphs.iter().enumerate() {
        assert_eq!(p["position"], i);
        let c = by_paragraph(&counts["paragraphs"], p["paragraph_id"].as_str().unwrap());
        for field in ["thread_count", "comment_count", "open_question_count"] {
            assert_eq!(p[field], c[field], "{field} of paragraph {i}");
        }
    }
    let r0 = by_paragraph(&report["paragraphs"], &p0);
    assert_eq!((r0["thread_count"].as_i64(), r0["comment_count"].as_i64()), (Some(2), Some(3)));
    assert_eq!(r0["participant_count"], 2, "the hidden thread's and deleted comment's author is not counted");
    assert_eq!(r0["question_count"], 0);
    let r1 = by_paragraph(&report["paragraphs"], &p1);
    assert_eq!((r1["thread_count"].as_i64(), r1["comment_count"].as_i64()), (Some(2), Some(4)));
    assert_eq!((r1["question_count"].as_i64(), r1["open_question_count"].as_i64()), (Some(2), Some(1)));
    assert_eq!(r1["participant_count"], 2);
    let r2 = by_paragraph(&report["paragraphs"], &p2);
    assert_eq!(r2["participant_count"], 0);
    let excerpt = r2["excerpt"].as_str().unwrap();
    assert!(!excerpt.is_empty() && excerpt.chars().count() <= 161);
    assert!(reading.paragraph_text(2).starts_with(excerpt.trim_end_matches('…')), "{excerpt}");

    assert_eq!(
        report["totals"],
        json!({"threads": 4, "comments": 7, "questions": 2, "open_questions": 1, "participants": 2})
    );
    assert_eq!(report["session"]["id"], session.as_str());
    let open_ids: Vec<&str> =
        report["open_questions"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(open_ids, [open["id"].as_str().unwrap()]);

    // Ana: her discussion and question, her opening comments, a follow-up
    // and a reply; Ben: his discussion and question, their openings and his answer.
    let people = report["participation"].as_array().unwrap();
    assert_eq!(people.len(), 2, "{people:?}");
    assert_eq!(people[0]["user"]["username"], "rep_ana");
    assert_eq!((people[0]["threads"].as_i64(), people[0]["comments"].as_i64()), (Some(2), Some(4)));
    assert_eq!(people[1]["user"]["username"], "rep_ben");
    assert_eq!((people[1]["threads"].as_i64(), people[1]["comments"].as_i64()), (Some(2), Some(3)));
    assert!(people[0]["last_active_at"].as_str().is_some());
    let hourly: i64 =
        report["activity"].as_array().unwrap().iter().map(|h| h["comments"].as_i64().unwrap()).sum();
    assert_eq!(hourly, 7, "activity adds up to the counted comments");
    assert!(report["activity"][0]["hour"].as_str().unwrap().ends_with(":00:00Z"));

    // Restoring the hidden thread brings its numbers back, in both views.
    app.post(
        &format!("/threads/{}/moderation", t3["id"].as_str().unwrap()),
        Some(&owner.token),
        json!({"action": "restore"}),
    )
    .await
    .expect(200);
    let report = app.get(&format!("/sessions/{session}/report"), Some(&owner.token)).await.expect(200);
    let counts = app.get(&format!("/sessions/{session}/counts"), Some(&owner.token)).await.expect(200);
    let r0 = by_paragraph(&report["paragraphs"], &p0);
    let c0 = by_paragraph(&counts["paragraphs"], &p0);
    assert_eq!((&r0["thread_count"], &r0["comment_count"]), (&c0["thread_count"], &c0["comment_count"]));
    assert_eq!(r0["thread_count"], 3);
    assert_eq!(r0["participant_count"], 3);
    assert_eq!(report["totals"]["participants"], 3);
}

#[tokio::test]
async fn csv_has_one_properly_quoted_row_per_paragraph() {
    let app = spawn_app().await;
    let owner = app.register("csv_owner").await;
    let group = app.create_group(&owner, "private").await;
    let body = "Plain first paragraph.\n\nShe said \"no, not yet\"; then, quietly, left.\n\nÜber café, naïve — fine.";
    let essay = app.import_essay(&group, &owner, body).await;
    let session = app.open_session(&group, &owner, essay["id"].as_str().unwrap()).await;
    let second = essay["paragraphs"][1]["id"].as_str().unwrap();
    app.start_thread(&session, &owner, second, "Quoted speech, with commas.").await;

    let path = app.url(&format!("/sessions/{session}/report"));
    let res = app.raw(app.client.get(&path).bearer_auth(&owner.token).header("Accept", "text/csv")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = res.body.as_str().expect("a text body").to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        header,
        [
            "paragraph_id",
            "position",
            "excerpt",
            "thread_count",
            "comment_count",
            "question_count",
            "open_question_count",
            "participant_count"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a well-formed row")).collect();
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(&row[0], essay["paragraphs"][i]["id"].as_str().unwrap());
        assert_eq!(&row[1], i.to_string());
        assert_eq!(&row[2], essay["paragraphs"][i]["text"].as_str().unwrap());
    }
    assert!(text.contains("\"She said \"\"no, not yet\"\"; then, quietly, left.\""), "{text}");
    assert_eq!((&rows[1][3], &rows[1][4], &rows[1][7]), ("1", "1", "1"));

    // JSON is still the default, and an explicit JSON preference wins.
    let res = app
        .raw(app.client.get(&path).bearer_auth(&owner.token).header("Accept", "application/json, text/csv"))
        .await;
    assert!(res.header("content-type").unwrap().starts_with("application/json"));
    assert_eq!(res.body["paragraphs"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn the_report_has_a_tag_that_moves_with_what_it_shows() {
    let app = spawn_app().await;
    let owner = app.register("tag_owner").await;
    let reading = app.reading(&owner, "public").await;
    let path = format!("/sessions/{}/report", reading.session_id);
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "First.").await;

    let first = app.get(&path, Some(&owner.token)).await;
    assert_eq!(first.status, 200);
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert_eq!(first.header("cache-control"), Some("private, no-cache"));
    let again = app.revalidate(&path, Some(&owner.token), &tag).await;
    assert_eq!(again.status, 304);
    assert_eq!(again.body, Value::Null);

    // The access check comes first: a member holding the tag is refused.
    let member = app.register("tag_member").await;
    app.add_member(&reading.group_id, &owner, &member, "member").await;
    app.revalidate(&path, Some(&member.token), &tag).await.expect_problem(403, "insufficient_role");

    // A comment changes it.
    app.comment(thread["id"].as_str().unwrap(), &owner, None, "Second.").await;
    let after = app.revalidate(&path, Some(&owner.token), &tag).await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["totals"]["comments"], 2);
    let tag = after.header("etag").unwrap().to_owned();
    assert_eq!(app.revalidate(&path, Some(&owner.token), &tag).await.status, 304);

    // So does a participant's new display name (the report shows it).
    app.patch("/me", Some(&owner.token), json!({"display_name": "Renamed Owner"})).await.expect(200);
    let renamed = app.revalidate(&path, Some(&owner.token), &tag).await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["participation"][0]["user"]["display_name"], "Renamed Owner");

    // The CSV has tags of its own.
    let url = app.url(&path);
    let csv = app.raw(app.client.get(&url).bearer_auth(&owner.token).header("Accept", "text/csv")).await;
    let csv_tag = csv.header("etag").unwrap().to_owned();
    assert_ne!(Some(csv_tag.as_str()), renamed.header("etag"));
    let csv_again = app
        .raw(
            app.client
                .get(&url)
                .bearer_auth(&owner.token)
                .header("Accept", "text/csv")
                .header("If-None-Match", &csv_tag),
        )
        .await;
    assert_eq!(csv_again.status, 304);
    let json_with_csv_tag = app.revalidate(&path, Some(&owner.token), &csv_tag).await;
    assert_eq!(json_with_csv_tag.status, 200, "a CSV tag does not stand for the JSON");
    assert!(json_with_csv_tag.body.is_object());
}

/// Organiser-only: members of lower roles are 403, and whoever may not see
/// a private group gets 404.
const ORGANISER_ROUTE: [(Who, Cell, Cell); 8] = [
    (Who::Anonymous, (401, "missing_token"), (404, "not_found")),
    (Who::Outsider, (403, "insufficient_role"), (404, "not_found")),
    (Who::Member, (403, "insufficient_role"), (403, "insufficient_role")),
    (Who::OtherMod, (403, "insufficient_role"), (404, "not_found")),
    (Who::BannedMod, (403, "banned"), (404, "not_found")),
    (Who::Moderator, (403, "insufficient_role"), (403, "insufficient_role")),
    (Who::Organiser, (200, ""), (200, "")),
    (Who::Owner, (200, ""), (200, "")),
];

#[tokio::test]
async fn only_organisers_read_the_report() {
    let app = spawn_app().await;
    for (visibility, column) in [("public", 0), ("private", 1)] {
        let cast = cast(&app, visibility).await;
        let path = format!("/sessions/{}/report", cast.session());
        for (who, public, private) in ORGANISER_ROUTE {
            let cell = if column == 0 { public } else { private };
            check_cell(&app, &cast, who, Method::GET, &path, None, cell).await;
        }
    }
    let owner = app.register("nobody_owner").await;
    let missing = uuid::Uuid::now_v7();
    app.get(&format!("/sessions/{missing}/report"), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
    let bad = app.get("/sessions/not-a-uuid/report", Some(&owner.token)).await;
    assert!((400..500).contains(&bad.status), "{}", bad.status);
}
