//! The database: one `MultiConnection` over SQLite (embedded default) and PostgreSQL, a
//! connection manager that picks the backend by URL scheme, the pools, SQLite pragmas,
//! embedded migrations, and the write context ([`Tx`], [`write_tx`]) every service writes with.
//! It knows no domain area: what a transaction writes before its commit (the audit chain, held
//! rows) is handed to it through [`BeforeCommit`].

mod arrays;
mod cached;
pub mod explain;
mod group;
pub mod schema;
mod tx;

pub use arrays::ArrayInsert;
pub use cached::{cached, Cached};
pub use tx::{insert_batched, write_tx, BatchRow, BeforeCommit, Tx};

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::sync::Semaphore;

use crate::error::AppError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection type for both backends; backend-specific SQL matches on it inside repo
/// functions only.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite://")
            || url.starts_with("sqlite:")
            || url.starts_with("file:")
        {
            Ok(Backend::Sqlite)
        } else {
            Err(format!(
                "database.url must start with sqlite:// or postgres:// (got {:?})",
                url.split(':').next().unwrap_or("")
            ))
        }
    }
}

/// The path of an SQLite URL (`sqlite://data/gongyi.db` → `data/gongyi.db`).
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// A PostgreSQL URL to a server on this machine (a loopback host, or a Unix socket) that names
/// no `sslmode`, with `sslmode=disable`: libpq's default (`prefer`) negotiates TLS even over
/// loopback, which cost 9 % of a listing's instructions for no secrecy gained. A URL's own
/// `sslmode` always wins, and remote hosts keep libpq's default.
pub fn loopback_without_tls(url: &str) -> String {
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return url.to_owned();
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let params: Vec<(&str, &str)> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    if params.iter().any(|(k, _)| *k == "sslmode") {
        return url.to_owned();
    }
    let authority = before_query.split('/').next().unwrap_or("");
    let hostport = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    // A `host` parameter overrides the authority's (a socket directory when it is a path).
    let host = params
        .iter()
        .rev()
        .find(|(k, _)| *k == "host")
        .map(|(_, v)| *v)
        .unwrap_or(host);
    let local = host.is_empty()
        || host.starts_with('/')
        || host.to_ascii_lowercase().starts_with("%2f")
        || host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !local {
        return url.to_owned();
    }
    let sep = if query.is_some_and(|q| !q.is_empty()) {
        "&"
    } else if query.is_some() {
        ""
    } else {
        "?"
    };
    format!("{url}{sep}sslmode=disable")
}

/// Opens connections of the backend the URL names and reports the real error when it cannot
/// (the derived `establish` hides it behind "Invalid connection url for multiconnection").
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
    busy_timeout_ms: u32,
    /// SQLite only: open the file read-write without creating it.
    must_exist: bool,
}

impl ConnectionManager {
    pub fn new(url: &str, busy_timeout_ms: u32) -> Result<Self, String> {
        let backend = Backend::from_url(url)?;
        Ok(ConnectionManager {
            url: match backend {
                Backend::Postgres => loopback_without_tls(url),
                Backend::Sqlite => url.to_owned(),
            },
            backend,
            busy_timeout_ms,
            must_exist: false,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens one connection, outside any pool.
    pub fn open(&self) -> Result<DbConn, ConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url).map(|c| traced(DbConn::Pg(c))),
            Backend::Sqlite => {
                let path = sqlite_path(&self.url);
                let target = if self.must_exist {
                    if !std::path::Path::new(path).is_file() {
                        return Err(ConnectionError::BadConnection(format!(
                            "SQLite database file {path} is missing"
                        )));
                    }
                    format!("file:{path}?mode=rw")
                } else {
                    path.to_owned()
                };
                let mut conn = SqliteConnection::establish(&target)?;
                // busy_timeout first: the WAL switch itself may have to wait for a lock.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     PRAGMA foreign_keys = ON;",
                    self.busy_timeout_ms
                ))
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(traced(DbConn::Sqlite(conn)))
            }
        }
    }

    /// A manager for pools opened after the database exists (every pool after migrations),
    /// so a deleted or moved SQLite file is reported rather than silently recreated empty.
    pub fn existing_only(mut self) -> Self {
        self.must_exist = true;
        self
    }
}

