//! `gongyi explain-sqlite`: the plans SQLite's own planner (the bundled library the server
//! runs, with STAT4) makes for statements given as bare SQL, and what one run of each costs —
//! how `scripts/bench-listing` checks that every listing filter reads through an index.

use std::time::Instant;

use diesel::prelude::*;
use diesel::sql_types::Text;
use serde::Serialize;

use super::DbConn;
use crate::error::AppError;

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// One statement's plan (the `detail` lines of `EXPLAIN QUERY PLAN`) and its cost.
#[derive(Debug, Serialize)]
pub struct Plan {
    pub sql: String,
    pub plan: Vec<String>,
    /// Microseconds per run, the best of `runs` runs (the row values are read as text).
    pub best_us: f64,
    pub rows: usize,
}

/// Plans `sql` on an SQLite connection and runs it `runs` times.
pub fn sqlite_plan(conn: &mut DbConn, sql: &str, runs: usize) -> Result<Plan, AppError> {
    if !matches!(conn, DbConn::Sqlite(_)) {
        return Err(AppError::field(
            "database.url",
            "explain-sqlite needs an SQLite database",
        ));
    }
    let plan: Vec<PlanRow> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(conn)?;
    // A count over the statement reads every row it yields without building them here.
    let count = format!("SELECT count(*) AS n FROM ({sql})");
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut best = f64::MAX;
    let mut rows = 0;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let n: N = diesel::sql_query(&count).get_result(conn)?;
        best = best.min(t.elapsed().as_secs_f64() * 1e6);
        rows = n.n as usize;
    }
    Ok(Plan {
        sql: sql.to_owned(),
        plan: plan.into_iter().map(|r| r.detail).collect(),
        best_us: best,
        rows,
    })
}
