//! Revising the fixture essay and checking what every revision must leave
//! true: counts equal a recount from the rows (orphans included), and every
//! thread that is not orphaned quotes its paragraph's current text exactly.

use std::collections::HashMap;

use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

use super::app::TestApp;
use super::client::Resp;
use super::users::TestUser;

impl TestApp {
    /// POSTs a revision of the essay: `{"body": <blocks joined by blank lines>}` plus `extra` fields.
    pub async fn revise(&self, essay_id: &str, user: &TestUser, blocks: &[String], extra: Value) -> Resp {
        let mut body = json!({"body": blocks.join("\n\n")});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.post(&format!("/essays/{essay_id}/revisions"), Some(&user.token), body).await
    }

    /// Starts a thread quoting the first `exact` in `text`, the paragraph's text.
    pub async fn start_quoted(
        &self,
        session_id: &str,
        user: &TestUser,
        paragraph_id: &str,
        text: &str,
        exact: &str,
    ) -> Value {
        let (start, end) = span_of(text, exact);
        self.post(
            &format!("/sessions/{session_id}/threads"),
            Some(&user.token),
            json!({"paragraph_id": paragraph_id, "body": format!("On “{exact}”"),
                   "quote": {"exact": exact, "start": start, "end": end}}),
        )
        .await
        .expect(201)
    }

    /// The essay's current paragraphs as (id, text), in order.
    pub async fn current_paragraphs(&self, essay_id: &str) -> Vec<(String, String)> {
        let essay = self.get(&format!("/essays/{essay_id}"), None).await.expect(200);
        essay["paragraphs"]
            .as_array()
            .expect("paragraphs")
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_owned(), p["text"].as_str().unwrap().to_owned()))
            .collect()
    }
}

/// Code-point offsets of the first `exact` in `text`.
pub fn span_of(text: &str, exact: &str) -> (usize, usize) {
    let byte = text.find(exact).unwrap_or_else(|| panic!("{exact:?} not in {text:?}"));
    let start = text[..byte].chars().count();
    (start, start + exact.chars().count())
}

#[derive(diesel::QueryableByName, Debug)]
struct RecountRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    paragraph_id: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    retired: bool,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    threads: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    comments: i64,
}

/// Asserts /counts equals a recount from the rows for every current
/// paragraph, and `orphaned` equals the recount over retired ones. Returns
/// the session's totals (paragraphs plus orphaned).
pub async fn assert_counts_exact(app: &TestApp, session_id: &str, token: &str) -> (i64, i64) {
    let rows: Vec<RecountRow> = diesel::sql_query(
        "SELECT t.paragraph_id::text AS paragraph_id, (p.retired_in IS NOT NULL) AS retired,
                count(DISTINCT t.id) FILTER (WHERE NOT t.hidden) AS threads,
                count(c.id) FILTER (WHERE NOT t.hidden AND NOT c.hidden AND NOT c.deleted) AS comments
           FROM threads t JOIN paragraphs p ON p.id = t.paragraph_id
           LEFT JOIN comments c ON c.thread_id = t.id
          WHERE t.session_id = $1::uuid
          GROUP BY 1, 2",
    )
    .bind::<diesel::sql_types::Text, _>(session_id)
    .load(&mut app.db().await)
    .await
    .expect("recount");
    let counts = app.get(&format!("/sessions/{session_id}/counts"), Some(token)).await.expect(200);
    let reported: HashMap<String, (i64, i64)> = counts["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .map(|p| {
            (
                p["paragraph_id"].as_str().unwrap().to_owned(),
                (p["thread_count"].as_i64().unwrap(), p["comment_count"].as_i64().unwrap()),
            )
        })
        .collect();
    let mut orphaned = (0, 0);
    let mut live: HashMap<String, (i64, i64)> = HashMap::new();
    for r in &rows {
        if r.retired {
            orphaned.0 += r.threads;
            orphaned.1 += r.comments;
        } else {
            live.insert(r.paragraph_id.clone(), (r.threads, r.comments));
        }
    }
    for (paragraph, counted) in &reported {
        assert_eq!(
            *counted,
            live.get(paragraph).copied().unwrap_or((0, 0)),
            "paragraph {paragraph}: {counts}"
        );
    }
    for paragraph in live.keys() {
        assert!(reported.contains_key(paragraph), "threads on {paragraph}, which /counts does not list");
    }
    let got = (
        counts["orphaned"]["thread_count"].as_i64().unwrap(),
        counts["orphaned"]["comment_count"].as_i64().unwrap(),
    );
    assert_eq!(got, orphaned, "orphaned: {counts}");
    let total = reported.values().fold(orphaned, |acc, c| (acc.0 + c.0, acc.1 + c.1));
    total
}

/// Asserts every thread that is not orphaned sits on a current paragraph
/// and its quote reads exactly as that paragraph's text; returns the
/// threads (as a moderator sees them) by id.
pub async fn assert_quotes_exact(
    app: &TestApp,
    essay_id: &str,
    session_id: &str,
    moderator: &TestUser,
) -> HashMap<String, Value> {
    let paragraphs: HashMap<String, String> = app.current_paragraphs(essay_id).await.into_iter().collect();
    let list = app
        .get(&format!("/sessions/{session_id}/threads?limit=100"), Some(&moderator.token))
        .await
        .expect(200);
    let mut threads = HashMap::new();
    for t in list["items"].as_array().expect("items") {
        if t["anchor"]["status"] != "orphaned" {
            let paragraph = t["paragraph_id"].as_str().unwrap();
            let text = paragraphs.get(paragraph).unwrap_or_else(|| panic!("{t} is on a retired paragraph"));
            if let Some(q) = t["quote"].as_object() {
                let chars: Vec<char> = text.chars().collect();
                let (s, e) = (q["start"].as_u64().unwrap() as usize, q["end"].as_u64().unwrap() as usize);
                assert!(s < e && e <= chars.len(), "{t}");
                let span: String = chars[s..e].iter().collect();
                assert_eq!(span, q["exact"].as_str().unwrap(), "{t}");
            }
        }
        threads.insert(t["id"].as_str().unwrap().to_owned(), t.clone());
    }
    threads
}
