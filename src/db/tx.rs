//! The write context: what a use case writes with. A [`Tx`] is the connection plus what the
//! transaction will write just before it commits (the audit events, rows held for one
//! statement per kind), and whether it runs inside a grouped batch without savepoints.
//!
//! Services take `&mut Tx` and open their transaction with [`write_tx`]; repo functions take
//! `&mut DbConn`, which a `&mut Tx` derefs to. Nothing here is ambient: the context travels
//! with the call, so work can only touch the connection and the pending writes it was handed.

use std::any::{Any, TypeId};
use std::ops::{Deref, DerefMut};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::QueryResult;

use super::arrays::ArrayInsert;
use super::DbConn;

/// Writes a transaction keeps until just before its commit (and forgets when the
/// (sub)transaction that made them rolls back). Areas implement it for their own pending rows,
/// so this module knows none of them: the audit chain holds its events here and chains them
/// once per transaction, [`insert_batched`] holds rows of one kind for one statement.
pub trait BeforeCommit: Any {
    /// How many items are pending.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Forgets the items after the first `len` (their savepoint rolled back).
    fn truncate(&mut self, len: usize);
    /// Writes and forgets the pending items; how many were written.
    fn write(&mut self, conn: &mut DbConn) -> QueryResult<usize>;
    /// PostgreSQL: hands the pending items to `into`, one statement for every kind that can
    /// join it ([`ArrayInsert`]), and forgets them; how many, or `None` (written alone).
    fn join(&mut self, _into: &mut ArrayInsert) -> Option<usize> {
        None
    }
    /// Written after every other kind (the audit chain: its head row stays locked from its
    /// write to the commit, so it goes last).
    fn last(&self) -> bool {
        false
    }
    fn as_any(&mut self) -> &mut dyn Any;
}

/// How a transaction runs inside a grouped batch (`db::group`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Flat {
    /// Nested [`write_tx`] runs inline, without a savepoint.
    pub on: bool,
    /// A nested transaction failed inline: the batch must be redone with savepoints.
    pub spoiled: bool,
    /// [`insert_batched`] holds rows until the commit (PostgreSQL, where a statement is a
    /// round trip).
    pub hold_rows: bool,
}

/// A connection and the writes pending for its transaction.
pub struct Tx<'c> {
    conn: &'c mut DbConn,
    /// Transaction levels opened through this context (0: none open).
    depth: usize,
    pub(super) flat: Flat,
    pending: Vec<(TypeId, Box<dyn BeforeCommit>)>,
}

impl<'c> Tx<'c> {
    /// A context on `conn`, outside any transaction.
    pub fn new(conn: &'c mut DbConn) -> Tx<'c> {
        Tx {
            conn,
            depth: 0,
            flat: Flat::default(),
            pending: Vec::new(),
        }
    }

    /// Whether a transaction is open: pending writes then wait for its commit.
    pub fn in_transaction(&self) -> bool {
        self.depth > 0
    }

    /// The pending writes of kind `P`, created empty on first use. Outside a transaction
    /// there is no commit to wait for: write them at once with [`Tx::write_pending`].
    pub fn pending<P: BeforeCommit + Default>(&mut self) -> &mut P {
        let kind = TypeId::of::<P>();
        let i = match self.pending.iter().position(|(k, _)| *k == kind) {
            Some(i) => i,
            None => {
                self.pending.push((kind, Box::new(P::default())));
                self.pending.len() - 1
            }
        };
        match self.pending[i].1.as_any().downcast_mut::<P>() {
            Some(p) => p,
            None => unreachable!("pending writes are filed under their own type"),
        }
    }

    /// Writes every pending kind (the `last` ones after the others); how many items. On
    /// PostgreSQL the kinds that can are written by one statement ([`ArrayInsert`]).
    pub fn write_pending(&mut self) -> QueryResult<usize> {
        let mut written = 0;
        let mut joined = ArrayInsert::default();
        let on_pg = matches!(self.conn, DbConn::Pg(_));
        for (_, p) in self.pending.iter_mut().filter(|(_, p)| !p.last()) {
            if p.is_empty() {
                continue;
            }
            match on_pg.then(|| p.join(&mut joined)).flatten() {
                Some(n) => written += n,
                None => written += p.write(self.conn)?,
            }
        }
        if let DbConn::Pg(pg) = &mut *self.conn {
            joined.execute(pg)?;
        }
        for (_, p) in self.pending.iter_mut().filter(|(_, p)| p.last()) {
            if !p.is_empty() {
                written += p.write(self.conn)?;
            }
        }
        Ok(written)
    }

    /// Whether rows given to [`insert_batched`] are held until the commit.
    pub fn holds_rows(&self) -> bool {
        self.flat.on && self.flat.hold_rows
    }

    fn marks(&self) -> Vec<usize> {
        self.pending.iter().map(|(_, p)| p.len()).collect()
    }

    fn rollback_to(&mut self, marks: &[usize]) {
        for (i, (_, p)) in self.pending.iter_mut().enumerate() {
            p.truncate(marks.get(i).copied().unwrap_or(0));
        }
    }
}

impl Deref for Tx<'_> {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut DbConn {
        self.conn
    }
}

