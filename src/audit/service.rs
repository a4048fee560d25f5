//! Appending to, reading (scoped: a bureau reads its own district) and verifying the audit
//! chain.
//! `hash = sha256(prev_hash ‖ canonical_json(event))`, the event being every stored column
//! but `hash`, with `at` as RFC 3339 in microseconds, `summary` as JSON, and `project_id`
//! left out when null.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::repo;
pub use super::repo::AuditFilter;
pub use super::repo::AuditRow;
use crate::auth::{AuthUser, Role};
use crate::db::{BeforeCommit, DbConn, Tx};
use crate::error::AppError;
use diesel::QueryResult;

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One state change to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    /// The district the entity belongs to, so a bureau can read its own district's events.
    pub district_id: Option<&'a str>,
    /// The project the entity belongs to (a bid, an award, an objection, a contract), so
    /// `?project_id=` reads a procurement's whole trail.
    pub project_id: Option<&'a str>,
    /// Before/after summary.
    pub summary: serde_json::Value,
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    at: String,
    actor_id: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: &'a str,
    district_id: Option<&'a str>,
    /// Left out when none, so events written before the column hash as they did.
    #[serde(skip_serializing_if = "Option::is_none")]
    project_id: Option<&'a str>,
    summary: serde_json::Value,
    prev_hash: &'a str,
}

fn hash_of(row: &AuditRow) -> Result<String, String> {
    let summary: serde_json::Value =
        serde_json::from_str(&row.summary).map_err(|e| format!("summary is not JSON: {e}"))?;
    let canonical = Canonical {
        seq: row.seq,
        at: row
            .at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Micros, true),
        actor_id: row.actor_id.as_deref(),
        action: &row.action,
        entity: &row.entity,
        entity_id: &row.entity_id,
        district_id: row.district_id.as_deref(),
        project_id: row.project_id.as_deref(),
        summary,
        prev_hash: &row.prev_hash,
    };
    let bytes = serde_json_canonicalizer::to_vec(&canonical).map_err(|e| e.to_string())?;
    let mut h = Sha256::new();
    h.update(row.prev_hash.as_bytes());
    h.update(&bytes);
    Ok(hex::encode(h.finalize()))
}

/// Appends `event` to the chain as part of the caller's transaction: the event waits in the
/// write context and is chained with the transaction's others just before it commits (after
/// every other write, so the head row is locked once per transaction, and only for the commit).
/// A savepoint that rolls back forgets the events appended inside it, so the chain records
/// exactly what commits. Outside a transaction it is written in one of its own.
pub fn append(tx: &mut Tx<'_>, event: Event<'_>, at: NaiveDateTime) -> Result<(), AppError> {
    let summary =
        serde_json_canonicalizer::to_string(&event.summary).map_err(AppError::internal)?;
    let row = AuditRow {
        seq: 0,
        at,
        actor_id: event.actor_id.map(str::to_owned),
        action: event.action.to_owned(),
        entity: event.entity.to_owned(),
        entity_id: event.entity_id.to_owned(),
        district_id: event.district_id.map(str::to_owned),
        summary,
        prev_hash: String::new(),
        hash: String::new(),
        project_id: event.project_id.map(str::to_owned),
    };
    if tx.in_transaction() {
        tx.pending::<PendingEvents>().0.push(row);
        return Ok(());
    }
    // Outside a transaction, one of its own: the head must stay locked from its read to the
    // commit of the new event.
    crate::db::write_tx(tx, |tx| {
        tx.pending::<PendingEvents>().0.push(row);
        Ok(())
    })
}

/// The events of a transaction, chained just before its commit.
#[derive(Default)]
struct PendingEvents(Vec<AuditRow>);

impl BeforeCommit for PendingEvents {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn truncate(&mut self, len: usize) {
        self.0.truncate(len)
    }
    fn write(&mut self, conn: &mut DbConn) -> QueryResult<usize> {
        let rows = std::mem::take(&mut self.0);
        let n = rows.len();
        // The open-data releases of the public events, rendered from what the transaction
        // wrote, before the head is locked; stored under the numbers the chain gives them.
        let releases = crate::open_data::feed::render_events(conn, &rows)?;
        write_chained(conn, rows, releases)?;
        Ok(n)
    }
    fn last(&self) -> bool {
        true
    }
    fn as_any(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// Numbers, links and stores `rows` after the current head, in order, under the head lock,
/// with the open-data releases rendered for them (by index in `rows`) under the same numbers.
fn write_chained(
    conn: &mut DbConn,
    mut rows: Vec<AuditRow>,
    releases: Vec<(usize, crate::open_data::render::Rendered)>,
) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let (head_seq, mut prev_hash) = repo::lock_head(conn)?;
    for (i, row) in rows.iter_mut().enumerate() {
        row.seq = head_seq + 1 + i as i64;
        row.prev_hash = std::mem::take(&mut prev_hash);
        // The rows were built from canonical JSON above, so hashing cannot fail on them.
        row.hash = hash_of(row).map_err(|e| {
            diesel::result::Error::SerializationError(Box::new(std::io::Error::other(e)))
        })?;
        prev_hash = row.hash.clone();
    }
    let releases = crate::open_data::feed::numbered(&rows, releases);
    repo::insert_after(conn, head_seq, &rows, &releases)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    /// Events checked.
    pub length: i64,
    /// Hash of the last event (the head).
    pub head: String,
    /// Sequence number of the first event whose link or hash does not hold.
    pub first_broken: Option<i64>,
    /// Why that link is broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A page of events, newest first before `before_seq`, optionally of one entity: all of them
/// for an admin, the events of its own district for anyone else.
pub fn list(
    conn: &mut DbConn,
    actor: &AuthUser,
    mut filter: AuditFilter,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, AppError> {
    let district_id = match actor.role {
        Role::Admin => None,
        _ => Some(
            actor
                .district_id()
                .ok_or_else(AppError::forbidden)?
                .to_owned(),
        ),
    };
    filter.district_id = district_id;
    Ok(repo::list(conn, &filter, before_seq, limit)?)
}

/// Recomputes the whole chain in batches and names the first broken link.
pub fn verify(conn: &mut DbConn) -> Result<Verification, AppError> {
    const BATCH: i64 = 1000;
    let (head_seq, head_hash) = repo::head(conn)?;
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    let mut length = 0;
    loop {
        let rows = repo::list_after(conn, expected_seq - 1, BATCH)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let broken = |reason: String| Verification {
                ok: false,
                length: head_seq,
                head: head_hash.clone(),
                first_broken: Some(row.seq),
                reason: Some(reason),
            };
            if row.seq != expected_seq {
                return Ok(broken(format!("event {expected_seq} is missing")));
            }
            if row.prev_hash != prev {
                return Ok(broken(
                    "prev_hash does not match the previous event's hash".into(),
                ));
            }
            match hash_of(&row) {
                Ok(h) if h == row.hash => {}
                Ok(_) => return Ok(broken("the event's content does not match its hash".into())),
                Err(e) => return Ok(broken(e)),
            }
            prev = row.hash;
            expected_seq += 1;
            length += 1;
        }
    }
    if length != head_seq || prev != head_hash {
        return Ok(Verification {
            ok: false,
            length,
            head: head_hash,
            first_broken: Some(length + 1),
            reason: Some("the chain head does not match the last event".into()),
        });
    }
    Ok(Verification {
        ok: true,
        length,
        head: head_hash,
        first_broken: None,
        reason: None,
    })
}
