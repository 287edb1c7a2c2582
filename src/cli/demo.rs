//! `pilcrow demo`: a public demo group with a short essay of the project's own,
//! an open session and a few threads, so a newcomer sees a working reader in
//! one command, and a second session starting six hours later with its own
//! discussion, an open question and a first-time participant, so the
//! organiser's report and briefing have something to say. The demo accounts'
//! (`.invalid`) addresses count as verified, so the briefing is written
//! where mail goes (without SMTP, a file under `database.data_dir`). Run
//! again, it creates nothing twice: it only gives the demo account a fresh
//! password and prints the sign-in again.

use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::import::{self, Essay};
use super::EssayFormat;
use crate::auth::passwords::Passwords;
use crate::config::Settings;
use crate::schema::{comments, groups, memberships, reading_sessions, threads, users};
use crate::secrets::random_token;

const ESSAY: &str = include_str!("demo_essay.md");
const GROUP_SLUG: &str = "demo-readers";
const READER: &str = "demo";
const FRIEND: &str = "demo-friend";
const NEWCOMER: &str = "demo-newcomer";

/// (paragraph position, thread title, opening comment, replies by the other user)
const THREADS: [(usize, &str, &str, &[&str]); 3] = [
    (
        2,
        "Strangers’ pencil marks",
        "What is the oddest thing you have found written in a used book?",
        &["A shopping list for a wedding — inside a book about divorce law."],
    ),
    (
        5,
        "Losing the place",
        "This is exactly why our group switched to annotating online.",
        &["Though arguing about which page it was is half the fun.", "Fair, but it is not the half I miss."],
    ),
    (8, "Endings", "Is a shrug really not a failure? It often feels like one at the end of an evening.", &[]),
];

/// The second session's threads: (paragraph position, title, opening,
/// replies, a question?, who opens it: 0 the demo account, 1 the friend, 2
/// the newcomer), replies by the next ones in that order.
type Planned = (usize, &'static str, &'static str, &'static [&'static str], bool, usize);
const UPCOMING: [Planned; 3] = [
    (
        5,
        "Margins as a conversation",
        "Reading this again: the margin is where the second reader answers the first.",
        &["And the third reader answers both, years later.", "Which is what this page is for."],
        false,
        1,
    ),
    (2, "Whose pencil?", "Does it matter who wrote the note, if it changes how we read?", &[], true, 2),
    (
        5,
        "Ink or graphite?",
        "Would you write in ink in a book you borrowed?",
        &["Never. Graphite or nothing."],
        true,
        0,
    ),
];

pub async fn run(conn: &mut AsyncPgConnection, settings: &Settings) -> anyhow::Result<()> {
    let passwords = Passwords::new(1, Duration::from_secs(30), 1)?;
    let password = random_token(12);
    let reader = upsert_user(conn, &passwords, READER, &password).await?;
    let friend = upsert_user(conn, &passwords, FRIEND, &random_token(24)).await?;
    let newcomer = upsert_user(conn, &passwords, NEWCOMER, &random_token(24)).await?;

    let existing: Option<Uuid> =
        groups::table.filter(groups::slug.eq(GROUP_SLUG)).select(groups::id).first(conn).await.optional()?;
    let group_id = match existing {
        Some(id) => id,
        None => seed(conn, [reader, friend, newcomer]).await.context("seeding the demo group")?,
    };
    let session_id: Uuid = reading_sessions::table
        .filter(reading_sessions::group_id.eq(group_id))
        .order(reading_sessions::created_at)
        .select(reading_sessions::id)
        .first(conn)
        .await?;
    let base = format!("http://localhost:{}/api/v1", settings.server.port);
    println!("Demo group {GROUP_SLUG} ({group_id}), session {session_id}.");
    println!("Sign in as {READER} with password {password}:");
    println!(
        "  curl -fsS {base}/auth/login -H 'content-type: application/json' \\\n    \
         -d '{{\"login\":\"{READER}\",\"password\":\"{password}\"}}'"
    );
    println!("Then: GET {base}/sessions/{session_id}/paragraphs and /sessions/{session_id}/threads");
    let upcoming: Option<Uuid> = reading_sessions::table
        .filter(reading_sessions::group_id.eq(group_id))
        .order(reading_sessions::created_at.desc())
        .select(reading_sessions::id)
        .first(conn)
        .await
        .optional()?;
    if let Some(upcoming) = upcoming.filter(|id| *id != session_id) {
        println!(
            "The organiser's report on the next session: GET {base}/sessions/{upcoming}/report (as {READER})"
        );
    }
    Ok(())
}

