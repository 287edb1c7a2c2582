//! How reads are named, so that they can be answered again without being
//! made again: positions in the live event log (`cursor`, handed out with
//! every read of a session's state), versions of a session's reads made of
//! those positions (`session`), and the responses kept under their version
//! (`kept`). Every feature's reads use them; none of them belongs to one.

pub mod cursor;
pub mod kept;
pub mod session;
