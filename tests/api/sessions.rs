use serde_json::json;

use crate::helpers::{fixture_blocks, spawn_app};

#[tokio::test]
async fn counts_list_every_paragraph_with_zeros() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let counts = app.get(&format!("/sessions/{}/counts", reading.session_id), None).await.expect(200);
    assert_eq!(counts["session_id"], reading.session_id.as_str());
    let paragraphs = counts["paragraphs"].as_array().unwrap();
    assert_eq!(paragraphs.len(), fixture_blocks().len());
    assert!(paragraphs.iter().all(|p| p["thread_count"] == 0 && p["comment_count"] == 0));
    assert_eq!(paragraphs[3]["paragraph_id"], reading.paragraph_id(3).as_str());
    let with_text = app.get(&format!("/sessions/{}/paragraphs", reading.session_id), None).await.expect(200);
    assert_eq!(with_text["paragraphs"][3]["text"], reading.paragraph_text(3).as_str());
}

use serde_json::Value;

use crate::helpers::{TestApp, TestUser};

async fn create(app: &TestApp, group: &str, by: &TestUser, body: Value) -> crate::helpers::Resp {
    app.post(&format!("/groups/{group}/sessions"), Some(&by.token), body).await
}

#[tokio::test]
async fn sessions_need_an_essay_of_their_group_and_a_sane_window() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let group = &reading.group_id;
    let essay = reading.essay["id"].as_str().unwrap();
    let other = app.reading(&owner, "public").await;
    let foreign_essay = other.essay["id"].as_str().unwrap();

    let created = create(
        &app,
        group,
        &owner,
        json!({"essay_id": essay, "title": " Week 2 ", "starts_at": "2026-03-01T18:00:00+02:00", "ends_at": "2026-03-08T18:00:00Z"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let session = created.body;
    assert_eq!(session["title"], "Week 2");
    assert_eq!(session["status"], "scheduled");
    assert_eq!(session["group_id"], group.as_str());
    assert_eq!(session["essay_id"], essay);
    assert_eq!(session["starts_at"], "2026-03-01T16:00:00Z");
    let id = session["id"].as_str().unwrap();
    let read = app.get(&format!("/sessions/{id}"), None).await.expect(200);
    assert_eq!(read, session);

    for (body, field) in [
        (json!({"essay_id": foreign_essay, "title": "x", "starts_at": "2026-03-01T18:00:00Z"}), "essay_id"),
        (
            json!({"essay_id": uuid::Uuid::new_v4(), "title": "x", "starts_at": "2026-03-01T18:00:00Z"}),
            "essay_id",
        ),
        (
            json!({"essay_id": essay, "title": "x", "starts_at": "2026-03-01T18:00:00Z", "ends_at": "2026-03-01T18:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"essay_id": essay, "title": "x", "starts_at": "2026-03-01T18:00:00Z", "ends_at": "2026-02-01T18:00:00Z"}),
            "ends_at",
        ),
        (json!({"essay_id": essay, "title": "", "starts_at": "2026-03-01T18:00:00Z"}), "title"),
        (json!({"essay_id": essay, "title": "x", "starts_at": "soon"}), "starts_at"),
        (
            json!({"essay_id": essay, "title": "x", "starts_at": "2026-03-01T18:00:00Z", "status": "paused"}),
            "status",
        ),
        (
            json!({"essay_id": essay, "title": "x", "starts_at": "2026-03-01T18:00:00Z", "group_id": group}),
            "group_id",
        ),
    ] {
        let res = create(&app, group, &owner, body.clone()).await;
        res.expect_problem(422, "validation_failed");
        let fields: Vec<&str> =
            res.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&field), "{body} gave {}", res.body);
    }
}

#[tokio::test]
async fn sessions_are_rescheduled_and_move_through_their_statuses() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "private").await;
    let path = format!("/sessions/{}", reading.session_id);

    let ended =
        app.patch(&path, Some(&owner.token), json!({"ends_at": "2026-01-08T18:00:00Z"})).await.expect(200);
    assert_eq!(ended["ends_at"], "2026-01-08T18:00:00Z");
    assert_eq!(ended["starts_at"], "2026-01-01T18:00:00Z");
    // A change that would put the end before the start is refused, from either side.
    app.patch(&path, Some(&owner.token), json!({"starts_at": "2026-01-09T00:00:00Z"}))
        .await
        .expect_problem(422, "validation_failed");
    app.patch(&path, Some(&owner.token), json!({"ends_at": "2026-01-01T18:00:00Z"}))
        .await
        .expect_problem(422, "validation_failed");
    app.patch(
        &path,
        Some(&owner.token),
        json!({"starts_at": "2026-01-10T00:00:00Z", "ends_at": "2026-01-09T00:00:00Z"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    // Both moved together is fine; so is dropping the end.
    let moved = app
        .patch(
            &path,
            Some(&owner.token),
            json!({"starts_at": "2026-01-10T00:00:00Z", "ends_at": "2026-01-11T00:00:00Z"}),
        )
        .await
        .expect(200);
    assert_eq!(moved["starts_at"], "2026-01-10T00:00:00Z");
    let open_ended = app.patch(&path, Some(&owner.token), json!({"ends_at": null})).await.expect(200);
    assert_eq!(open_ended["ends_at"], Value::Null);

    for status in ["scheduled", "open", "closed"] {
        let s = app.patch(&path, Some(&owner.token), json!({"status": status})).await.expect(200);
        assert_eq!(s["status"], status);
        assert_eq!(app.get(&path, Some(&owner.token)).await.expect(200)["status"], status);
    }
    for bad in [json!({"status": "archived"}), json!({"title": ""}), json!({"essay_id": reading.essay["id"]})]
    {
        app.patch(&path, Some(&owner.token), bad).await.expect_problem(422, "validation_failed");
    }
    let unchanged = app.patch(&path, Some(&owner.token), json!({})).await.expect(200);
    assert_eq!(unchanged["status"], "closed");
    assert_eq!(unchanged["title"], "Week 1");
}

#[tokio::test]
async fn sessions_list_newest_start_first_in_stable_pages() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let group = reading.group_id.clone();
    let essay = reading.essay["id"].as_str().unwrap().to_owned();
    for day in [5, 3, 9, 1, 7] {
        let starts = format!("2026-02-{day:02}T10:00:00Z");
        create(
            &app,
            &group,
            &owner,
            json!({"essay_id": essay, "title": format!("Day {day}"), "starts_at": starts}),
        )
        .await
        .expect(201);
    }
    let path = format!("/groups/{group}/sessions");
    let all = app.get(&path, None).await.expect(200);
    let starts: Vec<&str> =
        all["items"].as_array().unwrap().iter().map(|s| s["starts_at"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-02-09T10:00:00Z",
            "2026-02-07T10:00:00Z",
            "2026-02-05T10:00:00Z",
            "2026-02-03T10:00:00Z",
            "2026-02-01T10:00:00Z",
            "2026-01-01T18:00:00Z"
        ]
    );
    assert_eq!(all["next_cursor"], Value::Null);

    let before = app.walk_ids(&path, None, 2, |_| async {}).await;
    assert_eq!(before.len(), 6);
    let walked = app
        .walk_ids(&path, None, 2, |page| {
            let (app, group, owner, essay) = (&app, group.clone(), owner.clone(), essay.clone());
            async move {
                // One lands ahead of the cursor, one behind it.
                for starts in ["2027-01-01T00:00:00Z", "2025-01-01T00:00:00Z"] {
                    let body =
                        json!({"essay_id": essay, "title": format!("Late {page}"), "starts_at": starts});
                    create(app, &group, &owner, body).await.expect(201);
                }
            }
        })
        .await;
    let unique: std::collections::HashSet<_> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "{walked:?}");
    assert!(before.iter().all(|id| unique.contains(id)));

    app.get(&format!("{path}?limit=100"), None).await.expect(200);
    app.get(&format!("{path}?limit=101"), None).await.expect_problem(422, "validation_failed");
    app.get(&format!("{path}?limit=0"), None).await.expect_problem(422, "validation_failed");
    app.get(&format!("{path}?limit=-1"), None).await.expect_problem(422, "validation_failed");
    app.get(&format!("{path}?cursor=garbage"), None).await.expect_problem(400, "invalid_cursor");
    app.get(&format!("{path}?cursor=eyJhIjoxfQ"), None).await.expect_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn paragraphs_of_a_session_follow_the_essay() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "private").await;
    let body = app
        .get(&format!("/sessions/{}/paragraphs", reading.session_id), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(body["session_id"], reading.session_id.as_str());
    let paragraphs = body["paragraphs"].as_array().unwrap();
    let essay_paragraphs = reading.essay["paragraphs"].as_array().unwrap();
    assert_eq!(paragraphs.len(), essay_paragraphs.len());
    for (got, want) in paragraphs.iter().zip(essay_paragraphs) {
        assert_eq!(got["paragraph_id"], want["id"]);
        assert_eq!(got["position"], want["position"]);
        assert_eq!(got["text"], want["text"]);
        assert_eq!((got["thread_count"].as_i64(), got["comment_count"].as_i64()), (Some(0), Some(0)));
    }
    let unknown = uuid::Uuid::new_v4();
    app.get(&format!("/sessions/{unknown}/paragraphs"), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/sessions/{unknown}/counts"), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
}

/// The counts and paragraphs routes read access and data in one query; the
/// policy must still hold there: private is 404 to outsiders (signed in or
/// not), absent is 404, and a revoked token is 401 even on a public group.
#[tokio::test]
async fn counts_keep_the_access_policy() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let member = app.register("member").await;
    let outsider = app.register("outsider").await;
    let private = app.reading(&owner, "private").await;
    app.add_member(&private.group_id, &owner, &member, "member").await;
    for route in ["counts", "paragraphs"] {
        let path = format!("/sessions/{}/{route}", private.session_id);
        app.get(&path, None).await.expect_problem(404, "not_found");
        app.get(&path, Some(&outsider.token)).await.expect_problem(404, "not_found");
        let body = app.get(&path, Some(&member.token)).await.expect(200);
        assert_eq!(body["paragraphs"].as_array().unwrap().len(), fixture_blocks().len());
        app.get(&path, Some(&owner.token)).await.expect(200);
        let missing = format!("/sessions/{}/{route}", uuid::Uuid::new_v4());
        app.get(&missing, Some(&member.token)).await.expect_problem(404, "not_found");
    }

    let public = app.reading(&owner, "public").await;
    let path = format!("/sessions/{}/counts", public.session_id);
    app.get(&path, Some(&outsider.token)).await.expect(200);
    app.post(
        "/me/password",
        Some(&outsider.token),
        json!({"current_password": outsider.password, "new_password": "a-brand-new-password"}),
    )
    .await
    .expect(204);
    for route in ["counts", "paragraphs"] {
        let path = format!("/sessions/{}/{route}", public.session_id);
        app.get(&path, Some(&outsider.token)).await.expect_problem(401, "token_revoked");
        app.get(&path, None).await.expect(200);
    }
}
