//! Groups, the fixture essay and an open session on it: what most scenarios
//! start from.

use serde_json::{json, Value};

use super::app::TestApp;
use super::essay::{essay_fixture, ESSAY_AUTHOR, ESSAY_TITLE};
use super::users::TestUser;

impl TestApp {
    /// A group owned by `owner`; `visibility` is "public" or "private". Returns its id.
    pub async fn create_group(&self, owner: &TestUser, visibility: &str) -> String {
        let name = format!("Group {}", uuid::Uuid::new_v4().simple());
        let body = self
            .post("/groups", Some(&owner.token), json!({"name": name, "visibility": visibility}))
            .await
            .expect(201);
        body["id"].as_str().expect("group id").to_owned()
    }

    /// `user` joins a public group, or is invited into a private one by `owner`.
    pub async fn add_member(&self, group_id: &str, owner: &TestUser, user: &TestUser, role: &str) {
        let invite = self
            .post(&format!("/groups/{group_id}/invites"), Some(&owner.token), json!({}))
            .await
            .expect(201);
        let code = invite["code"].as_str().expect("code");
        self.post(&format!("/invites/{code}/accept"), Some(&user.token), json!({})).await.expect(201);
        if role != "member" {
            self.put(
                &format!("/groups/{group_id}/members/{}/role", user.id),
                Some(&owner.token),
                json!({"role": role}),
            )
            .await
            .expect(200);
        }
    }

    /// Imports `body` as a text essay into the group; returns the essay JSON (with paragraphs).
    pub async fn import_essay(&self, group_id: &str, organiser: &TestUser, body: &str) -> Value {
        self.post(
            &format!("/groups/{group_id}/essays"),
            Some(&organiser.token),
            json!({"title": ESSAY_TITLE, "author": ESSAY_AUTHOR, "format": "text", "body": body}),
        )
        .await
        .expect(201)
    }

    /// An open session on the essay; returns its id.
    pub async fn open_session(&self, group_id: &str, organiser: &TestUser, essay_id: &str) -> String {
        let body = self
            .post(
                &format!("/groups/{group_id}/sessions"),
                Some(&organiser.token),
                json!({"essay_id": essay_id, "title": "Week 1", "starts_at": "2026-01-01T18:00:00Z", "status": "open"}),
            )
            .await
            .expect(201);
        body["id"].as_str().expect("session id").to_owned()
    }
}

/// A group with the fixture essay and an open session, owned by `owner`.
pub struct Reading {
    pub group_id: String,
    pub essay: Value,
    pub session_id: String,
}

impl Reading {
    pub fn paragraph_id(&self, position: usize) -> String {
        self.essay["paragraphs"][position]["id"].as_str().expect("paragraph id").to_owned()
    }

    pub fn paragraph_text(&self, position: usize) -> String {
        self.essay["paragraphs"][position]["text"].as_str().expect("paragraph text").to_owned()
    }
}

impl TestApp {
    /// A `visibility` group owned by `owner`, with the fixture essay and an open session on it.
    pub async fn reading(&self, owner: &TestUser, visibility: &str) -> Reading {
        let group_id = self.create_group(owner, visibility).await;
        let essay = self.import_essay(&group_id, owner, &essay_fixture()).await;
        let essay_id = essay["id"].as_str().expect("essay id").to_owned();
        let session_id = self.open_session(&group_id, owner, &essay_id).await;
        Reading { group_id, essay, session_id }
    }
}

impl TestApp {
    /// An invite code for the group, created by `organiser` with `body` (`{max_uses?, expires_at?}`).
    pub async fn invite(&self, group_id: &str, organiser: &TestUser, body: Value) -> String {
        let invite =
            self.post(&format!("/groups/{group_id}/invites"), Some(&organiser.token), body).await.expect(201);
        invite["code"].as_str().expect("code").to_owned()
    }
}
