//! Calling the API: one method per verb, and `Resp`, a response read once
//! with assertions for the problem+json shape.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::Value;

use super::app::TestApp;

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The problem's `code`, for error responses.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self.body
    }

    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_eq!(self.body["status"], status, "body: {}", self.body);
    }

    /// A 401 as RFC 6750 asks: problem+json and a `WWW-Authenticate: Bearer` challenge.
    #[track_caller]
    pub fn expect_unauthorized(&self, code: &str) {
        self.expect_problem(401, code);
        assert!(
            self.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")),
            "no Bearer challenge; headers: {:?}",
            self.headers
        );
    }
}

impl TestApp {
    /// `path` is under /api/v1 unless it starts with `!` (then it is taken as is).
    pub fn url(&self, path: &str) -> String {
        match path.strip_prefix('!') {
            Some(raw) => format!("{}{raw}", self.address),
            None => format!("{}/api/v1{path}", self.address),
        }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Resp {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        read(req.send().await.expect("request")).await
    }

    pub async fn raw(&self, req: reqwest::RequestBuilder) -> Resp {
        read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    /// GET with `If-None-Match: tag`.
    pub async fn revalidate(&self, path: &str, token: Option<&str>, tag: &str) -> Resp {
        let mut req = self.client.get(self.url(path)).header(reqwest::header::IF_NONE_MATCH, tag);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        self.raw(req).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }
}

async fn read(res: reqwest::Response) -> Resp {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Resp { status, headers, body }
}

impl TestApp {
    /// Follows `next_cursor` from `path` (which must not hold a query string yet)
    /// with pages of `limit`, calling `between` after every page; returns every item id seen.
    pub async fn walk_ids<F, Fut>(
        &self,
        path: &str,
        token: Option<&str>,
        limit: usize,
        mut between: F,
    ) -> Vec<String>
    where
        F: FnMut(usize) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        for page_no in 0..1000 {
            let url = match &cursor {
                Some(c) => format!("{path}?limit={limit}&cursor={c}"),
                None => format!("{path}?limit={limit}"),
            };
            let page = self.get(&url, token).await.expect(200);
            let items = page["items"].as_array().expect("items");
            assert!(items.len() <= limit, "page larger than limit: {page}");
            for item in items {
                let id = item.get("id").or_else(|| item["user"].get("id")).expect("item id");
                ids.push(id.as_str().expect("id string").to_owned());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return ids,
            }
            between(page_no).await;
        }
        panic!("more than 1000 pages")
    }
}

impl Resp {
    /// Status, content type and body, for comparing two responses.
    pub fn shape(&self) -> (u16, Option<String>, Value) {
        (self.status, self.header("content-type").map(str::to_owned), self.body.clone())
    }
}

/// Every id of `walked` once, and every id of `before` among them.
pub fn assert_each_once(walked: &[String], before: &[String]) {
    let unique: HashSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "an item came twice: {walked:?}");
    for id in before {
        assert!(unique.contains(id), "{id} was skipped: {walked:?}");
    }
}
