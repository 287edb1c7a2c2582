use crate::helpers::{essay_fixture, spawn_app};

#[tokio::test]
async fn fixture_essay_splits_into_its_31_blocks_in_order() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let essay = app.import_essay(&group, &owner, &essay_fixture()).await;
    let paragraphs = essay["paragraphs"].as_array().unwrap();
    let expected: Vec<String> = essay_fixture()
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(|b| b.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|b| !b.is_empty())
        .collect();
    assert_eq!(paragraphs.len(), 31);
    assert_eq!(expected.len(), 31);
    for (i, (p, want)) in paragraphs.iter().zip(&expected).enumerate() {
        assert_eq!(p["position"], i);
        assert_eq!(p["text"].as_str().unwrap(), want);
    }
    assert!(paragraphs.iter().any(|p| p["text"].as_str().unwrap().contains("world’s wealth")));
}
