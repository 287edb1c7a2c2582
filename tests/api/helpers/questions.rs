//! Question threads, votes, answers and read marks: the calls, and the
//! numbers recomputed from the rows by the contract's rules.

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

use super::app::TestApp;
use super::client::Resp;
use super::users::TestUser;

impl TestApp {
    /// Starts a question thread on the paragraph; returns the thread JSON.
    pub async fn ask(&self, session_id: &str, user: &TestUser, paragraph_id: &str, body: &str) -> Value {
        self.post(
            &format!("/sessions/{session_id}/threads"),
            Some(&user.token),
            json!({"paragraph_id": paragraph_id, "body": body, "kind": "question"}),
        )
        .await
        .expect(201)
    }

    pub async fn vote(&self, thread_id: &str, token: Option<&str>) -> Resp {
        self.call(Method::PUT, &format!("/threads/{thread_id}/vote"), token, None).await
    }

    pub async fn unvote(&self, thread_id: &str, token: Option<&str>) -> Resp {
        self.call(Method::DELETE, &format!("/threads/{thread_id}/vote"), token, None).await
    }

    pub async fn accept(&self, thread_id: &str, comment_id: &str, token: Option<&str>) -> Resp {
        self.call(Method::POST, &format!("/threads/{thread_id}/answers/{comment_id}"), token, None).await
    }

    pub async fn withdraw(&self, thread_id: &str, comment_id: &str, token: Option<&str>) -> Resp {
        self.call(Method::DELETE, &format!("/threads/{thread_id}/answers/{comment_id}"), token, None).await
    }

    /// Marks `thread_id` read up to `comment_id` for `user`.
    pub async fn mark_read(&self, session_id: &str, user: &TestUser, thread_id: &str, comment_id: &str) {
        self.put(
            &format!("/sessions/{session_id}/reads"),
            Some(&user.token),
            json!({"threads": {thread_id: comment_id}}),
        )
        .await
        .expect(204);
    }

    /// One paragraph's entry in /counts (as `token` sees it).
    pub async fn paragraph_entry(&self, session_id: &str, paragraph_id: &str, token: Option<&str>) -> Value {
        let counts = self.get(&format!("/sessions/{session_id}/counts"), token).await.expect(200);
        counts["paragraphs"]
            .as_array()
            .expect("paragraphs")
            .iter()
            .find(|p| p["paragraph_id"] == paragraph_id)
            .expect("paragraph in counts")
            .clone()
    }

    /// `open_question_count` of one paragraph by /counts and by /paragraphs,
    /// which must agree, checked against a recount from the rows.
    pub async fn open_questions(&self, session_id: &str, paragraph_id: &str) -> i64 {
        self.open_questions_as(session_id, paragraph_id, None).await
    }

    /// `open_questions` as the holder of `token` reads them.
    pub async fn open_questions_as(&self, session_id: &str, paragraph_id: &str, token: Option<&str>) -> i64 {
        let counted = self.paragraph_entry(session_id, paragraph_id, token).await["open_question_count"]
            .as_i64()
            .expect("open_question_count");
        let paragraphs = self.get(&format!("/sessions/{session_id}/paragraphs"), token).await.expect(200);
        let listed = paragraphs["paragraphs"]
            .as_array()
            .expect("paragraphs")
            .iter()
            .find(|p| p["paragraph_id"] == paragraph_id)
            .expect("paragraph")["open_question_count"]
            .as_i64()
            .expect("open_question_count");
        assert_eq!(listed, counted, "/paragraphs and /counts differ");
        let recounted = recount_open_questions(&mut self.db().await, session_id, paragraph_id).await;
        assert_eq!(counted, recounted, "open_question_count differs from a recount");
        counted
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Question threads on the paragraph that count and have no accepted answer
/// whose comment counts, straight from the rows.
pub async fn recount_open_questions(
    conn: &mut AsyncPgConnection,
    session_id: &str,
    paragraph_id: &str,
) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM threads t
          WHERE t.session_id = $1::uuid AND t.paragraph_id = $2::uuid
            AND t.kind = 'question' AND NOT t.hidden
            AND NOT EXISTS (SELECT 1 FROM thread_answers a JOIN comments c ON c.id = a.comment_id
                             WHERE a.thread_id = t.id AND NOT c.hidden AND NOT c.deleted)",
    )
    .bind::<diesel::sql_types::Text, _>(session_id)
    .bind::<diesel::sql_types::Text, _>(paragraph_id)
    .get_result::<Count>(conn)
    .await
    .expect("recount of open questions")
    .n
}

/// Votes on a thread straight from the rows, banned voters excluded.
pub async fn recount_votes(conn: &mut AsyncPgConnection, thread_id: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM thread_votes v
          WHERE v.thread_id = $1::uuid
            AND NOT EXISTS (SELECT 1 FROM bans b WHERE b.group_id = v.group_id AND b.user_id = v.user_id
                              AND (b.expires_at IS NULL OR b.expires_at > now()))",
    )
    .bind::<diesel::sql_types::Text, _>(thread_id)
    .get_result::<Count>(conn)
    .await
    .expect("recount of votes")
    .n
}
