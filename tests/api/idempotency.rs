//! Idempotency for any POST, through `idempotency::once` with a use case that is not a bid (the
//! shape the money-moving POSTs will have): a replay answers what the first call answered, the
//! same key with another request is 422, a failure stores nothing, and one key sent many times
//! at once has exactly one effect — on the plain write path, not only the grouped one.

use std::sync::Arc;

use diesel::prelude::*;
use gongyi::audit::service::{append, Event};
use gongyi::db::Tx;
use gongyi::error::AppError;
use gongyi::idempotency::{self, Answer, Call};
use serde_json::{json, Value};
use tokio::sync::Barrier;

use crate::helpers::{spawn_app, TestApp};

/// The use case: one audit event for `what`, answered with a body naming it.
fn effect(tx: &mut Tx<'_>, what: &str, at: chrono::NaiveDateTime) -> Result<Value, AppError> {
    append(
        tx,
        Event {
            actor_id: None,
            action: "idempotency_test.effect",
            entity: "idempotency_test",
            entity_id: what,
            district_id: None,
            project_id: None,
            summary: json!({"what": what}),
        },
        at,
    )?;
    Ok(json!({"what": what, "id": uuid::Uuid::now_v7().to_string()}))
}

/// A call by `user` with `key`, asking for `body`.
fn call(user: &str, key: &str, body: Value) -> Call {
    Call::new(user, Some(key.into()), "POST /x", &body)
}

async fn call_once(app: &TestApp, call: Call, what: &str, fail: bool) -> Result<Answer, AppError> {
    let (st, what) = (app.state.clone(), what.to_owned());
    app.state
        .db
        .write(move |tx| {
            let now = st.clock.now_naive();
            idempotency::once(tx, &st.sealer, &call, 201, now, |tx| {
                let body = effect(tx, &what, now)?;
                match fail {
                    true => Err(AppError::conflict("refused", "the use case refused")),
                    false => Ok(body),
                }
            })
        })
        .await
}

async fn effects(app: &TestApp) -> i64 {
    use gongyi::db::schema::audit_events as a;
    let state = app.state.clone();
    tokio::task::spawn_blocking(move || {
        let mut c = state.db.write_conn().unwrap();
        a::table
            .filter(a::entity.eq("idempotency_test"))
            .count()
            .get_result::<i64>(&mut **c)
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_replay_answers_the_first_answer_and_another_request_with_the_key_is_422() {
    let app = spawn_app().await;
    let first = call_once(&app, call("u1", "k", json!({"a": 1})), "one", false)
        .await
        .unwrap();
    assert!(!first.replayed);
    assert_eq!(first.status, 201);
    let again = call_once(&app, call("u1", "k", json!({"a": 1})), "one", false)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(
        (again.status, &again.body),
        (201, &first.body),
        "the stored answer, id and all"
    );
    let other = call_once(&app, call("u1", "k", json!({"a": 2})), "two", false)
        .await
        .unwrap_err();
    assert_eq!(other.status.as_u16(), 422);
    assert_eq!(other.code, "idempotency_key_reused");
    // Keys belong to their user: another user's same key is a new request.
    let theirs = call_once(&app, call("u2", "k", json!({"a": 1})), "three", false)
        .await
        .unwrap();
    assert!(!theirs.replayed);
    assert_eq!(effects(&app).await, 2);
}

#[tokio::test]
async fn a_failed_call_stores_nothing_and_its_retry_runs() {
    let app = spawn_app().await;
    let retry = || call("u1", "retry", json!({"a": 1}));
    let refused = call_once(&app, retry(), "once", true).await.unwrap_err();
    assert_eq!(refused.code, "refused");
    assert_eq!(
        effects(&app).await,
        0,
        "the refused call's effect rolled back"
    );
    let retried = call_once(&app, retry(), "once", false).await.unwrap();
    assert!(!retried.replayed);
    assert_eq!(effects(&app).await, 1);
}

#[tokio::test]
async fn one_key_sent_many_times_at_once_has_exactly_one_effect() {
    const ROUNDS: usize = 40;
    const TWINS: usize = 8;
    let app = spawn_app().await;
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(TWINS));
        let tasks: Vec<_> = (0..TWINS)
            .map(|_| {
                let (barrier, state) = (barrier.clone(), app.state.clone());
                let call = Call::new(
                    "u1",
                    Some(format!("k{round}")),
                    "POST /x",
                    &json!({"r": round}),
                );
                tokio::spawn(async move {
                    barrier.wait().await;
                    let st = state.clone();
                    state
                        .db
                        .write(move |tx| {
                            let now = st.clock.now_naive();
                            idempotency::once(tx, &st.sealer, &call, 201, now, |tx| {
                                effect(tx, &format!("round-{round}"), now)
                            })
                        })
                        .await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap().expect("every twin is answered"));
        }
        let fresh = answers.iter().filter(|a| !a.replayed).count();
        assert_eq!(fresh, 1, "round {round}: exactly one twin ran the use case");
        assert!(
            answers
                .iter()
                .all(|a| a.status == 201 && a.body == answers[0].body),
            "round {round}: every twin got the one answer"
        );
    }
    assert_eq!(effects(&app).await, ROUNDS as i64, "one effect per key");
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
}
