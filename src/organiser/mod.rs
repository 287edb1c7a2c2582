//! The organiser's view: the session report (`report`), the briefing mailed
//! to organisers before a session starts (`briefing`), and calendars of
//! sessions (`calendar`, written by `ics`).

pub mod briefing;
pub mod calendar;
pub mod ics;
pub mod report;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(report::session_report).configure(calendar::routes);
}
