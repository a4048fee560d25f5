//! Project rows and the project state machine.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{project_amendments, projects};
use crate::status::{action_enum, status_enum, Lifecycle};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = projects)]
pub struct Project {
    pub id: String,
    pub district_id: String,
    pub street_id: Option<String>,
    pub region_id: String,
    pub title: String,
    pub category: String,
    pub method: String,
    pub fund_id: String,
    pub budget_ceiling_fen: i64,
    pub bid_close_at: NaiveDateTime,
    pub spec: String,
    pub rule_pack: Option<String>,
    pub warnings: String,
    pub status: ProjectStatus,
    pub round: i32,
    pub seed_sealed: Option<String>,
    pub seed_commitment: Option<String>,
    pub seed: Option<String>,
    pub status_reason: Option<String>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub closed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = project_amendments)]
pub struct Amendment {
    pub id: String,
    pub project_id: String,
    pub reason: String,
    pub changes: String,
    pub old_close_at: NaiveDateTime,
    pub new_close_at: NaiveDateTime,
    pub actor_id: String,
    pub at: NaiveDateTime,
}

status_enum! {
    /// Where a project stands (DESIGN.md, "Projects").
    pub enum ProjectStatus {
        Draft = "draft",
        Open = "open",
        Evaluating = "evaluating",
        Awarded = "awarded",
        Contracted = "contracted",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

action_enum! {
    pub enum ProjectAction {
        Edit = "be changed",
        Publish = "be published",
        /// A change to an open project, recorded with its reason.
        Amend = "be changed",
        Cancel = "be cancelled",
        /// Bidding closed with enough qualified bids: the evaluation starts.
        Close = "be closed",
        /// Bidding closed with too few qualified bids (流标).
        Fail = "be failed",
        Republish = "be republished",
        /// A bid is placed, replaced or withdrawn (before the close, which the clock decides).
        Bid = "take bids",
        /// A panel member scores a bid.
        Score = "take scores",
        /// The panel of the current round is drawn again.
        Redraw = "have its panel redrawn",
        Award = "be awarded",
        /// An upheld objection revokes the award: the evaluation reopens.
        Revoke = "have its award revoked",
        /// The award became final and its contract was drawn up.
        Contract = "be contracted",
    }
}

impl Project {
    pub fn is(&self, status: ProjectStatus) -> bool {
        self.status == status
    }
}

impl Lifecycle for ProjectStatus {
    type Action = ProjectAction;
    const NOUN: &'static str = "a project";

    fn next(self, action: ProjectAction) -> Option<ProjectStatus> {
        use ProjectAction as A;
        use ProjectStatus as S;
        match (self, action) {
            (S::Draft, A::Edit) => Some(S::Draft),
            (S::Draft, A::Publish) => Some(S::Open),
            (S::Open, A::Amend) => Some(S::Open),
            (S::Draft | S::Open | S::Evaluating | S::Failed, A::Cancel) => Some(S::Cancelled),
            (S::Open, A::Close) => Some(S::Evaluating),
            (S::Open, A::Fail) => Some(S::Failed),
            (S::Failed, A::Republish) => Some(S::Open),
            (S::Open, A::Bid) => Some(S::Open),
            (S::Evaluating, A::Score | A::Redraw) => Some(S::Evaluating),
            (S::Evaluating, A::Award) => Some(S::Awarded),
            (S::Awarded, A::Revoke) => Some(S::Evaluating),
            (S::Awarded, A::Contract) => Some(S::Contracted),
            _ => None,
        }
    }
}

impl ProjectStatus {
    /// Whether the budget ceiling is held in the fund in this status.
    pub fn holds_reservation(self) -> bool {
        matches!(
            self,
            ProjectStatus::Open | ProjectStatus::Evaluating | ProjectStatus::Awarded
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ProjectAction as A;
    use super::ProjectStatus as S;
    use crate::status::{assert_diagram, Lifecycle};

    #[test]
    fn exactly_the_moves_of_the_diagram_are_allowed() {
        assert_diagram(&[
            (S::Draft, A::Edit, S::Draft),
            (S::Draft, A::Publish, S::Open),
            (S::Draft, A::Cancel, S::Cancelled),
            (S::Open, A::Amend, S::Open),
            (S::Open, A::Bid, S::Open),
            (S::Open, A::Close, S::Evaluating),
            (S::Open, A::Fail, S::Failed),
            (S::Open, A::Cancel, S::Cancelled),
            (S::Evaluating, A::Score, S::Evaluating),
            (S::Evaluating, A::Redraw, S::Evaluating),
            (S::Evaluating, A::Award, S::Awarded),
            (S::Evaluating, A::Cancel, S::Cancelled),
            (S::Awarded, A::Revoke, S::Evaluating),
            (S::Awarded, A::Contract, S::Contracted),
            (S::Failed, A::Republish, S::Open),
            (S::Failed, A::Cancel, S::Cancelled),
        ]);
    }

    #[test]
    fn transitions_follow_the_lifecycle() {
        assert_eq!(S::Draft.next(A::Publish), Some(S::Open));
        assert_eq!(S::Open.next(A::Publish), None);
        assert_eq!(
            S::Open.next(A::Edit),
            None,
            "an open project is amended, not edited"
        );
        assert_eq!(S::Awarded.next(A::Cancel), None, "only before an award");
        assert_eq!(S::Failed.next(A::Republish), Some(S::Open));
        assert_eq!(S::Cancelled.next(A::Cancel), None);
        assert_eq!(
            S::Open.step(A::Award).unwrap_err().detail,
            "a project that is open cannot be awarded"
        );
    }
}
