//! Thread and comment moderation: who may act, what each action does to
//! counts, lists and single reads, idempotence, and consistency under load.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{recount, spawn_app, spawn_app_with, Reading, Recount, Resp, TestApp, TestUser};

/// Everyone a moderation route can be called by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    Outsider,
    Member,
    OtherMod,
    Moderator,
    Organiser,
    Owner,
    BannedMod,
}

use Who::*;

/// A cell's expectation: status, and the problem code (`""`: a success).
pub type Cell = (u16, &'static str);

/// One row of a matrix: the caller, then the expectation in a public and in a private group.
pub type MatrixRow = (Who, Cell, Cell);

/// Moderator-only routes: a moderator of another group and an outsider are
/// 403 in a public group and 404 in a private one (whose existence must not
/// leak); a banned moderator keeps read access to a public group only.
pub const MODERATOR_ROUTE: [MatrixRow; 8] = [
    (Anonymous, (401, "missing_token"), (401, "missing_token")),
    (Outsider, (403, "insufficient_role"), (404, "not_found")),
    (Member, (403, "insufficient_role"), (403, "insufficient_role")),
    (OtherMod, (403, "insufficient_role"), (404, "not_found")),
    (BannedMod, (403, "banned"), (404, "not_found")),
    (Moderator, (200, ""), (200, "")),
    (Organiser, (200, ""), (200, "")),
    (Owner, (200, ""), (200, "")),
];

/// A group's cast: one user per role, plus a banned moderator, an outsider
/// and a moderator of another group.
pub struct Cast {
    pub visibility: &'static str,
    pub reading: Reading,
    pub owner: TestUser,
    pub organiser: TestUser,
    pub moderator: TestUser,
    pub member: TestUser,
    pub banned_mod: TestUser,
    pub outsider: TestUser,
    pub other_mod: TestUser,
}

impl Cast {
    pub fn user(&self, who: Who) -> Option<&TestUser> {
        match who {
            Anonymous => None,
            Outsider => Some(&self.outsider),
            Member => Some(&self.member),
            OtherMod => Some(&self.other_mod),
            Moderator => Some(&self.moderator),
            Organiser => Some(&self.organiser),
            Owner => Some(&self.owner),
            BannedMod => Some(&self.banned_mod),
        }
    }

    pub fn token(&self, who: Who) -> Option<&str> {
        self.user(who).map(|u| u.token.as_str())
    }

    pub fn group(&self) -> &str {
        &self.reading.group_id
    }

    pub fn session(&self) -> &str {
        &self.reading.session_id
    }

    /// The expectation for `row` in this cast's group.
    pub fn pick(&self, row: &MatrixRow) -> Cell {
        if self.visibility == "public" {
            row.1
        } else {
            row.2
        }
    }
}

pub async fn cast(app: &TestApp, visibility: &'static str) -> Cast {
    let tag = &visibility[..3];
    let name = |role: &str| format!("{tag}_{role}");
    let owner = app.register(&name("owner")).await;
    let reading = app.reading(&owner, visibility).await;
    let group = reading.group_id.clone();
    let organiser = app.register(&name("organiser")).await;
    app.add_member(&group, &owner, &organiser, "organiser").await;
    let moderator = app.register(&name("moderator")).await;
    app.add_member(&group, &owner, &moderator, "moderator").await;
    let member = app.register(&name("member")).await;
    app.add_member(&group, &owner, &member, "member").await;
    let banned_mod = app.register(&name("banned_mod")).await;
    app.add_member(&group, &owner, &banned_mod, "moderator").await;
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": banned_mod.id, "reason": "cooling off"}),
    )
    .await
    .expect(201);
    let outsider = app.register(&name("outsider")).await;
    let other_mod = app.register(&name("other_mod")).await;
    let other_group = app.create_group(&owner, visibility).await;
    app.add_member(&other_group, &owner, &other_mod, "moderator").await;
    Cast { visibility, reading, owner, organiser, moderator, member, banned_mod, outsider, other_mod }
}

