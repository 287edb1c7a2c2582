//! Hiding and restoring threads and comments: what each does to counts,
//! lists and single reads, and what it leaves of an author's own deletion.

use serde_json::json;

use crate::helpers::{all_counts, cast, comments_of, hidden_state, id, modlog_rows, spawn_app, thread_ids};

#[tokio::test]
async fn hiding_and_restoring_a_thread_moves_counts_lists_and_reads() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let para = cast.reading.paragraph_id(5);
    let keep = app.start_thread(cast.session(), &cast.member, &para, "stays").await;
    let thread = app.start_thread(cast.session(), &cast.member, &para, "goes").await;
    let t = id(&thread);
    app.comment(&t, &cast.organiser, None, "reply one").await;
    let deleted = app.comment(&t, &cast.member, None, "reply two").await;
    app.delete(&format!("/comments/{}", id(&deleted)), Some(&cast.member.token)).await.expect(204);
    let (member, moderator) = (Some(cast.member.token.as_str()), Some(cast.moderator.token.as_str()));
    assert_eq!(all_counts(&app, &cast, &para, member).await, (2, 3));

    let hidden = app
        .post(
            &format!("/threads/{t}/moderation"),
            moderator,
            json!({"action": "hide", "reason": "off topic"}),
        )
        .await
        .expect(200);
    assert_eq!(hidden["hidden"], true);
    assert_eq!(hidden["moderation"]["hidden_by"], cast.moderator.id.as_str());
    assert_eq!(hidden["moderation"]["hidden_reason"], "off topic");
    let by = Some(cast.moderator.id.clone());
    assert_eq!(hidden_state(&app, "threads", &t).await, (true, by, Some("off topic".to_owned())));
    // Counts are the same for everyone: the hidden thread and its comments are gone.
    assert_eq!(all_counts(&app, &cast, &para, member).await, (1, 1));
    assert_eq!(all_counts(&app, &cast, &para, moderator).await, (1, 1));
    // Member: 404 on the thread and its comments, absent from the list, cannot comment.
    app.get(&format!("/threads/{t}"), member).await.expect_problem(404, "not_found");
    app.get(&format!("/threads/{t}/comments"), member).await.expect_problem(404, "not_found");
    app.post(&format!("/threads/{t}/comments"), member, json!({"body": "hello?"}))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(thread_ids(&app, &cast, member, &para).await, vec![id(&keep)]);
    // Moderator: sees it whole, with who and why, in the list too.
    let seen = app.get(&format!("/threads/{t}"), moderator).await.expect(200);
    assert_eq!(seen["hidden"], true);
    assert_eq!(seen["moderation"]["hidden_reason"], "off topic");
    assert_eq!(seen["comment_count"], 2);
    assert!(thread_ids(&app, &cast, moderator, &para).await.contains(&t));
    assert_eq!(comments_of(&app, &t, moderator).await.len(), 3);

    let restored = app
        .post(&format!("/threads/{t}/moderation"), moderator, json!({"action": "restore"}))
        .await
        .expect(200);
    assert_eq!(restored["hidden"], false);
    assert!(restored.get("moderation").is_none(), "{restored}");
    assert_eq!(all_counts(&app, &cast, &para, member).await, (2, 3));
    let seen = app.get(&format!("/threads/{t}"), member).await.expect(200);
    assert_eq!(seen["comment_count"], 2);
    assert!(seen.get("moderation").is_none());
    assert_eq!(thread_ids(&app, &cast, member, &para).await.len(), 2);
    // hidden_by and hidden_reason are cleared in the row too.
    assert_eq!(hidden_state(&app, "threads", &t).await, (false, None, None));
}

