//! The immediate mail of a reply: only to a verified address, after the
//! delay, well formed (Message-ID, Date, List-Unsubscribe with one-click,
//! links to the frontend), not when read during the delay, once per unread
//! episode, and never about content the recipient may no longer see.

use serde_json::json;

use crate::helpers::{id, items, spawn_mail_app, to, SmtpInbox, APP_URL};

#[tokio::test]
async fn a_reply_is_mailed_after_the_delay_once_per_unread_episode_and_well_formed() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let owner = app.register("owner").await;
    let alice = app.register_verified(&mut inbox, "alice").await;
    let bob = app.register("bob").await;
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "what does the first line mean?").await);
    let b1 = id(&app.comment(&t, &bob, None, "It means the *river* is the reader.").await);

    let mail = inbox.next_where(20, |m| to(m, &alice)).await.expect("a reply mail to alice");
    assert!(mail.subject().contains("replied"), "{}", mail.subject());
    assert!(mail.header("date").is_some(), "{mail:?}");
    let message_id = mail.header("message-id").expect("a Message-ID");
    assert!(
        message_id.starts_with('<') && message_id.ends_with('>') && message_id.contains('@'),
        "{message_id}"
    );
    let unsubscribe = mail.header("list-unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with("<https://api.reading.example/api/v1/unsubscribe/")
            && unsubscribe.ends_with('>'),
        "{unsubscribe}"
    );
    assert_eq!(mail.header("list-unsubscribe-post"), Some("List-Unsubscribe=One-Click"));
    assert!(mail.header("content-type").is_some_and(|v| v.starts_with("text/plain")), "{mail:?}");
    assert!(mail.body.contains(&format!("{APP_URL}/threads/{t}?comment={b1}")), "{}", mail.body);
    assert!(mail.body.contains("It means the *river* is the reader."), "{}", mail.body);

    // More replies before alice reads: no second mail for this episode.
    let b2 = id(&app.comment(&t, &bob, None, "And the bank is the text.").await);
    app.inbox_until(&alice, |i| items(i)[0]["latest_comment_id"] == b2.as_str()).await;
    assert!(inbox.next_where(4, |m| to(m, &alice)).await.is_none(), "mailed again before reading");

    // Once she has read, new activity is a new episode.
    app.mark_read(sid, &alice, &t, &b2).await;
    app.comment(&t, &bob, None, "One more thought.").await;
    let again = inbox.next_where(20, |m| to(m, &alice)).await.expect("a mail for the new episode");
    assert!(again.body.contains("One more thought."), "{}", again.body);
    assert_ne!(again.header("message-id"), Some(message_id));
}

#[tokio::test]
async fn nothing_is_mailed_to_an_unverified_address_or_about_what_was_read_in_time() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 3).await;
    let owner = app.register("owner").await;
    let alice = app.register("alice").await; // never verified
    let carol = app.register_verified(&mut inbox, "carol").await;
    let bob = app.register("bob").await;
    let reading = app.reading_with(&owner, "public", &[&alice, &bob, &carol]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let ta = id(&app.start_thread(sid, &alice, &para, "alice asks").await);
    let tc = id(&app.start_thread(sid, &carol, &para, "carol asks").await);
    app.comment(&ta, &bob, None, "an answer for alice").await;
    let bc = id(&app.comment(&tc, &bob, None, "an answer for carol").await);

    // Carol reads hers within the delay.
    app.inbox_until(&carol, |i| !items(i).is_empty()).await;
    app.mark_read(sid, &carol, &tc, &bc).await;
    app.inbox_until(&alice, |i| !items(i).is_empty()).await;

    let mails = inbox.drain(6).await;
    let unwanted: Vec<_> = mails
        .iter()
        .filter(|m| m.header("list-unsubscribe").is_some() && (to(m, &alice) || to(m, &carol)))
        .collect();
    assert!(unwanted.is_empty(), "{unwanted:?}");

    // Not a word about a comment hidden before the mail went out.
    let rude = id(&app.comment(&tc, &bob, None, "something rude").await);
    app.post(
        &format!("/comments/{rude}/moderation"),
        Some(&owner.token),
        json!({"action": "hide", "reason": "rude"}),
    )
    .await
    .expect(200);
    let mails = inbox.drain(6).await;
    assert!(mails.iter().all(|m| !m.body.contains("something rude")), "{mails:?}");
}

#[tokio::test]
async fn a_reader_banned_or_gone_during_the_delay_is_not_mailed() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 3).await;
    let owner = app.register("owner").await;
    let alice = app.register_verified(&mut inbox, "alice").await;
    let carol = app.register_verified(&mut inbox, "carol").await;
    let bob = app.register("bob").await;
    let public = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let private = app.reading_with(&owner, "private", &[&carol, &bob]).await;
    let ta = id(&app.start_thread(&public.session_id, &alice, &public.paragraph_id(0), "alice asks").await);
    let tc = id(&app.start_thread(&private.session_id, &carol, &private.paragraph_id(0), "carol asks").await);
    app.comment(&ta, &bob, None, "an answer for alice").await;
    app.comment(&tc, &bob, None, "an answer for carol").await;
    app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    app.inbox_until(&carol, |i| !items(i).is_empty()).await;

    // Within the delay: alice is banned from the public group, carol leaves the private one.
    app.post(
        &format!("/groups/{}/bans", public.group_id),
        Some(&owner.token),
        json!({"user_id": alice.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    app.delete(&format!("/groups/{}/members/me", private.group_id), Some(&carol.token)).await.expect(204);

    let mails = inbox.drain(7).await;
    let told: Vec<_> = mails.iter().filter(|m| m.header("list-unsubscribe").is_some()).collect();
    assert!(told.is_empty(), "{told:?}");
}
