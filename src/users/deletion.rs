//! Deleting one's own account: `DELETE /me`.
//!
//! The 202 is one transaction, and everything a person would call "my
//! account is gone" holds from its commit: every token stops (the token
//! version moves and refresh tokens are revoked), the username becomes a
//! pseudonym `deleted-…` and the address a placeholder under `.invalid`
//! (both free to register again), the memberships end, and with `erase` the
//! account is marked erased, which every view reads at once: its comments
//! are tombstones without an author and its thread titles are gone.
//!
//! The rest is a row of `account_deletions`, worked in bounded batches by
//! [`job`] within a minute: the rows themselves tombstoned (so counts,
//! search and the W3C export drop them by their usual rules), votes, read
//! marks, watches, notifications, push subscriptions, idempotent responses
//! and the other personal rows deleted, and others' mentions rewritten to
//! the pseudonym. The user's row stays, so replies keep their parent,
//! threads their author and the moderation log its entries, all under the
//! pseudonym.

pub mod job;

use actix_web::delete;
use actix_web::{HttpRequest, HttpResponse};
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::models as users;
use crate::auth::{store, Caller};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, ErrorCode, OwnedGroup, Problem};
use crate::http::Json;
use crate::ratelimit::ClientAddr;
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(delete_me);
}

crate::db_enum! {
    /// What becomes of what a deleted account wrote.
    pub enum DeletedContent {
        /// Every comment becomes a tombstone in place; thread titles go.
        Erase,
        /// Everything stays, under the pseudonym.
        Keep,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMe {
    #[schema(schema_with = limits::password)]
    pub password: String,
    pub content: DeletedContent,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletionScheduled {
    /// Always `scheduled`: the account is gone, the rest follows within a minute.
    #[schema(example = "scheduled")]
    status: &'static str,
}

/// Delete your account. At the 202 every token stops working and signing in
/// fails as for a wrong password; within a minute the rest is done (see
/// README, "What deleting an account removes").
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = DeleteMe,
    params(("Pilcrow-Device" = Option<String>, Header, description = "This client's device token (or the `pilcrow_device` cookie): its failed attempts are counted apart")),
    responses(
        (status = 202, body = DeletionScheduled),
        (status = 401, description = "Wrong password (`invalid_credentials`) or bad token", body = Problem),
        (status = 409, description = "`sole_owner`: the groups listed in `groups` have no other owner", body = Problem),
        (status = 422, body = Problem),
        (status = 429, description = "`rate_limited`: too many failed password attempts; see Retry-After", body = Problem),
    ))]
#[delete("/me")]
#[tracing::instrument(skip_all)]
pub async fn delete_me(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    client: ClientAddr,
    body: Json<DeleteMe>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let user = {
        let mut conn = state.conn().await?;
        users::current(&mut conn, &caller).await?
    };
    super::routes::confirm_password(&state, &http, client, &user, req.password).await?;
    let mut conn = state.conn().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let sole = sole_owned(conn, user.id).await?;
        if !sole.is_empty() {
            let mut e = ApiError::conflict(
                ErrorCode::SoleOwner,
                "You alone own these groups: make someone else owner (or delete the group) first.",
            );
            e.extra = Some(Box::new(crate::error::Extra { groups: sole, ..Default::default() }));
            return Err(e);
        }
        begin(conn, &user, req.content).await
    })
    .await?;
    state.deletions.notify_one();
    Ok(HttpResponse::Accepted().json(DeletionScheduled { status: "scheduled" }))
}

#[derive(QueryableByName)]
struct Owned {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    slug: String,
}

/// The groups `user_id` alone owns, their owners' memberships locked as
/// leaving a group locks them, so no other owner leaves meanwhile.
async fn sole_owned(conn: &mut AsyncPgConnection, user_id: Uuid) -> ApiResult<Vec<OwnedGroup>> {
    let rows: Vec<Owned> =
        crate::sql!("deletion/sole_owned.sql").bind::<SqlUuid, _>(user_id).load(conn).await?;
    Ok(rows.into_iter().map(|g| OwnedGroup { id: g.id, name: g.name, slug: g.slug }).collect())
}

/// Everything of the 202: the account gone, the job row written.
async fn begin(conn: &mut AsyncPgConnection, user: &users::User, content: DeletedContent) -> ApiResult<()> {
    // Random, not derived from the id: the pseudonym must not name the
    // person to whoever kept their id.
    let pseudonym = format!("deleted-{}", &Uuid::new_v4().simple().to_string()[..12]);
    let changed = crate::sql!("deletion/begin.sql")
        .bind::<SqlUuid, _>(user.id)
        .bind::<diesel::sql_types::Integer, _>(user.token_version)
        .bind::<Text, _>(&pseudonym)
        .bind::<diesel::sql_types::Bool, _>(content == DeletedContent::Erase)
        .bind::<Text, _>(content.as_str())
        .bind::<Text, _>(&user.username)
        .bind::<Text, _>(&user.email)
        .execute(conn)
        .await?;
    if changed == 0 {
        // Deleted, or the password changed, since the token was checked.
        return Err(users::revoked());
    }
    store::revoke_all_for_user(conn, user.id).await
}

/// Whether an address may not register: a deleted account had it while
/// banned, and a ban of that account is still live.
pub async fn address_refused(conn: &mut AsyncPgConnection, email: &str) -> ApiResult<bool> {
    #[derive(QueryableByName)]
    struct Refused {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        refused: bool,
    }
    let row: Refused =
        crate::sql!("deletion/address_refused.sql").bind::<Text, _>(email).get_result(conn).await?;
    Ok(row.refused)
}
