//! The organization's standing and its state machine.

use crate::domain::eligibility::Failure;
use crate::status::{action_enum, status_enum, Lifecycle};

status_enum! {
    /// Where an organization stands (DESIGN.md, "Organizations"): only verified ones bid.
    pub enum OrgStatus {
        PendingVerification = "pending_verification",
        Verified = "verified",
        Rejected = "rejected",
        Suspended = "suspended",
    }
}

action_enum! {
    pub enum OrgAction {
        Verify = "be verified",
        Reject = "be rejected",
        Suspend = "be suspended",
    }
}

impl Lifecycle for OrgStatus {
    type Action = OrgAction;
    const NOUN: &'static str = "an organization";

    fn next(self, action: OrgAction) -> Option<OrgStatus> {
        use OrgAction as A;
        use OrgStatus as S;
        match (self, action) {
            (S::PendingVerification, A::Verify) => Some(S::Verified),
            (S::PendingVerification, A::Reject) => Some(S::Rejected),
            (S::Verified, A::Suspend) => Some(S::Suspended),
            _ => None,
        }
    }
}

impl OrgStatus {
    /// Why an organization standing here may not be opened as qualified, if it may not: only a
    /// verified organization is in good standing. Checked at the opening besides the frozen
    /// credentials, since a suspension between the bid and the close must count.
    pub fn standing(self, status_reason: Option<&str>) -> Option<Failure> {
        let why = status_reason
            .map(|r| format!(" (reason: {r})"))
            .unwrap_or_default();
        let reason = match self {
            OrgStatus::Verified => return None,
            OrgStatus::Suspended => format!(
                "the organization was suspended by the civil-affairs bureau before the opening{why}"
            ),
            OrgStatus::Rejected => format!(
                "the organization's registration was rejected by the civil-affairs bureau{why}"
            ),
            OrgStatus::PendingVerification => {
                format!("the organization is {self}, not verified, at the opening")
            }
        };
        Some(Failure {
            rule: "standing".into(),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::OrgAction as A;
    use super::OrgStatus as S;
    use crate::status::{assert_diagram, Lifecycle};

    #[test]
    fn exactly_the_moves_of_the_diagram_are_allowed() {
        assert_diagram(&[
            (S::PendingVerification, A::Verify, S::Verified),
            (S::PendingVerification, A::Reject, S::Rejected),
            (S::Verified, A::Suspend, S::Suspended),
        ]);
        assert_eq!(
            S::Suspended.step(A::Verify).unwrap_err().detail,
            "an organization that is suspended cannot be verified"
        );
    }

    #[test]
    fn only_a_verified_organization_is_in_good_standing() {
        assert_eq!(S::Verified.standing(None), None);
        let s = S::Suspended.standing(Some("年检不合格")).unwrap();
        assert_eq!(s.rule, "standing");
        assert!(
            s.reason.contains("suspended") && s.reason.contains("年检不合格"),
            "{s:?}"
        );
        let r = S::Rejected.standing(None).unwrap();
        assert!(
            r.reason.contains("rejected") && !r.reason.contains("reason:"),
            "{r:?}"
        );
        assert!(S::PendingVerification.standing(None).is_some());
    }
}
