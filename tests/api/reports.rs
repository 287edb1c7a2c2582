//! Reports: members flag comments, moderators work the queue; reporters are
//! never revealed to anyone but moderators.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{cast, check_cell, id, Cast, MatrixRow, Who::*, MODERATOR_ROUTE};
use crate::helpers::{spawn_app, TestApp};

/// Reporting is for members (any role); a banned one cannot.
const REPORT_ROUTE: [MatrixRow; 8] = [
    (Anonymous, (401, "missing_token"), (401, "missing_token")),
    (Outsider, (403, "not_a_member"), (404, "not_found")),
    (OtherMod, (403, "not_a_member"), (404, "not_found")),
    (BannedMod, (403, "banned"), (404, "not_found")),
    (Member, (201, ""), (201, "")),
    (Moderator, (201, ""), (201, "")),
    (Organiser, (201, ""), (201, "")),
    (Owner, (201, ""), (201, "")),
];

/// A comment by the cast's organiser in a fresh thread; returns (thread, comment) ids.
async fn reported_comment(app: &TestApp, cast: &Cast, text: &str) -> (String, String) {
    let para = cast.reading.paragraph_id(9);
    let thread = app.start_thread(cast.session(), &cast.organiser, &para, "opening").await;
    let t = id(&thread);
    let c = id(&app.comment(&t, &cast.organiser, None, text).await);
    (t, c)
}

async fn report(app: &TestApp, comment: &str, token: &str, reason: &str) -> Value {
    app.post(&format!("/comments/{comment}/reports"), Some(token), json!({"reason": reason}))
        .await
        .expect(201)
}

#[tokio::test]
async fn report_creation_role_matrix() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let (_, c) = reported_comment(&app, &cast, "flag me").await;
        let path = format!("/comments/{c}/reports");
        for row in &REPORT_ROUTE {
            let res = check_cell(
                &app,
                &cast,
                row.0,
                Method::POST,
                &path,
                Some(json!({"reason": format!("{:?} thinks so", row.0)})),
                cast.pick(row),
            )
            .await;
            if res.status == 201 {
                let reporter = cast.user(row.0).unwrap();
                assert_eq!(res.body["reporter"]["id"], reporter.id.as_str());
                assert_eq!(res.body["status"], "open");
                assert_eq!(res.body["comment_id"], c.as_str());
                assert!(res
                    .header("location")
                    .is_some_and(|l| l.ends_with(res.body["id"].as_str().unwrap())));
            }
        }
        let list =
            app.get(&format!("/groups/{}/reports", cast.group()), Some(&cast.owner.token)).await.expect(200);
        assert_eq!(list["items"].as_array().unwrap().len(), 4, "only the four members' reports landed");
    }
}

#[tokio::test]
async fn report_queue_and_resolution_role_matrix() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let g = cast.group().to_owned();
        let mut reports = Vec::new();
        for i in 0..4 {
            let (_, c) = reported_comment(&app, &cast, &format!("comment {i}")).await;
            reports.push(id(&report(&app, &c, &cast.member.token, "rude").await));
        }
        // The queue, one report, and resolving: the refused try the first
        // report; each allowed caller resolves a report of its own.
        let mut next = 1;
        for row in &MODERATOR_ROUTE {
            let expected = cast.pick(row);
            check_cell(&app, &cast, row.0, Method::GET, &format!("/groups/{g}/reports"), None, expected)
                .await;
            check_cell(&app, &cast, row.0, Method::GET, &format!("/reports/{}", reports[0]), None, expected)
                .await;
            let target = if expected.0 == 200 {
                next += 1;
                &reports[next - 1]
            } else {
                &reports[0]
            };
            let res = check_cell(
                &app,
                &cast,
                row.0,
                Method::POST,
                &format!("/reports/{target}/resolve"),
                Some(json!({"outcome": "dismissed", "note": "fine"})),
                expected,
            )
            .await;
            if res.status == 200 {
                assert_eq!(res.body["status"], "resolved");
                assert_eq!(res.body["resolved_by"], cast.user(row.0).unwrap().id.as_str());
            }
        }
        // The refused left the first report open.
        let first = app.get(&format!("/reports/{}", reports[0]), Some(&cast.owner.token)).await.expect(200);
        assert_eq!(first["status"], "open");
        let resolved = app
            .get(&format!("/groups/{g}/reports?status=resolved"), Some(&cast.owner.token))
            .await
            .expect(200);
        assert_eq!(resolved["items"].as_array().unwrap().len(), 3);
    }
}

