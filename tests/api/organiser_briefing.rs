//! Session briefings: mailed once per organiser `briefing_lead_hours`
//! before a session starts, whatever number of instances run rounds, to
//! verified organisers only, following their settings and one-click
//! unsubscribe. Against the real SMTP listener.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::{mail_settings, spawn_app_with, to, Mail, SmtpInbox, TestApp};
use pilcrow::organiser::briefing;

async fn briefing_app(inbox: &SmtpInbox) -> TestApp {
    let url = inbox.url.clone();
    spawn_app_with(move |s| {
        mail_settings(s, &url, 120);
        // Rounds are run by the test.
        s.notifications.briefing_interval_secs = 86_400;
    })
    .await
}

fn is_briefing(mail: &Mail) -> bool {
    mail.subject().starts_with("Briefing:")
}

async fn session_at(
    app: &TestApp,
    group: &str,
    token: &str,
    essay: &str,
    starts: chrono::DateTime<Utc>,
) -> String {
    let body = app
        .post(
            &format!("/groups/{group}/sessions"),
            Some(token),
            json!({"essay_id": essay, "title": "Week 2: the middle chapters", "starts_at": starts}),
        )
        .await
        .expect(201);
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn each_verified_organiser_gets_one_briefing_whatever_the_instances() {
    let mut inbox = SmtpInbox::start().await;
    let app = briefing_app(&inbox).await;
    let other = app.second_instance().await;
    let owner = app.register_verified(&mut inbox, "brief_owner").await;
    let organiser = app.register_verified(&mut inbox, "brief_organiser").await;
    let unverified = app.register("brief_unverified").await;
    let member = app.register_verified(&mut inbox, "brief_member").await;
    let newcomer = app.register_verified(&mut inbox, "brief_newcomer").await;
    let reading = app.reading(&owner, "private").await;
    let group = &reading.group_id;
    app.add_member(group, &owner, &organiser, "organiser").await;
    app.add_member(group, &owner, &unverified, "organiser").await;
    app.add_member(group, &owner, &member, "member").await;
    app.add_member(group, &owner, &newcomer, "member").await;
    let essay = reading.essay["id"].as_str().unwrap();

    // The member wrote in the earlier session; the newcomer writes only in this one.
    app.start_thread(&reading.session_id, &member, &reading.paragraph_id(0), "An earlier thought.").await;
    let starts = Utc::now() + Duration::hours(10);
    let session = session_at(&app, group, &owner.token, essay, starts).await;
    let busy = reading.paragraph_id(2);
    let t = app.start_thread(&session, &member, &busy, "This paragraph is the crux.").await;
    app.comment(t["id"].as_str().unwrap(), &newcomer, None, "Agreed, and here is why.").await;
    let q = app.ask(&session, &newcomer, &reading.paragraph_id(1), "Who is the narrator addressing?").await;
    let hidden = app.ask(&session, &member, &reading.paragraph_id(1), "A question a moderator hides.").await;
    app.post(
        &format!("/threads/{}/moderation", hidden["id"].as_str().unwrap()),
        Some(&owner.token),
        json!({"action": "hide"}),
    )
    .await
    .expect(200);

    // Two instances run a round at the same moment: two briefings in all.
    let now = Utc::now();
    let (one, two) = tokio::join!(briefing::round(&app.mailing, now), briefing::round(&other.mailing, now));
    let (one, two) = (one.expect("a round"), two.expect("a round"));
    assert_eq!(one.sent + two.sent, 2, "{one:?} {two:?}");
    assert_eq!(one.failed + two.failed, 0);
    let again = briefing::round(&app.mailing, now + Duration::minutes(5)).await.unwrap();
    assert_eq!(again.sent, 0);

    let mails: Vec<Mail> = inbox.drain(3).await.into_iter().filter(is_briefing).collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails.iter().any(|m| to(m, &owner)));
    assert!(mails.iter().any(|m| to(m, &organiser)));
    assert!(!mails.iter().any(|m| to(m, &member) || to(m, &unverified)));

    let mail = mails.iter().find(|m| to(m, &organiser)).unwrap();
    let body = &mail.body;
    assert!(mail.subject().contains("Week 2: the middle chapters"), "{}", mail.subject());
    assert!(body.contains("So far: 2 threads and 3 comments."), "{body}");
    let most = body.find("Most discussed paragraphs:").expect("the paragraphs");
    let first_line = body[most..].lines().nth(1).unwrap();
    assert!(first_line.contains("¶ 3 (2 comments in 1 thread)"), "{first_line}");
    assert!(body.contains("Open questions (1):"), "{body}");
    assert!(body.contains("Who is the narrator addressing?"));
    assert!(body.contains(&format!("/threads/{}", q["id"].as_str().unwrap())));
    assert!(!body.contains("A question a moderator hides."), "hidden threads are not told");
    assert!(body.contains("(@brief_newcomer)"), "{body}");
    assert!(!body.contains("(@brief_member)"), "the member wrote in an earlier session");
    assert!(mail.header("list-unsubscribe").is_some());
    assert_eq!(mail.header("list-unsubscribe-post"), Some("List-Unsubscribe=One-Click"));
    assert!(mail.header("message-id").is_some() && mail.header("date").is_some());
}

