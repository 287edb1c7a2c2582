use crate::helpers::{essay_fixture, fixture_blocks, shared_seed_essay, spawn_app, text_blocks, ESSAY_QUOTE};

#[tokio::test]
async fn fixture_essay_splits_into_its_blocks_in_order() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let essay = app.import_essay(&group, &owner, &essay_fixture()).await;
    let paragraphs = essay["paragraphs"].as_array().unwrap();
    let expected = fixture_blocks();
    assert!((25..=40).contains(&expected.len()), "the fixture has {} blocks", expected.len());
    assert_eq!(paragraphs.len(), expected.len());
    for (i, (p, want)) in paragraphs.iter().zip(&expected).enumerate() {
        assert_eq!(p["position"], i);
        assert_eq!(p["text"].as_str().unwrap(), want);
    }
    assert!(paragraphs.iter().any(|p| p["text"].as_str().unwrap().contains(ESSAY_QUOTE)));
    // Greek, Japanese and an emoji come back as they went in.
    for word in ["ἀναγιγνώσκω", "朗読", "📖"] {
        assert!(paragraphs.iter().any(|p| p["text"].as_str().unwrap().contains(word)), "{word} lost");
    }
}

/// The seed essay of `../shared/fixtures`, when this checkout has one beside
/// it, still splits into its 31 blocks. A clone on its own skips this.
#[tokio::test]
async fn shared_seed_essay_splits_into_its_31_blocks_when_present() {
    let Some(seed) = shared_seed_essay() else {
        println!("skipped: ../shared/fixtures absent");
        return;
    };
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let essay = app.import_essay(&group, &owner, &seed).await;
    let paragraphs = essay["paragraphs"].as_array().unwrap();
    let expected = text_blocks(&seed);
    assert_eq!(paragraphs.len(), 31);
    assert_eq!(expected.len(), 31);
    for (i, (p, want)) in paragraphs.iter().zip(&expected).enumerate() {
        assert_eq!(p["position"], i);
        assert_eq!(p["text"].as_str().unwrap(), want);
    }
    assert!(paragraphs.iter().any(|p| p["text"].as_str().unwrap().contains("world’s wealth")));
}

use serde_json::{json, Value};

use crate::helpers::{TestApp, TestUser};

async fn import(app: &TestApp, group: &str, by: &TestUser, format: &str, body: &str) -> crate::helpers::Resp {
    app.post(
        &format!("/groups/{group}/essays"),
        Some(&by.token),
        json!({"title": "An essay", "format": format, "body": body}),
    )
    .await
}

/// `(kind, text)` of every paragraph, checking positions count from 0.
fn blocks(essay: &Value) -> Vec<(String, String)> {
    let paragraphs = essay["paragraphs"].as_array().expect("paragraphs");
    paragraphs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            assert_eq!(p["position"], i, "{p}");
            (p["kind"].as_str().unwrap().to_owned(), p["text"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(k, t)| (k.to_string(), t.to_string())).collect()
}

#[tokio::test]
async fn essay_reads_back_with_stable_paragraph_ids() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "private").await;
    let created = app
        .post(
            &format!("/groups/{group}/essays"),
            Some(&owner.token),
            json!({"title": "  Voices ", "author": "Pilcrow contributors", "source_url": "https://example.org/essay",
                   "license": "CC BY-NC", "format": "text", "body": essay_fixture()}),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(created.header("location"), Some(format!("/api/v1/essays/{id}").as_str()));
    assert_eq!(created.body["title"], "Voices");
    assert_eq!(created.body["group_id"], group.as_str());
    assert_eq!(created.body["author"], "Pilcrow contributors");
    assert_eq!(created.body["source_url"], "https://example.org/essay");
    assert_eq!(created.body["license"], "CC BY-NC");
    let first = app.get(&format!("/essays/{id}"), Some(&owner.token)).await.expect(200);
    let second = app.get(&format!("/essays/{id}"), Some(&owner.token)).await.expect(200);
    assert_eq!(first["paragraphs"], second["paragraphs"]);
    assert_eq!(first["paragraphs"], created.body["paragraphs"]);
    let ids: std::collections::HashSet<_> = first["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), fixture_blocks().len());
    assert!(first["paragraphs"].as_array().unwrap().iter().all(|p| p["kind"] == "paragraph"));
    // A second import of the same text gets paragraphs of its own.
    let again = app.import_essay(&group, &owner, &essay_fixture()).await;
    assert!(again["paragraphs"].as_array().unwrap().iter().all(|p| !ids.contains(p["id"].as_str().unwrap())));

    // The list has no paragraph texts.
    let list = app.get(&format!("/groups/{group}/essays"), Some(&owner.token)).await.expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["id"], id);
    assert!(items.iter().all(|e| e.get("paragraphs").is_none()));
}

#[tokio::test]
async fn text_bodies_split_on_blank_lines_with_any_line_ends() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let body = "  One\tline\r\n  two  \r\n\r\n \t \r\n\r\nThree\rfour\r\rFive — “quoted”\n\n\n";
    let essay = import(&app, &group, &owner, "text", body).await.expect(201);
    assert_eq!(
        blocks(&essay),
        pairs(&[
            ("paragraph", "One line two"),
            ("paragraph", "Three four"),
            ("paragraph", "Five — “quoted”")
        ])
    );
}

