//! The organization's standing and its state machine.

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
}