#[tokio::test]
async fn briefings_come_inside_the_lead_and_follow_settings_and_unsubscribe() {
    let mut inbox = SmtpInbox::start().await;
    let app = briefing_app(&inbox).await;
    let owner = app.register_verified(&mut inbox, "lead_owner").await;
    let quiet = app.register_verified(&mut inbox, "lead_quiet").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &quiet, "organiser").await;
    app.patch("/me/notification-settings", Some(&quiet.token), json!({"email": "off"})).await.expect(200);
    let essay = reading.essay["id"].as_str().unwrap();
    let starts = Utc::now() + Duration::hours(30);
    let session = session_at(&app, &reading.group_id, &owner.token, essay, starts).await;

    // 30 hours ahead: too early. (The fixture's session started long ago: never.)
    assert_eq!(briefing::round(&app.mailing, Utc::now()).await.unwrap().sent, 0);
    // 23 hours before: due, to the owner only (the other organiser turned mail off).
    let round = briefing::round(&app.mailing, starts - Duration::hours(23)).await.unwrap();
    assert_eq!(round.sent, 1);
    let mail = inbox.next_where(10, is_briefing).await.expect("a briefing");
    assert!(to(&mail, &owner));
    assert!(mail.body.contains("Nobody has written about the text yet."), "{}", mail.body);
    assert!(mail.body.contains(&format!("/sessions/{session}")));

    // One click stops briefings and nothing else.
    let link = mail.header("list-unsubscribe").unwrap().trim_matches(['<', '>']).to_owned();
    let path = &link[link.find("/api/v1/").unwrap() + "/api/v1".len()..];
    let res = app
        .raw(
            app.client
                .post(app.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click"),
        )
        .await;
    assert_eq!(res.status, 200);
    let settings = app.get("/me/notification-settings", Some(&owner.token)).await.expect(200);
    assert_eq!(settings, json!({"email": "immediate", "digest": "daily", "briefing": false}));
    let next =
        session_at(&app, &reading.group_id, &owner.token, essay, Utc::now() + Duration::hours(2)).await;
    assert_eq!(briefing::round(&app.mailing, Utc::now()).await.unwrap().sent, 0);

    // Turned back on, the next session's briefing comes; a session that
    // already started gets none.
    app.patch("/me/notification-settings", Some(&owner.token), json!({"briefing": true})).await.expect(200);
    assert_eq!(briefing::round(&app.mailing, Utc::now() + Duration::hours(3)).await.unwrap().sent, 0);
    assert_eq!(briefing::round(&app.mailing, Utc::now()).await.unwrap().sent, 1);
    let mail = inbox.next_where(10, is_briefing).await.expect("a briefing");
    assert!(mail.body.contains(&format!("/sessions/{next}")));
}
