//! Diesel for contracts, tranches and amendments. Every state move is a guarded `UPDATE …
//! WHERE status = <from>` that reports whether it touched its row.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::model::{Amendment, Contract, ContractStatus, Tranche, TrancheStatus};
use crate::db::schema::{contract_amendments, contracts, organizations, reviews, tranches};
use crate::db::{cached, DbConn};
use crate::domain::spec::Condition;
use crate::reviews::model::{ReviewKind, ReviewStatus};

pub fn insert(conn: &mut DbConn, c: &Contract) -> QueryResult<()> {
    diesel::insert_into(contracts::table)
        .values(c)
        .execute(conn)
        .map(|_| ())
}

/// Rows a statement inserts at most (PostgreSQL binds at most 65,535 parameters; a contract
/// row has 27).
const ROWS_PER_STATEMENT: usize = 1000;

/// Inserts many contracts (a bulk seed), a statement per [`ROWS_PER_STATEMENT`] on PostgreSQL.
pub fn insert_many(conn: &mut DbConn, c: &[Contract]) -> QueryResult<()> {
    for chunk in c.chunks(ROWS_PER_STATEMENT) {
        crate::insert_rows!(&mut *conn, contracts::table, chunk)?;
    }
    Ok(())
}

pub fn insert_tranches(conn: &mut DbConn, t: &[Tranche]) -> QueryResult<()> {
    for chunk in t.chunks(ROWS_PER_STATEMENT) {
        crate::insert_rows!(&mut *conn, tranches::table, chunk)?;
    }
    Ok(())
}

pub fn insert_amendment(conn: &mut DbConn, a: &Amendment) -> QueryResult<()> {
    diesel::insert_into(contract_amendments::table)
        .values(a)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Contract>> {
    contracts::table
        .find(id)
        .select(Contract::as_select())
        .first(conn)
        .optional()
}

pub fn find_for_award(conn: &mut DbConn, award_id: &str) -> QueryResult<Option<Contract>> {
    contracts::table
        .filter(contracts::award_id.eq(award_id))
        .select(Contract::as_select())
        .first(conn)
        .optional()
}

/// Locks the contract row until the transaction ends (SQLite: the immediate transaction holds
/// the write lock already). Every write to a contract or its tranches takes it first, then the
/// fund's, so two writers cannot deadlock and a release cannot race a termination.
pub fn lock(conn: &mut DbConn, id: &str) -> QueryResult<Option<Contract>> {
    if let DbConn::Pg(_) = conn {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            #[allow(dead_code)]
            id: String,
        }
        let rows: Vec<Row> = diesel::sql_query("SELECT id FROM contracts WHERE id = $1 FOR UPDATE")
            .bind::<Text, _>(id)
            .load(conn)?;
        if rows.is_empty() {
            return Ok(None);
        }
    }
    find(conn, id)
}

/// The contract of tranche `tranche_id`, locked as [`lock`] locks it, with its organization's
/// contact address, in one statement (a release's first: it learns the contract, takes its lock
/// and has the address for its mail in one round trip). Only the contract row is locked (`FOR
/// UPDATE OF contracts`: not the organization, whose other contracts' releases would queue
/// behind it, nor the sub-select's tranche), so the lock order stays contract first, then its
/// tranches.
pub fn lock_of_tranche(
    conn: &mut DbConn,
    tranche_id: &str,
) -> QueryResult<Option<(Contract, Option<String>)>> {
    match conn {
        DbConn::Pg(_) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(embed)]
                contract: Contract,
                #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
                contact_email: Option<String>,
            }
            let row: Option<Row> = cached(
                diesel::sql_query(
                    "SELECT contracts.*, organizations.contact_email FROM contracts \
                     LEFT JOIN organizations ON organizations.id = contracts.organization_id \
                     WHERE contracts.id = (SELECT contract_id FROM tranches WHERE id = $1) \
                     FOR UPDATE OF contracts",
                )
                .bind::<Text, _>(tranche_id),
            )
            .get_result(conn)
            .optional()?;
            Ok(row.map(|r| (r.contract, r.contact_email)))
        }
        DbConn::Sqlite(_) => {
            let of = tranches::table
                .filter(tranches::id.eq(tranche_id.to_owned()))
                .select(tranches::contract_id);
            contracts::table
                .left_join(
                    organizations::table.on(organizations::id.eq(contracts::organization_id)),
                )
                .filter(contracts::id.eq_any(of))
                .select((
                    Contract::as_select(),
                    organizations::contact_email.nullable(),
                ))
                .first(conn)
                .optional()
        }
    }
}

pub fn tranches_of(conn: &mut DbConn, contract_id: &str) -> QueryResult<Vec<Tranche>> {
    tranches::table
        .filter(tranches::contract_id.eq(contract_id))
        .order(tranches::seq.asc())
        .select(Tranche::as_select())
        .load(conn)
}

