//! Need rows and the need state machine.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::needs;
use crate::status::{action_enum, status_enum, Lifecycle};

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
    pub status: NeedStatus,
    pub status_reason: Option<String>,
    pub merged_into: Option<String>,
    pub project_id: Option<String>,
    pub created_by: String,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

status_enum! {
    /// Where a need stands (DESIGN.md, "Needs").
    pub enum NeedStatus {
        Submitted = "submitted",
        Forwarded = "forwarded",
        Returned = "returned",
        Accepted = "accepted",
        Rejected = "rejected",
        Merged = "merged",
        InProject = "in_project",
        Met = "met",
    }
}

action_enum! {
    pub enum NeedAction {
        Forward = "be forwarded",
        Return = "be returned",
        Resubmit = "be resubmitted",
        Accept = "be accepted",
        Reject = "be rejected",
        Merge = "be merged",
        Support = "take more support",
        /// Linked to a published project.
        LinkProject = "be linked to a project",
        /// The project it was linked to was cancelled before a contract.
        UnlinkProject = "be released from a project",
        /// Another need is merged into this one (it stays where it is).
        Absorb = "absorb another need",
        /// Its project's contract was completed after the completion review passed.
        Meet = "be met",
    }
}

impl Lifecycle for NeedStatus {
    type Action = NeedAction;
    const NOUN: &'static str = "a need";

    fn next(self, action: NeedAction) -> Option<NeedStatus> {
        use NeedAction as A;
        use NeedStatus as S;
        match (self, action) {
            (S::InProject, A::Meet) => Some(S::Met),
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
            (S::Submitted | S::Forwarded | S::Accepted | S::InProject, A::Absorb) => Some(self),
            _ => None,
        }
    }

    fn hint(self, action: NeedAction) -> Option<&'static str> {
        use NeedAction as A;
        use NeedStatus as S;
        match (self, action) {
            (S::Submitted, A::Accept) => Some(
                "its street forwards it to the bureau first (POST /api/v1/needs/{id}/forward), or returns it for more detail",
            ),
            (S::Returned, A::Forward | A::Accept) => Some(
                "its community resubmits it first (POST /api/v1/needs/{id}/resubmit)",
            ),
            (S::Accepted, A::Forward) => Some("it is already accepted by the bureau"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NeedAction as A;
    use super::NeedStatus as S;
    use crate::status::{assert_diagram, Lifecycle};

    #[test]
    fn exactly_the_moves_of_the_diagram_are_allowed() {
        assert_diagram(&[
            (S::Submitted, A::Forward, S::Forwarded),
            (S::Submitted, A::Return, S::Returned),
            (S::Submitted, A::Reject, S::Rejected),
            (S::Submitted, A::Merge, S::Merged),
            (S::Submitted, A::Support, S::Submitted),
            (S::Submitted, A::Absorb, S::Submitted),
            (S::Returned, A::Resubmit, S::Submitted),
            (S::Returned, A::Support, S::Returned),
            (S::Forwarded, A::Accept, S::Accepted),
            (S::Forwarded, A::Reject, S::Rejected),
            (S::Forwarded, A::Merge, S::Merged),
            (S::Forwarded, A::Support, S::Forwarded),
            (S::Forwarded, A::Absorb, S::Forwarded),
            (S::Accepted, A::Reject, S::Rejected),
            (S::Accepted, A::Merge, S::Merged),
            (S::Accepted, A::Support, S::Accepted),
            (S::Accepted, A::LinkProject, S::InProject),
            (S::Accepted, A::Absorb, S::Accepted),
            (S::InProject, A::Support, S::InProject),
            (S::InProject, A::UnlinkProject, S::Accepted),
            (S::InProject, A::Absorb, S::InProject),
            (S::InProject, A::Meet, S::Met),
        ]);
    }

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
        let e = S::Merged.step(A::Support).unwrap_err();
        assert_eq!((e.status.as_u16(), &*e.code), (409, "invalid_state"));
        assert_eq!(e.detail, "a need that is merged cannot take more support");
    }
}
