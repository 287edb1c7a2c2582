//! What one client may hold open: anonymous streams and waiting long-polls
//! per address, a user's long-polls beside their streams, a cap per
//! instance, and slots that come back as soon as a client closes.

use std::time::Duration;

use crate::helpers::{spawn_app_with, Resp, TestApp, SOON};

impl TestApp {
    /// An anonymous SSE request, answered as a refusal or kept open.
    async fn open_anonymous(&self, session_id: &str) -> crate::helpers::EventStream {
        self.open_events(session_id, None, "", None).await
    }

    /// A long-poll that waits `wait` seconds, in the background.
    /// KeptResponses with its status.
    fn long_poll(&self, session_id: &str, token: Option<&str>, wait: u64) -> tokio::task::JoinHandle<u16> {
        let mut req = self.client.get(self.url(&format!("/sessions/{session_id}/events?wait={wait}")));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        tokio::spawn(async move { req.send().await.expect("long-poll").status().as_u16() })
    }

    /// A long-poll answered at once (`wait=0`).
    async fn poll_now(&self, session_id: &str, token: Option<&str>) -> Resp {
        let mut req = self.client.get(self.url(&format!("/sessions/{session_id}/events")));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        self.raw(req).await
    }
}

/// Waits until the instance holds `n` slots (streams and waiting long-polls).
async fn holding(app: &TestApp, n: usize, within: Duration) {
    let started = tokio::time::Instant::now();
    while app.events.open_streams() != n {
        assert!(started.elapsed() < within, "{} slots held, not {n}", app.events.open_streams());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_address_holds_at_most_its_share_of_anonymous_streams_and_long_polls() {
    let app = spawn_app_with(|s| s.events.max_streams_per_address = 3).await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let s = &reading.session_id;

    let mut open = Vec::new();
    for _ in 0..3 {
        let stream = app.open_anonymous(s).await;
        assert_eq!(stream.status, 200);
        open.push(stream);
    }
    let refused = app.open_anonymous(s).await;
    assert_eq!(refused.status, 429);
    let retry: u64 = refused.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(retry >= 1);
    // A long-poll is refused the same way.
    app.poll_now(s, None).await.expect_problem(429, "rate_limited");
    // Signed-in readers from the same address count per account.
    let owners = app.open_events(s, Some(&owner.token), "", None).await;
    assert_eq!(owners.status, 200);

    // A stream the client closes frees its slot at once (not at the next
    // ping 15 s on): a browser that reconnects is never locked out by its
    // own old connections.
    holding(&app, 4, SOON).await;
    for round in 0..3 {
        drop(open.pop());
        holding(&app, 3, Duration::from_secs(1)).await;
        let reopened = app.open_anonymous(s).await;
        assert_eq!(reopened.status, 200, "round {round}: the slot came back");
        open.push(reopened);
    }

    // Waiting long-polls hold slots too.
    open.clear();
    holding(&app, 1, Duration::from_secs(1)).await;
    let polls: Vec<_> = (0..3).map(|_| app.long_poll(s, None, 5)).collect();
    holding(&app, 4, SOON).await;
    assert_eq!(app.open_anonymous(s).await.status, 429, "three long-polls wait");
    for poll in polls {
        assert_eq!(poll.await.expect("long-poll"), 200);
    }
    assert_eq!(app.open_anonymous(s).await.status, 200, "answered long-polls let go");
}

#[tokio::test]
async fn a_users_waiting_long_polls_count_with_their_streams() {
    let app = spawn_app_with(|s| s.events.max_streams_per_user = 2).await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let s = &reading.session_id;
    let _stream = app.subscribe(s, Some(&owner.token)).await;
    let poll = app.long_poll(s, Some(&owner.token), 5);
    holding(&app, 2, SOON).await;
    app.poll_now(s, Some(&owner.token)).await.expect_problem(429, "rate_limited");
    assert_eq!(app.open_events(s, Some(&owner.token), "", None).await.status, 429);
    assert_eq!(poll.await.expect("long-poll"), 200);
}

#[tokio::test]
async fn an_instance_full_of_streams_answers_503_and_recovers() {
    let app = spawn_app_with(|s| s.events.max_streams = 2).await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let s = &reading.session_id;
    let first = app.open_anonymous(s).await;
    assert_eq!(first.status, 200);
    let _second = app.subscribe(s, Some(&owner.token)).await;
    let full = app.poll_now(s, None).await;
    full.expect_problem(503, "too_many_streams");
    assert!(full.header("retry-after").is_some());
    assert_eq!(app.open_events(s, Some(&owner.token), "", None).await.status, 503);
    // Other routes go on.
    app.get(&format!("/sessions/{s}/paragraphs"), None).await.expect(200);
    drop(first);
    holding(&app, 1, Duration::from_secs(1)).await;
    assert_eq!(app.poll_now(s, None).await.status, 200, "a closed stream's slot came back");
}
