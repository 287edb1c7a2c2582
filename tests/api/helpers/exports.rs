//! Personal exports: asking for one, waiting until it is ready, and
//! fetching and unpacking its zip.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::{json, Value};

use super::{spawn_app_with, TestApp, TestUser};

/// Where the export builder looks in these tests.
pub fn export_settings(s: &mut pilcrow::config::Settings) {
    s.exports.poll_interval_ms = 100;
    s.exports.batch_rows = 7;
}

/// An app whose builder looks every 100 ms and reads small batches (so
/// even a small account is read in several).
pub async fn spawn_export_app() -> TestApp {
    spawn_app_with(export_settings).await
}

impl TestApp {
    /// Asks for an export as `user`: 202, its id.
    pub async fn request_export(&self, user: &TestUser) -> String {
        let resp = self.call(reqwest::Method::POST, "/me/exports", Some(&user.token), None).await;
        let location = resp.header("location").map(str::to_owned);
        let body = resp.expect(202);
        assert_eq!(body["status"], "pending", "{body}");
        let id = body["id"].as_str().expect("an id").to_owned();
        assert_eq!(location.as_deref(), Some(format!("/api/v1/me/exports/{id}").as_str()));
        id
    }

    /// Polls the export until it is no longer pending (within `secs`).
    pub async fn export_done(&self, user: &TestUser, id: &str, secs: u64) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let body = self.get(&format!("/me/exports/{id}"), Some(&user.token)).await.expect(200);
            if body["status"] != "pending" {
                return body;
            }
            assert!(tokio::time::Instant::now() < deadline, "export {id} still pending after {secs} s");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The request for a `download_url`, sent to this instance whatever
    /// public base URL it was made with.
    pub fn download_request(&self, download_url: &str) -> reqwest::RequestBuilder {
        let base = self.settings.server.public_base_url.trim_end_matches('/');
        let path = download_url.strip_prefix(base).expect("a link under the public base URL");
        self.client.get(format!("{}{path}", self.address))
    }

    /// Downloads a `download_url` without a token: status, headers, bytes.
    pub async fn download(&self, download_url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let resp = self.download_request(download_url).send().await.expect("download");
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        (status, headers, resp.bytes().await.expect("body").to_vec())
    }
}

/// Every file of a zip, by name, as text.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("an entry");
        let name = file.name().expect("a file name").into_owned();
        let mut text = String::new();
        file.read_to_string(&mut text).expect("utf-8 text");
        files.insert(name, text);
    }
    files
}

/// A file of the archive, parsed.
pub fn json_of(files: &BTreeMap<String, String>, name: &str) -> Value {
    let text = files.get(name).unwrap_or_else(|| panic!("{name} missing from {:?}", files.keys()));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"))
}
