//! The panel drawn at close, exclusions, assignment gating, blind scoring and the ranking.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{spawn_with, unique, District, Reply, TestApp, PASSWORD};

async fn app() -> TestApp {
    spawn_with(|s| s.auth.access_ttl_secs = 400 * 86_400).await
}

/// Creates an expert; returns (expert id, token).
pub(crate) async fn expert(
    app: &TestApp,
    specialties: &[&str],
    bureau_of: Option<&str>,
) -> (String, String) {
    let email = unique("expert") + "@gongyi.test";
    let r = app
        .post(
            "/api/v1/experts",
            Some(&app.admin_token),
            json!({"email": email, "name": unique("专家"), "password": PASSWORD, "title": "副教授", "specialties": specialties, "bureau_district_id": bureau_of}),
        )
        .await
        .expect(201);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        app.login(&email, PASSWORD).await,
    )
}

async fn uscc_of(app: &TestApp, org: &str) -> String {
    app.get(&format!("/api/v1/organizations/{org}"), None)
        .await
        .expect(200)
        .body["uscc"]
        .as_str()
        .unwrap()
        .to_owned()
}

struct Scene {
    d: District,
    project: Value,
    bids: Vec<String>,
    experts: BTreeMap<String, String>,
    conflicted: Vec<String>,
}

/// A closed project with two qualified bids and a pool of experts, some of them excluded.
async fn scene(app: &TestApp, pool: usize) -> Scene {
    let d = app.district().await;
    let project = app.open_project(&d, |_| {}).await;
    let pid = project["id"].as_str().unwrap().to_owned();
    let (org_a, a) = app.verified_org(&d).await;
    let (_, b) = app.verified_org(&d).await;
    let bid_a = app.bid(&pid, &a, "100000.00").await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bid_b = app.bid(&pid, &b, "80000.00").await.expect(201).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut experts = BTreeMap::new();
    for _ in 0..pool {
        let (id, t) = expert(app, &["elderly", "health"], None).await;
        experts.insert(id, t);
    }
    // Excluded: another specialty, the bureau's own staff, and a recent employee of bidder A.
    let (other, _) = expert(app, &["mediation"], None).await;
    let (staff, _) = expert(app, &["elderly"], Some(&d.regions.district)).await;
    // Every kind of relationship within three years excludes: one declared by the expert,
    // the others by the admin; one that ended under three years ago still counts.
    let uscc = uscc_of(app, &org_a).await;
    let mut related = Vec::new();
    let kinds = [
        ("kin", "2024-01-01", None),
        ("employment", "2019-01-01", Some("2025-06-30")),
        ("director", "2025-01-01", None),
        ("shareholder", "2021-03-01", Some("2024-12-31")),
    ];
    for (kind, since, until) in kinds {
        let (id, token) = expert(app, &["elderly"], None).await;
        let by = if kind == "kin" {
            token
        } else {
            app.admin_token.clone()
        };
        let body = json!({"organization_uscc": uscc, "kind": kind, "since": since, "until": until});
        app.post(
            &format!("/api/v1/experts/{id}/relationships"),
            Some(&by),
            body,
        )
        .await
        .expect(201);
        related.push(id);
    }
    // An expert cannot declare for another, and a bad credit code is named.
    let someone = experts.values().next().unwrap().clone();
    let body = json!({"organization_uscc": uscc, "kind": "kin", "since": "2020-01-01"});
    app.post(
        &format!("/api/v1/experts/{}/relationships", related[1]),
        Some(&someone),
        body,
    )
    .await
    .problem(404, "not_found");
    let bad =
        json!({"organization_uscc": "53100000500020462H", "kind": "kin", "since": "2020-01-01"});
    let r = app
        .post(
            &format!("/api/v1/experts/{}/relationships", related[1]),
            Some(&app.admin_token),
            bad,
        )
        .await;
    assert_eq!(
        r.problem(422, "validation_failed").fields(),
        vec!["organization_uscc"]
    );
    // Included: a relationship that ended more than three years before the close.
    let (old, old_token) = expert(app, &["elderly"], None).await;
    app.post(&format!("/api/v1/experts/{old}/relationships"), Some(&app.admin_token), json!({"organization_uscc": uscc, "kind": "employment", "since": "2015-01-01", "until": "2020-01-01"}))
        .await
        .expect(201);
    experts.insert(old, old_token);
    let close: DateTime<Utc> = project["bid_close_at"].as_str().unwrap().parse().unwrap();
    app.set_clock(close + Duration::seconds(1)).await;
    app.run_job("close_bidding").await.expect(200);
    Scene {
        d,
        project,
        bids: vec![bid_a, bid_b],
        experts,
        conflicted: [vec![other, staff], related].concat(),
    }
}

