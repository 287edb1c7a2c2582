//! What one search costs: the statement the route runs is answered by the
//! comment GIN index (never by reading every comment of the group), in
//! every shape it takes, and one search reads at most `search.max_matches`
//! matches however common the word.

use diesel::sql_types::{BigInt, Bool, Json, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use pilcrow::search::models::HITS_SQL;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

#[derive(diesel::QueryableByName)]
struct Explained {
    #[diesel(sql_type = Json, column_name = "QUERY PLAN")]
    plan: Value,
}

/// One node of a plan: type, relation, index, and rows it produced in all
/// (with ANALYZE).
struct Node {
    kind: String,
    relation: String,
    index: String,
    rows: f64,
}

/// Every node in a JSON plan.
fn nodes(plan: &Value, out: &mut Vec<Node>) {
    let field = |k: &str| plan[k].as_str().unwrap_or_default().to_owned();
    if plan.get("Node Type").is_some() {
        out.push(Node {
            kind: field("Node Type"),
            relation: field("Relation Name"),
            index: field("Index Name"),
            rows: plan["Actual Rows"].as_f64().unwrap_or(0.0) * plan["Actual Loops"].as_f64().unwrap_or(0.0),
        });
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        nodes(child, out);
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}{} ({} rows)", self.kind, self.relation, self.index, self.rows)
    }
}

/// Where a search starts: the group, and the session and page position for
/// the shapes that take them.
struct Shape {
    group: Uuid,
    session: Option<Uuid>,
    after: bool,
    moderator: bool,
}

/// The route's own statement for `shape` under EXPLAIN (with ANALYZE: run).
async fn explain(
    db: &mut AsyncPgConnection,
    analyze: bool,
    word: &str,
    cap: i64,
    shape: &Shape,
) -> Vec<Node> {
    let sql = format!("EXPLAIN ({}FORMAT JSON) {}", if analyze { "ANALYZE, " } else { "" }, HITS_SQL);
    let query = diesel::sql_query(sql)
        .into_boxed::<diesel::pg::Pg>()
        .bind::<Text, _>(word.to_owned())
        .bind::<SqlUuid, _>(shape.group)
        .bind::<BigInt, _>(cap)
        .bind::<BigInt, _>(51_i64)
        .bind::<Bool, _>(shape.moderator)
        .bind::<Nullable<SqlUuid>, _>(shape.session)
        .bind::<Nullable<Timestamptz>, _>(shape.after.then(chrono::Utc::now))
        .bind::<Nullable<SqlUuid>, _>(shape.after.then(Uuid::max));
    let explained: Explained = query.get_result(db).await.unwrap();
    let mut seen = Vec::new();
    nodes(&explained.plan[0]["Plan"], &mut seen);
    seen
}

/// The generic plan PostgreSQL would keep for the statement if it were
/// prepared once and reused (as a cached statement is after five runs).
async fn explain_generic(db: &mut AsyncPgConnection, word: &str, shape: &Shape) -> Vec<Node> {
    let types = ["text", "uuid", "bigint", "bigint", "boolean", "uuid", "timestamptz", "uuid"];
    let quoted = |v: Option<String>| v.map_or("NULL".to_owned(), |v| format!("'{v}'"));
    let values = [
        format!("'{word}'"),
        format!("'{}'", shape.group),
        "1000".into(),
        "51".into(),
        shape.moderator.to_string(),
        quoted(shape.session.map(|s| s.to_string())),
        if shape.after { "now()".to_owned() } else { "NULL".to_owned() },
        quoted(shape.after.then(|| Uuid::max().to_string())),
    ];
    let sql = HITS_SQL;
    diesel::sql_query("SET plan_cache_mode = force_generic_plan").execute(db).await.unwrap();
    diesel::sql_query(format!("PREPARE generic ({}) AS {sql}", types.join(", "))).execute(db).await.unwrap();
    let explained: Explained =
        diesel::sql_query(format!("EXPLAIN (FORMAT JSON) EXECUTE generic ({})", values.join(", ")))
            .get_result(db)
            .await
            .unwrap();
    diesel::sql_query("DEALLOCATE generic").execute(db).await.unwrap();
    diesel::sql_query("RESET plan_cache_mode").execute(db).await.unwrap();
    let mut seen = Vec::new();
    nodes(&explained.plan[0]["Plan"], &mut seen);
    seen
}

