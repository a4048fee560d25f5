//! Projects: drafting with the spec rules, visibility, publishing with a reserved budget and
//! a seed commitment, amendments, cancellation, filters, and the budget race.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use sha2::Digest;

use crate::helpers::{spawn_app, District, TestApp};

async fn fund_balances(app: &TestApp, d: &District, fund: &str) -> Value {
    app.get(&format!("/api/v1/funds/{fund}"), Some(&d.bureau))
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn spec_rules_each_name_their_field() {
    let app = spawn_app().await;
    let d = app.district().await;
    let base = app.spec(&d, "300000.00", &[]);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let set = |k: &str, v: Value| {
        let mut s = base.clone();
        s[k] = v;
        s
    };
    cases.push((set("title", json!("")), "title"));
    cases.push((set("services", json!([])), "services"));
    cases.push((set("objectives", json!([])), "objectives"));
    cases.push((set("category", json!("weather")), "category"));
    cases.push((set("method", json!("auction")), "method"));
    cases.push((
        set("bid_close_at", json!("2020-01-01T00:00:00Z")),
        "bid_close_at",
    ));
    cases.push((
        set("service_end", base["service_start"].clone()),
        "service_end",
    ));
    cases.push((set("payment_plan", json!([{"condition": "on_signing", "percent": 60}, {"condition": "on_completion_passed", "percent": 30}])), "payment_plan"));
    cases.push((
        set(
            "payment_plan",
            json!([{"condition": "on_date", "percent": 100}]),
        ),
        "payment_plan[0].date",
    ));
    cases.push((set("evaluation", json!({"price_points": 20, "criteria": [{"key": "plan", "name": "方案", "max_points": 70}]})), "evaluation.criteria"));
    cases.push((set("evaluation", json!({"price_points": 50, "criteria": [{"key": "plan", "name": "方案", "max_points": 50}]})), "evaluation.price_points"));
    cases.push((set("evaluation", json!({"price_points": 0, "criteria": [{"key": "Bad Key", "name": "方案", "max_points": 100}]})), "evaluation.criteria[0].key"));
    cases.push((set("min_qualified_bids", json!(0)), "min_qualified_bids"));
    cases.push((set("region_id", json!(d.regions.other_street)), "region_id"));
    cases.push((set("fund_id", json!("no-such-fund")), "fund_id"));
    cases.push((set("need_ids", json!(["no-such-need"])), "need_ids[0]"));
    cases.push((
        set("eligibility", json!({"org_types": []})),
        "eligibility.org_types",
    ));
    cases.push((set("seed", json!("cafe")), "seed"));
    for (spec, field) in cases {
        let r = app
            .post("/api/v1/projects", Some(&d.bureau), spec)
            .await
            .problem(422, "validation_failed");
        assert!(
            r.fields().contains(&field.to_owned()),
            "expected {field}: {}",
            r.body
        );
    }
    // The rule's citation is in the message.
    let mut c = base.clone();
    c["method"] = json!("consultation");
    c["evaluation"] =
        json!({"price_points": 5, "criteria": [{"key": "plan", "name": "方案", "max_points": 95}]});
    let r = app
        .post("/api/v1/projects", Some(&d.bureau), c)
        .await
        .problem(422, "validation_failed");
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("between 10 and 30 for consultation (财库〔2014〕214号"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn money_inputs_that_are_not_two_decimal_strings_are_422() {
    let app = spawn_app().await;
    let d = app.district().await;
    for bad in [
        json!("-1"),
        json!("0"),
        json!("0.00"),
        json!("1.005"),
        json!("1e400"),
        json!("NaN"),
        json!(300000),
        json!(3.5),
        json!("10000000000.00"),
        json!(null),
    ] {
        let mut s = app.spec(&d, "300000.00", &[]);
        s["budget_ceiling"] = bad.clone();
        let r = app
            .post("/api/v1/projects", Some(&d.bureau), s)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["budget_ceiling"], "{bad}");
    }
    for bad in [json!("-1"), json!("1.5"), json!(100)] {
        let body = json!({"name": "x", "district_id": d.regions.district, "fiscal_year": 2026, "source": "fiscal", "total": bad});
        let r = app
            .post("/api/v1/funds", Some(&d.bureau), body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["total"]);
    }
    // JSON 1e400 written by hand (serde_json cannot hold it).
    let mut s = app.spec(&d, "300000.00", &[]).to_string();
    s = s.replace("\"300000.00\"", "1e400");
    let r = app
        .client
        .post(app.url("/api/v1/projects"))
        .bearer_auth(&d.bureau)
        .header("content-type", "application/json")
        .body(s)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

#[tokio::test]
async fn drafts_are_seen_only_by_the_bureau_in_scope() {
    let app = spawn_app().await;
    let d = app.district().await;
    let p = app.draft(&d, app.spec(&d, "300000.00", &[])).await;
    let id = p["id"].as_str().unwrap();
    assert_eq!(p["status"], "draft");
    assert!(p["seed_commitment"].is_null());
    app.get(&format!("/api/v1/projects/{id}"), Some(&d.bureau))
        .await
        .expect(200);
    app.get(&format!("/api/v1/projects/{id}"), Some(&app.admin_token))
        .await
        .expect(200);
    for t in [
        None,
        Some(d.other_bureau.as_str()),
        Some(d.street.as_str()),
        Some(d.community.as_str()),
    ] {
        app.get(&format!("/api/v1/projects/{id}"), t)
            .await
            .problem(404, "not_found");
    }
    let public = app.get("/api/v1/projects", None).await.expect(200);
    assert_eq!(public.body["items"].as_array().unwrap().len(), 0);
    let mine = app
        .get("/api/v1/projects?status=draft", Some(&d.bureau))
        .await
        .expect(200);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    let theirs = app
        .get("/api/v1/projects?status=draft", Some(&d.other_bureau))
        .await
        .expect(200);
    assert_eq!(theirs.body["items"].as_array().unwrap().len(), 0);
    // Another district's bureau cannot touch it.
    app.post(
        &format!("/api/v1/projects/{id}/publish"),
        Some(&d.other_bureau),
        json!({}),
    )
    .await
    .problem(404, "not_found");
}

#[tokio::test]
async fn publishing_reserves_the_budget_commits_a_seed_and_links_the_needs() {
    let app = spawn_app().await;
    let d = app.district().await;
    let need = app.accepted_need(&d, "助餐").await;
    let p = app
        .draft(&d, app.spec(&d, "300000.00", std::slice::from_ref(&need)))
        .await;
    let id = p["id"].as_str().unwrap();
    let published = app
        .post(
            &format!("/api/v1/projects/{id}/publish"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(published.body["status"], "open");
    assert_eq!(published.body["round"], 1);
    let commitment = published.body["seed_commitment"].as_str().unwrap();
    assert_eq!(commitment.len(), 64);
    assert!(commitment
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert!(
        published.body["seed"].is_null(),
        "the seed stays secret until close"
    );
    assert_eq!(
        published.body["rule_pack"]["method"],
        "venture_philanthropy"
    );
    assert!(published.body["published_at"].is_string());
    // The document gives the whole rule pack; a list item its summary.
    let pid = published.body["id"].as_str().unwrap();
    let whole = app
        .get(&format!("/api/v1/projects/{pid}"), None)
        .await
        .expect(200)
        .body;
    assert!(
        whole["rule_pack"]["panel"]["min_size"].is_number(),
        "{whole}"
    );
    let listed = app
        .get("/api/v1/projects?status=open", None)
        .await
        .expect(200)
        .body;
    let item = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == pid)
        .unwrap()
        .clone();
    assert_eq!(
        item["rule_pack"],
        json!({"method": "venture_philanthropy", "name": whole["rule_pack"]["name"], "citation": whole["rule_pack"]["citation"], "summary": true})
    );
    assert!(
        item.to_string().len() + 1000 < whole.to_string().len(),
        "a list item is the smaller: {} against {}",
        item.to_string().len(),
        whole.to_string().len()
    );
    let f = fund_balances(&app, &d, &d.fund).await;
    assert_eq!(f["reserved"], "300000.00");
    assert_eq!(f["available"], "700000.00");
    assert_eq!(f["total"], "1000000.00");
    let n = app
        .get(&format!("/api/v1/needs/{need}"), Some(&d.bureau))
        .await
        .expect(200);
    assert_eq!(n.body["status"], "in_project");
    assert_eq!(n.body["project_id"], id);
    // The seed is not in the database in clear.
    let state = app.state.clone();
    let pid = id.to_owned();
    let row = tokio::task::spawn_blocking(move || {
        let mut c = state.db.write_conn().unwrap();
        gongyi::projects::repo::find(&mut c, &pid).unwrap().unwrap()
    })
    .await
    .unwrap();
    assert!(row.seed.is_none());
    let sealed = row.seed_sealed.unwrap();
    let opened = app
        .state
        .sealer
        .open(&format!("project-seed:{id}"), &sealed)
        .unwrap();
    let seed = hex::decode(String::from_utf8(opened).unwrap()).unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&seed)),
        commitment,
        "the commitment is sha256 of the seed bytes"
    );
    // Public now; publishing twice is a state error.
    app.get(&format!("/api/v1/projects/{id}"), None)
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/projects/{id}/publish"),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .problem(409, "invalid_state");
    // The ledger shows the reservation.
    let ledger = app
        .get(&format!("/api/v1/funds/{}/ledger", d.fund), Some(&d.bureau))
        .await
        .expect(200);
    let entries = ledger.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["kind"], "reserve");
    assert_eq!(entries[0]["amount"], "300000.00");
    assert_eq!(entries[0]["project_id"], id);
}

#[tokio::test]
async fn publishing_beyond_the_fund_is_409_budget_exceeded() {
    let app = spawn_app().await;
    let d = app.district().await;
    let p = app.draft(&d, app.spec(&d, "1000000.01", &[])).await;
    let id = p["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/projects/{id}/publish"),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .problem(409, "budget_exceeded");
    let again = app
        .get(&format!("/api/v1/projects/{id}"), Some(&d.bureau))
        .await
        .expect(200);
    assert_eq!(again.body["status"], "draft");
    assert_eq!(fund_balances(&app, &d, &d.fund).await["reserved"], "0.00");
}

#[tokio::test]
async fn the_bidding_period_of_the_method_is_enforced_at_publication() {
    let app = spawn_app().await;
    let d = app.district().await;
    let mut s = app.spec(&d, "300000.00", &[]);
    s["method"] = json!("tender");
    s["evaluation"] = json!({"price_points": 30, "criteria": [{"key": "plan", "name": "方案", "max_points": 70}]});
    s["bid_close_at"] = json!((app.now() + chrono::Duration::days(15)).to_rfc3339());
    let p = app.draft(&d, s).await;
    let id = p["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/projects/{id}/publish"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["bid_close_at"]);
    assert!(r.body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("at least 20 days"));
}

#[tokio::test]
async fn a_rating_threshold_on_a_consultation_is_kept_with_a_warning() {
    let app = spawn_app().await;
    let d = app.district().await;
    let mut s = app.spec(&d, "300000.00", &[]);
    s["method"] = json!("consultation");
    s["eligibility"] = json!({"min_rating": "3A"});
    let p = app.draft(&d, s).await;
    assert!(
        p["warnings"][0].as_str().unwrap().contains("差别待遇"),
        "{p}"
    );
    assert_eq!(p["eligibility"]["min_rating"], "3A");
}

#[tokio::test]
async fn drafts_are_edited_with_if_match_and_open_projects_only_amended_with_a_reason() {
    let app = spawn_app().await;
    let d = app.district().await;
    let p = app.draft(&d, app.spec(&d, "300000.00", &[])).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/projects/{id}");
    app.patch(&path, &d.bureau, None, json!({"title": "新标题"}))
        .await
        .problem(428, "precondition_required");
    app.patch(&path, &d.bureau, Some(9), json!({"title": "新标题"}))
        .await
        .problem(412, "version_mismatch");
    app.patch(&path, &d.bureau, Some(1), json!({"colour": "red"}))
        .await
        .problem(422, "validation_failed");
    let r = app
        .patch(
            &path,
            &d.bureau,
            Some(1),
            json!({"evaluation": {"price_points": 10, "criteria": []}}),
        )
        .await
        .problem(422, "validation_failed");
    assert!(r.fields().contains(&"evaluation.criteria".to_owned()));
    let edited = app
        .patch(
            &path,
            &d.bureau,
            Some(1),
            json!({"title": "新标题", "budget_ceiling": "250000.00"}),
        )
        .await
        .expect(200);
    assert_eq!(edited.body["title"], "新标题");
    assert_eq!(edited.body["budget_ceiling"], "250000.00");
    assert_eq!(edited.body["version"], 2);
    app.post(&format!("{path}/publish"), Some(&d.bureau), json!({}))
        .await
        .expect(200);
    // Open: a reason is required, money fields are frozen, and the change is recorded.
    app.patch(&path, &d.bureau, Some(3), json!({"summary": "补充说明"}))
        .await
        .problem(422, "validation_failed");
    let frozen = app
        .patch(
            &path,
            &d.bureau,
            Some(3),
            json!({"budget_ceiling": "1.00", "reason": "x"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(frozen.fields(), vec!["budget_ceiling"]);
    let amended = app
        .patch(
            &path,
            &d.bureau,
            Some(3),
            json!({"summary": "补充说明", "reason": "澄清服务范围"}),
        )
        .await
        .expect(200);
    assert_eq!(amended.body["summary"], "补充说明");
    let before_close = edited.body["bid_close_at"].clone();
    assert_eq!(
        amended.body["bid_close_at"], before_close,
        "plenty of time left: the close stays"
    );
    let list = app
        .get(&format!("{path}/amendments"), None)
        .await
        .expect(200);
    assert_eq!(list.body[0]["reason"], "澄清服务范围");
    assert_eq!(list.body[0]["changes"]["summary"], "补充说明");
}

#[tokio::test]
async fn an_amendment_within_three_days_of_close_extends_it() {
    let app = spawn_app().await;
    let d = app.district().await;
    let p = app.draft(&d, app.spec(&d, "300000.00", &[])).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let close: chrono::DateTime<chrono::Utc> = p["bid_close_at"].as_str().unwrap().parse().unwrap();
    app.post(
        &format!("/api/v1/projects/{id}/publish"),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .expect(200);
    // Two days before the close.
    let email = gongyi_email(&app, &d.bureau).await;
    let at = close - chrono::Duration::days(2);
    app.post(
        "/api/v1/admin/clock",
        Some(&app.admin_token),
        json!({"now": at.to_rfc3339(), "frozen": true}),
    )
    .await
    .expect(200);
    let bureau = app.login(&email, crate::helpers::PASSWORD).await;
    let r = app
        .patch(
            &format!("/api/v1/projects/{id}"),
            &bureau,
            Some(2),
            json!({"summary": "修改评分细则说明", "reason": "答疑"}),
        )
        .await
        .expect(200);
    let new_close: chrono::DateTime<chrono::Utc> =
        r.body["bid_close_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(new_close, at + chrono::Duration::days(3));
    // Moving the close earlier is never allowed.
    let earlier = (new_close - chrono::Duration::hours(1)).to_rfc3339();
    app.patch(
        &format!("/api/v1/projects/{id}"),
        &bureau,
        Some(3),
        json!({"bid_close_at": earlier, "reason": "提前"}),
    )
    .await
    .problem(422, "validation_failed");
}

/// The email of the user behind a token (tokens expire when the clock jumps).
async fn gongyi_email(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me", Some(token)).await.expect(200).body["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn cancelling_returns_the_budget_and_the_needs() {
    let app = spawn_app().await;
    let d = app.district().await;
    let need = app.accepted_need(&d, "助浴").await;
    let p = app
        .draft(&d, app.spec(&d, "400000.00", std::slice::from_ref(&need)))
        .await;
    let id = p["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/projects/{id}/publish"),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/projects/{id}/cancel"),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .problem(422, "validation_failed");
    let c = app
        .post(
            &format!("/api/v1/projects/{id}/cancel"),
            Some(&d.bureau),
            json!({"reason": "预算调整"}),
        )
        .await
        .expect(200);
    assert_eq!(c.body["status"], "cancelled");
    assert_eq!(c.body["status_reason"], "预算调整");
    let f = fund_balances(&app, &d, &d.fund).await;
    assert_eq!(f["reserved"], "0.00");
    assert_eq!(f["available"], "1000000.00");
    let n = app
        .get(&format!("/api/v1/needs/{need}"), Some(&d.bureau))
        .await
        .expect(200);
    assert_eq!(n.body["status"], "accepted");
    assert!(n.body["project_id"].is_null());
    app.post(
        &format!("/api/v1/projects/{id}/cancel"),
        Some(&d.bureau),
        json!({"reason": "再次"}),
    )
    .await
    .problem(409, "invalid_state");
    app.patch(
        &format!("/api/v1/projects/{id}"),
        &d.bureau,
        Some(3),
        json!({"title": "x", "reason": "y"}),
    )
    .await
    .problem(409, "invalid_state");
    let kinds: Vec<String> = app
        .get(&format!("/api/v1/funds/{}/ledger", d.fund), Some(&d.bureau))
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, vec!["reserve", "unreserve"]);
    // The ledger is insert-only in the database itself.
    let err = app
        .sql("UPDATE fund_ledger SET amount_fen = 1")
        .unwrap_err();
    assert!(err.contains("insert-only"), "{err}");
}

#[tokio::test]
async fn listings_filter_by_status_category_method_region_and_text() {
    let app = spawn_app().await;
    let d = app.district().await;
    let mut a = app.spec(&d, "100000.00", &[]);
    a["title"] = json!("青少年托管服务");
    a["category"] = json!("children_youth");
    a["region_id"] = json!(d.regions.community);
    let pa = app.draft(&d, a).await;
    let mut b = app.spec(&d, "100000.00", &[]);
    b["method"] = json!("consultation");
    b["evaluation"] = json!({"price_points": 10, "criteria": [{"key": "plan", "name": "方案", "max_points": 90}]});
    let pb = app.draft(&d, b).await;
    for p in [&pa, &pb] {
        app.post(
            &format!("/api/v1/projects/{}/publish", p["id"].as_str().unwrap()),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200);
    }
    let ids = |r: Value| -> BTreeSet<String> {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let one = |p: &Value| BTreeSet::from([p["id"].as_str().unwrap().to_owned()]);
    assert_eq!(
        ids(app
            .get("/api/v1/projects?status=open", None)
            .await
            .expect(200)
            .body)
        .len(),
        2
    );
    assert_eq!(
        ids(app
            .get("/api/v1/projects?category=children_youth", None)
            .await
            .expect(200)
            .body),
        one(&pa)
    );
    assert_eq!(
        ids(app
            .get("/api/v1/projects?method=consultation", None)
            .await
            .expect(200)
            .body),
        one(&pb)
    );
    assert_eq!(
        ids(app
            .get("/api/v1/projects?q=托管", None)
            .await
            .expect(200)
            .body),
        one(&pa)
    );
    // A region includes everything under it.
    assert_eq!(
        ids(app
            .get(
                &format!("/api/v1/projects?region_id={}", d.regions.district),
                None
            )
            .await
            .expect(200)
            .body)
        .len(),
        2
    );
    assert_eq!(
        ids(app
            .get(
                &format!("/api/v1/projects?region_id={}", d.regions.street),
                None
            )
            .await
            .expect(200)
            .body)
        .len(),
        2
    );
    assert_eq!(
        ids(app
            .get(
                &format!("/api/v1/projects?region_id={}", d.regions.community),
                None
            )
            .await
            .expect(200)
            .body),
        one(&pa)
    );
    assert_eq!(
        ids(app
            .get(
                &format!("/api/v1/projects?region_id={}", d.regions.other_district),
                None
            )
            .await
            .expect(200)
            .body)
        .len(),
        0
    );
    app.get("/api/v1/projects?method=auction", None)
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/projects?status=sold", None)
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn organizations_find_work_by_budget_and_deadline_and_unknown_filters_are_named() {
    let app = spawn_app().await;
    let d = app.district().await;
    // Three open projects: 80,000.00 closing in 30 days, 150,000.00 in 30 days, 300,000.00 in 20.
    let mut made = Vec::new();
    for (budget, days) in [("80000.00", 30), ("150000.00", 30), ("300000.00", 20)] {
        let mut spec = app.spec(&d, budget, &[]);
        spec["bid_close_at"] = json!((app.now() + chrono::Duration::days(days)).to_rfc3339());
        let p = app.draft(&d, spec).await;
        let id = p["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/api/v1/projects/{id}/publish"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200);
        made.push(id);
    }
    let list = |q: String| {
        let app = &app;
        async move {
            let page = app
                .get(&format!("/api/v1/projects?status=open&limit=100&{q}"), None)
                .await
                .expect(200)
                .body;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect::<BTreeSet<String>>()
        }
    };
    let of = |i: &[usize]| i.iter().map(|&i| made[i].clone()).collect::<BTreeSet<_>>();
    assert_eq!(list("budget_min=100000".into()).await, of(&[1, 2]));
    assert_eq!(
        list("budget_max=150000.00".into()).await,
        of(&[0, 1]),
        "inclusive"
    );
    assert_eq!(
        list("budget_min=80000.00&budget_max=80000.00".into()).await,
        of(&[0])
    );
    let day25 = (app.now() + chrono::Duration::days(25)).to_rfc3339();
    let enc = |t: &str| t.replace('+', "%2B").replace(':', "%3A");
    assert_eq!(
        list(format!("closes_before={}", enc(&day25))).await,
        of(&[2])
    );
    assert_eq!(
        list(format!("closes_after={}", enc(&day25))).await,
        of(&[0, 1])
    );
    assert_eq!(
        list(format!("closes_after={}&budget_min=200000", enc(&day25))).await,
        of(&[])
    );
    // Every bad or unknown parameter is a 422 that names it; nothing is silently ignored.
    for (q, field) in [
        ("budget_max=lots", "budget_max"),
        ("budget_min=1.234", "budget_min"),
        ("budget_min=79228162514264337593543950335", "budget_min"),
        ("budget_max=-5", "budget_max"),
        ("budget_min=500&budget_max=100", "budget_min"),
        ("closes_before=tomorrow", "closes_before"),
        ("budget=100", "budget"),
        ("status=sold", "status"),
    ] {
        let r = app
            .get(&format!("/api/v1/projects?{q}"), None)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), [field], "{q}: {}", r.body);
        if field == "status" {
            assert!(
                r.body.to_string().contains("open"),
                "lists the statuses: {}",
                r.body
            );
        }
    }
}

#[tokio::test]
async fn two_simultaneous_publishes_that_only_one_fits_never_overspend() {
    let app = spawn_app().await;
    let d = app.district().await;
    let rounds = std::env::var("BUDGET_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for round in 0..rounds {
        let fund = app.fund(&d.bureau, &d.regions.district, "100.00").await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let mut s = app.spec(&d, "60.00", &[]);
            s["fund_id"] = json!(fund);
            ids.push(app.draft(&d, s).await["id"].as_str().unwrap().to_owned());
        }
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = ids
            .iter()
            .map(|id| {
                let (client, url, token, barrier) = (
                    app.client.clone(),
                    app.url(&format!("/api/v1/projects/{id}/publish")),
                    d.bureau.clone(),
                    barrier.clone(),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    let r = client
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({}))
                        .send()
                        .await
                        .unwrap();
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    (status, body["code"].as_str().unwrap_or("").to_owned())
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        outcomes.sort();
        assert_eq!(
            outcomes,
            vec![(200, String::new()), (409, "budget_exceeded".to_owned())],
            "round {round}"
        );
        let f = app
            .get(&format!("/api/v1/funds/{fund}"), Some(&d.bureau))
            .await
            .expect(200)
            .body;
        assert_eq!(
            (f["reserved"].as_str(), f["available"].as_str()),
            (Some("60.00"), Some("40.00")),
            "round {round}"
        );
    }
}
