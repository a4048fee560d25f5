//! The red flags of closed rounds, as pure rules over what the opening made public: the
//! opened bids (organization, status, price), the award, the accepted panel, the bidding
//! period and the amendments. Thresholds come from [`RedFlagRules`]; each flag carries the
//! citation (or the "unverified default" note) of the threshold it applied.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::rules::RedFlagRules;
use crate::domain::Money;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FlagKind {
    SingleBidder,
    PriceNearCeiling,
    RepeatWinner,
    IdenticalPrices,
    HighDisqualification,
    ShortBiddingPeriod,
    LateAmendment,
    PanelOverlap,
}

impl FlagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagKind::SingleBidder => "single_bidder",
            FlagKind::PriceNearCeiling => "price_near_ceiling",
            FlagKind::RepeatWinner => "repeat_winner",
            FlagKind::IdenticalPrices => "identical_prices",
            FlagKind::HighDisqualification => "high_disqualification",
            FlagKind::ShortBiddingPeriod => "short_bidding_period",
            FlagKind::LateAmendment => "late_amendment",
            FlagKind::PanelOverlap => "panel_overlap",
        }
    }
}

/// An opened bid.
#[derive(Debug, Clone)]
pub struct SeenBid {
    pub organization_id: Option<String>,
    pub disqualified: bool,
    pub price_fen: Option<i64>,
}

/// The award that stands in a round.
#[derive(Debug, Clone)]
pub struct Win {
    pub organization_id: String,
    pub amount_fen: i64,
    pub at: NaiveDateTime,
}

/// The bidding period of a round and the pack's minimum.
#[derive(Debug, Clone)]
pub struct Period {
    pub published_at: NaiveDateTime,
    pub close_at: NaiveDateTime,
    pub min_days: u32,
}

/// One closed round: its bids are opened.
#[derive(Debug, Clone)]
pub struct Round {
    pub project_id: String,
    pub round: i32,
    pub category: String,
    /// The street the project serves; `None` for a district-wide project.
    pub street_id: Option<String>,
    pub ceiling_fen: i64,
    pub bids: Vec<SeenBid>,
    pub award: Option<Win>,
    /// Experts with an accepted seat on the round's panel.
    pub panel: Vec<String>,
    /// Known for the project's current round only.
    pub period: Option<Period>,
    /// (made at, the close in force then), attributed to the project's current round.
    pub amendments: Vec<(NaiveDateTime, NaiveDateTime)>,
}

/// One flag raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub flag: FlagKind,
    pub project_id: String,
    pub round: i32,
    pub organization_id: Option<String>,
    pub detail: String,
    pub citation: String,
    /// Tells apart two flags of one kind on one round (the expert, the price…), for the order.
    pub key: String,
}

impl Flag {
    /// The order of the listing (and its cursor).
    pub fn sort_key(&self) -> (String, i32, String, String) {
        (
            self.project_id.clone(),
            self.round,
            self.flag.as_str().to_owned(),
            self.key.clone(),
        )
    }
}

fn flag(
    kind: FlagKind,
    r: &Round,
    org: Option<&str>,
    key: String,
    detail: String,
    citation: &str,
) -> Flag {
    Flag {
        flag: kind,
        project_id: r.project_id.clone(),
        round: r.round,
        organization_id: org.map(str::to_owned),
        detail,
        citation: citation.to_owned(),
        key,
    }
}

/// Every flag the rounds raise, in listing order.
pub fn detect(rounds: &[Round], rules: &RedFlagRules) -> Vec<Flag> {
    let mut out = Vec::new();
    for r in rounds {
        per_round(r, rules, &mut out);
    }
    repeat_winners(rounds, rules, &mut out);
    panel_overlaps(rounds, rules, &mut out);
    out.sort_by_key(Flag::sort_key);
    out
}

