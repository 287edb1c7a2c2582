//! Signing up and signing in.

use serde_json::{json, Value};

use super::app::TestApp;
use super::client::Resp;

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn login(&self, login: &str, password: &str) -> Resp {
        self.post("/auth/login", None, json!({"login": login, "password": password})).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Resp {
        self.post("/auth/refresh", None, json!({"refresh_token": refresh_token})).await
    }

    /// Registers `username` (email `<username>@example.org`, password `password-<username>`).
    pub async fn register(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.org");
        let password = format!("password-{username}");
        let body = self
            .post("/auth/register", None, json!({"username": username, "email": email, "password": password}))
            .await
            .expect(201);
        TestUser {
            id: body["user"]["id"].as_str().expect("id").to_owned(),
            username: username.to_owned(),
            email,
            password,
            token: body["access_token"].as_str().expect("access").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }
}

/// The body of POST /auth/register.
pub fn register_body(username: &str, email: &str, password: &str) -> Value {
    json!({"username": username, "email": email, "password": password})
}
