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
