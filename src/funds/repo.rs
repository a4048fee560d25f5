//! Diesel for funds and the ledger.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;

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

pub fn balances(conn: &mut DbConn, fund_id: &str) -> QueryResult<Balances> {
    let mut b = Balances::default();
    for (kind, amount) in sums(conn, fund_id)? {
        match kind.as_str() {
            "reserve" => b.reserved += amount,
            "unreserve" => b.reserved -= amount,
            "commit" => b.committed += amount,
            "uncommit" => b.committed -= amount,
            "release" => b.released += amount,
            _ => {}
        }
    }
    Ok(b)
}

/// `(kind, sum)` per kind. Summed in Rust over the fund's entries: portable (SUM of BIGINT is
/// NUMERIC on PostgreSQL) and exact.
fn sums(conn: &mut DbConn, fund_id: &str) -> QueryResult<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = fund_ledger::table
        .filter(fund_ledger::fund_id.eq(fund_id))
        .select((fund_ledger::kind, fund_ledger::amount_fen))
        .load(conn)?;
    let mut out: std::collections::BTreeMap<String, i64> = Default::default();
    for (k, a) in rows {
        *out.entry(k).or_default() += a;
    }
    Ok(out.into_iter().collect())
}

pub fn insert_entry(conn: &mut DbConn, e: &LedgerEntry) -> QueryResult<()> {
    diesel::insert_into(fund_ledger::table)
        .values(e)
        .execute(conn)
        .map(|_| ())
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

pub fn list(
    conn: &mut DbConn,
    district_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Fund>> {
    let mut q = funds::table.into_boxed();
    if let Some(d) = district_id {
        q = q.filter(funds::district_id.eq(d));
    }
    if let Some(a) = after {
        q = q.filter(funds::id.gt(a));
    }
    q.order(funds::id.asc())
        .limit(limit)
        .select(Fund::as_select())
        .load(conn)
}
