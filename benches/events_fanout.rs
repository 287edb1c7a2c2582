//! Fan-out latency of live session events, and memory per idle subscriber,
//! against a running server seeded by benches/seed.sh (see benches/events.sh,
//! which runs this with `cargo bench --bench events_fanout`).
//!
//! Opens SUBSCRIBERS anonymous SSE streams spread over SESSIONS sessions of
//! the seeded public group, then posts comments at RATE per second for
//! DURATION seconds into threads of those sessions. Latency is from the
//! POST's response to the `comment.created` event's arrival, per
//! (subscriber, comment) pair, on one clock. Prints one Markdown table row.
//!
//! Before posting, the streams stay idle for IDLE_SECS (0: skip) while the
//! server's access checks and session log reads (its /metrics, when
//! enabled) and the database's committed transactions (printed by the shell
//! command in DB_XACTS, e.g. psql reading pg_stat_database) are counted:
//! per idle stream per minute.
//!
//! Environment: BASE_URL (http://127.0.0.1:18088/api/v1), OUT (benches/out:
//! sessions.txt, tokens.txt), SUBSCRIBERS (1000), SESSIONS (1), RATE (200),
//! DURATION (10), SERVER_PID (for RSS), IDLE_ONLY=1 (memory only),
//! IDLE_SECS (0), DB_XACTS (unset), SIGNED_IN (0: how many of the readers
//! sign in, with the seeded members' tokens in turn; the rest are anonymous).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn num(name: &str, default: u64) -> u64 {
    env(name, &default.to_string()).parse().expect(name)
}

fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The server's counter `name` so far, from its /metrics (`None`: not
/// served). A counter appears with its first increment: absent, it is 0.
async fn counter(client: &reqwest::Client, base: &str, name: &str) -> Option<f64> {
    let root = base.trim_end_matches("/api/v1");
    let response = client.get(format!("{root}/metrics")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let text = response.text().await.ok()?;
    Some(text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or(0.0))
}

/// Transactions the database has committed so far, by the DB_XACTS command.
fn db_xacts() -> Option<f64> {
    let command = std::env::var("DB_XACTS").ok()?;
    let out = std::process::Command::new("sh").arg("-c").arg(command).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[derive(serde::Deserialize)]
struct Created {
    comment: Id,
}

#[derive(serde::Deserialize)]
struct Id {
    id: String,
}

/// The comment id of a `comment.created` frame, read without building the
/// whole JSON value (the rest is skipped).
fn created_comment_id(frame: &[u8]) -> Option<String> {
    find(frame, b"event: comment.created")?;
    let key = b"data: ";
    let at = find(frame, key)? + key.len();
    let data = &frame[at..];
    let data = &data[..find(data, b"\n").unwrap_or(data.len())];
    serde_json::from_slice::<Created>(data).ok().map(|c| c.comment.id)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; nothing else is taken from the command line.
    let base = env("BASE_URL", "http://127.0.0.1:18088/api/v1");
    let out = env("OUT", "benches/out");
    let subscribers = num("SUBSCRIBERS", 1000) as usize;
    let session_count = num("SESSIONS", 1) as usize;
    let rate = num("RATE", 200);
    let duration = Duration::from_secs(num("DURATION", 10));
    let pid = env("SERVER_PID", "");
    let signed_in = num("SIGNED_IN", 0) as usize;

    let sessions: Vec<String> = std::fs::read_to_string(format!("{out}/sessions.txt"))
        .expect("sessions.txt (run benches/seed.sh)")
        .lines()
        .take(session_count)
        .map(str::to_owned)
        .collect();
    assert_eq!(sessions.len(), session_count, "not enough seeded sessions");
    let tokens: Vec<String> = std::fs::read_to_string(format!("{out}/tokens.txt"))
        .expect("tokens.txt")
        .lines()
        .map(str::to_owned)
        .collect();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();

    // Threads to post into, per session.
    let mut targets = Vec::new();
    for s in &sessions {
        let page: Value = client
            .get(format!("{base}/sessions/{s}/threads?limit=10"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for t in page["items"].as_array().unwrap() {
            targets.push(t["id"].as_str().unwrap().to_owned());
        }
    }
    assert!(!targets.is_empty(), "no threads in the seeded sessions");

    let rss_before = rss_kib(&pid);
    // Each reader records its own arrivals (a lock nobody else takes until
    // the end), and finds the comment id without parsing the JSON: the load
    // driver shares the two cores with the server, so it must stay cheap.
    let mut arrivals: Vec<Arrivals> = Vec::new();
    let ended = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut readers = Vec::new();
    for n in 0..subscribers {
        let session = sessions[n % sessions.len()].clone();
        let client = client.clone();
        let url = format!("{base}/sessions/{session}/events");
        let mine: Arrivals = Arc::new(Mutex::new(Vec::new()));
        arrivals.push(mine.clone());
        let ended = ended.clone();
        let token = (n < signed_in).then(|| tokens[n % tokens.len()].clone());
        let response = loop {
            let mut request = client.get(&url).header("accept", "text/event-stream");
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(r) if r.status() == 200 => break r,
                Ok(r) => panic!("subscriber {n}: {}", r.status()),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        readers.push(tokio::spawn(async move {
            let mut response = response;
            let mut buffer: Vec<u8> = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                let now = Instant::now();
                buffer.extend_from_slice(&chunk);
                let mut start = 0;
                while let Some(end) = find(&buffer[start..], b"\n\n") {
                    if let Some(id) = created_comment_id(&buffer[start..start + end]) {
                        mine.lock().unwrap().push((id, now));
                    }
                    start += end + 2;
                }
                buffer.drain(..start);
            }
            ended.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_kib(&pid);
    if let (Some(a), Some(b)) = (rss_before, rss_idle) {
        println!(
            "memory: {subscribers} idle subscribers ({signed_in} signed in) over {session_count} sessions: RSS {a} → {b} KiB, {:.1} KiB per subscriber",
            (b.saturating_sub(a)) as f64 / subscribers as f64
        );
    }
    let idle = Duration::from_secs(num("IDLE_SECS", 0));
    if !idle.is_zero() {
        const CHECKS: &str = "pilcrow_events_access_checks_total";
        const READS: &str = "pilcrow_event_feed_reads_total";
        let (checks, reads, xacts) =
            (counter(&client, &base, CHECKS).await, counter(&client, &base, READS).await, db_xacts());
        tokio::time::sleep(idle).await;
        let minutes = idle.as_secs_f64() / 60.0;
        let per = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => {
                format!("{:.0} ({:.4} per stream per minute)", b - a, (b - a) / subscribers as f64 / minutes)
            }
            _ => "not measured".to_owned(),
        };
        println!(
            "idle {}s: access checks {}; session log reads {}; database transactions (the server's background work included) {}; RSS now {} KiB; streams ended {}",
            idle.as_secs(),
            per(checks, counter(&client, &base, CHECKS).await),
            per(reads, counter(&client, &base, READS).await),
            per(xacts, db_xacts()),
            rss_kib(&pid).map_or("?".to_owned(), |r| r.to_string()),
            ended.load(std::sync::atomic::Ordering::Relaxed),
        );
        println!();
    }
    if env("IDLE_ONLY", "0") == "1" {
        return;
    }

    // Steady posting: one POST every 1/RATE s, each on its own task.
    let posted: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let started = Instant::now();
    let mut n = 0usize;
    let mut posts = Vec::new();
    while started.elapsed() < duration {
        tick.tick().await;
        let client = client.clone();
        let url = format!("{base}/threads/{}/comments", targets[n % targets.len()]);
        let token = tokens[n % tokens.len()].clone();
        let posted = posted.clone();
        let errors = errors.clone();
        posts.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&serde_json::json!({"body": "fan-out"}))
                .send()
                .await;
            match res {
                Ok(r) if r.status() == 201 => {
                    let at = Instant::now();
                    let v: Value = r.json().await.unwrap();
                    posted.lock().unwrap().insert(v["id"].as_str().unwrap().to_owned(), at);
                }
                _ => {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }));
        n += 1;
    }
    for p in posts {
        let _ = p.await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    let posted = posted.lock().unwrap();
    let mut by_comment: HashMap<String, Vec<Instant>> = HashMap::new();
    for reader in &arrivals {
        for (id, at) in reader.lock().unwrap().drain(..) {
            by_comment.entry(id).or_default().push(at);
        }
    }
    let arrivals = by_comment;
    let per_session = subscribers / session_count;
    let mut latencies: Vec<f64> = Vec::new();
    let mut missing = 0usize;
    for (id, at) in posted.iter() {
        let got = arrivals.get(id).map_or(&[][..], Vec::as_slice);
        missing += per_session.saturating_sub(got.len());
        // An event can arrive before the POST's response does: count that as 0.
        latencies.extend(got.iter().map(|t| t.saturating_duration_since(*at).as_secs_f64() * 1000.0));
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct =
        |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(f64::NAN);
    println!("| scenario | subscribers | sessions | posts/s | posted | deliveries | missing | p50 ms | p99 ms | max ms | post errors | streams ended |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| fan-out | {subscribers} | {session_count} | {:.0} | {} | {} | {missing} | {:.1} | {:.1} | {:.1} | {} | {} |",
        posted.len() as f64 / duration.as_secs_f64(),
        posted.len(),
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        errors.load(std::sync::atomic::Ordering::Relaxed),
        ended.load(std::sync::atomic::Ordering::Relaxed),
    );
    for r in readers {
        r.abort();
    }
}
