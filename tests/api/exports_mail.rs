//! A ready export is mailed to its owner's verified address, with a link
//! that downloads it; an address that is not verified gets nothing.

use crate::helpers::{export_settings, mail_settings, spawn_app_with, to, unzip, SmtpInbox};

#[tokio::test]
async fn a_ready_export_is_mailed_once_to_a_verified_address_only() {
    let mut inbox = SmtpInbox::start().await;
    let url = inbox.url.clone();
    let app = spawn_app_with(move |s| {
        mail_settings(s, &url, 3600);
        export_settings(s);
    })
    .await;
    let verified = app.register_verified(&mut inbox, "verified").await;
    let unverified = app.register("unverified").await;

    let id = app.request_export(&verified).await;
    let mail = inbox
        .next_where(30, |m| to(m, &verified) && m.subject().contains("ready"))
        .await
        .expect("a mail that the export is ready");
    assert_eq!(mail.subject(), "Your Pilcrow data is ready to download");
    assert!(mail.header("message-id").is_some() && mail.header("date").is_some());
    let done = app.get(&format!("/me/exports/{id}"), Some(&verified.token)).await.expect(200);
    let link = done["download_url"].as_str().unwrap();
    assert!(mail.body.contains(link), "the mail carries the download link:\n{}", mail.body);
    let (status, _, bytes) = app.download(link).await;
    assert_eq!(status, 200);
    assert!(unzip(&bytes)["profile.json"].contains("verified@example.org"));

    let theirs = app.request_export(&unverified).await;
    assert_eq!(app.export_done(&unverified, &theirs, 30).await["status"], "ready");
    let later = inbox.drain(2).await;
    // (Registration mailed them a link to verify it; nothing else comes.)
    assert!(
        later.iter().filter(|m| to(m, &unverified)).all(|m| m.subject().contains("Confirm")),
        "no export mail to an address that is not verified: {later:?}"
    );
    assert!(!later.iter().any(|m| m.subject().contains("ready")), "one mail per export: {later:?}");
}

#[tokio::test]
async fn a_ready_export_reaches_the_owners_live_inbox() {
    let app = crate::helpers::spawn_export_app().await;
    let alice = app.register("alice").await;
    let cursor = app.get("/me/notifications", Some(&alice.token)).await;
    let cursor = cursor.header("pilcrow-event-cursor").expect("a cursor").to_owned();
    let id = app.request_export(&alice).await;
    let mut after = cursor;
    let started = std::time::Instant::now();
    let told = loop {
        let path = format!("/me/notifications/events?after={after}&wait=20");
        let page = app.get(&path, Some(&alice.token)).await.expect(200);
        let items = page["items"].as_array().expect("items").clone();
        if let Some(e) = items.iter().find(|e| e["event"] == "export.ready") {
            break e.clone();
        }
        assert!(started.elapsed().as_secs() < 60, "no export.ready: {page}");
        after = page["cursor"].as_str().expect("a cursor").to_owned();
    };
    assert_eq!(told["data"], serde_json::json!({"id": id}));
    assert_eq!(
        app.get(&format!("/me/exports/{id}"), Some(&alice.token)).await.expect(200)["status"],
        "ready"
    );
}
