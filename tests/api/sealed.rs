//! Sealed means sealed (DESIGN.md § Bids, § Audit): before the opening nobody but the bidder
//! learns that a bid exists — not from the audit chain, its length or sequence, a job report, a
//! listing, an error, or a copy of the database — and at the opening the bids' events enter the
//! chain in the order received, with their original times.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::helpers::{spawn_with, TestApp};

async fn app() -> TestApp {
    spawn_with(|s| s.auth.access_ttl_secs = 400 * 86_400).await
}

/// What a reader gets from a route: status, ETag and body bytes (the request id, which differs
/// per request by design, masked).
async fn answer(app: &TestApp, method: &str, path: &str, token: &str) -> String {
    let req = match method {
        "GET" => app.client.get(app.url(path)),
        _ => app.client.post(app.url(path)).json(&json!({})),
    };
    let resp = req.bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (etag, rid) = (header("etag"), header("x-request-id"));
    let body = resp.text().await.unwrap();
    let body = if rid.is_empty() {
        body
    } else {
        body.replace(&rid, "<request-id>")
    };
    format!("{method} {path} → {status} etag={etag} {body}")
}

/// Everything an admin and the district's bureau can ask that might count bids.
async fn everything(app: &TestApp, tokens: &[&str], paths: &[(&str, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tokens {
        for (m, p) in paths {
            out.push(answer(app, m, p, t).await);
        }
    }
    out
}

#[tokio::test]
async fn before_the_opening_admin_and_bureau_get_byte_identical_answers_with_no_bids_and_with_three(
) {
    let app = app().await;
    let d = app.district().await;
    let p = app.open_project(&d, |_| {}).await;
    let pid = p["id"].as_str().unwrap().to_owned();
    let close: DateTime<Utc> = p["bid_close_at"].as_str().unwrap().parse().unwrap();
    let mut orgs = Vec::new();
    for _ in 0..3 {
        orgs.push(app.verified_org(&d).await);
    }
    let fund = d.fund.clone();
    let mut paths: Vec<(&str, String)> = vec![
        ("GET", "/api/v1/audit?limit=100".into()),
        ("GET", "/api/v1/audit/verify".into()),
        ("GET", "/api/v1/funds".into()),
        ("GET", format!("/api/v1/funds/{fund}")),
        ("GET", format!("/api/v1/funds/{fund}/ledger")),
        ("GET", "/api/v1/projects".into()),
        ("GET", format!("/api/v1/projects/{pid}")),
        ("GET", format!("/api/v1/projects/{pid}/bids")),
        ("GET", format!("/api/v1/projects/{pid}/opening")),
        ("GET", format!("/api/v1/projects/{pid}/amendments")),
        ("GET", format!("/api/v1/projects/{pid}/panel")),
        ("GET", "/api/v1/organizations".into()),
        ("GET", "/api/v1/needs".into()),
        ("GET", "/api/v1/users".into()),
        ("GET", "/readyz".into()),
        // A bid that never existed: after the bids, a real bid's id must answer the same.
        (
            "GET",
            "/api/v1/bids/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        ),
    ];
    for (id, _) in &orgs {
        paths.push(("GET", format!("/api/v1/organizations/{id}")));
    }
    for job in gongyi::jobs::JOBS {
        paths.push(("POST", format!("/api/v1/admin/jobs/{job}/run")));
    }
    // A frozen clock, so job reports carry the same `now`; the jobs run once to drain what the
    // setup queued (invitations, verification mails).
    let at = app.now();
    app.set_clock(at).await;
    for job in gongyi::jobs::JOBS {
        app.run_job(job).await.expect(200);
    }
    gongyi::jobs::send_mail::run_once(&app.state, at)
        .await
        .unwrap();
    let tokens = [app.admin_token.as_str(), d.bureau.as_str()];
    let before = everything(&app, &tokens, &paths).await;
    // The admin's reads answer (a refusal compared with a refusal would prove nothing).
    for (i, path) in [
        "/api/v1/audit?",
        "/api/v1/audit/verify",
        "/api/v1/funds/",
        "/api/v1/projects ",
    ]
    .iter()
    .enumerate()
    {
        let a = before.iter().find(|a| a.contains(path)).unwrap();
        assert!(a.contains("→ 200"), "{i}: {a}");
    }
    let dump_before = app.dump();

    // Three bids, one replaced and one withdrawn and placed again: sealed events, receipt mails,
    // idempotency records.
    let mut bid_ids = Vec::new();
    for (i, (_, token)) in orgs.iter().enumerate() {
        let r = app
            .client
            .post(app.url(&format!("/api/v1/projects/{pid}/bids")))
            .bearer_auth(token)
            .header("Idempotency-Key", format!("sealed-{i}"))
            .json(&TestApp::bid_body(&format!("28{i}000.00")))
            .send()
            .await
            .unwrap();
        let r = crate::helpers::into_reply(r).await.expect(201);
        bid_ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    app.put(
        &format!("/api/v1/bids/{}", bid_ids[0]),
        &orgs[0].1,
        TestApp::bid_body("279000.00"),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/bids/{}/withdraw", bid_ids[1]),
        Some(&orgs[1].1),
        json!({}),
    )
    .await
    .expect(200);
    let again = app.bid(&pid, &orgs[1].1, "281500.00").await.expect(201);
    bid_ids[1] = again.body["id"].as_str().unwrap().to_owned();

    let after = everything(&app, &tokens, &paths).await;
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "an answer changed when bids were placed");
    }
    // A real bid's id answers as one that never existed.
    let never = "/api/v1/bids/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    for t in tokens {
        let none = answer(&app, "GET", never, t).await;
        for id in &bid_ids {
            let real = answer(&app, "GET", &format!("/api/v1/bids/{id}"), t).await;
            assert_eq!(real.replace(id, "X"), none.replace(&never[13..], "X"));
        }
    }

    // The receipts reach the bidders (the sealed mails go out) and leave no trace in the outbox.
    gongyi::jobs::send_mail::run_once(&app.state, at)
        .await
        .unwrap();
    let dump_after = app.dump();
    let new_rows: Vec<&String> = dump_after
        .iter()
        .filter(|l| !dump_before.contains(l))
        .collect();
    assert!(
        new_rows.iter().any(|l| l.starts_with("bids:")),
        "the bids are in the copy"
    );
    let mut needles: Vec<String> = vec![
        "279000.00".into(),
        "27900000".into(),
        "281500.00".into(),
        "28150000".into(),
        "282000.00".into(),
        "28200000".into(),
        "Bid receipt".into(),
    ];
    for (id, token) in &orgs {
        let org = app
            .get(
                &format!("/api/v1/organizations/{id}"),
                Some(&app.admin_token),
            )
            .await
            .expect(200)
            .body;
        let me = app.get("/api/v1/me", Some(token)).await.expect(200).body;
        needles.push(id.clone());
        for v in [&org["name"], &org["contact_email"], &me["id"], &me["email"]] {
            needles.push(v.as_str().unwrap().to_owned());
        }
    }
    for row in &new_rows {
        for n in &needles {
            assert!(
                !row.contains(n.as_str()),
                "a database copy before the opening ties a bidder to the bid: {n} in {row}"
            );
        }
    }

    // At the opening the bids' events enter the chain, in the order received, with their times.
    app.set_clock(close + Duration::seconds(1)).await;
    app.run_job("close_bidding").await.expect(200);
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
    let events = app
        .get("/api/v1/audit?entity=bid&limit=100", Some(&app.admin_token))
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut actions: Vec<(i64, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["action"].as_str().unwrap().to_owned(),
                e["entity_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    actions.sort();
    let names: Vec<&str> = actions.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "bid.submitted",
            "bid.submitted",
            "bid.submitted",
            "bid.replaced",
            "bid.withdrawn",
            "bid.submitted"
        ]
    );
    assert_eq!(actions[5].2, bid_ids[1]);
    for e in &events {
        let t: DateTime<Utc> = e["at"].as_str().unwrap().parse().unwrap();
        assert_eq!(t, at, "an opened event keeps its original time");
        assert!(e["actor_id"].is_string());
    }
    let closed = app
        .get(
            "/api/v1/audit?entity=project&limit=100",
            Some(&app.admin_token),
        )
        .await
        .expect(200)
        .body["items"][0]
        .clone();
    assert_eq!(closed["action"], "project.bidding_closed");
    assert!(closed["seq"].as_i64().unwrap() > actions[5].0);
}

#[tokio::test]
async fn a_sealed_receipt_mail_is_delivered_and_then_gone_from_the_outbox() {
    let app = app().await;
    let d = app.district().await;
    let p = app.open_project(&d, |_| {}).await;
    let pid = p["id"].as_str().unwrap();
    let (_, token) = app.verified_org(&d).await;
    let at = app.now();
    gongyi::jobs::send_mail::run_once(&app.state, at)
        .await
        .unwrap();
    app.bid(pid, &token, "280000.00").await.expect(201);
    // The admin's run reports no bid mail (and answers before sending it).
    let report = app.run_job("send_mail").await.expect(200);
    assert_eq!(report.body["processed"], 0, "{}", report.body);
    // The admin's run sends it after answering; wait for that (or send it from here).
    let is_sent = |l: &str| l.contains("'sent'") || l.contains("\"sent\"");
    let mut rows: Vec<String> = Vec::new();
    for _ in 0..50 {
        gongyi::jobs::send_mail::run_once(&app.state, app.now())
            .await
            .unwrap();
        rows = app
            .dump()
            .into_iter()
            .filter(|l| l.starts_with("outbox:") && l.contains("bid.receipt"))
            .collect();
        if !rows.is_empty() && rows.iter().all(|r| is_sent(r)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert!(is_sent(row), "{row}");
    assert!(
        !row.contains("Bid receipt") && !row.contains("280000.00"),
        "{row}"
    );
}
