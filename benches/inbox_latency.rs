//! How long a comment takes to reach its notification: from the POST's 201
//! on one instance to (a) the recipient's inbox item naming it, read on that
//! instance, and (b) the `notification` event on the recipient's
//! notification stream held open on another instance. Run against two
//! servers on one database seeded by benches/seed.sh (benches/run.sh, step
//! `latency`, starts the second).
//!
//! The recipient is the seeded group's owner, author of the hot threads;
//! the other seeded users post into those threads at RATE per second for
//! DURATION seconds, so every comment tells the owner (`reply`). An item
//! names only the newest comment of its thread, so a comment counts as
//! arrived with the first item or event of its thread naming it or a
//! comment posted after it. The inbox is read every 20 ms (which adds up
//! to 20 ms to (a)). Prints one Markdown table row.
//!
//! Environment: BASE_URL (the posting instance, http://127.0.0.1:18088/api/v1),
//! BASE_URL_B (the streaming instance), OUT (benches/out: tokens.txt,
//! hot_threads.txt), RATE (200), DURATION (10).

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

/// (thread, latest comment, when seen).
type Sightings = Arc<Mutex<Vec<(String, String, Instant)>>>;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn item_of(v: &Value) -> Option<(String, String)> {
    Some((v["thread"]["id"].as_str()?.to_owned(), v["latest_comment_id"].as_str()?.to_owned()))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let base_a = env("BASE_URL", "http://127.0.0.1:18088/api/v1");
    let base_b = env("BASE_URL_B", "http://127.0.0.1:18089/api/v1");
    let out = env("OUT", "benches/out");
    let rate = num("RATE", 200);
    let duration = Duration::from_secs(num("DURATION", 10));
    let tokens: Vec<String> = std::fs::read_to_string(format!("{out}/tokens.txt"))
        .expect("tokens.txt (run benches/seed.sh)")
        .lines()
        .map(str::to_owned)
        .collect();
    let threads: Vec<String> = std::fs::read_to_string(format!("{out}/hot_threads.txt"))
        .expect("hot_threads.txt")
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(tokens.len() > 1 && !threads.is_empty(), "seed first");
    let owner = tokens[0].clone();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();

    // (b) The owner's notification stream on the other instance.
    let streamed: Sightings = Arc::default();
    let mut response = client
        .get(format!("{base_b}/me/notifications/events"))
        .bearer_auth(&owner)
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("the notification stream");
    assert_eq!(response.status(), 200, "opening the notification stream");
    let sink = streamed.clone();
    let stream = tokio::spawn(async move {
        let mut buffer: Vec<u8> = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            let now = Instant::now();
            buffer.extend_from_slice(&chunk);
            let mut start = 0;
            while let Some(end) = find(&buffer[start..], b"\n\n") {
                let frame = &buffer[start..start + end];
                if find(frame, b"event: notification\n").is_some() {
                    let at = find(frame, b"data: ").map(|i| i + 6);
                    if let Some(v) = at.and_then(|i| serde_json::from_slice::<Value>(&frame[i..]).ok()) {
                        if let Some((thread, latest)) = item_of(&v) {
                            sink.lock().unwrap().push((thread, latest, now));
                        }
                    }
                }
                start += end + 2;
            }
            buffer.drain(..start);
        }
    });

    // (a) The owner's inbox on the posting instance, read every 20 ms.
    let polled: Sightings = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let (client, owner, base_a, sink, done) =
            (client.clone(), owner.clone(), base_a.clone(), polled.clone(), done.clone());
        tokio::spawn(async move {
            let mut last: HashMap<String, String> = HashMap::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let res = client
                    .get(format!("{base_a}/me/notifications?limit=100"))
                    .bearer_auth(&owner)
                    .send()
                    .await;
                let now = Instant::now();
                if let Ok(page) = res {
                    if let Ok(page) = page.json::<Value>().await {
                        for item in page["items"].as_array().into_iter().flatten() {
                            if let Some((thread, latest)) = item_of(item) {
                                if last.get(&thread) != Some(&latest) {
                                    last.insert(thread.clone(), latest.clone());
                                    sink.lock().unwrap().push((thread, latest, now));
                                }
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Steady posting by everyone but the owner.
    let posted: Arc<Mutex<Vec<(String, String, Instant)>>> = Arc::default();
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let started = Instant::now();
    let mut n = 0usize;
    let mut posts = Vec::new();
    while started.elapsed() < duration {
        tick.tick().await;
        let thread = threads[n % threads.len()].clone();
        let token = tokens[1 + n % (tokens.len() - 1)].clone();
        let (client, base_a, posted, errors) =
            (client.clone(), base_a.clone(), posted.clone(), errors.clone());
        posts.push(tokio::spawn(async move {
            let res = client
                .post(format!("{base_a}/threads/{thread}/comments"))
                .bearer_auth(token)
                .json(&serde_json::json!({"body": "a reply for the owner"}))
                .send()
                .await;
            match res {
                Ok(r) if r.status() == 201 => {
                    let at = Instant::now();
                    let v: Value = r.json().await.unwrap();
                    posted.lock().unwrap().push((thread, v["id"].as_str().unwrap().to_owned(), at));
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
    tokio::time::sleep(Duration::from_secs(5)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = poller.await;
    stream.abort();

    // Per thread, comments in the order their 201s came back.
    let mut posted = posted.lock().unwrap().clone();
    posted.sort_by_key(|p| p.2);
    let mut order: HashMap<String, usize> = HashMap::new();
    for (i, (_, id, _)) in posted.iter().enumerate() {
        order.insert(id.clone(), i);
    }
    let latencies = |seen: &Sightings| {
        let seen = seen.lock().unwrap();
        let mut ms = Vec::new();
        let mut missing = 0;
        for (i, (thread, _, at)) in posted.iter().enumerate() {
            let first = seen
                .iter()
                .filter(|(t, latest, _)| t == thread && order.get(latest).is_some_and(|&j| j >= i))
                .map(|(_, _, when)| *when)
                .min();
            match first {
                Some(when) => ms.push(when.saturating_duration_since(*at).as_secs_f64() * 1000.0),
                None => missing += 1,
            }
        }
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (ms, missing)
    };
    let (row, row_missing) = latencies(&polled);
    let (sse, sse_missing) = latencies(&streamed);
    println!(
        "| {rate} posts/s for {}s | {} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} |",
        duration.as_secs(),
        posted.len(),
        percentile(&row, 0.5),
        percentile(&row, 0.99),
        percentile(&sse, 0.5),
        percentile(&sse, 0.99),
        row_missing + sse_missing,
        errors.load(std::sync::atomic::Ordering::Relaxed),
    );
}
