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
