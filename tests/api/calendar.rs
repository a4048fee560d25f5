//! The working-day calendar through the API.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_2026_arrangement_is_loaded_and_counts_across_national_day() {
    let app = spawn_app().await;
    let y = app
        .get("/api/v1/calendar/years/2026", None)
        .await
        .expect(200);
    assert_eq!(y.body["year"], 2026);
    assert!(y.body["workdays"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-10-10")));
    let r = app
        .get("/api/v1/calendar/working-days?from=2026-09-30&days=7", None)
        .await
        .expect(200);
    assert_eq!(r.body["date"], "2026-10-15");
    assert_eq!(r.body["years_without_list"], json!([]));
    let r = app
        .get("/api/v1/calendar/working-days?from=2026-12-30&days=3", None)
        .await
        .expect(200);
    assert_eq!(r.body["date"], "2027-01-04");
    assert_eq!(r.body["years_without_list"], json!([2027]));
    app.get("/api/v1/calendar/years/2027", None)
        .await
        .problem(404, "not_found");
    app.get("/api/v1/calendar/working-days?from=someday&days=3", None)
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn an_admin_sets_a_year_and_counting_follows_it() {
    let app = spawn_app().await;
    let body = json!({"source": "国务院办公厅关于2027年部分节假日安排的通知 (test)",
                      "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}],
                      "workdays": []});
    let put = app
        .put("/api/v1/calendar/years/2027", &app.admin_token, body)
        .await
        .expect(200);
    assert_eq!(put.body["year"], 2027);
    let r = app
        .get("/api/v1/calendar/working-days?from=2026-12-30&days=3", None)
        .await
        .expect(200);
    // 31 Dec, then 1–3 Jan off, then Mon 4 and Tue 5 Jan.
    assert_eq!(r.body["date"], "2027-01-05");
    assert_eq!(r.body["years_without_list"], json!([]));
    // A make-up day that is not a weekend, and a date in another year, are refused by field.
    let bad = json!({"holidays": [], "workdays": ["2027-03-03"]});
    let e = app
        .put("/api/v1/calendar/years/2027", &app.admin_token, bad)
        .await
        .problem(422, "validation_failed");
    assert_eq!(e.fields(), vec!["workdays[0]"]);
    let bad = json!({"holidays": [{"name": "x", "from": "2026-12-31", "to": "2027-01-01"}], "workdays": []});
    let e = app
        .put("/api/v1/calendar/years/2027", &app.admin_token, bad)
        .await
        .problem(422, "validation_failed");
    assert_eq!(e.fields(), vec!["holidays[0]"]);
    let ev = app
        .get("/api/v1/audit?entity=calendar", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(ev.body["items"][0]["action"], "calendar.year_set");
}
