//! Reading groups: groups, memberships and roles, invitations, bans.

pub mod bans;
pub mod invites;
pub mod models;
pub mod routes;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(routes::routes).configure(invites::routes).configure(bans::routes);
}