/// `threads` threads of `per_thread` comments each in the reading's session,
/// straight into the table (the triggers fill in the rest), then ANALYZE.
async fn seed(
    db: &mut AsyncPgConnection,
    session_id: &str,
    author: &str,
    paragraph: &str,
    threads: i64,
    per_thread: i64,
) {
    diesel::sql_query(
        "WITH t AS ( \
            INSERT INTO threads (id, session_id, paragraph_id, author_id, title) \
            SELECT gen_random_uuid(), $1, $2, $3, 'Seeded thread ' || g FROM generate_series(1, $4) g \
            RETURNING id, title) \
         INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body) \
         SELECT gen_random_uuid(), t.id, 0, '', $3, \
                'common filler words number ' || g || \
                CASE WHEN g = 1 AND t.title LIKE '%0' THEN ' needle' ELSE '' END \
           FROM t, generate_series(1, $5) g",
    )
    .bind::<SqlUuid, _>(Uuid::parse_str(session_id).unwrap())
    .bind::<SqlUuid, _>(Uuid::parse_str(paragraph).unwrap())
    .bind::<SqlUuid, _>(Uuid::parse_str(author).unwrap())
    .bind::<BigInt, _>(threads)
    .bind::<BigInt, _>(per_thread)
    .execute(db)
    .await
    .unwrap();
    diesel::sql_query("ANALYZE comments, threads, reading_sessions").execute(db).await.unwrap();
}

/// 6,000 comments in one group, a word in a handful of them: each of the
/// eight shapes of the search statement (member or moderator, whole group or
/// one session, first page or later) finds them through comments_search_idx
/// and reads no comment by a sequential scan, with its own values and in
/// the generic plan a kept prepared statement would switch to.
#[tokio::test]
async fn every_shape_of_the_search_statement_uses_the_comment_index() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let mut db = app.db().await;
    seed(&mut db, &reading.session_id, &owner.id, &reading.paragraph_id(0), 60, 100).await;

    let group = Uuid::parse_str(&reading.group_id).unwrap();
    let session = Uuid::parse_str(&reading.session_id).unwrap();
    for moderator in [false, true] {
        for session in [None, Some(session)] {
            for after in [false, true] {
                let shape = Shape { group, session, after, moderator };
                for generic in [false, true] {
                    let seen = if generic {
                        explain_generic(&mut db, "needle", &shape).await
                    } else {
                        explain(&mut db, false, "needle", 1000, &shape).await
                    };
                    let said = format!(
                        "moderator={moderator} session={} after={after} generic={generic}: {seen:?}",
                        session.is_some()
                    );
                    assert!(
                        seen.iter()
                            .any(|n| n.kind == "Bitmap Index Scan" && n.index == "comments_search_idx"),
                        "{said}"
                    );
                    assert!(!seen.iter().any(|n| n.kind == "Seq Scan" && n.relation == "comments"), "{said}");
                }
            }
        }
    }

    // And the route finds what was seeded: the first comment of threads 10, 20, … 60.
    let found = search(&app, &reading.group_id, "needle", &owner.token).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 6, "{found}");
}

async fn search(app: &TestApp, group: &str, q: &str, token: &str) -> Value {
    app.get(&format!("/groups/{group}/search?q={q}&limit=100"), Some(token)).await.expect(200)
}

/// A word in all 6,000 comments of the group: the statement reads at most
/// its cap of them (before, it read every match to sort them).
#[tokio::test]
async fn a_common_word_reads_no_more_comments_than_the_cap() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let mut db = app.db().await;
    seed(&mut db, &reading.session_id, &owner.id, &reading.paragraph_id(0), 60, 100).await;
    let group = Uuid::parse_str(&reading.group_id).unwrap();
    for moderator in [false, true] {
        let shape = Shape { group, session: None, after: false, moderator };
        let seen = explain(&mut db, true, "common", 500, &shape).await;
        let read: f64 = seen
            .iter()
            .filter(|n| n.relation == "comments" && n.kind != "Bitmap Index Scan")
            .map(|n| n.rows)
            .sum();
        assert!(read > 0.0 && read <= 500.0, "{read} comments read: {seen:?}");
    }
}

/// With `search.max_matches = 20`, a word in 300 comments and 300 titles
/// gives at most 20 of each, newest first among them, and pages through
/// them and stops.
#[tokio::test]
async fn a_search_reads_at_most_max_matches() {
    let app = spawn_app_with(|s| s.search.max_matches = 20).await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let mut db = app.db().await;
    seed(&mut db, &reading.session_id, &owner.id, &reading.paragraph_id(0), 300, 1).await;

    let mut comments = 0;
    let mut titles = 0;
    let mut url = format!("/groups/{}/search?q=seeded%20or%20common&limit=15", reading.group_id);
    let mut pages = 0;
    loop {
        let page = app.get(&url, Some(&owner.token)).await.expect(200);
        for hit in page["items"].as_array().unwrap() {
            match hit["matched"].as_str().unwrap() {
                "comment" => comments += 1,
                _ => titles += 1,
            }
        }
        pages += 1;
        assert!(pages < 10, "paging never ends");
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                url = format!(
                    "/groups/{}/search?q=seeded%20or%20common&limit=15&cursor={cursor}",
                    reading.group_id
                )
            }
            None => break,
        }
    }
    assert_eq!((comments, titles), (20, 20), "300 of each match; 20 of each are read");
}
