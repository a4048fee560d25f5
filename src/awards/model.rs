//! The award's and the objection's statuses and their state machines.

use crate::status::{action_enum, status_enum, Lifecycle};

status_enum! {
    /// Where an award stands: in its objection window, then final, or revoked by an upheld
    /// objection (政府采购法 art 52).
    pub enum AwardStatus {
        PendingObjections = "pending_objections",
        Final = "final",
        Revoked = "revoked",
    }
}

action_enum! {
    pub enum AwardAction {
        /// A bidder of the round files an objection (the award stays in its window).
        Object = "take objections",
        /// The window passed with no open or upheld objection.
        Finalize = "be finalised",
        /// An objection was upheld.
        Revoke = "be revoked",
    }
}

impl Lifecycle for AwardStatus {
    type Action = AwardAction;
    const NOUN: &'static str = "an award";

    fn next(self, action: AwardAction) -> Option<AwardStatus> {
        use AwardAction as A;
        use AwardStatus as S;
        match (self, action) {
            (S::PendingObjections, A::Object) => Some(S::PendingObjections),
            (S::PendingObjections, A::Finalize) => Some(S::Final),
            (S::PendingObjections, A::Revoke) => Some(S::Revoked),
            _ => None,
        }
    }
}

status_enum! {
    /// Where an objection stands: open until the bureau answers it.
    pub enum ObjectionStatus {
        Open = "open",
        Upheld = "upheld",
        Dismissed = "dismissed",
    }
}

action_enum! {
    pub enum ObjectionAction {
        Uphold = "be upheld",
        Dismiss = "be dismissed",
    }
}

impl Lifecycle for ObjectionStatus {
    type Action = ObjectionAction;
    const NOUN: &'static str = "an objection";

    fn next(self, action: ObjectionAction) -> Option<ObjectionStatus> {
        use ObjectionAction as A;
        use ObjectionStatus as S;
        match (self, action) {
            (S::Open, A::Uphold) => Some(S::Upheld),
            (S::Open, A::Dismiss) => Some(S::Dismissed),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::assert_diagram;

    #[test]
    fn exactly_the_moves_of_the_award_diagram_are_allowed() {
        use AwardAction as A;
        use AwardStatus as S;
        assert_diagram(&[
            (S::PendingObjections, A::Object, S::PendingObjections),
            (S::PendingObjections, A::Finalize, S::Final),
            (S::PendingObjections, A::Revoke, S::Revoked),
        ]);
    }

    #[test]
    fn exactly_the_moves_of_the_objection_diagram_are_allowed() {
        use ObjectionAction as A;
        use ObjectionStatus as S;
        assert_diagram(&[
            (S::Open, A::Uphold, S::Upheld),
            (S::Open, A::Dismiss, S::Dismissed),
        ]);
    }
}