/// The file named by `GONGYI_SQL_TRACE`, when set: every `SELECT` a connection of this process
/// runs is appended to it, one line each, with its bind values (`… -- binds: [...]`), so
/// `scripts/bench-listing` can run exactly a request's statements bare and `EXPLAIN` them. A
/// measuring aid: bind values include whatever a query filters by, so it is never set on a
/// live system. Writes are never traced, nor any statement of a table that holds sealed data
/// or its traces ([`SEALED_TABLES`]).
fn sql_trace() -> Option<&'static Mutex<std::fs::File>> {
    static TRACE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    TRACE
        .get_or_init(|| {
            let path = std::env::var_os("GONGYI_SQL_TRACE")?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| tracing::error!(error = %e, "GONGYI_SQL_TRACE cannot be opened"))
                .ok()?;
            Some(Mutex::new(file))
        })
        .as_ref()
}

/// Tables whose statements `GONGYI_SQL_TRACE` leaves out: what they bind (bidder keys, sealed
/// receipts) is not for a file outside the database.
const SEALED_TABLES: [&str; 4] = ["bids", "sealed_events", "outbox", "sheet_drafts"];

/// Whether a traced statement may be written: a `SELECT` touching no [`SEALED_TABLES`] (diesel
/// quotes names with backticks on SQLite, double quotes on PostgreSQL).
fn traceable(sql: &str) -> bool {
    sql.trim_start().to_ascii_uppercase().starts_with("SELECT")
        && !SEALED_TABLES
            .iter()
            .any(|t| sql.contains(&format!("`{t}`")) || sql.contains(&format!("\"{t}\"")))
}

fn traced(mut conn: DbConn) -> DbConn {
    if let Some(trace) = sql_trace() {
        conn.set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
            if let diesel::connection::InstrumentationEvent::StartQuery { query, .. } = event {
                let line = query.to_string().replace('\n', " ");
                if traceable(&line) {
                    use std::io::Write;
                    let mut file = trace.lock().unwrap_or_else(|e| e.into_inner());
                    let _ = writeln!(file, "{line}");
                }
            }
        });
    }
    conn
}

/// A PostgreSQL connection idle longer than this is pinged before it is handed out (a
/// firewall or the server's idle timeout may have dropped it); a busier one is not: a
/// round trip per checkout cost 5.6 % of a listing's instructions.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// How many times a connection of this process was found dead after a failure. A server
/// that drops one connection (a restart, a failover, terminated backends) has usually dropped
/// the others: every pooled connection that has not been in use since is pinged at its next
/// checkout, so one request hears 503, not one per connection.
static LOSSES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn losses() -> u64 {
    LOSSES.load(std::sync::atomic::Ordering::Acquire)
}

/// A pooled connection and what the pool knows of it: when it was last handed back, the
/// losses it has lived through in use (`LOSSES`), and whether a failure on it suggests that
/// the server is gone.
pub struct PoolConn {
    conn: DbConn,
    returned_at: std::time::Instant,
    losses_seen: u64,
    suspect: bool,
}

impl std::ops::Deref for PoolConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

