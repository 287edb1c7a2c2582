//! Digests: what is still unread from the period, grouped by group, session
//! and paragraph; nothing when nothing is unread; once per period, also
//! with two instances running the round at once. Rounds run as of a given
//! time (`Mailing::digest_round`), against the real SMTP listener.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::{id, items, spawn_mail_app, to, SmtpInbox, TestUser, APP_URL};

/// A round as of tomorrow sends today's period.
fn tomorrow() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(1)
}

#[tokio::test]
async fn a_digest_lists_the_unread_by_group_session_and_paragraph_and_only_once() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 3600).await;
    let owner = app.register("owner").await;
    let alice = app.register_verified(&mut inbox, "alice").await;
    let dave = app.register_verified(&mut inbox, "dave").await;
    let bob = app.register("bob").await;
    let first = app.reading_with(&owner, "private", &[&alice, &bob, &dave]).await;
    let second = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let sid = &first.session_id;
    let t1 =
        id(&app.start_thread(sid, &alice, &first.paragraph_id(0), "Opening on the first paragraph").await);
    let t2 =
        id(&app.start_thread(sid, &alice, &first.paragraph_id(1), "Opening on the second paragraph").await);
    let t3 = id(&app
        .start_thread(&second.session_id, &alice, &second.paragraph_id(0), "Opening in the other group")
        .await);
    let t4 = id(&app.start_thread(sid, &dave, &first.paragraph_id(0), "Dave's own question").await);
    for t in [&t1, &t2, &t3] {
        app.comment(t, &bob, None, "a reply").await;
    }
    let d1 = id(&app.comment(&t4, &bob, None, "a reply to dave").await);
    app.inbox_until(&alice, |i| items(i).len() == 3 && items(i).iter().all(|x| x["new_count"] == 1)).await;
    app.inbox_until(&dave, |i| !items(i).is_empty()).await;
    // Dave has read everything: no digest for him.
    app.mark_read(sid, &dave, &t4, &d1).await;

    let round = app.mailing.digest_round(tomorrow()).await.expect("a digest round");
    assert_eq!((round.sent, round.failed), (1, 0), "{round:?}");
    let digest = inbox.next_where(10, |m| m.subject().contains("unread")).await.expect("alice's digest");
    assert!(to(&digest, &alice), "{digest:?}");
    assert!(digest.subject().contains("3 unread threads"), "{}", digest.subject());
    assert!(digest.header("message-id").is_some() && digest.header("date").is_some());
    assert!(digest.header("list-unsubscribe").is_some_and(|v| v.contains("/api/v1/unsubscribe/")));
    assert_eq!(digest.header("list-unsubscribe-post"), Some("List-Unsubscribe=One-Click"));

    // Grouped: each group's heading, then its session, its paragraphs and threads.
    let body = &digest.body;
    let mut names = Vec::new();
    for gid in [&first.group_id, &second.group_id] {
        let g = app.get(&format!("/groups/{gid}"), Some(&owner.token)).await.expect(200);
        names.push(g["name"].as_str().unwrap().to_owned());
    }
    let (a, b) = (&names[0], &names[1]);
    let section = |name: &str| -> String {
        let start =
            body.find(&format!("== {name} ==")).unwrap_or_else(|| panic!("no heading for {name}: {body}"));
        let rest = &body[start + 4..];
        rest[..rest.find("\n== ").unwrap_or(rest.len())].to_owned()
    };
    let (sa, sb) = (section(a), section(b));
    assert!(sa.contains("Week 1") && sa.contains("¶ 1:") && sa.contains("¶ 2:"), "{body}");
    let (p1, p2) = (sa.find("¶ 1:").unwrap(), sa.find("¶ 2:").unwrap());
    let (o1, o2) = (sa.find("Opening on the first").unwrap(), sa.find("Opening on the second").unwrap());
    assert!(p1 < o1 && o1 < p2 && p2 < o2, "threads under their paragraphs: {body}");
    assert!(sa.contains(&format!("{APP_URL}/threads/{t1}")), "{body}");
    assert!(sb.contains("Opening in the other group") && !sb.contains("Opening on the first"), "{body}");
    assert!(!body.contains("Dave's own question"), "another reader's item: {body}");

    // Once per period.
    let again = app.mailing.digest_round(tomorrow()).await.unwrap();
    assert_eq!(again.sent, 0, "{again:?}");
    assert!(inbox.next_where(2, |m| m.subject().contains("unread")).await.is_none());
}

#[tokio::test]
async fn two_instances_running_the_round_at_once_send_each_digest_once() {
    let mut inbox = SmtpInbox::start().await;
    let url = inbox.url.clone();
    let app = crate::helpers::spawn_app_with(move |s| {
        crate::helpers::mail_settings(s, &url, 3600);
        // Pages of three readers, two digests at once: several pages, overlapping.
        s.notifications.digest_batch_size = 3;
        s.notifications.digest_concurrency = 2;
    })
    .await;
    let other = app.second_instance().await;
    let owner = app.register("owner").await;
    let bob = app.register("bob").await;
    let mut readers: Vec<TestUser> = Vec::new();
    for n in 0..10 {
        readers.push(app.register_verified(&mut inbox, &format!("reader{n}")).await);
    }
    let members: Vec<&TestUser> = readers.iter().chain([&bob]).collect();
    let reading = app.reading_with(&owner, "public", &members).await;
    for r in &readers {
        let t = id(&app.start_thread(&reading.session_id, r, &reading.paragraph_id(0), "a question").await);
        app.comment(&t, &bob, None, "an answer").await;
    }
    for r in &readers {
        app.inbox_until(r, |i| items(i).first().is_some_and(|x| x["new_count"] == 1)).await;
    }
    // One reader wants digests weekly: not in the daily round.
    app.patch("/me/notification-settings", Some(&readers[9].token), json!({"digest": "weekly"}))
        .await
        .expect(200);

    let now = tomorrow();
    let (one, two) = tokio::join!(app.mailing.digest_round(now), other.mailing.digest_round(now));
    let (one, two) = (one.expect("round"), two.expect("round"));
    assert_eq!(one.sent + two.sent, 9, "{one:?} {two:?}");
    assert_eq!(one.failed + two.failed, 0);
    let mails: Vec<_> = inbox.drain(3).await.into_iter().filter(|m| m.subject().contains("unread")).collect();
    for r in &readers[..9] {
        assert_eq!(mails.iter().filter(|m| to(m, r)).count(), 1, "{} got other than one digest", r.username);
    }
    assert_eq!(mails.len(), 9);
}