#[tokio::test]
async fn reports_flow_from_member_to_resolution() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let g = cast.group().to_owned();
    let (t, c) = reported_comment(&app, &cast, "you are all wrong").await;
    let member = cast.member.token.as_str();
    let path = format!("/comments/{c}/reports");

    // Validation.
    let long = "r".repeat(1001);
    for bad in [
        json!({"reason": ""}),
        json!({"reason": "   "}),
        json!({"reason": long}),
        json!({}),
        json!({"reason": "x", "status": "resolved"}),
    ] {
        app.post(&path, Some(member), bad).await.expect_problem(422, "validation_failed");
    }
    let first = report(&app, &c, member, &"r".repeat(1000)).await;
    // One open report per reporter and comment.
    app.post(&path, Some(member), json!({"reason": "again"})).await.expect_problem(409, "already_reported");
    // Another member may report the same comment.
    let second = report(&app, &c, &cast.moderator.token, "agreed").await;

    let owner = Some(cast.owner.token.as_str());
    let queue = app.get(&format!("/groups/{g}/reports"), owner).await.expect(200);
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.iter().map(id).collect::<Vec<_>>(), [id(&first), id(&second)], "oldest first");
    assert_eq!(items[0]["reporter"]["username"], cast.member.username);
    assert_eq!(items[0]["comment"]["id"], c.as_str());
    assert_eq!(items[0]["comment"]["body"], "you are all wrong");
    assert_eq!(items[0]["comment"]["author"]["id"], cast.organiser.id.as_str());
    // Unknown status filter is a malformed query.
    assert_eq!(app.get(&format!("/groups/{g}/reports?status=pending"), owner).await.status, 400);

    // Resolve: actioned with a note. Resolving hides nothing by itself.
    let resolved = app
        .post(
            &format!("/reports/{}/resolve", id(&first)),
            owner,
            json!({"outcome": "actioned", "note": "talked to them"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["outcome"], "actioned");
    assert_eq!(resolved["note"], "talked to them");
    assert!(resolved["resolved_at"].is_string());
    let comments = app.get(&format!("/threads/{t}/comments"), Some(member)).await.expect(200);
    let shown = comments["items"].as_array().unwrap().iter().find(|x| x["id"] == c.as_str()).unwrap().clone();
    assert_eq!(shown["hidden"], false);
    assert_eq!(shown["body"], "you are all wrong");
    app.post(&format!("/reports/{}/resolve", id(&first)), owner, json!({"outcome": "dismissed"}))
        .await
        .expect_problem(409, "already_resolved");
    app.post(&format!("/reports/{}/resolve", id(&second)), owner, json!({"outcome": "ignored"}))
        .await
        .expect_problem(422, "validation_failed");
    app.post(
        &format!("/reports/{}/resolve", id(&second)),
        owner,
        json!({"outcome": "dismissed", "note": "n".repeat(2001)}),
    )
    .await
    .expect_problem(422, "validation_failed");

    let open = app.get(&format!("/groups/{g}/reports?status=open"), owner).await.expect(200);
    assert_eq!(open["items"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), [id(&second)]);
    let done = app.get(&format!("/groups/{g}/reports?status=resolved"), owner).await.expect(200);
    assert_eq!(done["items"].as_array().unwrap().iter().map(id).collect::<Vec<_>>(), [id(&first)]);
    // Once the first is resolved, its reporter may report again.
    report(&app, &c, member, "still rude").await;

    // One resolve_report row, with the outcome and note as its reason.
    let log = app.get(&format!("/groups/{g}/modlog?action=resolve_report"), owner).await.expect(200);
    let log = log["items"].as_array().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["target_type"], "report");
    assert_eq!(log[0]["target_id"], first["id"]);
    assert_eq!(log[0]["reason"], "actioned: talked to them");
    assert_eq!(log[0]["actor"]["id"], cast.owner.id.as_str());
}