#[tokio::test]
async fn the_close_draws_a_reproducible_panel_without_conflicted_experts() {
    let app = app().await;
    let s = scene(&app, 6).await;
    let pid = s.project["id"].as_str().unwrap();
    let panel = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    let members: Vec<String> = panel["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["expert_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        members.len(),
        3,
        "venture philanthropy panels are at least 3 (odd)"
    );
    assert!(panel["members"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["status"] == "invited"));
    let eligible: BTreeSet<String> = panel["draw"]["eligible_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(eligible, s.experts.keys().cloned().collect::<BTreeSet<_>>());
    for c in &s.conflicted {
        assert!(!eligible.contains(c), "{c} must be excluded");
    }
    // Anyone can recompute it from the published inputs.
    let seed = hex::decode(panel["draw"]["seed"].as_str().unwrap()).unwrap();
    let receipts: Vec<String> = panel["draw"]["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let opening = app
        .get(&format!("/api/v1/projects/{pid}/opening"), None)
        .await
        .expect(200)
        .body;
    let published: BTreeSet<String> = opening["bids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["sha256"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(receipts.iter().cloned().collect::<BTreeSet<_>>(), published);
    let again = gongyi::domain::draw::draw(
        &seed,
        &receipts,
        &eligible.iter().cloned().collect::<Vec<_>>(),
        3,
        3,
    )
    .unwrap();
    assert_eq!(again.members, members);
    assert_eq!(
        again.receipts_root,
        panel["draw"]["receipts_root"].as_str().unwrap()
    );
    // `gongyi verify-draw` confirms it from public data (the bureau's token reads the panel
    // before the award; afterwards no token is needed).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gongyi"))
        .args([
            "verify-draw",
            pid,
            "--base-url",
            &app.base,
            "--token",
            &s.d.bureau,
        ])
        .env("GONGYI_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("\"matches\": true"), "{text}");
    // Strangers do not see the panel before the award.
    for t in [&s.d.other_bureau, &s.d.community] {
        app.get(&format!("/api/v1/projects/{pid}/panel"), Some(t))
            .await
            .problem(404, "not_found");
    }
}

#[tokio::test]
async fn bids_open_to_an_expert_only_after_accepting_and_a_decline_invites_an_alternate() {
    let app = app().await;
    let s = scene(&app, 6).await;
    let pid = s.project["id"].as_str().unwrap();
    let panel = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    let first = panel["members"][0]["expert_id"].as_str().unwrap();
    let second = panel["members"][1]["expert_id"].as_str().unwrap();
    let t1 = &s.experts[first];
    let inbox = app
        .get("/api/v1/me/assignments", Some(t1))
        .await
        .expect(200)
        .body;
    let seat = inbox["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(inbox["items"][0]["status"], "invited");
    assert_eq!(inbox["items"][0]["kind"], "evaluation");
    app.get(&format!("/api/v1/bids/{}", s.bids[0]), Some(t1))
        .await
        .problem(404, "not_found");
    app.post(
        &format!("/api/v1/assignments/{seat}/accept"),
        Some(t1),
        json!({"declaration": "maybe"}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        &format!("/api/v1/assignments/{seat}/accept"),
        Some(t1),
        json!({"declaration": "no_conflict"}),
    )
    .await
    .expect(200);
    let bid = app
        .get(&format!("/api/v1/bids/{}", s.bids[0]), Some(t1))
        .await
        .expect(200);
    assert_eq!(bid.body["price"], "100000.00");
    assert_eq!(
        app.get(&format!("/api/v1/projects/{pid}/bids"), Some(t1))
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.post(
        &format!("/api/v1/assignments/{seat}/accept"),
        Some(t1),
        json!({"declaration": "no_conflict"}),
    )
    .await
    .problem(409, "invalid_state");
    // Another expert's seat is not yours.
    let t2 = &s.experts[second];
    app.post(
        &format!("/api/v1/assignments/{seat}/decline"),
        Some(t2),
        json!({"reason": "x"}),
    )
    .await
    .problem(404, "not_found");
    let seat2 = first_seat(&app, t2).await;
    app.post(
        &format!("/api/v1/assignments/{seat2}/decline"),
        Some(t2),
        json!({"reason": "出差"}),
    )
    .await
    .expect(200);
    let after = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    let invited = after["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "invited")
        .count();
    assert_eq!(
        invited, 2,
        "the first alternate joined the invited members: {after}"
    );
    assert_eq!(
        after["alternates"].as_array().unwrap().len(),
        panel["alternates"].as_array().unwrap().len() - 1
    );
}

/// Accepts every invited seat of the panel; returns the members' tokens.
async fn accept_all(app: &TestApp, s: &Scene) -> Vec<(String, String)> {
    let pid = s.project["id"].as_str().unwrap();
    let panel = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    let mut out = Vec::new();
    for m in panel["members"].as_array().unwrap() {
        let id = m["expert_id"].as_str().unwrap().to_owned();
        let t = s.experts[&id].clone();
        let seat = first_seat(app, &t).await;
        app.post(
            &format!("/api/v1/assignments/{seat}/accept"),
            Some(&t),
            json!({"declaration": "no_conflict"}),
        )
        .await
        .expect(200);
        out.push((id, t));
    }
    out
}

#[tokio::test]
async fn scoring_is_blind_final_and_ranked_as_computed_by_hand() {
    let app = app().await;
    let s = scene(&app, 4).await;
    let pid = s.project["id"].as_str().unwrap();
    let members = accept_all(&app, &s).await;
    let (a, b) = (&s.bids[0], &s.bids[1]);
    let score = |t: &str, bid: &str, plan: f64, team: f64| {
        let url = format!("/api/v1/bids/{bid}/score");
        let t = t.to_owned();
        let app = &app;
        async move {
            app.send(
                reqwest::Method::PUT,
                &url,
                Some(&t),
                Some(json!({"points": {"plan": plan, "team": team}, "comment": "评审意见"})),
            )
            .await
        }
    };
    // Out of range, missing or unknown criteria, too many decimals: 422 naming the criterion.
    let t0 = &members[0].1;
    assert_eq!(
        score(t0, a, 51.0, 10.0)
            .await
            .problem(422, "validation_failed")
            .fields(),
        vec!["points.plan"]
    );
    assert_eq!(
        score(t0, a, 10.123, 10.0)
            .await
            .problem(422, "validation_failed")
            .fields(),
        vec!["points.plan"]
    );
    let r = app
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/bids/{a}/score"),
            Some(t0),
            Some(json!({"points": {"plan": 10, "bonus": 5}, "comment": ""})),
        )
        .await;
    let fields: BTreeSet<String> = r
        .problem(422, "validation_failed")
        .fields()
        .into_iter()
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["points.team".to_owned(), "points.bonus".to_owned()])
    );
    // Hand-computed: A = (40+25 + 45+28 + 38+22)/3 = 66; price 80000/100000×20 = 16 → 82.
    //                B = (30+20 + 35+15 + 32+18)/3 = 50; price 20 → 70.
    let sheets = [
        (40.0, 25.0, 30.0, 20.0),
        (45.0, 28.0, 35.0, 15.0),
        (38.0, 22.0, 32.0, 18.0),
    ];
    for (i, (pa, ta, pb, tb)) in sheets.iter().enumerate() {
        let t = &members[i].1;
        score(t, a, *pa, *ta).await.expect(200);
        // Blind: before finishing its own sheets, an expert sees only its own.
        let view = app
            .get(&format!("/api/v1/projects/{pid}/evaluation"), Some(t))
            .await
            .expect(200)
            .body;
        assert!(
            view["sheets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["expert_id"] == members[i].0.as_str()),
            "{view}"
        );
        assert!(view["ranking"].is_null());
        score(t, b, *pb, *tb).await.expect(200);
    }
    score(t0, a, 1.0, 1.0).await.problem(409, "score_final");
    // A stranger expert cannot score or read.
    let (_, stranger) = expert(&app, &["elderly"], None).await;
    score(&stranger, a, 1.0, 1.0)
        .await
        .problem(404, "not_found");
    // Before the award the evaluation exists but is not public: 409, not a 404 that reads as
    // "no such thing"; the same for a bidding organization and for the public.
    let bidder = bidder_token(&app, &s, 1).await;
    for who in [Some(stranger.as_str()), Some(bidder.as_str()), None] {
        app.get(&format!("/api/v1/projects/{pid}/evaluation"), who)
            .await
            .problem(409, "not_public_yet");
    }
    let ev = app
        .get(
            &format!("/api/v1/projects/{pid}/evaluation"),
            Some(&s.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ev["status"], "complete");
    assert_eq!(ev["sheets"].as_array().unwrap().len(), 6);
    let ranking = ev["ranking"].as_array().unwrap();
    assert_eq!(ranking[0]["bid_id"], a.as_str());
    assert_eq!(ranking[0]["rank"], 1);
    for row in ranking {
        let org = row["organization_id"].as_str().unwrap();
        let named = app
            .get(&format!("/api/v1/organizations/{org}"), None)
            .await
            .expect(200)
            .body["name"]
            .clone();
        assert_eq!(row["organization_name"], named, "{row}");
    }
    assert_eq!(ranking[0]["technical_score"], "66.00");
    assert_eq!(ranking[0]["price_score"], "16.00");
    assert_eq!(ranking[0]["total_score"], "82.00");
    assert_eq!(ranking[1]["total_score"], "70.00");
    // Once done, a member sees everyone's sheets.
    let view = app
        .get(&format!("/api/v1/projects/{pid}/evaluation"), Some(t0))
        .await
        .expect(200)
        .body;
    assert_eq!(view["sheets"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn too_few_eligible_experts_flag_the_project_and_tell_the_bureau() {
    let app = app().await;
    let s = scene(&app, 1).await; // one plus the old-relationship expert: 2 < 3
    let pid = s.project["id"].as_str().unwrap();
    let p = app
        .get(&format!("/api/v1/projects/{pid}"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(p["status"], "evaluating");
    assert!(
        p["status_reason"]
            .as_str()
            .unwrap()
            .starts_with("panel_shortfall"),
        "{p}"
    );
    let panel = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(panel["draw"]["status"], "shortfall");
    assert_eq!(
        panel["members"].as_array().unwrap().len(),
        0,
        "never a smaller panel than the rule allows"
    );
    let n = app.outbox_count("Panel shortfall:").await;
    assert_eq!(n, 1);
}

/// A scene scored to completion: A ranks first (82.00), B second (70.00).
async fn scored(app: &TestApp) -> Scene {
    let s = scene(app, 4).await;
    let members = accept_all(app, &s).await;
    for (i, (pa, ta, pb, tb)) in [(40, 25, 30, 20), (45, 28, 35, 15), (38, 22, 32, 18)]
        .iter()
        .enumerate()
    {
        let t = &members[i].1;
        for (bid, plan, team) in [(&s.bids[0], pa, ta), (&s.bids[1], pb, tb)] {
            app.send(
                reqwest::Method::PUT,
                &format!("/api/v1/bids/{bid}/score"),
                Some(t),
                Some(json!({"points": {"plan": plan, "team": team}, "comment": "ok"})),
            )
            .await
            .expect(200);
        }
    }
    s
}

#[tokio::test]
async fn an_award_needs_a_complete_evaluation_and_a_reason_to_pass_over_the_first() {
    let app = app().await;
    let s = scene(&app, 4).await;
    let pid = s.project["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/projects/{pid}/award"),
        Some(&s.d.bureau),
        json!({"bid_id": s.bids[0]}),
    )
    .await
    .problem(409, "evaluation_incomplete");
    let app2 = self::app().await;
    let s2 = scored(&app2).await;
    let pid2 = s2.project["id"].as_str().unwrap();
    let r = app2
        .post(
            &format!("/api/v1/projects/{pid2}/award"),
            Some(&s2.d.bureau),
            json!({"bid_id": s2.bids[1]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["justification"]);
    app2.post(
        &format!("/api/v1/projects/{pid2}/award"),
        Some(&s2.d.other_bureau),
        json!({"bid_id": s2.bids[0]}),
    )
    .await
    .problem(404, "not_found");
    let a = app2
        .post(
            &format!("/api/v1/projects/{pid2}/award"),
            Some(&s2.d.bureau),
            json!({"bid_id": s2.bids[1], "justification": "第一名放弃中标资格"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(a["bid_id"], s2.bids[1].as_str());
    assert_eq!(a["amount"], "80000.00");
    assert_eq!(a["status"], "pending_objections");
    assert_eq!(
        a["panel"].as_array().unwrap().len(),
        3,
        "the notice lists the panel"
    );
    // Public: the award, the panel and the evaluation.
    let id = a["id"].as_str().unwrap();
    assert_eq!(
        app2.get(&format!("/api/v1/awards/{id}"), None)
            .await
            .expect(200)
            .body["justification"],
        "第一名放弃中标资格"
    );
    app2.get(&format!("/api/v1/projects/{pid2}/panel"), None)
        .await
        .expect(200);
    assert_eq!(
        app2.get(&format!("/api/v1/projects/{pid2}/evaluation"), None)
            .await
            .expect(200)
            .body["sheets"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    app2.post(
        &format!("/api/v1/projects/{pid2}/award"),
        Some(&s2.d.bureau),
        json!({"bid_id": s2.bids[0]}),
    )
    .await
    .problem(409, "invalid_state");
}

#[tokio::test]
async fn objections_follow_the_working_day_window_and_an_upheld_one_revokes_the_award() {
    let app = app().await;
    let s = scored(&app).await;
    let pid = s.project["id"].as_str().unwrap();
    let a = award_first(&app, &s).await;
    let award = a["id"].as_str().unwrap().to_owned();
    // The deadline is seven working days on, at the end of the day in China Standard Time.
    let awarded_on = (app.now() + Duration::hours(8)).date_naive();
    let expected = app
        .get(
            &format!("/api/v1/calendar/working-days?from={awarded_on}&days=7"),
            None,
        )
        .await
        .expect(200)
        .body["date"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline: DateTime<Utc> = a["objection_deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (deadline + Duration::hours(8)).date_naive().to_string(),
        expected
    );
    // Only bidders of the round object.
    let (_, outsider) = app.verified_org(&s.d).await;
    object(&app, &award, &outsider, "不公")
        .await
        .problem(403, "not_a_bidder");
    // Bidder B objects in time; the bureau upholds it: the award is revoked, the evaluation reopens.
    let bidder_b = bidder_token(&app, &s, 1).await;
    let o = object(&app, &award, &bidder_b, "评分计算有误")
        .await
        .expect(201)
        .body;
    assert_eq!(o["status"], "open");
    let r = app
        .post(
            &format!("/api/v1/objections/{}/resolve", o["id"].as_str().unwrap()),
            Some(&s.d.bureau),
            json!({"outcome": "upheld", "reply": "经复核，质疑成立"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["status"], "upheld");
    assert_eq!(
        app.get(&format!("/api/v1/awards/{award}"), None)
            .await
            .expect(200)
            .body["status"],
        "revoked"
    );
    assert_eq!(
        app.get(&format!("/api/v1/projects/{pid}"), None)
            .await
            .expect(200)
            .body["status"],
        "evaluating"
    );
    // A new award; an objection after its deadline is refused.
    let a2 = app
        .post(
            &format!("/api/v1/projects/{pid}/award"),
            Some(&s.d.bureau),
            json!({"bid_id": s.bids[0]}),
        )
        .await
        .expect(201)
        .body;
    let award2 = a2["id"].as_str().unwrap().to_owned();
    let deadline2: DateTime<Utc> = a2["objection_deadline"].as_str().unwrap().parse().unwrap();
    app.set_clock(deadline2 + Duration::seconds(1)).await;
    object(&app, &award2, &bidder_b, "迟到的质疑")
        .await
        .problem(409, "deadline_passed");
    // Finalisation: once, idempotent, bids settled.
    let first = app.run_job("finalize_awards").await.expect(200);
    assert_eq!(first.body["processed"], 1);
    let second = app.run_job("finalize_awards").await.expect(200);
    assert_eq!(second.body["processed"], 0);
    assert_eq!(
        app.get(&format!("/api/v1/awards/{award2}"), None)
            .await
            .expect(200)
            .body["status"],
        "final"
    );
    let won = app
        .get(&format!("/api/v1/bids/{}", s.bids[0]), Some(&s.d.bureau))
        .await
        .expect(200);
    let lost = app
        .get(&format!("/api/v1/bids/{}", s.bids[1]), Some(&s.d.bureau))
        .await
        .expect(200);
    assert_eq!(
        (won.body["status"].as_str(), lost.body["status"].as_str()),
        (Some("awarded"), Some("lost"))
    );
}

/// An objection to `award` by `token`'s organization.
async fn object(app: &TestApp, award: &str, token: &str, grounds: &str) -> Reply {
    app.post(
        &format!("/api/v1/awards/{award}/objections"),
        Some(token),
        json!({"grounds": grounds}),
    )
    .await
}

/// The scene's first-ranked bid awarded by the bureau: the award.
async fn award_first(app: &TestApp, s: &Scene) -> Value {
    let pid = s.project["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/projects/{pid}/award"),
        Some(&s.d.bureau),
        json!({"bid_id": s.bids[0]}),
    )
    .await
    .expect(201)
    .body
}

/// The token of the organization behind bid `i` of the scene.
async fn bidder_token(app: &TestApp, s: &Scene, i: usize) -> String {
    let bid = app
        .get(&format!("/api/v1/bids/{}", s.bids[i]), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    let org = bid["organization_id"].as_str().unwrap().to_owned();
    let state = app.state.clone();
    let email = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        let mut c = state.db.write_conn().unwrap();
        gongyi::db::schema::users::table
            .filter(gongyi::db::schema::users::organization_id.eq(org))
            .select(gongyi::db::schema::users::email)
            .first::<String>(&mut **c)
            .unwrap()
    })
    .await
    .unwrap();
    app.login(&email, PASSWORD).await
}

#[tokio::test]
async fn an_unanswered_invitation_expires_and_the_next_alternate_is_invited() {
    let app = app().await;
    let s = scene(&app, 6).await;
    let pid = s.project["id"].as_str().unwrap();
    let before = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(before["alternates"].as_array().unwrap().len(), 3);
    // One member answers; the other two stay silent past the pack's 48 hours.
    let first = before["members"][0]["expert_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = &s.experts[&first];
    let seat = first_seat(&app, t).await;
    app.post(
        &format!("/api/v1/assignments/{seat}/accept"),
        Some(t),
        json!({"declaration": "no_conflict"}),
    )
    .await
    .expect(200);
    let early =
        gongyi::jobs::expire_invitations::run_once(&app.state, app.now() + Duration::hours(47))
            .await
            .unwrap();
    assert_eq!(early.processed, 0);
    let late =
        gongyi::jobs::expire_invitations::run_once(&app.state, app.now() + Duration::hours(49))
            .await
            .unwrap();
    assert_eq!(late.processed, 2);
    let again =
        gongyi::jobs::expire_invitations::run_once(&app.state, app.now() + Duration::hours(49))
            .await
            .unwrap();
    assert_eq!(again.processed, 0, "the alternates were invited just now");
    let after = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    let status = |st: &str| {
        after["members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["status"] == st)
            .count()
    };
    assert_eq!(
        (status("accepted"), status("expired"), status("invited")),
        (1, 2, 2)
    );
    assert_eq!(after["alternates"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_redraw_after_a_shortfall_needs_a_reason_and_is_audited() {
    let app = app().await;
    let s = scene(&app, 1).await;
    let pid = s.project["id"].as_str().unwrap();
    let url = format!("/api/v1/projects/{pid}/panel/redraw");
    app.post(&url, Some(&s.d.bureau), json!({}))
        .await
        .problem(422, "validation_failed");
    app.post(&url, Some(&s.d.other_bureau), json!({"reason": "x"}))
        .await
        .problem(404, "not_found");
    for _ in 0..2 {
        expert(&app, &["elderly"], None).await;
    }
    let r = app
        .post(
            &url,
            Some(&s.d.bureau),
            json!({"reason": "补充专家库后重新抽取"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(r["draw"]["status"], "drawn");
    assert_eq!(r["members"].as_array().unwrap().len(), 3);
    let p = app
        .get(&format!("/api/v1/projects/{pid}"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    assert!(p["status_reason"].is_null());
    let ev = app
        .get(
            &format!("/api/v1/audit?entity=project&entity_id={pid}"),
            Some(&s.d.bureau),
        )
        .await
        .expect(200)
        .body;
    let redrawn = ev["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "panel.redrawn")
        .unwrap();
    assert_eq!(redrawn["summary"]["reason"], "补充专家库后重新抽取");
    // Once scoring has begun the panel stays.
    let first = r["members"][0]["expert_id"].as_str().unwrap().to_owned();
    let token = app.login(&expert_email(&app, &first).await, PASSWORD).await;
    let seat = first_seat(&app, &token).await;
    app.post(
        &format!("/api/v1/assignments/{seat}/accept"),
        Some(&token),
        json!({"declaration": "no_conflict"}),
    )
    .await
    .expect(200);
    let bid = &s.bids[0];
    app.send(
        reqwest::Method::PUT,
        &format!("/api/v1/bids/{bid}/score"),
        Some(&token),
        Some(json!({"points": {"plan": 30, "team": 20}, "comment": ""})),
    )
    .await
    .expect(200);
    app.post(&url, Some(&s.d.bureau), json!({"reason": "再抽一次"}))
        .await
        .problem(409, "invalid_state");
}

async fn expert_email(app: &TestApp, expert_id: &str) -> String {
    let e = app
        .get(
            &format!("/api/v1/experts/{expert_id}"),
            Some(&app.admin_token),
        )
        .await
        .expect(200)
        .body;
    app.get(
        &format!("/api/v1/users/{}", e["user_id"].as_str().unwrap()),
        Some(&app.admin_token),
    )
    .await
    .expect(200)
    .body["email"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The id of the first assignment in an expert's inbox.
async fn first_seat(app: &TestApp, token: &str) -> String {
    let inbox = app
        .get("/api/v1/me/assignments", Some(token))
        .await
        .expect(200)
        .body;
    inbox["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn corrupt_score_sheets_and_panel_draws_are_a_500_not_empty_values() {
    let app = app().await;
    let s = scored(&app).await;
    let pid = s.project["id"].as_str().unwrap();
    let evaluation = format!("/api/v1/projects/{pid}/evaluation");
    app.get(&evaluation, Some(&s.d.bureau)).await.expect(200);
    // Points that are JSON but not numbers are as corrupt as broken JSON.
    app.sql(&format!(
        "UPDATE score_sheets SET points = '{{\"plan\": \"lots\", \"team\": \"20\"}}' WHERE bid_id = '{}'",
        s.bids[0]
    ))
    .unwrap();
    let r = app.get(&evaluation, Some(&s.d.bureau)).await;
    crate::stored_json::assert_internal(r, &["sheets", "ranking"]);
    app.sql(&format!(
        "UPDATE score_sheets SET points = '{{not json' WHERE bid_id = '{}'",
        s.bids[0]
    ))
    .unwrap();
    let r = app.get(&evaluation, Some(&s.d.bureau)).await;
    crate::stored_json::assert_internal(r, &["sheets", "ranking"]);
    let panel = format!("/api/v1/projects/{pid}/panel");
    app.get(&panel, Some(&s.d.bureau)).await.expect(200);
    for (broken, intact) in [("eligible_ids", "receipts"), ("receipts", "eligible_ids")] {
        app.sql(&format!(
            "UPDATE panel_draws SET {broken} = '{{not json', {intact} = '[]' WHERE project_id = '{pid}'"
        ))
        .unwrap();
        let r = app.get(&panel, Some(&s.d.bureau)).await;
        crate::stored_json::assert_internal(r, &["members", "draw"]);
    }
}

#[tokio::test]
async fn the_bureau_is_mailed_each_objection_and_lists_them_by_project_award_and_status() {
    let app = app().await;
    let s = scored(&app).await;
    let pid = s.project["id"].as_str().unwrap();
    let a = award_first(&app, &s).await;
    let award = a["id"].as_str().unwrap().to_owned();
    assert!(
        a["organization_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "the winner's name: {a}"
    );
    assert_eq!(
        a["objections"],
        json!({"open": 0, "upheld": 0, "dismissed": 0})
    );
    let mails_before = app.outbox_count("Objection filed:").await;
    let bidder_b = bidder_token(&app, &s, 1).await;
    let o = object(&app, &award, &bidder_b, "评分计算有误")
        .await
        .expect(201)
        .body;
    let oid = o["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.outbox_count("Objection filed:").await - mails_before,
        1,
        "the district's bureau is mailed"
    );
    let read = app
        .get(&format!("/api/v1/awards/{award}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(read["objections"]["open"], 1, "{read}");

    let list = |token: String, query: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/objections{query}"), Some(&token))
                .await
        }
    };
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap_or_else(|| panic!("a page: {page}"))
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let bureau = s.d.bureau.clone();
    for q in [
        String::new(),
        format!("?project_id={pid}"),
        format!("?award_id={award}"),
        "?status=open".to_owned(),
    ] {
        let page = list(bureau.clone(), q.clone()).await.expect(200).body;
        assert_eq!(ids(&page), [oid.as_str()], "{q}: {page}");
    }
    for q in [
        "?status=dismissed".to_owned(),
        "?project_id=nothing".to_owned(),
    ] {
        let page = list(bureau.clone(), q.clone()).await.expect(200).body;
        assert!(ids(&page).is_empty(), "{q}: {page}");
    }
    // Scope: another district's bureau sees none, the objecting organization its own, the winner none.
    let other = list(s.d.other_bureau.clone(), String::new())
        .await
        .expect(200)
        .body;
    assert!(ids(&other).is_empty(), "{other}");
    let own = list(bidder_b.clone(), String::new()).await.expect(200).body;
    assert_eq!(ids(&own), [oid.as_str()]);
    assert_eq!(own["items"][0]["grounds"], "评分计算有误");
    let winner = bidder_token(&app, &s, 0).await;
    assert!(ids(&list(winner, String::new()).await.expect(200).body).is_empty());
    // Bad filters name their parameter.
    let r = list(bureau.clone(), "?status=pending".to_owned())
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), ["status"], "{}", r.body);

    app.post(
        &format!("/api/v1/objections/{oid}/resolve"),
        Some(&s.d.bureau),
        json!({"outcome": "dismissed", "reply": "经复核，评分无误"}),
    )
    .await
    .expect(200);
    let page = list(bureau.clone(), "?status=dismissed".to_owned())
        .await
        .expect(200)
        .body;
    assert_eq!(ids(&page), [oid.as_str()]);
    assert_eq!(page["items"][0]["reply"], "经复核，评分无误");
    assert_eq!(
        app.get(&format!("/api/v1/awards/{award}"), None)
            .await
            .expect(200)
            .body["objections"],
        json!({"open": 0, "upheld": 0, "dismissed": 1})
    );
}

#[tokio::test]
async fn an_assignment_names_its_project_says_when_to_answer_and_completes_with_the_last_sheet() {
    let app = app().await;
    let s = scene(&app, 4).await;
    let title = s.project["title"].as_str().unwrap().to_owned();
    let pid = s.project["id"].as_str().unwrap();
    let panel = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    let member = panel["members"][0]["expert_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = s.experts[&member].clone();
    let inbox = |token: String| {
        let app = &app;
        async move {
            app.get("/api/v1/me/assignments?limit=100", Some(&token))
                .await
                .expect(200)
                .body["items"][0]
                .clone()
        }
    };
    let a = inbox(token.clone()).await;
    assert_eq!(a["status"], "invited", "{a}");
    assert_eq!(a["project_title"], title.as_str(), "{a}");
    // Invited at the close (the clock stands there): the pack gives 48 hours to answer.
    let by: DateTime<Utc> = a["respond_by"].as_str().unwrap().parse().unwrap();
    assert_eq!(by, app.now() + Duration::hours(48), "{a}");
    assert_eq!(a["due_at"], a["respond_by"], "{a}");
    let seat = a["id"].as_str().unwrap().to_owned();
    let accepted = app
        .post(
            &format!("/api/v1/assignments/{seat}/accept"),
            Some(&token),
            json!({"declaration": "no_conflict"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    assert!(accepted["respond_by"].is_null(), "answered: {accepted}");
    assert_eq!(accepted["project_title"], title.as_str());
    // One sheet of two: still accepted; the second completes it.
    for (i, bid) in s.bids.iter().enumerate() {
        app.put(
            &format!("/api/v1/bids/{bid}/score"),
            &token,
            json!({"points": {"plan": 40, "team": 20}, "comment": "方案可行"}),
        )
        .await
        .expect(200);
        let a = inbox(token.clone()).await;
        let want = if i + 1 < s.bids.len() {
            "accepted"
        } else {
            "completed"
        };
        assert_eq!(a["status"], want, "after {} sheets: {a}", i + 1);
        // The clerk follows the round: sheets per member.
        let panel = app
            .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
            .await
            .expect(200)
            .body;
        for m in panel["members"].as_array().unwrap() {
            let want = if m["expert_id"] == member.as_str() {
                i as u64 + 1
            } else {
                0
            };
            assert_eq!(m["sheets_submitted"], want, "{m}");
        }
    }
    // Points come back as the numbers sent.
    let ev = app
        .get(
            &format!("/api/v1/projects/{pid}/evaluation"),
            Some(&s.d.bureau),
        )
        .await
        .expect(200)
        .body;
    for sheet in ev["sheets"].as_array().unwrap() {
        assert_eq!(sheet["points"], json!({"plan": 40, "team": 20}), "{sheet}");
    }
}

/// The audit trail of a procurement, read the way an auditor asks for it: by award, by bid and
/// by project, with the points as numbers.
#[tokio::test]
async fn audit_events_are_filed_under_their_own_entity_with_the_project_as_second_key() {
    let app = app().await;
    let s = scored(&app).await;
    let pid = s.project["id"].as_str().unwrap();
    let a = award_first(&app, &s).await;
    let award = a["id"].as_str().unwrap();
    let loser = bidder_token(&app, &s, 1).await;
    let o = object(&app, award, &loser, "评分畸高，请求复核")
        .await
        .expect(201)
        .body;
    let events = |q: String| {
        let app = &app;
        let bureau = s.d.bureau.clone();
        async move {
            app.get(&format!("/api/v1/audit?{q}&limit=100"), Some(&bureau))
                .await
                .expect(200)
                .body["items"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let actions = |evs: &[Value]| -> Vec<String> {
        let mut a: Vec<String> = evs
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect();
        a.sort();
        a.dedup();
        a
    };
    let of_award = events(format!("entity=award&entity_id={award}")).await;
    assert_eq!(actions(&of_award), ["project.awarded"], "{of_award:?}");
    assert_eq!(of_award[0]["project_id"], pid);
    let of_objection = events(format!(
        "entity=objection&entity_id={}",
        o["id"].as_str().unwrap()
    ))
    .await;
    assert_eq!(actions(&of_objection), ["award.objection_filed"]);
    // A bid's trail: placed (opened from its seal), then each expert's sheet, points as numbers.
    let of_bid = events(format!("entity=bid&entity_id={}", s.bids[0])).await;
    assert!(
        actions(&of_bid).contains(&"evaluation.sheet_submitted".to_owned()),
        "{of_bid:?}"
    );
    let sheets: Vec<&Value> = of_bid
        .iter()
        .filter(|e| e["action"] == "evaluation.sheet_submitted")
        .collect();
    assert_eq!(sheets.len(), 3);
    let points: std::collections::BTreeSet<String> = sheets
        .iter()
        .map(|e| e["summary"]["points"].to_string())
        .collect();
    assert!(
        points.contains(r#"{"plan":40,"team":25}"#),
        "points are an object of numbers: {points:?}"
    );
    assert!(of_bid.iter().all(|e| e["project_id"] == pid));
    // The whole procurement by its project.
    let all = events(format!("project_id={pid}")).await;
    let seen = actions(&all);
    for want in [
        "project.created",
        "project.published",
        "project.bidding_closed",
        "panel.drawn",
        "evaluation.sheet_submitted",
        "project.awarded",
        "award.objection_filed",
    ] {
        assert!(seen.contains(&want.to_owned()), "{want} missing: {seen:?}");
    }
    assert!(all.iter().all(|e| e["project_id"] == pid));
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
}

/// An expert mends a typo in a draft; the draft is its author's alone and counts for nothing
/// until the sheet is submitted, which is final and replaces it.
#[tokio::test]
async fn a_draft_sheet_is_private_counts_for_nothing_and_gives_way_to_the_final_sheet() {
    let app = app().await;
    let s = scene(&app, 4).await;
    let pid = s.project["id"].as_str().unwrap();
    let members = accept_all(&app, &s).await;
    let (me, other) = (&members[0].1, &members[1].1);
    let bid = &s.bids[0];
    let draft_path = format!("/api/v1/bids/{bid}/score/draft");
    // No draft yet.
    app.get(&draft_path, Some(me))
        .await
        .problem(404, "not_found");
    // A partial draft with a typo: saved, the unscored criterion named.
    let d = app
        .put(
            &draft_path,
            me,
            json!({"points": {"plan": 4}, "comment": "草稿"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(d["points"], json!({"plan": 4}), "{d}");
    assert_eq!(d["missing"], json!(["team"]));
    assert_eq!(d["submitted"], false);
    // Out of range is refused as a sheet's points are, naming the criterion; unknown keys too.
    let r = app
        .put(&draft_path, me, json!({"points": {"plan": 51, "teem": 3}}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["points.plan", "points.teem"]);
    // Mended.
    app.put(
        &draft_path,
        me,
        json!({"points": {"plan": 40, "team": 25}, "comment": "方案完整"}),
    )
    .await
    .expect(200);
    let d = app.get(&draft_path, Some(me)).await.expect(200).body;
    assert_eq!(d["points"], json!({"plan": 40, "team": 25}));
    assert_eq!(d["missing"], json!([]));
    // Nobody else reads it: another member, the bureau, the bidder.
    app.get(&draft_path, Some(other))
        .await
        .problem(404, "not_found");
    app.get(&draft_path, Some(&s.d.bureau))
        .await
        .problem(403, "forbidden");
    // It counts for nothing: the panel shows no sheet, the evaluation none.
    let panel = app
        .get(&format!("/api/v1/projects/{pid}/panel"), Some(&s.d.bureau))
        .await
        .expect(200)
        .body;
    assert!(
        panel["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["sheets_submitted"] == 0),
        "{panel}"
    );
    let ev = app
        .get(
            &format!("/api/v1/projects/{pid}/evaluation"),
            Some(&s.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ev["sheets"].as_array().unwrap().len(), 0, "{ev}");
    // Submitted: final, and the draft is gone.
    app.put(
        &format!("/api/v1/bids/{bid}/score"),
        me,
        json!({"points": {"plan": 40, "team": 25}, "comment": "方案完整"}),
    )
    .await
    .expect(200);
    app.get(&draft_path, Some(me))
        .await
        .problem(404, "not_found");
    app.put(&draft_path, me, json!({"points": {"plan": 41}}))
        .await
        .problem(409, "score_final");
    app.put(
        &format!("/api/v1/bids/{bid}/score"),
        me,
        json!({"points": {"plan": 41, "team": 25}, "comment": "改"}),
    )
    .await
    .problem(409, "score_final");
    let ev = app
        .get(
            &format!("/api/v1/projects/{pid}/evaluation"),
            Some(&s.d.bureau),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(ev["sheets"].as_array().unwrap().len(), 1, "{ev}");
    assert_eq!(ev["sheets"][0]["points"], json!({"plan": 40, "team": 25}));
}
