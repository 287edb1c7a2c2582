//! Reads served by a streaming replica that replays the primary's log 2 s
//! late: a client that sends back its `Pilcrow-Consistency` token reads its
//! own writes every time, a client that sends none is served by the replica,
//! tokens never go back, and a replica stopped mid-run costs no error.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{json, Value};

use crate::helpers::*;

const HEADER: &str = "pilcrow-consistency";

/// The log position a token names.
fn position(token: &str) -> u64 {
    let last = token.rsplit('-').next().expect("token parts");
    u64::from_str_radix(last, 16).expect("hex position")
}

fn token_of(resp: &Resp) -> String {
    resp.header(HEADER).unwrap_or_else(|| panic!("no token; headers: {:?}", resp.headers)).to_owned()
}

async fn app_reading_from(primary: &str, replica: &str) -> TestApp {
    let (primary, replica) = (primary.to_owned(), replica.to_owned());
    spawn_app_on(&primary.clone(), move |s| {
        s.database.url = Some(primary.into());
        s.database.direct_url = None;
        s.database.replica_urls = vec![replica.into()];
        // The shared replica is 2 s behind by design; a loaded test machine
        // must not make it look unusable.
        s.database.replica_max_lag_ms = 60_000;
    })
    .await
}

async fn get_with(app: &TestApp, path: &str, token: Option<&str>) -> Resp {
    let mut req = app.client.get(app.url(path));
    if let Some(token) = token {
        req = req.header(HEADER, token);
    }
    app.raw(req).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_reader_sending_its_token_sees_each_write_while_tokenless_reads_go_to_the_late_replica() {
    let (primary, replica) = replicated_database().await;
    let app = app_reading_from(&primary, &replica).await;
    let owner = app.register("ada").await;
    let reading = app.reading(&owner, "public").await;
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "Opening.").await;
    let page = format!("/threads/{}/comments?limit=100", thread["id"].as_str().expect("thread id"));
    // Until the replica replays the thread, it answers tokenless reads 404.
    tokio::time::sleep(APPLY_DELAY + Duration::from_millis(500)).await;
    let (mut seen, mut stale) = (0, 0);
    for round in 0..50 {
        let posted = app
            .post(
                &format!("/threads/{}/comments", thread["id"].as_str().expect("id")),
                Some(&owner.token),
                json!({"body": format!("Round {round} of the reading.")}),
            )
            .await;
        let written = token_of(&posted);
        let comment_id = posted.expect(201)["id"].as_str().expect("comment id").to_owned();

        let mine = get_with(&app, &page, Some(&written)).await;
        let echoed = token_of(&mine);
        assert!(position(&echoed) >= position(&written), "a read answered with an older token than it sent");
        if ids(&mine.expect(200)).contains(&comment_id) {
            seen += 1;
        }

        let anyone = get_with(&app, &page, None).await;
        let replica_token = token_of(&anyone);
        if !ids(&anyone.expect(200)).contains(&comment_id) {
            stale += 1;
            assert!(
                position(&replica_token) < position(&written),
                "a read that lacks the write says it has reached it"
            );
        }
    }
    assert_eq!(seen, 50, "every read that sent its write's token saw the write");
    // The replica replays 2 s late, so a read it serves right after a write
    // lacks it; the primary would have had it.
    assert!(stale >= 45, "only {stale} of 50 tokenless reads were served by the replica");
}

