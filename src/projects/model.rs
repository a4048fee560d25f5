//! Project rows and the project state machine.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{project_amendments, projects};

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
    pub status: String,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectStatus {
    Draft,
    Open,
    Evaluating,
    Awarded,
    Contracted,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectAction {
    Edit,
    Publish,
    Amend,
    Cancel,
    Close,
    Fail,
    Republish,
}

impl Project {
    pub fn is(&self, status: ProjectStatus) -> bool {
        self.status == status.as_str()
    }
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Draft => "draft",
            ProjectStatus::Open => "open",
            ProjectStatus::Evaluating => "evaluating",
            ProjectStatus::Awarded => "awarded",
            ProjectStatus::Contracted => "contracted",
            ProjectStatus::Failed => "failed",
            ProjectStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<ProjectStatus> {
        use ProjectStatus::*;
        [
            Draft, Open, Evaluating, Awarded, Contracted, Failed, Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    pub fn next(self, action: ProjectAction) -> Option<ProjectStatus> {
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
            _ => None,
        }
    }

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
    }
}
