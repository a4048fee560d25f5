//! The statuses of panel seats and draws, and the seat's state machine.

use crate::status::{action_enum, status_enum, Lifecycle};

status_enum! {
    /// Where a panel seat stands: members are invited, alternates wait on standby until a
    /// member declines or lets the invitation expire.
    pub enum SeatStatus {
        Invited = "invited",
        Standby = "standby",
        Accepted = "accepted",
        Declined = "declined",
        Expired = "expired",
    }
}

action_enum! {
    pub enum SeatAction {
        /// An alternate moves up.
        Invite = "be invited",
        /// With the declaration of no conflict.
        Accept = "be accepted",
        Decline = "be declined",
        /// Unanswered past the rule pack's `response_hours`.
        Expire = "expire",
    }
}

impl Lifecycle for SeatStatus {
    type Action = SeatAction;
    const NOUN: &'static str = "an assignment";

    fn next(self, action: SeatAction) -> Option<SeatStatus> {
        use SeatAction as A;
        use SeatStatus as S;
        match (self, action) {
            (S::Standby, A::Invite) => Some(S::Invited),
            (S::Invited, A::Accept) => Some(S::Accepted),
            (S::Invited, A::Decline) => Some(S::Declined),
            (S::Invited, A::Expire) => Some(S::Expired),
            _ => None,
        }
    }
}

status_enum! {
    /// The outcome of a panel draw. A draw is written once: a redraw deletes the round's draw
    /// and seats and draws anew, so this status has no moves.
    pub enum DrawStatus {
        Drawn = "drawn",
        /// Too few eligible experts: no panel.
        Shortfall = "shortfall",
    }
}

#[cfg(test)]
mod tests {
    use super::SeatAction as A;
    use super::SeatStatus as S;
    use super::*;
    use crate::status::assert_diagram;

    #[test]
    fn exactly_the_moves_of_the_seat_diagram_are_allowed() {
        assert_diagram(&[
            (S::Standby, A::Invite, S::Invited),
            (S::Invited, A::Accept, S::Accepted),
            (S::Invited, A::Decline, S::Declined),
            (S::Invited, A::Expire, S::Expired),
        ]);
    }

    #[test]
    fn a_draw_status_is_its_string() {
        for &d in DrawStatus::ALL {
            assert_eq!(DrawStatus::parse(d.as_str()), Some(d));
        }
        assert_eq!(DrawStatus::parse("drawn "), None);
    }
}
