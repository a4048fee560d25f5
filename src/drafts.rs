//! Score sheets in the making. An accepted panel expert may save a draft of a bid's or a
//! review's sheet as often as it likes; only its author reads it, and it counts for nothing —
//! not in a panel's `sheets_submitted`, a ranking or a review's score — until the expert
//! submits the sheet, which is final and takes the draft's place (the same transaction
//! deletes it). Drafts are working notes, not decisions: they are not in the audit chain.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::sheet_drafts;
use crate::db::DbConn;
use crate::error::AppError;

/// A draft of a bid's sheet (`subject_id` the bid).
pub const BID: &str = "bid";
/// A draft of a review's sheet (`subject_id` the review).
pub const REVIEW: &str = "review";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sheet_drafts)]
pub struct Draft {
    pub id: String,
    pub kind: String,
    pub subject_id: String,
    pub expert_id: String,
    /// Criterion key → decimal string, as JSON (as sheets store points).
    pub points: String,
    pub comment: String,
    pub dissent: Option<String>,
    pub updated_at: NaiveDateTime,
}

impl Draft {
    pub fn new(
        kind: &str,
        subject_id: &str,
        expert_id: &str,
        sheet: DraftSheet,
        now: NaiveDateTime,
    ) -> Draft {
        Draft {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_owned(),
            subject_id: subject_id.to_owned(),
            expert_id: expert_id.to_owned(),
            points: crate::domain::scoring::encode_points(&sheet.points),
            comment: sheet.comment,
            dissent: sheet.dissent,
            updated_at: now,
        }
    }

    pub fn points(&self) -> Result<BTreeMap<String, Decimal>, AppError> {
        crate::domain::scoring::decode_points("sheet_drafts.points", &self.points)
    }
}

/// What a draft holds, checked.
#[derive(Debug, Clone)]
pub struct DraftSheet {
    pub points: BTreeMap<String, Decimal>,
    pub comment: String,
    pub dissent: Option<String>,
}

pub fn find(
    conn: &mut DbConn,
    kind: &str,
    subject_id: &str,
    expert_id: &str,
) -> QueryResult<Option<Draft>> {
    sheet_drafts::table
        .filter(sheet_drafts::kind.eq(kind))
        .filter(sheet_drafts::subject_id.eq(subject_id))
        .filter(sheet_drafts::expert_id.eq(expert_id))
        .select(Draft::as_select())
        .first(conn)
        .optional()
}

/// Stores `d` in place of the expert's earlier draft of the same sheet (inside the caller's
/// write transaction).
pub fn save(conn: &mut DbConn, d: &Draft) -> QueryResult<()> {
    discard(conn, &d.kind, &d.subject_id, &d.expert_id)?;
    diesel::insert_into(sheet_drafts::table)
        .values(d)
        .execute(conn)
        .map(|_| ())
}

/// Deletes the expert's draft of a sheet, if any (the sheet was submitted).
pub fn discard(
    conn: &mut DbConn,
    kind: &str,
    subject_id: &str,
    expert_id: &str,
) -> QueryResult<usize> {
    diesel::delete(
        sheet_drafts::table
            .filter(sheet_drafts::kind.eq(kind))
            .filter(sheet_drafts::subject_id.eq(subject_id))
            .filter(sheet_drafts::expert_id.eq(expert_id)),
    )
    .execute(conn)
}

/// `PUT …/score/draft`: the whole draft, replacing the last one. Every field may be left out;
/// points present are checked as a sheet's are (a criterion of this sheet, 0..max, two
/// decimals at most).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"points": {"plan": 42}, "comment": "方案完整，团队待核实"}))]
pub struct DraftRequest {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub points: BTreeMap<String, serde_json::Number>,
    #[serde(default)]
    pub comment: String,
    /// Bids' sheets only.
    pub dissent: Option<String>,
}

/// An expert's draft, as only its author sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DraftResponse {
    /// The bid (kind `bid`) or review (kind `review`) the sheet is for.
    pub kind: String,
    pub subject_id: String,
    #[schema(value_type = Object)]
    pub points: BTreeMap<String, serde_json::Number>,
    /// The criteria still without points: submitting needs all of them.
    pub missing: Vec<String>,
    pub comment: String,
    pub dissent: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Always false: a draft counts for nothing until the sheet is submitted with
    /// `PUT …/score`, which is final.
    pub submitted: bool,
}

impl DraftResponse {
    pub fn of(d: Draft, missing: Vec<String>) -> Result<DraftResponse, AppError> {
        Ok(DraftResponse {
            points: crate::domain::scoring::points_as_numbers(&d.points()?),
            kind: d.kind,
            subject_id: d.subject_id,
            missing,
            comment: d.comment,
            dissent: d.dissent,
            updated_at: d.updated_at.and_utc(),
            submitted: false,
        })
    }
}
