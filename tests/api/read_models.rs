//! The read side: every route that answers with a thread answers what
//! `GET /threads/{id}` answers the same caller, and every column a view
//! reads is covered by what announces its changes (the triggers' watch
//! lists, read from the database itself).

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::{Array, Bool, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{fixture_blocks, id, span_of, spawn_app, TestApp, TestUser};

/// Asserts `answered` (what a route returned) is what GET answers `user` now.
async fn assert_as_get(app: &TestApp, route: &str, answered: &Value, user: &TestUser) {
    let thread = answered["id"].as_str().expect("a thread");
    let got = app.get(&format!("/threads/{thread}"), Some(&user.token)).await.expect(200);
    // A new thread's 201 also reports its body's mentions, beside the thread.
    let mut answered = answered.clone();
    if let Some(fields) = answered.as_object_mut() {
        fields.remove("mentions");
    }
    assert_eq!(answered, got, "{route} answered another thread than GET does");
}

#[tokio::test]
async fn every_route_that_answers_a_thread_answers_what_get_does() {
    let app = spawn_app().await;
    let owner = app.register("rm_owner").await;
    let asker = app.register("rm_asker").await;
    let voter = app.register("rm_voter").await;
    let reading = app.reading(&owner, "public").await;
    let (group, sid) = (reading.group_id.as_str(), reading.session_id.as_str());
    let essay_id = reading.essay["id"].as_str().unwrap();
    for user in [&asker, &voter] {
        app.add_member(group, &owner, user, "member").await;
    }

    // A quoted question: what the start route answers is what GET answers.
    let text = reading.paragraph_text(13);
    let (start, end) = span_of(&text, "never find out");
    let started = app
        .post(
            &format!("/sessions/{sid}/threads"),
            Some(&asker.token),
            json!({"paragraph_id": reading.paragraph_id(13), "body": "What is it we never find out?",
                   "kind": "question", "quote": {"exact": "never find out", "start": start, "end": end}}),
        )
        .await
        .expect(201);
    assert_as_get(&app, "POST /sessions/{id}/threads", &started, &asker).await;
    let t = id(&started);

    // Votes from a member who is then banned, and from the owner; an answer.
    let reply = app.comment(&t, &voter, None, "Whether the slowness pays.").await;
    app.put(&format!("/threads/{t}/vote"), Some(&voter.token), json!({})).await.expect(204);
    app.put(&format!("/threads/{t}/vote"), Some(&owner.token), json!({})).await.expect(204);
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": voter.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    // The quote's paragraph goes: the thread is orphaned.
    let mut blocks = fixture_blocks();
    blocks.remove(13);
    app.revise(essay_id, &owner, &blocks, json!({})).await.expect(201);

    let answers = format!("/threads/{t}/answers/{}", id(&reply));
    let accepted = app.post(&answers, Some(&owner.token), json!({})).await.expect(200);
    assert_eq!(accepted["anchor"]["status"], "orphaned");
    assert_eq!((accepted["vote_count"].clone(), accepted["voted_by_me"].clone()), (json!(1), json!(true)));
    assert_as_get(&app, "POST /threads/{id}/answers/{comment}", &accepted, &owner).await;

    let pinned = app
        .post(&format!("/threads/{t}/moderation"), Some(&owner.token), json!({"action": "pin"}))
        .await
        .expect(200);
    assert_as_get(&app, "POST /threads/{id}/moderation", &pinned, &owner).await;

    let target = reading.paragraph_text(12);
    let (start, end) = span_of(&target, "the slowness is the point");
    let moved = app
        .post(
            &format!("/threads/{t}/anchor"),
            Some(&owner.token),
            json!({"paragraph_id": reading.paragraph_id(12),
                   "quote": {"exact": "the slowness is the point", "start": start, "end": end}}),
        )
        .await
        .expect(200);
    assert_eq!(moved["answer_ids"], json!([id(&reply)]));
    assert_eq!(moved["voted_by_me"], true);
    assert_as_get(&app, "POST /threads/{id}/anchor", &moved, &owner).await;

    let withdrawn = app.delete(&answers, Some(&owner.token)).await.expect(200);
    assert_as_get(&app, "DELETE /threads/{id}/answers/{comment}", &withdrawn, &owner).await;

    // Voting answers 204; the thread in the list is then the thread GET
    // answers, with the list's own unread count beside it.
    app.put(&format!("/threads/{t}/vote"), Some(&asker.token), json!({})).await.expect(204);
    let list = app.get(&format!("/sessions/{sid}/threads"), Some(&asker.token)).await.expect(200);
    let mut listed =
        list["items"].as_array().unwrap().iter().find(|i| i["id"] == t.as_str()).unwrap().clone();
    assert!(listed.as_object_mut().unwrap().remove("unread_count").is_some());
    assert_eq!(listed["vote_count"], 2, "the banned member's vote is not counted");
    assert_as_get(&app, "GET /sessions/{id}/threads", &listed, &asker).await;
}

#[derive(QueryableByName)]
struct Watch {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Array<Text>)]
    columns: Vec<String>,
    #[diesel(sql_type = Bool)]
    every_column: bool,
    #[diesel(sql_type = Text)]
    definition: String,
}

