//! Releases under contention: many bureau requests at once for one tranche pay it exactly once
//! — with different Idempotency-Keys one wins and the rest are refused, with one key every
//! request gets the one answer — and the fund's ledger and reconciliation agree afterwards.
//! Tranches come from `contracts::bulk`, so hundreds of rounds stay quick.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use futures_util::future::join_all;
use gongyi::contracts::bulk::{self, Base, Plan};
use gongyi::domain::Money;
use serde_json::{json, Value};

use crate::contracts::reconciled;
use crate::helpers::{into_reply, spawn_app, District, Reply, TestApp};

/// Each seeded contract's amount (one tranche: all of it).
const AMOUNT: &str = "100.00";

/// A district with one published project, a verified organization's bid on it, and `n` active
/// contracts of one releasable tranche each; the tranche ids.
pub async fn seeded(app: &TestApp, n: usize) -> (District, Vec<String>) {
    let d = app.district().await;
    let project = app.open_project(&d, |_| {}).await;
    let pid = project["id"].as_str().unwrap().to_owned();
    let (org, org_token) = app.verified_org(&d).await;
    let bid = app
        .bid(&pid, &org_token, "200000.00")
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let state = app.state.clone();
    let ids = tokio::task::spawn_blocking(move || {
        let mut conn = state.db.write_conn().unwrap();
        let base = Base {
            project_id: pid,
            bid_id: bid,
            organization_id: org,
        };
        let plan = Plan {
            contracts: n,
            tranches: 1,
            amount: Money::parse(AMOUNT).unwrap(),
        };
        let now = state.clock.now_naive();
        bulk::seed_active(
            &mut gongyi::db::Tx::new(&mut conn),
            &state.rules,
            &base,
            &plan,
            now,
        )
        .expect("seed contracts")
    })
    .await
    .unwrap();
    assert_eq!(ids.len(), n);
    (d, ids)
}

/// `keys.len()` releases of `tranche` sent at once, the i-th with `keys[i]` and `refs[i]`.
async fn release_at_once(
    app: &TestApp,
    bureau: &str,
    tranche: &str,
    sends: &[(String, String)],
) -> Vec<Reply> {
    let url = app.url(&format!("/api/v1/tranches/{tranche}/release"));
    let requests = sends.iter().map(|(key, reference)| {
        app.client
            .post(&url)
            .bearer_auth(bureau)
            .header("Idempotency-Key", key)
            .json(&json!({"payment_reference": reference}))
            .send()
    });
    // join_all polls every request before any answer is read: all of them are in flight at once.
    let mut out = Vec::new();
    for r in join_all(requests).await {
        out.push(into_reply(r.expect("request")).await);
    }
    out
}

/// The fund's `release` rows: tranche id → how many, and their sum in fen.
async fn release_rows(app: &TestApp, fund: &str) -> (BTreeMap<String, usize>, i64) {
    use gongyi::db::schema::fund_ledger as l;
    let (state, fund) = (app.state.clone(), fund.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut c = state.db.write_conn().unwrap();
        let rows: Vec<(Option<String>, i64)> = l::table
            .filter(l::fund_id.eq(fund))
            .filter(l::kind.eq("release"))
            .select((l::tranche_id, l::amount_fen))
            .load(&mut **c)
            .unwrap();
        let mut per = BTreeMap::new();
        for (t, _) in &rows {
            *per.entry(t.clone().expect("a release row names its tranche"))
                .or_default() += 1;
        }
        (per, rows.iter().map(|(_, a)| a).sum())
    })
    .await
    .unwrap()
}

async fn fund_released(app: &TestApp, d: &District) -> String {
    let f = app
        .get(&format!("/api/v1/funds/{}", d.fund), Some(&d.bureau))
        .await
        .expect(200)
        .body;
    f["released"].as_str().unwrap().to_owned()
}

fn fen(yuan: &str) -> i64 {
    Money::parse(yuan).unwrap().fen()
}

