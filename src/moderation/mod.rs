//! Moderation: thread and comment actions, reports, the moderation log and
//! comment edit history. Every effective action writes one log row in the
//! same transaction as the change itself.

pub mod comment_edits;
pub mod comments;
pub mod modlog;
pub mod reports;
pub mod threads;

use crate::error::ApiResult;
use crate::http::Check;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(threads::routes)
        .configure(comments::routes)
        .configure(reports::routes)
        .configure(modlog::routes)
        .configure(comment_edits::routes);
}

/// An optional reason: at most 1,000 characters; blank counts as none.
pub fn optional_reason(reason: Option<&str>) -> ApiResult<Option<String>> {
    let mut check = Check::new();
    if let Some(reason) = reason {
        check.chars("reason", reason, crate::domain::limits::OPTIONAL_REASON);
    }
    check.done()?;
    Ok(reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned))
}
