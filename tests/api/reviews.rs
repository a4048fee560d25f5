//! Reviews (中期评估 / 结项评估): scheduled when the contract becomes active, opened by the
//! `open_reviews` job ahead of their due day with a panel of the expert pool, reported by the
//! organization, scored by the accepted experts — the last sheet (and at completion a
//! satisfaction survey) finalizing the score and grade — and their effects on the tranches, the
//! contract and the organization's track record. The sandbox clock drives every deadline.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::contracts::{app, awarded, past_objections, reconciled, Deal};
use crate::evaluation::expert;
use crate::helpers::{Reply, TestApp};

/// A contract drawn up from a final award, and the pool of exactly three experts (id, token):
/// every review panel is all three of them.
struct Scene {
    deal: Deal,
    experts: Vec<(String, String)>,
    /// The accepted need of the district's community that the project serves.
    need: String,
}

/// 30 % at signing, 40 % on the mid-term review, 30 % on the completion review.
fn payment_plan() -> Value {
    json!([
        {"condition": "on_signing", "percent": 30},
        {"condition": "on_midterm_passed", "percent": 40},
        {"condition": "on_completion_passed", "percent": 30}
    ])
}

/// A contract of 100000.00 (tranches 30000.00 / 40000.00 / 30000.00) in a new district, its
/// project's spec changed by `tweak` after the payment plan is set; not signed yet.
async fn scene(app: &TestApp, tweak: impl FnOnce(&mut Value)) -> Scene {
    let d = app.district().await;
    let need = app.accepted_need(&d, "独居老人上门探访").await;
    let linked = need.clone();
    let mut experts = Vec::new();
    for _ in 0..3 {
        experts.push(expert(app, &["elderly"], None).await);
    }
    let tokens: Vec<String> = experts.iter().map(|e| e.1.clone()).collect();
    let a = awarded(app, &d, &tokens, "100000.00", move |spec| {
        spec["payment_plan"] = payment_plan();
        spec["need_ids"] = json!([linked]);
        tweak(spec);
    })
    .await;
    past_objections(app, &a.award).await;
    assert_eq!(
        app.run_job("finalize_awards").await.expect(200).body["processed"],
        1
    );
    let list = app
        .get(
            &format!("/api/v1/contracts?project_id={}", a.project),
            Some(&d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    Scene {
        deal: Deal {
            contract: list["items"][0]["id"].as_str().unwrap().to_owned(),
            award: a.award["id"].as_str().unwrap().to_owned(),
            d,
            project: a.project,
            org: a.org,
            org_token: a.org_token,
        },
        experts,
        need,
    }
}

/// A signed (active) contract; the on-signing tranche is released at once, so that the contract
/// can complete once the others are paid.
async fn active_scene(app: &TestApp, tweak: impl FnOnce(&mut Value)) -> Scene {
    let s = scene(app, tweak).await;
    let c = s.deal.sign_both(app).await;
    assert_eq!(c["status"], "active", "{c}");
    let first = tranche(&c, "on_signing")["id"].as_str().unwrap().to_owned();
    s.deal
        .release(app, &first, "sign-1", "GK-SIGN")
        .await
        .expect(200);
    s
}

fn date(v: &Value) -> NaiveDate {
    v.as_str()
        .unwrap_or_else(|| panic!("not a date: {v}"))
        .parse()
        .unwrap_or_else(|_| panic!("not a date: {v}"))
}

/// 00:00 of `day` in China Standard Time (UTC+8).
fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap().and_utc() - Duration::hours(8)
}

/// The end of `day` (24:00) in China Standard Time.
fn day_end(day: NaiveDate) -> DateTime<Utc> {
    day_start(day) + Duration::days(1)
}

/// Today in China Standard Time by the server clock.
fn today(app: &TestApp) -> NaiveDate {
    (app.now() + Duration::hours(8)).date_naive()
}

/// A score or rate as a number: a decimal string ("81.67") or a JSON number.
fn dec(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a decimal: {v}")),
        Value::Number(n) => n.as_f64().unwrap(),
        _ => panic!("not a decimal: {v}"),
    }
}

/// The contract's tranche of `condition` (one each in these plans).
fn tranche<'a>(contract: &'a Value, condition: &str) -> &'a Value {
    contract["tranches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["condition"] == condition)
        .unwrap_or_else(|| panic!("no {condition} tranche in {contract}"))
}

