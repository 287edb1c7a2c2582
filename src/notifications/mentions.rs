//! Mentions: `@username` in a thread's or comment's body, resolved when the
//! comment is written. Whoever may be told is stored with the comment
//! (`comment_mentions`, in the comment's own transaction); the notifier tells
//! them from the committed comment like any other reason. The author learns in
//! the 201 what became of each name, and nothing more: an outsider of a
//! private group reads `not_a_member`, never whether they exist as someone who
//! could be told, and a recipient who blocked the author reads `notified` and
//! is told nothing.

use std::ops::Range;

use diesel::sql_types::{Array, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::username::Username;
use crate::error::ApiResult;
use crate::ratelimit::RateLimits;

/// At most this many names of one body are resolved; the rest are text.
pub const MAX_PER_BODY: usize = 20;

crate::db_enum! {
    /// What became of a name.
    pub enum MentionStatus {
        /// They will be told (or, having blocked the author, silently not).
        Notified,
        /// They cannot read this group.
        NotAMember,
        /// Nobody has that username.
        Unknown,
        /// The author has named them too often lately (`rate_limit.mentions_per_recipient`).
        RateLimited,
    }
}

/// One name of a body, as the 201 reports it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Mention {
    /// As registered when the name is someone's, else as written.
    pub username: String,
    pub status: MentionStatus,
}

/// The names of a body and who of them is to be told.
#[derive(Debug, Clone, Default)]
pub struct Mentions {
    pub report: Vec<Mention>,
    pub recipients: Vec<Uuid>,
}

/// The distinct names `@`-mentioned in `body` (Markdown), in order of first
/// appearance: not inside a code span or a fenced block, not part of an
/// e-mail address or a longer word. Compared ignoring case, as usernames are.
pub fn names(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for span in spans(body) {
        let name = &body[span];
        if !found.iter().any(|f| f.eq_ignore_ascii_case(name)) {
            found.push(name.to_owned());
            if found.len() == MAX_PER_BODY {
                break;
            }
        }
    }
    found
}

/// `body` with every mention of `old` (ignoring case) naming `new` instead,
/// or `None` when it mentions `old` nowhere. Text that only looks like a
/// mention (in code, in an address) is left as written.
pub fn renamed(body: &str, old: &str, new: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut copied = 0;
    for span in spans(body).into_iter().filter(|s| body[s.clone()].eq_ignore_ascii_case(old)) {
        out.push_str(&body[copied..span.start]);
        out.push_str(new);
        copied = span.end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&body[copied..]);
    Some(out)
}

/// Where each mention's name (after its `@`) sits in `body`, in order.
fn spans(body: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut fence: Option<(u8, usize)> = None;
    let mut offset = 0;
    for raw in body.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let run = |c: u8| trimmed.bytes().take_while(|&b| b == c).count();
        let opens = [b'`', b'~'].into_iter().map(|c| (c, run(c))).find(|&(_, n)| n >= 3);
        match (fence, opens) {
            (None, Some(open)) if indent < 4 => {
                fence = Some(open);
                continue;
            }
            (Some((c, n)), Some((c2, m))) if c == c2 && m >= n && indent < 4 => {
                fence = None;
                continue;
            }
            (Some(_), _) => continue,
            _ => {}
        }
        scan_line(line, start, &mut spans);
    }
    spans
}

