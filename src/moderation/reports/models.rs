//! A report as stored: a member's flag on a comment, open until a
//! moderator resolves it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::reports;

crate::db_enum! {
    #[derive(Default)]
    pub enum ReportStatus {
        #[default]
        Open,
        Resolved,
    }
}

crate::db_enum! {
    pub enum Outcome {
        Dismissed,
        Actioned,
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reports)]
pub struct Report {
    pub id: Uuid,
    pub group_id: Uuid,
    pub comment_id: Uuid,
    pub reporter_id: Uuid,
    pub reason: String,
    pub status: ReportStatus,
    pub outcome: Option<Outcome>,
    pub note: Option<String>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
