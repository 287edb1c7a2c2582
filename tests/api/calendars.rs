//! Calendars (RFC 5545): a public group's `calendar.ics`, and each user's
//! secret feed of all their groups' sessions, read back with an
//! independent iCalendar parser.

use std::collections::HashMap;

use diesel::sql_types::{Bytea, Text};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{spawn_app, Resp, TestApp, TestUser};

/// Each VEVENT's properties (name → raw value), checking on the way that
/// every line ends in CRLF and is at most 75 octets.
fn events(res: &Resp) -> Vec<HashMap<String, String>> {
    assert_eq!(res.status, 200, "{}", res.body);
    assert_eq!(res.header("content-type"), Some("text/calendar; charset=utf-8"));
    let text = res.body.as_str().expect("a text body");
    assert!(text.ends_with("\r\n"));
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "a line of {} octets: {line:?}", line.len());
        assert!(!line.contains('\n') && !line.contains('\r'));
    }
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let calendar = parser.next().expect("one calendar").expect("a valid calendar");
    assert!(parser.next().is_none(), "exactly one calendar");
    let props: HashMap<String, String> =
        calendar.properties.iter().map(|p| (p.name.clone(), p.value.clone().unwrap_or_default())).collect();
    assert_eq!(props["VERSION"], "2.0");
    assert!(props.contains_key("PRODID"));
    calendar
        .events
        .iter()
        .map(|e| e.properties.iter().map(|p| (p.name.clone(), p.value.clone().unwrap_or_default())).collect())
        .collect()
}

fn by_uid<'a>(events: &'a [HashMap<String, String>], session: &str) -> &'a HashMap<String, String> {
    events.iter().find(|e| e["UID"].contains(session)).unwrap_or_else(|| panic!("no event of {session}"))
}

async fn session(
    app: &TestApp,
    group: &str,
    owner: &TestUser,
    essay: &str,
    title: &str,
    starts: &str,
) -> String {
    let body = app
        .post(
            &format!("/groups/{group}/sessions"),
            Some(&owner.token),
            json!({"essay_id": essay, "title": title, "starts_at": starts}),
        )
        .await
        .expect(201);
    body["id"].as_str().unwrap().to_owned()
}

/// The feed URL's path under /api/v1 (the URL is built on public_base_url).
fn feed_path(url: &str) -> String {
    let at = url.find("/api/v1/").expect("an API URL");
    url[at + "/api/v1".len()..].to_owned()
}

#[tokio::test]
async fn a_public_group_calendar_is_valid_escaped_folded_and_sequenced() {
    let app = spawn_app().await;
    let owner = app.register("cal_owner").await;
    let reading = app.reading(&owner, "public").await;
    let essay = reading.essay["id"].as_str().unwrap();
    let title = "Chapter 3, part 2; notes\\asides — «Über» Ünïcödé ".repeat(3);
    let title = title.trim();
    let long = session(&app, &reading.group_id, &owner, essay, title, "2026-12-20T17:30:00+01:00").await;

    let path = format!("/groups/{}/calendar.ics", reading.group_id);
    let first = events(&app.get(&path, None).await);
    assert_eq!(first.len(), 2, "the fixture's session and this one");
    let e = by_uid(&first, &long);
    assert_eq!(e["DTSTART"], "20261220T163000Z", "UTC, with Z");
    assert_eq!(e["DTEND"], "20261220T173000Z", "an hour when the session has no end");
    assert!(e["DTSTAMP"].ends_with('Z'));
    assert_eq!(e["SEQUENCE"], "0");
    let escaped = title.replace('\\', "\\\\").replace(';', "\\;").replace(',', "\\,");
    assert_eq!(e["SUMMARY"], escaped, "escaped, and unfolded whole by the parser");
    assert!(e["URL"].ends_with(&format!("/sessions/{long}")));

    // The same UIDs every time.
    let second = events(&app.get(&path, None).await);
    let uids = |evs: &[HashMap<String, String>]| {
        let mut u: Vec<String> = evs.iter().map(|e| e["UID"].clone()).collect();
        u.sort();
        u
    };
    assert_eq!(uids(&first), uids(&second));

    // New times raise SEQUENCE; a new title alone does not.
    app.patch(
        &format!("/sessions/{long}"),
        Some(&owner.token),
        json!({"starts_at": "2026-12-21T09:00:00Z", "ends_at": "2026-12-21T11:00:00Z"}),
    )
    .await
    .expect(200);
    app.patch(&format!("/sessions/{long}"), Some(&owner.token), json!({"title": "Renamed"}))
        .await
        .expect(200);
    let after = events(&app.get(&path, None).await);
    let e = by_uid(&after, &long);
    assert_eq!((e["DTSTART"].as_str(), e["DTEND"].as_str()), ("20261221T090000Z", "20261221T110000Z"));
    assert_eq!(e["SEQUENCE"], "1");
    assert_eq!(e["SUMMARY"], "Renamed");
    assert_eq!(uids(&after), uids(&first));

    // A line break in a title is escaped, not sent raw.
    let mut conn = app.db().await;
    diesel::sql_query("UPDATE reading_sessions SET title = 'two\nlines' WHERE id = $1::uuid")
        .bind::<Text, _>(&long)
        .execute(&mut conn)
        .await
        .unwrap();
    let after = events(&app.get(&path, None).await);
    assert_eq!(by_uid(&after, &long)["SUMMARY"], "two\\nlines");
}

