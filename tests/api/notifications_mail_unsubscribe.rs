//! One-click unsubscribe exactly as a mailbox provider does it: the URL from
//! the received List-Unsubscribe header, the form body
//! `List-Unsubscribe=One-Click`, no credentials. GET changes nothing.

use crate::helpers::{id, spawn_mail_app, to, Mail, SmtpInbox, TestApp};

/// The URL inside `List-Unsubscribe: <…>`, moved to the test server (the
/// mail names the configured public base URL).
fn unsubscribe_url(app: &TestApp, mail: &Mail) -> String {
    let header = mail.header("list-unsubscribe").expect("List-Unsubscribe");
    let url = header.trim_start_matches('<').trim_end_matches('>');
    url.replace("https://api.reading.example", &app.address)
}

#[tokio::test]
async fn one_click_stops_the_immediate_mails_and_the_page_changes_nothing() {
    let mut inbox = SmtpInbox::start().await;
    let smtp = inbox.url.clone();
    // With CORS on for the frontend, as in production.
    let app = crate::helpers::spawn_app_with(move |s| {
        crate::helpers::mail_settings(s, &smtp, 1);
        s.server.cors_allowed_origins = vec![crate::helpers::APP_URL.to_owned()];
    })
    .await;
    let owner = app.register("owner").await;
    let alice = app.register_verified(&mut inbox, "alice").await;
    let bob = app.register("bob").await;
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "a question").await);
    let b1 = id(&app.comment(&t, &bob, None, "an answer").await);
    let mail = inbox.next_where(20, |m| to(m, &alice)).await.expect("a reply mail");
    let url = unsubscribe_url(&app, &mail);
    let settings = "/me/notification-settings";

    // Opening the link (as a person or a link scanner) changes nothing.
    let page = app.client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\"") && html.contains("name=\"List-Unsubscribe\""), "{html}");
    let token = url.rsplit('/').next().unwrap();
    assert!(html.contains(&format!("action=\"{token}\"")), "the form posts to the page's own URL: {html}");
    assert_eq!(app.get(settings, Some(&alice.token)).await.expect(200)["email"], "immediate");

    // Bad bodies are refused and change nothing.
    let bad = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=Maybe")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let bad =
        app.client.post(&url).header("content-type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(bad.status(), 415);
    assert_eq!(app.get(settings, Some(&alice.token)).await.expect(200)["email"], "immediate");

    // What a mailbox provider sends: the form, no Authorization, no cookies.
    let done = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(
        app.get(settings, Some(&alice.token)).await.expect(200),
        serde_json::json!({"email": "digest", "digest": "daily", "briefing": true}),
        "the immediate mails stop; digests stay as chosen"
    );
    // The page's button, pressed in a browser (Origin: null under the
    // server's no-referrer policy): accepted too, and changes nothing more.
    let button = app
        .client
        .post(&url)
        .header("origin", "null")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(button.status(), 200);
    assert_eq!(app.get(settings, Some(&alice.token)).await.expect(200)["email"], "digest");

    // No more such mail: a new episode after reading stays unmailed.
    app.mark_read(sid, &alice, &t, &b1).await;
    app.comment(&t, &bob, None, "another answer").await;
    assert!(inbox.next_where(5, |m| to(m, &alice)).await.is_none(), "mailed after unsubscribing");

    // Tokens are signed: an altered one is unknown.
    let mut altered = url.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(app.client.get(&altered).send().await.unwrap().status(), 404);
    let res = app
        .client
        .post(&altered)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn one_click_from_a_digest_stops_the_digests() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 3600).await;
    let owner = app.register("owner").await;
    let alice = app.register_verified(&mut inbox, "alice").await;
    let bob = app.register("bob").await;
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let t = id(&app.start_thread(&reading.session_id, &alice, &reading.paragraph_id(0), "a question").await);
    app.comment(&t, &bob, None, "an answer").await;
    app.inbox_until(&alice, |i| !crate::helpers::items(i).is_empty()).await;

    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    assert_eq!(app.mailing.digest_round(tomorrow).await.unwrap().sent, 1);
    let digest =
        inbox.next_where(10, |m| to(m, &alice) && m.subject().contains("unread")).await.expect("a digest");
    let url = unsubscribe_url(&app, &digest);
    let done = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(
        app.get("/me/notification-settings", Some(&alice.token)).await.expect(200),
        serde_json::json!({"email": "immediate", "digest": "off", "briefing": true})
    );

    // The same unread item in yesterday's period would have made a digest today: none comes.
    let mut db = app.db().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE notifications SET updated_at = updated_at - interval '1 day'"),
        &mut db,
    )
    .await
    .unwrap();
    let round = app.mailing.digest_round(chrono::Utc::now()).await.unwrap();
    assert_eq!(round.sent, 0, "{round:?}");
    assert!(inbox.next_where(2, |m| to(m, &alice)).await.is_none());
}
