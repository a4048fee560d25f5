//! The sandbox clock as trainers and acceptance walks use it: it runs on from a move, moving it
//! expires no sign-in, and a job run by hand says when the scheduler got there first.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{spawn_app, spawn_with};

#[tokio::test]
async fn the_clock_runs_on_from_a_move_unless_frozen() {
    let app = spawn_app().await;
    let to = "2027-03-01T08:00:00Z";
    let r = app
        .post(
            "/api/v1/admin/clock",
            Some(&app.admin_token),
            json!({ "now": to }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["frozen"], false, "{}", r.body);
    let set: chrono::DateTime<chrono::Utc> = to.parse().unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    let later = app.now();
    assert!(later > set, "the clock runs on: {later}");
    assert!(later - set < chrono::Duration::seconds(60), "{later}");
    // Frozen on request: it stays, and an advance keeps it frozen.
    let r = app
        .post(
            "/api/v1/admin/clock",
            Some(&app.admin_token),
            json!({ "now": to, "frozen": true }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["frozen"], true);
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(app.now(), set);
    let r = app
        .post(
            "/api/v1/admin/clock",
            Some(&app.admin_token),
            json!({ "advance_seconds": 3600, "frozen": true }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["now"], "2027-03-01T09:00:00Z");
    assert_eq!(app.now(), set + chrono::Duration::hours(1));
    // The sign-in of before the moves still works.
    app.get("/api/v1/me", Some(&app.admin_token))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_hand_run_after_the_scheduler_closed_the_round_says_already_done() {
    let app = spawn_with(|s| s.jobs.close_bidding_cron = "* * * * * *".into()).await;
    let d = app.district().await;
    let p = app.open_project(&d, |_| {}).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let close: chrono::DateTime<chrono::Utc> = p["bid_close_at"].as_str().unwrap().parse().unwrap();
    let mut sched = gongyi::jobs::start(app.state.clone()).await.unwrap();
    app.post(
        "/api/v1/admin/clock",
        Some(&app.admin_token),
        json!({ "now": (close + chrono::Duration::minutes(1)).to_rfc3339() }),
    )
    .await
    .expect(200);
    // The scheduler fires every second and closes the round by itself.
    let mut status = String::new();
    for _ in 0..100 {
        status = app
            .get(&format!("/api/v1/projects/{id}"), Some(&d.bureau))
            .await
            .expect(200)
            .body["status"]
            .as_str()
            .unwrap()
            .to_owned();
        if status != "open" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_ne!(status, "open", "the scheduler never closed the round");
    sched.shutdown().await.unwrap();
    let r = app.run_job("close_bidding").await.expect(200);
    assert_eq!(r.body["processed"], 0, "{}", r.body);
    assert_eq!(r.body["already_done"], 1, "{}", r.body);
    // Said once: the next hand run counts from this one.
    let r = app.run_job("close_bidding").await.expect(200);
    assert_eq!(r.body["already_done"], 0, "{}", r.body);
}
