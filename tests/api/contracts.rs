//! Contracts and staged releases: drawn up from a final award, signed by both sides, paid once
//! per tranche, amended within 10 %, terminated with the unpaid part returned, late signatures
//! and late payments flagged once — reading the fund and its reconciliation back at each step.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::evaluation::expert;
use crate::helpers::{spawn_with, District, Reply, TestApp};

pub async fn app() -> TestApp {
    spawn_with(|s| s.auth.access_ttl_secs = 400 * 86_400).await
}

/// A contract drawn up from a final award, and who is party to it.
pub struct Deal {
    pub d: District,
    pub project: String,
    pub award: String,
    pub contract: String,
    pub org: String,
    pub org_token: String,
}

/// An award in its objection window.
pub struct Awarded {
    pub project: String,
    pub award: Value,
    pub org: String,
    pub org_token: String,
}

/// Three experts for the panels of a test (a pool of exactly three: every panel is all three).
pub async fn panel_pool(app: &TestApp) -> Vec<String> {
    let mut experts = Vec::new();
    for _ in 0..3 {
        experts.push(expert(app, &["elderly"], None).await.1);
    }
    experts
}

/// Takes a project of `d` (its spec changed by `tweak`) through one bid at `price`, the panel
/// of `pool` accepting and scoring it, to the award.
pub async fn awarded(
    app: &TestApp,
    d: &District,
    pool: &[String],
    price: &str,
    tweak: impl FnOnce(&mut Value),
) -> Awarded {
    let project = app.open_project(d, tweak).await;
    let pid = project["id"].as_str().unwrap().to_owned();
    let (org, org_token) = app.verified_org(d).await;
    let bid = app.bid(&pid, &org_token, price).await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let close: DateTime<Utc> = project["bid_close_at"].as_str().unwrap().parse().unwrap();
    app.set_clock(close + Duration::seconds(1)).await;
    app.run_job("close_bidding").await.expect(200);
    for t in pool {
        let inbox = app
            .get("/api/v1/me/assignments?limit=100", Some(t))
            .await
            .expect(200)
            .body;
        let seat = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["project_id"] == pid.as_str() && a["status"] == "invited")
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no invitation for the project in {inbox}"));
        app.post(
            &format!("/api/v1/assignments/{seat}/accept"),
            Some(t),
            json!({"declaration": "no_conflict"}),
        )
        .await
        .expect(200);
        app.put(
            &format!("/api/v1/bids/{bid}/score"),
            t,
            json!({"points": {"plan": 40, "team": 25}, "comment": "方案可行"}),
        )
        .await
        .expect(200);
    }
    let award = app
        .post(
            &format!("/api/v1/projects/{pid}/award"),
            Some(&d.bureau),
            json!({"bid_id": bid}),
        )
        .await
        .expect(201)
        .body;
    Awarded {
        project: pid,
        award,
        org,
        org_token,
    }
}

