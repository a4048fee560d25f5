//! Review, seat, sheet and survey rows, and the review's state machine (DESIGN.md, "Reviews").

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{review_seats, review_sheets, reviews, satisfaction_surveys};
use crate::evaluation::repo::SeatStatus;
use crate::status::{action_enum, status_enum, Lifecycle};

status_enum! {
    /// Which review: half-way through the service period, or at its end.
    pub enum ReviewKind {
        Midterm = "midterm",
        Completion = "completion",
    }
}

impl ReviewKind {
    /// The tranche condition a pass of this review meets.
    pub fn condition(self) -> crate::domain::spec::Condition {
        match self {
            ReviewKind::Midterm => crate::domain::spec::Condition::OnMidtermPassed,
            ReviewKind::Completion => crate::domain::spec::Condition::OnCompletionPassed,
        }
    }
}

status_enum! {
    /// Where a review stands.
    pub enum ReviewStatus {
        /// Created when the contract became active; opens ahead of its due day.
        Scheduled = "scheduled",
        /// Its panel drawn; waiting for the organization's report.
        Open = "open",
        /// Reported; the panel scores.
        Scoring = "scoring",
        Passed = "passed",
        Failed = "failed",
    }
}

action_enum! {
    pub enum ReviewAction {
        Open = "be opened",
        Report = "take a report",
        Score = "be scored",
        /// Finalized (the last sheet in, and at completion a survey) with a passing score.
        Pass = "pass",
        /// Finalized with a failing score.
        Fail = "fail",
        /// No report by the end of its due day.
        Lapse = "lapse without a report",
    }
}

impl Lifecycle for ReviewStatus {
    type Action = ReviewAction;
    const NOUN: &'static str = "a review";

    fn next(self, action: ReviewAction) -> Option<ReviewStatus> {
        use ReviewAction as A;
        use ReviewStatus as S;
        match (self, action) {
            (S::Scheduled, A::Open) => Some(S::Open),
            (S::Open, A::Report) => Some(S::Scoring),
            (S::Scoring, A::Score) => Some(S::Scoring),
            (S::Scoring, A::Pass) => Some(S::Passed),
            (S::Scoring, A::Fail) => Some(S::Failed),
            (S::Open, A::Lapse) => Some(S::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reviews)]
pub struct Review {
    pub id: String,
    pub contract_id: String,
    pub project_id: String,
    pub district_id: String,
    pub organization_id: String,
    pub kind: ReviewKind,
    pub attempt: i32,
    pub due_on: NaiveDate,
    pub opens_on: NaiveDate,
    pub status: ReviewStatus,
    /// The rule pack's `[reviews]` when it was scheduled (JSON).
    pub rules: String,
    pub panel_size: i32,
    pub eligible_ids: Option<String>,
    pub receipts: Option<String>,
    pub report: Option<String>,
    pub reported_at: Option<NaiveDateTime>,
    pub reported_by: Option<String>,
    pub satisfaction_rate: Option<String>,
    pub score_cents: Option<i64>,
    pub grade: Option<String>,
    pub outcome_reason: Option<String>,
    pub opened_at: Option<NaiveDateTime>,
    pub finalized_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Review {
    pub fn is(&self, status: ReviewStatus) -> bool {
        self.status == status
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = review_seats)]
pub struct ReviewSeat {
    pub id: String,
    pub review_id: String,
    pub expert_id: String,
    pub position: i32,
    pub status: SeatStatus,
    pub invited_at: Option<NaiveDateTime>,
    pub declaration: Option<String>,
    pub decline_reason: Option<String>,
    pub responded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl ReviewSeat {
    pub fn is(&self, status: SeatStatus) -> bool {
        self.status == status
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = review_sheets)]
pub struct ReviewSheet {
    pub id: String,
    pub review_id: String,
    pub expert_id: String,
    /// Criterion key → points as a decimal string (JSON).
    pub points: String,
    pub comment: String,
    pub submitted_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = satisfaction_surveys)]
pub struct Survey {
    pub id: String,
    pub contract_id: String,
    pub respondents: i32,
    pub satisfied: i32,
    pub method: String,
    pub surveyed_on: NaiveDate,
    pub recorded_by: String,
    pub created_at: NaiveDateTime,
}

/// How residents were asked.
pub const SURVEY_METHODS: [&str; 4] = ["questionnaire", "interview", "phone", "online"];

#[cfg(test)]
mod tests {
    use super::ReviewAction as A;
    use super::ReviewStatus as S;
    use crate::status::assert_diagram;

    #[test]
    fn exactly_the_moves_of_the_review_diagram_are_allowed() {
        assert_diagram(&[
            (S::Scheduled, A::Open, S::Open),
            (S::Open, A::Report, S::Scoring),
            (S::Scoring, A::Score, S::Scoring),
            (S::Scoring, A::Pass, S::Passed),
            (S::Scoring, A::Fail, S::Failed),
            (S::Open, A::Lapse, S::Failed),
        ]);
    }
}
