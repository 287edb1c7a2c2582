//! Measurements for the revision planner and the whole revision request, run
//! by hand (`cargo test --test api revisions_scale -- --ignored --nocapture`):
//! the fixture essay, and a 2,000-paragraph essay with 5,000 quoted threads.
//! They assert only generous bounds; the printed times are the result.

use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use pilcrow::anchors::Quote;
use pilcrow::essays::revise::{self, OldParagraph, ThreadAnchor};
use pilcrow::essays::split::{split_text, Kind};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{assert_counts_exact, fixture_blocks, spawn_app};

/// Deterministic filler words.
fn words(seed: u64, n: usize) -> Vec<String> {
    const VOCAB: [&str; 16] = [
        "lamp", "reader", "voice", "page", "room", "quiet", "listen", "story", "night", "oil", "book",
        "circle", "sentence", "pause", "question", "window",
    ];
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            VOCAB[(x >> 33) as usize % VOCAB.len()].to_owned()
        })
        .collect()
}

fn paragraph(i: usize) -> String {
    format!("Paragraph {i} opens here: {}.", words(i as u64, 60).join(" "))
}

/// The new text: every 10th paragraph gets a word changed, pairs are swapped
/// every 100, every 250th is deleted and a new one added every 300.
fn revised(old: &[String]) -> Vec<String> {
    let mut new: Vec<String> = old.to_vec();
    for (i, p) in new.iter_mut().enumerate() {
        if i % 10 == 3 {
            *p = p.replacen(" lamp ", " lantern ", 1);
        }
    }
    for i in (0..new.len() - 1).step_by(100) {
        new.swap(i + 5, i + 6);
    }
    let mut out = Vec::new();
    for (i, p) in new.into_iter().enumerate() {
        if i % 300 == 150 {
            out.push(format!("A new paragraph {i}: {}.", words(9_000 + i as u64, 40).join(" ")));
        }
        if i % 250 != 200 {
            out.push(p);
        }
    }
    out
}

fn old_paragraphs(texts: &[String]) -> Vec<OldParagraph> {
    texts
        .iter()
        .map(|t| OldParagraph { id: Uuid::now_v7(), kind: Kind::Paragraph, text: t.clone() })
        .collect()
}

/// Threads quoting words 10..13 of paragraph `i % len`, 5,000 of them.
fn quotes(paragraphs: &[OldParagraph], n: usize) -> Vec<(usize, Quote)> {
    (0..n)
        .map(|k| {
            let i = k % paragraphs.len();
            let chars: Vec<char> = paragraphs[i].text.chars().collect();
            let chars_len = chars.len();
            let start = (30 + (k / paragraphs.len()) * 40).min(chars_len.saturating_sub(15));
            let end = (start + 15).min(chars_len);
            let exact: String = chars[start..end].iter().collect();
            (i, Quote { exact, start: start as i32, end: end as i32 })
        })
        .collect()
}

#[test]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
fn planner_time_for_the_fixture_and_a_large_essay() {
    let blocks = fixture_blocks();
    let old = old_paragraphs(&blocks);
    let mut new = blocks.clone();
    new[2] = new[2].replace("written things down", "written anything down");
    new.swap(3, 5);
    let new = split_text(&new.join("\n\n"));
    let threads: Vec<ThreadAnchor> = quotes(&old, 30)
        .into_iter()
        .map(|(i, q)| ThreadAnchor {
            thread_id: Uuid::now_v7(),
            paragraph_id: old[i].id,
            quote: Some(q),
            orphaned: false,
        })
        .collect();
    let started = Instant::now();
    let plan = revise::plan(&old, &new, &threads, Duration::from_secs(2), Uuid::now_v7);
    println!("fixture essay ({} paragraphs, 30 threads): planner {:?}", old.len(), started.elapsed());
    assert!(!plan.summary.degraded);

    let texts: Vec<String> = (0..2000).map(paragraph).collect();
    let old = old_paragraphs(&texts);
    let threads: Vec<ThreadAnchor> = quotes(&old, 5000)
        .into_iter()
        .map(|(i, q)| ThreadAnchor {
            thread_id: Uuid::now_v7(),
            paragraph_id: old[i].id,
            quote: Some(q),
            orphaned: false,
        })
        .collect();
    let new = split_text(&revised(&texts).join("\n\n"));
    let started = Instant::now();
    let plan = revise::plan(&old, &new, &threads, Duration::from_secs(10), Uuid::now_v7);
    let took = started.elapsed();
    println!(
        "2,000 paragraphs, 5,000 threads: planner {took:?}; {:?}",
        serde_json::to_string(&plan.summary).unwrap()
    );
    assert!(!plan.summary.degraded);
    assert!(took < Duration::from_secs(10));
}

#[tokio::test]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
async fn revision_time_for_two_thousand_paragraphs_and_five_thousand_threads() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let texts: Vec<String> = (0..2000).map(paragraph).collect();
    let essay = app.import_essay(&group, &owner, &texts.join("\n\n")).await;
    let essay_id = essay["id"].as_str().unwrap().to_owned();
    let session = app.open_session(&group, &owner, &essay_id).await;
    let mut db = app.db().await;
    // 5,000 quoted threads with an opening comment each, written directly.
    diesel::sql_query(
        "WITH p AS (SELECT id, text, position FROM paragraphs WHERE essay_id = $1::uuid),
              k AS (SELECT g AS k FROM generate_series(0, 4999) g),
              t AS (INSERT INTO threads (id, session_id, paragraph_id, author_id, quote_exact, quote_start, quote_end)
                    SELECT gen_random_uuid(), $2::uuid, p.id, $3::uuid,
                           substr(p.text, 31 + (k / 2000) * 40, 15), 30 + (k / 2000) * 40, 45 + (k / 2000) * 40
                      FROM k JOIN p ON p.position = k % 2000
                    RETURNING id, paragraph_id, quote_start, quote_end),
              a AS (INSERT INTO thread_anchors (thread_id, quote_prefix, quote_suffix)
                    SELECT t.id, NULL, NULL FROM t)
         INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body)
         SELECT gen_random_uuid(), t.id, 0, '', $3::uuid, 'opening' FROM t",
    )
    .bind::<diesel::sql_types::Text, _>(&essay_id)
    .bind::<diesel::sql_types::Text, _>(&session)
    .bind::<diesel::sql_types::Text, _>(&owner.id)
    .execute(&mut db)
    .await
    .expect("seeding threads");
    let before = assert_counts_exact(&app, &session, &owner.token).await;
    assert_eq!(before, (5000, 5000));

    let blocks = revised(&texts);
    let started = Instant::now();
    let dry = app.revise(&essay_id, &owner, &blocks, json!({"dry_run": true})).await.expect(200);
    let dry_took = started.elapsed();
    let started = Instant::now();
    let report = app.revise(&essay_id, &owner, &blocks, json!({})).await.expect(201);
    let took = started.elapsed();
    println!(
        "2,000 paragraphs, 5,000 threads: dry run {dry_took:?}, revision {took:?} (HTTP, plan, apply, commit); {}",
        report["summary"]
    );
    assert_eq!(dry["summary"], report["summary"]);
    assert_eq!(assert_counts_exact(&app, &session, &owner.token).await, before);
    assert!(took < Duration::from_secs(30));
}
