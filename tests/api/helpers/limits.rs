//! Rate limits switched on with small numbers, clients behind a trusted
//! proxy, and what a refusal must carry.

use pilcrow::config::{Settings, Window};
use serde_json::json;

use super::app::TestApp;
use super::client::Resp;

/// `requests` an hour, no burst beyond them.
pub fn small(requests: u32) -> Window {
    Window { requests, window_secs: 3600, burst: 0 }
}

/// The test settings switch rate limits off; these tests switch them on.
pub fn limited(s: &mut Settings) {
    s.rate_limit.enabled = true;
}

/// Limits on, and the test client (127.0.0.1) a trusted proxy, so a test
/// names each request's client in `X-Forwarded-For`.
pub fn limited_behind_proxy(s: &mut Settings) {
    limited(s);
    s.server.trusted_proxies = vec!["127.0.0.1".into()];
}

impl TestApp {
    /// A login sent as if through a proxy for `client`.
    pub async fn login_from(&self, client: &str, login: &str, password: &str) -> Resp {
        self.raw(
            self.client
                .post(self.url("/auth/login"))
                .header("x-forwarded-for", client)
                .json(&json!({"login": login, "password": password})),
        )
        .await
    }
}

/// A 429 `rate_limited` naming `policy` in its IETF RateLimit headers.
#[track_caller]
pub fn assert_rate_limited(resp: &Resp, policy: &str) {
    resp.expect_problem(429, "rate_limited");
    let retry: u64 = resp.header("retry-after").and_then(|v| v.parse().ok()).expect("Retry-After seconds");
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");
    let declared = resp.header("ratelimit-policy").expect("RateLimit-Policy");
    assert!(declared.starts_with(&format!("\"{policy}\";q=")), "RateLimit-Policy: {declared}");
    let state = resp.header("ratelimit").expect("RateLimit");
    assert_eq!(state, format!("\"{policy}\";r=0;t={retry}"));
}
