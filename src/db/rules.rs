//! The rules of src/db/replaceable/triggers.sql that the query builder names:
//! the counting rule (`r.counts`) and the bans in force (`r.live_bans`).
//! Both are stated there once, for triggers, `.sql` files and these alike.

use diesel::sql_types::Bool;

diesel::define_sql_function! {
    /// Whether a comment counts (`r.counts`): neither hidden nor deleted, and
    /// its thread not hidden. Inlined by PostgreSQL, so a partial index over
    /// `NOT hidden AND NOT deleted` still answers it.
    #[sql_name = "r.counts"]
    fn counts(hidden: Bool, deleted: Bool, thread_hidden: Bool) -> Bool;
}

diesel::table! {
    /// `r.live_bans`: the bans in force. Deleting through it lifts a ban only
    /// while it is in force.
    r.live_bans (group_id, user_id) {
        group_id -> Uuid,
        user_id -> Uuid,
        expires_at -> Nullable<Timestamptz>,
    }
}

mod joins {
    use super::live_bans;
    use crate::schema::{groups, memberships, thread_votes};

    diesel::allow_tables_to_appear_in_same_query!(live_bans, groups);
    diesel::allow_tables_to_appear_in_same_query!(live_bans, memberships);
    diesel::allow_tables_to_appear_in_same_query!(live_bans, thread_votes);
}
