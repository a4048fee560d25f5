//! Operator use cases: recording a move of the sandbox clock in the audit chain.

use serde_json::json;

use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::clock::ClockReading;
use crate::db::{write_tx, Tx};
use crate::error::AppError;

/// Appends `sandbox.clock_set` with the clock's new reading, at that reading.
pub fn clock_set(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    reading: ClockReading,
) -> Result<(), AppError> {
    write_tx(conn, |tx| {
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "sandbox.clock_set",
                entity: "clock",
                entity_id: "sandbox",
                district_id: None,
                project_id: None,
                summary: json!({"after": {"now": reading.now, "frozen": reading.frozen}}),
            },
            reading.now.naive_utc(),
        )
    })
}
