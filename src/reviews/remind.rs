//! The `remind` job's mails, each once per review, recipient, kind and day: the outbox's unique
//! `dedupe_key` (`remind:<review>:<recipient>:<kind>:<day>`) is the guard, so two replicas
//! running the job at once queue one mail between them.
//! - the organization, 3 days before its report is due and on the due day;
//! - the panel experts without a sheet, 3 days before scoring closes and on that day;
//! - the district's bureau, every day a review is past its scoring close unfinished.

use chrono::{NaiveDate, NaiveDateTime};

use super::repo::{self, Review, ReviewStatus};
use super::service::scoring_closes;
use crate::config::ReviewSettings;
use crate::db::Tx;
use crate::error::AppError;
use crate::evaluation::repo::SeatStatus;
use crate::notify::{self, Mail};

/// How many days ahead the first reminder goes.
pub const DAYS_AHEAD: i64 = 3;

fn once(
    tx: &mut Tx<'_>,
    r: &Review,
    recipient: &str,
    kind: &str,
    today: NaiveDate,
    mail: Mail,
    now: NaiveDateTime,
) -> Result<u64, AppError> {
    let key = format!("remind:{}:{recipient}:{kind}:{today}", r.id);
    Ok(notify::enqueue_once(tx, &key, &mail, now)? as u64)
}

/// The reminders review `r` is owed today; how many were queued now.
pub fn remind(
    tx: &mut Tx<'_>,
    r: &Review,
    settings: &ReviewSettings,
    now: NaiveDateTime,
) -> Result<u64, AppError> {
    let today = crate::clock::cst_date(now);
    let mut sent = 0;
    match r.status {
        ReviewStatus::Open => {
            let left = (r.due_on - today).num_days();
            if left == DAYS_AHEAD || left == 0 {
                let kind = if left == 0 {
                    "report_due_today"
                } else {
                    "report_due_soon"
                };
                if let Some(o) = crate::orgs::repo::find(tx, &r.organization_id)? {
                    let mail = Mail {
                        to: o.contact_email,
                        subject: format!("Reminder: {} review report due {}", r.kind.as_str(), r.due_on),
                        body: format!(
                            "Your progress report for the {} review of contract {} is due by the end of {} (UTC+8): POST /api/v1/reviews/{}/report. Without it the review fails.",
                            r.kind.as_str(), r.contract_id, r.due_on, r.id
                        ),
                    };
                    sent += once(tx, r, &o.id, kind, today, mail, now)?;
                }
            }
        }
        ReviewStatus::Scoring => {
            let closes = scoring_closes(r, settings);
            let left = (closes - today).num_days();
            if left == DAYS_AHEAD || left == 0 {
                let kind = if left == 0 {
                    "scoring_closes_today"
                } else {
                    "scoring_closes_soon"
                };
                let scored: Vec<String> = repo::sheets(tx, &r.id)?
                    .into_iter()
                    .map(|s| s.expert_id)
                    .collect();
                for s in repo::seats(tx, &r.id)? {
                    if !(s.is(SeatStatus::Invited) || s.is(SeatStatus::Accepted))
                        || scored.contains(&s.expert_id)
                    {
                        continue;
                    }
                    let Some(to) = super::service::expert_address(tx, &s.expert_id)? else {
                        continue;
                    };
                    let mail = Mail {
                        to,
                        subject: format!("Reminder: score the {} review by {closes}", r.kind.as_str()),
                        body: format!(
                            "Scoring of the {} review of contract {} closes at the end of {closes} (UTC+8): PUT /api/v1/reviews/{}/score.",
                            r.kind.as_str(), r.contract_id, r.id
                        ),
                    };
                    sent += once(tx, r, &s.expert_id, kind, today, mail, now)?;
                }
            } else if left < 0 {
                // Escalated: one mail a day to each bureau account until it is finalized.
                for u in notify::bureau_accounts(tx, &r.district_id)? {
                    let mail = Mail {
                        to: u.email,
                        subject: format!("Overdue review: contract {}", r.contract_id),
                        body: format!(
                            "The {} review {} of contract {} was to be scored by {closes}; it is not finalized (missing sheets, or a completion review without a resident survey).",
                            r.kind.as_str(), r.id, r.contract_id
                        ),
                    };
                    sent += once(tx, r, &u.id, "overdue", today, mail, now)?;
                }
            }
        }
        _ => {}
    }
    Ok(sent)
}
