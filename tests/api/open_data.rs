//! Open data: the OCDS release feed and records of a project walked from publication to its
//! contract's end, read back at each stage; nothing of a sealed bid before the opening; the
//! cursor and `?since=` give every release exactly once while releases are being written.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::contracts::{app, contracted};
use crate::helpers::{spawn_app, TestApp};

const PREFIX: &str = "ocds-gongyi";

/// The record of `project`: its releases and compiled release.
async fn record(app: &TestApp, project: &str) -> (Vec<Value>, Value) {
    let body = app
        .get(&format!("/api/v1/ocds/records/{PREFIX}-{project}"), None)
        .await
        .expect(200)
        .body;
    assert_eq!(body["version"], "1.1");
    let r = &body["records"][0];
    assert_eq!(r["ocid"], format!("{PREFIX}-{project}"));
    (
        r["releases"].as_array().unwrap().clone(),
        r["compiledRelease"].clone(),
    )
}

fn tags(releases: &[Value]) -> Vec<&str> {
    releases
        .iter()
        .map(|r| r["tag"][0].as_str().unwrap())
        .collect()
}

/// The whole feed, page by page with `limit`, as the text of each page and its releases.
async fn harvest(app: &TestApp, first: &str) -> (Vec<String>, Vec<Value>) {
    let mut url = first.to_owned();
    let mut pages = Vec::new();
    let mut releases = Vec::new();
    loop {
        let resp = app.client.get(&url).send().await.expect("request");
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.unwrap();
        let page: Value = serde_json::from_str(&text).unwrap();
        releases.extend(page["releases"].as_array().unwrap().iter().cloned());
        pages.push(text);
        match page["links"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
    }
    (pages, releases)
}

#[tokio::test]
async fn a_walked_project_reads_back_in_its_releases_and_record_at_each_stage() {
    let app = app().await;
    let deal = contracted(&app, "100000.01", |_| {}).await;
    let pid = deal.project.clone();
    let (releases, compiled) = record(&app, &pid).await;
    // Published, opened, awarded, final; the contract waits for its signatures (not public).
    assert_eq!(
        tags(&releases),
        ["tender", "tenderUpdate", "award", "awardUpdate"]
    );
    let project = app
        .get(&format!("/api/v1/projects/{pid}"), None)
        .await
        .expect(200)
        .body;
    let tender = &releases[0]["tender"];
    assert_eq!(tender["id"], format!("{pid}-r1"));
    assert_eq!(tender["status"], "active");
    assert_eq!(tender["title"], project["title"]);
    assert_eq!(
        tender["value"],
        json!({"amount": 300000.0, "currency": "CNY"})
    );
    assert_eq!(tender["mainProcurementCategory"], "services");
    assert!(tender["procurementMethodDetails"]
        .as_str()
        .unwrap()
        .contains('('));
    let close: chrono::DateTime<chrono::Utc> =
        project["bid_close_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        tender["tenderPeriod"]["endDate"],
        close.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(
        releases[0]["planning"]["budget"]["amount"]["amount"],
        300000.0
    );
    assert!(releases[0]["buyer"]["name"]
        .as_str()
        .unwrap()
        .ends_with("民政局"));
    // The opening names the one bidder, not its price.
    assert_eq!(releases[1]["tender"]["numberOfTenderers"], 1);
    let org_party = format!("org-{}", deal.org);
    assert_eq!(releases[1]["tender"]["tenderers"][0]["id"], org_party);
    // The award: winner, amount, the panel as the review body.
    let award = &releases[2]["awards"][0];
    assert_eq!(award["id"], deal.award);
    assert_eq!(award["status"], "pending");
    assert_eq!(award["value"]["amount"], 100000.01);
    assert_eq!(award["suppliers"][0]["id"], org_party);
    let parties = releases[2]["parties"].as_array().unwrap();
    let supplier = parties.iter().find(|p| p["id"] == org_party).unwrap();
    assert_eq!(supplier["roles"], json!(["tenderer", "supplier"]));
    assert_eq!(supplier["identifier"]["scheme"], "CN-USCC");
    assert_eq!(supplier["identifier"]["id"].as_str().unwrap().len(), 18);
    let panel = parties
        .iter()
        .find(|p| p["roles"] == json!(["reviewBody"]))
        .expect("the panel");
    assert!(panel["name"].as_str().unwrap().contains('、'));
    assert_eq!(releases[3]["awards"][0]["status"], "active");
    assert_eq!(releases[3]["tender"]["status"], "complete");
    assert_eq!(compiled["awards"][0]["status"], "active");
    assert_eq!(compiled["tag"], json!(["compiled"]));
    assert_eq!(compiled["tender"]["status"], "complete");
    assert_eq!(compiled["tender"]["title"], project["title"]);
    assert!(compiled.get("contracts").is_none());

    // Signed: the contract is public.
    let active = deal.sign_both(&app).await;
    let (releases, _) = record(&app, &pid).await;
    assert_eq!(tags(&releases).last(), Some(&"contract"));
    let k = &releases.last().unwrap()["contracts"][0];
    assert_eq!(k["id"], deal.contract);
    assert_eq!(k["awardID"], deal.award);
    assert_eq!(k["status"], "active");
    assert_eq!(k["value"]["amount"], 100000.01);
    assert!(k["dateSigned"].is_string());

    // Paid: a transaction, without its payment reference.
    let tranche = active["tranches"][0]["id"].as_str().unwrap().to_owned();
    deal.release(&app, &tranche, "k-1", "PAYREF-SECRET-0001")
        .await
        .expect(200);
    // Amended and terminated.
    let c = deal.read(&app).await;
    deal.amend(
        &app,
        Some(&format!("\"{}\"", c["version"])),
        json!({"amount": "105000.01", "reason": "服务对象增加"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/contracts/{}/terminate", deal.contract),
        Some(&deal.d.bureau),
        json!({"reason": "机构注销"}),
    )
    .await
    .expect(200);
    let (releases, compiled) = record(&app, &pid).await;
    assert_eq!(
        tags(&releases)[4..],
        [
            "contract",
            "implementation",
            "contractAmendment",
            "contractTermination"
        ]
    );
    let tx = &releases[5]["contracts"][0]["implementation"]["transactions"][0];
    assert_eq!(tx["id"], tranche);
    assert_eq!(tx["value"]["amount"], 30000.0);
    assert_eq!(tx["payee"]["id"], org_party);
    assert_eq!(releases[6]["contracts"][0]["value"]["amount"], 105000.01);
    assert_eq!(
        releases[6]["contracts"][0]["amendments"][0]["rationale"],
        "服务对象增加"
    );
    let ck = &compiled["contracts"][0];
    assert_eq!(ck["status"], "terminated");
    assert_eq!(ck["value"]["amount"], 105000.01);
    assert_eq!(
        ck["implementation"]["transactions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(compiled["date"], releases.last().unwrap()["date"]);
    // Every release of the record is in the feed, once, in order, under the publisher.
    let (pages, feed) = harvest(&app, &app.url("/api/v1/ocds/releases?limit=3")).await;
    let ids: Vec<&Value> = feed.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, releases.iter().map(|r| &r["id"]).collect::<Vec<_>>());
    let first: Value = serde_json::from_str(&pages[0]).unwrap();
    assert_eq!(first["publisher"]["name"], "gongyi");
    assert!(first["license"].is_string() && first["publicationPolicy"].is_string());
    assert!(first["links"]["next"].as_str().unwrap().contains("cursor="));
    assert!(pages.iter().all(|p| !p.contains("PAYREF-SECRET")));
    // Unknown ocids are 404; bad paging is 422 naming the field.
    app.get(&format!("/api/v1/ocds/records/{PREFIX}-nope"), None)
        .await
        .problem(404, "not_found");
    app.get("/api/v1/ocds/records/other-prefix-1", None)
        .await
        .problem(404, "not_found");
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("cursor=%%%", "cursor"),
        ("since=yesterday", "since"),
    ] {
        let r = app
            .get(&format!("/api/v1/ocds/releases?{q}"), None)
            .await
            .problem(422, "validation_failed");
        assert!(r.body.to_string().contains(field), "{q}: {}", r.body);
    }
}

#[tokio::test]
async fn nothing_of_a_sealed_bid_is_in_any_release_before_the_opening() {
    let app = spawn_app().await;
    let d = app.district().await;
    let project = app.open_project(&d, |_| {}).await;
    let pid = project["id"].as_str().unwrap().to_owned();
    let (org, token) = app.verified_org(&d).await;
    let bid = app.bid(&pid, &token, "123456.78").await.expect(201).body;
    let bid_id = bid["id"].as_str().unwrap().to_owned();
    let (pages, releases) = harvest(&app, &app.url("/api/v1/ocds/releases")).await;
    assert_eq!(tags(&releases), ["tender"]);
    for p in &pages {
        for secret in [org.as_str(), bid_id.as_str(), "123456.78", "123456", "王芳"] {
            assert!(!p.contains(secret), "{secret} is in {p}");
        }
    }
    assert!(releases[0]["tender"].get("numberOfTenderers").is_none());
    // The opening publishes who bid — still not what.
    let close: chrono::DateTime<chrono::Utc> =
        project["bid_close_at"].as_str().unwrap().parse().unwrap();
    app.set_clock(close + chrono::Duration::seconds(1)).await;
    app.run_job("close_bidding").await.expect(200);
    let (pages, releases) = harvest(&app, &app.url("/api/v1/ocds/releases")).await;
    assert_eq!(tags(&releases), ["tender", "tenderUpdate"]);
    assert_eq!(
        releases[1]["tender"]["tenderers"][0]["id"],
        format!("org-{org}")
    );
    assert!(pages
        .iter()
        .all(|p| !p.contains("123456.78") && !p.contains("王芳")));
}

#[tokio::test]
async fn paging_by_cursor_while_releases_are_written_gives_each_exactly_once() {
    let app = spawn_app().await;
    const N: usize = 200;
    let (d, tranches) = crate::releases::seeded(&app, N).await;
    let url = app.url("/api/v1/ocds/releases?limit=7");
    let start = app.now();
    let done = std::sync::atomic::AtomicBool::new(false);
    // The writer: every tranche released at once, in parallel requests.
    let writer = async {
        let requests = tranches.iter().enumerate().map(|(i, t)| {
            app.client
                .post(app.url(&format!("/api/v1/tranches/{t}/release")))
                .bearer_auth(&d.bureau)
                .header("Idempotency-Key", format!("k-{i}"))
                .json(&json!({"payment_reference": format!("ref-{i}")}))
                .send()
        });
        let answers = join_all(requests).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        answers
    };
    // The reader: follows the cursor while the writes go on; at the end of the feed it asks
    // again from its last release, until a read begun after the last write finds nothing new.
    let reader = async {
        let mut seen: Vec<String> = Vec::new();
        let mut next = url.clone();
        let mut reads = 0;
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let page: Value = app
                .client
                .get(&next)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            reads += 1;
            let got = page["releases"].as_array().unwrap();
            seen.extend(got.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
            match page["links"]["next"].as_str() {
                Some(n) => next = n.to_owned(),
                None if finished => break,
                None => {
                    if let Some(last) = seen.last() {
                        let seq: i64 = last.rsplit('-').next().unwrap().parse().unwrap();
                        next = format!("{url}&cursor={}", cursor_after(seq));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        }
        (seen, reads)
    };
    let (answers, (seen, reads)) = tokio::join!(writer, reader);
    assert!(reads > 2, "the reader read while the writer wrote");
    for a in answers {
        assert_eq!(a.unwrap().status(), 200);
    }
    // Read once more from where the reader stopped: nothing was left behind.
    let (_, all) = harvest(&app, &app.url("/api/v1/ocds/releases?limit=1000")).await;
    let all_ids: Vec<String> = all
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a release was served twice");
    assert_eq!(
        seen, all_ids,
        "the reader saw the feed as it finally is, in order"
    );
    let transactions = all
        .iter()
        .filter(|r| r["tag"][0] == "implementation")
        .count();
    assert_eq!(transactions, N);
    // `since` the writer started: the payments and nothing dated before.
    let since = start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, recent) = harvest(
        &app,
        &app.url(&format!(
            "/api/v1/ocds/releases?limit=50&since={}",
            since.replace('+', "%2B")
        )),
    )
    .await;
    assert!(recent
        .iter()
        .all(|r| r["date"].as_str().unwrap() >= since.as_str()));
    assert_eq!(
        recent
            .iter()
            .filter(|r| r["tag"][0] == "implementation")
            .count(),
        N
    );
}

/// The cursor the server gives after the release numbered `seq`.
fn cursor_after(seq: i64) -> String {
    gongyi::http::pagination::encode_cursor(&seq)
}
