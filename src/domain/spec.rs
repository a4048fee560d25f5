//! The vocabulary shared by needs, projects and organizations, and the project specification
//! ("对象要准、需求要清、服务要实、目标要明") with the structural rules a rule pack sets, and
//! which of its keys an amendment may change (`keys`).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::money::Money;
use super::rules::{Method, Policy, RulePack};

mod keys;
pub use keys::WhenOpen;

/// A field that breaks a rule, named as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Invalid {
        Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        // Written by hand: the derive does not see a `rename` passed through a macro and
        // would publish the variant names instead of the strings on the wire.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::wire_strings_schema(&[$($text),+])
            }
        }

        impl ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<$name> { Self::ALL.iter().copied().find(|v| v.as_str() == s) }
        }
    };
}

string_enum!(
    /// What a need or project is about.
    Category {
        Elderly => "elderly", ChildrenYouth => "children_youth", Disability => "disability",
        Hardship => "hardship", CommunityGovernance => "community_governance",
        CultureSports => "culture_sports", Mediation => "mediation", Health => "health",
        Volunteering => "volunteering", Other => "other",
    }
);

string_enum!(
    /// Where a need came from.
    Source {
        Grid => "grid", Hotline12345 => "hotline_12345", Wechat => "wechat", App => "app",
        Visit => "visit", Meeting => "meeting", Other => "other",
    }
);

string_enum!(Urgency { Low => "low", Medium => "medium", High => "high" });

impl Urgency {
    /// Sort weight: high first.
    pub fn rank(self) -> i32 {
        match self {
            Urgency::Low => 1,
            Urgency::Medium => 2,
            Urgency::High => 3,
        }
    }
}

string_enum!(
    /// A social organization's rating (社会组织评估等级).
    Rating { A1 => "1A", A2 => "2A", A3 => "3A", A4 => "4A", A5 => "5A" }
);

impl Rating {
    pub fn level(self) -> u8 {
        self as u8 + 1
    }
}

string_enum!(
    OrgType { SocialGroup => "social_group", PrivateNonEnterprise => "private_non_enterprise", Foundation => "foundation" }
);

string_enum!(
    /// Where a fund's money comes from.
    FundSource {
        Fiscal => "fiscal", LotteryWelfare => "lottery_welfare", Enterprise => "enterprise",
        Foundation => "foundation", Donation => "donation",
    }
);

