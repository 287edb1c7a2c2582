//! A user as anyone may see them: the author beside every thread and
//! comment, a member in a list, the caller in `/me`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Reads;
use crate::schema::users;

/// Built from its row alone (`UserView::as_select()`), so it is whole
/// wherever it is read; a field added here is read everywhere at once.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub bio: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The account was deleted with its words (src/users/deletion.rs): what
    /// it wrote is shown as tombstones without an author.
    #[serde(skip)]
    pub erased: bool,
}

impl From<&crate::users::User> for UserView {
    fn from(u: &crate::users::User) -> Self {
        UserView {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            bio: u.bio.clone(),
            created_at: u.created_at,
            erased: u.erased,
        }
    }
}

/// Comment pages are kept by version and show their authors: a change to
/// what this view shows must move the `profiles` watermark.
pub fn reads() -> Reads {
    Reads::new("user")
        .query(&users::table.select(UserView::as_select()))
        .fixed(&["users.id", "users.created_at"])
}
