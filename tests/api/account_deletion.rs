//! DELETE /me: what stops at the 202, what the erasure leaves (tombstones in
//! place, counts down by exactly the comments removed, nothing in search or
//! the W3C export, mentions renamed, no personal rows), what `keep` keeps,
//! and when the account cannot go yet.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_counts_exact, id, register_body, spawn_app, TestApp, TestUser};

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(id).collect()
}

fn by_id<'a>(page: &'a Value, wanted: &str) -> &'a Value {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["id"] == wanted)
        .expect("the comment is on the page")
}

fn comment_count(counts: &Value, paragraph: &str) -> i64 {
    counts["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .find(|p| p["paragraph_id"] == paragraph)
        .map_or(0, |p| p["comment_count"].as_i64().expect("a count"))
}

async fn search_hits(app: &TestApp, group: &str, word: &str, token: &str) -> usize {
    let page = app.get(&format!("/groups/{group}/search?q={word}"), Some(token)).await.expect(200);
    page["items"].as_array().expect("items").len()
}

/// A discussion alice takes part in: her thread (with a title) that bob
/// answers and she answers back, her comment (edited once) and vote on
/// bob's question, and a mention of her by bob.
struct Discussion {
    session: String,
    group: String,
    paragraphs: [String; 2],
    thread: String,
    question: String,
    alice_comments: Vec<String>,
    bob_reply: String,
}

async fn discussion(app: &TestApp, owner: &TestUser, alice: &TestUser, bob: &TestUser) -> Discussion {
    let reading = app.reading_with(owner, "public", &[alice, bob]).await;
    let (p0, p1) = (reading.paragraph_id(0), reading.paragraph_id(1));
    let thread = app
        .post(
            &format!("/sessions/{}/threads", reading.session_id),
            Some(&alice.token),
            json!({"paragraph_id": p0, "title": "Zanzibar heading", "body": "A quixotic xylograph opening"}),
        )
        .await
        .expect(201);
    let thread = id(&thread);
    let first = id(&app.get(&format!("/threads/{thread}/comments"), None).await.expect(200)["items"][0]);
    let bob_reply =
        id(&app.comment(&thread, bob, Some(&first), "Thanks @alice; the form is `@alice` in code.").await);
    let alice_reply = id(&app.comment(&thread, alice, Some(&bob_reply), "One more xylograph remark").await);
    let question = id(&app.ask(&reading.session_id, bob, &p1, "Which chapter comes first?").await);
    let answer = id(&app.comment(&question, alice, None, "The xylograph chapter").await);
    app.patch(
        &format!("/comments/{answer}"),
        Some(&alice.token),
        json!({"body": "The xylograph chapter, surely"}),
    )
    .await
    .expect(200);
    app.vote(&question, Some(&alice.token)).await.expect(204);
    Discussion {
        session: reading.session_id,
        group: reading.group_id,
        paragraphs: [p0, p1],
        thread,
        question,
        alice_comments: vec![first, alice_reply, answer],
        bob_reply,
    }
}

#[tokio::test]
async fn erasing_leaves_tombstones_in_place_and_takes_the_words_everywhere() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let d = discussion(&app, &owner, &alice, &bob).await;
    // A moderator hid one of her comments: the log keeps the entry.
    let hidden = &d.alice_comments[1];
    app.post(&format!("/comments/{hidden}/moderation"), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    let modlog = app.get(&format!("/groups/{}/modlog", d.group), Some(&owner.token)).await.expect(200);
    let page_before = app.get(&format!("/threads/{}/comments", d.thread), Some(&bob.token)).await.expect(200);
    let counts_before = app.get(&format!("/sessions/{}/counts", d.session), None).await.expect(200);

    let wrong = json!({"password": "not the password at all", "content": "erase"});
    app.call(Method::DELETE, "/me", Some(&alice.token), Some(wrong))
        .await
        .expect_problem(401, "invalid_credentials");
    let unknown = json!({"password": alice.password, "content": "shred"});
    assert_eq!(app.call(Method::DELETE, "/me", Some(&alice.token), Some(unknown)).await.status, 422);

    let scheduled = app.delete_account(&alice, "erase").await.expect(202);
    assert_eq!(scheduled, json!({"status": "scheduled"}));

    // At the 202: no token works, signing in fails as for a wrong password.
    app.get("/me", Some(&alice.token)).await.expect_unauthorized("token_revoked");
    assert_eq!(app.refresh(&alice.refresh).await.status, 401);
    app.login(&alice.username, &alice.password).await.expect_problem(401, "invalid_credentials");
    app.login(&alice.email, &alice.password).await.expect_problem(401, "invalid_credentials");
    // ... and her words read as tombstones at once, in place.
    let page = app.get(&format!("/threads/{}/comments", d.thread), Some(&bob.token)).await.expect(200);
    assert_eq!(ids(&page), ids(&page_before), "replies keep their order");
    for c in page["items"].as_array().expect("items") {
        if d.alice_comments.contains(&id(c)) {
            assert_eq!(
                (c["deleted"].clone(), c["body"].clone(), c["author"].clone()),
                (json!(true), Value::Null, Value::Null)
            );
        }
    }
    let thread = app.get(&format!("/threads/{}", d.thread), Some(&bob.token)).await.expect(200);
    assert_eq!((thread["title"].clone(), thread["author"].clone()), (Value::Null, Value::Null));

    app.deletion_done(&alice.id).await;

    // Counts drop by exactly the comments of hers that counted (the hidden one did not).
    let counts = app.get(&format!("/sessions/{}/counts", d.session), None).await.expect(200);
    let [p0, p1] = &d.paragraphs;
    assert_eq!(comment_count(&counts, p0), comment_count(&counts_before, p0) - 1);
    assert_eq!(comment_count(&counts, p1), comment_count(&counts_before, p1) - 1);
    assert_counts_exact(&app, &d.session, &bob.token).await;
    // The tree keeps its shape under the tombstones.
    let page = app.get(&format!("/threads/{}/comments", d.thread), Some(&owner.token)).await.expect(200);
    assert_eq!(ids(&page), ids(&page_before));
    assert_eq!(by_id(&page, &d.bob_reply)["parent_id"], json!(d.alice_comments[0]));
    assert_eq!(by_id(&page, &d.alice_comments[1])["parent_id"], json!(d.bob_reply));
    // Moderators see no words either.
    assert!(page["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|c| c["body"] != json!("One more xylograph remark")));

    // Others' mentions name the pseudonym; a name in code stays as written.
    let mention = by_id(&page, &d.bob_reply)["body"].as_str().expect("bob's words stay").to_owned();
    let pseudonym = app
        .count(
            "SELECT count(*) AS n FROM users WHERE id = $1::uuid AND username ~ '^deleted-[0-9a-f]{12}$'",
            &alice.id,
        )
        .await;
    assert_eq!(pseudonym, 1);
    assert!(
        mention.starts_with("Thanks @deleted-") && mention.ends_with("the form is `@alice` in code."),
        "{mention}"
    );

    // Nothing to find, nothing exported.
    for word in ["xylograph", "Zanzibar"] {
        assert_eq!(search_hits(&app, &d.group, word, &owner.token).await, 0, "{word}");
    }
    let export =
        app.get(&format!("/sessions/{}/annotations", d.session), Some(&owner.token)).await.expect(200);
    let export = export.to_string();
    for word in ["xylograph", "Zanzibar", &alice.id, "\"alice\""] {
        assert!(!export.contains(word), "the export holds {word}");
    }

    // Her votes, edit history and personal rows are gone; the log is whole.
    let question = app.get(&format!("/threads/{}", d.question), Some(&bob.token)).await.expect(200);
    assert_eq!(question["vote_count"], 0);
    let revisions = app
        .count(
            "SELECT count(*) AS n FROM comment_revisions v JOIN comments c ON c.id = v.comment_id WHERE c.author_id = $1::uuid",
            &alice.id,
        )
        .await;
    assert_eq!(revisions, 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM thread_votes WHERE user_id = $1::uuid", &alice.id).await,
        0
    );
    assert_eq!(app.personal_rows(&alice.id).await, Vec::<(String, i64)>::new());
    let modlog_after = app.get(&format!("/groups/{}/modlog", d.group), Some(&owner.token)).await.expect(200);
    assert_eq!(ids(&modlog_after), ids(&modlog));
    assert!(!modlog_after.to_string().contains("\"alice\""));

    // The name and the address are free again.
    let again =
        app.post("/auth/register", None, register_body("alice", &alice.email, "a new passphrase 4 me")).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
}

#[tokio::test]
async fn keeping_leaves_the_words_under_a_pseudonym() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    app.patch("/me", Some(&alice.token), json!({"display_name": "Alice Liddell", "bio": "reads slowly"}))
        .await
        .expect(200);
    let d = discussion(&app, &owner, &alice, &bob).await;
    let counts_before = app.get(&format!("/sessions/{}/counts", d.session), None).await.expect(200);

    app.delete_account(&alice, "keep").await.expect(202);
    app.get("/me", Some(&alice.token)).await.expect_unauthorized("token_revoked");
    app.deletion_done(&alice.id).await;

    let page = app.get(&format!("/threads/{}/comments", d.thread), Some(&bob.token)).await.expect(200);
    let first = by_id(&page, &d.alice_comments[0]);
    assert_eq!(first["body"], "A quixotic xylograph opening");
    assert_eq!(first["deleted"], false);
    let author = &first["author"];
    let pseudonym = author["username"].as_str().expect("a username");
    assert!(pseudonym.starts_with("deleted-") && pseudonym.len() == "deleted-".len() + 12, "{pseudonym}");
    assert_eq!(author["display_name"], pseudonym);
    assert_eq!(author["bio"], Value::Null);
    assert_eq!(author["id"], json!(alice.id));
    let thread = app.get(&format!("/threads/{}", d.thread), None).await.expect(200);
    assert_eq!(thread["title"], "Zanzibar heading");
    assert_eq!(app.get(&format!("/sessions/{}/counts", d.session), None).await.expect(200), counts_before);
    assert_eq!(
        by_id(&page, &d.bob_reply)["body"],
        format!("Thanks @{pseudonym}; the form is `@alice` in code.")
    );
    assert_eq!(app.personal_rows(&alice.id).await, Vec::<(String, i64)>::new());
    assert_eq!(search_hits(&app, &d.group, "xylograph", &owner.token).await, 3);
    let again =
        app.post("/auth/register", None, register_body("alice", &alice.email, "a new passphrase 4 me")).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
}

#[tokio::test]
async fn a_sole_owner_hands_over_first() {
    let app = spawn_app().await;
    let (owner, co) = (app.register("owner").await, app.register("coowner").await);
    let reading = app.reading_with(&owner, "private", &[&co]).await;

    let refused = app.delete_account(&owner, "erase").await;
    refused.expect_problem(409, "sole_owner");
    let groups = refused.body["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["id"], json!(reading.group_id));
    assert!(groups[0]["name"].is_string() && groups[0]["slug"].is_string());
    // Nothing happened: the token still works.
    app.get("/me", Some(&owner.token)).await.expect(200);

    app.put(
        &format!("/groups/{}/members/{}/role", reading.group_id, co.id),
        Some(&owner.token),
        json!({"role": "owner"}),
    )
    .await
    .expect(200);
    app.delete_account(&owner, "erase").await.expect(202);
    let members =
        app.get(&format!("/groups/{}/members", reading.group_id), Some(&co.token)).await.expect(200);
    assert_eq!(ids_of_members(&members), vec![co.id.clone()]);
}

fn ids_of_members(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["user"]["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_banned_address_stays_refused_until_the_ban_ends() {
    let app = spawn_app().await;
    let (owner, alice) = (app.register("owner").await, app.register("alice").await);
    let reading = app.reading_with(&owner, "public", &[&alice]).await;
    app.post(
        &format!("/groups/{}/bans", reading.group_id),
        Some(&owner.token),
        json!({"user_id": alice.id, "reason": "spoilers"}),
    )
    .await
    .expect(201);
    app.delete_account(&alice, "keep").await.expect(202);

    let body = register_body("alice2", &alice.email.to_uppercase(), "a new passphrase 4 me");
    app.post("/auth/register", None, body.clone()).await.expect_problem(409, "email_taken");
    // The ban is still the moderators' to lift, under the pseudonym.
    app.delete(&format!("/groups/{}/bans/{}", reading.group_id, alice.id), Some(&owner.token))
        .await
        .expect(204);
    assert_eq!(app.post("/auth/register", None, body).await.status, 201);
}
