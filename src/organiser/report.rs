//! `GET /sessions/{id}/report`: the organiser's report on a session, as
//! JSON or (`Accept: text/csv`) one CSV row per paragraph, versioned like
//! the other reads of a session (`ETag`, 304, kept answers).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::access::Role;
use crate::auth::MaybeCaller;
use crate::error::{ApiResult, Problem};
use crate::sessions::models as sessions_db;
use crate::state::AppState;
use crate::versions::session::{self, Answer};
use crate::views::session_report::{self as report_view, SessionReport};

const CSV: &str = "text/csv; charset=utf-8";

/// Whether the client asked for CSV: `text/csv` among its `Accept` ranges
/// (with a non-zero quality), before any JSON range.
fn wants_csv(req: &HttpRequest) -> bool {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()).is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        match media.as_str() {
            "text/csv" => return true,
            "application/json" | "application/*" => return false,
            _ => {}
        }
    }
    false
}

/// What one session came to, for its group's organisers: totals, every
/// paragraph's numbers, the open questions, who took part and when.
/// Counts exactly what `/counts` counts. `Accept: text/csv` gives one row
/// per paragraph instead.
#[utoipa::path(tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "The report; with `Accept: text/csv`, a header row (paragraph_id, position, excerpt, thread_count, comment_count, question_count, open_question_count, participant_count) and one row per paragraph in essay order",
            content(
                (SessionReport = "application/json"),
                (String = "text/csv"),
            )),
        (status = 304, description = "Not modified"),
        (status = 401, body = Problem),
        (status = 403, description = "A member who is not an organiser of the group", body = Problem),
        (status = 404, body = Problem),
    ))]
#[get("/sessions/{session_id}/report")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn session_report(
    state: AppState,
    http: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let session_id = *path;
    let mut conn = state.conn().await?;
    let read = session::begin(&mut conn, caller.0.as_ref(), session_id, Answer::Report).await?;
    read.access.require(Role::Organiser)?;
    let csv = wants_csv(&http);
    let answer = if csv { read.answer.variant("csv") } else { read.answer };
    let content_type = if csv { CSV } else { "application/json" };
    if let Some(known) = answer.known_as(&http, &state.kept_responses, content_type) {
        return Ok(vary_on_accept(known));
    }
    let found = sessions_db::find(&mut conn, session_id).await?;
    let report = report_view::build(&mut conn, found.into()).await?;
    let response = if csv {
        let body = report_view::to_csv(&report)?;
        answer.bytes(&http, &state.kept_responses, body.into(), CSV)
    } else {
        answer.json(&http, &state.kept_responses, &report)?
    };
    Ok(vary_on_accept(response))
}

fn vary_on_accept(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Authorization, Accept"));
    response
}
