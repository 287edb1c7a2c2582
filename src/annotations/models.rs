//! Comments as W3C Web Annotations (https://www.w3.org/TR/annotation-model/).
//!
//! One Annotation per comment the caller can see. A thread's first comment
//! targets the essay, with a FragmentSelector naming the paragraph
//! (`p-<id>`, as a reader renders it) refined by the quote; every other
//! comment is a reply targeting its parent's annotation. IRIs are built from
//! `server.public_base_url`.

use chrono::{DateTime, SecondsFormat, Utc};
use diesel::sql_types::{BigInt, Bool, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ApiResult;

pub const CONTEXT: &str = "http://www.w3.org/ns/anno.jsonld";
pub const CONTENT_TYPE: &str = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"";
/// Annotations per page of a collection.
pub const PAGE_SIZE: i64 = 100;
const FRAGMENT_SPEC: &str = "http://tools.ietf.org/rfc/rfc3236";

#[derive(Debug, QueryableByName)]
pub struct Row {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    parent_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    author_id: Uuid,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    edited_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = SqlUuid)]
    paragraph_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    quote_exact: Option<String>,
    #[diesel(sql_type = Nullable<Int4>)]
    quote_start: Option<i32>,
    #[diesel(sql_type = Nullable<Int4>)]
    quote_end: Option<i32>,
    #[diesel(sql_type = SqlUuid)]
    first_id: Uuid,
    #[diesel(sql_type = Bool)]
    orphaned: bool,
    #[diesel(sql_type = Nullable<Text>)]
    quote_prefix: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    quote_suffix: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    source_date: Option<DateTime<Utc>>,
    #[diesel(sql_type = SqlUuid)]
    essay_id: Uuid,
}

/// A page of the session's annotations after comment `after`, in comment id
/// (creation) order; `PAGE_SIZE + 1` rows say whether another page exists.
#[tracing::instrument(skip_all)]
pub async fn page(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    everything: bool,
    after: Option<Uuid>,
) -> ApiResult<Vec<Row>> {
    Ok(crate::sql!("models/page.sql")
        .bind::<SqlUuid, _>(session_id)
        .bind::<Bool, _>(everything)
        .bind::<SqlUuid, _>(after.unwrap_or(Uuid::nil()))
        .bind::<BigInt, _>(PAGE_SIZE + 1)
        .load(conn)
        .await?)
}

/// Every comment `author` wrote that is not deleted, after comment `after`
/// in comment id order, `limit` rows: the personal export's annotations
/// (src/users/exports/), whatever the groups' visibility now.
#[tracing::instrument(skip_all)]
pub async fn by_author(
    conn: &mut AsyncPgConnection,
    author: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> ApiResult<Vec<Row>> {
    Ok(crate::sql!("models/by_author.sql")
        .bind::<SqlUuid, _>(author)
        .bind::<SqlUuid, _>(after.unwrap_or(Uuid::nil()))
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await?)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many annotations the caller sees in the session, and how many come
/// before comment `before` (a page's `startIndex`).
#[tracing::instrument(skip_all)]
pub async fn counts(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    everything: bool,
    before: Option<Uuid>,
) -> ApiResult<(i64, i64)> {
    let count = |upto: Uuid| {
        crate::sql!("models/count.sql")
            .bind::<SqlUuid, _>(session_id)
            .bind::<Bool, _>(everything)
            .bind::<SqlUuid, _>(upto)
    };
    let total: Count = count(Uuid::max()).get_result(conn).await?;
    let Some(before) = before else { return Ok((total.n, 0)) };
    let start: Count = count(before).get_result(conn).await?;
    Ok((total.n, start.n))
}

/// One comment, if the caller sees it.
#[tracing::instrument(skip_all)]
pub async fn one(conn: &mut AsyncPgConnection, comment_id: Uuid, everything: bool) -> ApiResult<Option<Row>> {
    let mut rows: Vec<Row> = crate::sql!("models/one.sql")
        .bind::<SqlUuid, _>(comment_id)
        .bind::<Bool, _>(everything)
        .load(conn)
        .await?;
    Ok(rows.pop())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// IRIs under the public base URL.
pub struct Iris<'a>(pub &'a str);

impl Iris<'_> {
    pub fn annotation(&self, comment_id: Uuid) -> String {
        format!("{}/api/v1/annotations/{comment_id}", self.0)
    }

    pub fn collection(&self, session_id: Uuid) -> String {
        format!("{}/api/v1/sessions/{session_id}/annotations", self.0)
    }

    pub fn page(&self, session_id: Uuid, after: Option<Uuid>) -> String {
        match after {
            Some(after) => format!("{}?page={after}", self.collection(session_id)),
            None => format!("{}?page=first", self.collection(session_id)),
        }
    }
}

/// The Annotation of one comment.
pub fn annotation(iris: &Iris<'_>, row: &Row) -> Value {
    let root = row.id == row.first_id;
    let mut body = vec![json!({"type": "TextualBody", "value": row.body, "format": "text/markdown"})];
    if let (true, Some(title)) = (root, &row.title) {
        body.push(
            json!({"type": "TextualBody", "value": title, "purpose": "describing", "format": "text/plain"}),
        );
    }
    let target = if root {
        json!({
            "source": format!("{}/api/v1/essays/{}", iris.0, row.essay_id),
            "state": row.source_date.map(|d| json!({"type": "TimeState", "sourceDate": time(d)})),
            "selector": selectors(row),
        })
    } else {
        json!(iris.annotation(row.parent_id.unwrap_or(row.first_id)))
    };
    let mut target = target;
    if let Some(t) = target.as_object_mut() {
        t.retain(|_, v| !v.is_null());
    }
    json!({
        "@context": CONTEXT,
        "id": iris.annotation(row.id),
        "type": "Annotation",
        "motivation": if root { "commenting" } else { "replying" },
        "created": time(row.created_at),
        "modified": time(row.edited_at.unwrap_or(row.created_at)),
        "creator": {
            "id": format!("{}/api/v1/users/{}", iris.0, row.author_id),
            "type": "Person",
            "nickname": row.username,
            "name": row.display_name,
        },
        "body": body,
        "target": target,
    })
}

/// The paragraph as a FragmentSelector, refined by the quote (text and, for
/// a quote that is still anchored, position).
fn selectors(row: &Row) -> Value {
    let fragment = |refined: Option<Value>| {
        let mut s = json!({"type": "FragmentSelector", "conformsTo": FRAGMENT_SPEC, "value": format!("p-{}", row.paragraph_id)});
        if let (Some(refined), Some(obj)) = (refined, s.as_object_mut()) {
            obj.insert("refinedBy".to_owned(), refined);
        }
        s
    };
    let Some(exact) = &row.quote_exact else {
        return json!([fragment(None)]);
    };
    let mut quote = json!({"type": "TextQuoteSelector", "exact": exact});
    if let Some(obj) = quote.as_object_mut() {
        for (key, value) in [("prefix", &row.quote_prefix), ("suffix", &row.quote_suffix)] {
            if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
                obj.insert(key.to_owned(), json!(v));
            }
        }
    }
    let mut out = vec![fragment(Some(quote))];
    if let (false, Some(start), Some(end)) = (row.orphaned, row.quote_start, row.quote_end) {
        out.push(fragment(Some(json!({"type": "TextPositionSelector", "start": start, "end": end}))));
    }
    json!(out)
}