#[tokio::test]
async fn hiding_and_restoring_a_comment_moves_counts_lists_and_reads() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(6);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let target = app.comment(&t, &cast.member, None, "the hurtful one").await;
    let c = id(&target);
    let reply = app.comment(&t, &cast.organiser, Some(&c), "a reply to it").await;
    let (member, moderator) = (Some(cast.member.token.as_str()), Some(cast.moderator.token.as_str()));
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));

    let res = app
        .post(&format!("/comments/{c}/moderation"), moderator, json!({"action": "hide", "reason": "hurtful"}))
        .await
        .expect(200);
    assert_eq!(res["hidden"], true);
    assert_eq!(res["body"], "the hurtful one");
    assert_eq!(res["moderation"]["hidden_by"], cast.moderator.id.as_str());
    assert_eq!(all_counts(&app, &cast, &para, member).await, (1, 2));
    let by = Some(cast.moderator.id.clone());
    assert_eq!(hidden_state(&app, "comments", &c).await, (true, by, Some("hurtful".to_owned())));
    let thread_now = app.get(&format!("/threads/{t}"), member).await.expect(200);
    assert_eq!(thread_now["comment_count"], 2);
    // Members (and anonymous readers) see a tombstone in place; the reply stays.
    for token in [member, None] {
        let list = comments_of(&app, &t, token).await;
        assert_eq!(list.len(), 3);
        assert_eq!(list[1]["id"], c.as_str());
        assert_eq!(list[1]["hidden"], true);
        assert_eq!(list[1]["deleted"], false);
        assert!(list[1]["body"].is_null());
        assert!(list[1].get("moderation").is_none(), "{}", list[1]);
        assert_eq!(list[2]["id"], reply["id"]);
        assert_eq!(list[2]["body"], "a reply to it");
    }
    // Moderators see it whole, with who hid it and why.
    let list = comments_of(&app, &t, moderator).await;
    assert_eq!(list[1]["body"], "the hurtful one");
    assert_eq!(list[1]["moderation"]["hidden_by"], cast.moderator.id.as_str());
    assert_eq!(list[1]["moderation"]["hidden_reason"], "hurtful");
    // The author cannot edit it while hidden.
    app.patch(&format!("/comments/{c}"), member, json!({"body": "sneaky edit"}))
        .await
        .expect_problem(409, "comment_hidden");

    let res = app
        .post(&format!("/comments/{c}/moderation"), moderator, json!({"action": "restore"}))
        .await
        .expect(200);
    assert_eq!(res["hidden"], false);
    assert!(res.get("moderation").is_none());
    assert_eq!(all_counts(&app, &cast, &para, member).await, (1, 3));
    let list = comments_of(&app, &t, member).await;
    assert_eq!(list[1]["body"], "the hurtful one");
    assert_eq!(list[1]["hidden"], false);
    let list = comments_of(&app, &t, moderator).await;
    assert!(list[1].get("moderation").is_none(), "{}", list[1]);
    assert_eq!(hidden_state(&app, "comments", &c).await, (false, None, None));

    // Hiding the opening comment counts the same way.
    let opening = id(&comments_of(&app, &t, member).await[0]);
    app.post(&format!("/comments/{opening}/moderation"), moderator, json!({"action": "hide"}))
        .await
        .expect(200);
    assert_eq!(all_counts(&app, &cast, &para, member).await, (1, 2));
}

#[tokio::test]
async fn restoring_keeps_the_authors_deletion() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(4);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let c = id(&app.comment(&t, &cast.member, None, "regrettable").await);
    let d = id(&app.comment(&t, &cast.member, None, "also regrettable").await);
    let moderator = Some(cast.moderator.token.as_str());
    let member = Some(cast.member.token.as_str());
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));

    // Hidden, then deleted by its author, then restored: still deleted, still uncounted.
    app.post(&format!("/comments/{c}/moderation"), moderator, json!({"action": "hide"})).await.expect(200);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 2));
    app.delete(&format!("/comments/{c}"), member).await.expect(204);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 2));
    let res = app
        .post(&format!("/comments/{c}/moderation"), moderator, json!({"action": "restore"}))
        .await
        .expect(200);
    assert_eq!((res["hidden"].as_bool(), res["deleted"].as_bool()), (Some(false), Some(true)));
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 2));

    // Deleted first, then hidden and restored: no change to counts at any step.
    app.delete(&format!("/comments/{d}"), member).await.expect(204);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 1));
    app.post(&format!("/comments/{d}/moderation"), moderator, json!({"action": "hide"})).await.expect(200);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 1));
    app.post(&format!("/comments/{d}/moderation"), moderator, json!({"action": "restore"})).await.expect(200);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 1));
    let list = comments_of(&app, &t, member).await;
    for tomb in &list[1..] {
        assert_eq!(tomb["deleted"], true);
        assert_eq!(tomb["hidden"], false);
        assert!(tomb["body"].is_null());
    }
    // Each effective action logged; the author's own deletions are not.
    let log = modlog_rows(&app, cast.group()).await;
    let kinds: Vec<&str> = log.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(kinds, ["hide", "restore", "hide", "restore"]);
}
