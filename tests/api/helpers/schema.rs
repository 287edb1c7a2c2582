//! The replaceable schema as the database holds it: the fingerprint recorded
//! on schema `r` and the identity of its functions.

use diesel::sql_types::{Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

#[derive(QueryableByName)]
struct Oid {
    #[diesel(sql_type = Text)]
    oid: String,
}

/// The identity of every function in schema `r`: a re-apply gives them new oids.
pub async fn function_oids(conn: &mut AsyncPgConnection) -> Vec<String> {
    diesel::sql_query(
        "SELECT p.oid::text AS oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'r' ORDER BY p.proname",
    )
    .load::<Oid>(conn)
    .await
    .unwrap()
    .into_iter()
    .map(|o| o.oid)
    .collect()
}

#[derive(QueryableByName)]
struct Comment {
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
}

pub async fn recorded(conn: &mut AsyncPgConnection) -> Option<String> {
    diesel::sql_query("SELECT obj_description('r'::regnamespace, 'pg_namespace') AS comment")
        .get_result::<Comment>(conn)
        .await
        .unwrap()
        .comment
}

/// Makes the next `migrate::run` re-apply the file, as an edited file would.
pub async fn mark_stale(conn: &mut AsyncPgConnection) {
    conn.batch_execute("COMMENT ON SCHEMA r IS 'sha256:stale'").await.unwrap();
}