impl PoolConn {
    /// After a failed use: pings the server (PostgreSQL) and, when it does not answer, marks
    /// the connection for the pool to drop. Whether it was found dead.
    fn check_after_failure(&mut self) -> bool {
        if let DbConn::Pg(_) = self.conn {
            if self.conn.batch_execute("SELECT 1").is_err() {
                self.suspect = true;
                LOSSES.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            }
        }
        self.suspect
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = PoolConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PoolConn, r2d2::Error> {
        Ok(PoolConn {
            conn: self.open().map_err(r2d2::Error::ConnectionError)?,
            returned_at: std::time::Instant::now(),
            losses_seen: losses(),
            suspect: false,
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), r2d2::Error> {
        // A pooled SQLite connection keeps writing to its file after the file is moved or
        // deleted, and those writes would vanish at the next start: refuse it instead.
        // An SQLite connection lives in this process: there is nothing to ping.
        match self.backend {
            Backend::Sqlite if !std::path::Path::new(sqlite_path(&self.url)).is_file() => {
                Err(r2d2::Error::ConnectionError(
                    ConnectionError::BadConnection("the SQLite database file is gone".into()),
                ))
            }
            Backend::Sqlite => Ok(()),
            // Only after a while idle, or after another connection was found dead; one that
            // failed in use was dropped already (`has_broken`), and one that dies between
            // checkouts fails its next statement, which is answered 503.
            Backend::Postgres
                if conn.returned_at.elapsed() < PING_AFTER_IDLE && conn.losses_seen == losses() =>
            {
                Ok(())
            }
            Backend::Postgres => {
                let now = losses();
                conn.conn
                    .batch_execute("SELECT 1")
                    .map_err(r2d2::Error::QueryError)?;
                conn.losses_seen = now;
                Ok(())
            }
        }
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.returned_at = std::time::Instant::now();
        if !conn.suspect {
            // In use through any loss found meanwhile, and fine: no need to ping it for those.
            conn.losses_seen = losses();
        }
        conn.suspect
            || match &mut conn.conn {
                DbConn::Pg(c) => diesel::r2d2::R2D2Connection::is_broken(c),
                DbConn::Sqlite(c) => diesel::r2d2::R2D2Connection::is_broken(c),
            }
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// The pools the app uses. SQLite: one writer connection (writes are serialised anyway, and a
/// larger write pool starves on the busy handler) and a small read pool. PostgreSQL: one pool.
#[derive(Clone)]
pub struct Db {
    pub backend: Backend,
    write: Pool,
    read: Pool,
    /// Requests wait for a connection here, first come first served, before they take one from
    /// the pool. r2d2's `get` hands a returned connection to whichever thread takes its lock
    /// first, so a waiter can lose to newcomers again and again: under 32 parallel listings a few
    /// requests waited 100–250 ms while the rest took 5 (`scripts/bench-listing`, p99 spikes).
    /// With at most as many holders as connections, `get` never waits on another request.
    read_gate: Arc<Semaphore>,
    write_gate: Arc<Semaphore>,
    /// How long a request waits for its turn before it is answered 503, as r2d2 would.
    wait: Duration,
    manager: ConnectionManager,
    group: Arc<group::Group>,
}

#[derive(Debug, Clone)]
pub struct DbOptions {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout: Duration,
    pub busy_timeout_ms: u32,
}

impl Db {
    /// Creates the file's folder (SQLite), runs pending migrations, and opens the pools.
    pub fn connect_and_migrate(opts: &DbOptions) -> anyhow::Result<Db> {
        let manager =
            ConnectionManager::new(&opts.url, opts.busy_timeout_ms).map_err(anyhow::Error::msg)?;
        if manager.backend == Backend::Sqlite {
            let path = std::path::Path::new(sqlite_path(&opts.url));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
        }
        let mut conn = manager
            .open()
            .map_err(|e| anyhow::anyhow!("cannot open database: {e}"))?;
        run_migrations(&mut conn)?;
        drop(conn);
        let manager = manager.existing_only();
        let build = |size: u32| {
            r2d2::Pool::builder()
                .max_size(size)
                .min_idle(Some(0))
                .connection_timeout(opts.connect_timeout)
                // Checked by `is_valid` only after a while idle (`PING_AFTER_IDLE`).
                .test_on_check_out(true)
                .build_unchecked(manager.clone())
        };
        let (write, read) = match manager.backend {
            Backend::Sqlite => (build(1), build(opts.pool_size.clamp(1, 8))),
            Backend::Postgres => {
                let pool = build(opts.pool_size.max(2));
                (pool.clone(), pool)
            }
        };
        let backend = manager.backend;
        // PostgreSQL: two batches side by side (one runs while the other commits) once the pool
        // can spare the connections. More lanes made smaller batches that queued for the audit
        // head at commit: on 2 cores, 4 lanes placed 1,489 bids/s, 2 lanes 1,923 and 1 lane
        // 1,941 (`scripts/bench-deadline-rush postgres`).
        let lanes = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => (opts.pool_size / 4).clamp(1, 2),
        };
        // Everything that takes a connection from a pool waits its turn at that pool's gate:
        // reads, plain writes and the grouped lanes alike.
        let read_gate = Arc::new(Semaphore::new(read.max_size() as usize));
        let write_gate = match backend {
            Backend::Sqlite => Arc::new(Semaphore::new(write.max_size() as usize)),
            Backend::Postgres => read_gate.clone(),
        };
        Ok(Db {
            backend,
            write,
            read,
            read_gate,
            write_gate,
            wait: opts.connect_timeout,
            manager,
            group: Arc::new(group::Group::new(lanes as usize, opts.connect_timeout)),
        })
    }

    /// Runs `f` on a read connection, off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        on_connection(&self.read, &self.read_gate, self.wait, f).await
    }

    /// Runs `f` with a write context on the write connection, off the async threads. `f` opens
    /// its own transaction with [`write_tx`], so a service decides what one use case writes
    /// together (a job may write each item in a transaction of its own).
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut Tx<'_>) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        on_connection(&self.write, &self.write_gate, self.wait, move |conn| {
            f(&mut Tx::new(conn))
        })
        .await
    }

