//! Moderation actions repeated, and thirty at once: each is logged once, and
//! the counters stay equal to a recount from the rows.

use serde_json::json;

use crate::helpers::{
    all_counts, cast, comments_of, id, modlog_rows, own, spawn_app, spawn_app_with, TestApp,
};

#[tokio::test]
async fn actions_are_idempotent_and_logged_once_each() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(0);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let path = format!("/threads/{t}/moderation");
    let steps = [
        ("lock", true),
        ("lock", false),
        ("unlock", true),
        ("unlock", false),
        ("pin", true),
        ("pin", false),
        ("unpin", true),
        ("unpin", false),
        ("hide", true),
        ("hide", false),
        ("restore", true),
        ("restore", false),
    ];
    let mut expected = Vec::new();
    for (action, effective) in steps {
        let res = app
            .post(
                &path,
                Some(&cast.moderator.token),
                json!({"action": action, "reason": format!("why {action}")}),
            )
            .await
            .expect(200);
        assert_eq!(res["id"], t.as_str());
        if effective {
            expected.push(own(action, "thread", &t));
        }
        assert_eq!(modlog_rows(&app, cast.group()).await, expected, "after {action}");
    }
    // Pinned threads come first in the list.
    let other = app.start_thread(cast.session(), &cast.member, &para, "newer").await;
    app.post(&path, Some(&cast.moderator.token), json!({"action": "pin"})).await.expect(200);
    let list = app.get(&format!("/sessions/{}/threads", cast.session()), None).await.expect(200);
    let order: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(order, [t.as_str(), other["id"].as_str().unwrap()]);

    // Comment actions too.
    let c = id(&app.comment(&t, &cast.member, None, "reply").await);
    let cpath = format!("/comments/{c}/moderation");
    for (action, effective) in [("restore", false), ("hide", true), ("hide", false), ("restore", true)] {
        app.post(&cpath, Some(&cast.moderator.token), json!({"action": action})).await.expect(200);
        let n = modlog_rows(&app, cast.group()).await.iter().filter(|r| r.2 == c).count();
        let before = expected.iter().filter(|r| r.2 == c).count();
        assert_eq!(n, before + usize::from(effective), "{action}");
        if effective {
            expected.push(own(action, "comment", &c));
        }
    }

    // Bad input is a 422, never a change.
    let too_long = "x".repeat(1001);
    for bad in [
        json!({"action": "explode"}),
        json!({"action": "lock", "reason": too_long}),
        json!({"action": "lock", "locked": true}),
        json!({}),
    ] {
        app.post(&path, Some(&cast.moderator.token), bad).await.expect_problem(422, "validation_failed");
    }
    app.post(&cpath, Some(&cast.moderator.token), json!({"action": "lock"}))
        .await
        .expect_problem(422, "validation_failed");
    let ok = "y".repeat(1000);
    let locked = app
        .post(&path, Some(&cast.moderator.token), json!({"action": "lock", "reason": ok}))
        .await
        .expect(200);
    assert_eq!(locked["locked"], true);
    assert_eq!(modlog_rows(&app, cast.group()).await.len(), expected.len() + 2); // pin, then lock
                                                                                 // Unknown ids are 404.
    let nobody = uuid::Uuid::new_v4();
    app.post(&format!("/threads/{nobody}/moderation"), Some(&cast.owner.token), json!({"action": "lock"}))
        .await
        .expect_problem(404, "not_found");
    app.post(&format!("/comments/{nobody}/moderation"), Some(&cast.owner.token), json!({"action": "hide"}))
        .await
        .expect_problem(404, "not_found");
}

async fn spawn_app_with_pool(size: usize) -> TestApp {
    spawn_app_with(|s| {
        s.database.pool_size = size;
        s.server.workers = 2;
    })
    .await
}

/// Thirty requests at once on one comment (hide, restore, delete) and on its
/// thread (hide, restore): every request succeeds, the counters equal a
/// recount, and the log agrees with the final state.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_hide_restore_delete_keep_counts_exact() {
    let app = std::sync::Arc::new(spawn_app_with_pool(24).await);
    let cast = std::sync::Arc::new(cast(&app, "public").await);
    let para = cast.reading.paragraph_id(7);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let mut targets = Vec::new();
    for i in 0..3 {
        targets.push(id(&app.comment(&t, &cast.member, None, &format!("comment {i}")).await));
    }
    let c = targets[0].clone();
    let mut tasks = Vec::new();
    for i in 0..30usize {
        let (app, cast, t, c, targets) = (app.clone(), cast.clone(), t.clone(), c.clone(), targets.clone());
        tasks.push(tokio::spawn(async move {
            let moderator = if i % 2 == 0 { &cast.moderator } else { &cast.organiser };
            let res = match i % 6 {
                0 | 3 => {
                    app.post(
                        &format!("/comments/{c}/moderation"),
                        Some(&moderator.token),
                        json!({"action": "hide"}),
                    )
                    .await
                }
                1 | 4 => {
                    app.post(
                        &format!("/comments/{c}/moderation"),
                        Some(&moderator.token),
                        json!({"action": "restore"}),
                    )
                    .await
                }
                2 => {
                    let victim = &targets[(i / 6) % 3];
                    app.delete(&format!("/comments/{victim}"), Some(&cast.member.token)).await
                }
                _ => {
                    let action = if i % 12 == 5 { "hide" } else { "restore" };
                    app.post(
                        &format!("/threads/{t}/moderation"),
                        Some(&moderator.token),
                        json!({"action": action}),
                    )
                    .await
                }
            };
            // An author's deletion is 404 while the whole thread is hidden from them.
            let ok = res.status == 200 || res.status == 204 || (i % 6 == 2 && res.status == 404);
            assert!(ok, "request {i}: {} {}", res.status, res.body);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let counts = all_counts(&app, &cast, &para, Some(&cast.owner.token)).await;
    // The thread's own counter equals a recount of its comments, too.
    let seen = app.get(&format!("/threads/{t}"), Some(&cast.owner.token)).await.expect(200);
    let list = comments_of(&app, &t, Some(&cast.owner.token)).await;
    let counted = list.iter().filter(|c| c["hidden"] == false && c["deleted"] == false).count() as i64;
    assert_eq!(seen["comment_count"].as_i64(), Some(counted));
    let thread_hidden = seen["hidden"] == true;
    assert_eq!(counts, if thread_hidden { (0, 0) } else { (1, counted) });
    // Log and state agree: hides and restores alternate from "visible".
    let log = modlog_rows(&app, cast.group()).await;
    let for_target = |target: &str| -> Vec<String> {
        log.iter()
            .filter(|r| r.2 == target && (r.0 == "hide" || r.0 == "restore"))
            .map(|r| r.0.clone())
            .collect()
    };
    for (target, hidden_now) in
        [(&c, list.iter().any(|x| x["id"] == c.as_str() && x["hidden"] == true)), (&t, thread_hidden)]
    {
        let actions = for_target(target);
        for (n, a) in actions.iter().enumerate() {
            assert_eq!(a, if n % 2 == 0 { "hide" } else { "restore" }, "{actions:?}");
        }
        assert_eq!(actions.len() % 2 == 1, hidden_now, "{actions:?}");
    }
}