/// Calls as `who` and asserts the cell's status (and problem code).
pub async fn check_cell(
    app: &TestApp,
    cast: &Cast,
    who: Who,
    method: Method,
    path: &str,
    body: Option<Value>,
    (status, code): Cell,
) -> Resp {
    let res = app.call(method.clone(), path, cast.token(who), body).await;
    assert_eq!(res.status, status, "{who:?} in a {} group, {method} {path}: {}", cast.visibility, res.body);
    if !code.is_empty() {
        res.expect_problem(status, code);
    }
    res
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// Rows in this group's modlog, straight from the table.
pub async fn modlog_rows(app: &TestApp, group: &str) -> Vec<(String, String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        target_type: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        target_id: String,
    }
    use diesel_async::RunQueryDsl;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT action, target_type, target_id::text AS target_id FROM modlog
          WHERE group_id = $1::uuid AND action NOT IN ('ban', 'role_change')
          ORDER BY created_at, id",
    )
    .bind::<diesel::sql_types::Text, _>(group)
    .load(&mut app.db().await)
    .await
    .expect("modlog rows");
    rows.into_iter().map(|r| (r.action, r.target_type, r.target_id)).collect()
}

fn own(action: &str, target_type: &str, target_id: &str) -> (String, String, String) {
    (action.to_owned(), target_type.to_owned(), target_id.to_owned())
}

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

/// (thread_count, comment_count) by /counts, by /paragraphs and by a recount
/// from the rows: all three must agree.
async fn all_counts(app: &TestApp, cast: &Cast, para: &str, token: Option<&str>) -> (i64, i64) {
    let counts = app.paragraph_counts(cast.session(), para, token).await;
    let paragraphs = app.get(&format!("/sessions/{}/paragraphs", cast.session()), token).await.expect(200);
    let p = paragraphs["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["paragraph_id"] == para)
        .expect("paragraph")
        .clone();
    assert_eq!((p["thread_count"].as_i64().unwrap(), p["comment_count"].as_i64().unwrap()), counts);
    let Recount { threads, comments } = recount(&mut app.db().await, cast.session(), para).await;
    assert_eq!((threads, comments), counts, "counters differ from a recount");
    counts
}

async fn thread_ids(app: &TestApp, cast: &Cast, token: Option<&str>, para: &str) -> Vec<String> {
    let list = app
        .get(&format!("/sessions/{}/threads?paragraph_id={para}", cast.session()), token)
        .await
        .expect(200);
    list["items"].as_array().unwrap().iter().map(id).collect()
}

async fn comments_of(app: &TestApp, thread: &str, token: Option<&str>) -> Vec<Value> {
    let list = app.get(&format!("/threads/{thread}/comments"), token).await.expect(200);
    list["items"].as_array().unwrap().clone()
}

/// (hidden, hidden_by, hidden_reason) of a thread or comment row.
async fn hidden_state(app: &TestApp, table: &str, row_id: &str) -> (bool, Option<String>, Option<String>) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        hidden: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        hidden_by: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        hidden_reason: Option<String>,
    }
    use diesel_async::RunQueryDsl;
    let row: Row = diesel::sql_query(format!(
        "SELECT hidden, hidden_by::text AS hidden_by, hidden_reason FROM {table} WHERE id = $1::uuid"
    ))
    .bind::<diesel::sql_types::Text, _>(row_id)
    .get_result(&mut app.db().await)
    .await
    .expect("hidden state");
    (row.hidden, row.hidden_by, row.hidden_reason)
}

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