#[tokio::test]
async fn twenty_releases_of_one_tranche_with_twenty_keys_pay_it_once_in_each_of_500_rounds() {
    let app = spawn_app().await;
    let (d, tranches) = seeded(&app, 500).await;
    for (round, t) in tranches.iter().enumerate() {
        let sends: Vec<(String, String)> = (0..20)
            .map(|i| (format!("r{round}-k{i}"), format!("PAY-{round}-{i}")))
            .collect();
        let replies = release_at_once(&app, &d.bureau, t, &sends).await;
        let mut winners = Vec::new();
        for (i, r) in replies.into_iter().enumerate() {
            match r.status.as_u16() {
                200 => winners.push((i, r.body)),
                409 => assert_eq!(r.code(), "invalid_state", "round {round}: {}", r.body),
                other => panic!("round {round}: unexpected {other}: {}", r.body),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one release is paid: {winners:?}"
        );
        let (i, body) = &winners[0];
        assert_eq!(body["status"], "released", "round {round}");
        assert_eq!(
            body["payment_reference"],
            sends[*i].1.as_str(),
            "round {round}: the winner's reference"
        );
    }
    let (per, sum) = release_rows(&app, &d.fund).await;
    assert_eq!(
        per.keys().cloned().collect::<BTreeSet<_>>(),
        tranches.iter().cloned().collect()
    );
    assert!(per.values().all(|n| *n == 1), "one release row per tranche");
    assert_eq!(sum, 500 * fen(AMOUNT));
    assert_eq!(fen(&fund_released(&app, &d).await), sum);
    let r = reconciled(&app, &d).await;
    assert_eq!(
        (r["contracts"].as_u64(), r["tranches"].as_u64()),
        (Some(500), Some(500))
    );
}

#[tokio::test]
async fn one_key_sent_twenty_times_at_once_releases_once_and_answers_twenty_times_alike() {
    let app = spawn_app().await;
    let (d, tranches) = seeded(&app, 50).await;
    for (round, t) in tranches.iter().enumerate() {
        let sends = vec![(format!("same-{round}"), format!("PAY-{round}")); 20];
        let replies = release_at_once(&app, &d.bureau, t, &sends).await;
        for r in &replies {
            assert_eq!(r.status.as_u16(), 200, "round {round}: {}", r.body);
        }
        let bodies: BTreeSet<String> = replies.iter().map(|r| r.body.to_string()).collect();
        assert_eq!(
            bodies.len(),
            1,
            "round {round}: twenty identical bodies: {bodies:?}"
        );
        let first: Value = replies[0].body.clone();
        assert_eq!(
            (
                first["status"].as_str(),
                first["payment_reference"].as_str()
            ),
            (Some("released"), Some(&*sends[0].1))
        );
        let replayed = replies
            .iter()
            .filter(|r| r.header("Idempotent-Replayed") == Some("true"))
            .count();
        assert_eq!(
            replayed, 19,
            "round {round}: the first answer is fresh, every other one a replay"
        );
    }
    let (per, sum) = release_rows(&app, &d.fund).await;
    assert_eq!(per.len(), 50);
    assert!(per.values().all(|n| *n == 1), "one release row per tranche");
    assert_eq!(fen(&fund_released(&app, &d).await), sum);
    assert_eq!(sum, 50 * fen(AMOUNT));
    reconciled(&app, &d).await;
}

/// A release is not looked up before it runs (`idempotency::once_guarded`): a key reused for
/// another tranche that is still releasable must still be refused, and pay nothing.
#[tokio::test]
async fn a_key_reused_for_another_releasable_tranche_is_refused_and_pays_nothing_in_each_of_100_rounds(
) {
    let app = spawn_app().await;
    let (d, tranches) = seeded(&app, 202).await;
    let url = |t: &str| app.url(&format!("/api/v1/tranches/{t}/release"));
    let send = |t: String, key: String, reference: String| {
        let req = app
            .client
            .post(url(&t))
            .bearer_auth(&d.bureau)
            .header("Idempotency-Key", key)
            .json(&json!({"payment_reference": reference}));
        async move { into_reply(req.send().await.expect("request")).await }
    };
    // One after the other: the key's first tranche is paid, the second refused and left unpaid.
    send(tranches[0].clone(), "k-seq".into(), "PAY-A".into())
        .await
        .expect(200);
    send(tranches[1].clone(), "k-seq".into(), "PAY-B".into())
        .await
        .problem(422, "idempotency_key_reused");
    let (per, _) = release_rows(&app, &d.fund).await;
    assert_eq!(per.keys().collect::<Vec<_>>(), vec![&tranches[0]]);
    // The refused tranche is still releasable: a new key pays it.
    send(tranches[1].clone(), "k-new".into(), "PAY-B".into())
        .await
        .expect(200);
    // At once: one key for two releasable tranches — one is paid, the other refused 422.
    let mut paid = 2;
    for (round, pair) in tranches[2..].chunks(2).enumerate() {
        let key = format!("k-{round}");
        let (a, b) = tokio::join!(
            send(pair[0].clone(), key.clone(), format!("PAY-{round}-A")),
            send(pair[1].clone(), key, format!("PAY-{round}-B")),
        );
        let codes = [a.status.as_u16(), b.status.as_u16()];
        assert!(
            codes.contains(&200) && codes.contains(&422),
            "round {round}: one paid, one refused: {} / {}",
            a.body,
            b.body
        );
        for r in [&a, &b] {
            if r.status.as_u16() == 422 {
                assert_eq!(r.code(), "idempotency_key_reused", "round {round}");
            }
        }
        paid += 1;
    }
    let (per, sum) = release_rows(&app, &d.fund).await;
    assert_eq!(per.len(), paid, "one tranche of each pair paid");
    assert!(per.values().all(|n| *n == 1), "one release row per tranche");
    assert_eq!(sum, paid as i64 * fen(AMOUNT));
    assert_eq!(fen(&fund_released(&app, &d).await), sum);
    reconciled(&app, &d).await;
}
