//! Late payments (`GET /reports/late-payments`): tranches paid after their `release_due`
//! (the day they became releasable + the rule's working days; a due day ends at 24:00 China
//! Standard Time), and tranches still unpaid past it, of the district's contracts whose fund is
//! of the fiscal year. How late is counted in calendar days after the due day.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{contracts, funds, tranches};
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

type Row = (
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<NaiveDate>,
    Option<NaiveDateTime>,
);

/// The late tranches of `district_id` (all for `None`) in funds of `fiscal_year` (all for
/// `None`), most late first.
pub fn late_payments(
    conn: &mut DbConn,
    district_id: Option<&str>,
    fiscal_year: Option<i32>,
    now: NaiveDateTime,
) -> Result<Vec<Late>, AppError> {
    let mut q = tranches::table
        .inner_join(contracts::table.on(contracts::id.eq(tranches::contract_id)))
        .inner_join(funds::table.on(funds::id.eq(contracts::fund_id)))
        .filter(tranches::release_due.is_not_null())
        .filter(tranches::status.eq_any(["released", "releasable"]))
        .select((
            tranches::id,
            contracts::id,
            contracts::project_id,
            contracts::organization_id,
            tranches::amount_fen,
            tranches::status,
            tranches::release_due,
            tranches::released_at,
        ))
        .into_boxed();
    if let Some(d) = district_id {
        q = q.filter(contracts::district_id.eq(d.to_owned()));
    }
    if let Some(y) = fiscal_year {
        q = q.filter(funds::fiscal_year.eq(y));
    }
    let rows: Vec<Row> = q.load(conn)?;
    let today = crate::clock::cst_date(now);
    let mut out: Vec<Late> = rows
        .into_iter()
        .filter_map(
            |(
                tranche_id,
                contract_id,
                project_id,
                organization_id,
                amount_fen,
                status,
                due,
                released_at,
            )| {
                let due = due?;
                let paid_on = match (status.as_str(), released_at) {
                    ("released", Some(at)) => crate::clock::cst_date(at),
                    ("releasable", _) => today,
                    _ => return None,
                };
                let days_late = (paid_on - due).num_days();
                (days_late > 0).then_some(Late {
                    tranche_id,
                    contract_id,
                    project_id,
                    organization_id,
                    amount_fen,
                    release_due: due,
                    released_at: released_at.filter(|_| status == "released"),
                    days_late,
                })
            },
        )
        .collect();
    out.sort_by(|a, b| {
        b.days_late
            .cmp(&a.days_late)
            .then(a.tranche_id.cmp(&b.tranche_id))
    });
    Ok(out)
}