#[tokio::test]
async fn locked_thread_refuses_members_but_not_moderators() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(8);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let mine = id(&app.comment(&t, &cast.member, None, "before the lock").await);
    let mod_comment = id(&app.comment(&t, &cast.moderator, None, "mod words").await);
    app.post(&format!("/threads/{t}/moderation"), Some(&cast.moderator.token), json!({"action": "lock"}))
        .await
        .expect(200);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));

    app.post(&format!("/threads/{t}/comments"), Some(&cast.member.token), json!({"body": "after"}))
        .await
        .expect_problem(409, "thread_locked");
    app.post(
        &format!("/threads/{t}/comments"),
        Some(&cast.member.token),
        json!({"body": "reply after", "parent_id": mod_comment}),
    )
    .await
    .expect_problem(409, "thread_locked");
    app.patch(&format!("/comments/{mine}"), Some(&cast.member.token), json!({"body": "edited after"}))
        .await
        .expect_problem(409, "thread_locked");
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));
    let list = comments_of(&app, &t, None).await;
    assert_eq!(list[1]["body"], "before the lock");

    for moderator in [&cast.moderator, &cast.organiser, &cast.owner] {
        app.post(&format!("/threads/{t}/comments"), Some(&moderator.token), json!({"body": "calm down"}))
            .await
            .expect(201);
    }
    app.patch(&format!("/comments/{mod_comment}"), Some(&cast.moderator.token), json!({"body": "edited"}))
        .await
        .expect(200);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 6));
    // A banned moderator is no moderator here.
    app.post(&format!("/threads/{t}/comments"), Some(&cast.banned_mod.token), json!({"body": "me too"}))
        .await
        .expect_problem(403, "banned");

    app.post(&format!("/threads/{t}/moderation"), Some(&cast.owner.token), json!({"action": "unlock"}))
        .await
        .expect(200);
    app.post(&format!("/threads/{t}/comments"), Some(&cast.member.token), json!({"body": "after"}))
        .await
        .expect(201);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 7));
}

#[tokio::test]
async fn bans_close_every_write_path() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(0);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let mine = id(&app.comment(&t, &cast.member, None, "mine").await);
    let theirs = id(&app.comment(&t, &cast.organiser, None, "theirs").await);
    let g = cast.group().to_owned();
    let invite =
        app.post(&format!("/groups/{g}/invites"), Some(&cast.owner.token), json!({})).await.expect(201);
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&cast.moderator.token),
        json!({"user_id": cast.member.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    let token = Some(cast.member.token.as_str());
    let attempts = [
        (
            Method::POST,
            format!("/sessions/{}/threads", cast.session()),
            Some(json!({"paragraph_id": para, "body": "x"})),
        ),
        (Method::POST, format!("/threads/{t}/comments"), Some(json!({"body": "x"}))),
        (Method::PATCH, format!("/comments/{mine}"), Some(json!({"body": "x"}))),
        (Method::DELETE, format!("/comments/{mine}"), None),
        (Method::POST, format!("/comments/{theirs}/reports"), Some(json!({"reason": "x"}))),
    ];
    for (method, path, body) in attempts {
        app.call(method, &path, token, body).await.expect_problem(403, "banned");
    }
    // Rejoining, by the public door or an invite, is refused while banned.
    app.delete(&format!("/groups/{g}/members/me"), token).await;
    app.post(&format!("/groups/{g}/join"), token, json!({})).await.expect_problem(403, "banned");
    let code = invite["code"].as_str().unwrap();
    app.post(&format!("/invites/{code}/accept"), token, json!({})).await.expect_problem(403, "banned");
    // Nothing landed.
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));
    // A moderator cannot ban an equal or higher role.
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&cast.moderator.token),
        json!({"user_id": cast.organiser.id, "reason": "x"}),
    )
    .await
    .expect_problem(403, "insufficient_role");
    // A banned moderator has no moderator powers.
    app.post(&format!("/threads/{t}/moderation"), Some(&cast.banned_mod.token), json!({"action": "lock"}))
        .await
        .expect_problem(403, "banned");
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&cast.banned_mod.token),
        json!({"user_id": cast.outsider.id, "reason": "x"}),
    )
    .await
    .expect_problem(403, "banned");
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