#[tokio::test]
async fn markdown_blocks_become_paragraphs_of_their_kind() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let body = "# Of *Revolutions*\r\n\r\nIntro\twith  tabs\r\nand CRLF.\r\n\r\n## Second\theading ##\r\n\
                - first **item**\r\n-\tsecond [item](https://example.org)\r\n  continues\r\n1. numbered\r\n2) again\r\n\r\n\
                > a `quote`\r\n> goes on\r\n\r\nLone CR line\rcontinues\r\rAfter blank CR.\r\n\
                ```\ncode\n\nblock\n```\n#hashtag is text";
    let essay = import(&app, &group, &owner, "markdown", body).await.expect(201);
    assert_eq!(
        blocks(&essay),
        pairs(&[
            ("heading", "Of *Revolutions*"),
            ("paragraph", "Intro with tabs and CRLF."),
            ("heading", "Second heading"),
            ("list_item", "first **item**"),
            ("list_item", "second [item](https://example.org) continues"),
            ("list_item", "numbered"),
            ("list_item", "again"),
            ("quote", "a `quote` goes on"),
            ("paragraph", "Lone CR line continues"),
            ("paragraph", "After blank CR."),
            ("code", "code block"),
            ("paragraph", "#hashtag is text"),
        ])
    );
    assert_eq!(essay["format"], "markdown");
}

#[tokio::test]
async fn bad_bodies_are_refused() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    for body in ["", "   ", "\n\n\t\r\n\r"] {
        let res = import(&app, &group, &owner, "text", body).await;
        res.expect_problem(422, "validation_failed");
        assert_eq!(res.body["errors"][0]["field"], "body");
    }
    let res = import(&app, &group, &owner, "text", "before\u{0}after").await;
    res.expect_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "body");
    import(&app, &group, &owner, "markdown", "# \u{0}").await.expect_problem(422, "validation_failed");
    import(&app, &group, &owner, "html", "<p>hi</p>").await.expect_problem(422, "validation_failed");
    for extra in [
        json!({"title": "", "format": "text", "body": "x"}),
        json!({"title": "t".repeat(301), "format": "text", "body": "x"}),
        json!({"title": "t", "format": "text", "body": "x", "source_url": "javascript:alert(1)"}),
        json!({"title": "t", "format": "text", "body": "x", "paragraphs": []}),
        json!({"title": "t", "format": "text"}),
    ] {
        app.post(&format!("/groups/{group}/essays"), Some(&owner.token), extra)
            .await
            .expect_problem(422, "validation_failed");
    }
    let list = app.get(&format!("/groups/{group}/essays"), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "nothing refused was stored");
}

#[tokio::test]
async fn a_body_of_exactly_one_mebibyte_is_accepted_and_one_byte_more_is_413() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    // 1,024 blocks of 1,022 letters and a blank line: 1,048,576 bytes.
    let block = format!("{}\n\n", "a".repeat(1022));
    let body = block.repeat(1024);
    assert_eq!(body.len(), 1024 * 1024);
    let essay = import(&app, &group, &owner, "text", &body).await.expect(201);
    assert_eq!(essay["paragraphs"].as_array().unwrap().len(), 1024);

    let over = format!("{body}b");
    import(&app, &group, &owner, "text", &over).await.expect_problem(413, "payload_too_large");
    // The limit is in bytes: half a mebibyte of two-byte characters and one more is over.
    let wide = "é".repeat(512 * 1024 + 1);
    import(&app, &group, &owner, "text", &wide).await.expect_problem(413, "payload_too_large");
    let list = app.get(&format!("/groups/{group}/essays"), None).await.expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn five_thousand_paragraphs_is_the_most() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let essay = import(&app, &group, &owner, "text", &"p\n\n".repeat(5000)).await.expect(201);
    let paragraphs = essay["paragraphs"].as_array().unwrap();
    assert_eq!(paragraphs.len(), 5000);
    assert_eq!(paragraphs[4999]["position"], 4999);
    let res = import(&app, &group, &owner, "text", &"p\n\n".repeat(5001)).await;
    res.expect_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "body");
    import(&app, &group, &owner, "markdown", &"- item\n".repeat(5001))
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn essay_pages_hold_every_essay_once_while_essays_are_imported() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    for i in 0..5 {
        import(&app, &group, &owner, "text", &format!("Essay {i}")).await.expect(201);
    }
    let path = format!("/groups/{group}/essays");
    let before = app.walk_ids(&path, None, 100, |_| async {}).await;
    assert_eq!(before.len(), 5);
    let walked = app
        .walk_ids(&path, None, 2, |page| {
            let (app, group, owner) = (&app, group.clone(), owner.clone());
            async move {
                import(app, &group, &owner, "text", &format!("Late {page}")).await.expect(201);
            }
        })
        .await;
    let unique: std::collections::HashSet<_> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len());
    assert!(before.iter().all(|id| unique.contains(id)));
    app.get(&format!("{path}?limit=101"), None).await.expect_problem(422, "validation_failed");
    app.get(&format!("{path}?cursor=xyz"), None).await.expect_problem(400, "invalid_cursor");
}
