//! Reading live session events the way a client does: a real HTTP stream,
//! parsed as Server-Sent Events.

use std::time::Duration;

use serde_json::Value;

use super::app::TestApp;

/// One event off the wire.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

pub struct EventStream {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    response: reqwest::Response,
    buffer: String,
    /// Comment lines seen so far (`: ping`, the shutdown notice).
    pub comments: Vec<String>,
    /// `retry:` values seen so far.
    pub retries: Vec<u64>,
    /// Whether the server ended the stream.
    pub ended: bool,
}

impl TestApp {
    /// Opens `GET /sessions/{session}/events` as an SSE client; `query` is
    /// appended as is (e.g. `"?after=…"`), `last_event_id` goes in the header.
    pub async fn open_events(
        &self,
        session_id: &str,
        token: Option<&str>,
        query: &str,
        last_event_id: Option<&str>,
    ) -> EventStream {
        self.open_sse(&format!("/sessions/{session_id}/events{query}"), token, last_event_id).await
    }

    /// Opens the caller's notification stream, `GET /me/notifications/events{query}`.
    pub async fn open_inbox_events(
        &self,
        token: Option<&str>,
        query: &str,
        last_event_id: Option<&str>,
    ) -> EventStream {
        self.open_sse(&format!("/me/notifications/events{query}"), token, last_event_id).await
    }

    /// Opens `path` as an SSE client.
    pub async fn open_sse(
        &self,
        path: &str,
        token: Option<&str>,
        last_event_id: Option<&str>,
    ) -> EventStream {
        let mut req = self.client.get(self.url(path)).header("accept", "text/event-stream");
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let response = req.send().await.expect("events request");
        EventStream {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            response,
            buffer: String::new(),
            comments: Vec::new(),
            retries: Vec::new(),
            ended: false,
        }
    }

    /// [`open_events`] that must succeed.
    pub async fn subscribe(&self, session_id: &str, token: Option<&str>) -> EventStream {
        let stream = self.open_events(session_id, token, "", None).await;
        assert_eq!(stream.status, 200, "opening the event stream");
        stream
    }
}

/// How long the event tests wait for an event that must come: 10 s, though
/// one comes in milliseconds. A stream sends an event once it is settled,
/// below every transaction still running in the whole cluster (the horizon,
/// src/versions/cursor.rs), and the suite's other tests, each in its own
/// database of the same cluster, hold transactions with row locks open for a
/// second or more (operations_timeouts, posting_races). With 3 s a CI run
/// under load once missed a `thread.created`. A wait that ends early costs
/// nothing.
pub const SOON: Duration = Duration::from_secs(10);

impl EventStream {
    /// The next event within `within`, or `None` (timeout or end of stream).
    pub async fn next_event(&mut self, within: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(event) = self.parse_one() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return None,
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None)) | Ok(Err(_)) => self.ended = true,
            }
        }
    }

    /// The first event `pred` accepts within `within`; panics otherwise.
    pub async fn until(&mut self, within: Duration, pred: impl Fn(&Sse) -> bool) -> Sse {
        let deadline = tokio::time::Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_event(left).await {
                Some(event) if pred(&event) => return event,
                Some(event) => seen.push(event),
                None => panic!("no matching event within {within:?}; saw {seen:#?}"),
            }
        }
    }

    /// Every event arriving within `window`.
    pub async fn collect_for(&mut self, window: Duration) -> Vec<Sse> {
        let deadline = tokio::time::Instant::now() + window;
        let mut events = Vec::new();
        while let Some(event) =
            self.next_event(deadline.saturating_duration_since(tokio::time::Instant::now())).await
        {
            events.push(event);
        }
        events
    }

    /// Reads until the server closes the stream (or `within` passes); returns what came.
    pub async fn until_end(&mut self, within: Duration) -> Vec<Sse> {
        let deadline = tokio::time::Instant::now() + within;
        let mut events = Vec::new();
        while !self.ended && tokio::time::Instant::now() < deadline {
            if let Some(event) =
                self.next_event(deadline.saturating_duration_since(tokio::time::Instant::now())).await
            {
                events.push(event);
            }
        }
        events
    }

    fn parse_one(&mut self) -> Option<Sse> {
        loop {
            let end = self.buffer.find("\n\n")?;
            let block: String = self.buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, None, None);
            for line in block.lines() {
                if let Some(comment) = line.strip_prefix(':') {
                    self.comments.push(comment.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("retry: ") {
                    self.retries.push(v.parse().expect("retry value"));
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_owned());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    assert!(data.is_none(), "one data line per event: {block:?}");
                    data = Some(serde_json::from_str(v).expect("data is JSON"));
                }
            }
            if let Some(event) = event {
                return Some(Sse { id, event, data: data.unwrap_or(Value::Null) });
            }
        }
    }
}

/// The ids of `comment.created` events, in arrival order.
pub fn created_comment_ids(events: &[Sse]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.event == "comment.created")
        .map(|e| e.data["comment"]["id"].as_str().expect("comment id").to_owned())
        .collect()
}
