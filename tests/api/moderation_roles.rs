//! Who may moderate: the role matrix for thread and comment actions and for
//! revisions, and the rule that a moderator acts only on lower roles' words.

use reqwest::Method;
use serde_json::json;

use crate::helpers::Who::*;
use crate::helpers::{cast, check_cell, id, modlog_rows, own, spawn_app, MatrixRow, MODERATOR_ROUTE};

#[tokio::test]
async fn thread_moderation_role_matrix() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let para = cast.reading.paragraph_id(1);
        let thread = app.start_thread(cast.session(), &cast.member, &para, "a hot take").await;
        let path = format!("/threads/{}/moderation", id(&thread));
        // Allowed callers alternate lock and unlock, so each of them changes something.
        let mut lock = true;
        for row in &MODERATOR_ROUTE {
            let action = if row.1 .0 == 200 {
                lock = !lock;
                if lock {
                    "unlock"
                } else {
                    "lock"
                }
            } else {
                "lock"
            };
            let res = check_cell(
                &app,
                &cast,
                row.0,
                Method::POST,
                &path,
                Some(json!({"action": action, "reason": "matrix"})),
                cast.pick(row),
            )
            .await;
            if res.status == 200 {
                assert_eq!(res.body["locked"], action == "lock", "{row:?}");
            }
        }
        // Moderator locked, organiser unlocked, owner locked: three rows, none from refusals.
        let t = id(&thread);
        assert_eq!(
            modlog_rows(&app, cast.group()).await,
            vec![own("lock", "thread", &t), own("unlock", "thread", &t), own("lock", "thread", &t)]
        );
        let seen = app.get(&format!("/threads/{t}"), Some(&cast.member.token)).await.expect(200);
        assert_eq!(seen["locked"], true);
    }
}

#[tokio::test]
async fn comment_moderation_role_matrix() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let para = cast.reading.paragraph_id(2);
        let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
        let comment = app.comment(&id(&thread), &cast.member, None, "something hurtful").await;
        let path = format!("/comments/{}/moderation", id(&comment));
        let mut hide = false;
        for row in &MODERATOR_ROUTE {
            let action = if row.1 .0 == 200 {
                hide = !hide;
                if hide {
                    "hide"
                } else {
                    "restore"
                }
            } else {
                "hide"
            };
            let res = check_cell(
                &app,
                &cast,
                row.0,
                Method::POST,
                &path,
                Some(json!({"action": action})),
                cast.pick(row),
            )
            .await;
            if res.status == 200 {
                assert_eq!(res.body["hidden"], action == "hide", "{row:?}");
                // Moderators always get the body back.
                assert_eq!(res.body["body"], "something hurtful");
            }
        }
        let c = id(&comment);
        assert_eq!(
            modlog_rows(&app, cast.group()).await,
            vec![own("hide", "comment", &c), own("restore", "comment", &c), own("hide", "comment", &c)]
        );
        assert_eq!(app.paragraph_counts(cast.session(), &para, Some(&cast.owner.token)).await, (1, 1));
    }
}

/// Revisions are 404 (not 403) to members and outsiders alike.
#[tokio::test]
async fn revisions_role_matrix_and_history() {
    const REVISIONS: [MatrixRow; 8] = [
        (Anonymous, (401, "missing_token"), (401, "missing_token")),
        (Outsider, (404, "not_found"), (404, "not_found")),
        (Member, (404, "not_found"), (404, "not_found")),
        (OtherMod, (404, "not_found"), (404, "not_found")),
        (BannedMod, (403, "banned"), (404, "not_found")),
        (Moderator, (200, ""), (200, "")),
        (Organiser, (200, ""), (200, "")),
        (Owner, (200, ""), (200, "")),
    ];
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let para = cast.reading.paragraph_id(3);
        let thread = app.start_thread(cast.session(), &cast.member, &para, "first words").await;
        let c = app.comment(&id(&thread), &cast.member, None, "version one").await;
        let cid = id(&c);
        for body in ["version two", "version three"] {
            app.patch(&format!("/comments/{cid}"), Some(&cast.member.token), json!({"body": body}))
                .await
                .expect(200);
        }
        let path = format!("/comments/{cid}/revisions");
        for row in &REVISIONS {
            let res = check_cell(&app, &cast, row.0, Method::GET, &path, None, cast.pick(row)).await;
            if res.status == 200 {
                let items = res.body["items"].as_array().expect("items");
                let bodies: Vec<&str> = items.iter().map(|r| r["body"].as_str().unwrap_or("")).collect();
                assert_eq!(bodies, ["version one", "version two"]);
                assert_eq!(items[0]["editor"]["username"], cast.member.username);
                assert!(items[0]["edited_at"].as_str() <= items[1]["edited_at"].as_str());
            }
        }
        // Even the author does not see the history.
        app.get(&path, Some(&cast.member.token)).await.expect_problem(404, "not_found");
    }
}

/// Hiding or deleting what someone wrote needs a higher role than theirs;
/// locking and pinning their thread does not.
#[tokio::test]
async fn moderators_act_only_on_what_lower_roles_wrote() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(2);
    let thread = app.start_thread(cast.session(), &cast.organiser, &para, "organiser's").await;
    let t = id(&thread);
    let by_organiser = id(&app.comment(&t, &cast.organiser, None, "organiser's reply").await);
    let by_member = id(&app.comment(&t, &cast.member, None, "member's reply").await);
    let as_mod = Some(cast.moderator.token.as_str());

    app.post(&format!("/comments/{by_organiser}/moderation"), as_mod, json!({"action": "hide"}))
        .await
        .expect_problem(403, "insufficient_role");
    app.delete(&format!("/comments/{by_organiser}"), as_mod).await.expect_problem(403, "insufficient_role");
    app.post(&format!("/threads/{t}/moderation"), as_mod, json!({"action": "hide"}))
        .await
        .expect_problem(403, "insufficient_role");
    assert_eq!(
        app.post(&format!("/threads/{t}/moderation"), as_mod, json!({"action": "lock"})).await.status,
        200
    );
    assert_eq!(
        app.post(&format!("/comments/{by_member}/moderation"), as_mod, json!({"action": "hide"}))
            .await
            .status,
        200
    );
    let as_owner = Some(cast.owner.token.as_str());
    assert_eq!(
        app.post(&format!("/comments/{by_organiser}/moderation"), as_owner, json!({"action": "hide"}))
            .await
            .status,
        200
    );
    // The refused attempts left no trace in the log: lock and two hides only.
    let actions: Vec<String> = modlog_rows(&app, cast.group()).await.into_iter().map(|r| r.0).collect();
    assert_eq!(actions.iter().filter(|a| *a == "hide").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "lock").count(), 1, "{actions:?}");
}
