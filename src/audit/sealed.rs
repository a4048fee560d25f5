//! Sealed audit events: what happens to a sealed bid is recorded at once, but outside the
//! chain and sealed, and enters the chain when its round opens, in the order received and with
//! its original time (DESIGN.md § Audit). Until then no event, sequence number, chain length or
//! count tells anyone that it exists; the receipts the bidders hold prove none was dropped.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::repo::{self, SealedEvent};
use super::service::{append, Event};
use crate::crypto::Sealer;
use crate::db::Tx;
use crate::error::AppError;

/// The round a sealed event belongs to: it opens with it.
#[derive(Debug, Clone, Copy)]
pub struct Round<'a> {
    pub project_id: &'a str,
    pub round: i32,
}

/// The event under the seal.
#[derive(Serialize, Deserialize)]
struct Inner {
    actor_id: Option<String>,
    action: String,
    entity: String,
    entity_id: String,
    district_id: Option<String>,
    summary: serde_json::Value,
}

fn context(id: &str) -> String {
    format!("sealed-event:{id}")
}

/// Records `event` of round `round` sealed, in the caller's transaction (with the batch's other
/// sealed events in one statement when grouped on PostgreSQL).
pub fn append_sealed(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    round: Round<'_>,
    event: Event<'_>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let id = uuid::Uuid::now_v7().to_string();
    let inner = Inner {
        actor_id: event.actor_id.map(str::to_owned),
        action: event.action.to_owned(),
        entity: event.entity.to_owned(),
        entity_id: event.entity_id.to_owned(),
        district_id: event.district_id.map(str::to_owned),
        summary: event.summary,
    };
    let plain = serde_json::to_vec(&inner).map_err(AppError::internal)?;
    crate::db::insert_batched(
        tx,
        SealedEvent {
            sealed: sealer.seal(&context(&id), &plain),
            id,
            project_id: round.project_id.to_owned(),
            round: round.round,
            at,
        },
    )?;
    Ok(())
}

/// Opens round `round`'s sealed events into the chain, in the order received (time, then the
/// time-ordered id), each with its original time, as part of the caller's (the opening's)
/// transaction; the sealed copies are then dropped. An event that does not open is a 500: the
/// opening must not go ahead with a hole in the record.
pub fn open_sealed(tx: &mut Tx<'_>, sealer: &Sealer, round: Round<'_>) -> Result<(), AppError> {
    let rows = repo::sealed_of_round(tx, round.project_id, round.round)?;
    for row in &rows {
        let plain = sealer
            .open(&context(&row.id), &row.sealed)
            .map_err(|e| crate::error::corrupt("sealed_events.sealed", e))?;
        let inner: Inner = serde_json::from_slice(&plain)
            .map_err(|e| crate::error::corrupt("sealed_events.sealed", e))?;
        append(
            tx,
            Event {
                actor_id: inner.actor_id.as_deref(),
                action: &inner.action,
                entity: &inner.entity,
                entity_id: &inner.entity_id,
                district_id: inner.district_id.as_deref(),
                project_id: Some(round.project_id),
                summary: inner.summary,
            },
            row.at,
        )?;
    }
    repo::drop_sealed_of_round(tx, round.project_id, round.round)?;
    Ok(())
}