    /// A write connection for synchronous callers (CLI, jobs already off the async threads).
    pub fn write_conn(&self) -> Result<PooledConn, AppError> {
        self.write.get().map_err(AppError::db_unavailable)
    }

    /// Readiness: a fresh connection that must reach the real database and answer a query.
    pub fn check(&self) -> Result<(), AppError> {
        let mut conn = self
            .manager
            .open()
            .map_err(|e| AppError::db_unavailable(r2d2::Error::ConnectionError(e)))?;
        conn.batch_execute("SELECT 1").map_err(AppError::from)?;
        Ok(())
    }
}

/// The least time a caller is given to get a connection once its turn came (a connection may
/// have to be opened, which takes a while on a loaded machine; 250 ms gave 503s under load).
const MIN_CONNECT: Duration = Duration::from_secs(1);

/// Runs `f` on a connection of `pool` once it is this caller's turn at `gate` (arrival order;
/// 503 after `wait`). The turn moves into the blocking closure, so it lasts as long as the
/// connection is in use even if the request is dropped meanwhile.
async fn on_connection<T, F>(
    pool: &Pool,
    gate: &Arc<Semaphore>,
    wait: Duration,
    f: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConn) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let since = std::time::Instant::now();
    let turn = match tokio::time::timeout(wait, gate.clone().acquire_owned()).await {
        Ok(Ok(turn)) => turn,
        Ok(Err(_)) => return Err(AppError::db_unavailable("the database gate is closed")),
        Err(_) => {
            return Err(AppError::db_unavailable(
                "no database connection became free in time",
            ))
        }
    };
    let pool = pool.clone();
    run_blocking(move || {
        let _turn = turn;
        // What is left of `wait` after the turn came: 503 after `wait` in all, not twice that
        // (a turn taken late, then the pool's own timeout while the database is away).
        let left = wait.saturating_sub(since.elapsed()).max(MIN_CONNECT);
        let mut conn = pool.get_timeout(left).map_err(AppError::db_unavailable)?;
        let result = f(&mut conn);
        if let Err(e) = &result {
            // A server error may mean the server is gone: then the pool drops this connection
            // when it comes back (`has_broken`), and the caller hears 503, not 500.
            if e.status.is_server_error() && conn.check_after_failure() {
                return Err(AppError::db_unavailable(format!(
                    "the connection to the database was lost: {}",
                    e.detail
                )));
            }
        }
        result
    })
    .await
}