#[tokio::test]
async fn reporters_are_never_revealed_to_members_or_the_reported_author() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let g = cast.group().to_owned();
        // The member's comment is reported by the moderator.
        let para = cast.reading.paragraph_id(3);
        let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
        let t = id(&thread);
        let c = id(&app.comment(&t, &cast.member, None, "reported words").await);
        let r = id(&report(&app, &c, &cast.moderator.token, "by the moderator").await);
        let author = Some(cast.member.token.as_str());
        app.get(&format!("/groups/{g}/reports"), author).await.expect_problem(403, "insufficient_role");
        app.get(&format!("/reports/{r}"), author).await.expect_problem(403, "insufficient_role");
        app.post(&format!("/reports/{r}/resolve"), author, json!({"outcome": "dismissed"}))
            .await
            .expect_problem(403, "insufficient_role");
        // Nothing the author can read names the reporter.
        for path in [format!("/threads/{t}/comments"), format!("/threads/{t}"), format!("/groups/{g}/modlog")]
        {
            let res = app.get(&path, author).await;
            assert!(!res.body.to_string().contains(&cast.moderator.username), "{path}: {}", res.body);
            assert!(!res.body.to_string().contains("by the moderator"), "{path}: {}", res.body);
        }
        // Outsiders of a private group learn nothing, not even that reports exist.
        let outsider = Some(cast.outsider.token.as_str());
        let hidden_status = if visibility == "private" { 404 } else { 403 };
        assert_eq!(app.get(&format!("/groups/{g}/reports"), outsider).await.status, hidden_status);
        assert_eq!(app.get(&format!("/reports/{r}"), outsider).await.status, hidden_status);
        assert_eq!(
            app.post(&format!("/reports/{r}/resolve"), outsider, json!({"outcome": "dismissed"}))
                .await
                .status,
            hidden_status
        );
        if visibility == "private" {
            // Same answer as for a report that does not exist.
            let none = uuid::Uuid::new_v4();
            app.get(&format!("/reports/{none}"), outsider).await.expect_problem(404, "not_found");
            app.get(&format!("/reports/{r}"), outsider).await.expect_problem(404, "not_found");
        }
    }
}

#[tokio::test]
async fn content_the_reporter_cannot_see_cannot_be_reported() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    // The organiser wrote the comments: only a higher role may hide them.
    let moderator = Some(cast.owner.token.as_str());
    let member = cast.member.token.as_str();
    // A comment in a hidden thread.
    let (t, c) = reported_comment(&app, &cast, "in a thread about to vanish").await;
    app.post(&format!("/threads/{t}/moderation"), moderator, json!({"action": "hide"})).await.expect(200);
    app.post(&format!("/comments/{c}/reports"), Some(member), json!({"reason": "x"}))
        .await
        .expect_problem(404, "not_found");
    // A hidden comment.
    let (_, c2) = reported_comment(&app, &cast, "hidden already").await;
    app.post(&format!("/comments/{c2}/moderation"), moderator, json!({"action": "hide"})).await.expect(200);
    app.post(&format!("/comments/{c2}/reports"), Some(member), json!({"reason": "x"}))
        .await
        .expect_problem(404, "not_found");
    // A comment that does not exist.
    let none = uuid::Uuid::new_v4();
    app.post(&format!("/comments/{none}/reports"), Some(member), json!({"reason": "x"}))
        .await
        .expect_problem(404, "not_found");
    // A deleted one is a conflict: it is a tombstone with nothing to report.
    let (_, c3) = reported_comment(&app, &cast, "soon gone").await;
    app.delete(&format!("/comments/{c3}"), Some(&cast.organiser.token)).await.expect(204);
    app.post(&format!("/comments/{c3}/reports"), Some(member), json!({"reason": "x"}))
        .await
        .expect_problem(409, "comment_deleted");
    // Nothing was filed.
    let queue = app.get(&format!("/groups/{}/reports", cast.group()), moderator).await.expect(200);
    assert_eq!(queue["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn report_queue_pages_oldest_first() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let (_, c) = reported_comment(&app, &cast, "popular target").await;
    let mut expected = Vec::new();
    for who in [&cast.member, &cast.moderator, &cast.organiser, &cast.owner] {
        expected.push(id(&report(&app, &c, &who.token, "no").await));
    }
    let (_, c2) = reported_comment(&app, &cast, "another").await;
    expected.push(id(&report(&app, &c2, &cast.member.token, "no").await));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/groups/{}/reports?limit=2&cursor={cur}", cast.group()),
            None => format!("/groups/{}/reports?limit=2", cast.group()),
        };
        let page = app.get(&path, Some(&cast.moderator.token)).await.expect(200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(id));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    app.get(&format!("/groups/{}/reports?limit=101", cast.group()), Some(&cast.moderator.token))
        .await
        .expect_problem(422, "validation_failed");
}
