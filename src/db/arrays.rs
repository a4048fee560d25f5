//! PostgreSQL: the rows a grouped batch holds back (`insert_batched`), of every kind that can,
//! inserted by one statement from arrays.
//!
//! A batch of releases holds a ledger row, a mail and an idempotency record per release. One
//! multi-row `INSERT` per kind was a round trip each, and its text changed with the number of
//! rows, so PostgreSQL parsed and planned it every time. Here each kind is one
//! `INSERT … SELECT * FROM unnest($1::text[], …)` in a `WITH` of one statement: its text
//! depends only on which kinds the batch holds, so it is prepared once per connection and shape
//! (`db::cached`), and it is one round trip whatever the batch holds. A conflict fails the
//! statement as it failed the kind's own `INSERT`: the batch is redone with savepoints, where
//! nothing is held (`db::group`).

use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, HasSqlType, Integer};
use diesel::{PgConnection, QueryResult, QueryableByName, RunQueryDsl};

use super::cached;

/// One statement inserting rows into several tables (see the module).
pub struct ArrayInsert {
    /// The `WITH` items so far.
    items: Vec<String>,
    query: Option<BoxedSqlQuery<'static, Pg, SqlQuery>>,
    binds: usize,
    rows: usize,
}

impl Default for ArrayInsert {
    fn default() -> Self {
        ArrayInsert {
            items: Vec::new(),
            query: Some(diesel::sql_query("").into_boxed()),
            binds: 0,
            rows: 0,
        }
    }
}

/// The rows of one table, column by column.
pub struct Table<'a> {
    into: &'a mut ArrayInsert,
    name: &'static str,
    columns: Vec<&'static str>,
    arrays: Vec<String>,
    /// `ON CONFLICT (…) DO NOTHING`: the column or columns whose conflict skips a row.
    skip_on: Option<&'static str>,
}

impl ArrayInsert {
    /// Starts the rows of table `name` (`rows` of them); every column must then get `rows`
    /// values, in the same order.
    pub fn table(&mut self, name: &'static str, rows: usize) -> Table<'_> {
        self.rows += rows;
        Table {
            into: self,
            name,
            columns: Vec::new(),
            arrays: Vec::new(),
            skip_on: None,
        }
    }

    /// How many rows it inserts.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Runs the statement (nothing when it holds no table).
    pub fn execute(mut self, conn: &mut PgConnection) -> QueryResult<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        #[derive(QueryableByName)]
        struct Done {
            #[diesel(sql_type = Integer)]
            #[allow(dead_code)]
            done: i32,
        }
        let sql = format!("WITH {} SELECT 1 AS done", self.items.join(", "));
        let query = self.query.take().map(|q| q.sql(sql));
        let Some(query) = query else {
            return Ok(());
        };
        // Loaded, so that it stays prepared (`db::cached`).
        cached(query).load::<Done>(conn).map(|_| ())
    }
}

impl Table<'_> {
    /// Column `name`'s values, sent as one array of PostgreSQL type `pg_type[]`.
    pub fn column<ST, V>(mut self, name: &'static str, pg_type: &str, values: Vec<V>) -> Self
    where
        ST: Send + 'static,
        Pg: HasSqlType<ST>,
        Vec<V>: ToSql<Array<ST>, Pg> + Send + 'static,
    {
        self.into.binds += 1;
        self.columns.push(name);
        self.arrays
            .push(format!("${}::{pg_type}[]", self.into.binds));
        self.into.query = self
            .into
            .query
            .take()
            .map(|q| q.bind::<Array<ST>, _>(values));
        self
    }

    /// A row whose `target` (a column list) conflicts with a stored one is skipped.
    pub fn on_conflict_do_nothing(mut self, target: &'static str) -> Self {
        self.skip_on = Some(target);
        self
    }

    /// Ends the table's columns.
    pub fn done(self) {
        let skip = self
            .skip_on
            .map(|t| format!(" ON CONFLICT ({t}) DO NOTHING"))
            .unwrap_or_default();
        let item = format!(
            "i{n} AS (INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}){skip})",
            n = self.into.items.len(),
            table = self.name,
            columns = self.columns.join(", "),
            arrays = self.arrays.join(", "),
        );
        self.into.items.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::ArrayInsert;
    use diesel::sql_types::{BigInt, Nullable, Text};

    #[test]
    fn each_table_is_one_insert_from_arrays_numbered_in_order() {
        let mut q = ArrayInsert::default();
        q.table("a", 2)
            .column::<Text, _>("x", "text", vec!["1".to_owned(), "2".to_owned()])
            .column::<Nullable<Text>, _>("y", "text", vec![None, Some("z".to_owned())])
            .done();
        q.table("b", 1)
            .column::<BigInt, _>("n", "bigint", vec![7_i64])
            .on_conflict_do_nothing("n")
            .done();
        assert_eq!(q.rows(), 3);
        assert_eq!(
            q.items,
            vec![
                "i0 AS (INSERT INTO a (x, y) SELECT * FROM unnest($1::text[], $2::text[]))",
                "i1 AS (INSERT INTO b (n) SELECT * FROM unnest($3::bigint[]) ON CONFLICT (n) DO NOTHING)",
            ]
        );
    }
}
