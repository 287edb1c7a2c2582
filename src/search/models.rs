//! The search query and its snippets.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;

/// Keyset position: newest first by (created_at, id of the comment or thread).
pub type SearchKey = (DateTime<Utc>, Uuid);

#[derive(Debug, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = SqlUuid)]
    pub thread_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub comment_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    pub session_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub paragraph_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// The comment's id, or the thread's for a title match.
    #[diesel(sql_type = SqlUuid)]
    pub key_id: Uuid,
    #[diesel(sql_type = Bool)]
    pub hidden: bool,
    #[diesel(sql_type = Text)]
    pub text: String,
    /// Who wrote the comment, or the thread for a title match.
    #[diesel(sql_type = SqlUuid)]
    pub author_id: Uuid,
}

/// What one search may see and where its page starts.
pub struct Search<'a> {
    pub query: &'a str,
    pub group_id: Uuid,
    pub session_id: Option<Uuid>,
    /// Moderators find hidden threads and comments too (as their lists show them).
    pub include_hidden: bool,
    pub after: Option<SearchKey>,
    pub limit: i64,
    /// Matching comments (and, apart, matching titles) one search reads at
    /// most (`search.max_matches`).
    pub max_matches: i64,
}

/// The statement [`hits`] runs (src/search/models/hits.sql), for tests that
/// look at its plans.
///
/// The tsquery is written inline beside each `@@`, so the planner sees a
/// condition the GIN indexes answer (a tsquery taken from a CTE left it
/// reading every comment of the group and testing each). A search is planned
/// anew on every call ([`per_call`](crate::db::prepared::Prepared::per_call)), with its own values: the
/// shape's `$n IS NULL OR …` tests fold away before planning, and no generic
/// plan, which cannot tell a rare word from a common one, is ever kept. Each
/// branch reads at most `$3` matches, in no particular order, before the
/// newest are picked: a word in every comment of a million costs the same as
/// one in a thousand.
pub const HITS_SQL: &str = include_str!("models/hits.sql");

/// Comment bodies and thread titles matching the query, newest first,
/// `limit + 1` rows (the extra one only says another page exists).
#[tracing::instrument(skip_all)]
pub async fn hits(conn: &mut AsyncPgConnection, s: &Search<'_>) -> ApiResult<Vec<Hit>> {
    let (at, id) = s.after.unzip();
    Ok(crate::sql!("models/hits.sql")
        .per_call()
        .bind::<Text, _>(s.query)
        .bind::<SqlUuid, _>(s.group_id)
        .bind::<BigInt, _>(s.max_matches)
        .bind::<BigInt, _>(s.limit + 1)
        .bind::<Bool, _>(s.include_hidden)
        .bind::<Nullable<SqlUuid>, _>(s.session_id)
        .bind::<Nullable<Timestamptz>, _>(at)
        .bind::<Nullable<SqlUuid>, _>(id)
        .load(conn)
        .await?)
}

/// Marks the start and end of a match in `ts_headline`'s output. Control
/// characters no snippet keeps: the text's own become spaces first, so after
/// HTML-escaping, these and only these become `<mark>` and `</mark>`.
const START: char = '\u{2}';
const STOP: char = '\u{3}';
/// Stands for `<` while `ts_headline` works: its parser takes `<b>` and the
/// like for HTML tags and drops them, and the snippet should show the text
/// as written (escaped).
const LT: char = '\u{4}';

#[derive(QueryableByName)]
struct Headline {
    #[diesel(sql_type = BigInt)]
    ord: i64,
    #[diesel(sql_type = Text)]
    snippet: String,
}

/// A snippet of each text with the query's matches in `<mark>…</mark>`
/// around otherwise HTML-escaped text, in the order given: short texts (every
/// title, most comments) whole, longer ones as up to two fragments.
#[tracing::instrument(skip_all, fields(texts = texts.len()))]
pub async fn snippets(conn: &mut AsyncPgConnection, query: &str, texts: &[String]) -> ApiResult<Vec<String>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: Vec<Headline> = crate::sql!("models/snippets.sql")
        .bind::<Text, _>(query)
        .bind::<Array<Text>, _>(texts)
        .load(conn)
        .await?;
    rows.sort_by_key(|r| r.ord);
    Ok(rows.into_iter().map(|r| mark(&r.snippet)).collect())
}

/// HTML-escapes `headline` and turns the match sentinels into `<mark>` tags.
pub fn mark(headline: &str) -> String {
    let mut out = String::with_capacity(headline.len() + 16);
    for ch in headline.chars() {
        match ch {
            START => out.push_str("<mark>"),
            STOP => out.push_str("</mark>"),
            '&' => out.push_str("&amp;"),
            '<' | LT => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mark;

    #[test]
    fn only_the_sentinels_become_tags() {
        assert_eq!(
            mark("a <b>&\"'\u{2}word\u{3} <mark> \u{4}i>"),
            "a &lt;b&gt;&amp;&quot;&#39;<mark>word</mark> &lt;mark&gt; &lt;i&gt;"
        );
    }
}
