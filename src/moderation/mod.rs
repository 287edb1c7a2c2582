//! Moderation: the log every moderator action lands in.

pub mod log;