/// The tranches of many contracts (a listing page), in `seq` order per contract.
pub fn tranches_of_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Tranche>> {
    tranches::table
        .filter(tranches::contract_id.eq_any(ids))
        .order((tranches::contract_id.asc(), tranches::seq.asc()))
        .select(Tranche::as_select())
        .load(conn)
}

/// Up to `limit` releasable tranches of `district_id`'s contracts, each with its contract.
pub fn releasable_in(
    conn: &mut DbConn,
    district_id: &str,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    tranches::table
        .inner_join(contracts::table.on(contracts::id.eq(tranches::contract_id)))
        .filter(tranches::status.eq(TrancheStatus::Releasable))
        .filter(contracts::district_id.eq(district_id))
        .select((tranches::id, tranches::contract_id))
        .limit(limit)
        .load(conn)
}

pub fn find_tranche(conn: &mut DbConn, id: &str) -> QueryResult<Option<Tranche>> {
    tranches::table
        .find(id)
        .select(Tranche::as_select())
        .first(conn)
        .optional()
}

pub fn amendments_of(conn: &mut DbConn, contract_id: &str) -> QueryResult<Vec<Amendment>> {
    contract_amendments::table
        .filter(contract_amendments::contract_id.eq(contract_id))
        .order((contract_amendments::at.asc(), contract_amendments::id.asc()))
        .select(Amendment::as_select())
        .load(conn)
}

pub fn amendments_of_many(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<Amendment>> {
    contract_amendments::table
        .filter(contract_amendments::contract_id.eq_any(ids))
        .order((contract_amendments::at.asc(), contract_amendments::id.asc()))
        .select(Amendment::as_select())
        .load(conn)
}

/// What a listing narrows to; `district_id` and `organization_id` also carry the caller's scope.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub district_id: Option<String>,
    pub organization_id: Option<String>,
    pub project_id: Option<String>,
    pub status: Option<ContractStatus>,
    /// Only contracts from `active` on (the public's view).
    pub public_only: bool,
}

