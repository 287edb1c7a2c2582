//! `pilcrow demo`: a public demo group with a short essay of the project's own,
//! an open session and a few threads, so a newcomer sees a working reader in
//! one command. Run again, it creates nothing twice: it only gives the demo
//! account a fresh password and prints the sign-in again.

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

pub async fn run(conn: &mut AsyncPgConnection, settings: &Settings) -> anyhow::Result<()> {
    let passwords = Passwords::new(1, Duration::from_secs(30), 1)?;
    let password = random_token(12);
    let reader = upsert_user(conn, &passwords, READER, &password).await?;
    let friend = upsert_user(conn, &passwords, FRIEND, &random_token(24)).await?;

    let existing: Option<Uuid> =
        groups::table.filter(groups::slug.eq(GROUP_SLUG)).select(groups::id).first(conn).await.optional()?;
    let group_id = match existing {
        Some(id) => id,
        None => seed(conn, reader, friend).await.context("seeding the demo group")?,
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
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

async fn seed(conn: &mut AsyncPgConnection, reader: Uuid, friend: Uuid) -> anyhow::Result<Uuid> {
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
        let paragraph_id = *paragraphs.get(position).context("the demo essay is shorter than its threads")?;
        let thread_id = Uuid::now_v7();
        diesel::insert_into(threads::table)
            .values((
                threads::id.eq(thread_id),
                threads::session_id.eq(session_id),
                threads::paragraph_id.eq(paragraph_id),
                threads::author_id.eq(reader),
                threads::title.eq(title),
            ))
            .execute(conn)
            .await?;
        let authors = [reader, friend].into_iter().cycle();
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
    }
    Ok(group_id)
}
