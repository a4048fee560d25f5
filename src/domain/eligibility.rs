//! Whether an organization may bid on a project: the project's eligibility rules applied to a
//! snapshot of the organization's credentials at a given date. Every failed rule gives a
//! reason naming the rule.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::spec::{whole_years, Eligibility, OrgType, Rating};

/// A rating is valid for five years from its award (社会组织评估管理办法 art 19).
pub const RATING_VALID_YEARS: u32 = 5;

/// An organization's credentials as frozen into a bid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub organization_id: String,
    pub name: String,
    pub uscc: String,
    pub org_type: OrgType,
    pub registered_on: NaiveDate,
    pub rating: Option<Rating>,
    pub rating_awarded_on: Option<NaiveDate>,
    pub social_workers: u32,
    pub district_id: String,
    /// The days (UTC+8) the organization's contracts were terminated, when the project has a
    /// `max_terminated_contracts` rule (frozen without them otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terminations: Vec<NaiveDate>,
}

/// One failed rule: the rule's field and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub rule: String,
    pub reason: String,
}

impl Credentials {
    /// The rating in force on `on`: none once five years have passed since its award.
    pub fn rating_on(&self, on: NaiveDate) -> Option<Rating> {
        let awarded = self.rating_awarded_on?;
        let expires = awarded.checked_add_months(Months::new(RATING_VALID_YEARS * 12))?;
        (on < expires).then_some(self.rating).flatten()
    }

    /// Every rule of `rules` these credentials fail on day `on` (UTC+8) for a project in
    /// `district_id`.
    pub fn check(
        &self,
        rules: &Eligibility,
        project_district: &str,
        on: NaiveDate,
    ) -> Vec<Failure> {
        let mut out = Vec::new();
        let mut fail = |rule: &str, reason: String| {
            out.push(Failure {
                rule: format!("eligibility.{rule}"),
                reason,
            })
        };
        if let Some(min) = rules.min_rating {
            match (self.rating, self.rating_on(on)) {
                (None, _) => fail("min_rating", format!("a rating of at least {} is required; the organization has none", min.as_str())),
                (Some(r), None) => fail(
                    "min_rating",
                    format!("a rating of at least {} is required; the organization's {} rating has expired (valid {RATING_VALID_YEARS} years)", min.as_str(), r.as_str()),
                ),
                (_, Some(r)) if r.level() < min.level() => {
                    fail("min_rating", format!("a rating of at least {} is required; the organization is rated {}", min.as_str(), r.as_str()))
                }
                _ => {}
            }
        }
        if let Some(years) = rules.min_registered_years {
            let has = whole_years(self.registered_on, on);
            if has < years as i32 {
                fail("min_registered_years", format!("at least {years} years since registration are required; the organization has {}", has.max(0)));
            }
        }
        if let Some(n) = rules.min_social_workers {
            if self.social_workers < n {
                fail("min_social_workers", format!("at least {n} certified social workers are required; the organization has {}", self.social_workers));
            }
        }
        if let Some(types) = &rules.org_types {
            if !types.contains(&self.org_type) {
                let allowed: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
                fail(
                    "org_types",
                    format!(
                        "the project is open to {}; the organization is a {}",
                        allowed.join(", "),
                        self.org_type.as_str()
                    ),
                );
            }
        }
        if let Some((max, years)) = rules.termination_limit() {
            let since = on
                .checked_sub_months(Months::new(years * 12))
                .unwrap_or(NaiveDate::MIN);
            let n = self
                .terminations
                .iter()
                .filter(|d| **d > since && **d <= on)
                .count();
            if n > max as usize {
                fail(
                    "max_terminated_contracts",
                    format!("at most {max} contracts terminated in the last {years} years are allowed; the organization had {n}"),
                );
            }
        }
        if rules.district_only == Some(true) && self.district_id != project_district {
            fail(
                "district_only",
                "the project is open to organizations of its own district only".into(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            organization_id: "o".into(),
            name: "n".into(),
            uscc: "53100000500019795A".into(),
            org_type: OrgType::PrivateNonEnterprise,
            registered_on: "2020-03-01".parse().unwrap(),
            rating: Some(Rating::A3),
            rating_awarded_on: Some("2022-06-01".parse().unwrap()),
            social_workers: 4,
            district_id: "d".into(),
            terminations: Vec::new(),
        }
    }

    fn on(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_qualified_organization_passes_every_rule() {
        let rules = Eligibility {
            min_rating: Some(Rating::A3),
            min_registered_years: Some(5),
            min_social_workers: Some(4),
            org_types: Some(vec![OrgType::PrivateNonEnterprise]),
            district_only: Some(true),
            max_terminated_contracts: Some(0),
            terminated_within_years: None,
        };
        assert!(creds().check(&rules, "d", on("2026-12-01")).is_empty());
    }

    #[test]
    fn each_failed_rule_gives_its_reason() {
        let rules = Eligibility {
            min_rating: Some(Rating::A4),
            min_registered_years: Some(7),
            min_social_workers: Some(5),
            org_types: Some(vec![OrgType::Foundation]),
            district_only: Some(true),
            ..Default::default()
        };
        let f = creds().check(&rules, "other", on("2026-12-01"));
        let rules: Vec<&str> = f.iter().map(|x| x.rule.as_str()).collect();
        assert_eq!(
            rules,
            vec![
                "eligibility.min_rating",
                "eligibility.min_registered_years",
                "eligibility.min_social_workers",
                "eligibility.org_types",
                "eligibility.district_only"
            ]
        );
        assert!(f[0].reason.contains("rated 3A"));
    }

    #[test]
    fn a_rating_expires_after_five_years() {
        let rules = Eligibility {
            min_rating: Some(Rating::A3),
            ..Default::default()
        };
        assert!(creds().check(&rules, "d", on("2027-05-31")).is_empty());
        let f = creds().check(&rules, "d", on("2027-06-01"));
        assert!(f[0].reason.contains("expired"), "{}", f[0].reason);
    }

    #[test]
    fn terminations_count_only_within_their_window() {
        let mut c = creds();
        c.terminations = vec![on("2023-12-01"), on("2024-06-30"), on("2026-03-02")];
        let rule = |max, years| Eligibility {
            max_terminated_contracts: Some(max),
            terminated_within_years: years,
            ..Default::default()
        };
        // Three years back from 2026-12-01 is 2023-12-01, itself outside: two inside.
        assert!(c.check(&rule(2, None), "d", on("2026-12-01")).is_empty());
        let f = c.check(&rule(1, None), "d", on("2026-12-01"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "eligibility.max_terminated_contracts");
        assert!(f[0].reason.contains("had 2"), "{}", f[0].reason);
        // A one-year window sees only the last; a termination after the day does not count.
        assert!(c.check(&rule(0, Some(1)), "d", on("2026-03-01")).is_empty());
        assert_eq!(c.check(&rule(0, Some(1)), "d", on("2026-03-02")).len(), 1);
        assert_eq!(c.check(&rule(2, Some(5)), "d", on("2026-12-01")).len(), 1);
    }
}
