//! Diesel for funds and the ledger.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::{fund_ledger, funds};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = funds)]
pub struct Fund {
    pub id: String,
    pub name: String,
    pub district_id: String,
    pub fiscal_year: i32,
    pub source: String,
    pub total_fen: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fund_ledger)]
pub struct LedgerEntry {
    pub id: String,
    pub fund_id: String,
    pub kind: String,
    pub amount_fen: i64,
    pub project_id: Option<String>,
    pub contract_id: Option<String>,
    pub tranche_id: Option<String>,
    pub ref_key: String,
    pub actor_id: Option<String>,
    pub at: NaiveDateTime,
}

/// Sums of the ledger by kind, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balances {
    pub reserved: i64,
    pub committed: i64,
    pub released: i64,
}

pub fn insert(conn: &mut DbConn, f: &Fund) -> QueryResult<()> {
    diesel::insert_into(funds::table)
        .values(f)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Fund>> {
    funds::table
        .find(id)
        .select(Fund::as_select())
        .first(conn)
        .optional()
}

/// Locks the fund row until the transaction ends, so two reservations cannot both pass the
/// `available` check (SQLite: the immediate transaction already holds the write lock).
pub fn lock(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    match conn {
        DbConn::Pg(_) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = Text)]
                #[allow(dead_code)]
                id: String,
            }
            let rows: Vec<Row> = diesel::sql_query("SELECT id FROM funds WHERE id = $1 FOR UPDATE")
                .bind::<Text, _>(id)
                .load(conn)?;
            Ok(!rows.is_empty())
        }
        DbConn::Sqlite(_) => Ok(find(conn, id)?.is_some()),
    }
}

/// Each balance as the sum over a fund's ledger rows of how each kind moves it (a row of
/// another kind, or the NULL row a left join gives a fund without entries, counts 0).
/// SUM of BIGINT is NUMERIC on PostgreSQL, hence the cast back; both backends sum exactly.
pub(crate) const RESERVED: &str = "CAST(COALESCE(SUM(CASE fund_ledger.kind \
    WHEN 'reserve' THEN fund_ledger.amount_fen \
    WHEN 'unreserve' THEN -fund_ledger.amount_fen ELSE 0 END), 0) AS BIGINT)";
pub(crate) const COMMITTED: &str = "CAST(COALESCE(SUM(CASE fund_ledger.kind \
    WHEN 'commit' THEN fund_ledger.amount_fen \
    WHEN 'uncommit' THEN -fund_ledger.amount_fen ELSE 0 END), 0) AS BIGINT)";
pub(crate) const RELEASED: &str = "CAST(COALESCE(SUM(CASE fund_ledger.kind \
    WHEN 'release' THEN fund_ledger.amount_fen ELSE 0 END), 0) AS BIGINT)";

pub fn balances(conn: &mut DbConn, fund_id: &str) -> QueryResult<Balances> {
    let (reserved, committed, released) = fund_ledger::table
        .filter(fund_ledger::fund_id.eq(fund_id))
        .select((
            sql::<BigInt>(RESERVED),
            sql::<BigInt>(COMMITTED),
            sql::<BigInt>(RELEASED),
        ))
        .get_result(conn)?;
    Ok(Balances {
        reserved,
        committed,
        released,
    })
}

pub fn insert_entry(conn: &mut DbConn, e: &LedgerEntry) -> QueryResult<()> {
    diesel::insert_into(fund_ledger::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
}

/// Rows a statement inserts at most (PostgreSQL binds at most 65,535 parameters).
const ROWS_PER_STATEMENT: usize = 1000;

/// Inserts many ledger rows, a statement per [`ROWS_PER_STATEMENT`] on PostgreSQL.
pub fn insert_entries(conn: &mut DbConn, rows: &[LedgerEntry]) -> QueryResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        crate::insert_rows!(&mut *conn, fund_ledger::table, chunk)?;
    }
    Ok(())
}

impl crate::db::BatchRow for LedgerEntry {
    fn insert_all(conn: &mut DbConn, rows: &[LedgerEntry]) -> QueryResult<()> {
        insert_entries(conn, rows)
    }

    fn join(rows: &[LedgerEntry], into: &mut crate::db::ArrayInsert) -> bool {
        use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
        let col = |f: fn(&LedgerEntry) -> &String| rows.iter().map(f).cloned().collect();
        let opt = |f: fn(&LedgerEntry) -> &Option<String>| rows.iter().map(f).cloned().collect();
        into.table("fund_ledger", rows.len())
            .column::<Text, String>("id", "text", col(|r| &r.id))
            .column::<Text, String>("fund_id", "text", col(|r| &r.fund_id))
            .column::<Text, String>("kind", "text", col(|r| &r.kind))
            .column::<BigInt, i64>(
                "amount_fen",
                "bigint",
                rows.iter().map(|r| r.amount_fen).collect(),
            )
            .column::<Nullable<Text>, Option<String>>("project_id", "text", opt(|r| &r.project_id))
            .column::<Nullable<Text>, Option<String>>(
                "contract_id",
                "text",
                opt(|r| &r.contract_id),
            )
            .column::<Nullable<Text>, Option<String>>("tranche_id", "text", opt(|r| &r.tranche_id))
            .column::<Text, String>("ref_key", "text", col(|r| &r.ref_key))
            .column::<Nullable<Text>, Option<String>>("actor_id", "text", opt(|r| &r.actor_id))
            .column::<Timestamp, chrono::NaiveDateTime>(
                "at",
                "timestamp",
                rows.iter().map(|r| r.at).collect(),
            )
            .done();
        true
    }
}

pub fn entry_exists(conn: &mut DbConn, ref_key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        fund_ledger::table.filter(fund_ledger::ref_key.eq(ref_key)),
    ))
    .get_result(conn)
}

pub fn list_entries(
    conn: &mut DbConn,
    fund_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<LedgerEntry>> {
    let mut q = fund_ledger::table
        .filter(fund_ledger::fund_id.eq(fund_id))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(fund_ledger::id.gt(a));
    }
    q.order(fund_ledger::id.asc())
        .limit(limit)
        .select(LedgerEntry::as_select())
        .load(conn)
}

/// A page of funds (by id, after `after`), each with its balances: one query, the ledger
/// joined and summed per fund.
pub fn list_with_balances(
    conn: &mut DbConn,
    district_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(Fund, Balances)>> {
    let mut q = funds::table
        .left_join(fund_ledger::table)
        .group_by(funds::id)
        .select((
            Fund::as_select(),
            sql::<BigInt>(RESERVED),
            sql::<BigInt>(COMMITTED),
            sql::<BigInt>(RELEASED),
        ))
        .into_boxed();
    if let Some(d) = district_id {
        q = q.filter(funds::district_id.eq(d));
    }
    if let Some(a) = after {
        q = q.filter(funds::id.gt(a));
    }
    let rows: Vec<(Fund, i64, i64, i64)> = q.order(funds::id.asc()).limit(limit).load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(f, reserved, committed, released)| {
            let b = Balances {
                reserved,
                committed,
                released,
            };
            (f, b)
        })
        .collect())
}
