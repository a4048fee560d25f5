//! `/readyz` answers 503 with Retry-After while the database is away, and 200 again when it
//! is back, without a restart. `/healthz` answers throughout. Requests wait for a connection in
//! the order they came, and one that waits too long is told to come back.

use std::future::Future;
use std::sync::{mpsc, Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

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

/// Every connection of the pool is held by a request that does not finish; then requests queue.
/// They must get connections in the order they came (r2d2 alone hands a freed connection to
/// whichever thread grabs it first), and a request still waiting when the connect timeout runs
/// out gets 503 `database_unavailable` with Retry-After, not a hang.
#[tokio::test]
async fn requests_get_connections_in_arrival_order_and_a_full_pool_answers_503() {
    let app = spawn_app().await;
    let db = app.state.db.clone();
    // Read connections: the read pool on SQLite (1 to 8), the one pool on PostgreSQL (2 or
    // more); within 2..=8 both are `pool_size`.
    let held = app.state.settings.database.pool_size as usize;
    assert!((2..=8).contains(&held), "pool_size {held}");
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut releases = Vec::new();
    let mut holders = Vec::new();
    for _ in 0..held {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let started = started_tx.clone();
        releases.push(release_tx);
        let db = db.clone();
        holders.push(tokio::spawn(async move {
            db.read(move |_conn| {
                started.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
            .await
        }));
    }
    for _ in 0..held {
        let started = tokio::time::timeout(Duration::from_secs(30), started_rx.recv()).await;
        assert!(
            matches!(started, Ok(Some(()))),
            "a holder got no connection"
        );
    }

    // Nothing is free: an HTTP request that needs the database is refused after the wait.
    let r = app
        .get("/api/v1/projects", None)
        .await
        .problem(503, "database_unavailable");
    assert!(r.header("retry-after").is_some());

    // Eight requests queue in a known order: each is polled once (which puts it in line)
    // before the next is made.
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut waiters = Vec::new();
    for i in 0..8 {
        let order = order.clone();
        let db = db.clone();
        let mut waiter = Box::pin(async move {
            db.read(move |conn| {
                use diesel::connection::SimpleConnection;
                conn.batch_execute("SELECT 1")
                    .map_err(gongyi::error::AppError::from)?;
                order.lock().unwrap().push(i);
                Ok(())
            })
            .await
        });
        std::future::poll_fn(|cx| {
            assert!(
                waiter.as_mut().poll(cx).is_pending(),
                "waiter {i} did not wait"
            );
            Poll::Ready(())
        })
        .await;
        waiters.push(tokio::spawn(waiter));
    }
    // One connection comes free; the other holders keep theirs, so the waiters run one by one.
    releases.remove(0).send(()).unwrap();
    for w in waiters {
        w.await
            .unwrap()
            .expect("a waiter ran once a connection came free");
    }
    assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());

    for r in releases {
        r.send(()).unwrap();
    }
    for h in holders {
        h.await.unwrap().unwrap();
    }
    app.get("/api/v1/projects", None).await.expect(200);
}
