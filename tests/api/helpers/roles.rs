//! The role matrix: a cast with one user per role (plus a banned moderator,
//! an outsider and another group's moderator) and the expectations each
//! moderator-only route must meet for every one of them.

use reqwest::Method;
use serde_json::{json, Value};

use super::app::TestApp;
use super::client::Resp;
use super::reading::Reading;
use super::users::TestUser;

/// Everyone a moderation route can be called by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    Outsider,
    Member,
    OtherMod,
    Moderator,
    Organiser,
    Owner,
    BannedMod,
}

use Who::*;

/// A cell's expectation: status, and the problem code (`""`: a success).
pub type Cell = (u16, &'static str);

/// One row of a matrix: the caller, then the expectation in a public and in a private group.
pub type MatrixRow = (Who, Cell, Cell);

/// Moderator-only routes: a moderator of another group and an outsider are
/// 403 in a public group and 404 in a private one (whose existence must not
/// leak); a banned moderator keeps read access to a public group only.
pub const MODERATOR_ROUTE: [MatrixRow; 8] = [
    (Anonymous, (401, "missing_token"), (401, "missing_token")),
    (Outsider, (403, "insufficient_role"), (404, "not_found")),
    (Member, (403, "insufficient_role"), (403, "insufficient_role")),
    (OtherMod, (403, "insufficient_role"), (404, "not_found")),
    (BannedMod, (403, "banned"), (404, "not_found")),
    (Moderator, (200, ""), (200, "")),
    (Organiser, (200, ""), (200, "")),
    (Owner, (200, ""), (200, "")),
];

/// A group's cast: one user per role, plus a banned moderator, an outsider
/// and a moderator of another group.
pub struct Cast {
    pub visibility: &'static str,
    pub reading: Reading,
    pub owner: TestUser,
    pub organiser: TestUser,
    pub moderator: TestUser,
    pub member: TestUser,
    pub banned_mod: TestUser,
    pub outsider: TestUser,
    pub other_mod: TestUser,
}

impl Cast {
    pub fn user(&self, who: Who) -> Option<&TestUser> {
        match who {
            Anonymous => None,
            Outsider => Some(&self.outsider),
            Member => Some(&self.member),
            OtherMod => Some(&self.other_mod),
            Moderator => Some(&self.moderator),
            Organiser => Some(&self.organiser),
            Owner => Some(&self.owner),
            BannedMod => Some(&self.banned_mod),
        }
    }

    pub fn token(&self, who: Who) -> Option<&str> {
        self.user(who).map(|u| u.token.as_str())
    }

    pub fn group(&self) -> &str {
        &self.reading.group_id
    }

    pub fn session(&self) -> &str {
        &self.reading.session_id
    }

    /// The expectation for `row` in this cast's group.
    pub fn pick(&self, row: &MatrixRow) -> Cell {
        if self.visibility == "public" {
            row.1
        } else {
            row.2
        }
    }
}

pub async fn cast(app: &TestApp, visibility: &'static str) -> Cast {
    let tag = &visibility[..3];
    let name = |role: &str| format!("{tag}_{role}");
    let owner = app.register(&name("owner")).await;
    let reading = app.reading(&owner, visibility).await;
    let group = reading.group_id.clone();
    let organiser = app.register(&name("organiser")).await;
    app.add_member(&group, &owner, &organiser, "organiser").await;
    let moderator = app.register(&name("moderator")).await;
    app.add_member(&group, &owner, &moderator, "moderator").await;
    let member = app.register(&name("member")).await;
    app.add_member(&group, &owner, &member, "member").await;
    let banned_mod = app.register(&name("banned_mod")).await;
    app.add_member(&group, &owner, &banned_mod, "moderator").await;
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": banned_mod.id, "reason": "cooling off"}),
    )
    .await
    .expect(201);
    let outsider = app.register(&name("outsider")).await;
    let other_mod = app.register(&name("other_mod")).await;
    let other_group = app.create_group(&owner, visibility).await;
    app.add_member(&other_group, &owner, &other_mod, "moderator").await;
    Cast { visibility, reading, owner, organiser, moderator, member, banned_mod, outsider, other_mod }
}

/// Calls as `who` and asserts the cell's status (and problem code).
pub async fn check_cell(
    app: &TestApp,
    cast: &Cast,
    who: Who,
    method: Method,
    path: &str,
    body: Option<Value>,
    (status, code): Cell,
) -> Resp {
    let res = app.call(method.clone(), path, cast.token(who), body).await;
    assert_eq!(res.status, status, "{who:?} in a {} group, {method} {path}: {}", cast.visibility, res.body);
    if !code.is_empty() {
        res.expect_problem(status, code);
    }
    res
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// Rows in this group's modlog, straight from the table.
pub async fn modlog_rows(app: &TestApp, group: &str) -> Vec<(String, String, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        target_type: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        target_id: String,
    }
    use diesel_async::RunQueryDsl;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT action, target_type, target_id::text AS target_id FROM modlog
          WHERE group_id = $1::uuid AND action NOT IN ('ban', 'role_change')
          ORDER BY created_at, id",
    )
    .bind::<diesel::sql_types::Text, _>(group)
    .load(&mut app.db().await)
    .await
    .expect("modlog rows");
    rows.into_iter().map(|r| (r.action, r.target_type, r.target_id)).collect()
}

/// One modlog row as `modlog_rows` returns it.
pub fn own(action: &str, target_type: &str, target_id: &str) -> (String, String, String) {
    (action.to_owned(), target_type.to_owned(), target_id.to_owned())
}
