//! The review score (API.md, "Reviews"): the sum over the rubric's criteria of the mean of the
//! experts' points; at completion the `outcomes` term is
//! `(1 − w) × mean(outcomes) + w × satisfaction_rate × max(outcomes)`. Exact decimals all the
//! way, rounded once at the end to two decimals, half-up.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::domain::rules::ReviewCriterion;

/// The criterion the residents' satisfaction feeds at completion.
pub const OUTCOMES: &str = "outcomes";

/// The satisfaction part of a completion score: the weight and the rate (both 0..1).
#[derive(Debug, Clone, Copy)]
pub struct Satisfaction {
    pub weight: Decimal,
    pub rate: Decimal,
}

/// Σ satisfied ÷ Σ respondents; `None` with no respondents.
pub fn rate(surveys: &[(i32, i32)]) -> Option<Decimal> {
    let respondents: i64 = surveys.iter().map(|(r, _)| *r as i64).sum();
    let satisfied: i64 = surveys.iter().map(|(_, s)| *s as i64).sum();
    (respondents > 0).then(|| Decimal::from(satisfied) / Decimal::from(respondents))
}

/// The score of `sheets` (each criterion key → points) on `rubric`; `None` with no sheet.
pub fn score(
    rubric: &[ReviewCriterion],
    sheets: &[BTreeMap<String, Decimal>],
    satisfaction: Option<Satisfaction>,
) -> Option<Decimal> {
    if sheets.is_empty() {
        return None;
    }
    let n = Decimal::from(sheets.len() as u64);
    let mut total = Decimal::ZERO;
    for c in rubric {
        let sum: Decimal = sheets
            .iter()
            .map(|s| s.get(&c.key).copied().unwrap_or_default())
            .sum();
        let mean = sum / n;
        total += match satisfaction {
            Some(s) if c.key == OUTCOMES => {
                (Decimal::ONE - s.weight) * mean + s.weight * s.rate * Decimal::from(c.max_points)
            }
            _ => mean,
        };
    }
    Some(total.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// A score as stored: hundredths.
pub fn to_cents(score: Decimal) -> i64 {
    (score * Decimal::from(100))
        .round_dp(0)
        .try_into()
        .unwrap_or(0)
}

pub fn from_cents(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::ReviewRule;
    use proptest::prelude::*;

    fn sheet(points: [&str; 4]) -> BTreeMap<String, Decimal> {
        ["implementation", "inputs", "finance", "outcomes"]
            .iter()
            .zip(points)
            .map(|(k, p)| (k.to_string(), p.parse().unwrap()))
            .collect()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_midterm_score_is_the_sum_of_the_means_rounded_once() {
        let rubric = ReviewRule::default().rubric;
        let sheets = [
            sheet(["30", "18", "15", "20"]),
            sheet(["28", "16", "17", "22"]),
            sheet(["33", "19", "18", "21"]),
        ];
        // Means 91/3, 53/3, 50/3, 63/3: 257/3 = 85.666… → 85.67.
        assert_eq!(score(&rubric, &sheets, None), Some(d("85.67")));
        // Rounded once: each mean rounded first would give 30.33 + 17.67 + 16.67 + 21 = 85.67
        // here, but 1/3 + 1/3 + 1/3 shows the difference.
        let thirds = [
            sheet(["1", "1", "1", "0"]),
            sheet(["0", "0", "0", "0"]),
            sheet(["0", "0", "0", "0"]),
        ];
        assert_eq!(score(&rubric, &thirds, None), Some(d("1.00")));
        assert_eq!(score(&rubric, &[], None), None);
    }

    #[test]
    fn at_completion_satisfaction_weighs_into_outcomes() {
        let rubric = ReviewRule::default().rubric;
        let sheets = [
            sheet(["30", "15", "15", "20"]),
            sheet(["30", "15", "15", "21"]),
        ];
        // outcomes = 0.6 × 20.5 + 0.4 × (45/50) × 25 = 12.3 + 9 = 21.3; total 30 + 15 + 15 + 21.3.
        let s = Satisfaction {
            weight: d("0.4"),
            rate: rate(&[(30, 27), (20, 18)]).unwrap(),
        };
        assert_eq!(score(&rubric, &sheets, Some(s)), Some(d("81.30")));
        assert_eq!(rate(&[]), None);
        assert_eq!(rate(&[(3, 1)]).unwrap().round_dp(4), d("0.3333"));
    }

    #[test]
    fn a_half_hundredth_rounds_up() {
        let rubric = ReviewRule::default().rubric;
        // Means 30.125 (two sheets 30.25 and 30): 30.125 + 0 + 0 + 0 → 30.13.
        let sheets = [
            sheet(["30.25", "0", "0", "0"]),
            sheet(["30", "0", "0", "0"]),
        ];
        assert_eq!(score(&rubric, &sheets, None), Some(d("30.13")));
        assert_eq!(to_cents(d("30.13")), 3013);
        assert_eq!(from_cents(3013), d("30.13"));
    }

    fn points() -> impl Strategy<Value = [u32; 4]> {
        // Hundredths within each criterion's maximum.
        (0..=3500u32, 0..=2000u32, 0..=2000u32, 0..=2500u32).prop_map(|(a, b, c, d)| [a, b, c, d])
    }

    fn as_sheet(p: [u32; 4]) -> BTreeMap<String, Decimal> {
        ["implementation", "inputs", "finance", "outcomes"]
            .iter()
            .zip(p)
            .map(|(k, v)| (k.to_string(), Decimal::new(v as i64, 2)))
            .collect()
    }

    proptest! {
        #[test]
        fn the_score_stays_in_0_to_100_and_a_better_sheet_never_lowers_it(
            sheets in proptest::collection::vec(points(), 1..6),
            which in 0usize..6,
            criterion in 0usize..4,
            more in 0u32..3500,
            satisfied in 0i32..=100,
            weight in 0u32..=100,
            completion in any::<bool>(),
        ) {
            let rubric = ReviewRule::default().rubric;
            let sat = completion.then(|| Satisfaction {
                weight: Decimal::new(weight as i64, 2),
                rate: rate(&[(100, satisfied)]).unwrap(),
            });
            let base: Vec<_> = sheets.iter().copied().map(as_sheet).collect();
            let s = score(&rubric, &base, sat).unwrap();
            prop_assert!(s >= Decimal::ZERO && s <= Decimal::from(100), "{s}");
            let mut better = sheets.clone();
            let i = which % better.len();
            let max = [3500, 2000, 2000, 2500][criterion];
            better[i][criterion] = (better[i][criterion] + more).min(max);
            let b: Vec<_> = better.into_iter().map(as_sheet).collect();
            prop_assert!(score(&rubric, &b, sat).unwrap() >= s);
        }
    }
}