#[tokio::test]
async fn tokens_only_move_forward_and_a_foreign_or_unreadable_token_goes_to_the_primary() {
    let (primary, replica) = replicated_database().await;
    let app = app_reading_from(&primary, &replica).await;
    let owner = app.register("bea").await;
    let reading = app.reading(&owner, "public").await;
    let counts = format!("/sessions/{}/counts", reading.session_id);

    let written = token_of(
        &app.post("/groups", Some(&owner.token), json!({"name": "Second circle", "visibility": "public"}))
            .await,
    );
    // Echoing the latest token each time: never older, whichever server answers.
    let mut latest = written.clone();
    for _ in 0..10 {
        let resp = get_with(&app, &counts, Some(&latest)).await;
        let next = token_of(&resp);
        resp.expect(200);
        assert!(position(&next) >= position(&latest), "{next} is older than {latest}");
        latest = next;
    }

    // A token of another cluster (or from before a failover) says nothing
    // here: the primary answers, and the response carries this cluster's.
    let foreign = "abc-1-ffffffff";
    let resp = get_with(&app, &counts, Some(foreign)).await;
    assert_ne!(token_of(&resp), foreign);
    resp.expect(200);

    // Nor does one that is not a token at all: it is not what decides the
    // answer, whose token is again a good one.
    for junk in ["yesterday", "1-2", "1-2-3-4", "zz-1-1"] {
        let resp = get_with(&app, &counts, Some(junk)).await;
        let replaced = token_of(&resp);
        assert!(position(&replaced) >= position(&written), "{junk:?} gave {replaced}");
        resp.expect(200);
    }
    get_with(&app, "/me", Some("yesterday")).await.expect_unauthorized("missing_token");
}

#[tokio::test]
async fn a_replica_stopped_while_readers_read_costs_no_error() {
    let (primary, _) = replicated_database().await;
    let (mut replica, base) = own_replica();
    let replica_url = on_replica(&base, &primary);
    wait_for_database(&replica_url).await;
    let app = Arc::new(app_reading_from(&primary, &replica_url).await);
    let owner = app.register("cleo").await;
    let reading = app.reading(&owner, "public").await;
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(1), "Look here.").await;
    let paths = Arc::new([
        format!("/sessions/{}/counts", reading.session_id),
        format!("/threads/{}/comments", thread["id"].as_str().expect("id")),
        format!("/sessions/{}/threads", reading.session_id),
    ]);
    // Readers send this token: a replica that has not replayed the thread
    // yet does not answer them (it would not know the thread).
    let posted = app.post(&paths[1], Some(&owner.token), json!({"body": "And here."})).await;
    let written: Arc<str> = token_of(&posted).into();
    posted.expect(201);

    let stop = Arc::new(AtomicBool::new(false));
    let (answered, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let readers: Vec<_> = (0..6)
        .map(|n| {
            let (app, paths, stop, written) = (app.clone(), paths.clone(), stop.clone(), written.clone());
            let (answered, failed) = (answered.clone(), failed.clone());
            tokio::spawn(async move {
                let mut i = n;
                while !stop.load(Ordering::Relaxed) {
                    let resp = get_with(&app, &paths[i % paths.len()], Some(&written)).await;
                    if resp.status == 200 {
                        answered.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{} answered {}: {}", paths[i % paths.len()], resp.status, resp.body);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    // The pool's connections to the replica are in use before it goes.
    let mut on_replica_conn = AsyncPgConnection::establish(&replica_url).await.expect("replica connection");
    let sessions: i64 = diesel_async::RunQueryDsl::get_result::<Count>(
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ),
        &mut on_replica_conn,
    )
    .await
    .expect("replica activity")
    .n;
    drop(on_replica_conn);
    assert!(sessions >= 2, "the app holds no read connections to the replica ({sessions})");
    let before = answered.load(Ordering::Relaxed);
    tokio::task::spawn_blocking(move || replica.stop()).await.expect("stopping the replica");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("reader");
    }
    let after = answered.load(Ordering::Relaxed);
    assert_eq!(failed.load(Ordering::Relaxed), 0, "reads failed when the replica stopped");
    assert!(after > before + 10, "reads went on after the replica stopped ({before} then {after})");
    app.get("!/ready", None).await.expect(200);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn without_replicas_every_response_still_carries_a_token_that_never_goes_back() {
    let app = spawn_app().await;
    let first = app.get("/groups", None).await;
    let read = token_of(&first);
    first.expect(200);
    let owner = app.register("dita").await;
    let created = app
        .post("/groups", Some(&owner.token), json!({"name": "Evening readers", "visibility": "public"}))
        .await;
    let written = token_of(&created);
    created.expect(201);
    assert!(position(&written) > position(&read), "a write moves the token on");
    let again = get_with(&app, "/groups", Some(&written)).await;
    assert!(position(&token_of(&again)) >= position(&written));
    // Problems carry one too.
    let missing = app.get(&format!("/groups/{}", uuid::Uuid::new_v4()), None).await;
    token_of(&missing);
    missing.expect_problem(404, "not_found");
}
