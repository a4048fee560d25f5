//! Ranking (综合评分法): technical = mean over experts of the sum of their criterion points,
//! plus the points of the criteria the organization's track record gives;
//! price score = lowest qualified price ÷ this price × price points (评标基准价 = the lowest
//! qualified price); total = technical + price score. Ranked by total, then lower price, then
//! higher technical score; exact `Decimal` values rank, two places only for display.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};

/// Stored points (criterion key → decimal string, JSON in `column`) read back; points that do
/// not read back are an internal error.
pub fn decode_points(
    column: &str,
    text: &str,
) -> Result<BTreeMap<String, Decimal>, crate::error::AppError> {
    crate::error::decode_json::<BTreeMap<String, String>>(column, text)?
        .into_iter()
        .map(|(k, v)| match v.parse() {
            Ok(d) => Ok((k, d)),
            Err(e) => Err(crate::error::corrupt(column, e)),
        })
        .collect()
}

/// Points as stored: criterion key → decimal string, as JSON.
pub fn encode_points(points: &BTreeMap<String, Decimal>) -> String {
    let text: BTreeMap<&String, String> = points.iter().map(|(k, v)| (k, v.to_string())).collect();
    serde_json::to_string(&text).expect("a map of strings serializes")
}

/// A sheet's points as JSON numbers, as experts send them (`40`, `42.5`): points have at most
/// two decimals and at most 100, so a number carries them exactly.
pub fn points_as_numbers(
    points: &BTreeMap<String, Decimal>,
) -> BTreeMap<String, serde_json::Number> {
    use rust_decimal::prelude::ToPrimitive;
    points
        .iter()
        .map(|(k, d)| {
            let n = if d.fract().is_zero() {
                d.to_i64().map(serde_json::Number::from)
            } else {
                d.to_f64().and_then(serde_json::Number::from_f64)
            };
            (k.clone(), n.unwrap_or_else(|| serde_json::Number::from(0)))
        })
        .collect()
}

/// Points as a client sends them (criterion key → JSON number), as decimals; a key whose
/// value is no decimal is named.
pub fn parse_points(
    sent: &BTreeMap<String, serde_json::Number>,
) -> Result<BTreeMap<String, Decimal>, crate::error::AppError> {
    sent.iter()
        .map(|(k, v)| match v.to_string().parse::<Decimal>() {
            Ok(d) => Ok((k.clone(), d.normalize())),
            Err(_) => Err(crate::error::AppError::field(
                format!("points.{k}"),
                "must be a number with at most two decimals",
            )),
        })
        .collect()
}

/// The criteria of `criteria` that `points` leaves unscored, in order.
pub fn unscored<'a>(
    criteria: impl Iterator<Item = (&'a str, u32)>,
    points: &BTreeMap<String, Decimal>,
) -> Vec<String> {
    criteria
        .filter(|(k, _)| !points.contains_key(*k))
        .map(|(k, _)| k.to_owned())
        .collect()
}

/// What is wrong with a sheet's `points` against `criteria` (key, maximum): each criterion
/// required (unless `draft`: a draft may leave some out), 0..max with at most two decimals,
/// no other key. `of` names the other keys' home in the message ("this project", "the
/// rubric").
pub fn check_points<'a>(
    criteria: impl Iterator<Item = (&'a str, u32)> + Clone,
    points: &BTreeMap<String, Decimal>,
    of: &str,
    draft: bool,
) -> Vec<crate::error::FieldError> {
    use crate::error::FieldError;
    let mut errors = Vec::new();
    for (key, max) in criteria.clone() {
        match points.get(key) {
            None if draft => {}
            None => errors.push(FieldError::new(format!("points.{key}"), "is required")),
            Some(v) if *v < Decimal::ZERO || *v > Decimal::from(max) || v.scale() > 2 => errors
                .push(FieldError::new(
                    format!("points.{key}"),
                    format!("must be 0 to {max} with at most two decimals"),
                )),
            _ => {}
        }
    }
    for k in points.keys() {
        if !criteria.clone().any(|(key, _)| key == k) {
            errors.push(FieldError::new(
                format!("points.{k}"),
                format!("is not a criterion of {of}"),
            ));
        }
    }
    errors
}

