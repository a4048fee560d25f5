//! Diesel for reviews, their panel seats and sheets, and satisfaction surveys. Every state move
//! is one guarded `UPDATE … WHERE status = <from>` that must touch one row.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

pub use super::model::{Review, ReviewKind, ReviewSeat, ReviewSheet, ReviewStatus, Survey};
use crate::contracts::model::ContractStatus;
use crate::db::schema::{contracts, review_seats, review_sheets, reviews, satisfaction_surveys};
use crate::db::DbConn;
use crate::evaluation::repo::SeatStatus;

pub fn insert(conn: &mut DbConn, r: &Review) -> QueryResult<()> {
    diesel::insert_into(reviews::table)
        .values(r)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Review>> {
    reviews::table
        .find(id)
        .select(Review::as_select())
        .first(conn)
        .optional()
}

pub fn of_contract(conn: &mut DbConn, contract_id: &str) -> QueryResult<Vec<Review>> {
    reviews::table
        .filter(reviews::contract_id.eq(contract_id))
        .order((reviews::due_on.asc(), reviews::id.asc()))
        .select(Review::as_select())
        .load(conn)
}

pub fn of_organization(conn: &mut DbConn, organization_id: &str) -> QueryResult<Vec<Review>> {
    reviews::table
        .filter(reviews::organization_id.eq(organization_id))
        .order(reviews::id.asc())
        .select(Review::as_select())
        .load(conn)
}

/// Who may list which reviews.
pub enum Scope<'a> {
    All,
    District(&'a str),
    Organization(&'a str),
    /// The reviews whose panels seat this expert (standby seats not counted).
    Expert(&'a str),
}

pub struct Filter<'a> {
    pub contract_id: Option<&'a str>,
    pub status: Option<ReviewStatus>,
    pub kind: Option<ReviewKind>,
}

/// A page of reviews in id order after `after`.
pub fn list(
    conn: &mut DbConn,
    scope: Scope<'_>,
    f: &Filter<'_>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Review>> {
    let mut q = reviews::table.into_boxed();
    match scope {
        Scope::All => {}
        Scope::District(d) => q = q.filter(reviews::district_id.eq(d.to_owned())),
        Scope::Organization(o) => q = q.filter(reviews::organization_id.eq(o.to_owned())),
        Scope::Expert(e) => {
            q = q.filter(
                reviews::id.eq_any(
                    review_seats::table
                        .filter(review_seats::expert_id.eq(e.to_owned()))
                        .filter(review_seats::status.ne(SeatStatus::Standby))
                        .select(review_seats::review_id),
                ),
            )
        }
    }
    if let Some(c) = f.contract_id {
        q = q.filter(reviews::contract_id.eq(c.to_owned()));
    }
    if let Some(s) = f.status {
        q = q.filter(reviews::status.eq(s));
    }
    if let Some(k) = f.kind {
        q = q.filter(reviews::kind.eq(k));
    }
    if let Some(a) = after {
        q = q.filter(reviews::id.gt(a.to_owned()));
    }
    q.order(reviews::id.asc())
        .limit(limit)
        .select(Review::as_select())
        .load(conn)
}

type ActiveIds = diesel::dsl::Select<
    diesel::dsl::Filter<contracts::table, diesel::dsl::Eq<contracts::status, ContractStatus>>,
    contracts::id,
>;

/// The ids of active contracts: a terminated or completed contract's reviews are left as they
/// stand by the jobs.
fn active_contracts() -> ActiveIds {
    contracts::table
        .filter(contracts::status.eq(ContractStatus::Active))
        .select(contracts::id)
}

/// Scheduled reviews of active contracts whose opening day has come.
pub fn due_to_open(conn: &mut DbConn, today: NaiveDate, limit: i64) -> QueryResult<Vec<Review>> {
    reviews::table
        .filter(reviews::status.eq(ReviewStatus::Scheduled))
        .filter(reviews::contract_id.eq_any(active_contracts()))
        .filter(reviews::opens_on.le(today))
        .order(reviews::id.asc())
        .limit(limit)
        .select(Review::as_select())
        .load(conn)
}

/// Reviews of active contracts in `status` whose due day is before `today`.
pub fn past_due(
    conn: &mut DbConn,
    status: ReviewStatus,
    today: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<Review>> {
    reviews::table
        .filter(reviews::status.eq(status))
        .filter(reviews::contract_id.eq_any(active_contracts()))
        .filter(reviews::due_on.lt(today))
        .order(reviews::id.asc())
        .limit(limit)
        .select(Review::as_select())
        .load(conn)
}

/// Reviews of active contracts in `status` (the reminder job's candidates).
pub fn in_status(conn: &mut DbConn, status: ReviewStatus, limit: i64) -> QueryResult<Vec<Review>> {
    reviews::table
        .filter(reviews::status.eq(status))
        .filter(reviews::contract_id.eq_any(active_contracts()))
        .order(reviews::id.asc())
        .limit(limit)
        .select(Review::as_select())
        .load(conn)
}

/// `scheduled` → `open`, with its draw.
pub fn open(
    conn: &mut DbConn,
    id: &str,
    eligible_ids: &str,
    receipts: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        reviews::table
            .filter(reviews::id.eq(id))
            .filter(reviews::status.eq(ReviewStatus::Scheduled)),
    )
    .set((
        reviews::status.eq(ReviewStatus::Open),
        reviews::eligible_ids.eq(eligible_ids),
        reviews::receipts.eq(receipts),
        reviews::opened_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A redraw: the review's seats removed and its draw replaced, while it is still at `from`.
pub fn redrawn(
    conn: &mut DbConn,
    id: &str,
    from: ReviewStatus,
    eligible_ids: &str,
    receipts: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        reviews::table
            .filter(reviews::id.eq(id))
            .filter(reviews::status.eq(from)),
    )
    .set((
        reviews::eligible_ids.eq(eligible_ids),
        reviews::receipts.eq(receipts),
    ))
    .execute(conn)?;
    if n != 1 {
        return Ok(false);
    }
    diesel::delete(review_seats::table.filter(review_seats::review_id.eq(id))).execute(conn)?;
    Ok(true)
}

/// Invited seats of reviews still open or scoring, invited at or before `before`, oldest
/// first.
pub fn stale_invitations(
    conn: &mut DbConn,
    before: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<ReviewSeat>> {
    review_seats::table
        .inner_join(reviews::table)
        .filter(review_seats::status.eq(SeatStatus::Invited))
        .filter(review_seats::invited_at.le(before))
        .filter(reviews::status.eq_any([ReviewStatus::Open, ReviewStatus::Scoring]))
        .order(review_seats::invited_at.asc())
        .limit(limit)
        .select(ReviewSeat::as_select())
        .load(conn)
}

/// `open` → `scoring`, with the report.
pub fn report(
    conn: &mut DbConn,
    id: &str,
    report: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        reviews::table
            .filter(reviews::id.eq(id))
            .filter(reviews::status.eq(ReviewStatus::Open)),
    )
    .set((
        reviews::status.eq(ReviewStatus::Scoring),
        reviews::report.eq(report),
        reviews::reported_by.eq(by),
        reviews::reported_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The outcome: `from` → `passed` or `failed`, with the score and grade (none for a lapse).
pub struct Outcome<'a> {
    pub to: ReviewStatus,
    pub score_cents: Option<i64>,
    pub grade: Option<&'a str>,
    pub satisfaction_rate: Option<String>,
    pub reason: Option<&'a str>,
}

pub fn finalize(
    conn: &mut DbConn,
    id: &str,
    from: ReviewStatus,
    o: &Outcome<'_>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        reviews::table
            .filter(reviews::id.eq(id))
            .filter(reviews::status.eq(from)),
    )
    .set((
        reviews::status.eq(o.to),
        reviews::score_cents.eq(o.score_cents),
        reviews::grade.eq(o.grade),
        reviews::satisfaction_rate.eq(&o.satisfaction_rate),
        reviews::outcome_reason.eq(o.reason),
        reviews::finalized_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn insert_seat(conn: &mut DbConn, s: &ReviewSeat) -> QueryResult<()> {
    diesel::insert_into(review_seats::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

pub fn seats(conn: &mut DbConn, review_id: &str) -> QueryResult<Vec<ReviewSeat>> {
    review_seats::table
        .filter(review_seats::review_id.eq(review_id))
        .order(review_seats::position.asc())
        .select(ReviewSeat::as_select())
        .load(conn)
}

pub fn seats_of_many(conn: &mut DbConn, review_ids: &[String]) -> QueryResult<Vec<ReviewSeat>> {
    review_seats::table
        .filter(review_seats::review_id.eq_any(review_ids))
        .order((review_seats::review_id.asc(), review_seats::position.asc()))
        .select(ReviewSeat::as_select())
        .load(conn)
}

pub fn find_seat(conn: &mut DbConn, id: &str) -> QueryResult<Option<ReviewSeat>> {
    review_seats::table
        .find(id)
        .select(ReviewSeat::as_select())
        .first(conn)
        .optional()
}

/// An expert's review seats (standby ones not yet theirs), in id order after `after`.
pub fn seats_of_expert(
    conn: &mut DbConn,
    expert_id: &str,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ReviewSeat>> {
    let mut q = review_seats::table
        .filter(review_seats::expert_id.eq(expert_id))
        .filter(review_seats::status.ne(SeatStatus::Standby))
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(review_seats::id.gt(a.to_owned()));
    }
    q.order(review_seats::id.asc())
        .limit(limit)
        .select(ReviewSeat::as_select())
        .load(conn)
}

/// Moves a seat from `from` to `to` (an answer, or an expiry with its reason); false when it
/// is no longer at `from`.
pub fn answer_seat(
    conn: &mut DbConn,
    id: &str,
    from: SeatStatus,
    to: SeatStatus,
    declaration: Option<&str>,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        review_seats::table
            .filter(review_seats::id.eq(id))
            .filter(review_seats::status.eq(from)),
    )
    .set((
        review_seats::status.eq(to),
        review_seats::declaration.eq(declaration),
        review_seats::decline_reason.eq(reason),
        review_seats::responded_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A standby seat is invited.
pub fn invite_seat(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        review_seats::table
            .filter(review_seats::id.eq(id))
            .filter(review_seats::status.eq(SeatStatus::Standby)),
    )
    .set((
        review_seats::status.eq(SeatStatus::Invited),
        review_seats::invited_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn insert_sheet(conn: &mut DbConn, s: &ReviewSheet) -> QueryResult<()> {
    diesel::insert_into(review_sheets::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

pub fn sheets(conn: &mut DbConn, review_id: &str) -> QueryResult<Vec<ReviewSheet>> {
    review_sheets::table
        .filter(review_sheets::review_id.eq(review_id))
        .order(review_sheets::id.asc())
        .select(ReviewSheet::as_select())
        .load(conn)
}

pub fn insert_survey(conn: &mut DbConn, s: &Survey) -> QueryResult<()> {
    diesel::insert_into(satisfaction_surveys::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

pub fn surveys(conn: &mut DbConn, contract_id: &str) -> QueryResult<Vec<Survey>> {
    satisfaction_surveys::table
        .filter(satisfaction_surveys::contract_id.eq(contract_id))
        .order((
            satisfaction_surveys::created_at.asc(),
            satisfaction_surveys::id.asc(),
        ))
        .select(Survey::as_select())
        .load(conn)
}
