//! The first statement of every read of a session's paragraphs and counts:
//! the caller's access, the event cursor the read hands out, and a version
//! of everything the answer is made of, so that a client holding the current
//! answer gets its 304 after this one statement, before any counter is read.
//!
//! Why the event log can version the counts: every write that changes a
//! counter, a paragraph or a thread's place appends an event for the session
//! in its own transaction (the triggers of src/db/replaceable/triggers.sql),
//! so the set of the session's committed events determines the answer. That
//! set is named by its newest event `E` only while `E` is settled (its xid is
//! below this snapshot's xmin): a transaction that commits later was still
//! running at this snapshot, so its xid is at or above the xmin, above `E`'s,
//! and its event becomes the newest. While the newest event is not settled
//! there is no version and the tag hashes the body, as for every other read.
//! A session with no events left (never any, or all aged out by retention)
//! is named by retention's watermark, which moves whenever events age out.
//! A reader's unread counts are the counters less their seen counts per
//! paragraph (src/unread); between two events those only rise (raising a
//! mark), so their number and sum name them: every other change of a seen
//! count (a hide, a restore, a move) appends an event in its transaction.

use actix_web::{HttpRequest, HttpResponse};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use super::kept::KeptResponses;
use crate::access::{self, CallerFacts, GroupAccess};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::conditional;
use crate::versions::cursor::{self as event_cursor, Cursor};

#[derive(QueryableByName)]
struct State {
    #[diesel(embed)]
    facts: CallerFacts,
    #[diesel(embed)]
    events: SessionEvents,
    /// The reader's non-zero seen counts, one per paragraph (src/unread).
    #[diesel(sql_type = Array<Integer>)]
    seen: Vec<i32>,
}

/// The `profiles` watermark, which names the organiser's report too.
#[derive(QueryableByName)]
struct ProfilesMark {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// The event columns of a versioned read: the horizon, the session's
/// newest event (`event_xid`, `event_id`) and retention's watermark
/// (`pruned_xid`, `pruned_id`).
#[derive(QueryableByName)]
pub struct SessionEvents {
    #[diesel(sql_type = BigInt)]
    pub horizon: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    event_xid: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    event_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pruned_xid: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pruned_id: Option<i64>,
}

/// Which answer is being versioned: their bodies differ.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Counts,
    Paragraphs,
    /// The organiser's report (`/sessions/{id}/report`): the same for every
    /// organiser, and it shows participants, so the `profiles` watermark
    /// names it too.
    Report,
}

/// A read of a session the caller may see, begun.
pub struct SessionRead {
    pub access: GroupAccess,
    /// Whether the reader has seen any counted comment of the session: if
    /// not, every counted comment is unread and nothing more is read.
    pub has_read_marks: bool,
    pub answer: Versioned,
}

/// An answer about to be sent, with the event cursor it hands out and, when
/// one exists, the version that names it (its tag, and its key among the
/// kept responses).
pub struct Versioned {
    cursor: (&'static str, String),
    version: Option<String>,
}

/// The caller's access to the session (404 when they may not read it, 401
/// for a revoked token), the cursor, and the version of `answer`.
pub async fn begin(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    session_id: Uuid,
    answer: Answer,
) -> ApiResult<SessionRead> {
    let state: Option<State> = match (caller, answer) {
        (None, Answer::Counts | Answer::Paragraphs) => {
            crate::sql!("session/state_anonymous.sql").bind::<SqlUuid, _>(session_id).get_result(conn).await
        }
        _ => {
            let (uid, ver) = access::caller_key(caller);
            crate::sql!("session/state.sql")
                .bind::<SqlUuid, _>(uid)
                .bind::<Integer, _>(ver)
                .bind::<SqlUuid, _>(session_id)
                .get_result(conn)
                .await
        }
    }
    .optional()?;
    let state = state.ok_or_else(ApiError::not_found)?;
    let horizon = state.events.horizon;
    let access = state.facts.decide(caller.is_some())?;
    access.require_read()?;
    let has_read_marks = !state.seen.is_empty();
    let version = match answer {
        Answer::Report => {
            // Read after the state: a watermark moved since is at or above
            // the horizon, so unsettled, and the report goes unversioned.
            let mark: ProfilesMark = crate::sql!("session/profiles_mark.sql").get_result(conn).await?;
            let profiles = state.events.settled(Some(mark.xid), Some(mark.id));
            version(&state.events, answer, session_id).zip(profiles).map(|(v, p)| format!("{v}|{p}"))
        }
        Answer::Counts | Answer::Paragraphs => version(&state.events, answer, session_id)
            .map(|v| format!("{v}|{}|{}", marks(&state.seen), reader_of(&access, has_read_marks))),
    };
    Ok(SessionRead { access, has_read_marks, answer: Versioned::new(horizon, version) })
}

/// Whose answer it is. The body holds nothing of the reader but the unread
/// counts, so every signed-in reader who has seen no counted comment of the
/// session gets the same answer (every counted comment is unread: posting
/// marks the author's thread read), and so the same tag and kept body.
fn reader_of(access: &GroupAccess, has_read_marks: bool) -> String {
    match access.user_id {
        None => "anonymous".to_owned(),
        Some(_) if !has_read_marks => "signed in, nothing read".to_owned(),
        Some(user_id) => user_id.to_string(),
    }
}

/// What names the session's part of the answer now, or `None` while the
/// newest event is unsettled.
fn version(events: &SessionEvents, answer: Answer, session_id: Uuid) -> Option<String> {
    Some(format!("{answer:?}|{session_id}|{}", events.named()?))
}

/// The reader's seen counts, named by their number and sum: between two
/// events they only rise (see the top of this file).
fn marks(seen: &[i32]) -> String {
    let sum: i64 = seen.iter().map(|&n| i64::from(n)).sum();
    format!("{}.{sum}", seen.len())
}

impl SessionEvents {
    /// The set of the session's committed events, named by its newest event
    /// while that is settled (below the horizon), or by retention's
    /// watermark when no event is left; `None` while unsettled.
    pub fn named(&self) -> Option<String> {
        match self.event_xid {
            Some(_) => self.settled(self.event_xid, self.event_id),
            None => Some(format!("none after {:?}.{:?}", self.pruned_xid, self.pruned_id)),
        }
    }

