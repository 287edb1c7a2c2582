//! The access policy, route by route: a role × endpoint matrix for every
//! route of the groups issue, in a public and a private group, and privacy
//! probes showing that a private group's resources look exactly like
//! missing ones to outsiders.

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp, TestUser};

/// The callers of every cell, in column order.
const CALLERS: [&str; 7] = ["anonymous", "outsider", "member", "moderator", "organiser", "owner", "banned"];

// Expected cells: a status, and the problem code when it is an error.
const OK: &str = "200";
const CREATED: &str = "201";
const GONE_OK: &str = "204";
const ANON: &str = "401 missing_token";
const NOT_MEMBER: &str = "403 not_a_member";
const LOW_ROLE: &str = "403 insufficient_role";
const BANNED: &str = "403 banned";
const HIDDEN: &str = "404 not_found";
const ALREADY: &str = "409 already_member";
const LAST_OWNER: &str = "409 last_owner";

/// Anyone reads a public group; only members (not the banned) read a private one.
const READ_PUBLIC: [&str; 7] = [OK, OK, OK, OK, OK, OK, OK];
const READ_PRIVATE: [&str; 7] = [HIDDEN, HIDDEN, OK, OK, OK, OK, HIDDEN];

/// The users of one run, each holding the same role in every group of the run.
struct Cast {
    outsider: TestUser,
    member: TestUser,
    moderator: TestUser,
    organiser: TestUser,
    owner: TestUser,
    banned: TestUser,
    /// A plain member that bans and role changes are aimed at.
    victim: TestUser,
}

impl Cast {
    async fn new(app: &TestApp, tag: &str) -> Cast {
        Cast {
            outsider: app.register(&format!("{tag}_outsider")).await,
            member: app.register(&format!("{tag}_member")).await,
            moderator: app.register(&format!("{tag}_moderator")).await,
            organiser: app.register(&format!("{tag}_organiser")).await,
            owner: app.register(&format!("{tag}_owner")).await,
            banned: app.register(&format!("{tag}_banned")).await,
            victim: app.register(&format!("{tag}_victim")).await,
        }
    }

    /// The token of each column's caller.
    fn token(&self, column: usize) -> Option<&str> {
        let user = match column {
            0 => return None,
            1 => &self.outsider,
            2 => &self.member,
            3 => &self.moderator,
            4 => &self.organiser,
            5 => &self.owner,
            _ => &self.banned,
        };
        Some(&user.token)
    }
}

/// One group with every role filled, an essay, a session and an invite code.
struct World {
    group: String,
    essay: String,
    session: String,
    code: String,
    victim: String,
}

async fn world(app: &TestApp, cast: &Cast, visibility: &str) -> World {
    let group = app.create_group(&cast.owner, visibility).await;
    for (user, role) in [
        (&cast.member, "member"),
        (&cast.moderator, "moderator"),
        (&cast.organiser, "organiser"),
        (&cast.banned, "member"),
        (&cast.victim, "member"),
    ] {
        app.add_member(&group, &cast.owner, user, role).await;
    }
    ban(app, &group, &cast.owner, &cast.banned).await;
    let essay = app.import_essay(&group, &cast.owner, "First paragraph.\n\nSecond paragraph.").await;
    let essay = essay["id"].as_str().expect("essay id").to_owned();
    let session = app.open_session(&group, &cast.owner, &essay).await;
    let code = app.invite(&group, &cast.owner, json!({})).await;
    World { group, essay, session, code, victim: cast.victim.id.clone() }
}

async fn ban(app: &TestApp, group: &str, by: &TestUser, user: &TestUser) {
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&by.token),
        json!({"user_id": user.id, "reason": "spam"}),
    )
    .await
    .expect(201);
}

/// Something to do before each cell of a row.
#[derive(Clone, Copy, PartialEq)]
enum Prep {
    None,
    /// The owner bans the victim, so that there is a ban to lift.
    BanVictim,
}

