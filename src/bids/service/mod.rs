//! Bid use cases: place, replace, withdraw (each checked against the deadline by the server
//! clock inside the write transaction) and read under the sealing rules. Closing a round is
//! `crate::rounds`.

use chrono::NaiveDateTime;
use serde_json::json;

use super::contents::{bidder_key, is_bidders, seal, unseal, BidContents};
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

/// A sealed bid's audit event: kept sealed beside the chain until the round opens, when it
/// enters the chain in the order received with its original time (`audit::append_sealed`).
fn audit_sealed(
    tx: &mut Tx<'_>,
    sealer: &Sealer,
    actor: &AuthUser,
    action: &str,
    b: &Bid,
    p: &Project,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    audit::append_sealed(
        tx,
        sealer,
        audit::Round {
            project_id: &p.id,
            round: b.round,
        },
        Event {
            actor_id: Some(&actor.id),
            action,
            entity: "bid",
            entity_id: &b.id,
            district_id: Some(&p.district_id),
            project_id: Some(&p.id),
            summary: json!({
                "project_id": b.project_id,
                "round": b.round,
                "organization_id": actor.organization_id,
                "status": b.status,
                "receipt": b.receipt_sha256,
            }),
        },
        now,
    )
}