fn tranche_statuses(contract: &Value) -> Vec<String> {
    contract["tranches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Every review of the contract, as its bureau lists them.
async fn reviews(app: &TestApp, s: &Scene) -> Vec<Value> {
    let page = app
        .get(
            &format!("/api/v1/reviews?contract_id={}&limit=100", s.deal.contract),
            Some(&s.deal.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert!(page.get("next_cursor").is_some(), "a page: {page}");
    page["items"].as_array().unwrap().clone()
}

/// The contract's review of `kind` and `attempt`.
async fn review_of(app: &TestApp, s: &Scene, kind: &str, attempt: i64) -> Value {
    let all = reviews(app, s).await;
    all.iter()
        .find(|r| r["kind"] == kind && r["attempt"].as_i64() == Some(attempt))
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} review attempt {attempt} in {all:?}"))
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// `GET /reviews/{id}` as `token`.
async fn get_review(app: &TestApp, token: &str, review: &str) -> Reply {
    app.get(&format!("/api/v1/reviews/{review}"), Some(token))
        .await
}

/// The review as the bureau reads it.
async fn read(app: &TestApp, s: &Scene, review: &str) -> Value {
    get_review(app, &s.deal.d.bureau, review)
        .await
        .expect(200)
        .body
}

/// Moves the clock to the review's opening day (checking it stays `scheduled` one second
/// before) and runs `open_reviews`; checks the panel is the pool, all invited; returns each
/// pool expert's review assignment, in pool order.
async fn open(app: &TestApp, s: &Scene, review: &str) -> Vec<String> {
    let r = read(app, s, review).await;
    assert_eq!(r["status"], "scheduled", "{r}");
    let opens = date(&r["opens_on"]);
    app.set_clock(day_start(opens) - Duration::seconds(1)).await;
    app.run_job("open_reviews").await.expect(200);
    assert_eq!(
        read(app, s, review).await["status"],
        "scheduled",
        "not open before its opening day (UTC+8)"
    );
    app.set_clock(day_start(opens) + Duration::seconds(1)).await;
    app.run_job("open_reviews").await.expect(200);
    let r = read(app, s, review).await;
    assert_eq!(r["status"], "open", "{r}");
    let panel: BTreeSet<String> = r["panel"]
        .as_array()
        .unwrap_or_else(|| panic!("a panel: {r}"))
        .iter()
        .map(|m| m["expert_id"].as_str().unwrap().to_owned())
        .collect();
    let pool: BTreeSet<String> = s.experts.iter().map(|e| e.0.clone()).collect();
    assert_eq!(panel, pool, "a pool of three: the panel is all of it; {r}");
    assert!(
        r["panel"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "invited"),
        "{r}"
    );
    let mut seats = Vec::new();
    for (_, token) in &s.experts {
        let inbox = app
            .get("/api/v1/me/assignments?limit=100", Some(token))
            .await
            .expect(200)
            .body;
        let seat = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "review" && a["review_id"] == review)
            .unwrap_or_else(|| panic!("no review assignment for {review} in {inbox}"));
        assert_eq!(seat["status"], "invited", "{seat}");
        assert_eq!(seat["project_id"], s.deal.project.as_str(), "{seat}");
        seats.push(seat["id"].as_str().unwrap().to_owned());
    }
    seats
}

async fn accept(app: &TestApp, token: &str, seat: &str) {
    app.post(
        &format!("/api/v1/assignments/{seat}/accept"),
        Some(token),
        json!({"declaration": "no_conflict"}),
    )
    .await
    .expect(200);
}

async fn accept_all(app: &TestApp, s: &Scene, seats: &[String]) {
    for ((_, token), seat) in s.experts.iter().zip(seats) {
        accept(app, token, seat).await;
    }
}

/// The organization's progress report, naming the contract's first KPI.
async fn report_body(app: &TestApp, s: &Scene) -> Value {
    let c = s.deal.read(app).await;
    let indicator = c["kpis"][0]["indicator"].as_str().unwrap().to_owned();
    json!({
        "summary": "按计划完成上门探访与助餐配送，组织社区活动 12 场。",
        "kpi_results": [{"indicator": indicator, "actual": "1250"}],
        "spending": [
            {"item": "人员经费", "budgeted": "20000.00", "spent": "18500.00"},
            {"item": "活动物资", "budgeted": "8000.00", "spent": "7950.50"}
        ]
    })
}

async fn report(app: &TestApp, s: &Scene, token: &str, review: &str) -> Reply {
    let body = report_body(app, s).await;
    app.post(
        &format!("/api/v1/reviews/{review}/report"),
        Some(token),
        body,
    )
    .await
}

/// One sheet: implementation, inputs, finance, outcomes.
async fn score(app: &TestApp, token: &str, review: &str, p: [i64; 4]) -> Reply {
    app.put(
        &format!("/api/v1/reviews/{review}/score"),
        token,
        json!({"points": {"implementation": p[0], "inputs": p[1], "finance": p[2], "outcomes": p[3]},
               "comment": "按评估指标逐项打分"}),
    )
    .await
}

/// Opens the review, the panel accepts, the organization reports and each expert scores its
/// sheet; the review as the bureau reads it afterwards.
async fn run_review(app: &TestApp, s: &Scene, review: &str, sheets: [[i64; 4]; 3]) -> Value {
    let seats = open(app, s, review).await;
    accept_all(app, s, &seats).await;
    let r = report(app, s, &s.deal.org_token, review).await.expect(200);
    assert_eq!(r.body["status"], "scoring", "{}", r.body);
    for ((_, token), p) in s.experts.iter().zip(sheets) {
        score(app, token, review, p).await.expect(200);
    }
    read(app, s, review).await
}

async fn survey(app: &TestApp, s: &Scene, token: &str, body: Value) -> Reply {
    app.post(
        &format!("/api/v1/contracts/{}/satisfaction", s.deal.contract),
        Some(token),
        body,
    )
    .await
}

/// A survey by the bureau, surveyed today.
async fn bureau_survey(app: &TestApp, s: &Scene, respondents: i64, satisfied: i64) -> Value {
    survey(
        app,
        s,
        &s.deal.d.bureau,
        json!({"respondents": respondents, "satisfied": satisfied, "method": "questionnaire",
               "surveyed_on": today(app).to_string()}),
    )
    .await
    .expect(201)
    .body
}

fn assert_score(r: &Value, score: &str, grade: &str, status: &str) {
    let expected: f64 = score.parse().unwrap();
    assert_eq!(dec(&r["score"]), expected, "score; {r}");
    assert_eq!(r["grade"], grade, "grade; {r}");
    assert_eq!(r["status"], status, "status; {r}");
    assert!(r["finalized_at"].is_string(), "{r}");
}

#[tokio::test]
async fn a_contract_passes_both_reviews_gets_each_tranche_released_and_completes_with_a_track_record(
) {
    let app = app().await;
    let s = scene(&app, |_| {}).await;
    // Nothing is scheduled before both sides sign.
    assert!(reviews(&app, &s).await.is_empty());
    let c = s.deal.sign_both(&app).await;
    assert_eq!(c["status"], "active");
    // Scheduled: the middle day of the service period and its last day, opening 14 days ahead.
    let start = date(&c["service_start"]);
    let end = date(&c["service_end"]);
    let middle = start + Duration::days((end - start).num_days() / 2);
    let all = reviews(&app, &s).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let mid = review_of(&app, &s, "midterm", 1).await;
    let fin = review_of(&app, &s, "completion", 1).await;
    for (r, due) in [(&mid, middle), (&fin, end)] {
        assert_eq!(r["status"], "scheduled", "{r}");
        assert_eq!(r["contract_id"], s.deal.contract.as_str());
        assert_eq!(r["project_id"], s.deal.project.as_str());
        assert_eq!(date(&r["due_on"]), due, "{r}");
        assert_eq!(date(&r["opens_on"]), due - Duration::days(14), "{r}");
        let rubric: Vec<(String, i64)> = r["rubric"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["key"].as_str().unwrap().to_owned(),
                    c["max_points"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            rubric,
            [
                ("implementation".to_owned(), 35),
                ("inputs".to_owned(), 20),
                ("finance".to_owned(), 20),
                ("outcomes".to_owned(), 25)
            ]
        );
        assert!(r["score"].is_null() && r["grade"].is_null(), "{r}");
    }
    // The organization lists its own contract's reviews too.
    let own = app
        .get(
            &format!("/api/v1/reviews?contract_id={}", s.deal.contract),
            Some(&s.deal.org_token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(own["items"].as_array().unwrap().len(), 2, "{own}");
    let first = id(tranche(&c, "on_signing"));
    s.deal
        .release(&app, &first, "r1-0", "GK-R1-0")
        .await
        .expect(200);

    // Mid-term: opened, accepted, reported, three sheets whose means sum to exactly 90.00.
    let mid_id = id(&mid);
    let seats = open(&app, &s, &mid_id).await;
    accept_all(&app, &s, &seats).await;
    assert!(read(&app, &s, &mid_id).await["panel"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["status"] == "accepted"));
    let r = report(&app, &s, &s.deal.org_token, &mid_id)
        .await
        .expect(200)
        .body;
    assert_eq!(r["status"], "scoring", "{r}");
    assert!(r["report"].is_object(), "the report is kept: {r}");
    // Reported once.
    report(&app, &s, &s.deal.org_token, &mid_id)
        .await
        .problem(409, "invalid_state");
    let sheets = [[30, 18, 18, 22], [33, 19, 17, 23], [33, 17, 19, 21]];
    for (i, ((_, token), p)) in s.experts.iter().zip(sheets).enumerate() {
        score(&app, token, &mid_id, p).await.expect(200);
        if i < 2 {
            let r = read(&app, &s, &mid_id).await;
            assert_eq!(
                r["status"], "scoring",
                "not final before the last sheet: {r}"
            );
            assert!(r["score"].is_null(), "{r}");
        }
    }
    // (30+33+33)/3 + (18+19+17)/3 + (18+17+19)/3 + (22+23+21)/3 = 32 + 18 + 18 + 22 = 90.00:
    // excellent (≥ 90).
    let r = read(&app, &s, &mid_id).await;
    assert_score(&r, "90.00", "excellent", "passed");
    assert_eq!(r["sheets"].as_array().map(Vec::len), Some(3), "{r}");
    let c = s.deal.read(&app).await;
    assert_eq!(tranche_statuses(&c), ["released", "releasable", "pending"]);
    let second = id(tranche(&c, "on_midterm_passed"));
    s.deal
        .release(&app, &second, "r1-1", "GK-R1-1")
        .await
        .expect(200);
    assert_eq!(s.deal.read(&app).await["status"], "active");

    // Completion: a survey (50 of 50 satisfied), then all sheets (28, 16, 16, 20):
    // outcomes = 0.6 × 20 + 0.4 × 1 × 25 = 22, score 28 + 16 + 16 + 22 = 82.00, good.
    // Recorded by a worker of the community whose need the project serves (实施条例 art 45).
    survey(
        &app,
        &s,
        &s.deal.d.community,
        json!({"respondents": 50, "satisfied": 50, "method": "interview",
               "surveyed_on": today(&app).to_string()}),
    )
    .await
    .expect(201);
    let fin_id = id(&fin);
    let r = run_review(&app, &s, &fin_id, [[28, 16, 16, 20]; 3]).await;
    assert_score(&r, "82.00", "good", "passed");
    assert_eq!(dec(&r["satisfaction_rate"]), 1.0, "{r}");
    let c = s.deal.read(&app).await;
    assert_eq!(tranche_statuses(&c), ["released", "released", "releasable"]);
    assert_eq!(
        c["status"], "active",
        "not complete while a tranche is unpaid"
    );
    let last = id(tranche(&c, "on_completion_passed"));
    s.deal
        .release(&app, &last, "r1-2", "GK-R1-2")
        .await
        .expect(200);
    let c = s.deal.read(&app).await;
    assert_eq!(c["status"], "completed", "{c}");
    assert!(c["completed_at"].is_string(), "{c}");
    assert_eq!(c["released"], "100000.00");
    reconciled(&app, &s.deal.d).await;
    // The need the project served is met.
    let n = app
        .get(&format!("/api/v1/needs/{}", s.need), Some(&s.deal.d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(n["status"], "met", "{n}");

    // The organization's track record: one contract, completed, two reviews, mean 86.00.
    let o = app
        .get(
            &format!("/api/v1/organizations/{}", s.deal.org),
            Some(&s.deal.d.bureau),
        )
        .await
        .expect(200)
        .body;
    let t = &o["track_record"];
    assert_eq!(
        (
            t["contracts"].as_i64(),
            t["completed"].as_i64(),
            t["terminated"].as_i64()
        ),
        (Some(1), Some(1), Some(0)),
        "{t}"
    );
    let mut entries: Vec<(String, i64, f64, String)> = t["reviews"]
        .as_array()
        .unwrap_or_else(|| panic!("reviews in {t}"))
        .iter()
        .map(|r| {
            assert_eq!(r["contract_id"], s.deal.contract.as_str(), "{r}");
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["attempt"].as_i64().unwrap(),
                dec(&r["score"]),
                r["grade"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        entries,
        [
            ("completion".to_owned(), 1, 82.0, "good".to_owned()),
            ("midterm".to_owned(), 1, 90.0, "excellent".to_owned())
        ]
    );
    assert_eq!(dec(&t["mean_score"]), 86.0, "{t}");
    // The open data: both reviews as met milestones with their grades, the three payments as
    // transactions, the contract ended by its completion.
    let record = app
        .get(
            &format!("/api/v1/ocds/records/ocds-gongyi-{}", s.deal.project),
            None,
        )
        .await
        .expect(200)
        .body;
    let k = &record["records"][0]["compiledRelease"]["contracts"][0];
    assert_eq!(k["id"], s.deal.contract.as_str());
    assert_eq!(k["status"], "terminated", "{k}");
    let milestones = k["implementation"]["milestones"].as_array().unwrap();
    assert_eq!(milestones.len(), 2, "{k}");
    assert!(milestones
        .iter()
        .all(|m| m["status"] == "met" && m["type"] == "assessment"));
    assert!(milestones.iter().any(|m| m["description"]
        .as_str()
        .unwrap()
        .contains("grade excellent")));
    let paid: Vec<f64> = k["implementation"]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["value"]["amount"].as_f64().unwrap())
        .collect();
    assert_eq!(paid, [30000.0, 40000.0, 30000.0]);
    assert_eq!(
        k["milestones"].as_array().map(Vec::len),
        Some(2),
        "scheduled at signing"
    );
}

#[tokio::test]
async fn a_failed_midterm_withholds_its_tranche_until_the_re_review_thirty_days_later_passes() {
    let app = app().await;
    // An explicit review plan: mid-term 100 days into the service period.
    let s = active_scene(&app, |spec| {
        let start: NaiveDate = spec["service_start"].as_str().unwrap().parse().unwrap();
        spec["review_plan"] = json!({
            "midterm_on": (start + Duration::days(100)).to_string(),
            "completion_on": spec["service_end"].clone()
        });
    })
    .await;
    let c = s.deal.read(&app).await;
    let start = date(&c["service_start"]);
    let mid = review_of(&app, &s, "midterm", 1).await;
    let due = start + Duration::days(100);
    assert_eq!(date(&mid["due_on"]), due, "{mid}");
    assert_eq!(date(&mid["opens_on"]), due - Duration::days(14), "{mid}");
    assert_eq!(
        date(&review_of(&app, &s, "completion", 1).await["due_on"]),
        date(&c["service_end"])
    );
    // (20, 10, 10, 15) × 3 = 55.00: fail.
    let r = run_review(&app, &s, &id(&mid), [[20, 10, 10, 15]; 3]).await;
    assert_score(&r, "55.00", "fail", "failed");
    let c = s.deal.read(&app).await;
    assert_eq!(tranche_statuses(&c), ["released", "withheld", "pending"]);
    let withheld = id(tranche(&c, "on_midterm_passed"));
    s.deal
        .release(&app, &withheld, "w-0", "GK-W-0")
        .await
        .problem(409, "invalid_state");
    assert_eq!(c["termination_proposed"], false);
    // The re-review: attempt 2, due 30 days after the first, opening 14 days before that.
    let all = reviews(&app, &s).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let again = review_of(&app, &s, "midterm", 2).await;
    assert_eq!(again["status"], "scheduled", "{again}");
    assert_eq!(date(&again["due_on"]), due + Duration::days(30), "{again}");
    assert_eq!(
        date(&again["opens_on"]),
        due + Duration::days(30 - 14),
        "{again}"
    );
    // Rectified: exactly 60.00 passes (pass ≥ 60) and releases the withheld tranche.
    let r = run_review(&app, &s, &id(&again), [[21, 12, 12, 15]; 3]).await;
    assert_score(&r, "60.00", "pass", "passed");
    let c = s.deal.read(&app).await;
    assert_eq!(tranche_statuses(&c), ["released", "releasable", "pending"]);
    assert_eq!(c["termination_proposed"], false);
    s.deal
        .release(&app, &withheld, "w-1", "GK-W-1")
        .await
        .expect(200);
    // No third attempt.
    assert_eq!(reviews(&app, &s).await.len(), 3);
    reconciled(&app, &s.deal.d).await;
}

#[tokio::test]
async fn a_second_failed_review_proposes_termination() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let mid = review_of(&app, &s, "midterm", 1).await;
    let r = run_review(&app, &s, &id(&mid), [[20, 10, 10, 15]; 3]).await;
    assert_score(&r, "55.00", "fail", "failed");
    assert_eq!(s.deal.read(&app).await["termination_proposed"], false);
    // 179 / 3 = 59.666… → 59.67: still a fail.
    let again = review_of(&app, &s, "midterm", 2).await;
    assert_eq!(
        date(&again["due_on"]),
        date(&mid["due_on"]) + Duration::days(30)
    );
    let r = run_review(
        &app,
        &s,
        &id(&again),
        [[20, 10, 10, 15], [24, 12, 12, 12], [22, 12, 12, 18]],
    )
    .await;
    assert_score(&r, "59.67", "fail", "failed");
    let c = s.deal.read(&app).await;
    assert_eq!(c["termination_proposed"], true, "{c}");
    assert_eq!(c["status"], "active", "proposed, not terminated: {c}");
    assert_eq!(tranche_statuses(&c), ["released", "withheld", "pending"]);
    // No third mid-term review.
    let all = reviews(&app, &s).await;
    assert_eq!(
        all.iter().filter(|r| r["kind"] == "midterm").count(),
        2,
        "{all:?}"
    );
}

#[tokio::test]
async fn a_review_without_a_report_by_the_end_of_its_due_day_fails_as_no_report() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let mid = review_of(&app, &s, "midterm", 1).await;
    let mid_id = id(&mid);
    open(&app, &s, &mid_id).await;
    let due = date(&mid["due_on"]);
    // The last second of the due day (UTC+8): the job leaves it open.
    app.set_clock(day_end(due) - Duration::seconds(1)).await;
    app.run_job("open_reviews").await.expect(200);
    let r = read(&app, &s, &mid_id).await;
    assert_eq!(r["status"], "open", "{r}");
    // The day is over: a report is refused even before the job has run ...
    app.set_clock(day_end(due) + Duration::seconds(1)).await;
    report(&app, &s, &s.deal.org_token, &mid_id)
        .await
        .problem(409, "deadline_passed");
    assert_eq!(read(&app, &s, &mid_id).await["status"], "open");
    // ... and the job fails it, once.
    app.run_job("open_reviews").await.expect(200);
    let r = read(&app, &s, &mid_id).await;
    assert_eq!(
        (r["status"].as_str(), r["outcome_reason"].as_str()),
        (Some("failed"), Some("no_report")),
        "{r}"
    );
    assert!(r["report"].is_null(), "{r}");
    app.run_job("open_reviews").await.expect(200);
    assert_eq!(read(&app, &s, &mid_id).await["status"], "failed");
    report(&app, &s, &s.deal.org_token, &mid_id)
        .await
        .problem(409, "deadline_passed");
    // A missing report counts as a fail: the tranche is withheld and a re-review scheduled.
    let c = s.deal.read(&app).await;
    assert_eq!(tranche_statuses(&c), ["released", "withheld", "pending"]);
    let again = review_of(&app, &s, "midterm", 2).await;
    assert_eq!(again["status"], "scheduled");
    assert_eq!(date(&again["due_on"]), due + Duration::days(30));
}

#[tokio::test]
async fn a_completion_review_with_every_sheet_in_waits_for_a_survey_and_the_survey_finalizes_it() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    // Mid-term, rounded once at the end: 91/3 + 52/3 + 49/3 + 63/3 = 255/3 = 85.00 (rounding
    // each mean first would give 30.33 + 17.33 + 16.33 + 21 = 84.99).
    let mid = review_of(&app, &s, "midterm", 1).await;
    let r = run_review(
        &app,
        &s,
        &id(&mid),
        [[30, 18, 15, 20], [28, 16, 17, 22], [33, 18, 17, 21]],
    )
    .await;
    assert_score(&r, "85.00", "good", "passed");
    let fin = review_of(&app, &s, "completion", 1).await;
    let fin_id = id(&fin);
    let r = run_review(&app, &s, &fin_id, [[25, 15, 15, 20]; 3]).await;
    assert_eq!(r["status"], "scoring", "no survey yet: {r}");
    assert!(r["score"].is_null() && r["grade"].is_null(), "{r}");
    assert_eq!(r["sheets"].as_array().map(Vec::len), Some(3), "{r}");
    assert_eq!(
        tranche(&s.deal.read(&app).await, "on_completion_passed")["status"],
        "pending"
    );
    let empty = app
        .get(
            &format!("/api/v1/contracts/{}/satisfaction", s.deal.contract),
            Some(&s.deal.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        empty["surveys"].as_array().map(Vec::len),
        Some(0),
        "{empty}"
    );
    assert_eq!(empty["respondents"].as_i64(), Some(0), "{empty}");
    // 20 of 20 satisfied: outcomes 0.6 × 20 + 0.4 × 1 × 25 = 22; 25 + 15 + 15 + 22 = 77.00.
    let sv = bureau_survey(&app, &s, 20, 20).await;
    assert_eq!(
        (sv["respondents"].as_i64(), sv["satisfied"].as_i64()),
        (Some(20), Some(20)),
        "{sv}"
    );
    let r = read(&app, &s, &fin_id).await;
    assert_score(&r, "77.00", "pass", "passed");
    assert_eq!(dec(&r["satisfaction_rate"]), 1.0, "{r}");
    assert_eq!(
        tranche(&s.deal.read(&app).await, "on_completion_passed")["status"],
        "releasable"
    );
}

#[tokio::test]
async fn scores_are_the_sum_of_criterion_means_rounded_half_up_once_with_satisfaction_in_completion_outcomes(
) {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    // Mid-term: (30+28+33)/3 + (18+16+19)/3 + (15+17+18)/3 + (20+22+21)/3 = 257/3 = 85.666… →
    // 85.67, good.
    let mid = review_of(&app, &s, "midterm", 1).await;
    let r = run_review(
        &app,
        &s,
        &id(&mid),
        [[30, 18, 15, 20], [28, 16, 17, 22], [33, 19, 18, 21]],
    )
    .await;
    assert_score(&r, "85.67", "good", "passed");
    // Two surveys, 9 of 10 and 4 of 6: the rate is Σ satisfied ÷ Σ respondents = 13/16 =
    // 0.8125 (not the mean of the rates, 0.7833…).
    bureau_survey(&app, &s, 10, 9).await;
    let sv = survey(
        &app,
        &s,
        &s.deal.d.bureau,
        json!({"respondents": 6, "satisfied": 4, "method": "interview",
               "surveyed_on": today(&app).to_string()}),
    )
    .await
    .expect(201);
    assert_eq!(sv.body["method"], "interview", "{}", sv.body);
    let sat = app
        .get(
            &format!("/api/v1/contracts/{}/satisfaction", s.deal.contract),
            Some(&s.deal.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(sat["surveys"].as_array().map(Vec::len), Some(2), "{sat}");
    assert_eq!(
        (sat["respondents"].as_i64(), sat["satisfied"].as_i64()),
        (Some(16), Some(13)),
        "{sat}"
    );
    assert!((dec(&sat["rate"]) - 0.8125).abs() < 0.005, "{sat}");
    // The organization reads it as a party to the contract.
    app.get(
        &format!("/api/v1/contracts/{}/satisfaction", s.deal.contract),
        Some(&s.deal.org_token),
    )
    .await
    .expect(200);
    // Completion: 30 + 18 + 17 + outcomes (0.6 × (20+22+21)/3 + 0.4 × 0.8125 × 25 = 12.6 +
    // 8.125 = 20.725) = 85.725 → half-up 85.73, good.
    let fin = review_of(&app, &s, "completion", 1).await;
    let r = run_review(
        &app,
        &s,
        &id(&fin),
        [[30, 18, 17, 20], [30, 18, 17, 22], [30, 18, 17, 21]],
    )
    .await;
    assert_score(&r, "85.73", "good", "passed");
    assert!((dec(&r["satisfaction_rate"]) - 0.8125).abs() < 0.005, "{r}");
}

#[tokio::test]
async fn only_accepted_panel_experts_score_once_within_the_rubric_and_surveys_are_checked() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let mid = review_of(&app, &s, "midterm", 1).await;
    let mid_id = id(&mid);
    let seats = open(&app, &s, &mid_id).await;
    // Only the contract's organization reports.
    let (_, outsider_org) = app.verified_org(&s.deal.d).await;
    report(&app, &s, &outsider_org, &mid_id)
        .await
        .problem(404, "not_found");
    report(&app, &s, &s.deal.org_token, &mid_id)
        .await
        .expect(200);
    // Invited but not yet accepted: the expert neither reads nor scores the review.
    let (e0, t0) = (&s.experts[0].0, &s.experts[0].1);
    get_review(&app, t0, &mid_id)
        .await
        .problem(404, "not_found");
    let r = score(&app, t0, &mid_id, [30, 18, 18, 22]).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.body);
    accept_all(&app, &s, &seats).await;
    // An expert not on the panel (joined the pool after the draw), and the organization.
    let (_, stranger) = expert(&app, &["elderly"], None).await;
    get_review(&app, &stranger, &mid_id)
        .await
        .problem(404, "not_found");
    let r = score(&app, &stranger, &mid_id, [30, 18, 18, 22]).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.body);
    let r = score(&app, &s.deal.org_token, &mid_id, [30, 18, 18, 22]).await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.body);
    // Out of the rubric's range: 422 naming the criterion.
    assert_eq!(
        score(&app, t0, &mid_id, [36, 18, 18, 22])
            .await
            .problem(422, "validation_failed")
            .fields(),
        ["points.implementation"]
    );
    assert_eq!(
        score(&app, t0, &mid_id, [30, 18, 18, -1])
            .await
            .problem(422, "validation_failed")
            .fields(),
        ["points.outcomes"]
    );
    assert_eq!(
        score(&app, t0, &mid_id, [30, 21, 18, 22])
            .await
            .problem(422, "validation_failed")
            .fields(),
        ["points.inputs"]
    );
    // The maximum itself is allowed; a sheet is final.
    score(&app, t0, &mid_id, [35, 20, 20, 25]).await.expect(200);
    score(&app, t0, &mid_id, [30, 18, 18, 22])
        .await
        .problem(409, "score_final");
    // Another panel expert does not see the first sheet before its own is in.
    let (t1, t2) = (&s.experts[1].1, &s.experts[2].1);
    let seen = get_review(&app, t1, &mid_id).await.expect(200).body;
    assert_eq!(seen["status"], "scoring");
    let leaked = seen["sheets"]
        .as_array()
        .map(|a| a.iter().any(|x| x["expert_id"] == e0.as_str()))
        .unwrap_or(false);
    assert!(
        !leaked,
        "another expert's sheet shown before its own: {seen}"
    );
    // (35+25+20)/3 + (20+15+13)/3 + (20+15+13)/3 + (25+20+15)/3 = 236/3 = 78.666… → 78.67, pass.
    score(&app, t1, &mid_id, [25, 15, 15, 20]).await.expect(200);
    score(&app, t2, &mid_id, [20, 13, 13, 15]).await.expect(200);
    let r = read(&app, &s, &mid_id).await;
    assert_score(&r, "78.67", "pass", "passed");
    // After finalization no sheet is taken.
    let r = score(&app, t1, &mid_id, [30, 18, 18, 22]).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    // A panel expert reads the finalized review.
    get_review(&app, t0, &mid_id).await.expect(200);

    // Surveys: 1 ≤ respondents, satisfied ≤ respondents, a known method; the bureau of
    // another district may not record one.
    let day = today(&app).to_string();
    let bad = |respondents: i64, satisfied: i64, method: &str| json!({"respondents": respondents, "satisfied": satisfied, "method": method, "surveyed_on": day});
    assert_eq!(
        survey(&app, &s, &s.deal.d.bureau, bad(10, 11, "phone"))
            .await
            .problem(422, "validation_failed")
            .fields(),
        ["satisfied"]
    );
    assert_eq!(
        survey(&app, &s, &s.deal.d.bureau, bad(0, 0, "phone"))
            .await
            .problem(422, "validation_failed")
            .fields(),
        ["respondents"]
    );
    assert_eq!(
        survey(&app, &s, &s.deal.d.bureau, bad(10, 5, "carrier_pigeon"))
            .await
            .problem(422, "validation_failed")
            .fields(),
        ["method"]
    );
    // The contract is public, so another district's bureau sees it but may not survey it.
    survey(&app, &s, &s.deal.d.other_bureau, bad(10, 5, "phone"))
        .await
        .problem(403, "forbidden");
    let sat = app
        .get(
            &format!("/api/v1/contracts/{}/satisfaction", s.deal.contract),
            Some(&s.deal.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        sat["surveys"].as_array().map(Vec::len),
        Some(0),
        "nothing recorded: {sat}"
    );
    // Each documented method is accepted.
    for method in ["questionnaire", "interview", "phone", "online"] {
        survey(&app, &s, &s.deal.d.bureau, bad(10, 5, method))
            .await
            .expect(201);
    }
}

/// How many outbox mails are addressed to any of `recipients`.
async fn mails_to(app: &TestApp, recipients: &[String]) -> i64 {
    let state = app.state.clone();
    let recipients = recipients.to_vec();
    tokio::task::spawn_blocking(move || {
        use gongyi::db::schema::outbox;
        let mut c = state.db.write_conn().unwrap();
        outbox::table
            .filter(outbox::recipient.eq_any(recipients))
            .count()
            .get_result::<i64>(&mut **c)
            .unwrap()
    })
    .await
    .unwrap()
}

/// Every outbox mail.
async fn all_mails(app: &TestApp) -> i64 {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use gongyi::db::schema::outbox;
        let mut c = state.db.write_conn().unwrap();
        outbox::table.count().get_result::<i64>(&mut **c).unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn report_reminders_go_to_the_organization_once_a_day_however_often_remind_runs() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    // The organization's addresses: its contact address and its member's account.
    let o = app
        .get(
            &format!("/api/v1/organizations/{}", s.deal.org),
            Some(&s.deal.org_token),
        )
        .await
        .expect(200)
        .body;
    let me = app
        .get("/api/v1/me", Some(&s.deal.org_token))
        .await
        .expect(200)
        .body;
    let org_mail: Vec<String> = [&o["contact_email"], &me["email"]]
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert!(!org_mail.is_empty(), "{o} {me}");
    let mid = review_of(&app, &s, "midterm", 1).await;
    let mid_id = id(&mid);
    let before_open = mails_to(&app, &org_mail).await;
    open(&app, &s, &mid_id).await;
    assert_eq!(
        mails_to(&app, &org_mail).await - before_open,
        1,
        "the opening asks the organization for its report"
    );
    let due = date(&mid["due_on"]);
    // Three days before the report is due (09:00 UTC+8): one reminder, however often the job runs.
    app.set_clock(day_start(due - Duration::days(3)) + Duration::hours(9))
        .await;
    let base = mails_to(&app, &org_mail).await;
    app.run_job("remind").await.expect(200);
    assert_eq!(mails_to(&app, &org_mail).await - base, 1, "one reminder");
    let total = all_mails(&app).await;
    app.run_job("remind").await.expect(200);
    assert_eq!(mails_to(&app, &org_mail).await - base, 1, "still one");
    assert_eq!(all_mails(&app).await, total, "the second run mails nobody");
    // Later the same day: still nothing new.
    app.set_clock(day_start(due - Duration::days(3)) + Duration::hours(20))
        .await;
    app.run_job("remind").await.expect(200);
    assert_eq!(mails_to(&app, &org_mail).await - base, 1);
    // On the due day: one more, once.
    app.set_clock(day_start(due) + Duration::hours(9)).await;
    app.run_job("remind").await.expect(200);
    app.run_job("remind").await.expect(200);
    assert_eq!(mails_to(&app, &org_mail).await - base, 2, "one on the day");
    // Reported, the organization is reminded no more.
    report(&app, &s, &s.deal.org_token, &mid_id)
        .await
        .expect(200);
    app.set_clock(day_start(due) + Duration::hours(10)).await;
    app.run_job("remind").await.expect(200);
    assert_eq!(mails_to(&app, &org_mail).await - base, 2);
}

/// The `remind` mails queued so far (their dedupe keys start `remind:`).
async fn reminders(app: &TestApp) -> i64 {
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        use gongyi::db::schema::outbox;
        let mut c = state.db.write_conn().unwrap();
        outbox::table
            .filter(outbox::dedupe_key.like("remind:%"))
            .count()
            .get_result::<i64>(&mut **c)
            .unwrap()
    })
    .await
    .unwrap()
}

/// Ten runs of `remind` on each of two app instances over one database, all at once, at `now`:
/// the sum of what they report queued.
async fn remind_everywhere(
    a: &gongyi::state::State,
    b: &gongyi::state::State,
    now: DateTime<Utc>,
) -> u64 {
    let runs = (0..20).map(|i| {
        let st = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move {
            let r = gongyi::jobs::run(&st, "remind", now)
                .await
                .expect("remind runs");
            assert_eq!(r.failed, 0, "{r:?}");
            r.processed
        }
    });
    futures_util::future::join_all(runs).await.into_iter().sum()
}

#[tokio::test]
async fn reminders_are_queued_once_with_two_instances_running_remind_at_the_same_time() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    // A second instance over the same database, sharing nothing in memory with the first.
    let settings = (*app.state.settings).clone();
    let other = tokio::task::spawn_blocking(move || gongyi::state::AppState::build(settings))
        .await
        .unwrap()
        .expect("second instance");
    let (a, b) = (app.state.clone(), actix_web::web::Data::new(other));
    let mid = review_of(&app, &s, "midterm", 1).await;
    let mid_id = id(&mid);
    let seats = open(&app, &s, &mid_id).await;
    accept_all(&app, &s, &seats).await;
    let due = date(&mid["due_on"]);
    let base = reminders(&app).await;
    // The organization, three days before its report is due: one mail between twenty runs.
    let at = day_start(due - Duration::days(3)) + Duration::hours(9);
    assert_eq!(remind_everywhere(&a, &b, at).await, 1);
    assert_eq!(reminders(&app).await - base, 1);
    assert_eq!(remind_everywhere(&a, &b, at).await, 0, "nothing twice");
    // Reported; three days before scoring closes each expert without a sheet gets one.
    app.set_clock(day_start(due) + Duration::hours(8)).await;
    report(&app, &s, &s.deal.org_token, &mid_id)
        .await
        .expect(200);
    let closes = date(&read(&app, &s, &mid_id).await["scoring_closes_on"]);
    assert_eq!(closes, due + Duration::days(10), "reviews.scoring_days");
    let at = day_start(closes - Duration::days(3)) + Duration::hours(9);
    assert_eq!(remind_everywhere(&a, &b, at).await, 3);
    assert_eq!(reminders(&app).await - base, 4);
    // One expert scores; on the closing day the two others are reminded, once each.
    app.set_clock(at).await;
    score(&app, &s.experts[0].1, &mid_id, [30, 15, 15, 20])
        .await
        .expect(200);
    let at = day_start(closes) + Duration::hours(9);
    assert_eq!(remind_everywhere(&a, &b, at).await, 2);
    assert_eq!(reminders(&app).await - base, 6);
    // Past the close, unfinished: escalated to the bureau once a day.
    let at = day_start(closes + Duration::days(1)) + Duration::hours(9);
    let escalated = remind_everywhere(&a, &b, at).await;
    assert!(escalated >= 1, "the bureau is told");
    assert_eq!(remind_everywhere(&a, &b, at).await, 0);
    assert_eq!(reminders(&app).await - base, 6 + escalated as i64);
}

#[tokio::test]
async fn a_terminated_contracts_reviews_are_neither_opened_nor_failed_by_the_jobs() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let mid = review_of(&app, &s, "midterm", 1).await;
    app.post(
        &format!("/api/v1/contracts/{}/terminate", s.deal.contract),
        Some(&s.deal.d.bureau),
        json!({"reason": "机构无法继续履约"}),
    )
    .await
    .expect(200);
    for day in [
        date(&mid["opens_on"]),
        date(&mid["due_on"]) + Duration::days(1),
    ] {
        app.set_clock(day_start(day) + Duration::hours(9)).await;
        for job in ["open_reviews", "remind"] {
            assert_eq!(
                app.run_job(job).await.expect(200).body["processed"],
                0,
                "{job}"
            );
        }
        assert_eq!(read(&app, &s, &id(&mid)).await["status"], "scheduled");
    }
}

/// The id of `token`'s first assignment that `pick` chooses.
async fn assignment(app: &TestApp, token: &str, pick: impl Fn(&Value) -> bool) -> String {
    let inbox = app
        .get("/api/v1/me/assignments?limit=100", Some(token))
        .await
        .expect(200)
        .body;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| pick(a))
        .unwrap_or_else(|| panic!("no such assignment in {inbox}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The review's seats as the bureau reads them: (expert id, status), in panel order.
async fn seats_of(app: &TestApp, s: &Scene, review: &str) -> Vec<(String, String)> {
    read(app, s, review).await["panel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["expert_id"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn unanswered_review_invitations_expire_after_the_response_window_and_the_bureau_redraws_the_panel(
) {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let mid = id(&review_of(&app, &s, "midterm", 1).await);
    let seats = open(&app, &s, &mid).await;
    // One of the three accepts; the other two never answer.
    accept(&app, &s.experts[0].1, &seats[0]).await;
    let opened = app.now();
    // Not yet: the pack's window is 48 hours.
    app.set_clock(opened + Duration::hours(47)).await;
    assert_eq!(
        app.run_job("expire_invitations").await.expect(200).body["processed"],
        0
    );
    let before_short = app.outbox_count("Review panel short of alternates").await;
    app.set_clock(opened + Duration::hours(48) + Duration::seconds(1))
        .await;
    assert_eq!(
        app.run_job("expire_invitations").await.expect(200).body["processed"],
        2
    );
    let now = seats_of(&app, &s, &mid).await;
    let status_of = |who: &str| {
        now.iter()
            .find(|(e, _)| e == who)
            .map(|(_, st)| st.clone())
            .unwrap()
    };
    assert_eq!(status_of(&s.experts[0].0), "accepted", "{now:?}");
    assert_eq!(status_of(&s.experts[1].0), "expired", "{now:?}");
    assert_eq!(status_of(&s.experts[2].0), "expired", "{now:?}");
    // No alternate is left: the bureau is told, once per seat, and a second run does nothing.
    assert_eq!(
        app.outbox_count("Review panel short of alternates").await - before_short,
        2
    );
    assert_eq!(
        app.run_job("expire_invitations").await.expect(200).body["processed"],
        0
    );
    // An expired expert can no longer accept.
    app.post(
        &format!("/api/v1/assignments/{}/accept", seats[1]),
        Some(&s.experts[1].1),
        json!({"declaration": "no_conflict"}),
    )
    .await
    .problem(409, "invalid_state");

    // Two more experts join the pool; only the district's bureau may redraw, with a reason.
    let newcomers = [
        expert(&app, &["elderly"], None).await,
        expert(&app, &["elderly"], None).await,
    ];
    let url = format!("/api/v1/reviews/{mid}/panel/redraw");
    app.post(
        &url,
        Some(&s.deal.d.other_bureau),
        json!({"reason": "补充专家后重新抽取"}),
    )
    .await
    .problem(404, "not_found");
    app.post(&url, Some(&s.deal.org_token), json!({"reason": "x"}))
        .await
        .problem(403, "forbidden");
    app.post(&url, Some(&s.deal.d.bureau), json!({"reason": ""}))
        .await
        .problem(422, "validation_failed");
    let invited_before = app.outbox_count("Review panel:").await;
    let r = app
        .post(
            &url,
            Some(&s.deal.d.bureau),
            json!({"reason": "补充专家后重新抽取"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["status"], "open", "{r}");
    // Five eligible now: three members invited afresh (the earlier answers are gone), two on
    // standby; the draw recorded is the new one, so verify-draw checks it.
    let eligible: BTreeSet<String> = r["draw"]["eligible_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    let pool: BTreeSet<String> = s
        .experts
        .iter()
        .chain(newcomers.iter())
        .map(|e| e.0.clone())
        .collect();
    assert_eq!(eligible, pool, "{r}");
    let panel = seats_of(&app, &s, &mid).await;
    let statuses: Vec<&str> = panel.iter().map(|(_, st)| st.as_str()).collect();
    assert_eq!(
        statuses,
        ["invited", "invited", "invited", "standby", "standby"],
        "{panel:?}"
    );
    assert_eq!(app.outbox_count("Review panel:").await - invited_before, 3);
    let events = app
        .get(
            &format!("/api/v1/audit?entity=review&entity_id={mid}&limit=100"),
            Some(&app.admin_token),
        )
        .await
        .expect(200)
        .body;
    let redrawn = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "review.panel_redrawn")
        .unwrap_or_else(|| panic!("audited: {events}"));
    assert_eq!(
        redrawn["summary"]["reason"], "补充专家后重新抽取",
        "{redrawn}"
    );

    // With alternates on standby, an unanswered seat passes to the first of them.
    let tokens: Vec<(String, String)> = s.experts.iter().chain(newcomers.iter()).cloned().collect();
    let token_of = |who: &str| {
        tokens
            .iter()
            .find(|(e, _)| e == who)
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let mut seat_ids = Vec::new();
    for (who, _) in &panel[..3] {
        seat_ids.push(
            assignment(&app, &token_of(who), |a| {
                a["review_id"] == mid.as_str() && a["status"] == "invited"
            })
            .await,
        );
    }
    accept(&app, &token_of(&panel[0].0), &seat_ids[0]).await;
    accept(&app, &token_of(&panel[1].0), &seat_ids[1]).await;
    let redrawn_at = app.now();
    app.set_clock(redrawn_at + Duration::hours(49)).await;
    assert_eq!(
        app.run_job("expire_invitations").await.expect(200).body["processed"],
        1
    );
    let after = seats_of(&app, &s, &mid).await;
    let statuses: Vec<&str> = after.iter().map(|(_, st)| st.as_str()).collect();
    assert_eq!(
        statuses,
        ["accepted", "accepted", "expired", "invited", "standby"],
        "the first alternate is invited: {after:?}"
    );

    // Once a sheet is in, the panel stands.
    let joined = assignment(&app, &token_of(&after[3].0), |a| {
        a["review_id"] == mid.as_str()
    })
    .await;
    accept(&app, &token_of(&after[3].0), &joined).await;
    report(&app, &s, &s.deal.org_token, &mid).await.expect(200);
    score(&app, &token_of(&panel[0].0), &mid, [30, 18, 18, 22])
        .await
        .expect(200);
    let standing = seats_of(&app, &s, &mid).await;
    app.post(&url, Some(&s.deal.d.bureau), json!({"reason": "再抽一次"}))
        .await
        .problem(409, "invalid_state");
    assert_eq!(seats_of(&app, &s, &mid).await, standing);
}

#[tokio::test]
async fn a_scheduled_review_has_no_panel_to_redraw() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let mid = id(&review_of(&app, &s, "midterm", 1).await);
    app.post(
        &format!("/api/v1/reviews/{mid}/panel/redraw"),
        Some(&s.deal.d.bureau),
        json!({"reason": "提前抽取"}),
    )
    .await
    .problem(409, "invalid_state");
    assert_eq!(read(&app, &s, &mid).await["status"], "scheduled");
}

/// Reads the project after `close_bidding` at its close.
async fn closed(app: &TestApp, p: &Value) -> Value {
    let close: DateTime<Utc> = p["bid_close_at"].as_str().unwrap().parse().unwrap();
    app.set_clock(close + Duration::seconds(1)).await;
    app.run_job("close_bidding").await.expect(200);
    app.get(&format!("/api/v1/projects/{}", id(p)), None)
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn a_max_terminated_contracts_rule_refuses_a_bid_and_disqualifies_at_the_opening_within_its_window(
) {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let d = &s.deal.d;
    let (org, token) = (&s.deal.org, &s.deal.org_token);
    let with_rule = |max: u64, years: Option<u64>| {
        move |spec: &mut Value| {
            spec["eligibility"]["max_terminated_contracts"] = json!(max);
            if let Some(y) = years {
                spec["eligibility"]["terminated_within_years"] = json!(y);
            }
        }
    };
    // Before any termination the strictest rule lets the organization bid.
    let early = app.open_project(d, with_rule(0, None)).await;
    app.bid(&id(&early), token, "90000.00").await.expect(201);

    app.post(
        &format!("/api/v1/contracts/{}/terminate", s.deal.contract),
        Some(&d.bureau),
        json!({"reason": "机构无法继续履约"}),
    )
    .await
    .expect(200);
    let record = app
        .get(&format!("/api/v1/organizations/{org}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(record["track_record"]["terminated"], 1, "{record}");

    // Now: refused where none is allowed, naming the rule; admitted where one is.
    let strict = app.open_project(d, with_rule(0, None)).await;
    let r = app
        .bid(&id(&strict), token, "90000.00")
        .await
        .problem(422, "not_eligible");
    assert_eq!(
        r.fields(),
        ["eligibility.max_terminated_contracts"],
        "{}",
        r.body
    );
    assert!(
        r.body.to_string().contains("had 1"),
        "the reason counts the terminations: {}",
        r.body
    );
    let lenient = app.open_project(d, with_rule(1, Some(1))).await;
    app.bid(&id(&lenient), token, "90000.00").await.expect(201);
    // Another organization with a clean record bids on the strict project.
    let (_, clean) = app.verified_org(d).await;
    app.bid(&id(&strict), &clean, "95000.00").await.expect(201);

    // The bid placed before the termination is disqualified at the opening: the rule is
    // checked again against the record as it is then.
    let p = closed(&app, &early).await;
    let opening = app
        .get(&format!("/api/v1/projects/{}/opening", id(&p)), None)
        .await
        .expect(200)
        .body;
    let bid = opening["bids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["organization_id"] == org.as_str())
        .unwrap_or_else(|| panic!("{opening}"));
    assert_eq!(bid["status"], "disqualified", "{opening}");
    assert!(
        bid["disqualified_reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("eligibility.max_terminated_contracts:")),
        "{opening}"
    );

    // A window without its rule, or out of range, is refused at drafting.
    for (el, field) in [
        (
            json!({"terminated_within_years": 2}),
            "eligibility.terminated_within_years",
        ),
        (
            json!({"max_terminated_contracts": 1, "terminated_within_years": 0}),
            "eligibility.terminated_within_years",
        ),
        (
            json!({"max_terminated_contracts": -1}),
            "eligibility.max_terminated_contracts",
        ),
    ] {
        let mut spec = app.spec(d, "300000.00", &[]);
        spec["eligibility"] = el;
        let r = app
            .post("/api/v1/projects", Some(&d.bureau), spec)
            .await
            .expect(422);
        assert!(
            r.fields().iter().any(|f| f.starts_with(field)),
            "{field}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_track_record_criterion_gives_points_from_the_mean_review_score_at_the_opening() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let d = &s.deal.d;
    // The mid-term review passes at exactly 90.00.
    let mid = id(&review_of(&app, &s, "midterm", 1).await);
    let sheets = [[30, 18, 18, 22], [33, 19, 17, 23], [33, 17, 19, 21]];
    let r = run_review(&app, &s, &mid, sheets).await;
    assert_score(&r, "90.00", "excellent", "passed");

    // A criterion the panel does not score: 30 points from the track record, 15 without one.
    let criteria = json!([
        {"key": "plan", "name": "服务方案", "max_points": 50},
        {"key": "record", "name": "履约评估记录", "max_points": 30, "basis": "track_record", "no_record_points": 15}
    ]);
    for (bad, field) in [
        (
            json!({"key": "record", "name": "履约", "max_points": 30, "basis": "track_record"}),
            "no_record_points",
        ),
        (
            json!({"key": "record", "name": "履约", "max_points": 30, "basis": "track_record", "no_record_points": 31}),
            "no_record_points",
        ),
        (
            json!({"key": "record", "name": "履约", "max_points": 30, "no_record_points": 5}),
            "no_record_points",
        ),
        (
            json!({"key": "record", "name": "履约", "max_points": 30, "basis": "rumour"}),
            "basis",
        ),
    ] {
        let mut spec = app.spec(d, "300000.00", &[]);
        spec["evaluation"]["criteria"] =
            json!([{"key": "plan", "name": "服务方案", "max_points": 50}, bad]);
        let r = app
            .post("/api/v1/projects", Some(&d.bureau), spec)
            .await
            .expect(422);
        assert!(
            r.fields().iter().any(|f| f.contains(field)),
            "{field}: {}",
            r.body
        );
    }
    let c2 = criteria.clone();
    let p = app
        .open_project(d, move |spec| spec["evaluation"]["criteria"] = c2)
        .await;
    assert_eq!(
        p["evaluation"]["criteria"], criteria,
        "published as written"
    );
    let pid = id(&p);
    let with_record = app
        .bid(&pid, &s.deal.org_token, "100000.00")
        .await
        .expect(201)
        .body;
    let (clean_org, clean) = app.verified_org(d).await;
    let without = app.bid(&pid, &clean, "100000.00").await.expect(201).body;
    closed(&app, &p).await;
    for (_, token) in &s.experts {
        let seat = assignment(&app, token, |a| {
            a["project_id"] == pid.as_str() && a["status"] == "invited"
        })
        .await;
        accept(&app, token, &seat).await;
        for b in [&with_record, &without] {
            let url = format!("/api/v1/bids/{}/score", id(b));
            // The panel may not give the track record's points.
            let r = app
                .put(
                    &url,
                    token,
                    json!({"points": {"plan": 40, "record": 30}, "comment": "x"}),
                )
                .await
                .expect(422);
            assert!(
                r.fields().iter().any(|f| f.contains("record")),
                "{}",
                r.body
            );
            app.put(
                &url,
                token,
                json!({"points": {"plan": 40}, "comment": "方案可行"}),
            )
            .await
            .expect(200);
        }
    }
    let ev = app
        .get(
            &format!("/api/v1/projects/{pid}/evaluation"),
            Some(&d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ev["status"], "complete", "{ev}");
    let ranking = ev["ranking"].as_array().unwrap();
    // 40 + 30 × 90 / 100 = 67.00 against 40 + 15 = 55.00, at the same price score.
    assert_eq!(ranking[0]["organization_id"], s.deal.org.as_str(), "{ev}");
    assert_eq!(ranking[0]["technical_score"], "67.00", "{ev}");
    assert_eq!(ranking[0]["track_record_points"], "27.00", "{ev}");
    assert_eq!(ranking[1]["organization_id"], clean_org.as_str(), "{ev}");
    assert_eq!(ranking[1]["technical_score"], "55.00", "{ev}");
    assert_eq!(ranking[1]["track_record_points"], "15.00", "{ev}");
    assert_eq!(ranking[0]["price_score"], ranking[1]["price_score"], "{ev}");
}

/// A review sheet's draft: its author's alone, counted nowhere, replaced by the final sheet.
#[tokio::test]
async fn a_review_sheet_draft_is_private_and_the_last_final_sheet_still_decides() {
    let app = app().await;
    let s = active_scene(&app, |_| {}).await;
    let mid = review_of(&app, &s, "midterm", 1).await;
    let review = mid["id"].as_str().unwrap();
    let seats = open(&app, &s, review).await;
    accept_all(&app, &s, &seats).await;
    report(&app, &s, &s.deal.org_token, review)
        .await
        .expect(200);
    let path = format!("/api/v1/reviews/{review}/score/draft");
    let (me, other) = (&s.experts[0].1, &s.experts[1].1);
    let d = app
        .put(&path, me, json!({"points": {"implementation": 3}}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        d["missing"],
        json!(["inputs", "finance", "outcomes"]),
        "{d}"
    );
    let r = app
        .put(
            &path,
            me,
            json!({"points": {"finance": 21}, "dissent": "x"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["dissent"]);
    let r = app
        .put(&path, me, json!({"points": {"finance": 21}}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["points.finance"]);
    app.get(&path, Some(other)).await.problem(404, "not_found");
    app.get(&path, Some(&s.deal.d.bureau))
        .await
        .problem(403, "forbidden");
    // Every other expert submits: the review waits for mine, the draft counting for nothing.
    for (_, token) in &s.experts[1..] {
        score(&app, token, review, [30, 17, 18, 21])
            .await
            .expect(200);
    }
    assert_eq!(read(&app, &s, review).await["status"], "scoring");
    let mine = score(&app, me, review, [33, 17, 18, 21]).await.expect(200);
    assert_eq!(mine.body["status"], "passed", "{}", mine.body);
    app.get(&path, Some(me)).await.problem(404, "not_found");
    app.put(&path, me, json!({"points": {"implementation": 30}}))
        .await
        .problem(409, "score_final");
}
