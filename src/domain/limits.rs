//! Length limits of request fields, in characters (Unicode scalar values).
//! `Check::text`/`Check::chars` enforce them; the functions named after each limit put
//! the same numbers into the OpenAPI document (`#[schema(schema_with = …)]`).

use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::SchemaFormat;

/// The pattern of a string without NUL characters.
pub const NO_NUL: &str = "^[^\\u0000]*$";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    pub min: usize,
    pub max: usize,
}

impl Length {
    pub const fn new(min: usize, max: usize) -> Self {
        Self { min, max }
    }

    /// No NUL characters either: PostgreSQL cannot store them, and the JSON
    /// extractor refuses them (422), so the document says so.
    pub fn schema(self) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(self.min))
            .max_length(Some(self.max))
            .pattern(Some(NO_NUL))
    }

    /// For an optional field, which also takes `null`.
    pub fn schema_or_null(self) -> ObjectBuilder {
        self.schema().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
    }
}

macro_rules! limits {
    ($($(#[$doc:meta])* $name:ident = $min:literal ..= $max:literal => $schema:ident, $or_null:ident;)+) => {
        $(
            $(#[$doc])*
            pub const $name: Length = Length::new($min, $max);

            pub fn $schema() -> Object {
                $name.schema().build()
            }

            pub fn $or_null() -> Object {
                $name.schema_or_null().build()
            }
        )+
    };
}

limits! {
    PASSWORD = 8..=128 => password, password_or_null;
    DISPLAY_NAME = 1..=64 => display_name, display_name_or_null;
    BIO = 0..=2000 => bio, bio_or_null;
    GROUP_NAME = 1..=100 => group_name, group_name_or_null;
    GROUP_DESCRIPTION = 0..=5000 => group_description, group_description_or_null;
    ESSAY_TITLE = 1..=300 => essay_title, essay_title_or_null;
    /// An essay's author, licence and the like.
    ESSAY_FIELD = 0..=300 => essay_field, essay_field_or_null;
    SESSION_TITLE = 1..=200 => session_title, session_title_or_null;
    THREAD_TITLE = 0..=200 => thread_title, thread_title_or_null;
    /// A comment, in Markdown, stored as written.
    COMMENT_BODY = 1..=10_000 => comment_body, comment_body_or_null;
    /// Why a report, ban or moderation action was made.
    REASON = 1..=1000 => reason, reason_or_null;
    OPTIONAL_REASON = 0..=1000 => optional_reason, optional_reason_or_null;
    REPORT_NOTE = 0..=2000 => report_note, report_note_or_null;
    /// Why an essay was revised, for its history.
    REVISION_NOTE = 0..=1000 => revision_note, revision_note_or_null;
    /// A username or an email address, to sign in with.
    LOGIN = 1..=254 => login, login_or_null;
    /// Password-reset and refresh tokens, opaque to clients.
    TOKEN = 1..=512 => token, token_or_null;
    /// A search query (`q` of GET /groups/{id}/search).
    SEARCH_QUERY = 1..=500 => search_query, search_query_or_null;
}

/// Threads one PUT /sessions/{id}/reads may mark.
pub const READ_MARKS: usize = 500;

/// An optional URL field: a string in `uri` format, or `null`.
pub fn url_or_null() -> Object {
    ESSAY_FIELD.schema_or_null().format(Some(SchemaFormat::Custom("uri".to_owned()))).build()
}
