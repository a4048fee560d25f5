//! `seed-demo` fills an empty database with data a REST client can explore at once.

use std::collections::BTreeSet;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_district_has_needs_in_every_status_funds_and_projects() {
    let app = spawn_app().await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || gongyi::demo::seed(&state))
        .await
        .unwrap()
        .unwrap();
    let bureau = app
        .login("bureau@gongyi.local", gongyi::demo::DEMO_PASSWORD)
        .await;
    let mut statuses = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let r = app
            .get(
                &format!("/api/v1/needs?limit=100&cursor={cursor}"),
                Some(&bureau),
            )
            .await
            .expect(200);
        for n in r.body["items"].as_array().unwrap() {
            count += 1;
            statuses.insert(n["status"].as_str().unwrap().to_owned());
            sources.insert(n["source"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(count, 40);
    let all: BTreeSet<String> = [
        "submitted",
        "forwarded",
        "returned",
        "accepted",
        "rejected",
        "merged",
        "in_project",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(statuses, all);
    assert!(sources.len() >= 6);
    let funds = app.get("/api/v1/funds", Some(&bureau)).await.expect(200);
    assert_eq!(funds.body["items"].as_array().unwrap().len(), 2);
    let open = app
        .get("/api/v1/projects?status=open", None)
        .await
        .expect(200);
    // Two open projects, and a third whose first round failed without a bid, open again.
    let open = open.body["items"].as_array().unwrap().clone();
    assert_eq!(open.len(), 3);
    assert_eq!(open.iter().filter(|p| p["round"] == 2).count(), 1);
    // Each report and red flag shows something: a tranche paid late, single-bidder rounds, the
    // demo organization winning every elderly-care round of its street.
    let late = app
        .get("/api/v1/reports/late-payments", Some(&bureau))
        .await
        .expect(200)
        .body;
    assert_eq!(late["totals"]["paid_late"], 1, "{late}");
    let flags = app
        .get("/api/v1/reports/red-flags?limit=100", Some(&bureau))
        .await
        .expect(200)
        .body;
    let kinds: BTreeSet<&str> = flags["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flag"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains("single_bidder") && kinds.contains("repeat_winner"),
        "{flags}"
    );
    let feed = app
        .get("/api/v1/ocds/releases?limit=1000", None)
        .await
        .expect(200)
        .body;
    assert!(feed["releases"].as_array().unwrap().len() > 40);
    let drafts = app
        .get("/api/v1/projects?status=draft", Some(&bureau))
        .await
        .expect(200);
    assert_eq!(drafts.body["items"].as_array().unwrap().len(), 2);
    // Six projects walked to signed contracts, their first tranche paid, and their reviews in
    // every state: scheduled, open, scoring, passed, failed (a re-review scheduled), and one
    // contract completed.
    let contracts = app
        .get("/api/v1/contracts?limit=100", Some(&bureau))
        .await
        .expect(200)
        .body;
    let items = contracts["items"].as_array().unwrap();
    assert_eq!(items.len(), 6, "{contracts}");
    for c in items {
        assert!(c["signed_by_bureau_at"].is_string() && c["signed_by_org_at"].is_string());
        assert_eq!(c["tranches"][0]["status"], "released", "{c}");
        assert_eq!(
            app.get(
                &format!("/api/v1/projects/{}", c["project_id"].as_str().unwrap()),
                None
            )
            .await
            .expect(200)
            .body["status"],
            "contracted"
        );
    }
    let statuses: BTreeSet<&str> = items
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["active", "completed"]),
        "{contracts}"
    );
    let completed = items.iter().find(|c| c["status"] == "completed").unwrap();
    assert_eq!(completed["released"], "368000.00", "{completed}");
    let reviews = app
        .get("/api/v1/reviews?limit=100", Some(&bureau))
        .await
        .expect(200)
        .body;
    let states: BTreeSet<&str> = reviews["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        BTreeSet::from(["scheduled", "open", "scoring", "passed", "failed"]),
        "{reviews}"
    );
    let org = app
        .login("org@gongyi.local", gongyi::demo::DEMO_PASSWORD)
        .await;
    let mine = app
        .get("/api/v1/contracts?limit=100", Some(&org))
        .await
        .expect(200)
        .body;
    assert_eq!(mine["items"].as_array().unwrap().len(), 6);
    let o = app
        .get(
            &format!(
                "/api/v1/organizations/{}",
                completed["organization_id"].as_str().unwrap()
            ),
            None,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(o["track_record"]["completed"], 1, "{o}");
    // A working pool: every demo panel drawn from it, and every expert can sign in and see its
    // inbox. The two experts with declared ties to the demo organization never sat on a panel
    // for its bids; the bureau's own expert never on the bureau's panels.
    let pool = app
        .get("/api/v1/experts?limit=100", Some(&app.admin_token))
        .await
        .expect(200)
        .body;
    assert_eq!(
        pool["items"].as_array().unwrap().len(),
        gongyi::demo::DEMO_EXPERTS,
        "{pool}"
    );
    let (mut evaluation_seats, mut review_seats) = (0, 0);
    for i in 1..=gongyi::demo::DEMO_EXPERTS {
        let email = match i {
            1 => "expert@gongyi.local".to_owned(),
            _ => format!("expert{i}@gongyi.local"),
        };
        let expert = app.login(&email, gongyi::demo::DEMO_PASSWORD).await;
        let inbox = app
            .get("/api/v1/me/assignments?limit=100", Some(&expert))
            .await
            .expect(200)
            .body;
        let items = inbox["items"].as_array().unwrap();
        let evaluations = items.iter().filter(|a| a["kind"] == "evaluation").count();
        if [3, 6, gongyi::demo::DEMO_EXPERTS].contains(&i) {
            assert_eq!(evaluations, 0, "{email} is recused: {inbox}");
        }
        evaluation_seats += items
            .iter()
            .filter(|a| a["kind"] == "evaluation" && a["status"] != "standby")
            .count();
        review_seats += items.iter().filter(|a| a["kind"] == "review").count();
    }
    assert_eq!(
        evaluation_seats,
        6 * 3,
        "three members on each of six panels"
    );
    assert!(review_seats >= 3, "{review_seats}");
    for f in funds.body["items"].as_array().unwrap() {
        let r = app
            .get(
                &format!("/api/v1/funds/{}/reconcile", f["id"].as_str().unwrap()),
                Some(&bureau),
            )
            .await
            .expect(200)
            .body;
        assert_eq!(r["ok"], true, "{r}");
    }
    // Seeding twice is refused rather than doubling the district.
    let state = app.state.clone();
    assert!(
        tokio::task::spawn_blocking(move || gongyi::demo::seed(&state))
            .await
            .unwrap()
            .is_err()
    );
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true);
}
