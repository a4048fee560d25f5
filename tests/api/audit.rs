//! The audit chain verifies after a series of changes and names the row altered behind the
//! app's back, through the API and through `gongyi verify-audit`.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_chain_verifies_and_names_a_row_altered_in_the_database() {
    let app = spawn_app().await;
    let r = app.regions().await; // 6 events, after the admin's creation (1)
    app.user("bureau", Some(&r.district)).await;
    app.user("expert", None).await;
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
    assert_eq!(v.body["length"], 9);
    assert!(v.body["first_broken"].is_null());
    let events = app
        .get("/api/v1/audit?limit=100", Some(&app.admin_token))
        .await
        .expect(200);
    let items = events.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 9);
    assert_eq!(items[0]["seq"], 9, "newest first");
    assert_eq!(items[0]["hash"], v.body["head"]);
    assert_eq!(items[1]["hash"], items[0]["prev_hash"]);

    // The table refuses updates and deletes...
    let refused = app
        .sql("UPDATE audit_events SET action = 'x' WHERE seq = 4")
        .unwrap_err();
    assert!(refused.contains("insert-only"), "{refused}");
    let refused = app
        .sql("DELETE FROM audit_events WHERE seq = 9")
        .unwrap_err();
    assert!(refused.contains("insert-only"), "{refused}");

    // ...so someone with database rights drops the trigger and edits a row.
    let drop = if app.pg_names().is_some() {
        "DROP TRIGGER audit_events_no_update ON audit_events"
    } else {
        "DROP TRIGGER audit_events_no_update"
    };
    app.sql(drop).unwrap();
    app.sql("UPDATE audit_events SET summary = '{\"after\":{\"name\":\"forged\"}}' WHERE seq = 4")
        .unwrap();
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], false);
    assert_eq!(v.body["first_broken"], 4);

    // The command line says the same and exits non-zero.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gongyi"))
        .arg("verify-audit")
        .env("GONGYI__DATABASE__URL", &app.db_url)
        .env("GONGYI__DATA_DIR", app.data_dir())
        .env("GONGYI_CONFIG_DIR", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["first_broken"],
        4,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_bureau_reads_only_its_own_districts_events() {
    let app = spawn_app().await;
    let r = app.regions().await;
    let (_, _, bureau) = app.user("bureau", Some(&r.district)).await;
    let events = app
        .get("/api/v1/audit?limit=100", Some(&bureau))
        .await
        .expect(200);
    let items = events.body["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|e| e["district_id"] == r.district.as_str()),
        "{}",
        events.body
    );
    let other = app
        .get(
            &format!("/api/v1/audit?entity=region&entity_id={}", r.other_district),
            Some(&bureau),
        )
        .await
        .expect(200);
    assert_eq!(other.body["items"].as_array().unwrap().len(), 0);
    let all = app
        .get(
            "/api/v1/audit?entity=region&limit=100",
            Some(&app.admin_token),
        )
        .await
        .expect(200);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn parallel_writers_never_fork_the_chain() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(12));
    for i in 0..12 {
        let (client, url, token, barrier) = (
            app.client.clone(),
            app.url("/api/v1/regions"),
            app.admin_token.clone(),
            barrier.clone(),
        );
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let body = json!({"name": format!("区{i}"), "kind": "district"});
            client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
    assert_eq!(v.body["length"], 13);
}

/// A transaction holds its audit events back in its write context and chains them just before
/// its commit (so does a grouped batch): an event appended inside a savepoint that rolls back
/// is dropped with it, the others are chained in order, and the chain still verifies.
#[tokio::test]
async fn events_held_for_a_grouped_commit_follow_their_savepoint() {
    use gongyi::audit::service::{append, Event};
    use gongyi::db::{write_tx, Tx};
    use gongyi::error::AppError;

    let app = spawn_app().await;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = state.db.write_conn().unwrap();
        let now = state.clock.now_naive();
        let event = |action: &'static str| Event {
            actor_id: None,
            action,
            entity: "grouped_test",
            entity_id: "g1",
            district_id: None,
            project_id: None,
            summary: json!({"n": action}),
        };
        write_tx(&mut Tx::new(&mut conn), |tx| -> Result<(), AppError> {
            append(tx, event("kept.first"), now)?;
            let refused = write_tx(tx, |sp| -> Result<(), AppError> {
                append(sp, event("rolled.back"), now)?;
                Err(AppError::conflict("test", "this savepoint rolls back"))
            });
            assert!(refused.is_err());
            append(tx, event("kept.second"), now)
        })
        .unwrap();
    })
    .await
    .unwrap();

    let events = app
        .get("/api/v1/audit?entity=grouped_test", Some(&app.admin_token))
        .await
        .expect(200);
    let actions: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["kept.second", "kept.first"], "newest first");
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
}