string_enum!(
    /// When a tranche becomes releasable.
    Condition {
        OnSigning => "on_signing", OnMidtermPassed => "on_midterm_passed",
        OnCompletionPassed => "on_completion_passed", OnDate => "on_date",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    pub indicator: String,
    pub target: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    pub min_rating: Option<Rating>,
    pub min_registered_years: Option<u32>,
    pub min_social_workers: Option<u32>,
    pub org_types: Option<Vec<OrgType>>,
    pub district_only: Option<bool>,
    /// At most this many of the organization's contracts terminated within
    /// `terminated_within_years` before the bid (and again at the opening).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_terminated_contracts: Option<u32>,
    /// The window of `max_terminated_contracts`, in years; default
    /// [`TERMINATED_WITHIN_YEARS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated_within_years: Option<u32>,
}

/// The default window of `max_terminated_contracts`: three years, as 政府采购法 art 22(5)
/// looks back three years for a supplier's record (an analogy, not a rule of the law).
pub const TERMINATED_WITHIN_YEARS: u32 = 3;

impl Eligibility {
    /// The `max_terminated_contracts` rule, with its window: (at most, years).
    pub fn termination_limit(&self) -> Option<(u32, u32)> {
        self.max_terminated_contracts.map(|max| {
            (
                max,
                self.terminated_within_years
                    .unwrap_or(TERMINATED_WITHIN_YEARS),
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub key: String,
    pub name: String,
    pub max_points: u32,
    /// Who gives the points: the panel (the default), or the organization's track record —
    /// `max_points × mean review score / 100` over its reviews finalized by the opening.
    #[serde(default, skip_serializing_if = "Basis::is_panel")]
    pub basis: Basis,
    /// With `basis: "track_record"`: the points of an organization without a finalized review
    /// (the bureau decides and publishes it; 0..=max_points).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_record_points: Option<u32>,
}

string_enum!(
    /// Who gives a criterion's points.
    Basis {
        Panel => "panel", TrackRecord => "track_record",
    }
);

// By hand: `string_enum!` takes no variant attributes, so `#[default]` cannot be derived.
#[allow(clippy::derivable_impls)]
impl Default for Basis {
    fn default() -> Self {
        Basis::Panel
    }
}

impl Basis {
    pub fn is_panel(&self) -> bool {
        *self == Basis::Panel
    }
}

impl Evaluation {
    /// The criteria the panel's experts score on their sheets.
    pub fn panel_criteria(&self) -> impl Iterator<Item = &Criterion> + Clone {
        self.criteria.iter().filter(|c| c.basis.is_panel())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evaluation {
    pub price_points: u32,
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentStep {
    pub condition: Condition,
    pub percent: u32,
    /// Only with `on_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewPlan {
    pub midterm_on: Option<NaiveDate>,
    pub completion_on: Option<NaiveDate>,
}

/// A project's specification as the bureau writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub category: Category,
    pub region_id: String,
    #[serde(default)]
    pub need_ids: Vec<String>,
    pub target_group: String,
    pub services: Vec<String>,
    pub objectives: Vec<Objective>,
    pub budget_ceiling: Money,
    pub fund_id: String,
    pub method: Method,
    pub bid_close_at: DateTime<Utc>,
    pub service_start: NaiveDate,
    pub service_end: NaiveDate,
    #[serde(default)]
    pub eligibility: Eligibility,
    pub evaluation: Evaluation,
    pub payment_plan: Vec<PaymentStep>,
    #[serde(default)]
    pub review_plan: Option<ReviewPlan>,
    #[serde(default)]
    pub min_qualified_bids: Option<u32>,
}

fn text(errors: &mut Vec<Invalid>, field: &str, value: &str, min: usize, max: usize) {
    let n = value.trim().chars().count();
    if n < min || n > max {
        errors.push(Invalid::new(
            field,
            format!("must be {min} to {max} characters"),
        ));
    }
}

fn is_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some('a'..='z'))
        && k.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl ProjectSpec {
    /// Checks the specification against the rule pack of its method, at time `now`.
    /// Returns warnings (rules a pack marks `warn`) or every violation, each naming its field.
    pub fn check(&self, pack: &RulePack, now: DateTime<Utc>) -> Result<Vec<String>, Vec<Invalid>> {
        let mut e = Vec::new();
        let mut warnings = Vec::new();
        let m = pack.method.as_str();
        text(&mut e, "title", &self.title, 1, 200);
        text(&mut e, "summary", &self.summary, 0, 4000);
        text(&mut e, "target_group", &self.target_group, 1, 500);
        if self.services.is_empty() || self.services.len() > 50 {
            e.push(Invalid::new("services", "must list 1 to 50 services"));
        }
        for (i, s) in self.services.iter().enumerate() {
            text(&mut e, &format!("services[{i}]"), s, 1, 500);
        }
        if self.objectives.is_empty() || self.objectives.len() > 50 {
            e.push(Invalid::new(
                "objectives",
                "must list 1 to 50 measurable objectives",
            ));
        }
        for (i, o) in self.objectives.iter().enumerate() {
            text(
                &mut e,
                &format!("objectives[{i}].indicator"),
                &o.indicator,
                1,
                200,
            );
            text(
                &mut e,
                &format!("objectives[{i}].target"),
                &o.target,
                1,
                200,
            );
        }
        if self.need_ids.len() > 100 {
            e.push(Invalid::new("need_ids", "at most 100 needs"));
        }
        let mut ids = self.need_ids.clone();
        ids.sort();
        ids.dedup();
        if ids.len() != self.need_ids.len() {
            e.push(Invalid::new("need_ids", "lists a need twice"));
        }
        if !self.budget_ceiling.is_positive() {
            e.push(Invalid::new("budget_ceiling", "must be more than 0.00"));
        }
        if self.bid_close_at <= now {
            e.push(Invalid::new("bid_close_at", "must be in the future"));
        }
        // Service period.
        if self.service_end <= self.service_start {
            e.push(Invalid::new("service_end", "must be after service_start"));
        } else {
            let limit = self
                .service_start
                .checked_add_months(Months::new(pack.service_period.max_years * 12));
            if limit.is_some_and(|l| self.service_end > l) {
                e.push(Invalid::new(
                    "service_end",
                    format!(
                        "the service period must not exceed {} years for {m} ({})",
                        pack.service_period.max_years, pack.service_period.citation
                    ),
                ));
            }
        }
        if self.service_start < self.bid_close_at.date_naive() {
            e.push(Invalid::new(
                "service_start",
                "must not be before bid_close_at",
            ));
        }
        // Eligibility.
        let el = &self.eligibility;
        if el.min_registered_years.is_some_and(|y| y > 100) {
            e.push(Invalid::new(
                "eligibility.min_registered_years",
                "must be at most 100",
            ));
        }
        if el.min_social_workers.is_some_and(|n| n > 10_000) {
            e.push(Invalid::new(
                "eligibility.min_social_workers",
                "must be at most 10000",
            ));
        }
        if el.max_terminated_contracts.is_some_and(|n| n > 1000) {
            e.push(Invalid::new(
                "eligibility.max_terminated_contracts",
                "must be at most 1000",
            ));
        }
        if let Some(y) = el.terminated_within_years {
            if !(1..=20).contains(&y) {
                e.push(Invalid::new(
                    "eligibility.terminated_within_years",
                    "must be 1 to 20",
                ));
            } else if el.max_terminated_contracts.is_none() {
                e.push(Invalid::new(
                    "eligibility.terminated_within_years",
                    "is the window of max_terminated_contracts; set that too, or leave this out",
                ));
            }
        }
        if let Some(types) = &el.org_types {
            if types.is_empty() {
                e.push(Invalid::new(
                    "eligibility.org_types",
                    "must name at least one type, or be left out",
                ));
            }
        }
        if el.min_rating.is_some() && pack.rating_threshold.policy == Policy::Warn {
            warnings.push(format!(
                "a minimum rating on a {m} project may discriminate between suppliers (差别待遇) ({})",
                pack.rating_threshold.citation
            ));
        }
        // Evaluation: price points within the pack's bounds; criteria and price sum to 100.
        let ev = &self.evaluation;
        let pp = &pack.price_points;
        if ev.price_points < pp.min || ev.price_points > pp.max {
            e.push(Invalid::new(
                "evaluation.price_points",
                format!(
                    "price_points must be between {} and {} for {m} ({})",
                    pp.min, pp.max, pp.citation
                ),
            ));
        }
        if ev.criteria.is_empty() || ev.criteria.len() > 30 {
            e.push(Invalid::new(
                "evaluation.criteria",
                "must list 1 to 30 criteria",
            ));
        }
        let mut keys = std::collections::BTreeSet::new();
        for (i, c) in ev.criteria.iter().enumerate() {
            if !is_key(&c.key) {
                e.push(Invalid::new(
                    format!("evaluation.criteria[{i}].key"),
                    "must be snake_case, 1 to 40 characters",
                ));
            } else if !keys.insert(c.key.as_str()) {
                e.push(Invalid::new(
                    format!("evaluation.criteria[{i}].key"),
                    "is used twice",
                ));
            }
            text(
                &mut e,
                &format!("evaluation.criteria[{i}].name"),
                &c.name,
                1,
                100,
            );
            if c.max_points == 0 || c.max_points > 100 {
                e.push(Invalid::new(
                    format!("evaluation.criteria[{i}].max_points"),
                    "must be 1 to 100",
                ));
            }
            match (c.basis, c.no_record_points) {
                (Basis::TrackRecord, None) => e.push(Invalid::new(
                    format!("evaluation.criteria[{i}].no_record_points"),
                    "a track_record criterion needs the points of an organization without a finalized review",
                )),
                (Basis::TrackRecord, Some(n)) if n > c.max_points => e.push(Invalid::new(
                    format!("evaluation.criteria[{i}].no_record_points"),
                    "must not exceed max_points",
                )),
                (Basis::Panel, Some(_)) => e.push(Invalid::new(
                    format!("evaluation.criteria[{i}].no_record_points"),
                    "applies to a track_record criterion only",
                )),
                _ => {}
            }
        }
        if !ev.criteria.is_empty() && ev.panel_criteria().next().is_none() {
            e.push(Invalid::new(
                "evaluation.criteria",
                "at least one criterion must be scored by the panel",
            ));
        }
        let total: u64 =
            ev.criteria.iter().map(|c| c.max_points as u64).sum::<u64>() + ev.price_points as u64;
        if total != 100 {
            e.push(Invalid::new(
                "evaluation.criteria",
                format!("criteria max_points plus price_points must sum to exactly 100 (they sum to {total})"),
            ));
        }
        // Payment plan.
        if self.payment_plan.is_empty() || self.payment_plan.len() > 10 {
            e.push(Invalid::new("payment_plan", "must have 1 to 10 tranches"));
        }
        for (i, step) in self.payment_plan.iter().enumerate() {
            if step.percent == 0 || step.percent > 100 {
                e.push(Invalid::new(
                    format!("payment_plan[{i}].percent"),
                    "must be 1 to 100",
                ));
            }
            match (step.condition, step.date) {
                (Condition::OnDate, None) => e.push(Invalid::new(
                    format!("payment_plan[{i}].date"),
                    "is required for on_date",
                )),
                (Condition::OnDate, Some(d)) if d < self.service_start || d > self.service_end => e
                    .push(Invalid::new(
                        format!("payment_plan[{i}].date"),
                        "must lie in the service period",
                    )),
                (c, Some(_)) if c != Condition::OnDate => e.push(Invalid::new(
                    format!("payment_plan[{i}].date"),
                    "is only for on_date",
                )),
                _ => {}
            }
        }
        let percent: u64 = self.payment_plan.iter().map(|s| s.percent as u64).sum();
        if percent != 100 {
            e.push(Invalid::new(
                "payment_plan",
                format!("percents must sum to exactly 100 (they sum to {percent})"),
            ));
        }
        // Review plan.
        if let Some(rp) = &self.review_plan {
            for (field, date) in [
                ("review_plan.midterm_on", rp.midterm_on),
                ("review_plan.completion_on", rp.completion_on),
            ] {
                if date.is_some_and(|d| d < self.service_start || d > self.service_end) {
                    e.push(Invalid::new(field, "must lie in the service period"));
                }
            }
            if let (Some(a), Some(b)) = (rp.midterm_on, rp.completion_on) {
                if a >= b {
                    e.push(Invalid::new(
                        "review_plan.midterm_on",
                        "must be before completion_on",
                    ));
                }
            }
        }
        // Minimum qualified bids.
        let mb = &pack.min_qualified_bids;
        if let Some(n) = self.min_qualified_bids {
            if n < mb.floor || n > 99 {
                e.push(Invalid::new(
                    "min_qualified_bids",
                    format!(
                        "min_qualified_bids must be between {} and 99 for {m} ({})",
                        mb.floor, mb.citation
                    ),
                ));
            }
        }
        if e.is_empty() {
            Ok(warnings)
        } else {
            Err(e)
        }
    }

    /// The minimum number of qualified bids in force.
    pub fn min_bids(&self, pack: &RulePack) -> u32 {
        self.min_qualified_bids
            .unwrap_or(pack.min_qualified_bids.default)
    }

    /// The review dates: as planned, or the middle and end of the service period.
    pub fn review_dates(&self) -> (NaiveDate, NaiveDate) {
        let plan = self.review_plan.clone().unwrap_or_default();
        let half = (self.service_end - self.service_start) / 2;
        (
            plan.midterm_on.unwrap_or(self.service_start + half),
            plan.completion_on.unwrap_or(self.service_end),
        )
    }

    /// The publication rule: the bidding period must be long enough for the method.
    pub fn check_bidding_period(
        &self,
        pack: &RulePack,
        published_at: DateTime<Utc>,
    ) -> Result<(), Invalid> {
        let days = pack.bidding_period.min_days as i64;
        if self.bid_close_at < published_at + chrono::Duration::days(days) {
            return Err(Invalid::new(
                "bid_close_at",
                format!(
                    "bid_close_at must be at least {days} days after publication for {} ({})",
                    pack.method.as_str(),
                    pack.bidding_period.citation
                ),
            ));
        }
        Ok(())
    }
}

/// Whole years from `from` to `to`.
pub fn whole_years(from: NaiveDate, to: NaiveDate) -> i32 {
    let mut y = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        y -= 1;
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::RulePacks;

    pub fn sample(method: Method) -> ProjectSpec {
        serde_json::from_value(serde_json::json!({
            "title": "社区居家养老服务", "summary": "", "category": "elderly", "region_id": "r",
            "need_ids": [], "target_group": "独居老人", "services": ["上门探访"],
            "objectives": [{"indicator": "探访次数", "target": "每月 2 次"}],
            "budget_ceiling": "300000.00", "fund_id": "f", "method": method.as_str(),
            "bid_close_at": "2026-12-31T09:00:00Z", "service_start": "2027-01-01", "service_end": "2027-12-31",
            "evaluation": {"price_points": 20, "criteria": [{"key": "plan", "name": "方案", "max_points": 80}]},
            "payment_plan": [{"condition": "on_signing", "percent": 30}, {"condition": "on_completion_passed", "percent": 70}]
        }))
        .unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_sound_spec_passes() {
        let packs = RulePacks::builtin();
        assert_eq!(
            sample(Method::Consultation).check(packs.get(Method::Consultation), now()),
            Ok(vec![])
        );
    }

    #[test]
    fn price_points_outside_the_pack_name_the_rule() {
        let packs = RulePacks::builtin();
        let mut s = sample(Method::Consultation);
        s.evaluation.price_points = 5;
        s.evaluation.criteria[0].max_points = 95;
        let e = s.check(packs.get(Method::Consultation), now()).unwrap_err();
        assert_eq!(e[0].field, "evaluation.price_points");
        assert!(
            e[0].message
                .contains("between 10 and 30 for consultation (财库〔2014〕214号"),
            "{}",
            e[0].message
        );
    }

    #[test]
    fn sums_must_be_exactly_one_hundred() {
        let packs = RulePacks::builtin();
        let mut s = sample(Method::VenturePhilanthropy);
        s.evaluation.criteria[0].max_points = 79;
        s.payment_plan[1].percent = 71;
        let fields: Vec<String> = s
            .check(packs.get(Method::VenturePhilanthropy), now())
            .unwrap_err()
            .into_iter()
            .map(|i| i.field)
            .collect();
        assert_eq!(fields, vec!["evaluation.criteria", "payment_plan"]);
    }

    #[test]
    fn a_rating_rule_on_a_tender_is_a_warning_not_an_error() {
        let packs = RulePacks::builtin();
        let mut s = sample(Method::Tender);
        s.eligibility.min_rating = Some(Rating::A3);
        let w = s.check(packs.get(Method::Tender), now()).unwrap();
        assert!(w[0].contains("差别待遇"));
    }

    #[test]
    fn the_service_period_is_at_most_three_years() {
        let packs = RulePacks::builtin();
        let mut s = sample(Method::Tender);
        s.service_end = "2030-01-02".parse().unwrap();
        let e = s.check(packs.get(Method::Tender), now()).unwrap_err();
        assert_eq!(e[0].field, "service_end");
    }

    #[test]
    fn bidding_period_follows_the_method() {
        let packs = RulePacks::builtin();
        let s = sample(Method::Tender); // closes 30 days after `now`
        assert!(s
            .check_bidding_period(packs.get(Method::Tender), now())
            .is_ok());
        let late: DateTime<Utc> = "2026-12-15T00:00:00Z".parse().unwrap();
        assert_eq!(
            s.check_bidding_period(packs.get(Method::Tender), late)
                .unwrap_err()
                .field,
            "bid_close_at"
        );
        assert!(s
            .check_bidding_period(packs.get(Method::Consultation), late)
            .is_ok());
    }

    #[test]
    fn ratings_order_and_years_count_whole_years() {
        assert!(Rating::A5.level() > Rating::A3.level());
        assert_eq!(
            whole_years("2020-06-01".parse().unwrap(), "2026-05-31".parse().unwrap()),
            5
        );
        assert_eq!(
            whole_years("2020-06-01".parse().unwrap(), "2026-06-01".parse().unwrap()),
            6
        );
    }
}
