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

/// The contract of tranche `tranche_id` with its organization's contact address (SQLite, where
/// the transaction holds the database's write lock already: nothing else to lock).
fn of_tranche_sqlite(
    conn: &mut DbConn,
    tranche_id: &str,
) -> QueryResult<Option<(Contract, Option<String>)>> {
    let of = tranches::table
        .filter(tranches::id.eq(tranche_id.to_owned()))
        .select(tranches::contract_id);
    contracts::table
        .left_join(organizations::table.on(organizations::id.eq(contracts::organization_id)))
        .filter(contracts::id.eq_any(of))
        .select((
            Contract::as_select(),
            organizations::contact_email.nullable(),
        ))
        .first(conn)
        .optional()
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

/// The contract a release pays from: the fields a release needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct Payer {
    /// Read from the tranche rows' `contract_id` (the function returns no column of its own).
    #[diesel(sql_type = Text, column_name = contract_id)]
    pub id: String,
    #[diesel(sql_type = Text, column_name = c_project_id)]
    pub project_id: String,
    #[diesel(sql_type = Text, column_name = c_award_id)]
    pub award_id: String,
    #[diesel(sql_type = Text, column_name = c_organization_id)]
    pub organization_id: String,
    #[diesel(sql_type = Text, column_name = c_district_id)]
    pub district_id: String,
    #[diesel(sql_type = Text, column_name = c_fund_id)]
    pub fund_id: String,
    #[diesel(sql_type = Text, column_name = c_status)]
    pub status: ContractStatus,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub contact_email: Option<String>,
}

/// What [`release`] found and did, under the contract's lock.
pub struct Released {
    /// What a release needs of the contract.
    pub contract: Payer,
    /// Whether the tranche was paid by this call.
    pub paid: bool,
    /// The contract's tranches as they stand after it, in `seq` order.
    pub tranches: Vec<Tranche>,
    /// Whether the contract's completion review has passed.
    pub completion_passed: bool,
}

/// Pays tranche `id` — the one guarded statement — if it is releasable and its contract is in
/// `district` and in one of `releasing` (the states whose lifecycle lets release), with the
/// contract locked first; then reads the contract's tranches and whether its completion review
/// has passed. Read after the lock is held, so they are what the lock's last holder committed.
/// `None` when no such tranche exists.
///
/// On PostgreSQL, where each statement is a round trip, it is one call of the function
/// `gongyi_release_tranche` (migration `000012`), prepared once per connection: its statements
/// each read with a snapshot taken after the one before, as separate statements would. On
/// SQLite (the transaction holds the write lock) the same steps run from here.
pub fn release(
    conn: &mut DbConn,
    id: &str,
    district: &str,
    releasing: &[ContractStatus],
    reference: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Released>> {
    match conn {
        DbConn::Pg(pg) => {
            use diesel::sql_types::{Array, Bool};
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(embed)]
                tranche: Tranche,
                #[diesel(embed)]
                contract: Payer,
                #[diesel(sql_type = Bool)]
                paid: bool,
                #[diesel(sql_type = Bool)]
                completion_passed: bool,
            }
            let statuses: Vec<&str> = releasing.iter().map(|s| s.as_str()).collect();
            let rows: Vec<Row> = cached(
                diesel::sql_query(
                    "SELECT * FROM gongyi_release_tranche($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind::<Text, _>(id)
                .bind::<Text, _>(district)
                .bind::<Array<Text>, _>(statuses)
                .bind::<Text, _>(TrancheStatus::Releasable.as_str())
                .bind::<Text, _>(TrancheStatus::Released.as_str())
                .bind::<Text, _>(reference)
                .bind::<diesel::sql_types::Timestamp, _>(now)
                .bind::<Text, _>(by)
                .bind::<Text, _>(ReviewKind::Completion.as_str())
                .bind::<Text, _>(ReviewStatus::Passed.as_str()),
            )
            .load(pg)?;
            let Some(first) = rows.first() else {
                return Ok(None);
            };
            let (contract, paid, completion_passed) =
                (first.contract.clone(), first.paid, first.completion_passed);
            Ok(Some(Released {
                contract,
                paid,
                tranches: rows.into_iter().map(|r| r.tranche).collect(),
                completion_passed,
            }))
        }
        DbConn::Sqlite(_) => {
            let Some((c, contact_email)) = of_tranche_sqlite(conn, id)? else {
                return Ok(None);
            };
            let mut tranches = tranches_of(conn, &c.id)?;
            let payable = c.district_id == district && releasing.contains(&c.status);
            let paid = payable
                && diesel::update(
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
                .execute(conn)?
                    == 1;
            if paid {
                // As the statement wrote it.
                if let Some(t) = tranches.iter_mut().find(|t| t.id == id) {
                    t.status = TrancheStatus::Released;
                    t.payment_reference = Some(reference.to_owned());
                    t.released_at = Some(now);
                    t.released_by = Some(by.to_owned());
                }
            }
            // Asked only when every tranche is paid.
            let completion_passed = tranches.iter().all(|t| t.is(TrancheStatus::Released))
                && completion_passed(conn, &c.id)?;
            Ok(Some(Released {
                contract: Payer {
                    id: c.id,
                    project_id: c.project_id,
                    award_id: c.award_id,
                    organization_id: c.organization_id,
                    district_id: c.district_id,
                    fund_id: c.fund_id,
                    status: c.status,
                    contact_email,
                },
                paid,
                tranches,
                completion_passed,
            }))
        }
    }
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