/// What one piece of a grouped test batch does after writing its audit event and its mail.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Piece {
    Succeeds,
    /// Returns an error after writing.
    Refuses,
    /// Panics after writing.
    Panics,
    /// Also stores the one idempotency record of its round; only one twin may.
    Twin,
}

/// Queues `kinds.len()` pieces of work on one lane, the first holding the lane while the rest
/// queue up behind it into one batch; checks that each piece got its own answer, that exactly
/// the pieces that succeeded left their audit event, mail and (for a twin) idempotency record,
/// and that the chain verifies. Returns how many times pieces ran (more than `kinds.len()`
/// when the batch was redone with savepoints).
async fn grouped_round(app: &crate::helpers::TestApp, round: &str, kinds: &[Piece]) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use gongyi::audit::service::{append, Event};
    use gongyi::error::AppError;
    use gongyi::notify::{enqueue, Mail};

    let runs = Arc::new(AtomicUsize::new(0));
    let work = |i: usize| {
        let (state, runs, round, kind) =
            (app.state.clone(), runs.clone(), round.to_owned(), kinds[i]);
        move |conn: &mut gongyi::db::Tx<'_>| -> Result<usize, AppError> {
            let first_run = runs.fetch_add(1, Ordering::SeqCst) == 0;
            if i == 0 && first_run {
                // Hold the lane so that the others queue up into one batch behind it.
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            let now = state.clock.now_naive();
            let entity_id = format!("{round}-{i}");
            append(
                conn,
                Event {
                    actor_id: None,
                    action: "grouped.work",
                    entity: "grouped_batch_test",
                    entity_id: &entity_id,
                    district_id: None,
                    project_id: None,
                    summary: json!({"i": i}),
                },
                now,
            )?;
            let mail = Mail {
                to: "batch@example.org".into(),
                subject: format!("Grouped batch {round} {i}"),
                body: String::new(),
            };
            enqueue(conn, &format!("grouped-batch:{round}:{i}"), &mail, now)?;
            match kind {
                Piece::Succeeds => Ok(i),
                Piece::Refuses => Err(AppError::conflict("refused_after_writing", entity_id)),
                Piece::Panics => panic!("piece {i} panics after writing"),
                Piece::Twin => {
                    let row = gongyi::idempotency::repo::Row {
                        user_id: format!("grouped-batch-{round}"),
                        key: "twin".into(),
                        request_hash: format!("{i}"),
                        status_code: 201,
                        body: String::new(),
                        created_at: now,
                    };
                    gongyi::idempotency::repo::insert(conn, row)
                        .map_err(AppError::unique_as("twin_key", entity_id))?;
                    Ok(i)
                }
            }
        }
    };
    let first = {
        let (db, w) = (app.state.db.clone(), work(0));
        tokio::spawn(async move { db.write_grouped("one lane", w).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let rest: Vec<_> = (1..kinds.len())
        .map(|i| {
            let (db, w) = (app.state.db.clone(), work(i));
            tokio::spawn(async move { db.write_grouped("one lane", w).await })
        })
        .collect();
    let mut answers = vec![first.await.unwrap()];
    for task in rest {
        answers.push(task.await.unwrap());
    }
    let (mut kept, mut twins_stored) = (Vec::new(), Vec::new());
    for (i, answer) in answers.into_iter().enumerate() {
        match (kinds[i], answer) {
            (Piece::Refuses, Err(e)) => assert_eq!(e.code, "refused_after_writing", "piece {i}"),
            (Piece::Panics, Err(e)) => assert_eq!(e.status.as_u16(), 503, "piece {i}: {e}"),
            (Piece::Twin, Err(e)) => assert_eq!(e.code, "twin_key", "piece {i}"),
            (Piece::Succeeds, Ok(n)) => {
                assert_eq!(n, i);
                kept.push(i);
            }
            (Piece::Twin, Ok(n)) => {
                assert_eq!(n, i);
                kept.push(i);
                twins_stored.push(i);
            }
            (kind, other) => panic!("piece {i} ({kind:?}): {other:?}"),
        }
    }
    let twins = kinds.iter().filter(|k| **k == Piece::Twin).count();
    assert_eq!(
        twins_stored.len(),
        twins.min(1),
        "one twin stores the record"
    );

    let events = app
        .get(
            "/api/v1/audit?entity=grouped_batch_test&limit=100",
            Some(&app.admin_token),
        )
        .await
        .expect(200);
    let mut ids: Vec<String> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity_id"].as_str().unwrap().to_owned())
        .filter(|id| id.starts_with(&format!("{round}-")))
        .collect();
    ids.sort();
    let mut expected: Vec<String> = kept.iter().map(|i| format!("{round}-{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected, "exactly the committed pieces' events");
    assert_eq!(
        app.outbox_count(&format!("Grouped batch {round} ")).await,
        kept.len() as i64
    );
    let state = app.state.clone();
    let user = format!("grouped-batch-{round}");
    let stored = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use gongyi::db::schema::idempotency_keys as k;
        let mut c = state.db.write_conn().unwrap();
        k::table
            .filter(k::user_id.eq(user))
            .select(k::request_hash)
            .load::<String>(&mut **c)
            .unwrap()
    })
    .await
    .unwrap();
    let stored: Vec<usize> = stored.iter().map(|h| h.parse().unwrap()).collect();
    assert_eq!(stored, twins_stored, "the record is the answered twin's");
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
    runs.load(Ordering::SeqCst)
}

/// A grouped batch runs its work flat (no savepoints) and, when one piece fails, rolls back and
/// runs every piece again in its own savepoint: the failing ones (an error after writing, a
/// panic, a collision of rows held for the batch's one INSERT per kind) leave nothing behind and
/// keep their own answer, the others commit once, and the audit chain holds exactly the
/// committed events.
#[tokio::test]
async fn a_failing_piece_of_a_grouped_batch_rolls_back_alone() {
    use Piece::*;
    let app = spawn_app().await;
    let mixed: Vec<Piece> = (0..30)
        .map(|i| match i % 7 {
            3 => Refuses,
            5 => Panics,
            6 => Twin,
            _ => Succeeds,
        })
        .collect();
    assert!(grouped_round(&app, "mixed", &mixed).await > mixed.len());
    // Only twins fail: on PostgreSQL their records are held, so the flat run meets the
    // collision at the batch's INSERT of held rows, after every piece has run.
    let twins: Vec<Piece> = (0..12)
        .map(|i| if i == 4 || i == 9 { Twin } else { Succeeds })
        .collect();
    let runs = grouped_round(&app, "twins", &twins).await;
    assert!(runs > twins.len(), "the batch was redone: {runs} runs");
    if app.state.db.backend == gongyi::db::Backend::Postgres {
        // The first piece alone, then the other eleven all flat and all again with savepoints:
        // the flat run got as far as writing the held rows.
        assert!(runs >= 2 * twins.len() - 1, "{runs} runs");
    }
}
