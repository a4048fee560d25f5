//! Contract, tranche and amendment rows, and the contract's and the tranche's state machines
//! (DESIGN.md, "Award, objections and contract" and "Funds and staged releases").

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{contract_amendments, contracts, tranches};
use crate::domain::spec::Condition;
use crate::status::{action_enum, status_enum, Lifecycle};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = contracts)]
pub struct Contract {
    pub id: String,
    pub project_id: String,
    pub award_id: String,
    pub round: i32,
    pub organization_id: String,
    pub district_id: String,
    pub fund_id: String,
    pub original_amount_fen: i64,
    pub amount_fen: i64,
    pub service_start: NaiveDate,
    pub service_end: NaiveDate,
    /// The winning bid's KPIs, as JSON.
    pub kpis: String,
    pub status: ContractStatus,
    pub sign_deadline: NaiveDateTime,
    pub signed_by_bureau: Option<String>,
    pub signed_by_bureau_at: Option<NaiveDateTime>,
    pub signed_by_org: Option<String>,
    pub signed_by_org_at: Option<NaiveDateTime>,
    pub signature_overdue: bool,
    pub termination_proposed: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub activated_at: Option<NaiveDateTime>,
    pub completed_at: Option<NaiveDateTime>,
    pub terminated_at: Option<NaiveDateTime>,
    pub termination_reason: Option<String>,
}

impl Contract {
    pub fn is(&self, status: ContractStatus) -> bool {
        self.status == status
    }
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = tranches)]
pub struct Tranche {
    pub id: String,
    pub contract_id: String,
    pub seq: i32,
    pub condition: String,
    pub date: Option<NaiveDate>,
    pub percent: i32,
    pub amount_fen: i64,
    pub status: TrancheStatus,
    pub releasable_at: Option<NaiveDateTime>,
    pub release_due: Option<NaiveDate>,
    pub overdue_notified_at: Option<NaiveDateTime>,
    pub payment_reference: Option<String>,
    pub released_at: Option<NaiveDateTime>,
    pub released_by: Option<String>,
}

impl Tranche {
    pub fn is(&self, status: TrancheStatus) -> bool {
        self.status == status
    }

    pub fn condition(&self) -> Option<Condition> {
        Condition::parse(&self.condition)
    }

    /// Not paid and not cancelled: its amount may still change (an amendment re-splits it).
    pub fn unreleased(&self) -> bool {
        matches!(
            self.status,
            TrancheStatus::Pending | TrancheStatus::Releasable | TrancheStatus::Withheld
        )
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contract_amendments)]
pub struct Amendment {
    pub id: String,
    pub contract_id: String,
    pub amount_before_fen: i64,
    pub amount_after_fen: i64,
    pub reason: String,
    pub actor_id: String,
    pub at: NaiveDateTime,
}

status_enum! {
    /// Where a contract stands.
    pub enum ContractStatus {
        PendingSignature = "pending_signature",
        Active = "active",
        Completed = "completed",
        Terminated = "terminated",
    }
}

action_enum! {
    pub enum ContractAction {
        /// One side signs (the contract waits for the other).
        Sign = "be signed",
        /// Both sides have signed.
        Activate = "be activated",
        Amend = "be amended",
        /// One of its tranches is paid.
        Release = "have a tranche released",
        /// Every tranche is paid after the completion review passed.
        Complete = "be completed",
        Terminate = "be terminated",
    }
}

impl ContractStatus {
    /// Public from `active` on (实施条例 art 50).
    pub fn is_public(self) -> bool {
        !matches!(self, ContractStatus::PendingSignature)
    }

    /// Whether the fund holds the contract's amount as committed (less what was released).
    pub fn holds_commitment(self) -> bool {
        matches!(
            self,
            ContractStatus::PendingSignature | ContractStatus::Active
        )
    }
}

impl Lifecycle for ContractStatus {
    type Action = ContractAction;
    const NOUN: &'static str = "a contract";

    fn next(self, action: ContractAction) -> Option<ContractStatus> {
        use ContractAction as A;
        use ContractStatus as S;
        match (self, action) {
            (S::PendingSignature, A::Sign) => Some(S::PendingSignature),
            (S::PendingSignature, A::Activate) => Some(S::Active),
            (S::PendingSignature | S::Active, A::Amend) => Some(self),
            (S::Active, A::Release) => Some(S::Active),
            (S::Active, A::Complete) => Some(S::Completed),
            (S::PendingSignature | S::Active, A::Terminate) => Some(S::Terminated),
            _ => None,
        }
    }
}

status_enum! {
    /// Where a tranche stands.
    pub enum TrancheStatus {
        Pending = "pending",
        Releasable = "releasable",
        Withheld = "withheld",
        Released = "released",
        Cancelled = "cancelled",
    }
}

action_enum! {
    pub enum TrancheAction {
        /// Its condition is met (signing, its date, its review passed).
        Mature = "become releasable",
        /// Its review failed.
        Withhold = "be withheld",
        Release = "be released",
        /// The contract was terminated.
        Cancel = "be cancelled",
    }
}

impl Lifecycle for TrancheStatus {
    type Action = TrancheAction;
    const NOUN: &'static str = "a tranche";

    fn next(self, action: TrancheAction) -> Option<TrancheStatus> {
        use TrancheAction as A;
        use TrancheStatus as S;
        match (self, action) {
            (S::Pending | S::Withheld, A::Mature) => Some(S::Releasable),
            (S::Pending, A::Withhold) => Some(S::Withheld),
            (S::Releasable, A::Release) => Some(S::Released),
            (S::Pending | S::Releasable | S::Withheld, A::Cancel) => Some(S::Cancelled),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::assert_diagram;

    #[test]
    fn exactly_the_moves_of_the_contract_diagram_are_allowed() {
        use ContractAction as A;
        use ContractStatus as S;
        assert_diagram(&[
            (S::PendingSignature, A::Sign, S::PendingSignature),
            (S::PendingSignature, A::Activate, S::Active),
            (S::PendingSignature, A::Amend, S::PendingSignature),
            (S::Active, A::Amend, S::Active),
            (S::Active, A::Release, S::Active),
            (S::Active, A::Complete, S::Completed),
            (S::PendingSignature, A::Terminate, S::Terminated),
            (S::Active, A::Terminate, S::Terminated),
        ]);
    }

    #[test]
    fn exactly_the_moves_of_the_tranche_diagram_are_allowed() {
        use TrancheAction as A;
        use TrancheStatus as S;
        assert_diagram(&[
            (S::Pending, A::Mature, S::Releasable),
            (S::Withheld, A::Mature, S::Releasable),
            (S::Pending, A::Withhold, S::Withheld),
            (S::Releasable, A::Release, S::Released),
            (S::Pending, A::Cancel, S::Cancelled),
            (S::Releasable, A::Cancel, S::Cancelled),
            (S::Withheld, A::Cancel, S::Cancelled),
        ]);
    }
}
