//! Late payments (`GET /reports/late-payments`): tranches paid after their `release_due`
//! (the day they became releasable + the rule's working days; a due day ends at 24:00 China
//! Standard Time), and tranches still unpaid past it, of the district's contracts whose fund is
//! of the fiscal year. How late is counted in calendar days after the due day.

use chrono::{NaiveDate, NaiveDateTime};

use crate::contracts::model::TrancheStatus;
use crate::db::DbConn;
use crate::error::AppError;

/// One tranche paid late, or overdue and unpaid at `now`.
#[derive(Debug, Clone)]
pub struct Late {
    pub tranche_id: String,
    pub contract_id: String,
    pub project_id: String,
    pub organization_id: String,
    pub amount_fen: i64,
    pub release_due: NaiveDate,
    /// `None`: not paid yet.
    pub released_at: Option<NaiveDateTime>,
    pub days_late: i64,
}

/// The late tranches of `district_id` (all for `None`) in funds of `fiscal_year` (all for
/// `None`), most late first.
pub fn late_payments(
    conn: &mut DbConn,
    district_id: Option<&str>,
    fiscal_year: Option<i32>,
    now: NaiveDateTime,
) -> Result<Vec<Late>, AppError> {
    let rows = super::repo::tranches_with_due_days(conn, district_id, fiscal_year)?;
    let today = crate::clock::cst_date(now);
    let mut out: Vec<Late> = rows
        .into_iter()
        .filter_map(|t| {
            let due = t.release_due?;
            let (paid_on, released_at) = match (t.status, t.released_at) {
                (TrancheStatus::Released, Some(at)) => (crate::clock::cst_date(at), Some(at)),
                (TrancheStatus::Releasable, _) => (today, None),
                _ => return None,
            };
            let days_late = (paid_on - due).num_days();
            (days_late > 0).then_some(Late {
                tranche_id: t.tranche_id,
                contract_id: t.contract_id,
                project_id: t.project_id,
                organization_id: t.organization_id,
                amount_fen: t.amount_fen,
                release_due: due,
                released_at,
                days_late,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.days_late
            .cmp(&a.days_late)
            .then(a.tranche_id.cmp(&b.tranche_id))
    });
    Ok(out)
}