    /// A mark `(xid, id)` written by a transaction (an event, a watermark)
    /// named as `xid.id` once that transaction is settled, else `None`.
    pub fn settled(&self, xid: Option<i64>, id: Option<i64>) -> Option<String> {
        match (xid, id) {
            (Some(xid), Some(id)) if xid < self.horizon => Some(format!("{xid}.{id}")),
            _ => None,
        }
    }
}

impl Versioned {
    /// The cursor at `horizon`, and the answer's `version` (any text that
    /// names everything the body is made of) turned into its tag.
    pub fn new(horizon: i64, version: Option<String>) -> Self {
        Self {
            cursor: (event_cursor::HEADER, Cursor::at_horizon(horizon).to_string()),
            version: version.map(|v| conditional::tag_of(v.as_bytes())),
        }
    }

    /// The answer without reading what it is made of: the 304 when the client's
    /// `If-None-Match` names the current version, else the answer this
    /// instance built for the same version before (src/versions/kept.rs).
    pub fn known(&self, req: &HttpRequest, answers: &KeptResponses) -> Option<HttpResponse> {
        let tag = self.version.as_ref()?;
        if conditional::none_match(req, tag) {
            return Some(conditional::not_modified(tag.clone(), std::slice::from_ref(&self.cursor)));
        }
        let body = answers.get(tag)?;
        Some(conditional::bytes_tagged(req, body, Some(tag), std::slice::from_ref(&self.cursor)))
    }

    /// [`Self::known`] for an answer that is not JSON.
    pub fn known_as(
        &self,
        req: &HttpRequest,
        answers: &KeptResponses,
        content_type: &'static str,
    ) -> Option<HttpResponse> {
        let mut response = self.known(req, answers)?;
        if response.status().is_success() {
            set_content_type(&mut response, content_type);
        }
        Some(response)
    }

    /// The same answer in another representation (say, CSV instead of
    /// JSON): a version of its own, so tags and kept bodies never mix.
    pub fn variant(mut self, name: &str) -> Self {
        self.version = self.version.map(|tag| conditional::tag_of(format!("{tag}|{name}").as_bytes()));
        self
    }

    /// `body` (already made, of `content_type`) under the version (or its
    /// own hash), with the cursor; kept for the next read of the same version.
    pub fn bytes(
        self,
        req: &HttpRequest,
        answers: &KeptResponses,
        body: actix_web::web::Bytes,
        content_type: &'static str,
    ) -> HttpResponse {
        if let Some(tag) = &self.version {
            answers.keep(tag, &body);
        }
        let mut response = conditional::bytes_tagged(req, body, self.version.as_deref(), &[self.cursor]);
        if response.status().is_success() {
            set_content_type(&mut response, content_type);
        }
        response
    }

    /// `body` under the version (or its own hash), with the cursor; kept
    /// for the next read of the same version.
    pub fn json<T: Serialize>(
        self,
        req: &HttpRequest,
        answers: &KeptResponses,
        body: &T,
    ) -> ApiResult<HttpResponse> {
        let bytes = conditional::to_json(body)?;
        if let Some(tag) = &self.version {
            answers.keep(tag, &bytes);
        }
        Ok(conditional::bytes_tagged(req, bytes, self.version.as_deref(), &[self.cursor]))
    }
}

fn set_content_type(response: &mut HttpResponse, content_type: &'static str) {
    response.headers_mut().insert(
        actix_web::http::header::CONTENT_TYPE,
        actix_web::http::header::HeaderValue::from_static(content_type),
    );
}