async fn upsert_user(
    conn: &mut AsyncPgConnection,
    passwords: &Passwords,
    username: &str,
    password: &str,
) -> anyhow::Result<Uuid> {
    let ticket = passwords.admit(vec![format!("demo:{username}")]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = passwords.hash(ticket, password.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let existing: Option<Uuid> =
        users::table.filter(users::username.eq(username)).select(users::id).first(conn).await.optional()?;
    if let Some(id) = existing {
        diesel::update(users::table.find(id)).set(users::password_hash.eq(&hash)).execute(conn).await?;
        return Ok(id);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::username.eq(username),
            users::email.eq(format!("{username}@demo.invalid")),
            users::display_name.eq(username),
            users::password_hash.eq(&hash),
            users::email_verified_at.eq(Some(Utc::now())),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

async fn seed(conn: &mut AsyncPgConnection, people: [Uuid; 3]) -> anyhow::Result<Uuid> {
    let [reader, friend, newcomer] = people;
    let group_id = Uuid::now_v7();
    diesel::insert_into(groups::table)
        .values((
            groups::id.eq(group_id),
            groups::name.eq("Demo reading group"),
            groups::slug.eq(GROUP_SLUG),
            groups::description.eq("Made by `pilcrow demo`."),
            groups::visibility.eq("public"),
            groups::created_by.eq(reader),
        ))
        .execute(conn)
        .await?;
    diesel::insert_into(memberships::table)
        .values(vec![
            (
                memberships::group_id.eq(group_id),
                memberships::user_id.eq(reader),
                memberships::role.eq("owner"),
            ),
            (
                memberships::group_id.eq(group_id),
                memberships::user_id.eq(friend),
                memberships::role.eq("member"),
            ),
            (
                memberships::group_id.eq(group_id),
                memberships::user_id.eq(newcomer),
                memberships::role.eq("member"),
            ),
        ])
        .execute(conn)
        .await?;
    let essay = Essay {
        group_id,
        created_by: reader,
        title: "The Pencil in the Margin",
        author: Some("The Pilcrow project"),
        format: EssayFormat::Markdown,
        body: ESSAY,
    };
    let (essay_id, paragraphs) = import::insert(conn, &essay).await?;
    let session_id = Uuid::now_v7();
    diesel::insert_into(reading_sessions::table)
        .values((
            reading_sessions::id.eq(session_id),
            reading_sessions::group_id.eq(group_id),
            reading_sessions::essay_id.eq(essay_id),
            reading_sessions::title.eq("Week 1"),
            reading_sessions::starts_at.eq(Utc::now()),
            reading_sessions::status.eq("open"),
            reading_sessions::created_by.eq(reader),
        ))
        .execute(conn)
        .await?;
    for (position, title, opening, replies) in THREADS {
        let plan = (position, title, opening, replies, false, 0);
        add_thread(conn, session_id, &paragraphs, plan, [reader, friend]).await?;
    }
    let upcoming = Uuid::now_v7();
    diesel::insert_into(reading_sessions::table)
        .values((
            reading_sessions::id.eq(upcoming),
            reading_sessions::group_id.eq(group_id),
            reading_sessions::essay_id.eq(essay_id),
            reading_sessions::title.eq("Week 2"),
            reading_sessions::starts_at.eq(Utc::now() + chrono::Duration::hours(6)),
            reading_sessions::status.eq("open"),
            reading_sessions::created_by.eq(reader),
        ))
        .execute(conn)
        .await?;
    for plan in UPCOMING {
        add_thread(conn, upcoming, &paragraphs, plan, [reader, friend, newcomer]).await?;
    }
    Ok(group_id)
}

/// One thread and its comments, opened by `people[plan.5]` and answered by
/// the others in turn.
async fn add_thread<const N: usize>(
    conn: &mut AsyncPgConnection,
    session_id: Uuid,
    paragraphs: &[Uuid],
    (position, title, opening, replies, question, opener): Planned,
    people: [Uuid; N],
) -> anyhow::Result<()> {
    let paragraph_id = *paragraphs.get(position).context("the demo essay is shorter than its threads")?;
    let thread_id = Uuid::now_v7();
    diesel::insert_into(threads::table)
        .values((
            threads::id.eq(thread_id),
            threads::session_id.eq(session_id),
            threads::paragraph_id.eq(paragraph_id),
            threads::author_id.eq(people[opener % N]),
            threads::title.eq(title),
            threads::kind.eq(if question { "question" } else { "discussion" }),
        ))
        .execute(conn)
        .await?;
    let authors = people.into_iter().cycle().skip(opener % N);
    for (body, author) in std::iter::once(opening).chain(replies.iter().copied()).zip(authors) {
        diesel::insert_into(comments::table)
            .values((
                comments::id.eq(Uuid::now_v7()),
                comments::thread_id.eq(thread_id),
                comments::depth.eq(0i16),
                // Replaced by the comments_posted trigger.
                comments::sort_key.eq(""),
                comments::author_id.eq(author),
                comments::body.eq(body),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}
