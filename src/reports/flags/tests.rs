//! The red-flag rules at their thresholds, and their near misses.

use super::*;
use crate::domain::rules::RulePacks;

fn at(day: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(1_780_000_000 + day * 86_400, 0)
        .unwrap()
        .naive_utc()
}

fn round(id: &str, street: &str) -> Round {
    Round {
        project_id: id.into(),
        round: 1,
        category: "elderly".into(),
        street_id: Some(street.into()),
        ceiling_fen: 30_000_000,
        bids: vec![],
        award: None,
        panel: vec![],
        period: None,
        amendments: vec![],
    }
}

fn bid(org: &str, price: i64, disqualified: bool) -> SeenBid {
    SeenBid {
        organization_id: Some(org.into()),
        disqualified,
        price_fen: Some(price),
    }
}

fn kinds(rounds: &[Round]) -> Vec<FlagKind> {
    detect(rounds, RulePacks::builtin().red_flags())
        .into_iter()
        .map(|f| f.flag)
        .collect()
}

#[test]
fn the_thresholds_fire_at_the_line_and_not_a_fen_below() {
    let mut r = round("p", "s");
    r.bids = vec![bid("a", 100, false), bid("b", 101, false)];
    r.award = Some(Win {
        organization_id: "a".into(),
        amount_fen: 29_400_000, // 98 %
        at: at(0),
    });
    assert_eq!(kinds(&[r.clone()]), [FlagKind::PriceNearCeiling]);
    r.award.as_mut().unwrap().amount_fen = 29_399_999;
    assert!(kinds(&[r.clone()]).is_empty());
    r.bids[1].disqualified = true; // 1 of 2
    assert_eq!(kinds(&[r.clone()]), [FlagKind::HighDisqualification]);
    r.bids.push(bid("c", 102, false)); // 1 of 3
    assert!(kinds(&[r.clone()]).is_empty());
    r.bids[2].price_fen = Some(101);
    assert_eq!(kinds(&[r.clone()]), [FlagKind::IdenticalPrices]);
    r.bids.truncate(1);
    assert_eq!(kinds(&[r]), [FlagKind::SingleBidder]);
}

#[test]
fn a_period_at_the_minimum_and_an_amendment_inside_three_days_are_flagged() {
    let mut r = round("p", "s");
    r.bids = vec![bid("a", 1, false), bid("b", 2, false)];
    r.period = Some(Period {
        published_at: at(0),
        close_at: at(20),
        min_days: 20,
    });
    assert_eq!(kinds(&[r.clone()]), [FlagKind::ShortBiddingPeriod]);
    r.period.as_mut().unwrap().close_at = at(21);
    assert!(kinds(&[r.clone()]).is_empty());
    r.period.as_mut().unwrap().min_days = 0;
    r.period.as_mut().unwrap().close_at = at(0);
    assert!(kinds(&[r.clone()]).is_empty(), "no minimum, no flag");
    r.amendments = vec![(at(17), at(20))];
    assert!(
        kinds(&[r.clone()]).is_empty(),
        "3 days before is not within"
    );
    r.amendments = vec![(at(17) + Duration::seconds(1), at(20))];
    assert_eq!(kinds(&[r]), [FlagKind::LateAmendment]);
}

fn won(id: &str, street: &str, org: &str, day: i64, panel: &[&str]) -> Round {
    let mut r = round(id, street);
    r.bids = vec![bid(org, 1, false), bid("rival", 2, false)];
    r.award = Some(Win {
        organization_id: org.into(),
        amount_fen: 1,
        at: at(day),
    });
    r.panel = panel.iter().map(|e| e.to_string()).collect();
    r
}

#[test]
fn three_of_the_last_four_wins_in_a_street_flag_the_winner_two_do_not() {
    let rounds = [
        won("p1", "s", "a", 1, &[]),
        won("p2", "s", "a", 2, &[]),
        won("p3", "s", "b", 3, &[]),
        won("p4", "s", "a", 4, &[]),
    ];
    let flags = detect(&rounds, RulePacks::builtin().red_flags());
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(
        (
            flags[0].flag,
            flags[0].project_id.as_str(),
            flags[0].organization_id.as_deref()
        ),
        (FlagKind::RepeatWinner, "p4", Some("a"))
    );
    // A fifth, newer round pushes p1 out of the window: 2 of the last 4.
    let mut more = rounds.to_vec();
    more.push(won("p5", "s", "c", 5, &[]));
    assert!(kinds(&more).is_empty());
    // Other streets do not count together.
    let spread = [
        won("p1", "s", "a", 1, &[]),
        won("p2", "t", "a", 2, &[]),
        won("p3", "s", "a", 3, &[]),
    ];
    assert!(kinds(&spread).is_empty());
}

#[test]
fn one_expert_on_three_of_an_organizations_wins_is_flagged_two_are_not() {
    let rounds = [
        won("p1", "s1", "a", 1, &["e", "f"]),
        won("p2", "s2", "a", 2, &["e"]),
        won("p3", "s3", "a", 3, &["e", "f"]),
    ];
    let flags = detect(&rounds, RulePacks::builtin().red_flags());
    assert_eq!(flags.len(), 1, "{flags:?}");
    assert_eq!(
        (
            flags[0].flag,
            flags[0].project_id.as_str(),
            flags[0].key.as_str()
        ),
        (FlagKind::PanelOverlap, "p3", "e")
    );
    assert!(kinds(&rounds[..2]).is_empty());
}
