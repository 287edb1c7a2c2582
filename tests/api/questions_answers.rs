//! Accepted answers: who may accept them, what counts as answered (an answer
//! counts while its comment counts), and `open_question_count` against a
//! recount after every transition, one at a time and concurrently.

use reqwest::Method;
use serde_json::json;

use crate::helpers::Who::*;
use crate::helpers::{cast, check_cell, id, spawn_app, MatrixRow};

/// POST and DELETE /threads/{id}/answers/{comment}: the thread's author (the
/// member here) or a moderator.
const ANSWER_ROUTE: [MatrixRow; 8] = [
    (Anonymous, (401, "missing_token"), (401, "missing_token")),
    (Outsider, (403, "not_a_member"), (404, "not_found")),
    (Member, (200, ""), (200, "")),
    (OtherMod, (403, "not_a_member"), (404, "not_found")),
    (BannedMod, (403, "banned"), (404, "not_found")),
    (Moderator, (200, ""), (200, "")),
    (Organiser, (200, ""), (200, "")),
    (Owner, (200, ""), (200, "")),
];

#[tokio::test]
async fn answer_role_matrix() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let para = cast.reading.paragraph_id(3);
        let thread = app.ask(cast.session(), &cast.member, &para, "What is meant here?").await;
        let t = id(&thread);
        let reply = app.comment(&t, &cast.moderator, None, "This, I think.").await;
        let path = format!("/threads/{t}/answers/{}", id(&reply));
        for row in &ANSWER_ROUTE {
            for method in [Method::POST, Method::DELETE, Method::POST] {
                let res = check_cell(&app, &cast, row.0, method.clone(), &path, None, cast.pick(row)).await;
                if res.status == 200 {
                    let answered = method == Method::POST;
                    assert_eq!(res.body["answered"], answered, "{row:?} {method}");
                    let ids = if answered { json!([id(&reply)]) } else { json!([]) };
                    assert_eq!(res.body["answer_ids"], ids);
                }
            }
        }
        // Another member who did not ask may not accept.
        let other = app.register(&format!("{}_other", &visibility[..3])).await;
        app.add_member(cast.group(), &cast.owner, &other, "member").await;
        app.accept(&t, &id(&reply), Some(&other.token)).await.expect_problem(403, "not_author");
        app.withdraw(&t, &id(&reply), Some(&other.token)).await.expect_problem(403, "not_author");
        let seen = app.get(&format!("/threads/{t}"), Some(&other.token)).await.expect(200);
        assert_eq!(
            (seen["answered"].clone(), seen["answer_ids"].clone()),
            (json!(true), json!([id(&reply)]))
        );
        assert_eq!(app.open_questions_as(cast.session(), &para, Some(&other.token)).await, 0);
    }
}

#[tokio::test]
async fn what_can_be_accepted() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let sid = &reading.session_id;
    let para = reading.paragraph_id(0);
    let question = app.ask(sid, &owner, &para, "Is this the thesis?").await;
    let q = id(&question);
    let discussion = app.start_thread(sid, &owner, &para, "Just talking").await;
    let d = id(&discussion);
    assert_eq!(
        (discussion["kind"].clone(), discussion["answered"].clone()),
        (json!("discussion"), json!(false))
    );
    let in_discussion = app.comment(&d, &owner, None, "a reply").await;
    let opening = app.get(&format!("/threads/{q}/comments"), None).await.expect(200)["items"][0].clone();

    app.accept(&d, &id(&in_discussion), Some(&owner.token)).await.expect_problem(422, "not_a_question");
    // A comment of another thread, an unknown one, and the question itself.
    for (comment, field_message) in [
        (id(&in_discussion), "is not a comment of this thread"),
        (uuid::Uuid::now_v7().to_string(), "is not a comment of this thread"),
        (id(&opening), "is the question itself"),
    ] {
        let res = app.accept(&q, &comment, Some(&owner.token)).await;
        res.expect_problem(422, "validation_failed");
        assert_eq!(res.body["errors"][0]["field"], "comment_id");
        assert_eq!(res.body["errors"][0]["message"], field_message);
    }
    let hidden = app.comment(&q, &owner, None, "hidden soon").await;
    app.post(&format!("/comments/{}/moderation", id(&hidden)), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    let deleted = app.comment(&q, &owner, None, "deleted soon").await;
    app.delete(&format!("/comments/{}", id(&deleted)), Some(&owner.token)).await.expect(204);
    for comment in [&hidden, &deleted] {
        let res = app.accept(&q, &id(comment), Some(&owner.token)).await;
        res.expect_problem(422, "validation_failed");
        assert_eq!(res.body["errors"][0]["message"], "is hidden or deleted");
    }
    // Several answers; withdrawing one leaves the other.
    let (a1, a2) = (app.comment(&q, &owner, None, "one").await, app.comment(&q, &owner, None, "two").await);
    app.accept(&q, &id(&a1), Some(&owner.token)).await.expect(200);
    let both = app.accept(&q, &id(&a2), Some(&owner.token)).await.expect(200);
    assert_eq!(both["answer_ids"], json!([id(&a1), id(&a2)]));
    let one = app.withdraw(&q, &id(&a1), Some(&owner.token)).await.expect(200);
    assert_eq!((one["answered"].clone(), one["answer_ids"].clone()), (json!(true), json!([id(&a2)])));
    // Closed sessions still take acceptances.
    app.patch(&format!("/sessions/{sid}"), Some(&owner.token), json!({"status": "closed"})).await.expect(200);
    app.accept(&q, &id(&a1), Some(&owner.token)).await.expect(200);
}

