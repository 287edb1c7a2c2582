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
