//! Hand-written SQL that PostgreSQL parses and plans once per connection.
//!
//! `diesel::sql_query` marks its text unsafe to cache, so every call is
//! parsed and planned again: for a hot read that costs more than running
//! it. A statement whose text never changes, with every value a `$n`
//! parameter, is safe to cache; [`Prepared`] builds one and says so, and
//! diesel's statement cache keys it by its text. Use it for the few queries
//! the query builder cannot say (lateral joins, aggregates over CTEs); rows
//! come back through `QueryableByName`, as with `sql_query`.

use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;
use diesel::QueryResult;

type Bind<'a> = Box<dyn QueryFragment<Pg> + Send + 'a>;

/// `sql` with `$1`, `$2`… bound to the values given by [`Prepared::bind`],
/// in that order. A parameter may appear more than once. `$` must not appear
/// anywhere else in the text (no dollar quoting).
pub struct Prepared<'a> {
    sql: &'static str,
    binds: Vec<Bind<'a>>,
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'static str) -> Self {
        Prepared { sql, binds: Vec::new() }
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
fn placeholders(sql: &str) -> impl Iterator<Item = (&str, Option<usize>)> {
    let mut rest = sql;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(at) = rest.find('$') else {
            let text = rest;
            rest = "";
            return Some((text, None));
        };
        let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let n = rest[at + 1..at + 1 + digits].parse().ok();
        let text = &rest[..at];
        rest = &rest[at + 1 + digits..];
        Some((text, n))
    })
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (text, n) in placeholders(self.sql) {
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
}
