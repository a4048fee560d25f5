//! Prepared once per connection: statements on hot paths whose SQL text never changes.
//!
//! Diesel keeps a connection's prepared statements in a cache, but it never caches an `UPDATE`
//! (a changeset's SQL may change with its `Option` fields) or a `sql_query` (its text may be
//! built at run time). On PostgreSQL such a statement is parsed, analysed and planned anew on
//! every execution, which on a burst of releases was a third of the database's CPU
//! (`scripts/bench-release`). [`cached`] marks a statement whose text is fixed — the same SQL
//! for every set of bind values — as safe to cache: it is then prepared once per connection,
//! keyed by its SQL text, and later executions only bind and run it.
//!
//! Only for statements with a fixed text: a changeset with `Option` fields or a query built from
//! a variable number of values would fill the cache with one entry per shape. And only for
//! statements that are *loaded* (`load`, `get_result`; an `UPDATE` with `RETURNING`):
//! `RunQueryDsl::execute` hands the statement on by reference, and a reference to a statement
//! answers diesel's "safe to cache?" from its parts, so an executed `Cached` is prepared afresh
//! each time as before.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// A statement of fixed SQL text, prepared once per connection (see the module).
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(Q);

/// Marks `statement`, whose SQL text is the same for every bind value, as cacheable.
pub fn cached<Q>(statement: Q) -> Cached<Q> {
    Cached(statement)
}

impl<Q, DB> QueryFragment<DB> for Cached<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Cached<Q> {
    // No type id: the cache is keyed by the SQL text (with its bind types), so two statements
    // of one Rust type but different text never share an entry.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> RunQueryDsl<C> for Cached<Q> {}
