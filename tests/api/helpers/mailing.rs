//! Notification mail: an app that mails to a test SMTP listener, and
//! verifying an address from the mail it received.

use serde_json::json;

use super::{spawn_app_with, Mail, SmtpInbox, TestApp, TestUser};

/// Where notification mail links to in these tests.
pub const APP_URL: &str = "https://app.reading.example";

/// An app mailing to `inbox`, with a fast notifier, items mailed
/// `delay_secs` after their activity, looked for every 100 ms, and digest
/// rounds left to the test (`TestApp::mailing`).
pub async fn spawn_mail_app(inbox: &SmtpInbox, delay_secs: u64) -> TestApp {
    let url = inbox.url.clone();
    spawn_app_with(move |s| mail_settings(s, &url, delay_secs)).await
}

pub fn mail_settings(s: &mut pilcrow::config::Settings, smtp_url: &str, delay_secs: u64) {
    s.mail.smtp_url = Some(smtp_url.to_owned().into());
    s.mail.app_url = APP_URL.into();
    s.server.public_base_url = "https://api.reading.example".into();
    s.notifications.derive_interval_ms = 50;
    s.notifications.email_delay_secs = delay_secs;
    s.notifications.email_interval_ms = 100;
    s.notifications.digest_interval_secs = 86_400;
}

/// Whether `mail` went to `user`.
pub fn to(mail: &Mail, user: &TestUser) -> bool {
    mail.to().contains(&user.email)
}

impl TestApp {
    /// Takes `user`'s verification mail from `inbox` and confirms it.
    pub async fn verify_email(&self, inbox: &mut SmtpInbox, user: &TestUser) {
        let mail = inbox
            .next_where(10, |m| to(m, user) && m.subject().contains("Confirm"))
            .await
            .expect("a verification mail");
        let token = mail.token().expect("a link with a token");
        self.post("/auth/verify-email", None, json!({"token": token})).await.expect(204);
    }

    /// Registers `username` and verifies the address from the mail.
    pub async fn register_verified(&self, inbox: &mut SmtpInbox, username: &str) -> TestUser {
        let user = self.register(username).await;
        self.verify_email(inbox, &user).await;
        user
    }
}
