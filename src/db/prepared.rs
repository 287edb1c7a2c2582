//! Hand-written SQL that PostgreSQL parses and plans once per connection.
//!
//! `diesel::sql_query` marks its text unsafe to cache, so every call is
//! parsed and planned again: for a hot read that costs more than running
//! it. A statement whose text never changes, with every value a `$n`
//! parameter, is safe to cache; [`Prepared`] builds one and says so, and
//! diesel's statement cache keys it by its text. Use it for the few queries
//! the query builder cannot say (lateral joins, aggregates over CTEs); rows
//! come back through `QueryableByName`, as with `sql_query`.
//!
//! Every such statement is a `.sql` file beside the module that runs it,
//! read in at compile time with [`sql!`](crate::sql): the text is whole in
//! one place, a test prepares every file against the migrated schema
//! (tests/api/statements.rs), and nothing is pieced together at run time.
//! Outside `src/db/` (DDL, `SET`, `LISTEN`) nothing calls `sql_query`; a
//! unit test below keeps it so.

use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;
use diesel::QueryResult;

type Bind<'a> = Box<dyn QueryFragment<Pg> + Send + 'a>;

/// A run of SQL text and the parameter after it, if any.
pub type Piece = (&'static str, Option<usize>);

/// `sql` with `$1`, `$2`… bound to the values given by [`Prepared::bind`],
/// in that order. A parameter may appear more than once. `$` must not appear
/// anywhere else in the text (no dollar quoting).
pub struct Prepared<'a> {
    pieces: std::borrow::Cow<'static, [Piece]>,
    binds: Vec<Bind<'a>>,
    per_call: bool,
}

/// The statement in the `.sql` file `$file`, relative to the module that
/// names it (as `include_str!`): `sql!("log/page.sql")` in src/events/log.rs
/// is src/events/log/page.sql. The text is split at its parameters (and its
/// comments left out) once, the first time it runs, not on every call.
#[macro_export]
macro_rules! sql {
    ($file:literal) => {{
        static PIECES: ::std::sync::OnceLock<::std::vec::Vec<$crate::db::prepared::Piece>> =
            ::std::sync::OnceLock::new();
        $crate::db::prepared::Prepared::split(
            PIECES.get_or_init(|| $crate::db::prepared::pieces(include_str!($file))),
        )
    }};
}

/// `sql` split at its `$n` parameters, its comments left out.
pub fn pieces(sql: &'static str) -> Vec<Piece> {
    placeholders(sql).filter(|(text, n)| !text.is_empty() || n.is_some()).collect()
}

impl<'a> Prepared<'a> {
    /// `sql`, split on every call: for a statement chosen at run time among
    /// several texts (prefer [`sql!`](crate::sql), which splits once).
    pub fn new(sql: &'static str) -> Self {
        Prepared { pieces: std::borrow::Cow::Owned(pieces(sql)), binds: Vec::new(), per_call: false }
    }

    /// A statement already split by [`pieces`].
    pub fn split(pieces: &'static [Piece]) -> Self {
        Prepared { pieces: std::borrow::Cow::Borrowed(pieces), binds: Vec::new(), per_call: false }
    }

    /// Planned anew on every call, with its values, instead of kept
    /// prepared: for a statement whose best plan depends on the values so
    /// much that the generic plan PostgreSQL switches a kept statement to
    /// after five calls would be wrong (search: a rare word against a
    /// common one).
    pub fn per_call(mut self) -> Self {
        self.per_call = true;
        self
    }

    /// The next parameter, as SQL type `ST`.
    pub fn bind<ST, U>(mut self, value: U) -> Self
    where
        U: AsExpression<ST>,
        U::Expression: QueryFragment<Pg> + Send + 'a,
        ST: diesel::sql_types::SqlType + diesel::sql_types::SingleValue,
    {
        self.binds.push(Box::new(value.as_expression()));
        self
    }
}

/// The pieces of `sql` around its `$n` placeholders: (text before, n).
/// `--` comments are left out (a file may explain its parameters by name
/// without sending the words, or their `$n`, to the server); quoted text is
/// kept as it is.
fn placeholders(sql: &str) -> impl Iterator<Item = (&str, Option<usize>)> {
    let mut rest = sql;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let bytes = rest.as_bytes();
        let mut at = 0;
        let mut quoted = false;
        while at < bytes.len() {
            match bytes[at] {
                b'\'' => quoted = !quoted,
                b'$' if !quoted => break,
                b'-' if !quoted && bytes.get(at + 1) == Some(&b'-') => break,
                _ => {}
            }
            at += 1;
        }
        let text = &rest[..at];
        if at == bytes.len() {
            rest = "";
            return Some((text, None));
        }
        if bytes[at] == b'-' {
            let end = rest[at..].find('\n').map_or(rest.len(), |n| at + n);
            rest = &rest[end..];
            return Some((text, None));
        }
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let n = rest[at + 1..at + 1 + digits].parse().ok();
        rest = &rest[at + 1 + digits..];
        Some((text, n))
    })
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if self.per_call {
            out.unsafe_to_cache_prepared();
        }
        for &(text, n) in self.pieces.iter() {
            out.push_sql(text);
            if let Some(n) = n {
                let bind = n.checked_sub(1).and_then(|i| self.binds.get(i)).ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(format!("no value bound for ${n}").into())
                })?;
                bind.walk_ast(out.reborrow())?;
            }
        }
        Ok(())
    }
}

/// Keyed by its text in the statement cache, not by type (the text varies).
impl QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn splits_at_numbered_parameters() {
        let parts: Vec<_> = placeholders("SELECT $1, $12 + $1 FROM t").collect();
        assert_eq!(parts, vec![("SELECT ", Some(1)), (", ", Some(12)), (" + ", Some(1)), (" FROM t", None)]);
        assert_eq!(placeholders("").count(), 0);
        assert_eq!(placeholders("$1").collect::<Vec<_>>(), vec![("", Some(1))]);
    }

    #[test]
    fn leaves_out_comments_but_not_quoted_text() {
        let sql = "-- $1 the id\nSELECT '--$2', $1 -- trailing\nFROM t";
        let parts: Vec<_> = placeholders(sql).collect();
        assert_eq!(parts, vec![("", None), ("\nSELECT '--$2', ", Some(1)), (" ", None), ("\nFROM t", None)]);
    }

    /// `.rs` files under `dir`.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Hand-written SQL has one form, a `.sql` file run through `Prepared`:
    /// only the connection machinery in src/db/ (DDL, `SET`, `LISTEN`,
    /// migrations) may build statements with `sql_query`.
    #[test]
    fn no_sql_query_outside_db() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        assert!(files.len() > 50, "found only {} sources", files.len());
        let allowed = root.join("src").join("db");
        let found: Vec<String> = files
            .iter()
            .filter(|f| !f.starts_with(&allowed))
            .filter(|f| std::fs::read_to_string(f).is_ok_and(|text| text.contains("sql_query(")))
            .map(|f| f.display().to_string())
            .collect();
        assert!(found.is_empty(), "sql_query outside src/db/: {found:?}");
    }
}