pub fn list(
    conn: &mut DbConn,
    f: &Filter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Contract>> {
    let mut q = contracts::table.into_boxed();
    if let Some(d) = &f.district_id {
        q = q.filter(contracts::district_id.eq(d.clone()));
    }
    if let Some(o) = &f.organization_id {
        q = q.filter(contracts::organization_id.eq(o.clone()));
    }
    if let Some(p) = &f.project_id {
        q = q.filter(contracts::project_id.eq(p.clone()));
    }
    if let Some(s) = f.status {
        q = q.filter(contracts::status.eq(s));
    }
    if f.public_only {
        q = q.filter(contracts::status.ne(ContractStatus::PendingSignature));
    }
    if let Some(a) = after {
        q = q.filter(contracts::id.gt(a.to_owned()));
    }
    q.order(contracts::id.asc())
        .limit(limit)
        .select(Contract::as_select())
        .load(conn)
}

/// Records the bureau's signature, once.
pub fn sign_bureau(conn: &mut DbConn, id: &str, by: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::status.eq(ContractStatus::PendingSignature))
            .filter(contracts::signed_by_bureau_at.is_null()),
    )
    .set((
        contracts::signed_by_bureau.eq(by),
        contracts::signed_by_bureau_at.eq(now),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records the organization's signature, once.
pub fn sign_org(conn: &mut DbConn, id: &str, by: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::status.eq(ContractStatus::PendingSignature))
            .filter(contracts::signed_by_org_at.is_null()),
    )
    .set((
        contracts::signed_by_org.eq(by),
        contracts::signed_by_org_at.eq(now),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// `pending_signature` → `active` once both sides have signed.
pub fn activate(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::status.eq(ContractStatus::PendingSignature))
            .filter(contracts::signed_by_bureau_at.is_not_null())
            .filter(contracts::signed_by_org_at.is_not_null()),
    )
    .set((
        contracts::status.eq(ContractStatus::Active),
        contracts::activated_at.eq(now),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// `active` → `completed`.
pub fn complete(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::status.eq(ContractStatus::Active)),
    )
    .set((
        contracts::status.eq(ContractStatus::Completed),
        contracts::completed_at.eq(now),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Every contract of an organization (its track record).
pub fn of_organization(conn: &mut DbConn, organization_id: &str) -> QueryResult<Vec<Contract>> {
    contracts::table
        .filter(contracts::organization_id.eq(organization_id))
        .order(contracts::id.asc())
        .select(Contract::as_select())
        .load(conn)
}

/// When the organization's terminated contracts were terminated, oldest first.
pub fn terminated_at_of(
    conn: &mut DbConn,
    organization_id: &str,
) -> QueryResult<Vec<NaiveDateTime>> {
    contracts::table
        .filter(contracts::organization_id.eq(organization_id))
        .filter(contracts::status.eq(ContractStatus::Terminated))
        .filter(contracts::terminated_at.is_not_null())
        .select(contracts::terminated_at.assume_not_null())
        .order(contracts::terminated_at.asc())
        .load(conn)
}

/// `from` → `withheld` (its review failed).
pub fn withhold(conn: &mut DbConn, id: &str, from: TrancheStatus) -> QueryResult<bool> {
    let n = diesel::update(
        tranches::table
            .filter(tranches::id.eq(id))
            .filter(tranches::status.eq(from)),
    )
    .set(tranches::status.eq(TrancheStatus::Withheld))
    .execute(conn)?;
    Ok(n == 1)
}

/// An active contract's re-review failed: termination is proposed (once).
pub fn propose_termination(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::status.eq(ContractStatus::Active))
            .filter(contracts::termination_proposed.eq(false)),
    )
    .set((
        contracts::termination_proposed.eq(true),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// `from` → `terminated`, with the reason.
pub fn terminate(
    conn: &mut DbConn,
    id: &str,
    from: ContractStatus,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::status.eq(from)),
    )
    .set((
        contracts::status.eq(ContractStatus::Terminated),
        contracts::terminated_at.eq(now),
        contracts::termination_reason.eq(reason),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The amended amount, guarded by the version the caller read (`If-Match`).
pub fn set_amount(conn: &mut DbConn, id: &str, version: i64, amount_fen: i64) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::version.eq(version)),
    )
    .set((
        contracts::amount_fen.eq(amount_fen),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Sets `signature_overdue`, once.
pub fn flag_unsigned(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    let n = diesel::update(
        contracts::table
            .filter(contracts::id.eq(id))
            .filter(contracts::status.eq(ContractStatus::PendingSignature))
            .filter(contracts::signature_overdue.eq(false)),
    )
    .set((
        contracts::signature_overdue.eq(true),
        contracts::version.eq(contracts::version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Contracts still unsigned after their deadline and not flagged yet.
pub fn unsigned_past_deadline(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Contract>> {
    contracts::table
        .filter(contracts::status.eq(ContractStatus::PendingSignature))
        .filter(contracts::sign_deadline.lt(now))
        .filter(contracts::signature_overdue.eq(false))
        .order(contracts::sign_deadline.asc())
        .limit(limit)
        .select(Contract::as_select())
        .load(conn)
}

/// `pending` or `withheld` → `releasable`, with the day it must be paid by.
pub fn mature(
    conn: &mut DbConn,
    id: &str,
    from: TrancheStatus,
    due: NaiveDate,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        tranches::table
            .filter(tranches::id.eq(id))
            .filter(tranches::status.eq(from)),
    )
    .set((
        tranches::status.eq(TrancheStatus::Releasable),
        tranches::releasable_at.eq(now),
        tranches::release_due.eq(due),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Pays tranche `id` of (locked) contract `contract_id` if it is releasable — the one guarded
/// statement — and reads the contract's tranches as they were just before it, in `seq` order:
/// whether it was paid, the tranches, and whether the contract's completion review has passed
/// (what completing the contract after its last payment asks). Read after the contract's lock
/// is held, so they are the ones the lock's last holder committed.
///
/// On PostgreSQL, where each statement is a round trip, the update and the reads are one
/// statement (a data-modifying `WITH`; its reads see the snapshot the update started from),
/// prepared once per connection.
pub fn release_in(
    conn: &mut DbConn,
    contract_id: &str,
    id: &str,
    reference: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<Released> {
    match conn {
        DbConn::Pg(_) => {
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(embed)]
                tranche: Tranche,
                #[diesel(sql_type = diesel::sql_types::Bool)]
                paid: bool,
                #[diesel(sql_type = diesel::sql_types::Bool)]
                completion_passed: bool,
            }
            let rows: Vec<Row> = cached(
                diesel::sql_query(
                    "WITH paid AS (UPDATE tranches SET status = $3, payment_reference = $4, \
                     released_at = $5, released_by = $6 \
                     WHERE id = $2 AND contract_id = $1 AND status = $7 RETURNING id) \
                     SELECT tranches.*, EXISTS (SELECT 1 FROM paid) AS paid, \
                     EXISTS (SELECT 1 FROM reviews WHERE reviews.contract_id = $1 \
                     AND reviews.kind = $8 AND reviews.status = $9) AS completion_passed \
                     FROM tranches WHERE contract_id = $1 ORDER BY seq",
                )
                .bind::<Text, _>(contract_id)
                .bind::<Text, _>(id)
                .bind::<Text, _>(TrancheStatus::Released)
                .bind::<Text, _>(reference)
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .bind::<Text, _>(by)
                .bind::<Text, _>(TrancheStatus::Releasable)
                .bind::<Text, _>(ReviewKind::Completion)
                .bind::<Text, _>(ReviewStatus::Passed),
            )
            .load(conn)?;
            let first = rows.first();
            let (paid, completion_passed) =
                first.map_or((false, false), |r| (r.paid, r.completion_passed));
            Ok(Released {
                paid,
                tranches: rows.into_iter().map(|r| r.tranche).collect(),
                completion_passed,
            })
        }
        DbConn::Sqlite(_) => {
            let before = tranches_of(conn, contract_id)?;
            // Asked only when this payment may be the last one.
            let last = before
                .iter()
                .all(|t| t.id == id || t.is(TrancheStatus::Released));
            let completion_passed = last && completion_passed(conn, contract_id)?;
            if !before.iter().any(|t| t.id == id) {
                return Ok(Released {
                    paid: false,
                    tranches: before,
                    completion_passed,
                });
            }
            let n = diesel::update(
                tranches::table
                    .filter(tranches::id.eq(id))
                    .filter(tranches::status.eq(TrancheStatus::Releasable)),
            )
            .set((
                tranches::status.eq(TrancheStatus::Released),
                tranches::payment_reference.eq(reference),
                tranches::released_at.eq(now),
                tranches::released_by.eq(by),
            ))
            .execute(conn)?;
            Ok(Released {
                paid: n == 1,
                tranches: before,
                completion_passed,
            })
        }
    }
}

/// What [`release_in`] did and read.
pub struct Released {
    /// Whether the tranche was paid by this statement.
    pub paid: bool,
    /// The contract's tranches as they were just before, in `seq` order.
    pub tranches: Vec<Tranche>,
    /// Whether the contract's completion review has passed.
    pub completion_passed: bool,
}

/// Whether contract `contract_id`'s completion review has passed.
pub fn completion_passed(conn: &mut DbConn, contract_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        reviews::table
            .filter(reviews::contract_id.eq(contract_id))
            .filter(reviews::kind.eq(ReviewKind::Completion))
            .filter(reviews::status.eq(ReviewStatus::Passed)),
    ))
    .get_result(conn)
}

/// An unreleased tranche's new amount (an amendment's re-split).
pub fn set_tranche_amount(
    conn: &mut DbConn,
    id: &str,
    from: TrancheStatus,
    amount_fen: i64,
) -> QueryResult<bool> {
    let n = diesel::update(
        tranches::table
            .filter(tranches::id.eq(id))
            .filter(tranches::status.eq(from)),
    )
    .set(tranches::amount_fen.eq(amount_fen))
    .execute(conn)?;
    Ok(n == 1)
}

/// Cancels one unreleased tranche (a termination).
pub fn cancel_tranche(conn: &mut DbConn, id: &str, from: TrancheStatus) -> QueryResult<bool> {
    let n = diesel::update(
        tranches::table
            .filter(tranches::id.eq(id))
            .filter(tranches::status.eq(from)),
    )
    .set(tranches::status.eq(TrancheStatus::Cancelled))
    .execute(conn)?;
    Ok(n == 1)
}

/// Pending `on_date` tranches of active contracts whose date has come.
pub fn maturing_on_date(
    conn: &mut DbConn,
    today: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<Tranche>> {
    tranches::table
        .inner_join(contracts::table)
        .filter(contracts::status.eq(ContractStatus::Active))
        .filter(tranches::status.eq(TrancheStatus::Pending))
        .filter(tranches::condition.eq(Condition::OnDate.as_str()))
        .filter(tranches::date.le(today))
        .order((tranches::date.asc(), tranches::id.asc()))
        .limit(limit)
        .select(Tranche::as_select())
        .load(conn)
}

/// Releasable tranches past their due day whose bureau has not been told yet.
pub fn overdue_unnotified(
    conn: &mut DbConn,
    today: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<Tranche>> {
    tranches::table
        .filter(tranches::status.eq(TrancheStatus::Releasable))
        .filter(tranches::release_due.lt(today))
        .filter(tranches::overdue_notified_at.is_null())
        .order((tranches::release_due.asc(), tranches::id.asc()))
        .limit(limit)
        .select(Tranche::as_select())
        .load(conn)
}

/// Records that the bureau was told of an overdue tranche, once.
pub fn mark_overdue_notified(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        tranches::table
            .filter(tranches::id.eq(id))
            .filter(tranches::status.eq(TrancheStatus::Releasable))
            .filter(tranches::overdue_notified_at.is_null()),
    )
    .set(tranches::overdue_notified_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn of_fund(conn: &mut DbConn, fund_id: &str) -> QueryResult<Vec<Contract>> {
    contracts::table
        .filter(contracts::fund_id.eq(fund_id))
        .order(contracts::id.asc())
        .select(Contract::as_select())
        .load(conn)
}
