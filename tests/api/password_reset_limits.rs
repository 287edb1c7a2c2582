//! Reset mail is limited per recipient as well as per client: many addresses
//! asking for one inbox get the same 202 each, and only a few mails go out.

use serde_json::json;

use crate::helpers::{limited_behind_proxy, small, spawn_app_with, SmtpInbox};

#[tokio::test]
async fn many_addresses_cannot_flood_one_inbox_and_the_answer_stays_the_same() {
    let mut inbox = SmtpInbox::start().await;
    let url = inbox.url.clone();
    let app = spawn_app_with(|s| {
        limited_behind_proxy(s);
        s.mail.smtp_url = Some(url.into());
        s.rate_limit.password_reset_per_recipient = small(2);
    })
    .await;
    app.register("alice").await;
    inbox.next_where(10, |m| m.subject().contains("Confirm")).await.expect("the verification mail");
    let reset = |client: String, email: &'static str| {
        app.raw(
            app.client
                .post(app.url("/auth/password-reset"))
                .header("x-forwarded-for", client)
                .json(&json!({"email": email})),
        )
    };
    let unknown = reset("203.0.113.1".into(), "nobody@example.org").await;
    for i in 0..6 {
        // Her address as typed in any case is one recipient.
        let email = if i % 2 == 0 { "alice@example.org" } else { "ALICE@example.org" };
        let resp = reset(format!("198.51.100.{i}"), email).await;
        assert_eq!(resp.status, 202);
        assert_eq!(resp.shape(), unknown.shape(), "request {i} answered differently");
    }
    for _ in 0..2 {
        let message = inbox.next(10).await.expect("a reset mail");
        assert!(message.contains("To: alice@example.org"), "{message}");
    }
    assert!(inbox.next(3).await.is_none(), "more than 2 reset mails reached one inbox");
}
