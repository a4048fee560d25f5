//! Need rows and the need state machine.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::needs;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = needs)]
pub struct Need {
    pub id: String,
    pub community_id: String,
    pub street_id: String,
    pub district_id: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub source: String,
    pub external_ref: Option<String>,
    pub beneficiary_group: String,
    pub beneficiaries: i64,
    pub urgency: String,
    pub urgency_rank: i32,
    pub supporters: i64,
    pub status: String,
    pub status_reason: Option<String>,
    pub merged_into: Option<String>,
    pub project_id: Option<String>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedStatus {
    Submitted,
    Forwarded,
    Returned,
    Accepted,
    Rejected,
    Merged,
    InProject,
    Met,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedAction {
    Forward,
    Return,
    Resubmit,
    Accept,
    Reject,
    Merge,
    Support,
    /// Linked to a published project.
    LinkProject,
    /// The project it was linked to was cancelled before a contract.
    UnlinkProject,
}

impl NeedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NeedStatus::Submitted => "submitted",
            NeedStatus::Forwarded => "forwarded",
            NeedStatus::Returned => "returned",
            NeedStatus::Accepted => "accepted",
            NeedStatus::Rejected => "rejected",
            NeedStatus::Merged => "merged",
            NeedStatus::InProject => "in_project",
            NeedStatus::Met => "met",
        }
    }

    pub fn parse(s: &str) -> Option<NeedStatus> {
        use NeedStatus::*;
        [
            Submitted, Forwarded, Returned, Accepted, Rejected, Merged, InProject, Met,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// The status after `action`, or `None` when the action is not allowed from here.
    pub fn next(self, action: NeedAction) -> Option<NeedStatus> {
        use NeedAction as A;
        use NeedStatus as S;
        match (self, action) {
            (S::Submitted, A::Forward) => Some(S::Forwarded),
            (S::Submitted, A::Return) => Some(S::Returned),
            (S::Returned, A::Resubmit) => Some(S::Submitted),
            (S::Forwarded, A::Accept) => Some(S::Accepted),
            (S::Submitted | S::Forwarded | S::Accepted, A::Reject) => Some(S::Rejected),
            (S::Submitted | S::Forwarded | S::Accepted, A::Merge) => Some(S::Merged),
            (
                S::Submitted | S::Forwarded | S::Returned | S::Accepted | S::InProject,
                A::Support,
            ) => Some(self),
            (S::Accepted, A::LinkProject) => Some(S::InProject),
            (S::InProject, A::UnlinkProject) => Some(S::Accepted),
            _ => None,
        }
    }

    /// Whether a need in this status can receive another merged into it.
    pub fn can_absorb(self) -> bool {
        matches!(
            self,
            NeedStatus::Submitted
                | NeedStatus::Forwarded
                | NeedStatus::Accepted
                | NeedStatus::InProject
        )
    }
}

#[cfg(test)]
mod tests {
    use super::NeedAction as A;
    use super::NeedStatus as S;

    #[test]
    fn the_happy_path_and_the_return_loop() {
        assert_eq!(S::Submitted.next(A::Forward), Some(S::Forwarded));
        assert_eq!(S::Forwarded.next(A::Accept), Some(S::Accepted));
        assert_eq!(S::Accepted.next(A::LinkProject), Some(S::InProject));
        assert_eq!(S::Submitted.next(A::Return), Some(S::Returned));
        assert_eq!(S::Returned.next(A::Resubmit), Some(S::Submitted));
    }

    #[test]
    fn terminal_and_wrong_steps_are_refused() {
        for s in [S::Rejected, S::Merged, S::Met] {
            for a in [
                A::Forward,
                A::Return,
                A::Resubmit,
                A::Accept,
                A::Reject,
                A::Merge,
                A::Support,
            ] {
                assert_eq!(s.next(a), None, "{s:?} {a:?}");
            }
        }
        assert_eq!(
            S::Submitted.next(A::Accept),
            None,
            "the street forwards first"
        );
        assert_eq!(S::Forwarded.next(A::Forward), None);
        assert_eq!(S::InProject.next(A::Reject), None);
    }
}
