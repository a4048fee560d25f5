//! `/readyz` answers 503 with Retry-After while the database is away, and 200 again when it
//! is back, without a restart. `/healthz` answers throughout.

use crate::helpers::spawn_app;

#[tokio::test]
async fn readyz_follows_the_database_away_and_back() {
    let app = spawn_app().await;
    app.get("/readyz", None).await.expect(200);
    let restore: Box<dyn Fn()> = match (app.sqlite_path(), app.pg_names()) {
        (Some(path), _) => {
            let moved = path.with_extension("moved");
            std::fs::rename(&path, &moved).unwrap();
            Box::new(move || std::fs::rename(&moved, &path).unwrap())
        }
        (None, Some((admin, name))) => {
            let sql = |s: String| {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                diesel::PgConnection::establish(&admin)
                    .unwrap()
                    .batch_execute(&s)
                    .unwrap();
            };
            sql(format!(
                "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false;
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
            ));
            let admin2 = admin.clone();
            Box::new(move || {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                diesel::PgConnection::establish(&admin2)
                    .unwrap()
                    .batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
                    .unwrap();
            })
        }
        _ => unreachable!(),
    };
    let r = app
        .get("/readyz", None)
        .await
        .problem(503, "database_unavailable");
    assert!(r.header("retry-after").is_some());
    app.get("/healthz", None).await.expect(200);
    // A request that needs the database says so too, with no internals.
    let users = app
        .get("/api/v1/users", Some(&app.admin_token))
        .await
        .problem(503, "database_unavailable");
    assert!(!users.body.to_string().to_lowercase().contains("sqlite"));
    assert!(!users.body.to_string().to_lowercase().contains("postgres"));
    restore();
    app.get("/readyz", None).await.expect(200);
    app.get("/api/v1/users", Some(&app.admin_token))
        .await
        .expect(200);
}
