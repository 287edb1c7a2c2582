//! Event cursors: a position `(xid, id)` in the log. Events are read in that
//! order and only below the settled horizon, `pg_snapshot_xmin` of the
//! reading statement's snapshot: every transaction that can still commit has
//! an xid at or above it, so once the horizon passes a position nothing can
//! appear behind it. A late commit is delivered late, never skipped.

use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::error::ApiResult;

/// Sent with every REST read of a session's state: connecting from it misses
/// nothing the read did not already contain.
pub const HEADER: &str = "Pilcrow-Event-Cursor";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cursor {
    pub xid: i64,
    pub id: i64,
}

impl Cursor {
    /// The opaque text form, `{xid}.{id}`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (xid, id) = text.trim().split_once('.')?;
        let cursor = Cursor { xid: xid.parse().ok()?, id: id.parse().ok()? };
        (cursor.xid >= 0 && cursor.id >= 0).then_some(cursor)
    }

    /// Just below every event of transactions that had not finished at `xmin`.
    pub fn at_horizon(xmin: i64) -> Self {
        Cursor { xid: xmin, id: 0 }
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.xid, self.id)
    }
}

diesel::define_sql_function! {
    /// The settled horizon of the statement's snapshot (`r.event_horizon`,
    /// src/db/replaceable/triggers.sql), for the query builder; `.sql` files
    /// name it as `r.event_horizon()`. A statement that selects it next to
    /// its other columns is still cached as a prepared statement (an `sql`
    /// literal would make it parsed and planned on every call).
    #[sql_name = "r.event_horizon"]
    fn event_horizon() -> BigInt;
}

/// The settled horizon now: every event below it has committed or never will.
pub async fn horizon(conn: &mut AsyncPgConnection) -> ApiResult<i64> {
    Ok(diesel::select(event_horizon()).get_result(conn).await?)
}

/// The cursor a REST read hands out, taken before the read: anything the read
/// does not see belongs to a transaction at or above this snapshot's xmin
/// (the horizon only moves forward), so it will be delivered. A few events
/// already in the read may be delivered again; clients upsert.
pub async fn for_read(conn: &mut AsyncPgConnection) -> ApiResult<(&'static str, String)> {
    Ok((HEADER, Cursor::at_horizon(horizon(conn).await?).to_string()))
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn round_trips_and_refuses_junk() {
        let c = Cursor { xid: 51234009, id: 88127 };
        assert_eq!(Cursor::parse(&c.to_string()), Some(c));
        for junk in ["", "1", "a.b", "1.-2", "-1.2", "1.2.3", "99999999999999999999.1"] {
            assert_eq!(Cursor::parse(junk), None, "{junk}");
        }
        assert!(Cursor { xid: 2, id: 0 } > Cursor { xid: 1, id: 99 });
    }
}