pub async fn run_blocking<T, F>(f: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(f)
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// Runs the embedded migration set of the connection's backend.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let set = match conn {
        DbConn::Pg(_) => POSTGRES_MIGRATIONS,
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
    };
    let applied = conn
        .run_pending_migrations(set)
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// Inserts `$rows` (a slice of `Insertable` rows) into `$table`: one multi-row statement on
/// PostgreSQL, where each statement is a round trip; one statement a row on SQLite, which runs
/// in-process. Evaluates to `QueryResult<()>`.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        let rows = $rows;
        match $conn {
            $crate::db::DbConn::Pg(pg) => diesel::insert_into($table)
                .values(rows)
                .execute(pg)
                .map(|_| ()),
            $crate::db::DbConn::Sqlite(sqlite) => rows.iter().try_for_each(|row| {
                diesel::insert_into($table)
                    .values(row)
                    .execute(sqlite)
                    .map(|_| ())
            }),
        }
    }};
}

/// Whether a diesel error is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sql_trace_takes_selects_of_open_tables_only() {
        assert!(super::traceable(
            "SELECT `projects`.`id` FROM `projects` -- binds: []"
        ));
        assert!(!super::traceable("INSERT INTO \"needs\" VALUES ($1)"));
        for sealed in [
            "SELECT `bids`.`id` FROM `bids` WHERE `bids`.`bidder_key` = ?",
            "SELECT \"outbox\".\"body\" FROM \"outbox\"",
        ] {
            assert!(!super::traceable(sealed), "{sealed}");
        }
    }

    #[test]
    fn explain_sqlite_names_the_index_a_statement_reads() {
        use super::{DbConn, SqliteConnection};
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let mut conn = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        conn.batch_execute(
            "CREATE TABLE t (id TEXT PRIMARY KEY, c TEXT); CREATE INDEX t_c ON t (c, id);
             INSERT INTO t VALUES ('a', 'x'), ('b', 'y');",
        )
        .unwrap();
        let p = super::explain::sqlite_plan(
            &mut conn,
            "SELECT id FROM t WHERE c = 'x' ORDER BY id DESC LIMIT 21",
            3,
        )
        .unwrap();
        assert_eq!(p.rows, 1);
        assert!(
            p.plan
                .iter()
                .any(|d| d.contains("USING COVERING INDEX t_c")),
            "{:?}",
            p.plan
        );
    }

    use super::loopback_without_tls;

    #[test]
    fn a_local_postgres_url_without_sslmode_skips_tls_and_any_sslmode_given_wins() {
        for (url, want) in [
            (
                "postgres://postgres@127.0.0.1:5432/gongyi",
                "postgres://postgres@127.0.0.1:5432/gongyi?sslmode=disable",
            ),
            (
                "postgresql://u:p@localhost/db?application_name=x",
                "postgresql://u:p@localhost/db?application_name=x&sslmode=disable",
            ),
            (
                "postgres://u@[::1]:5432/db",
                "postgres://u@[::1]:5432/db?sslmode=disable",
            ),
            (
                "postgres:///gongyi?host=/var/run/postgresql",
                "postgres:///gongyi?host=/var/run/postgresql&sslmode=disable",
            ),
            (
                "postgres://u@%2Fvar%2Frun%2Fpostgresql/db",
                "postgres://u@%2Fvar%2Frun%2Fpostgresql/db?sslmode=disable",
            ),
            (
                "postgres://u@127.0.0.1/db?",
                "postgres://u@127.0.0.1/db?sslmode=disable",
            ),
            // The URL's own sslmode always wins.
            (
                "postgres://u@127.0.0.1/db?sslmode=require",
                "postgres://u@127.0.0.1/db?sslmode=require",
            ),
            // A remote host keeps libpq's default.
            (
                "postgres://u@db.example.cn/db",
                "postgres://u@db.example.cn/db",
            ),
            ("postgres://u@10.0.0.5/db", "postgres://u@10.0.0.5/db"),
            (
                "postgres://u@127.0.0.1/db?host=db.example.cn",
                "postgres://u@127.0.0.1/db?host=db.example.cn",
            ),
        ] {
            assert_eq!(loopback_without_tls(url), want, "{url}");
        }
    }
}