#[tokio::test]
async fn open_question_count_follows_every_transition() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let asker = app.register("asker").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &asker, "member").await;
    let sid = &reading.session_id;
    let para = reading.paragraph_id(1);
    let moderate = |target: String, action: &'static str| {
        let app = &app;
        let token = owner.token.clone();
        async move {
            app.post(&format!("/{target}/moderation"), Some(&token), json!({"action": action}))
                .await
                .expect(200)
        }
    };
    assert_eq!(app.open_questions(sid, &para).await, 0);
    let q = id(&app.ask(sid, &asker, &para, "Why?").await);
    app.start_thread(sid, &asker, &para, "not a question").await;
    assert_eq!(app.open_questions(sid, &para).await, 1);
    let q2 = id(&app.ask(sid, &owner, &para, "And how?").await);
    assert_eq!(app.open_questions(sid, &para).await, 2);

    let a = id(&app.comment(&q, &owner, None, "Because.").await);
    let b = id(&app.comment(&q, &asker, None, "Also because.").await);
    app.accept(&q, &a, Some(&asker.token)).await.expect(200);
    assert_eq!(app.open_questions(sid, &para).await, 1, "answered");
    app.accept(&q, &a, Some(&asker.token)).await.expect(200);
    assert_eq!(app.open_questions(sid, &para).await, 1, "accepting twice changes nothing");

    // A hidden answer stops answering; restored, it answers again.
    moderate(format!("comments/{a}"), "hide").await;
    assert_eq!(app.open_questions(sid, &para).await, 2, "answer hidden");
    let seen = app.get(&format!("/threads/{q}"), None).await.expect(200);
    assert_eq!((seen["answered"].clone(), seen["answer_ids"].clone()), (json!(false), json!([])));
    moderate(format!("comments/{a}"), "restore").await;
    assert_eq!(app.open_questions(sid, &para).await, 1, "answer restored");

    // Two answers: deleting one leaves the question answered by the other.
    app.accept(&q, &b, Some(&owner.token)).await.expect(200);
    app.delete(&format!("/comments/{a}"), Some(&owner.token)).await.expect(204);
    assert_eq!(app.open_questions(sid, &para).await, 1, "one of two answers deleted");
    app.withdraw(&q, &b, Some(&asker.token)).await.expect(200);
    assert_eq!(app.open_questions(sid, &para).await, 2, "un-answered");

    // Hiding a question removes it from the count whether answered or not.
    moderate(format!("threads/{q}"), "hide").await;
    assert_eq!(app.open_questions(sid, &para).await, 1, "open question hidden");
    app.accept(&q2, &id(&app.comment(&q2, &asker, None, "Like so.").await), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(app.open_questions(sid, &para).await, 0);
    moderate(format!("threads/{q2}"), "hide").await;
    assert_eq!(app.open_questions(sid, &para).await, 0, "answered question hidden");
    moderate(format!("threads/{q2}"), "restore").await;
    moderate(format!("threads/{q}"), "restore").await;
    assert_eq!(app.open_questions(sid, &para).await, 1, "both restored");
}

#[tokio::test]
async fn open_question_count_is_exact_under_concurrent_transitions() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let sid = &reading.session_id;
    let para = reading.paragraph_id(2);
    let mut threads = Vec::new();
    for i in 0..8 {
        let q = id(&app.ask(sid, &owner, &para, &format!("question {i}")).await);
        let a = id(&app.comment(&q, &owner, None, "answer a").await);
        let b = id(&app.comment(&q, &owner, None, "answer b").await);
        threads.push((q, a, b));
    }
    // Per thread, all at once: accept both, hide one, delete the other,
    // withdraw and re-accept, hide and restore the question.
    for round in 0..2 {
        let mut calls: Vec<(Method, String, Option<serde_json::Value>)> = Vec::new();
        for (q, a, b) in &threads {
            calls.push((Method::POST, format!("/threads/{q}/answers/{a}"), None));
            calls.push((Method::POST, format!("/threads/{q}/answers/{b}"), None));
            calls.push((Method::DELETE, format!("/threads/{q}/answers/{a}"), None));
            calls.push((Method::POST, format!("/threads/{q}/answers/{a}"), None));
        }
        let action = if round == 0 { "hide" } else { "restore" };
        let mut others: Vec<(Method, String, Option<serde_json::Value>)> = Vec::new();
        for (i, (q, a, b)) in threads.iter().enumerate() {
            let body = Some(json!({"action": action}));
            others.push((Method::POST, format!("/comments/{a}/moderation"), body.clone()));
            if i % 2 == 0 {
                others.push((Method::POST, format!("/threads/{q}/moderation"), body));
            }
            if round == 1 {
                others.push((Method::DELETE, format!("/comments/{b}"), None));
            }
        }
        let token = Some(owner.token.as_str());
        let first = futures_util::future::join_all(
            calls.iter().map(|(m, path, body)| app.call(m.clone(), path, token, body.clone())),
        );
        let second = futures_util::future::join_all(
            others.iter().map(|(m, path, body)| app.call(m.clone(), path, token, body.clone())),
        );
        let (answers, moderation) = futures_util::future::join(first, second).await;
        for res in answers.iter().chain(moderation.iter()) {
            // An answer raced by a hide or delete is refused, never miscounted.
            assert!([200, 204, 422].contains(&res.status), "{}: {}", res.status, res.body);
        }
        app.open_questions(sid, &para).await;
    }
}