/// The mentions of one line (starting at `start` in its body) outside its
/// code spans.
fn scan_line(line: &str, start: usize, spans: &mut Vec<Range<usize>>) {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'`' => {
                let n = bytes[i..].iter().take_while(|&&b| b == b'`').count();
                // A span closes at the next run of exactly as many backticks;
                // an unclosed run is text.
                i = closing_run(bytes, i + n, n).unwrap_or(i + n);
            }
            b'@' => {
                let before = i.checked_sub(1).map(|j| bytes[j]);
                let word_before =
                    before.is_some_and(|b| b.is_ascii_alphanumeric() || b"._-+@/:".contains(&b));
                let len = bytes[i + 1..].iter().take_while(|&&b| is_name_byte(b)).count();
                let name = &line[i + 1..i + 1 + len];
                // `@name@host` or `@name.host` is an address, not a name.
                let after = bytes.get(i + 1 + len).copied();
                let continues = after == Some(b'@')
                    || (after == Some(b'.') && bytes.get(i + 2 + len).is_some_and(|b| is_name_byte(*b)));
                if !word_before && !continues && Username::parse(name).is_ok() {
                    spans.push(start + i + 1..start + i + 1 + len);
                }
                i += 1 + len;
            }
            _ => i += 1,
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Where the code span opened by `n` backticks before `from` ends.
fn closing_run(bytes: &[u8], from: usize, n: usize) -> Option<usize> {
    let mut j = from;
    while j < bytes.len() {
        if bytes[j] == b'`' {
            let m = bytes[j..].iter().take_while(|&&b| b == b'`').count();
            if m == n {
                return Some(j + m);
            }
            j += m;
        } else {
            j += 1;
        }
    }
    None
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    user_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    username: Option<String>,
    #[diesel(sql_type = Bool)]
    readable: bool,
    #[diesel(sql_type = Bool)]
    blocks_author: bool,
}

/// Resolves `names` for a comment by `author` in `thread_id` (whose group
/// decides who may read it, by the access policy's own rule) and spends
/// the author's budget for each recipient to be told.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    limits: &RateLimits,
    thread_id: Uuid,
    author: Uuid,
    names: &[String],
) -> ApiResult<Mentions> {
    if names.is_empty() {
        return Ok(Mentions::default());
    }
    let rows: Vec<Named> = crate::sql!("mentions/resolve.sql")
        .bind::<SqlUuid, _>(thread_id)
        .bind::<SqlUuid, _>(author)
        .bind::<Array<Text>, _>(names)
        .load(conn)
        .await?;
    let mut mentions = Mentions::default();
    for row in rows {
        let status = match row.user_id {
            None => MentionStatus::Unknown,
            Some(id) if id == author => continue,
            Some(_) if !row.readable => MentionStatus::NotAMember,
            Some(_) if row.blocks_author => MentionStatus::Notified,
            Some(id) if !limits.mention(author, id) => MentionStatus::RateLimited,
            Some(id) => {
                mentions.recipients.push(id);
                MentionStatus::Notified
            }
        };
        mentions.report.push(Mention { username: row.username.unwrap_or(row.name), status });
    }
    Ok(mentions)
}

#[cfg(test)]
mod tests {
    use super::{names, renamed};

    #[test]
    fn names_outside_code_and_addresses() {
        let body = "Thanks @alice and @Bob_2, see `@carol` and mail dave@example.org.\n\
                    ```\n@erin in a fence\n```\n\
                    ~~~~\n@frank\n~~~~\n\
                    Also @alice again, @ALICE, @gina. @hal@example.org @ivy.example and ``a ` @jo ``.\n\
                    An unclosed `tick @kim, @x, @toolong_toolong_toolong_toolong_x";
        assert_eq!(names(body), ["alice", "Bob_2", "gina", "kim"]);
    }

    #[test]
    fn at_most_the_limit() {
        let body: String = (0..30).map(|i| format!("@user{i} ")).collect();
        assert_eq!(names(&body).len(), super::MAX_PER_BODY);
    }

    #[test]
    fn renaming_touches_mentions_only() {
        let body = "@Alice wrote, cf. @alice_b and `@alice`;\r\n```\n@alice\n```\nmail alice@x.org, @alice.";
        let out = renamed(body, "alice", "deleted-1a2b").expect("mentions alice");
        assert_eq!(
            out,
            "@deleted-1a2b wrote, cf. @alice_b and `@alice`;\r\n```\n@alice\n```\nmail alice@x.org, @deleted-1a2b."
        );
        assert_eq!(renamed("only `@alice` in code", "alice", "x"), None);
    }
}
