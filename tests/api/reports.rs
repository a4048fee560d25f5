//! Reports: spending added up from the funds' ledgers (and held against `GET /funds/{id}` to
//! the fen after an award, a contract and a released tranche), the needs funnel, and each red
//! flag fired on a constructed round and silent on its near miss. Rounds are constructed by
//! publishing a real project and then writing its opening (bids, award, panel) as the close
//! and the award would, so every flag is tested at its threshold on both backends.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::contracts::{app, contracted, reconciled};
use crate::helpers::{unique, District, TestApp};

fn fen(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not money: {v}"));
    let (y, f) = s.split_once('.').unwrap();
    y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}

async fn fund_of(app: &TestApp, d: &District, id: &str) -> Value {
    app.get(&format!("/api/v1/funds/{id}"), Some(&d.bureau))
        .await
        .expect(200)
        .body
}

fn row<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == key)
        .unwrap_or_else(|| panic!("no row {key} in {report}"))
}

#[tokio::test]
async fn spending_adds_up_to_the_funds_ledgers_after_an_award_a_contract_and_a_released_tranche() {
    let app = app().await;
    // 100000.01 on a lottery_welfare fund of 1000000.00: tranches 30000.00 / 40000.00 / 30000.01.
    let deal = contracted(&app, "100000.01", |_| {}).await;
    let active = deal.sign_both(&app).await;
    let first = active["tranches"][0]["id"].as_str().unwrap().to_owned();
    deal.release(&app, &first, "rep-1", "GK-REPORT-1")
        .await
        .expect(200);
    let d = &deal.d;
    // A second fund (fiscal) of the district holds a published project's ceiling.
    let fiscal = app
        .post(
            "/api/v1/funds",
            Some(&d.bureau),
            json!({"name": unique("财政资金"), "district_id": d.regions.district, "fiscal_year": 2026, "source": "fiscal", "total": "500000.00"}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fiscal_for_spec = fiscal.clone();
    app.open_project(d, move |s| {
        s["fund_id"] = json!(fiscal_for_spec);
        s["category"] = json!("children_youth");
        s["budget_ceiling"] = json!("50000.00");
    })
    .await;
    // Another district's fund is not counted.
    app.fund(&d.other_bureau, &d.regions.other_district, "777.00")
        .await;

    let lottery = fund_of(&app, d, &d.fund).await;
    let fiscal_f = fund_of(&app, d, &fiscal).await;
    assert_eq!(
        (
            lottery["committed"].as_str(),
            lottery["released"].as_str(),
            fiscal_f["reserved"].as_str()
        ),
        (Some("100000.01"), Some("30000.00"), Some("50000.00"))
    );
    let by_source = app
        .get(
            "/api/v1/reports/spending?fiscal_year=2026&group_by=source",
            Some(&d.bureau),
        )
        .await
        .expect(200)
        .body;
    // Each source's row is its fund's own figures.
    for (key, f) in [("lottery_welfare", &lottery), ("fiscal", &fiscal_f)] {
        let r = row(&by_source, key);
        assert_eq!(r["projects"], 1, "{r}");
        assert_eq!(fen(&r["committed"]), fen(&f["committed"]), "{key}");
        assert_eq!(fen(&r["released"]), fen(&f["released"]), "{key}");
        assert_eq!(
            fen(&r["budget"]),
            fen(&f["reserved"]) + fen(&f["committed"]),
            "{key}"
        );
        assert_eq!(fen(&r["budget"]), fen(&f["total"]) - fen(&f["available"]));
    }
    let t = &by_source["totals"];
    let both = [&lottery, &fiscal_f];
    let sum = |k: &str| both.iter().map(|f| fen(&f[k])).sum::<i64>();
    assert_eq!(
        (
            t["committed"].as_str(),
            t["released"].as_str(),
            t["budget"].as_str(),
            t["reserved"].as_str(),
            t["funds_total"].as_str(),
            t["available"].as_str()
        ),
        (
            Some("100000.01"),
            Some("30000.00"),
            Some("150000.01"),
            Some("50000.00"),
            Some("1500000.00"),
            Some("1349999.99")
        )
    );
    assert_eq!(fen(&t["committed"]), sum("committed"));
    assert_eq!(fen(&t["released"]), sum("released"));
    assert_eq!(fen(&t["reserved"]), sum("reserved"));
    assert_eq!(fen(&t["funds_total"]), sum("total"));
    assert_eq!(fen(&t["available"]), sum("available"));
    assert_eq!(
        (t["projects"].as_i64(), t["funds"].as_i64()),
        (Some(2), Some(2))
    );
    // The ledger rows themselves give the same figures.
    let ledger = app
        .get(
            &format!("/api/v1/funds/{}/ledger?limit=100", d.fund),
            Some(&d.bureau),
        )
        .await
        .expect(200)
        .body;
    let of_kind = |k: &str| {
        ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == k)
            .map(|e| fen(&e["amount"]))
            .sum::<i64>()
    };
    assert_eq!(
        of_kind("commit") - of_kind("uncommit"),
        fen(&row(&by_source, "lottery_welfare")["committed"])
    );
    assert_eq!(of_kind("release"), 3_000_000);
    reconciled(&app, d).await;

    // By category and by street: other keys, the same totals.
    let by_category = app
        .get("/api/v1/reports/spending?fiscal_year=2026", Some(&d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(row(&by_category, "elderly")["committed"], "100000.01");
    assert_eq!(row(&by_category, "children_youth")["budget"], "50000.00");
    assert_eq!(by_category["totals"], by_source["totals"]);
    let by_street = app
        .get(
            &format!(
                "/api/v1/reports/spending?group_by=street&district_id={}",
                d.regions.district
            ),
            Some(&app.admin_token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        by_street["rows"].as_array().unwrap().len(),
        1,
        "{by_street}"
    );
    let street = row(&by_street, &d.regions.street);
    assert_eq!(
        (street["projects"].as_i64(), street["budget"].as_str()),
        (Some(2), Some("150000.01"))
    );
    assert_eq!(by_street["totals"], by_source["totals"]);
    // Another fiscal year has none of it.
    let empty = app
        .get("/api/v1/reports/spending?fiscal_year=2025", Some(&d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(
        (
            empty["totals"]["budget"].as_str(),
            empty["totals"]["funds"].as_i64()
        ),
        (Some("0.00"), Some(0))
    );
}

#[tokio::test]
async fn a_report_is_its_districts_own_and_bad_parameters_name_the_field() {
    let app = app().await;
    let d = app.district().await;
    let mine = d.regions.district.clone();
    let other = d.regions.other_district.clone();
    for path in [
        "/api/v1/reports/spending",
        "/api/v1/reports/needs",
        "/api/v1/reports/red-flags",
    ] {
        // A bureau reads its own district, and no other.
        app.get(&format!("{path}?district_id={mine}"), Some(&d.bureau))
            .await
            .expect(200);
        app.get(&format!("{path}?district_id={mine}"), Some(&d.other_bureau))
            .await
            .problem(404, "not_found");
        app.get(&format!("{path}?district_id={other}"), Some(&d.bureau))
            .await
            .problem(404, "not_found");
        app.get(path, Some(&d.street))
            .await
            .problem(403, "forbidden");
        app.get(path, None).await.expect(401);
        let r = app
            .get(&format!("{path}?district_id=nope"), Some(&app.admin_token))
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), ["district_id"]);
        let r = app
            .get(&format!("{path}?colour=red"), Some(&d.bureau))
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), ["colour"]);
    }
    for (query, field) in [
        ("/api/v1/reports/spending?group_by=org", "group_by"),
        ("/api/v1/reports/spending?fiscal_year=twenty", "fiscal_year"),
        ("/api/v1/reports/spending?fiscal_year=1999", "fiscal_year"),
        ("/api/v1/reports/red-flags?fiscal_year=2101", "fiscal_year"),
        ("/api/v1/reports/red-flags?limit=0", "limit"),
        ("/api/v1/reports/red-flags?cursor=zz", "cursor"),
        ("/api/v1/reports/needs?from=2026-13-01", "from"),
        ("/api/v1/reports/needs?to=yesterday", "to"),
        ("/api/v1/reports/needs?from=2026-05-02&to=2026-05-01", "to"),
        // An empty value is not the value left out (the schema's pattern and format).
        ("/api/v1/reports/spending?group_by=", "group_by"),
        ("/api/v1/reports/needs?to=", "to"),
        ("/api/v1/reports/late-payments?fiscal_year=", "fiscal_year"),
    ] {
        let r = app
            .get(query, Some(&d.bureau))
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{query}");
    }
}

#[tokio::test]
async fn the_needs_report_counts_by_status_category_and_channel_with_met_rate_and_median_days() {
    let app = app().await;
    let d = app.district().await;
    let t0: DateTime<Utc> = "2026-06-01T02:00:00Z".parse().unwrap();
    app.set_clock(t0).await;
    let linked = app.accepted_need(&d, "助餐").await;
    let _kept = app.accepted_need(&d, "探访").await;
    app.post(
        "/api/v1/needs",
        Some(&d.community),
        json!({"title": "义诊", "description": "居民热线反映", "category": "health", "source": "hotline_12345", "external_ref": "12345-20260601-0001",
               "beneficiary_group": "居民", "beneficiaries": 100, "urgency": "low"}),
    )
    .await
    .expect(201);
    app.need(&d.other_community, "他区需求", "low").await;
    // Published 2 days and 12 hours after the need was submitted.
    app.set_clock(t0 + Duration::hours(60)).await;
    let spec = app.spec(&d, "100000.00", std::slice::from_ref(&linked));
    let p = app.draft(&d, spec).await;
    app.post(
        &format!("/api/v1/projects/{}/publish", p["id"].as_str().unwrap()),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .expect(200);

    let r = app
        .get("/api/v1/reports/needs", Some(&d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(r["total"], 3, "{r}");
    assert_eq!(
        (
            r["by_status"]["in_project"].as_i64(),
            r["by_status"]["accepted"].as_i64(),
            r["by_status"]["submitted"].as_i64(),
            r["by_status"]["met"].as_i64(),
        ),
        (Some(1), Some(1), Some(1), Some(0))
    );
    assert_eq!(
        (
            r["by_category"]["elderly"].as_i64(),
            r["by_category"]["health"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(
        (
            r["by_source"]["grid"].as_i64(),
            r["by_source"]["hotline_12345"].as_i64(),
            r["by_source"]["wechat"].as_i64()
        ),
        (Some(2), Some(1), Some(0))
    );
    // None met of the two accepted ones; 2.5 days to the one project.
    assert_eq!(r["met_rate"], json!(0.0));
    assert_eq!(r["median_days_to_project"], json!(2.5));
    // The admin sees both districts; the dates (China Standard Time) bound the count.
    let all = app
        .get("/api/v1/reports/needs", Some(&app.admin_token))
        .await
        .expect(200)
        .body;
    assert_eq!(all["total"], 4);
    let day = app
        .get(
            "/api/v1/reports/needs?from=2026-06-01&to=2026-06-01",
            Some(&d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(day["total"], 3);
    let later = app
        .get("/api/v1/reports/needs?from=2026-06-02", Some(&d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(later["total"], 0);
    assert_eq!(later["met_rate"], Value::Null);
    assert_eq!(later["median_days_to_project"], Value::Null);
}

/// One opened bid to write: organization, status, price in fen.
type Opened<'a> = (&'a str, &'a str, i64);

/// What the close and the award of a round leave behind, written for a published project.
struct Opening<'a> {
    bids: &'a [Opened<'a>],
    /// The awarded organization and amount (fen), and when.
    award: Option<(&'a str, i64, NaiveDateTime)>,
    panel: &'a [&'a str],
    /// Amendments: how long before the close each was made.
    amendments: &'a [Duration],
}

/// Publishes a project of `d` (the spec changed by `tweak`) and writes its round's opening.
async fn closed_round(
    app: &TestApp,
    d: &District,
    tweak: impl FnOnce(&mut Value),
    o: Opening<'_>,
) -> String {
    let p = app
        .open_project(d, |s| {
            s["budget_ceiling"] = json!("10000.00");
            tweak(s);
        })
        .await;
    let pid = p["id"].as_str().unwrap().to_owned();
    let close: DateTime<Utc> = p["bid_close_at"].as_str().unwrap().parse().unwrap();
    let close = close.naive_utc();
    let bids: Vec<(String, String, i64)> = o
        .bids
        .iter()
        .map(|(org, st, price)| (org.to_string(), st.to_string(), *price))
        .collect();
    let award = o
        .award
        .map(|(org, amount, at)| (org.to_owned(), amount, at));
    let panel: Vec<String> = o.panel.iter().map(|e| e.to_string()).collect();
    let amendments = o.amendments.to_vec();
    let state = app.state.clone();
    let id = pid.clone();
    tokio::task::spawn_blocking(move || {
        use gongyi::db::schema::{awards, bids, panel_seats, project_amendments, projects};
        let mut c = state.db.write_conn().unwrap();
        let c = &mut **c;
        let now = state.clock.now_naive();
        let new_id = || uuid::Uuid::now_v7().to_string();
        diesel::update(projects::table.find(&id))
            .set((
                projects::status.eq(if award.is_some() { "awarded" } else { "failed" }),
                projects::closed_at.eq(Some(close)),
            ))
            .execute(c)
            .unwrap();
        let mut winner_bid = None;
        for (org, status, price) in &bids {
            let bid_id = new_id();
            diesel::insert_into(bids::table)
                .values((
                    bids::id.eq(&bid_id),
                    bids::project_id.eq(&id),
                    bids::round.eq(1),
                    bids::organization_id.eq(Some(org)),
                    bids::status.eq(status),
                    bids::price_fen.eq(Some(*price)),
                    bids::receipt_sha256.eq(new_id()),
                    bids::received_at.eq(now),
                    bids::disqualified_reasons.eq("[]"),
                    bids::version.eq(1i64),
                    bids::created_at.eq(now),
                    bids::updated_at.eq(now),
                    bids::bidder_key.eq(new_id()),
                ))
                .execute(c)
                .unwrap();
            if status == "awarded" {
                winner_bid = Some(bid_id);
            }
        }
        if let Some((org, amount, at)) = award {
            diesel::insert_into(awards::table)
                .values((
                    awards::id.eq(new_id()),
                    awards::project_id.eq(&id),
                    awards::round.eq(1),
                    awards::bid_id.eq(winner_bid.expect("an awarded bid")),
                    awards::organization_id.eq(org),
                    awards::amount_fen.eq(amount),
                    awards::objection_deadline.eq(at + Duration::days(10)),
                    awards::status.eq("final"),
                    awards::created_by.eq("test"),
                    awards::created_at.eq(at),
                ))
                .execute(c)
                .unwrap();
        }
        for (i, e) in panel.iter().enumerate() {
            diesel::insert_into(panel_seats::table)
                .values((
                    panel_seats::id.eq(new_id()),
                    panel_seats::project_id.eq(&id),
                    panel_seats::round.eq(1),
                    panel_seats::expert_id.eq(e),
                    panel_seats::position.eq(i as i32),
                    panel_seats::status.eq("accepted"),
                    panel_seats::created_at.eq(now),
                ))
                .execute(c)
                .unwrap();
        }
        for before in amendments {
            diesel::insert_into(project_amendments::table)
                .values((
                    project_amendments::id.eq(new_id()),
                    project_amendments::project_id.eq(&id),
                    project_amendments::reason.eq("补充服务内容"),
                    project_amendments::changes.eq("{}"),
                    project_amendments::old_close_at.eq(close),
                    project_amendments::new_close_at.eq(close),
                    project_amendments::actor_id.eq("test"),
                    project_amendments::at.eq(close - before),
                ))
                .execute(c)
                .unwrap();
        }
    })
    .await
    .unwrap();
    pid
}

/// Every flag of the district's report, as (flag, project, organization), following cursors.
async fn flags(app: &TestApp, token: &str, query: &str) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/reports/red-flags?limit=2&{query}&cursor={c}"),
            None => format!("/api/v1/reports/red-flags?limit=2&{query}"),
        };
        let page = app.get(&path, Some(token)).await.expect(200).body;
        for f in page["items"].as_array().unwrap() {
            assert_eq!(f["round"], 1, "{f}");
            assert!(
                f["citation"]
                    .as_str()
                    .unwrap()
                    .starts_with("unverified default"),
                "{f}"
            );
            assert!(!f["detail"].as_str().unwrap().is_empty());
            out.push((
                f["flag"].as_str().unwrap().to_owned(),
                f["project_id"].as_str().unwrap().to_owned(),
                f["organization_id"].as_str().map(str::to_owned),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

fn won(org: &str, amount: i64, at: NaiveDateTime) -> Option<(&str, i64, NaiveDateTime)> {
    Some((org, amount, at))
}

fn category(c: &'static str) -> impl FnOnce(&mut Value) {
    move |s: &mut Value| s["category"] = json!(c)
}

#[tokio::test]
async fn each_red_flag_of_one_round_fires_at_its_threshold_and_not_below() {
    let app = app().await;
    let d = app.district().await;
    let (a, _) = app.verified_org(&d).await;
    let (b, _) = app.verified_org(&d).await;
    let (c, _) = app.verified_org(&d).await;
    let at = app.state.clock.now_naive();
    let none = Opening {
        bids: &[],
        award: None,
        panel: &[],
        amendments: &[],
    };
    // The ceiling is 10000.00 (1,000,000 fen); every case is in its own category, so no
    // organization repeats in one.
    let single = closed_round(
        &app,
        &d,
        category("elderly"),
        Opening {
            bids: &[(&a, "awarded", 500_000)],
            award: won(&a, 500_000, at),
            ..none
        },
    )
    .await;
    closed_round(
        &app,
        &d,
        category("children_youth"),
        Opening {
            bids: &[(&a, "awarded", 500_000), (&b, "lost", 600_000)],
            award: won(&a, 500_000, at),
            ..none
        },
    )
    .await;
    let near = closed_round(
        &app,
        &d,
        category("disability"),
        Opening {
            bids: &[(&b, "awarded", 980_000), (&c, "lost", 990_000)],
            award: won(&b, 980_000, at),
            ..none
        },
    )
    .await;
    closed_round(
        &app,
        &d,
        category("hardship"),
        Opening {
            bids: &[(&b, "awarded", 979_999), (&c, "lost", 990_000)],
            award: won(&b, 979_999, at),
            ..none
        },
    )
    .await;
    let same = closed_round(
        &app,
        &d,
        category("community_governance"),
        Opening {
            bids: &[(&c, "awarded", 700_000), (&a, "lost", 700_000)],
            award: won(&c, 700_000, at),
            ..none
        },
    )
    .await;
    closed_round(
        &app,
        &d,
        category("culture_sports"),
        Opening {
            bids: &[(&c, "awarded", 700_000), (&a, "lost", 700_001)],
            award: won(&c, 700_000, at),
            ..none
        },
    )
    .await;
    let disq = closed_round(
        &app,
        &d,
        category("mediation"),
        Opening {
            bids: &[(&a, "awarded", 500_000), (&b, "disqualified", 600_000)],
            award: won(&a, 500_000, at),
            ..none
        },
    )
    .await;
    closed_round(
        &app,
        &d,
        category("health"),
        Opening {
            bids: &[
                (&a, "awarded", 500_000),
                (&b, "disqualified", 600_000),
                (&c, "lost", 650_000),
            ],
            award: won(&a, 500_000, at),
            ..none
        },
    )
    .await;
    // An amendment 3 days less a second before the close is late; one 3 days before is not.
    let late = closed_round(
        &app,
        &d,
        category("volunteering"),
        Opening {
            bids: &[(&b, "awarded", 500_000), (&c, "lost", 600_000)],
            award: won(&b, 500_000, at),
            amendments: &[Duration::days(3) - Duration::seconds(1)],
            ..none
        },
    )
    .await;
    closed_round(
        &app,
        &d,
        category("other"),
        Opening {
            bids: &[(&b, "awarded", 500_000), (&c, "lost", 600_000)],
            award: won(&b, 500_000, at),
            amendments: &[Duration::days(3)],
            ..none
        },
    )
    .await;
    // Consultation: at least 10 days of bidding (财库〔2014〕214号 art 10). Published with the
    // clock frozen, closing exactly 10 days later is at the minimum; 11 days is not.
    app.set_clock(app.now()).await;
    let consult = |days: i64| {
        let close = app.now() + Duration::days(days);
        move |s: &mut Value| {
            s["method"] = json!("consultation");
            s["category"] = json!("elderly");
            s["region_id"] = s["region_id"].clone();
            s["bid_close_at"] = json!(close.to_rfc3339());
        }
    };
    let street2 = app
        .create_region(&unique("街道"), "street", Some(&d.regions.district))
        .await;
    let street3 = app
        .create_region(&unique("街道"), "street", Some(&d.regions.district))
        .await;
    let (s2, s3) = (street2.clone(), street3.clone());
    let short = closed_round(
        &app,
        &d,
        |s| {
            consult(10)(s);
            s["region_id"] = json!(s2);
        },
        Opening {
            bids: &[(&c, "awarded", 500_000), (&a, "lost", 600_000)],
            award: won(&c, 500_000, at),
            ..none
        },
    )
    .await;
    closed_round(
        &app,
        &d,
        |s| {
            consult(11)(s);
            s["region_id"] = json!(s3);
        },
        Opening {
            bids: &[(&c, "awarded", 500_000), (&a, "lost", 600_000)],
            award: won(&c, 500_000, at),
            ..none
        },
    )
    .await;
    // A round still open, with a real sealed bid: nothing of it shows.
    let (_, a_token) = app.verified_org(&d).await;
    let open = app
        .open_project(&d, |s| s["budget_ceiling"] = json!("10000.00"))
        .await;
    app.bid(open["id"].as_str().unwrap(), &a_token, "9999.00")
        .await
        .expect(201);

    // A round that failed with one opened bid, republished: round 1 counts, the sealed bid of
    // the open round 2 does not.
    let failed = closed_round(
        &app,
        &d,
        |s| s["region_id"] = json!(street3.clone()),
        Opening {
            bids: &[(&b, "qualified", 400_000)],
            ..none
        },
    )
    .await;
    let again = app.now() + Duration::days(30);
    let r = app
        .post(
            &format!("/api/v1/projects/{failed}/republish"),
            Some(&d.bureau),
            json!({"bid_close_at": again.to_rfc3339()}),
        )
        .await
        .expect(200);
    assert_eq!(
        (r.body["round"].as_i64(), r.body["status"].as_str()),
        (Some(2), Some("open"))
    );
    app.bid(&failed, &a_token, "9000.00").await.expect(201);

    let mut got = flags(&app, &d.bureau, "fiscal_year=2026").await;
    got.sort();
    let mut want = vec![
        ("single_bidder".to_owned(), failed.clone(), Some(b.clone())),
        ("single_bidder".to_owned(), single, Some(a.clone())),
        ("price_near_ceiling".to_owned(), near, Some(b.clone())),
        ("identical_prices".to_owned(), same, None),
        ("high_disqualification".to_owned(), disq, None),
        ("late_amendment".to_owned(), late, None),
        ("short_bidding_period".to_owned(), short, None),
    ];
    want.sort();
    assert_eq!(got, want);
    // The admin reads the same for the district; another fiscal year has none.
    let admin = flags(
        &app,
        &app.admin_token,
        &format!("district_id={}", d.regions.district),
    )
    .await;
    assert_eq!(admin.len(), want.len());
    assert!(flags(&app, &d.bureau, "fiscal_year=2025").await.is_empty());
}

#[tokio::test]
async fn repeat_winners_and_panel_overlaps_are_counted_across_rounds() {
    let app = app().await;
    let d = app.district().await;
    let (a, _) = app.verified_org(&d).await;
    let (b, _) = app.verified_org(&d).await;
    let (e1, _) = crate::evaluation::expert(&app, &["elderly"], None).await;
    let (e2, _) = crate::evaluation::expert(&app, &["elderly"], None).await;
    let s1 = d.regions.street.clone();
    let s2 = app
        .create_region(&unique("街道"), "street", Some(&d.regions.district))
        .await;
    let t0 = app.state.clock.now_naive();
    let mut ids = Vec::new();
    // Street 1: a, a, b, a (3 of the last 4); street 2: a, a, b, b (2 of 4).
    // e1 sits on three of a's wins; e2 on two of a's and one of b's.
    let plan: [(&str, &str, &[&str]); 8] = [
        (&s1, &a, &[&e1, &e2]),
        (&s1, &a, &[&e1]),
        (&s1, &b, &[&e2]),
        (&s1, &a, &[]),
        (&s2, &a, &[&e1]),
        (&s2, &a, &[&e2]),
        (&s2, &b, &[&e1]),
        (&s2, &b, &[]),
    ];
    for (i, (street, winner, panel)) in plan.iter().enumerate() {
        let rival = if *winner == a { &b } else { &a };
        let street = street.to_string();
        let id = closed_round(
            &app,
            &d,
            move |s| s["region_id"] = json!(street),
            Opening {
                bids: &[
                    (winner, "awarded", 500_000 + i as i64),
                    (rival, "lost", 600_000),
                ],
                award: Some((winner, 500_000 + i as i64, t0 + Duration::hours(i as i64))),
                panel,
                amendments: &[],
            },
        )
        .await;
        ids.push(id);
    }
    let mut got = flags(&app, &d.bureau, "").await;
    got.sort();
    let mut want = vec![
        // On a's latest win of street 1's window, and on a's latest win with e1.
        ("repeat_winner".to_owned(), ids[3].clone(), Some(a.clone())),
        ("panel_overlap".to_owned(), ids[4].clone(), Some(a.clone())),
    ];
    want.sort();
    assert_eq!(got, want);
}
