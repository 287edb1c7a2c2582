//! Every hand-written statement (the `.sql` files beside the modules that
//! run them, `crate::sql!`) parses, names only columns and functions that
//! exist, and has a type PostgreSQL can infer for each parameter: each is
//! PREPAREd in a freshly migrated database, so a statement broken by a
//! migration fails here, by file name, rather than on the route that runs it.

use std::path::{Path, PathBuf};

use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::helpers::spawn_app;

/// The replaceable schema is DDL run as a batch, not a statement.
const NOT_A_STATEMENT: &str = "src/db/replaceable/triggers.sql";

fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

async fn prepare(db: &mut AsyncPgConnection, text: &str) -> Result<(), diesel::result::Error> {
    diesel::sql_query(format!("PREPARE checked AS {text}")).execute(db).await?;
    diesel::sql_query("DEALLOCATE checked").execute(db).await?;
    Ok(())
}

#[tokio::test]
async fn every_sql_file_under_src_prepares() {
    let app = spawn_app().await;
    let mut db = app.db().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sql_files(&root.join("src"), &mut files);
    files.sort();
    let mut failed = Vec::new();
    let mut checked = 0;
    for file in &files {
        let name = file.strip_prefix(root).unwrap_or(file).display().to_string();
        if name == NOT_A_STATEMENT {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("reading a .sql file");
        if let Err(e) = prepare(&mut db, &text).await {
            failed.push(format!("{name}: {e}"));
        }
        checked += 1;
    }
    assert!(checked > 40, "found only {checked} statements under src/");
    assert!(failed.is_empty(), "statements that do not prepare:\n{}", failed.join("\n"));
}

#[derive(diesel::QueryableByName)]
struct Explained {
    #[diesel(sql_type = diesel::sql_types::Json, column_name = "QUERY PLAN")]
    plan: serde_json::Value,
}

/// Each node of a plan as `type relation index function`, depth first.
fn nodes(plan: &serde_json::Value, out: &mut Vec<String>) {
    let field = |k: &str| plan[k].as_str().unwrap_or_default().to_owned();
    if plan.get("Node Type").is_some() {
        let node = [field("Node Type"), field("Relation Name"), field("Index Name"), field("Function Name")];
        out.push(node.iter().filter(|f| !f.is_empty()).cloned().collect::<Vec<_>>().join(" "));
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        nodes(child, out);
    }
}

/// The plan of `text` with parameters of `types` set to `values`, as a
/// statement kept prepared is run after its fifth call (generic) or as it
/// is planned for its values (custom).
async fn plan(
    db: &mut AsyncPgConnection,
    text: &str,
    types: &[&str],
    values: &[String],
    generic: bool,
) -> Vec<String> {
    let mode = if generic { "force_generic_plan" } else { "force_custom_plan" };
    diesel::sql_query(format!("SET plan_cache_mode = {mode}")).execute(db).await.unwrap();
    diesel::sql_query(format!("PREPARE explained ({}) AS {text}", types.join(", ")))
        .execute(db)
        .await
        .unwrap();
    let explained: Explained =
        diesel::sql_query(format!("EXPLAIN (FORMAT JSON) EXECUTE explained ({})", values.join(", ")))
            .get_result(db)
            .await
            .unwrap();
    diesel::sql_query("DEALLOCATE explained").execute(db).await.unwrap();
    diesel::sql_query("RESET plan_cache_mode").execute(db).await.unwrap();
    let mut seen = Vec::new();
    nodes(&explained.plan[0]["Plan"], &mut seen);
    seen
}

fn file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The shared rules of src/db/replaceable/triggers.sql cost nothing where
/// they are named: `r.caller_access` and `r.anonymous_access` are inlined
/// into the hot statements (no Function Scan is left of them), and so is
/// `r.may_read` into them; and the unread statements read kept numbers by
/// key, never a comment.
#[tokio::test]
async fn the_shared_rules_are_inlined() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &reader, "member").await;
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "first").await;
    let thread_id = thread["id"].as_str().unwrap().to_owned();
    app.comment(&thread_id, &reader, None, "a reply").await;
    app.comment(&thread_id, &owner, None, "another").await;
    let mut db = app.db().await;
    diesel::sql_query("ANALYZE").execute(&mut db).await.unwrap();

    let q = |s: &str| format!("'{s}'");
    let caller = [q(&reader.id), "1".to_owned()];
    let with = |id: &str| vec![caller[0].clone(), caller[1].clone(), q(id)];
    let hot = [
        ("src/comments/routes/thread_state.sql", with(&thread_id)),
        ("src/versions/session/state.sql", with(&reading.session_id)),
        ("src/access/thread.sql", with(&thread_id)),
        ("src/access/group.sql", with(&reading.group_id)),
    ];
    for (path, values) in &hot {
        for generic in [false, true] {
            let seen = plan(&mut db, &file(path), &["uuid", "int4", "uuid"], values, generic).await;
            assert!(!seen.iter().any(|n| n.contains("Function Scan")), "{path} generic={generic}: {seen:?}");
        }
    }
    // The rule both facts functions name leaves no call in a plan: it is
    // inlined too.
    let verbose: Explained = diesel::sql_query(format!(
        "EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM r.caller_access('{}', '{}', 1)",
        reading.group_id, reader.id
    ))
    .get_result(&mut db)
    .await
    .unwrap();
    assert!(!verbose.plan.to_string().contains("may_read"), "{}", verbose.plan);
    // The anonymous reader's statements read the group, the newest event and
    // the watermarks: nothing of a user it does not have.
    let anonymous = [
        ("src/versions/session/state_anonymous.sql", q(&reading.session_id)),
        ("src/comments/routes/thread_state_anonymous.sql", q(&thread_id)),
    ];
    for ((path, value), generic) in anonymous.iter().flat_map(|a| [(a, false), (a, true)]) {
        let seen = plan(&mut db, &file(path), &["uuid"], std::slice::from_ref(value), generic).await;
        assert!(seen.iter().any(|n| n.contains("groups")), "{path} generic={generic}: {seen:?}");
        let needless = ["Function Scan", "memberships", "users", "bans", "paragraph_reads"];
        assert!(
            !seen.iter().any(|n| needless.iter().any(|x| n.contains(x))),
            "{path} generic={generic}: {seen:?}"
        );
    }
    let asks = format!(
        "ARRAY[{}]::uuid[], ARRAY[1], ARRAY[{}]::uuid[], ARRAY[NULL]::uuid[]",
        q(&reader.id),
        q(&thread_id)
    );
    let seen = plan(
        &mut db,
        &file("src/comments/posting/facts.sql"),
        &["uuid[]", "int4[]", "uuid[]", "uuid[]"],
        &[asks],
        true,
    )
    .await;
    assert!(!seen.iter().any(|n| n.contains("caller_access")), "posting facts: {seen:?}");

    // The unread statements are arithmetic over kept numbers ("UNREAD BY
    // ARITHMETIC" in triggers.sql): neither visits a comment, whatever the
    // reader has marked.
    diesel::sql_query("SET enable_seqscan = off").execute(&mut db).await.unwrap();
    let unread = [
        (
            "src/unread/models/threads.sql",
            vec!["uuid", "uuid[]"],
            vec![q(&reader.id), format!("ARRAY[{}]::uuid[]", q(&thread_id))],
        ),
        (
            "src/unread/models/paragraphs.sql",
            vec!["uuid", "uuid"],
            vec![q(&reader.id), q(&reading.session_id)],
        ),
    ];
    for (path, types, values) in &unread {
        for generic in [false, true] {
            let seen = plan(&mut db, &file(path), types, values, generic).await;
            assert!(!seen.iter().any(|n| n.contains("comments")), "{path} generic={generic}: {seen:?}");
            assert!(seen.iter().any(|n| n.contains("_pkey")), "{path} generic={generic}: {seen:?}");
        }
    }
}

