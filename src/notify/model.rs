//! The outbox row's status and its state machine.

use crate::status::{action_enum, status_enum, Lifecycle};

status_enum! {
    /// Where an outbox mail stands: pending until sent, or dead when its attempts ran out (kept,
    /// never lost).
    pub enum OutboxStatus {
        Pending = "pending",
        Sent = "sent",
        Dead = "dead",
    }
}

action_enum! {
    pub enum OutboxAction {
        Deliver = "be sent",
        /// A failed attempt with attempts left: pending again, later.
        Retry = "be retried",
        /// A failed last attempt.
        GiveUp = "be given up",
    }
}

impl Lifecycle for OutboxStatus {
    type Action = OutboxAction;
    const NOUN: &'static str = "a mail";

    fn next(self, action: OutboxAction) -> Option<OutboxStatus> {
        use OutboxAction as A;
        use OutboxStatus as S;
        match (self, action) {
            (S::Pending, A::Deliver) => Some(S::Sent),
            (S::Pending, A::Retry) => Some(S::Pending),
            (S::Pending, A::GiveUp) => Some(S::Dead),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OutboxAction as A;
    use super::OutboxStatus as S;
    use crate::status::assert_diagram;

    #[test]
    fn exactly_the_moves_of_the_diagram_are_allowed() {
        assert_diagram(&[
            (S::Pending, A::Deliver, S::Sent),
            (S::Pending, A::Retry, S::Pending),
            (S::Pending, A::GiveUp, S::Dead),
        ]);
    }
}