/// One write transaction. SQLite: `BEGIN IMMEDIATE`, because a deferred transaction that reads
/// and then writes fails at once with "database is locked" instead of waiting on busy_timeout.
/// PostgreSQL: an ordinary transaction; rows that guard an invariant are locked `FOR UPDATE`.
/// Inside another transaction it becomes a savepoint, whose pending writes are forgotten if it
/// rolls back; inside a grouped batch run flat (`db::group`) `f` runs inline, and its failure
/// has the batch redone with savepoints. The outermost level writes the pending writes just
/// before its commit.
pub fn write_tx<T, E, F>(tx: &mut Tx<'_>, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Tx<'_>) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if tx.flat.on {
        // A failure here cannot be rolled back alone, so the batch is redone with savepoints.
        let result = f(tx);
        if result.is_err() {
            tx.flat.spoiled = true;
        }
        return result;
    }
    let marks = tx.marks();
    begin(tx.conn)?;
    tx.depth += 1;
    let result = f(tx).and_then(|value| {
        if tx.depth == 1 {
            tx.write_pending()?;
        }
        Ok(value)
    });
    let result = match result {
        Ok(value) => commit(tx.conn).map(|()| value).map_err(E::from),
        Err(e) => {
            if let Err(rollback) = rollback(tx.conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    };
    tx.depth -= 1;
    if result.is_err() {
        tx.rollback_to(&marks);
    }
    result
}

fn begin(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c),
        DbConn::Sqlite(c) => {
            let depth =
                AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?;
            match depth {
                Some(_) => AnsiTransactionManager::begin_transaction(c),
                None => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
            }
        }
    }
}

fn commit(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::commit_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
    }
}

fn rollback(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
    }
}

/// Rows that can be written many at a time (see [`insert_batched`]).
pub trait BatchRow: Sized + 'static {
    /// Writes `rows` in as few statements as the backend allows.
    fn insert_all(conn: &mut DbConn, rows: &[Self]) -> QueryResult<()>;
    /// PostgreSQL: adds `rows` to `into`, the one statement of every kind that can join it;
    /// false when this kind is written alone.
    fn join(_rows: &[Self], _into: &mut ArrayInsert) -> bool {
        false
    }
}

/// Rows of one kind held for one statement.
struct Held<R>(Vec<R>);

impl<R> Default for Held<R> {
    fn default() -> Self {
        Held(Vec::new())
    }
}

impl<R: BatchRow> BeforeCommit for Held<R> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn truncate(&mut self, len: usize) {
        self.0.truncate(len)
    }
    fn write(&mut self, conn: &mut DbConn) -> QueryResult<usize> {
        let rows = std::mem::take(&mut self.0);
        R::insert_all(conn, &rows)?;
        Ok(rows.len())
    }
    fn join(&mut self, into: &mut ArrayInsert) -> Option<usize> {
        if !R::join(&self.0, into) {
            return None;
        }
        let rows = std::mem::take(&mut self.0);
        Some(rows.len())
    }
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
}

/// Inserts `row` now or, while a batch runs flat on PostgreSQL, with the batch's other rows of
/// its kind in one statement just before the commit (a statement per kind and batch instead of
/// one per row). A held row is invisible to the reads of its own batch, so use this only for
/// rows that nothing reads back before the commit and whose conflicts a constraint catches: a
/// conflict among held rows fails the batch's flat run, and the batch is redone with
/// savepoints, where every row is inserted at once and each piece of work meets its own
/// conflict.
pub fn insert_batched<R: BatchRow>(tx: &mut Tx<'_>, row: R) -> QueryResult<()> {
    if tx.holds_rows() {
        tx.pending::<Held<R>>().0.push(row);
        Ok(())
    } else {
        R::insert_all(tx, std::slice::from_ref(&row))
    }
}