struct Route {
    method: Method,
    /// `{g}` group, `{e}` essay, `{s}` session, `{u}` victim user, `{code}` invite code.
    path: &'static str,
    body: fn(&World) -> Option<Value>,
    prep: Prep,
    public: [&'static str; 7],
    private: [&'static str; 7],
}

fn no_body(_: &World) -> Option<Value> {
    None
}

/// Every route of the issue, with the expected answer for each caller.
#[rustfmt::skip]
fn routes() -> Vec<Route> {
    use Method as M;
    let r = |method, path, body, prep, public, private| Route { method, path, body, prep, public, private };
    vec![
        //                                                                         anonymous outsider    member    moderator organiser owner       banned
        r(M::GET,    "/groups",                     no_body, Prep::None,         [OK,       OK,         OK,       OK,       OK,       OK,         OK],
                                                                                 [OK,       OK,         OK,       OK,       OK,       OK,         OK]),
        r(M::POST,   "/groups",                     |_| Some(json!({"name": format!("New {}", Uuid::new_v4()), "visibility": "public"})), Prep::None,
                                                                                 [ANON,     CREATED,    CREATED,  CREATED,  CREATED,  CREATED,    CREATED],
                                                                                 [ANON,     CREATED,    CREATED,  CREATED,  CREATED,  CREATED,    CREATED]),
        r(M::GET,    "/groups/{g}",                 no_body, Prep::None,         READ_PUBLIC, READ_PRIVATE),
        r(M::PATCH,  "/groups/{g}",                 |_| Some(json!({"description": "Changed"})), Prep::None,
                                                                                 [ANON,     LOW_ROLE,   LOW_ROLE, LOW_ROLE, OK,       OK,         BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, LOW_ROLE, OK,       OK,         HIDDEN]),
        r(M::POST,   "/groups/{g}/join",            no_body, Prep::None,         [ANON,     CREATED,    ALREADY,  ALREADY,  ALREADY,  ALREADY,    BANNED],
                                                                                 [ANON,     HIDDEN,     ALREADY,  ALREADY,  ALREADY,  ALREADY,    HIDDEN]),
        r(M::DELETE, "/groups/{g}/members/me",      no_body, Prep::None,         [ANON,     NOT_MEMBER, GONE_OK,  GONE_OK,  GONE_OK,  LAST_OWNER, BANNED],
                                                                                 [ANON,     HIDDEN,     GONE_OK,  GONE_OK,  GONE_OK,  LAST_OWNER, HIDDEN]),
        r(M::GET,    "/groups/{g}/members",         no_body, Prep::None,         [ANON,     NOT_MEMBER, OK,       OK,       OK,       OK,         BANNED],
                                                                                 READ_PRIVATE),
        r(M::PUT,    "/groups/{g}/members/{u}/role", |_| Some(json!({"role": "moderator"})), Prep::None,
                                                                                 [ANON,     LOW_ROLE,   LOW_ROLE, LOW_ROLE, OK,       OK,         BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, LOW_ROLE, OK,       OK,         HIDDEN]),
        r(M::POST,   "/groups/{g}/invites",         |_| Some(json!({"max_uses": 5})), Prep::None,
                                                                                 [ANON,     LOW_ROLE,   LOW_ROLE, LOW_ROLE, CREATED,  CREATED,    BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, LOW_ROLE, CREATED,  CREATED,    HIDDEN]),
        // Whoever holds the code may use it, even for a private group.
        r(M::POST,   "/invites/{code}/accept",      no_body, Prep::None,         [ANON,     CREATED,    ALREADY,  ALREADY,  ALREADY,  ALREADY,    BANNED],
                                                                                 [ANON,     CREATED,    ALREADY,  ALREADY,  ALREADY,  ALREADY,    BANNED]),
        r(M::POST,   "/groups/{g}/bans",            |w| Some(json!({"user_id": w.victim, "reason": "trolling"})), Prep::None,
                                                                                 [ANON,     LOW_ROLE,   LOW_ROLE, CREATED,  CREATED,  CREATED,    BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, CREATED,  CREATED,  CREATED,    HIDDEN]),
        r(M::DELETE, "/groups/{g}/bans/{u}",        no_body, Prep::BanVictim,    [ANON,     LOW_ROLE,   LOW_ROLE, GONE_OK,  GONE_OK,  GONE_OK,    BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, GONE_OK,  GONE_OK,  GONE_OK,    HIDDEN]),
        r(M::POST,   "/groups/{g}/essays",          |_| Some(json!({"title": "More", "format": "text", "body": "One.\n\nTwo."})), Prep::None,
                                                                                 [ANON,     LOW_ROLE,   LOW_ROLE, LOW_ROLE, CREATED,  CREATED,    BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, LOW_ROLE, CREATED,  CREATED,    HIDDEN]),
        r(M::GET,    "/groups/{g}/essays",          no_body, Prep::None,         READ_PUBLIC, READ_PRIVATE),
        r(M::GET,    "/essays/{e}",                 no_body, Prep::None,         READ_PUBLIC, READ_PRIVATE),
        r(M::POST,   "/groups/{g}/sessions",        |w| Some(json!({"essay_id": w.essay, "title": "Week 2", "starts_at": "2026-02-01T18:00:00Z"})), Prep::None,
                                                                                 [ANON,     LOW_ROLE,   LOW_ROLE, LOW_ROLE, CREATED,  CREATED,    BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, LOW_ROLE, CREATED,  CREATED,    HIDDEN]),
        r(M::GET,    "/groups/{g}/sessions",        no_body, Prep::None,         READ_PUBLIC, READ_PRIVATE),
        r(M::GET,    "/sessions/{s}",               no_body, Prep::None,         READ_PUBLIC, READ_PRIVATE),
        r(M::PATCH,  "/sessions/{s}",               |_| Some(json!({"title": "Renamed", "status": "open"})), Prep::None,
                                                                                 [ANON,     LOW_ROLE,   LOW_ROLE, LOW_ROLE, OK,       OK,         BANNED],
                                                                                 [ANON,     HIDDEN,     LOW_ROLE, LOW_ROLE, OK,       OK,         HIDDEN]),
        r(M::GET,    "/sessions/{s}/paragraphs",    no_body, Prep::None,         READ_PUBLIC, READ_PRIVATE),
        r(M::GET,    "/sessions/{s}/counts",        no_body, Prep::None,         READ_PUBLIC, READ_PRIVATE),
    ]
}

fn fill(path: &str, group: &str, essay: &str, session: &str, victim: &str, code: &str) -> String {
    path.replace("{g}", group)
        .replace("{e}", essay)
        .replace("{s}", session)
        .replace("{u}", victim)
        .replace("{code}", code)
}

/// Runs every cell of the matrix for one visibility; returns every mismatch.
async fn run_matrix(app: &TestApp, cast: &Cast, visibility: &str) -> Vec<String> {
    let mut failures = Vec::new();
    for route in routes() {
        // Each row gets a group of its own, so a row that changes memberships
        // (join, leave, accept) cannot disturb the next.
        let w = world(app, cast, visibility).await;
        let path = fill(route.path, &w.group, &w.essay, &w.session, &w.victim, &w.code);
        let expected = if visibility == "public" { route.public } else { route.private };
        for (column, want) in expected.iter().enumerate() {
            if route.prep == Prep::BanVictim {
                ban(app, &w.group, &cast.owner, &cast.victim).await;
            }
            let res = app.call(route.method.clone(), &path, cast.token(column), (route.body)(&w)).await;
            let (want_status, want_code) = want.split_once(' ').unwrap_or((want, ""));
            let got_code = if res.status >= 400 { res.code() } else { "" };
            if res.status.to_string() != want_status || got_code != want_code {
                failures.push(format!(
                    "{visibility:>7} {} {} as {}: want {want}, got {} {got_code} ({})",
                    route.method, route.path, CALLERS[column], res.status, res.body
                ));
            }
        }
    }
    failures
}

#[tokio::test]
async fn role_by_endpoint_matrix_in_a_public_group() {
    let app = spawn_app().await;
    let cast = Cast::new(&app, "pub").await;
    let failures = run_matrix(&app, &cast, "public").await;
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn role_by_endpoint_matrix_in_a_private_group() {
    let app = spawn_app().await;
    let cast = Cast::new(&app, "priv").await;
    let failures = run_matrix(&app, &cast, "private").await;
    assert!(failures.is_empty(), "{} cells differ:\n{}", failures.len(), failures.join("\n"));
}

/// For a private group, every route answers an outsider, an anonymous
/// caller and a banned member exactly as it answers a random id, and a
/// malformed id the same way again.
#[tokio::test]
async fn private_resources_look_exactly_like_missing_ones() {
    let app = spawn_app().await;
    let cast = Cast::new(&app, "probe").await;
    let w = world(&app, &cast, "private").await;
    let random = || Uuid::new_v4().to_string();
    let mut failures = Vec::new();
    let mut probed = 0;
    for route in routes() {
        if !["{g}", "{e}", "{s}"].iter().any(|p| route.path.contains(p)) {
            continue;
        }
        probed += 1;
        let real = fill(route.path, &w.group, &w.essay, &w.session, &w.victim, &w.code);
        let missing = fill(route.path, &random(), &random(), &random(), &w.victim, &w.code);
        let malformed = fill(route.path, "not-a-uuid", "42", "%20", &w.victim, &w.code);
        for (who, token) in [
            ("outsider", Some(cast.outsider.token.as_str())),
            ("banned", Some(&cast.banned.token)),
            ("anonymous", None),
        ] {
            let body = (route.body)(&w);
            let baseline = app.call(route.method.clone(), &missing, token, body.clone()).await;
            assert!(
                baseline.status == 404 || (token.is_none() && baseline.status == 401),
                "{} {missing} as {who}: {}",
                route.method,
                baseline.body
            );
            for (label, path) in [("real id", &real), ("malformed id", &malformed)] {
                let res = app.call(route.method.clone(), path, token, body.clone()).await;
                if res.shape() != baseline.shape() {
                    failures.push(format!(
                        "{} {} as {who} with a {label}: {:?}, but a random id gives {:?}",
                        route.method,
                        route.path,
                        res.shape(),
                        baseline.shape()
                    ));
                }
            }
        }
    }
    assert_eq!(probed, 18, "every group-scoped route is probed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing the probes sent changed the group.
    let members = app.get(&format!("/groups/{}/members", w.group), Some(&cast.owner.token)).await.expect(200);
    assert_eq!(members["items"].as_array().unwrap().len(), 6);
}

/// A private group is left out of the outsider's and the banned member's
/// group list, and shown in the members'.
#[tokio::test]
async fn group_lists_show_private_groups_only_to_members_in_good_standing() {
    let app = spawn_app().await;
    let cast = Cast::new(&app, "list").await;
    let w = world(&app, &cast, "private").await;
    for (who, user, listed) in [
        ("outsider", &cast.outsider, false),
        ("banned", &cast.banned, false),
        ("member", &cast.member, true),
        ("owner", &cast.owner, true),
    ] {
        let groups = app.get("/groups", Some(&user.token)).await.expect(200);
        let found = groups["items"].as_array().unwrap().iter().any(|g| g["id"] == w.group.as_str());
        assert_eq!(found, listed, "{who} sees the private group in GET /groups: {groups}");
    }
    let anonymous = app.get("/groups", None).await.expect(200);
    assert!(anonymous["items"].as_array().unwrap().iter().all(|g| g["id"] != w.group.as_str()));
}