#[tokio::test]
async fn a_private_group_calendar_is_404_to_everyone() {
    let app = spawn_app().await;
    let owner = app.register("priv_owner").await;
    let reading = app.reading(&owner, "private").await;
    let path = format!("/groups/{}/calendar.ics", reading.group_id);
    app.get(&path, None).await.expect_problem(404, "not_found");
    app.get(&path, Some(&owner.token)).await.expect_problem(404, "not_found");
    let missing = uuid::Uuid::now_v7();
    app.get(&format!("/groups/{missing}/calendar.ics"), None).await.expect_problem(404, "not_found");
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Bytea)]
    token_hash: Vec<u8>,
}

#[tokio::test]
async fn a_calendar_feed_serves_all_my_groups_until_replaced_or_revoked() {
    let app = spawn_app().await;
    let me = app.register("feed_me").await;
    let other = app.register("feed_other").await;
    let private = app.reading(&other, "private").await;
    let public = app.reading(&other, "public").await;
    let elsewhere = app.reading(&other, "public").await;
    app.add_member(&private.group_id, &other, &me, "member").await;
    app.add_member(&public.group_id, &other, &me, "member").await;

    app.post("/me/calendar-feed", None, json!({})).await.expect_unauthorized("missing_token");
    let made = app.post("/me/calendar-feed", Some(&me.token), json!({})).await;
    assert_eq!(made.status, 201);
    let url = made.body["url"].as_str().unwrap().to_owned();
    assert_eq!(made.header("location"), Some(url.as_str()));
    let path = feed_path(&url);
    let feed = events(&app.get(&path, None).await);
    let sessions: Vec<&str> = feed.iter().map(|e| e["UID"].as_str()).collect();
    assert_eq!(feed.len(), 2, "{sessions:?}");
    by_uid(&feed, &private.session_id);
    by_uid(&feed, &public.session_id);
    assert!(!sessions.iter().any(|u| u.contains(&elsewhere.session_id)));

    // Only a hash of the secret is stored.
    let secret = path.trim_start_matches("/calendar-feeds/").trim_end_matches("/calendar.ics").to_owned();
    let mut conn = app.db().await;
    let stored: Vec<Stored> =
        diesel::sql_query("SELECT token_hash FROM calendar_feeds").load(&mut conn).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].token_hash, secret.as_bytes());
    assert_eq!(stored[0].token_hash.len(), 32);

    // The secret is no bearer token, and grants nothing but the calendar.
    app.get("/me", Some(&secret)).await.expect_unauthorized("invalid_token");
    app.get(&format!("/sessions/{}", private.session_id), Some(&secret))
        .await
        .expect_unauthorized("invalid_token");

    // A new feed replaces the old one.
    let again = app.post("/me/calendar-feed", Some(&me.token), json!({})).await.expect(201);
    let new_path = feed_path(again["url"].as_str().unwrap());
    assert_ne!(new_path, path);
    app.get(&path, None).await.expect_problem(404, "not_found");
    assert_eq!(events(&app.get(&new_path, None).await).len(), 2);

    // Leaving a group takes its sessions out.
    app.delete(&format!("/groups/{}/members/me", public.group_id), Some(&me.token)).await.expect(204);
    let feed = events(&app.get(&new_path, None).await);
    assert_eq!(feed.len(), 1);
    by_uid(&feed, &private.session_id);

    // Logging out everywhere ends it.
    app.post("/auth/logout-all", Some(&me.token), json!({})).await;
    app.get(&new_path, None).await.expect_problem(404, "not_found");

    // So does a password change, for a feed made after logging back in.
    let login =
        app.post("/auth/login", None, json!({"login": "feed_me", "password": me.password})).await.expect(200);
    let token = login["access_token"].as_str().unwrap().to_owned();
    let latest = app.post("/me/calendar-feed", Some(&token), json!({})).await.expect(201);
    let latest = feed_path(latest["url"].as_str().unwrap());
    assert_eq!(events(&app.get(&latest, None).await).len(), 1);
    app.post(
        "/me/password",
        Some(&token),
        json!({"current_password": me.password, "new_password": "another long passphrase 42"}),
    )
    .await
    .expect(204);
    app.get(&latest, None).await.expect_problem(404, "not_found");
    app.get("/calendar-feeds/not-a-feed/calendar.ics", None).await.expect_problem(404, "not_found");
}