/// The objection window of `award` passes.
pub async fn past_objections(app: &TestApp, award: &Value) {
    let deadline: DateTime<Utc> = award["objection_deadline"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    if app.now() <= deadline {
        app.set_clock(deadline + Duration::seconds(1)).await;
    }
}

/// A project (its spec changed by `tweak`) of a new district taken through one bid at `price`
/// and its award to the contract `finalize_awards` draws up.
pub async fn contracted(app: &TestApp, price: &str, tweak: impl FnOnce(&mut Value)) -> Deal {
    let d = app.district().await;
    let pool = panel_pool(app).await;
    let a = awarded(app, &d, &pool, price, tweak).await;
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
    Deal {
        contract: list["items"][0]["id"].as_str().unwrap().to_owned(),
        award: a.award["id"].as_str().unwrap().to_owned(),
        d,
        project: a.project,
        org: a.org,
        org_token: a.org_token,
    }
}

impl Deal {
    pub async fn read(&self, app: &TestApp) -> Value {
        app.get(
            &format!("/api/v1/contracts/{}", self.contract),
            Some(&self.d.bureau),
        )
        .await
        .expect(200)
        .body
    }

    pub async fn fund(&self, app: &TestApp) -> Value {
        app.get(
            &format!("/api/v1/funds/{}", self.d.fund),
            Some(&self.d.bureau),
        )
        .await
        .expect(200)
        .body
    }

    /// Both sides sign; the contract is active.
    pub async fn sign_both(&self, app: &TestApp) -> Value {
        let path = format!("/api/v1/contracts/{}/sign", self.contract);
        app.post(&path, Some(&self.org_token), json!({}))
            .await
            .expect(200);
        app.post(&path, Some(&self.d.bureau), json!({}))
            .await
            .expect(200)
            .body
    }

    pub async fn release(&self, app: &TestApp, tranche: &str, key: &str, reference: &str) -> Reply {
        let req = app
            .client
            .post(app.url(&format!("/api/v1/tranches/{tranche}/release")))
            .bearer_auth(&self.d.bureau)
            .header("Idempotency-Key", key)
            .json(&json!({"payment_reference": reference}));
        crate::helpers::into_reply(req.send().await.expect("request")).await
    }

    pub async fn amend(&self, app: &TestApp, version: Option<&str>, body: Value) -> Reply {
        let mut req = app
            .client
            .post(app.url(&format!("/api/v1/contracts/{}/amendments", self.contract)))
            .bearer_auth(&self.d.bureau)
            .json(&body);
        if let Some(v) = version {
            req = req.header("If-Match", v);
        }
        crate::helpers::into_reply(req.send().await.expect("request")).await
    }
}

/// The late-payments report of the deal's district, as its bureau reads it.
async fn late_payments(app: &TestApp, deal: &Deal) -> Value {
    app.get("/api/v1/reports/late-payments", Some(&deal.d.bureau))
        .await
        .expect(200)
        .body
}

/// The fund's reconciliation, which must be clean.
pub async fn reconciled(app: &TestApp, d: &District) -> Value {
    let r = app
        .get(
            &format!("/api/v1/funds/{}/reconcile", d.fund),
            Some(&d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["ok"], true, "{r}");
    r
}

fn money(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[tokio::test]
async fn a_final_award_becomes_a_contract_signed_paid_amended_and_terminated_with_the_fund_read_back(
) {
    let app = app().await;
    // 100000.01 splits 30 / 40 / 30 to the fen: 30000.00, 40000.00 and the remainder 30000.01.
    let deal = contracted(&app, "100000.01", |_| {}).await;
    let c = deal.read(&app).await;
    assert_eq!(c["status"], "pending_signature");
    assert_eq!(
        (money(&c["amount"]), money(&c["original_amount"])),
        ("100000.01", "100000.01")
    );
    assert_eq!(c["organization_id"], deal.org);
    assert_eq!(c["kpis"][0]["indicator"], "服务人次");
    let amounts: Vec<&str> = c["tranches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| money(&t["amount"]))
        .collect();
    assert_eq!(amounts, ["30000.00", "40000.00", "30000.01"]);
    assert!(c["tranches"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "pending"));
    // The notice + 30 days, at the end of that day in China Standard Time.
    let award = app
        .get(&format!("/api/v1/awards/{}", deal.award), None)
        .await
        .expect(200)
        .body;
    assert_eq!(award["status"], "final");
    let noticed: DateTime<Utc> = award["created_at"].as_str().unwrap().parse().unwrap();
    let deadline: DateTime<Utc> = c["sign_deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (deadline + Duration::hours(8)).date_naive(),
        (noticed + Duration::hours(8)).date_naive() + Duration::days(30)
    );
    // The fund: the ceiling (300000.00) is returned, the awarded amount committed.
    let f = deal.fund(&app).await;
    assert_eq!(
        (
            money(&f["reserved"]),
            money(&f["committed"]),
            money(&f["released"]),
            money(&f["available"])
        ),
        ("0.00", "100000.01", "0.00", "899999.99")
    );
    assert_eq!(
        app.get(&format!("/api/v1/projects/{}", deal.project), None)
            .await
            .expect(200)
            .body["status"],
        "contracted"
    );
    assert_eq!(
        app.outbox_count("Contract to sign").await,
        2,
        "the organization and the bureau"
    );
    reconciled(&app, &deal.d).await;
    // Unsigned, it is not public; nor does another district's bureau see it.
    let path = format!("/api/v1/contracts/{}", deal.contract);
    app.get(&path, None).await.problem(404, "not_found");
    app.get(&path, Some(&deal.d.other_bureau))
        .await
        .problem(404, "not_found");
    let (_, outsider) = app.verified_org(&deal.d).await;
    app.post(&format!("{path}/sign"), Some(&outsider), json!({}))
        .await
        .problem(404, "not_found");
    app.post(
        &format!("{path}/sign"),
        Some(&deal.d.other_bureau),
        json!({}),
    )
    .await
    .problem(404, "not_found");
    // Each side signs once.
    let signed = app
        .post(&format!("{path}/sign"), Some(&deal.org_token), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(signed["status"], "pending_signature");
    assert!(signed["signed_by_org_at"].is_string() && signed["signed_by_bureau_at"].is_null());
    app.post(&format!("{path}/sign"), Some(&deal.org_token), json!({}))
        .await
        .problem(409, "already_signed");
    let active = app
        .post(&format!("{path}/sign"), Some(&deal.d.bureau), json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(active["status"], "active");
    assert!(active["activated_at"].is_string());
    app.post(&format!("{path}/sign"), Some(&deal.d.bureau), json!({}))
        .await
        .problem(409, "already_signed");
    let t = active["tranches"].as_array().unwrap().clone();
    assert_eq!(
        t.iter()
            .map(|x| x["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["releasable", "pending", "pending"]
    );
    assert!(t[0]["release_due"].is_string());
    assert_eq!(t[0]["release_overdue"], false);
    let first = t[0]["id"].as_str().unwrap().to_owned();
    // Another district's bureau cannot pay it: 404, and nothing moved.
    let foreign = app
        .client
        .post(app.url(&format!("/api/v1/tranches/{first}/release")))
        .bearer_auth(&deal.d.other_bureau)
        .header("Idempotency-Key", "k-foreign")
        .json(&json!({"payment_reference": "GK-FOREIGN"}));
    crate::helpers::into_reply(foreign.send().await.expect("request"))
        .await
        .problem(404, "not_found");
    assert_eq!(money(&deal.fund(&app).await["released"]), "0.00");
    assert_eq!(deal.read(&app).await["tranches"][0]["status"], "releasable");
    // Released once: the same key replays the stored answer; another key is refused.
    let paid = deal
        .release(&app, &first, "k-1", "GK2026-0001")
        .await
        .expect(200);
    assert_eq!(paid.body["status"], "released");
    assert_eq!(paid.body["payment_reference"], "GK2026-0001");
    let replay = deal
        .release(&app, &first, "k-1", "GK2026-0001")
        .await
        .expect(200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, paid.body);
    deal.release(&app, &first, "k-2", "GK2026-0002")
        .await
        .problem(409, "invalid_state");
    deal.release(&app, t[1]["id"].as_str().unwrap(), "k-3", "GK2026-0003")
        .await
        .problem(409, "invalid_state");
    let f = deal.fund(&app).await;
    assert_eq!(
        (money(&f["committed"]), money(&f["released"])),
        ("100000.01", "30000.00")
    );
    assert_eq!(app.outbox_count("Payment released").await, 1);
    // The public reads an active contract without payment references.
    let public = app.get(&path, None).await.expect(200).body;
    assert_eq!(public["tranches"][0]["status"], "released");
    assert!(public["tranches"][0]["payment_reference"].is_null());
    assert!(public["tranches"][0]["released_by"].is_null());
    let mine = app.get(&path, Some(&deal.org_token)).await.expect(200).body;
    assert_eq!(mine["tranches"][0]["payment_reference"], "GK2026-0001");
    assert_eq!(mine["released"], "30000.00");
    reconciled(&app, &deal.d).await;
    // Amendments: If-Match required and current; at most +10 % over the original in all; never
    // below what is released.
    let version = deal.read(&app).await["version"].as_i64().unwrap();
    let etag = format!("\"{version}\"");
    deal.amend(
        &app,
        None,
        json!({"amount": "105000.00", "reason": "增加服务人次"}),
    )
    .await
    .problem(428, "precondition_required");
    deal.amend(
        &app,
        Some("\"1\""),
        json!({"amount": "105000.00", "reason": "增加服务人次"}),
    )
    .await
    .problem(412, "version_mismatch");
    let over = deal
        .amend(
            &app,
            Some(&etag),
            json!({"amount": "110000.02", "reason": "超过百分之十"}),
        )
        .await;
    assert_eq!(
        over.problem(422, "amendment_over_limit").fields(),
        ["amount"]
    );
    let below = deal
        .amend(
            &app,
            Some(&etag),
            json!({"amount": "29999.99", "reason": "低于已拨付"}),
        )
        .await;
    assert_eq!(below.problem(422, "validation_failed").fields(), ["amount"]);
    let amended = deal
        .amend(
            &app,
            Some(&etag),
            json!({"amount": "110000.01", "reason": "增加服务人次"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(
        (
            money(&amended["amount"]),
            money(&amended["original_amount"])
        ),
        ("110000.01", "100000.01")
    );
    assert_eq!(amended["amendments"][0]["amount_before"], "100000.01");
    assert_eq!(amended["amendments"][0]["amount_after"], "110000.01");
    // The unreleased 80000.01 re-split 40 : 30, rounded down, the last the remainder.
    let amounts: Vec<&str> = amended["tranches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| money(&t["amount"]))
        .collect();
    assert_eq!(amounts, ["30000.00", "45714.29", "34285.72"]);
    // The stale version is refused now, and the cap counts every increase together.
    deal.amend(
        &app,
        Some(&etag),
        json!({"amount": "100000.01", "reason": "回调"}),
    )
    .await
    .problem(412, "version_mismatch");
    let f = deal.fund(&app).await;
    assert_eq!(
        (money(&f["committed"]), money(&f["available"])),
        ("110000.01", "889999.99")
    );
    reconciled(&app, &deal.d).await;
    // A decrease returns money to the fund; increases count together, so going back up is
    // refused once they reach 10 % of the original (a cut does not make room for more).
    let v = format!("\"{}\"", amended["version"].as_i64().unwrap());
    let cut = deal
        .amend(
            &app,
            Some(&v),
            json!({"amount": "105000.00", "reason": "减少服务内容"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(deal.fund(&app).await["committed"], "105000.00");
    let v = format!("\"{}\"", cut["version"].as_i64().unwrap());
    let again = deal
        .amend(
            &app,
            Some(&v),
            json!({"amount": "105000.01", "reason": "再增加"}),
        )
        .await;
    assert_eq!(
        again.problem(422, "amendment_over_limit").fields(),
        ["amount"]
    );
    reconciled(&app, &deal.d).await;
    // Termination: the unreleased tranches cancelled, the unreleased commitment returned.
    let end = app
        .post(
            &format!("{path}/terminate"),
            Some(&deal.d.bureau),
            json!({"reason": "服务机构无法继续履约"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(end["status"], "terminated");
    assert_eq!(end["termination_reason"], "服务机构无法继续履约");
    assert_eq!(
        end["tranches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["status"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["released", "cancelled", "cancelled"]
    );
    // A cancelled tranche is never paid.
    deal.release(
        &app,
        end["tranches"][1]["id"].as_str().unwrap(),
        "k-after-end",
        "GK-AFTER",
    )
    .await
    .problem(409, "invalid_state");
    let f = deal.fund(&app).await;
    assert_eq!(
        (
            money(&f["committed"]),
            money(&f["released"]),
            money(&f["available"])
        ),
        ("30000.00", "30000.00", "970000.00")
    );
    app.post(
        &format!("{path}/terminate"),
        Some(&deal.d.bureau),
        json!({"reason": "再次"}),
    )
    .await
    .problem(409, "invalid_state");
    let last = format!("\"{}\"", end["version"].as_i64().unwrap());
    deal.amend(
        &app,
        Some(&last),
        json!({"amount": "100000.01", "reason": "终止后"}),
    )
    .await
    .problem(409, "invalid_state");
    let r = reconciled(&app, &deal.d).await;
    assert_eq!(
        (r["contracts"].as_u64(), r["tranches"].as_u64()),
        (Some(1), Some(3))
    );
    // Every step is in the audit chain, and the chain holds.
    let audit = app
        .get(
            &format!("/api/v1/audit?entity=contract&entity_id={}", deal.contract),
            Some(&app.admin_token),
        )
        .await
        .expect(200)
        .body;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "contract.created",
        "contract.signed",
        "contract.activated",
        "contract.amended",
        "contract.terminated",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert_eq!(
        app.get("/api/v1/audit/verify", Some(&app.admin_token))
            .await
            .expect(200)
            .body["ok"],
        true
    );
}

#[tokio::test]
async fn an_unsigned_contract_is_flagged_once_after_thirty_days() {
    let app = app().await;
    let deal = contracted(&app, "90000.00", |_| {}).await;
    let c = deal.read(&app).await;
    let deadline: DateTime<Utc> = c["sign_deadline"].as_str().unwrap().parse().unwrap();
    app.set_clock(deadline - Duration::seconds(1)).await;
    assert_eq!(
        app.run_job("flag_unsigned_contracts")
            .await
            .expect(200)
            .body["processed"],
        0
    );
    assert_eq!(deal.read(&app).await["signature_overdue"], false);
    app.set_clock(deadline + Duration::days(1)).await;
    assert_eq!(
        app.run_job("flag_unsigned_contracts")
            .await
            .expect(200)
            .body["processed"],
        1
    );
    assert_eq!(
        app.run_job("flag_unsigned_contracts")
            .await
            .expect(200)
            .body["processed"],
        0
    );
    assert_eq!(deal.read(&app).await["signature_overdue"], true);
    assert_eq!(
        app.outbox_count("Contract unsigned past its deadline")
            .await,
        1
    );
}

#[tokio::test]
async fn a_releasable_tranche_unpaid_past_fifteen_working_days_is_overdue_and_told_once() {
    let app = app().await;
    let deal = contracted(&app, "90000.00", |_| {}).await;
    let active = deal.sign_both(&app).await;
    let t = &active["tranches"][0];
    let due: chrono::NaiveDate = t["release_due"].as_str().unwrap().parse().unwrap();
    let releasable: DateTime<Utc> = t["releasable_at"].as_str().unwrap().parse().unwrap();
    // 15 working days after the day it became releasable, by the working-day calendar.
    let cal = app
        .get(
            &format!(
                "/api/v1/calendar/working-days?from={}&days=15",
                (releasable + Duration::hours(8)).date_naive()
            ),
            None,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        cal["date"].as_str(),
        Some(due.to_string().as_str()),
        "{cal}"
    );
    // The late-payments report: nothing while it is not late.
    assert_eq!(late_payments(&app, &deal).await["items"], json!([]));
    // On its due day (until 24:00 UTC+8) it is not overdue; the next day it is, told once.
    let end_of_due = due
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        - Duration::hours(8);
    app.set_clock(end_of_due - Duration::seconds(1)).await;
    assert_eq!(
        app.run_job("mature_tranches").await.expect(200).body["processed"],
        0
    );
    app.set_clock(end_of_due + Duration::seconds(1)).await;
    assert_eq!(
        app.run_job("mature_tranches").await.expect(200).body["processed"],
        1
    );
    assert_eq!(
        app.run_job("mature_tranches").await.expect(200).body["processed"],
        0
    );
    assert_eq!(
        deal.read(&app).await["tranches"][0]["release_overdue"],
        true
    );
    assert_eq!(app.outbox_count("Payment overdue").await, 1);
    let r = late_payments(&app, &deal).await;
    assert_eq!(r["items"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["items"][0]["tranche_id"], t["id"]);
    assert_eq!(r["items"][0]["released_at"], Value::Null);
    assert_eq!(r["items"][0]["days_late"], 1);
    assert_eq!(
        (
            r["totals"]["overdue_unpaid"].as_i64(),
            r["totals"]["overdue_unpaid_amount"].as_str()
        ),
        (Some(1), Some("27000.00"))
    );
    // Paid late, it is released all the same and no longer overdue.
    let id = t["id"].as_str().unwrap().to_owned();
    let paid = deal
        .release(&app, &id, "late-1", "GK-LATE")
        .await
        .expect(200)
        .body;
    assert_eq!(
        (paid["status"].as_str(), paid["release_overdue"].as_bool()),
        (Some("released"), Some(false))
    );
    let r = late_payments(&app, &deal).await;
    assert_eq!(
        (
            r["totals"]["paid_late"].as_i64(),
            r["totals"]["paid_late_amount"].as_str(),
            r["totals"]["overdue_unpaid"].as_i64()
        ),
        (Some(1), Some("27000.00"), Some(0)),
        "{r}"
    );
    assert!(r["items"][0]["released_at"].is_string());
    // Another district's bureau sees none of it.
    app.get(
        &format!(
            "/api/v1/reports/late-payments?district_id={}",
            deal.d.regions.district
        ),
        Some(&deal.d.other_bureau),
    )
    .await
    .problem(404, "not_found");
    reconciled(&app, &deal.d).await;
}

#[tokio::test]
async fn an_on_date_tranche_becomes_releasable_on_its_day_and_a_fully_paid_contract_waits_for_its_completion_review(
) {
    let app = app().await;
    let deal = contracted(&app, "50000.00", |spec| {
        let start: chrono::NaiveDate = spec["service_start"].as_str().unwrap().parse().unwrap();
        spec["payment_plan"] = json!([
            {"condition": "on_signing", "percent": 50},
            {"condition": "on_date", "percent": 50, "date": (start + Duration::days(90)).to_string()}
        ]);
    })
    .await;
    let active = deal.sign_both(&app).await;
    // The first half is paid at signing (so it is not overdue when the clock jumps).
    let first = active["tranches"][0]["id"].as_str().unwrap().to_owned();
    deal.release(&app, &first, "d-0", "GK-0").await.expect(200);
    let date: chrono::NaiveDate = active["tranches"][1]["date"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let day_start = date.and_hms_opt(0, 0, 0).unwrap().and_utc() - Duration::hours(8);
    app.set_clock(day_start - Duration::seconds(1)).await;
    assert_eq!(
        app.run_job("mature_tranches").await.expect(200).body["processed"],
        0
    );
    app.set_clock(day_start + Duration::seconds(1)).await;
    assert_eq!(
        app.run_job("mature_tranches").await.expect(200).body["processed"],
        1
    );
    assert_eq!(
        app.run_job("mature_tranches").await.expect(200).body["processed"],
        0
    );
    let c = deal.read(&app).await;
    assert_eq!(c["tranches"][1]["status"], "releasable");
    let second = c["tranches"][1]["id"].as_str().unwrap().to_owned();
    deal.release(&app, &second, "d-1", "GK-1").await.expect(200);
    // No completion review in this plan: fully paid, it stays active for the review to close.
    let c = deal.read(&app).await;
    assert_eq!(
        (c["status"].as_str(), c["released"].as_str()),
        (Some("active"), Some("50000.00"))
    );
    reconciled(&app, &deal.d).await;
}

#[tokio::test]
async fn every_bad_money_input_to_an_amendment_is_a_422_naming_the_field() {
    let app = app().await;
    let deal = contracted(&app, "90000.00", |_| {}).await;
    let v = format!("\"{}\"", deal.read(&app).await["version"].as_i64().unwrap());
    for amount in [
        json!(95000),
        json!("95000.001"),
        json!("-1.00"),
        json!("0.00"),
        json!("10000000000.00"),
        json!("9.5e4"),
        json!(null),
    ] {
        let r = deal
            .amend(&app, Some(&v), json!({"amount": amount, "reason": "调整"}))
            .await;
        assert_eq!(r.status.as_u16(), 422, "{amount}: {}", r.body);
        assert_eq!(r.fields(), ["amount"], "{amount}: {}", r.body);
    }
    let r = deal
        .amend(
            &app,
            Some(&v),
            json!({"amount": "95000.00", "reason": "  "}),
        )
        .await;
    assert_eq!(r.problem(422, "validation_failed").fields(), ["reason"]);
    let r = deal
        .amend(
            &app,
            Some(&v),
            json!({"amount": "95000.00", "reason": "调整", "status": "active"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    // Nothing moved.
    let c = deal.read(&app).await;
    assert_eq!(
        (
            c["amount"].as_str(),
            c["amendments"].as_array().map(Vec::len)
        ),
        (Some("90000.00"), Some(0))
    );
    reconciled(&app, &deal.d).await;
}

#[tokio::test]
async fn amendments_racing_on_one_version_make_one_change_and_never_overspend() {
    let app = app().await;
    let deal = contracted(&app, "100000.00", |_| {}).await;
    deal.sign_both(&app).await;
    for round in 0..20 {
        let c = deal.read(&app).await;
        let v = format!("\"{}\"", c["version"].as_i64().unwrap());
        // Up and down alternately, so the 10 % cap on increases is not reached in 20 rounds.
        let amount = if round % 2 == 0 {
            "100000.50"
        } else {
            "100000.00"
        };
        let sends = (0..8).map(|i| {
            let (app, deal, v) = (&app, &deal, v.clone());
            async move {
                deal.amend(
                    app,
                    Some(&v),
                    json!({"amount": amount, "reason": format!("第{round}轮第{i}次")}),
                )
                .await
            }
        });
        let replies = futures_util::future::join_all(sends).await;
        let won = replies.iter().filter(|r| r.status.as_u16() == 201).count();
        let stale = replies.iter().filter(|r| r.status.as_u16() == 412).count();
        assert_eq!(
            (won, stale),
            (1, 7),
            "round {round}: {:?}",
            replies.iter().map(|r| r.status).collect::<Vec<_>>()
        );
        assert_eq!(deal.fund(&app).await["committed"], amount, "round {round}");
    }
    let c = deal.read(&app).await;
    assert_eq!(c["amendments"].as_array().unwrap().len(), 20);
    let r = reconciled(&app, &deal.d).await;
    assert_eq!(r["committed"], "100000.00");
}

#[tokio::test]
async fn awards_finalized_at_once_against_one_fund_commit_each_amount_once() {
    let app = app().await;
    let d = app.district().await;
    let pool = panel_pool(&app).await;
    let mut awards = Vec::new();
    for price in ["120000.00", "150000.00", "90000.00"] {
        awards.push(awarded(&app, &d, &pool, price, |_| {}).await.award);
    }
    for a in &awards {
        past_objections(&app, a).await;
    }
    // Four runs of the job at once (a scheduler on each of four replicas).
    let runs = (0..4).map(|_| app.run_job("finalize_awards"));
    let reports = futures_util::future::join_all(runs).await;
    let processed: u64 = reports
        .iter()
        .map(|r| r.body["processed"].as_u64().unwrap())
        .sum();
    let failed: u64 = reports
        .iter()
        .map(|r| r.body["failed"].as_u64().unwrap())
        .sum();
    assert_eq!(
        (processed, failed),
        (3, 0),
        "{:?}",
        reports.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    let list = app
        .get("/api/v1/contracts?limit=100", Some(&d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let f = app
        .get(&format!("/api/v1/funds/{}", d.fund), Some(&d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(
        (
            money(&f["reserved"]),
            money(&f["committed"]),
            money(&f["available"])
        ),
        ("0.00", "360000.00", "640000.00")
    );
    reconciled(&app, &d).await;
}

#[tokio::test]
async fn the_contract_and_the_award_notice_print_as_self_contained_escaped_html() {
    let app = app().await;
    let deal = contracted(&app, "100000.10", |spec| {
        spec["title"] = json!("<b>社区</b>居家养老 & \"助餐\"服务");
    })
    .await;
    let path = format!("/api/v1/contracts/{}/document", deal.contract);
    // Not public before both have signed; the parties read it.
    assert_eq!(app.get(&path, None).await.status.as_u16(), 404);
    let r = app.get(&path, Some(&deal.org_token)).await;
    assert_eq!(r.status.as_u16(), 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let page = r.text.clone();
    assert!(
        page.contains("&lt;b&gt;社区&lt;/b&gt;居家养老 &amp; &quot;助餐&quot;服务"),
        "title escaped"
    );
    assert!(!page.contains("<b>社区"));
    assert!(page.contains("壹拾万元零壹角"), "the amount in capitals");
    let uscc = app
        .get(&format!("/api/v1/organizations/{}", deal.org), None)
        .await
        .expect(200)
        .body["uscc"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(page.contains(&uscc), "the organization's credit code");
    assert!(page.contains("未签署"), "both signatures still missing");
    for outside in [
        "<script", "<link", "<img", "url(", "@import", "http://", "https://",
    ] {
        assert!(
            !page.contains(outside),
            "{outside} in the contract document"
        );
    }
    deal.sign_both(&app).await;
    let public = app.get(&path, None).await;
    assert_eq!(public.status.as_u16(), 200);
    assert!(!public.text.contains("未签署"));
    // The notice is public from the start and names the panel.
    let notice = app
        .get(&format!("/api/v1/awards/{}/notice", deal.award), None)
        .await;
    assert_eq!(notice.status.as_u16(), 200);
    let award = app
        .get(&format!("/api/v1/awards/{}", deal.award), None)
        .await
        .expect(200)
        .body;
    for name in award["panel"].as_array().unwrap() {
        assert!(
            notice.text.contains(name.as_str().unwrap()),
            "{name} on the notice"
        );
    }
    assert!(notice.text.contains("壹拾万元零壹角"));
    app.get("/api/v1/awards/nope/notice", None)
        .await
        .problem(404, "not_found");
}

/// `gongyi verify-ledger` on the test database: its exit status and report.
fn verify_ledger(app: &TestApp) -> (bool, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gongyi"))
        .arg("verify-ledger")
        .env("GONGYI__DATABASE__URL", &app.db_url)
        .env("GONGYI__DATA_DIR", app.data_dir())
        .env("GONGYI_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), report)
}

#[tokio::test]
async fn an_increase_must_fit_the_fund_and_a_tampered_ledger_is_named() {
    let app = app().await;
    let deal = contracted(&app, "100000.00", |_| {}).await;
    deal.sign_both(&app).await;
    // Another project reserves all but one fen of what the fund has left.
    app.open_project(&deal.d, |s| s["budget_ceiling"] = json!("899999.99"))
        .await;
    assert_eq!(deal.fund(&app).await["available"], "0.01");
    let v = format!("\"{}\"", deal.read(&app).await["version"].as_i64().unwrap());
    deal.amend(
        &app,
        Some(&v),
        json!({"amount": "100000.02", "reason": "超出资金"}),
    )
    .await
    .problem(409, "budget_exceeded");
    let c = deal
        .amend(
            &app,
            Some(&v),
            json!({"amount": "100000.01", "reason": "恰好用尽"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(c["amount"], "100000.01");
    assert_eq!(deal.fund(&app).await["available"], "0.00");
    let (ok, report) = verify_ledger(&app);
    assert!(ok, "{report}");
    assert_eq!(report["contracts"], 1);
    // A tranche changed behind the API's back: the check names the contract and exits 1.
    let t = c["tranches"][1]["id"].as_str().unwrap();
    app.sql(&format!(
        "UPDATE tranches SET amount_fen = amount_fen + 1 WHERE id = '{t}'"
    ))
    .unwrap();
    let r = app
        .get(
            &format!("/api/v1/funds/{}/reconcile", deal.d.fund),
            Some(&deal.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["ok"], false);
    let first = r["first_mismatch"].as_str().unwrap();
    assert!(
        first.contains(&deal.contract) && first.contains("tranches sum to"),
        "{first}"
    );
    let (ok, report) = verify_ledger(&app);
    assert!(!ok);
    assert!(
        report["first_mismatch"]
            .as_str()
            .unwrap()
            .contains(&deal.contract),
        "{report}"
    );
    // Only the district's bureau and admin reconcile.
    app.get(
        &format!("/api/v1/funds/{}/reconcile", deal.d.fund),
        Some(&deal.d.other_bureau),
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn a_retried_amendment_or_termination_with_its_key_replays_the_answer_and_moves_money_once() {
    let app = app().await;
    let deal = contracted(&app, "100000.00", |_| {}).await;
    deal.sign_both(&app).await;
    let v = format!("\"{}\"", deal.read(&app).await["version"].as_i64().unwrap());
    let post = |path: String, key: &'static str, body: Value, if_match: Option<String>| {
        let mut req = app
            .client
            .post(app.url(&path))
            .bearer_auth(&deal.d.bureau)
            .header("Idempotency-Key", key)
            .json(&body);
        if let Some(v) = if_match {
            req = req.header("If-Match", v);
        }
        async move { crate::helpers::into_reply(req.send().await.expect("request")).await }
    };
    let amend = format!("/api/v1/contracts/{}/amendments", deal.contract);
    let body = json!({"amount": "105000.00", "reason": "增加服务人次"});
    let first = post(amend.clone(), "amend-1", body.clone(), Some(v.clone()))
        .await
        .expect(201);
    assert!(first.header("etag").is_some());
    // The same key again (its If-Match now stale): the stored answer, not a 412.
    let again = post(amend.clone(), "amend-1", body, Some(v.clone()))
        .await
        .expect(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    post(
        amend,
        "amend-1",
        json!({"amount": "106000.00", "reason": "另一个"}),
        Some(v),
    )
    .await
    .problem(422, "idempotency_key_reused");
    assert_eq!(
        deal.read(&app).await["amendments"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(deal.fund(&app).await["committed"], "105000.00");
    let end = format!("/api/v1/contracts/{}/terminate", deal.contract);
    let first = post(end.clone(), "end-1", json!({"reason": "无法履约"}), None)
        .await
        .expect(200);
    let again = post(end.clone(), "end-1", json!({"reason": "无法履约"}), None)
        .await
        .expect(200);
    assert_eq!(
        (again.header("idempotent-replayed"), &again.body),
        (Some("true"), &first.body)
    );
    post(end, "end-2", json!({"reason": "无法履约"}), None)
        .await
        .problem(409, "invalid_state");
    let f = deal.fund(&app).await;
    assert_eq!(
        (f["committed"].as_str(), f["released"].as_str()),
        (Some("0.00"), Some("0.00"))
    );
    reconciled(&app, &deal.d).await;
}

#[tokio::test]
async fn a_project_links_to_its_award_and_contract() {
    let app = app().await;
    let deal = contracted(&app, "100000.00", |_| {}).await;
    let p = app
        .get(&format!("/api/v1/projects/{}", deal.project), None)
        .await
        .expect(200)
        .body;
    let a = &p["award"];
    assert_eq!(a["award_id"], deal.award.as_str(), "{p}");
    assert_eq!(a["status"], "final", "{p}");
    assert_eq!(a["contract_id"], deal.contract.as_str(), "{p}");
    assert_eq!(a["organization_id"], deal.org.as_str(), "{p}");
    assert_eq!(a["amount"], "100000.00", "{p}");
    let org = app
        .get(&format!("/api/v1/organizations/{}", deal.org), None)
        .await
        .expect(200)
        .body;
    assert_eq!(a["organization_name"], org["name"], "{p}");
    // An open project has none yet; lists carry none.
    let open = app.open_project(&deal.d, |_| {}).await;
    let read = app
        .get(
            &format!("/api/v1/projects/{}", open["id"].as_str().unwrap()),
            None,
        )
        .await
        .expect(200)
        .body;
    assert!(read.get("award").is_none(), "{read}");
    let page = app
        .get("/api/v1/projects?limit=100", None)
        .await
        .expect(200)
        .body;
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p.get("award").is_none()),
        "{page}"
    );
}

#[tokio::test]
async fn an_organization_lists_its_own_bids_sealed_and_settled_and_nobody_elses() {
    let app = app().await;
    let deal = contracted(&app, "100000.00", |_| {}).await;
    // The winner bids again on a project still open: sealed, yet its own list shows it.
    let open = app.open_project(&deal.d, |_| {}).await;
    let sealed = app
        .bid(open["id"].as_str().unwrap(), &deal.org_token, "90000.00")
        .await
        .expect(201)
        .body;
    let mine = app
        .get("/api/v1/me/bids?limit=1", Some(&deal.org_token))
        .await
        .expect(200)
        .body;
    // Newest first, one a page.
    assert_eq!(mine["items"][0]["id"], sealed["id"], "{mine}");
    assert_eq!(mine["items"][0]["status"], "submitted", "{mine}");
    assert_eq!(mine["items"][0]["receipt"], sealed["receipt"], "{mine}");
    let cursor = mine["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("{mine}"));
    let next = app
        .get(
            &format!("/api/v1/me/bids?limit=1&cursor={cursor}"),
            Some(&deal.org_token),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        next["items"][0]["project_id"],
        deal.project.as_str(),
        "{next}"
    );
    assert_eq!(next["items"][0]["status"], "awarded", "the result: {next}");
    assert!(next["next_cursor"].is_null(), "two in all: {next}");
    // Another organization, even one bidding on the same open project, sees only its own.
    let (_, other) = app.verified_org(&deal.d).await;
    let theirs = app
        .bid(open["id"].as_str().unwrap(), &other, "95000.00")
        .await
        .expect(201)
        .body;
    let page = app
        .get("/api/v1/me/bids", Some(&other))
        .await
        .expect(200)
        .body;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [theirs["id"].as_str().unwrap()], "{page}");
    app.get("/api/v1/me/bids", Some(&deal.d.bureau))
        .await
        .problem(403, "forbidden");
}
