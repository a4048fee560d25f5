//! Panel, assignment and scoring use cases.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde_json::json;

use super::model::SeatAction;
use super::repo::{self, DrawStatus, PanelDraw};
pub use super::repo::{ScoreSheet, Seat, SeatStatus};
use crate::auth::{AuthUser, Role};
use crate::bids::model::{Bid, BidAction, BidStatus};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::draw;
use crate::domain::rules::RulePack;
use crate::domain::scoring::{self, Ranked};
use crate::domain::spec::ProjectSpec;
use crate::error::AppError;
use crate::notify::{self, Mail};
use crate::projects::model::{Project, ProjectAction, ProjectStatus};
use crate::status::Lifecycle;

mod panel;
mod scores;
mod seats;
pub use panel::*;
pub use scores::*;
pub use seats::*;

fn mail_expert(
    conn: &mut Tx<'_>,
    expert_id: &str,
    p: &Project,
    what: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let Some(e) = crate::experts::repo::find(conn, expert_id)? else {
        return Ok(());
    };
    let Some(u) = crate::users::repo::find(conn, &e.user_id)? else {
        return Ok(());
    };
    notify::enqueue(
        conn,
        &format!("panel.{what}:{}:{}:{}", p.id, p.round, e.id),
        &Mail {
            to: u.email,
            subject: format!("Evaluation panel: {}", p.title),
            body: format!(
                "You were drawn for the evaluation panel of \"{}\" (round {}).\nAccept with a no-conflict declaration (POST /api/v1/assignments/{{id}}/accept) or decline; see GET /api/v1/me/assignments.\n",
                p.title, p.round
            ),
        },
        now,
    )?;
    Ok(())
}

fn mail_bureau(
    conn: &mut Tx<'_>,
    p: &Project,
    subject: &str,
    body: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    notify::enqueue_to_bureau(
        conn,
        &p.district_id,
        &format!("bureau.{subject}:{}:{}", p.id, p.round),
        &format!("{subject}: {}", p.title),
        body,
        now,
    )
}

/// The caller's expert record: 403 for users who are not in the pool.
fn expert_of(
    conn: &mut DbConn,
    actor: &AuthUser,
) -> Result<crate::experts::repo::Expert, AppError> {
    crate::experts::repo::find_by_user(conn, &actor.id)?.ok_or_else(AppError::forbidden)
}

/// Whether `user` holds an accepted seat on the panel of this project round.
pub fn is_accepted_member(
    conn: &mut DbConn,
    user: &AuthUser,
    project_id: &str,
    round: i32,
) -> Result<bool, AppError> {
    if user.role != Role::Expert {
        return Ok(false);
    }
    let Some(e) = crate::experts::repo::find_by_user(conn, &user.id)? else {
        return Ok(false);
    };
    Ok(repo::seats(conn, project_id, round)?
        .iter()
        .any(|s| s.expert_id == e.id && s.is(SeatStatus::Accepted)))
}

fn audit_seat(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    action: &str,
    s: &Seat,
    p: &Project,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::projects::service::audit_project(
        conn,
        Some(&actor.id),
        action,
        p,
        json!({"seat_id": s.id, "expert_id": s.expert_id, "round": s.round, "decline_reason": s.decline_reason}),
        now,
    )?;
    Ok(())
}
