//! A query as the shared store code writes it: SQL text with `$N` placeholders, which SQLite and
//! PostgreSQL both accept, and its arguments from a closed set of types. Each backend binds the
//! arguments into its own sqlx query ([`super::Backend::fetch_all`] and the rest).
//!
//! Why not code generic over sqlx's `Database`: sqlx states what a database can bind and decode
//! as bounds on the value types (`for<'q> i64: Encode<'q, DB>`), and Rust does not carry such
//! bounds along with a `B: Backend` bound, so every shared function would repeat a dozen of
//! them. A closed set of arguments keeps the shared code ordinary Rust; it costs one small
//! vector per query, off the hot path's bulk statements, which each backend writes itself.

use std::borrow::Cow;

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// One bound value.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    /// An integer (times in unix ms, counts), or NULL.
    Int(Option<i64>),
    /// Text, or NULL.
    Text(Option<&'a str>),
    /// A boolean.
    Bool(bool),
}

impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::Text(v)
    }
}

impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// SQL text and its arguments, `$1` being the first. Built either from fixed text with
/// [`Query::arg`] per placeholder, or piece by piece with [`Query::push`] and
/// [`Query::push_arg`], which writes the next placeholder itself.
#[derive(Debug)]
pub struct Query<'a> {
    sql: Cow<'static, str>,
    args: Vec<Arg<'a>>,
}

impl<'a> Query<'a> {
    /// A query of this text (fixed text is not copied).
    pub fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Binds the next of the placeholders already in the text.
    pub fn arg(mut self, value: impl Into<Arg<'a>>) -> Self {
        self.args.push(value.into());
        self
    }

    /// Appends text.
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.to_mut().push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn push_arg(&mut self, value: impl Into<Arg<'a>>) -> &mut Self {
        self.args.push(value.into());
        let n = self.args.len();
        let sql = self.sql.to_mut();
        sql.push('$');
        sql.push_str(&n.to_string());
        self
    }

    /// Appends `$n, $n+1, …`, one placeholder per value (callers keep lists non-empty).
    pub fn push_list<T: Into<Arg<'a>>>(
        &mut self,
        values: impl IntoIterator<Item = T>,
    ) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_arg(value);
        }
        self
    }

    /// The text and the arguments, for a backend to bind.
    pub fn into_parts(self) -> (Cow<'static, str>, Vec<Arg<'a>>) {
        (self.sql, self.args)
    }
}

/// A row type both backends can decode: the `FromRow` records of `records.rs`, and tuples of
/// plain values.
pub trait Record:
    for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> sqlx::FromRow<'r, SqliteRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_arguments_number_their_placeholders_after_the_fixed_ones() {
        let mut q = Query::new("SELECT 1 WHERE a = $1").arg(7);
        q.push(" AND b IN (").push_list(["x", "y"]).push(")");
        let (sql, args) = q.into_parts();
        assert_eq!(sql, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(args.len(), 3);
        assert!(matches!(args[2], Arg::Text(Some("y"))));
    }
}