/// One expert's points for one bid.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub expert_id: String,
    pub bid_id: String,
    pub points: BTreeMap<String, Decimal>,
}

#[derive(Debug, Clone)]
pub struct Offer {
    pub bid_id: String,
    pub organization_id: String,
    pub price: Decimal,
    /// Points of the criteria the track record gives, added to the panel's mean.
    pub record_points: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub rank: usize,
    pub bid_id: String,
    pub organization_id: String,
    pub technical: Decimal,
    /// The part of `technical` the track record gave.
    pub record_points: Decimal,
    pub price_score: Decimal,
    pub total: Decimal,
    pub price: Decimal,
    /// Priced below the rule pack's share of the mean qualified price: for the bureau's
    /// attention, with no automatic effect.
    pub abnormally_low: bool,
}

/// Half-up to two places, for display.
pub fn display(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

pub fn rank(
    offers: &[Offer],
    sheets: &[Sheet],
    price_points: Decimal,
    low_share: Decimal,
) -> Vec<Ranked> {
    let lowest = offers
        .iter()
        .map(|o| o.price)
        .filter(|p| *p > Decimal::ZERO)
        .min();
    let mean = if offers.is_empty() {
        Decimal::ZERO
    } else {
        offers.iter().map(|o| o.price).sum::<Decimal>() / Decimal::from(offers.len())
    };
    let mut rows: Vec<Ranked> = offers
        .iter()
        .map(|o| {
            let sums: Vec<Decimal> = sheets
                .iter()
                .filter(|s| s.bid_id == o.bid_id)
                .map(|s| s.points.values().copied().sum::<Decimal>())
                .collect();
            let technical = if sums.is_empty() {
                Decimal::ZERO
            } else {
                sums.iter().copied().sum::<Decimal>() / Decimal::from(sums.len())
            } + o.record_points;
            let price_score = match lowest {
                Some(l) if o.price > Decimal::ZERO => l / o.price * price_points,
                _ => Decimal::ZERO,
            };
            Ranked {
                rank: 0,
                bid_id: o.bid_id.clone(),
                organization_id: o.organization_id.clone(),
                technical,
                record_points: o.record_points,
                price_score,
                total: technical + price_score,
                price: o.price,
                abnormally_low: offers.len() > 1 && o.price < mean * low_share,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then(a.price.cmp(&b.price))
            .then(b.technical.cmp(&a.technical))
            .then(a.bid_id.cmp(&b.bid_id))
    });
    let mut prev: Option<(Decimal, Decimal, Decimal, usize)> = None;
    for (i, r) in rows.iter_mut().enumerate() {
        let key = (r.total, r.price, r.technical);
        r.rank = match prev {
            Some((t, p, te, rank)) if (t, p, te) == key => rank,
            _ => i + 1,
        };
        prev = Some((key.0, key.1, key.2, r.rank));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn sheet(e: &str, b: &str, pts: &[(&str, &str)]) -> Sheet {
        Sheet {
            expert_id: e.into(),
            bid_id: b.into(),
            points: pts.iter().map(|(k, v)| (k.to_string(), d(v))).collect(),
        }
    }

    fn offer(b: &str, price: &str) -> Offer {
        Offer {
            bid_id: b.into(),
            organization_id: format!("org-{b}"),
            price: d(price),
            record_points: Decimal::ZERO,
        }
    }

    #[test]
    fn hand_computed_vector() {
        // Price points 20. Bid A 100000, bid B 80000 (the lowest).
        // A: experts 60+20=80 and 70+15=85 → technical 82.5; price score 80000/100000×20 = 16 → 98.5
        // B: 55+20=75 and 65+10=75 → 75; price score 20 → 95
        let offers = [offer("a", "100000.00"), offer("b", "80000.00")];
        let sheets = [
            sheet("e1", "a", &[("plan", "60"), ("team", "20")]),
            sheet("e2", "a", &[("plan", "70"), ("team", "15")]),
            sheet("e1", "b", &[("plan", "55"), ("team", "20")]),
            sheet("e2", "b", &[("plan", "65"), ("team", "10")]),
        ];
        let r = rank(&offers, &sheets, d("20"), d("0.7"));
        assert_eq!(
            (r[0].bid_id.as_str(), r[0].total, r[0].rank),
            ("a", d("98.5"), 1)
        );
        assert_eq!(
            (r[1].bid_id.as_str(), r[1].total, r[1].price_score),
            ("b", d("95"), d("20"))
        );
    }

    #[test]
    fn exact_values_rank_and_display_rounds_half_up() {
        // Thirds: 100/3 technical is not rounded before ranking.
        let offers = [offer("a", "90000.00"), offer("b", "70000.00")];
        let sheets = [
            sheet("e1", "a", &[("plan", "33.33")]),
            sheet("e2", "a", &[("plan", "33.34")]),
            sheet("e3", "a", &[("plan", "33.34")]),
        ];
        let r = rank(&offers, &sheets, d("30"), d("0.7"));
        let a = r.iter().find(|x| x.bid_id == "a").unwrap();
        assert_eq!(display(a.technical), d("33.34"));
        assert_eq!(display(d("1.005")), d("1.01"));
        // 70000/90000×30 = 23.333…
        assert_eq!(display(a.price_score), d("23.33"));
    }

    #[test]
    fn ties_break_on_lower_price_then_higher_technical() {
        // Same total, different price: the cheaper ranks first.
        let offers = [offer("a", "100.00"), offer("b", "50.00")];
        let sheets = [
            sheet("e", "a", &[("plan", "90")]),
            sheet("e", "b", &[("plan", "80")]),
        ];
        // a: 90 + 50/100×20 = 100; b: 80 + 20 = 100.
        let r = rank(&offers, &sheets, d("20"), d("0"));
        assert_eq!(r[0].bid_id, "b");
        assert_eq!((r[0].rank, r[1].rank), (1, 2));
        // Same total and price: the higher technical ranks first (price points 0 here).
        let offers = [offer("a", "100.00"), offer("b", "100.00")];
        let sheets = [
            sheet("e", "a", &[("plan", "70")]),
            sheet("e", "b", &[("plan", "70")]),
        ];
        let r = rank(&offers, &sheets, d("0"), d("0"));
        assert_eq!((r[0].rank, r[1].rank), (1, 1), "a full tie shares the rank");
    }

    #[test]
    fn a_price_far_below_the_mean_is_flagged() {
        let offers = [
            offer("a", "100.00"),
            offer("b", "100.00"),
            offer("c", "40.00"),
        ];
        let r = rank(&offers, &[], d("10"), d("0.7"));
        let c = r.iter().find(|x| x.bid_id == "c").unwrap();
        assert!(c.abnormally_low);
        assert!(r
            .iter()
            .filter(|x| x.bid_id != "c")
            .all(|x| !x.abnormally_low));
    }

    #[test]
    fn track_record_points_add_to_the_panels_mean_and_can_change_the_order() {
        // Price points 0. A: panel 80 + record 4.5; B: panel 82 + record 2 → A first.
        let mut a = offer("a", "100000");
        a.record_points = d("4.5");
        let mut b = offer("b", "100000");
        b.record_points = d("2");
        let sheet = |bid: &str, p: &str| Sheet {
            expert_id: "e".into(),
            bid_id: bid.into(),
            points: [("plan".to_owned(), d(p))].into_iter().collect(),
        };
        let r = rank(
            &[a, b],
            &[sheet("a", "80"), sheet("b", "82")],
            d("0"),
            d("0.5"),
        );
        assert_eq!(r[0].bid_id, "a");
        assert_eq!(r[0].technical, d("84.5"));
        assert_eq!(r[0].record_points, d("4.5"));
        assert_eq!(r[1].technical, d("84"));
    }

    #[test]
    fn points_come_back_as_the_numbers_sent() {
        let points: BTreeMap<String, Decimal> =
            [("a", "40"), ("b", "42.5"), ("c", "33.33"), ("d", "0.01")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), d(v)))
                .collect();
        let json = serde_json::to_string(&points_as_numbers(&points)).unwrap();
        assert_eq!(json, r#"{"a":40,"b":42.5,"c":33.33,"d":0.01}"#);
    }
}
