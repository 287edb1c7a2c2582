//! A view's declared reads, checked against the triggers' watch lists.

use diesel::pg::Pg;
use diesel::query_builder::QueryFragment;

/// The columns one view reads, and for each that can change after it is
/// written, how a reader learns of the change.
#[derive(Debug, Clone)]
pub struct Reads {
    pub view: &'static str,
    /// `table.column`, every one the view's statements name, taken from
    /// their SQL text (so adding a field to a view's row adds it here).
    pub columns: Vec<String>,
    /// Columns written once and never updated.
    pub fixed: &'static [&'static str],
    /// Columns that change only together with a watched one, or whose
    /// changes reach readers another way: `(column, how)`.
    pub follows: Vec<(&'static str, &'static str)>,
}

impl Reads {
    pub fn new(view: &'static str) -> Self {
        Reads { view, columns: Vec::new(), fixed: &[], follows: Vec::new() }
    }

    /// Adds every `"table"."column"` that Diesel writes for `query`.
    pub fn query<Q: QueryFragment<Pg>>(mut self, query: &Q) -> Self {
        let sql = diesel::debug_query::<Pg, _>(query).to_string();
        for column in quoted_columns(&sql) {
            if !self.columns.contains(&column) {
                self.columns.push(column);
            }
        }
        self
    }

    /// Adds columns named in hand-written SQL.
    pub fn columns(mut self, columns: &[&str]) -> Self {
        for column in columns {
            if !self.columns.iter().any(|c| c == column) {
                self.columns.push((*column).to_owned());
            }
        }
        self
    }

    pub fn fixed(mut self, fixed: &'static [&'static str]) -> Self {
        self.fixed = fixed;
        self
    }

    /// Adds `(column, how)` pairs (a view may take another's as they are).
    pub fn follows(mut self, follows: &[(&'static str, &'static str)]) -> Self {
        self.follows.extend_from_slice(follows);
        self
    }

    /// The columns some trigger must watch: read, and neither fixed nor
    /// following another.
    pub fn must_be_watched(&self) -> Vec<&str> {
        self.columns
            .iter()
            .map(String::as_str)
            .filter(|c| !self.fixed.contains(c) && !self.follows.iter().any(|(f, _)| f == c))
            .collect()
    }
}

/// Every `"a"."b"` in `sql`, as `a.b`.
fn quoted_columns(sql: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = sql;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let table = &after[..close];
        let tail = &after[close + 1..];
        if let Some(column) = tail.strip_prefix(".\"").and_then(|t| t.find('"').map(|end| &t[..end])) {
            found.push(format!("{table}.{column}"));
            rest = &tail[2 + column.len() + 1..];
        } else {
            rest = tail;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::quoted_columns;

    #[test]
    fn finds_qualified_columns_only() {
        let sql = r#"SELECT "threads"."id", "users"."bio" FROM ("threads" INNER JOIN "users" ON ("threads"."author_id" = "users"."id"))"#;
        assert_eq!(quoted_columns(sql), vec!["threads.id", "users.bio", "threads.author_id", "users.id"]);
        assert!(quoted_columns(r#"SELECT 1 FROM "t""#).is_empty());
    }
}
