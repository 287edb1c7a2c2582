//! The OpenAPI 3.1 document, assembled from each module's annotated routes,
//! served at /api/v1/openapi.json and browsable (offline) at /docs.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pilcrow API",
        version = "1",
        description = "Discussion forums for reading groups: essays split into paragraphs, threads \
                       anchored to them, nested comments, moderation. Errors are RFC 9457 problem \
                       details (`application/problem+json`) with a stable `code`. Lists are keyset \
                       pages `{items, next_cursor}`; pass `?cursor=` for the next page, `?limit=` \
                       1–100 (default 50)."
    ),
    paths(
        crate::health::health,
        crate::health::ready,
        crate::auth::routes::register,
        crate::auth::routes::login,
        crate::auth::routes::refresh,
        crate::auth::routes::logout,
        crate::auth::routes::logout_all,
        crate::users::routes::get_me,
        crate::users::routes::patch_me,
        crate::users::routes::change_password,
        crate::groups::routes::create_group,
        crate::groups::routes::list_groups,
        crate::groups::routes::get_group,
        crate::groups::routes::update_group,
        crate::groups::routes::join_group,
        crate::groups::routes::leave_group,
        crate::groups::routes::list_members,
        crate::groups::routes::set_role,
        crate::groups::invites::create_invite,
        crate::groups::invites::list_invites,
        crate::groups::invites::revoke_invite,
        crate::groups::invites::accept_invite,
        crate::groups::bans::ban,
        crate::groups::bans::unban,
        crate::essays::routes::import_essay,
        crate::essays::routes::list_essays,
        crate::essays::routes::get_essay,
        crate::sessions::routes::create_session,
        crate::sessions::routes::list_sessions,
        crate::sessions::routes::get_session,
        crate::sessions::routes::update_session,
        crate::sessions::routes::session_paragraphs,
        crate::sessions::routes::session_counts,
        crate::threads::routes::create_thread,
        crate::threads::routes::list_threads,
        crate::threads::routes::get_thread,
        crate::threads::comments::list_comments,
        crate::threads::comments::create_comment,
        crate::threads::comments::edit_comment,
        crate::threads::comments::delete_comment,
        crate::moderation::threads::moderate_thread,
        crate::moderation::comments::moderate_comment,
        crate::moderation::reports::create_report,
        crate::moderation::reports::list_reports,
        crate::moderation::reports::get_report,
        crate::moderation::reports::resolve_report,
        crate::moderation::modlog::list_modlog,
        crate::moderation::revisions::list_revisions,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "The signed-in user"),
        (name = "groups", description = "Reading groups, members, roles, invites"),
        (name = "essays", description = "Essays and their paragraphs"),
        (name = "sessions", description = "Reading sessions and paragraph counts"),
        (name = "threads", description = "Threads anchored to paragraphs, and nested comments"),
        (name = "moderation", description = "Locks, pins, hiding, reports, bans, the moderation log"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// The whole document: this one plus every feature module's own.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