fn per_round(r: &Round, rules: &RedFlagRules, out: &mut Vec<Flag>) {
    let n = r.bids.len();
    let rule = &rules.single_bidder;
    if n >= 1 && n <= rule.max_bids as usize {
        let org = r.bids[0].organization_id.as_deref();
        out.push(flag(
            FlagKind::SingleBidder,
            r,
            if n == 1 { org } else { None },
            String::new(),
            format!("{n} opened bid(s) in the round"),
            &rule.citation,
        ));
    }
    if let Some(w) = &r.award {
        let rule = &rules.price_near_ceiling;
        let share = Decimal::from(w.amount_fen) / Decimal::from(r.ceiling_fen.max(1));
        if Decimal::from(w.amount_fen) >= Decimal::from(r.ceiling_fen) * rule.min_share {
            out.push(flag(
                FlagKind::PriceNearCeiling,
                r,
                Some(&w.organization_id),
                String::new(),
                format!(
                    "award {} is {}% of the ceiling {} (threshold {}%)",
                    Money::from_fen(w.amount_fen),
                    (share * Decimal::from(100)).round_dp(2),
                    Money::from_fen(r.ceiling_fen),
                    (rule.min_share * Decimal::from(100)).normalize()
                ),
                &rule.citation,
            ));
        }
    }
    let mut prices: BTreeMap<i64, usize> = BTreeMap::new();
    for b in &r.bids {
        if let Some(p) = b.price_fen {
            *prices.entry(p).or_default() += 1;
        }
    }
    let rule = &rules.identical_prices;
    for (price, count) in prices {
        // One bid alone is never "identical": at least two, whatever the data says.
        if count >= rule.min_bids.max(2) as usize {
            out.push(flag(
                FlagKind::IdenticalPrices,
                r,
                None,
                format!("{price:020}"),
                format!(
                    "{count} opened bids at the same price {}",
                    Money::from_fen(price)
                ),
                &rule.citation,
            ));
        }
    }
    let disqualified = r.bids.iter().filter(|b| b.disqualified).count();
    let rule = &rules.high_disqualification;
    if n > 0 && Decimal::from(disqualified) >= Decimal::from(n) * rule.min_share {
        out.push(flag(
            FlagKind::HighDisqualification,
            r,
            None,
            String::new(),
            format!(
                "{disqualified} of {n} opened bids disqualified (threshold {}%)",
                (rule.min_share * Decimal::from(100)).normalize()
            ),
            &rule.citation,
        ));
    }
    if let Some(p) = &r.period {
        let rule = &rules.short_bidding_period;
        let limit = Duration::days(i64::from(p.min_days) + i64::from(rule.margin_days));
        let period = p.close_at - p.published_at;
        if p.min_days > 0 && period < limit {
            out.push(flag(
                FlagKind::ShortBiddingPeriod,
                r,
                None,
                String::new(),
                format!(
                    "bidding period {} h; the rule pack's minimum is {} days",
                    period.num_hours(),
                    p.min_days
                ),
                &rule.citation,
            ));
        }
    }
    let rule = &rules.late_amendment;
    let window = Duration::days(i64::from(rule.days_before_close));
    for (at, close) in &r.amendments {
        if *close - *at < window {
            out.push(flag(
                FlagKind::LateAmendment,
                r,
                None,
                at.and_utc().to_rfc3339(),
                format!(
                    "amended at {}, {} h before the close then in force ({})",
                    at.and_utc().to_rfc3339(),
                    (*close - *at).num_hours(),
                    close.and_utc().to_rfc3339()
                ),
                &rule.citation,
            ));
        }
    }
}

/// An awarded round and its award.
type Won<'a> = (&'a Round, &'a Win);

/// Awarded rounds, most recent award first.
fn wins_newest_first(rounds: &[Round]) -> Vec<Won<'_>> {
    let mut wins: Vec<Won<'_>> = rounds
        .iter()
        .filter_map(|r| r.award.as_ref().map(|w| (r, w)))
        .collect();
    wins.sort_by(|(a, wa), (b, wb)| {
        (wb.at, &b.project_id, b.round).cmp(&(wa.at, &a.project_id, a.round))
    });
    wins
}

/// An organization that won `min_wins` of the last `window_rounds` awarded rounds of one
/// category in one street: flagged on its most recent win of that window.
fn repeat_winners(rounds: &[Round], rules: &RedFlagRules, out: &mut Vec<Flag>) {
    let rule = &rules.repeat_winner;
    let mut by_cell: BTreeMap<(&str, Option<&str>), Vec<Won<'_>>> = BTreeMap::new();
    for (r, w) in wins_newest_first(rounds) {
        by_cell
            .entry((r.category.as_str(), r.street_id.as_deref()))
            .or_default()
            .push((r, w));
    }
    for ((category, street), wins) in by_cell {
        let window = &wins[..wins.len().min(rule.window_rounds as usize)];
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, w) in window {
            *counts.entry(w.organization_id.as_str()).or_default() += 1;
        }
        for (org, count) in counts {
            if count >= rule.min_wins as usize {
                let (latest, _) = window
                    .iter()
                    .find(|(_, w)| w.organization_id == org)
                    .expect("the organization won in the window");
                out.push(flag(
                    FlagKind::RepeatWinner,
                    latest,
                    Some(org),
                    org.to_owned(),
                    format!(
                        "won {count} of the last {} awarded rounds of {category} in {}",
                        window.len(),
                        street.map_or("the district (no street)".to_owned(), |s| format!(
                            "street {s}"
                        ))
                    ),
                    &rule.citation,
                ));
            }
        }
    }
}

/// One expert on the panels of `min_wins` of one organization's wins: flagged on the most
/// recent of those wins.
fn panel_overlaps(rounds: &[Round], rules: &RedFlagRules, out: &mut Vec<Flag>) {
    let rule = &rules.panel_overlap;
    let mut seen: BTreeMap<(&str, &str), Vec<&Round>> = BTreeMap::new();
    for (r, w) in wins_newest_first(rounds) {
        for e in &r.panel {
            seen.entry((w.organization_id.as_str(), e.as_str()))
                .or_default()
                .push(r);
        }
    }
    for ((org, expert), wins) in seen {
        if wins.len() >= rule.min_wins as usize {
            out.push(flag(
                FlagKind::PanelOverlap,
                wins[0],
                Some(org),
                expert.to_owned(),
                format!(
                    "expert {expert} sat on the panels of {} of the organization's wins",
                    wins.len()
                ),
                &rule.citation,
            ));
        }
    }
}

#[cfg(test)]
mod tests;
