//! JSON kept in text columns: a value that does not decode is a 500 with the generic body
//! (its cause goes to the log), never an empty list or object passed off as the data.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::helpers::{spawn_app, spawn_with, unique, Reply, TestApp, PASSWORD};

/// Asserts the generic internal-error problem and that none of the row's data came along.
#[track_caller]
pub fn assert_internal(r: Reply, leaked: &[&str]) {
    let r = r.problem(500, "internal_error");
    assert_eq!(r.body["detail"], "an internal error occurred", "{}", r.body);
    let text = r.body.to_string();
    for field in leaked {
        assert!(r.body.get(*field).is_none(), "{field} in {text}");
    }
    assert!(!text.contains("not json"), "the stored text leaked: {text}");
}

fn corrupt(app: &TestApp, table: &str, column: &str, id: &str) {
    app.sql(&format!(
        "UPDATE {table} SET {column} = '{{not json' WHERE id = '{id}'"
    ))
    .unwrap();
}

#[tokio::test]
async fn corrupt_project_warnings_are_a_500_not_an_empty_list() {
    let app = spawn_with(|s| s.auth.access_ttl_secs = 400 * 86_400).await;
    let d = app.district().await;
    let p = app.open_project(&d, |_| {}).await;
    let id = p["id"].as_str().unwrap();
    // Without a bid the close fails the round, so it can be republished below.
    let close: DateTime<Utc> = p["bid_close_at"].as_str().unwrap().parse().unwrap();
    app.set_clock(close + Duration::seconds(1)).await;
    app.run_job("close_bidding").await.expect(200);
    // The version moves too, so no document rendered before the damage is served.
    corrupt(&app, "projects", "warnings", id);
    app.sql(&format!(
        "UPDATE projects SET version = version + 1 WHERE id = '{id}'"
    ))
    .unwrap();
    let r = app
        .get(&format!("/api/v1/projects/{id}"), Some(&d.bureau))
        .await;
    assert_internal(r, &["warnings", "id", "summary"]);
    let r = app.get("/api/v1/projects", Some(&d.bureau)).await;
    assert_internal(r, &["items"]);
    // Republishing carries the warnings over: it refuses rather than drop them.
    let r = app
        .post(
            &format!("/api/v1/projects/{id}/republish"),
            Some(&d.bureau),
            json!({"bid_close_at": (close + Duration::days(30)).to_rfc3339()}),
        )
        .await;
    assert_internal(r, &["warnings", "round"]);
}

#[tokio::test]
async fn corrupt_amendment_changes_are_a_500_not_an_empty_object() {
    let app = spawn_app().await;
    let d = app.district().await;
    let p = app.open_project(&d, |_| {}).await;
    let id = p["id"].as_str().unwrap();
    let version = p["version"].as_i64().unwrap();
    app.patch(
        &format!("/api/v1/projects/{id}"),
        &d.bureau,
        Some(version),
        json!({"summary": "补充说明", "reason": "澄清服务范围"}),
    )
    .await
    .expect(200);
    app.sql(&format!(
        "UPDATE project_amendments SET changes = '{{not json' WHERE project_id = '{id}'"
    ))
    .unwrap();
    let r = app
        .get(&format!("/api/v1/projects/{id}/amendments"), None)
        .await;
    assert_internal(r, &["changes", "reason"]);
}

#[tokio::test]
async fn corrupt_expert_specialties_are_a_500_not_an_expert_without_any() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/experts",
            Some(&app.admin_token),
            json!({"email": unique("expert") + "@gongyi.test", "name": "王专家", "password": PASSWORD,
                   "title": "副教授", "specialties": ["elderly"]}),
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    corrupt(&app, "experts", "specialties", &id);
    let r = app
        .get(&format!("/api/v1/experts/{id}"), Some(&app.admin_token))
        .await;
    assert_internal(r, &["specialties", "name"]);
    let r: Reply = app.get("/api/v1/experts", Some(&app.admin_token)).await;
    assert_internal(r, &["items"]);
    // A known JSON list holding an unknown category is as corrupt as broken JSON.
    app.sql(&format!(
        "UPDATE experts SET specialties = '[\"astrology\"]' WHERE id = '{id}'"
    ))
    .unwrap();
    let r = app
        .get(&format!("/api/v1/experts/{id}"), Some(&app.admin_token))
        .await;
    assert_internal(r, &["specialties"]);
}
