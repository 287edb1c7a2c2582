//! The OpenAPI 3.1 document's metadata, and the rules every operation's
//! description follows. The paths themselves come from the route
//! registrations (`startup::routes`), so a route cannot be undocumented.

use actix_web::http::StatusCode;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::Required;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi;

use crate::db::modlog::{Action, TargetType};
use crate::error::{ErrorCode, FieldError, Problem, PROBLEM_JSON};
use crate::essays::revise::AnchorStatus;
use crate::ids::{GroupId, InviteId, UserId};
use crate::moderation::reports::ReportStatus;
use crate::views::thread::list::ThreadSort;

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
    // Types used only in parameters, which register no schemas of their own
    // (tests/api/openapi.rs fails on any reference left dangling).
    components(schemas(Problem, ErrorCode, FieldError, Action, TargetType, ReportStatus, GroupId, UserId, InviteId, AnchorStatus, ThreadSort)),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "users", description = "The signed-in user"),
        (name = "groups", description = "Reading groups, members, roles, invites"),
        (name = "essays", description = "Essays and their paragraphs"),
        (name = "sessions", description = "Reading sessions and paragraph counts"),
        (name = "threads", description = "Threads anchored to paragraphs, and nested comments"),
        (name = "moderation", description = "Locks, pins, hiding, reports, bans, the moderation log"),
        (name = "export", description = "The discussion as W3C Web Annotations (JSON-LD)"),
        (name = "events", description = "Live session events: Server-Sent Events, long-poll, tickets"),
        (name = "questions", description = "Question threads: votes and accepted answers"),
        (name = "unread", description = "Read marks: what each reader has seen"),
        (name = "search", description = "Full-text search over thread titles and comments"),
        (name = "notifications", description = "The inbox: replies, mentions, watched activity; watch levels"),
        (name = "operations", description = "Health and readiness"),
    )
)]
struct Metadata;

pub const BEARER: &str = "bearer";

/// The document before the routes add their paths.
pub fn base() -> utoipa::openapi::OpenApi {
    let mut api = Metadata::openapi();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
    );
    api
}

/// Applies the rules every operation shares, so a handler's annotation lists
/// only what is particular to it:
/// - every error response is `application/problem+json` with the `Problem` schema;
/// - the errors any route can give are listed: 400 (malformed query), 422,
///   429 and 503 everywhere; 401 where a token is read; 404 where the path
///   names something; 413 and 415 where a body is read;
/// - every response has a description;
/// - every operation takes `Pilcrow-Consistency` and every response carries
///   one (src/consistency/).
pub fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    for item in api.paths.paths.values_mut() {
        for (path_has_params, operation) in operations(item) {
            complete(operation, path_has_params);
        }
    }
    api
}

fn operations(item: &mut PathItem) -> Vec<(bool, &mut Operation)> {
    [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
        .into_iter()
        .flatten()
        .map(|op| {
            let has_path_params = op.parameters.iter().flatten().any(
                |p| matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Path),
            );
            (has_path_params, op)
        })
        .collect()
}

fn complete(operation: &mut Operation, path_has_params: bool) {
    let reads_token = operation.security.iter().flatten().any(|req| !is_anonymous(req));
    let has_body = operation.request_body.is_some();
    let mut common = vec![StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY];
    common.extend([StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE]);
    if reads_token {
        common.push(StatusCode::UNAUTHORIZED);
    }
    if path_has_params {
        common.push(StatusCode::NOT_FOUND);
    }
    if has_body {
        common.extend([StatusCode::PAYLOAD_TOO_LARGE, StatusCode::UNSUPPORTED_MEDIA_TYPE]);
    }
    // Operations taking `Idempotency-Key` (src/idempotency.rs) can answer 409 `idempotency_key_in_flight`.
    let takes_key = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, RefOr::T(p) if p.name == "Idempotency-Key"));
    if takes_key {
        common.push(StatusCode::CONFLICT);
    }
    operation.parameters.get_or_insert_with(Vec::new).push(RefOr::T(consistency_parameter()));
    let responses = &mut operation.responses.responses;
    for status in common {
        responses.entry(status.as_str().to_owned()).or_insert_with(|| RefOr::T(problem_response(status, "")));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        let code = status.parse::<u16>().ok().and_then(|s| StatusCode::from_u16(s).ok());
        if let Some(code) = code {
            if code.is_client_error() || code.is_server_error() {
                *response = problem_response(code, &response.description);
            } else if response.description.is_empty() {
                response.description = code.canonical_reason().unwrap_or("Success").to_owned();
            }
        }
        response.headers.insert(CONSISTENCY.to_owned(), RefOr::T(consistency_header()));
    }
}

const CONSISTENCY: &str = "Pilcrow-Consistency";
/// What the server gives out.
const CONSISTENCY_PATTERN: &str = "^[0-9a-f]{1,16}-[0-9a-f]{1,8}-[0-9a-f]{1,16}$";

fn consistency_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(CONSISTENCY_PATTERN)).build()
}

fn consistency_parameter() -> Parameter {
    ParameterBuilder::new()
        .name(CONSISTENCY)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "The `Pilcrow-Consistency` of the last response the client received: the answer \
             then reflects every write that response reflected (read-your-writes across \
             replicas and instances). A value this API did not give out is ignored, and the \
             primary answers.",
        ))
        // Any string: one that is not a token is not refused, only not used.
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
        .build()
}

fn consistency_header() -> Header {
    HeaderBuilder::new()
        .schema(Some(consistency_schema()))
        .description(Some(
            "A position in the database's history at least as late as this answer and as the \
             token sent; send it back with the next request.",
        ))
        .build()
}

/// `security((), ...)`: the empty requirement that makes the token optional.
fn is_anonymous(req: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(req).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
}

fn problem_response(status: StatusCode, description: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let description = match description {
        "" => reason.to_owned(),
        d if d.starts_with(reason) => d.to_owned(),
        d => format!("{reason}: {d}"),
    };
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
        .build()
}
