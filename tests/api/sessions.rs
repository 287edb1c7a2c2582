use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn counts_list_every_paragraph_with_zeros() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let counts = app.get(&format!("/sessions/{}/counts", reading.session_id), None).await.expect(200);
    assert_eq!(counts["session_id"], reading.session_id.as_str());
    let paragraphs = counts["paragraphs"].as_array().unwrap();
    assert_eq!(paragraphs.len(), 31);
    assert!(paragraphs.iter().all(|p| p["thread_count"] == 0 && p["comment_count"] == 0));
    assert_eq!(paragraphs[3]["paragraph_id"], reading.paragraph_id(3).as_str());
    let with_text = app.get(&format!("/sessions/{}/paragraphs", reading.session_id), None).await.expect(200);
    assert_eq!(with_text["paragraphs"][3]["text"], reading.paragraph_text(3).as_str());
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
        assert_eq!(body["paragraphs"].as_array().unwrap().len(), 31);
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
