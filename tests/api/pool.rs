//! The connection pool under a database that drops its connections: a pooled connection is
//! not pinged on every checkout, yet one the server has closed never turns into a 500.

use std::collections::BTreeMap;

use serde_json::json;

use crate::helpers::spawn_app;

/// PostgreSQL only (an SQLite connection lives in the process): the server's backends for the
/// test database are terminated while readers and writers run, round after round. Every answer
/// is a success or a 503 with Retry-After, never another 5xx; afterwards everything succeeds.
#[tokio::test]
async fn backends_terminated_under_load_answer_success_or_503_never_500() {
    let app = spawn_app().await;
    let Some((admin_url, name)) = app.pg_names() else {
        return;
    };
    let d = app.district().await;
    app.open_project(&d, |_| {}).await;
    let kill = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    );
    let mut seen: BTreeMap<u16, usize> = BTreeMap::new();
    for round in 0..20 {
        let mut load = Vec::new();
        for i in 0..12 {
            let (client, base, bureau, district) = (
                app.client.clone(),
                app.base.clone(),
                d.bureau.clone(),
                d.regions.district.clone(),
            );
            load.push(tokio::spawn(async move {
                let r =
                    if i % 3 == 0 {
                        client
                        .post(format!("{base}/api/v1/funds"))
                        .bearer_auth(&bureau)
                        .json(&json!({"name": format!("基金 {round}-{i}"), "district_id": district,
                                      "fiscal_year": 2026, "source": "fiscal", "total": "1000.00"}))
                        .send()
                        .await
                    } else {
                        client
                            .get(format!("{base}/api/v1/projects?status=open"))
                            .send()
                            .await
                    }
                    .unwrap();
                let retry = r.headers().contains_key("retry-after");
                (r.status().as_u16(), retry)
            }));
        }
        let url = admin_url.clone();
        let kill = kill.clone();
        tokio::task::spawn_blocking(move || {
            use diesel::connection::SimpleConnection;
            use diesel::Connection;
            diesel::PgConnection::establish(&url)
                .unwrap()
                .batch_execute(&kill)
                .unwrap();
        })
        .await
        .unwrap();
        for h in load {
            let (status, retry) = h.await.unwrap();
            assert!(
                (200..300).contains(&status) || (status == 503 && retry),
                "round {round}: {status} (Retry-After: {retry})"
            );
            *seen.entry(status).or_default() += 1;
        }
    }
    // The last round's kills are found by the next request (at most one 503: that loss makes
    // every other pooled connection be pinged before use); then everything succeeds.
    let mut unavailable = 0;
    for _ in 0..20 {
        let r = app.get("/api/v1/projects?status=open", None).await;
        match r.status.as_u16() {
            200 => {}
            503 => unavailable += 1,
            s => panic!("{s}: {}", r.body),
        }
    }
    assert!(
        unavailable <= 1,
        "{unavailable} answers 503 after the kills"
    );
    assert!(seen.keys().any(|s| (200..300).contains(s)), "{seen:?}");
}