/// The notifier's check for work, five times a second, walks the log's
/// index from its cursor; planned as a scan of the whole log, it cost an
/// idle server more than the rounds it saves.
#[tokio::test]
async fn the_notifier_looks_for_work_by_the_index() {
    let app = spawn_app().await;
    let mut db = app.db().await;
    diesel::sql_query(
        "INSERT INTO session_events (session_id, kind)
         SELECT gen_random_uuid(), 'session.updated' FROM generate_series(1, 20000)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    diesel::sql_query(
        "UPDATE notifier_cursor SET (xid, id) = (SELECT xid, id FROM session_events ORDER BY xid DESC, id DESC LIMIT 1)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    diesel::sql_query("ANALYZE session_events").execute(&mut db).await.unwrap();
    let text = file("src/notifications/notifier/pending.sql");
    let explained: Explained =
        diesel::sql_query(format!("EXPLAIN (FORMAT JSON) {text}")).get_result(&mut db).await.unwrap();
    let mut seen = Vec::new();
    nodes(&explained.plan[0]["Plan"], &mut seen);
    assert!(seen.iter().any(|n| n.starts_with("Index") && n.contains("session_events")), "{seen:?}");
    assert!(!seen.iter().any(|n| n.starts_with("Seq Scan session_events")), "{seen:?}");
}
