//! Every endpoint, registered once. The router and the OpenAPI document both
//! come from these registrations (utoipa-actix-web collects each handler's
//! `#[utoipa::path]` as it is added), so a route that is served but not
//! documented, or documented but not served, cannot exist.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::App;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};

/// The API's routes, each feature registering its own. The router tries
/// them in this order, one regex each, so the reads and posts every reader
/// makes come first (the router was a tenth of the server's CPU in a counts
/// read, half that in this order; benches/RESULTS.md, "The posting stall"). No two
/// features serve overlapping paths, so the order changes nothing else.
fn api_routes(cfg: &mut ServiceConfig) {
    cfg.configure(crate::sessions::routes)
        .configure(crate::comments::routes)
        .configure(crate::threads::routes)
        .configure(crate::anchors::routes)
        .configure(crate::auth::routes::routes)
        .configure(crate::users::routes::routes)
        .configure(crate::users::blocks::routes)
        .configure(crate::users::deletion::routes)
        .configure(crate::users::email::routes)
        .configure(crate::users::exports::routes)
        .configure(crate::groups::routes)
        .configure(crate::essays::routes)
        .configure(crate::moderation::routes)
        .configure(crate::annotations::routes)
        .configure(crate::events::routes)
        .configure(crate::questions::routes)
        .configure(crate::unread::routes)
        .configure(crate::notifications::routes)
        .configure(crate::notifications::push::routes::routes)
        .configure(crate::mailing::routes)
        .configure(crate::search::routes)
        .configure(crate::organiser::routes);
}

/// Every route of the service.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(crate::health::health).service(crate::health::ready).service(
        scope("/api/v1")
            // Responses carry private data and tokens: no cache may keep them.
            .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-store")))
            .configure(api_routes),
    );
}

/// The OpenAPI document of [`routes`], with the shared rules applied.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let (_, api) =
        App::new().into_utoipa_app().openapi(crate::openapi::base()).configure(routes).split_for_parts();
    crate::openapi::finish(api)
}
