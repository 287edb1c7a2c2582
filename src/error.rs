//! One error type for every handler, rendered as RFC 9457 problem details.
//! Database and pool errors are mapped here and nowhere else; causes are
//! logged with the request's span, never sent to the client.

use actix_web::body::BoxBody;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The rare parts of an error.
#[derive(Debug, Default)]
pub struct Extra {
    /// Extra response headers (the rate-limit headers of a 429).
    pub headers: Vec<(&'static str, String)>,
    /// The groups a `sole_owner` problem names.
    pub groups: Vec<OwnedGroup>,
}

/// A group a `sole_owner` problem names: the caller alone owns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnedGroup {
    pub id: uuid::Uuid,
    pub name: String,
    pub slug: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Every machine code the API answers with, listed once: the `code` of a
/// problem response, and an enum in the OpenAPI document. A new failure adds
/// a variant here, never a string at the call site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    AlreadyMember,
    AlreadyReported,
    AlreadyResolved,
    BadRequest,
    Banned,
    CommentDeleted,
    CommentHidden,
    /// A cross-origin request from an origin, method or header not allowed.
    CorsRejected,
    DatabaseBusy,
    DatabaseUnavailable,
    EmailTaken,
    /// The essay was revised since the client read it (thread creation's `essay_revision`).
    EssayRevised,
    /// A framework error with a status no other code covers.
    Error,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InsufficientRole,
    InternalError,
    InvalidCredentials,
    InvalidCursor,
    InvalidQuery,
    InvalidRefreshToken,
    InvalidResetToken,
    InvalidToken,
    /// An e-mail verification link that is unknown, used or expired.
    InvalidVerificationToken,
    InviteExpired,
    InviteOnly,
    InviteUsedUp,
    LastOwner,
    MalformedBody,
    MalformedJson,
    MethodNotAllowed,
    MissingToken,
    NotAMember,
    /// KeptResponses are accepted on question threads only.
    NotAQuestion,
    NotAuthor,
    NotFound,
    PayloadTooLarge,
    /// A push endpoint that is plain `http`.
    PushEndpointInsecure,
    /// A push endpoint whose host is, or resolves to, an address that is not public.
    PushEndpointNotPublic,
    /// A push endpoint whose host does not resolve.
    PushEndpointUnresolvable,
    RateLimited,
    RefreshTokenReused,
    RequestTimeout,
    /// `If-Match` named a revision that is no longer the essay's current one.
    RevisionConflict,
    SessionClosed,
    SlugTaken,
    /// The account alone owns groups (listed in `groups`): it cannot be deleted yet.
    SoleOwner,
    /// A hidden thread takes no votes, not even a moderator's.
    ThreadHidden,
    ThreadLocked,
    TokenExpired,
    TokenRevoked,
    UnsupportedMediaType,
    UsernameTaken,
    ValidationFailed,
    WeakPassword,
    /// The request ran past `server.request_timeout_ms` and was ended (503).
    DeadlineExceeded,
    /// The instance holds as many live event streams as it may.
    TooManyStreams,
    /// The user holds `push.max_subscriptions_per_user` push subscriptions already.
    TooManyPushSubscriptions,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 9457 problem details, as every error response carries them.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:pilcrow:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine code, e.g. `validation_failed`.
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// With `sole_owner`: the groups to hand over first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<OwnedGroup>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub detail: String,
    pub errors: Option<Vec<FieldError>>,
    pub retry_after_secs: Option<u32>,
    /// What few errors carry: boxed to keep `ApiError` small, as every
    /// `Result` of a handler carries it.
    pub extra: Option<Box<Extra>>,
    #[source]
    pub cause: Option<anyhow::Error>,
    /// Where the cause arose (the innermost instrumented step, such as one
    /// model function), so its log line says which query failed.
    origin: Option<tracing::Span>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: None,
            retry_after_secs: None,
            extra: None,
            cause: None,
            origin: None,
        }
    }

    pub fn bad_request(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn forbidden(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// Absent, or present but not visible to the caller: the two must look alike.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "No such resource.")
    }

    pub fn conflict(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn gone(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, code, detail)
    }

    pub fn unprocessable(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            "The request is well-formed but some fields are invalid.",
        );
        e.errors = Some(errors);
        e
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "Too many requests; try again later.",
        );
        e.retry_after_secs = Some(u32::try_from(retry_after_secs).unwrap_or(u32::MAX));
        e
    }

    /// 503 `database_busy` with `Retry-After: 1`: the work lost a race (with
    /// another transaction, or with a change to what it read) and a retry
    /// will do. Not a database error: the metrics do not count it as one.
    pub fn busy(detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::DatabaseBusy, detail);
        e.retry_after_secs = Some(1);
        e
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::DatabaseUnavailable,
            "The database is unavailable; try again shortly.",
        );
        e.retry_after_secs = Some(1);
        e.cause = Some(cause.into());
        e.origin = Some(tracing::Span::current());
        e
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            "Something went wrong on our side.",
        );
        e.cause = Some(cause.into());
        e.origin = Some(tracing::Span::current());
        e
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:pilcrow:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            errors: self.errors.clone(),
            groups: self.extra.as_ref().map(|x| x.groups.clone()).filter(|g| !g.is_empty()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let _in_origin = self.origin.as_ref().map(tracing::Span::enter);
        if let Some(cause) = &self.cause {
            if self.status.is_server_error() {
                // One line per kind every few seconds: an outage fails every request alike.
                if let Some(suppressed) = crate::telemetry::throttle(self.code.as_str()) {
                    tracing::error!(code = self.code.as_str(), error = %format!("{cause:#}"), suppressed, "request failed");
                }
            } else {
                tracing::debug!(code = self.code.as_str(), error = ?cause, "request refused");
            }
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        for (name, value) in self.extra.iter().flat_map(|x| x.headers.iter()) {
            response.insert_header((*name, value.as_str()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// Whether a Diesel error means the server or connection is gone rather than
/// that the query was wrong.
pub fn is_connection_loss(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => true,
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let m = info.message();
            m.contains("connection") || m.contains("terminating") || m.contains("shutting down")
        }
        _ => false,
    }
}

/// A serialization failure or deadlock: the transaction lost a race and a
/// retry will do.
fn is_contention(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

impl From<DieselError> for ApiError {
    fn from(e: DieselError) -> Self {
        if !matches!(e, DieselError::NotFound) {
            crate::metrics::database_error(&e);
        }
        match e {
            ref e if crate::db::is_timeout(e) => {
                let mut err = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::DatabaseBusy,
                    "The database took too long to answer; try again.",
                );
                err.retry_after_secs = Some(1);
                err.cause = Some(anyhow::anyhow!("{e}"));
                err
            }
            DieselError::NotFound => Self::not_found(),
            ref e if is_contention(e) => {
                let mut err = Self::busy("The request collided with another; try again.");
                err.cause = Some(anyhow::anyhow!("{e}"));
                err.origin = Some(tracing::Span::current());
                err
            }
            ref other if is_connection_loss(other) => Self::unavailable(e),
            ref e if crate::db::pool::is_stale_statement(e) => {
                // `AppState::read` runs the work again on a new connection;
                // elsewhere the client is asked to try again at once.
                crate::db::pool::schema_changed();
                let mut err = Self::busy("The database's schema changed during the request; try again.");
                err.retry_after_secs = Some(0);
                err.cause = Some(anyhow::anyhow!("{e}"));
                err
            }
            other => Self::internal(other),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        crate::metrics::pool_error(&e);
        Self::unavailable(anyhow::anyhow!("connection pool: {e}"))
    }
}

/// The name of the unique constraint a Diesel error violated, if it is one.
pub fn unique_violation(e: &DieselError) -> Option<&str> {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            Some(info.constraint_name().unwrap_or(""))
        }
        _ => None,
    }
}