/// The update triggers that announce a change (append a session event or
/// move a watermark), with the columns they watch. Found by what their
/// functions do, so a new announcing trigger is picked up by itself.
async fn watch_lists(app: &TestApp) -> BTreeMap<String, Vec<Watch>> {
    let mut conn = app.db().await;
    let watches: Vec<Watch> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, \
                ARRAY(SELECT a.attname::text FROM pg_attribute a \
                       WHERE a.attrelid = t.tgrelid AND a.attnum = ANY (t.tgattr)) AS columns, \
                cardinality(t.tgattr) = 0 AS every_column, pg_get_triggerdef(t.oid) AS definition \
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid \
          WHERE NOT t.tgisinternal AND (t.tgtype & 16) <> 0 \
            AND (p.prosrc LIKE '%emit_event%' OR p.prosrc LIKE '%INSERT INTO session_events%' \
                 OR p.prosrc LIKE '%UPDATE event_watermarks%')",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut by_table: BTreeMap<String, Vec<Watch>> = BTreeMap::new();
    for watch in watches {
        by_table.entry(watch.table_name.clone()).or_default().push(watch);
    }
    by_table
}

/// Whether some trigger of `table` fires on, and looks at, `column`: it is
/// in the `UPDATE OF` list (or there is none) and, when the trigger has a
/// `WHEN` condition, in the condition too.
fn watched(lists: &BTreeMap<String, Vec<Watch>>, table: &str, column: &str) -> bool {
    lists.get(table).is_some_and(|watches| {
        watches.iter().any(|w| {
            let fires = w.every_column || w.columns.iter().any(|c| c == column);
            let condition = w.definition.split_once(" WHEN (").map(|(_, when)| when.to_lowercase());
            fires && condition.is_none_or(|when| when.contains(&format!("new.{column}")))
        })
    })
}

#[tokio::test]
async fn every_column_a_view_reads_is_watched_by_what_announces_its_changes() {
    let app = spawn_app().await;
    let lists = watch_lists(&app).await;
    assert!(
        lists.contains_key("threads") && lists.contains_key("users"),
        "found no watch lists: {:?}",
        lists.keys()
    );
    let mut unwatched = BTreeSet::new();
    for reads in pilcrow::views::declarations() {
        assert!(!reads.columns.is_empty(), "{} declares no columns", reads.view);
        for column in reads.must_be_watched() {
            let (table, name) = column.split_once('.').expect("table.column");
            if !watched(&lists, table, name) {
                unwatched.insert(format!("{} view reads {column}", reads.view));
            }
        }
        // A declaration of a column the view does not read is stale.
        for (column, _) in reads.follows {
            assert!(reads.columns.iter().any(|c| c == column), "{}: {column} is not read", reads.view);
        }
    }
    assert!(
        unwatched.is_empty(),
        "columns read by a view but watched by no trigger that appends an event or moves a \
         watermark (src/db/replaceable/triggers.sql); kept responses and live events would go \
         stale when they change. Watch them, or declare them fixed or following another \
         column in the view's module: {unwatched:#?}"
    );
}
