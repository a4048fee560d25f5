//! Bid use cases: place, replace, withdraw (each checked against the deadline by the server
//! clock inside the write transaction) and read under the sealing rules. Closing a round is
//! `crate::rounds`.

use chrono::NaiveDateTime;
use serde_json::json;

use super::contents::{seal_context, unseal, BidContents};
use super::model::{Bid, BidAction, BidStatus};
use super::repo;
use crate::audit::{self, Event};
use crate::auth::{AuthUser, Role};
use crate::crypto::Sealer;
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::eligibility::{Credentials, Failure};
use crate::domain::Money;
use crate::error::{AppError, FieldError};
use crate::notify::{self, Mail};
use crate::orgs::model::OrgStatus;
use crate::orgs::repo::Organization;
use crate::projects::model::{Project, ProjectAction, ProjectStatus};
use crate::projects::service as projects;
use crate::rounds::{last_closed_round, not_closed, round_closed};
use crate::status::Lifecycle;

mod place;
mod read;
pub use place::*;
pub use read::*;

/// What an organization submits.
#[derive(Debug, Clone)]
pub struct Offer {
    pub price: Money,
    pub plan: String,
    pub team: Vec<super::contents::TeamMember>,
    pub kpis: Vec<super::contents::Kpi>,
    pub matching_funds: Option<Money>,
}

/// A bid as its reader may see it: the row and, where the reader may read them, its contents.
#[derive(Debug, Clone)]
pub struct BidView {
    pub bid: Bid,
    pub contents: Option<BidContents>,
}

/// A sealed audit event: the chain records that something happened to a sealed bid without
/// telling anyone reading the log which project, organization or price (the seal opens with
/// the server's key only).
fn audit_sealed(
    conn: &mut Tx<'_>,
    sealer: &Sealer,
    actor: &AuthUser,
    action: &str,
    b: &Bid,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let id = uuid::Uuid::now_v7().to_string();
    let inner = json!({"action": action, "bid_id": b.id, "project_id": b.project_id, "round": b.round, "organization_id": b.organization_id, "receipt": b.receipt_sha256});
    let sealed = sealer.seal(&format!("audit:{id}"), inner.to_string().as_bytes());
    audit::append(
        conn,
        Event {
            actor_id: Some(&actor.id),
            action: "bid.sealed_event",
            entity: "sealed",
            entity_id: &id,
            district_id: None,
            summary: json!({"sealed": sealed}),
        },
        now,
    )?;
    Ok(())
}
