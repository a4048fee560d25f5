//! Sign-in that an attacker cannot turn against its owner or the server: the back-off is per
//! (account, client address), hashing runs in a bounded pool, logout ends the access token.

use std::net::IpAddr;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Barrier;

use crate::helpers::{into_reply, spawn_with, Reply, PASSWORD};

/// A client whose connections come from `ip` (any of 127.0.0.0/8 reaches the test server on
/// Linux), so the server sees distinct client addresses as it would in production.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

async fn login_from(client: &reqwest::Client, base: &str, email: &str, password: &str) -> Reply {
    let req = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}));
    into_reply(req.send().await.expect("login")).await
}

#[tokio::test]
async fn an_attacker_failing_from_one_address_never_gets_the_owner_refused_from_another() {
    let app = spawn_with(|s| {
        s.auth.lockout_after = 3;
        s.auth.account_ceiling = 8;
    })
    .await;
    let (_, email, _) = app.user("expert", None).await;
    let attacker = client_from("127.0.0.2");
    // Past the per-address threshold: that address backs off…
    for _ in 0..3 {
        login_from(&attacker, &app.base, &email, "wrong-password")
            .await
            .problem(401, "invalid_credentials");
    }
    // …even for the right password…
    login_from(&attacker, &app.base, &email, PASSWORD)
        .await
        .problem(429, "rate_limited");
    // …while the owner, from an address that has not failed, signs in at once.
    let owner = client_from("127.0.0.3");
    login_from(&owner, &app.base, &email, PASSWORD)
        .await
        .expect(200);
    // A distributed guess, each address below the threshold, crosses the account's ceiling.
    for i in 10..14 {
        let bot = client_from(&format!("127.0.0.{i}"));
        for _ in 0..2 {
            let r = login_from(&bot, &app.base, &email, "wrong-password").await;
            assert!(
                matches!(r.status.as_u16(), 401 | 429),
                "unexpected {}: {}",
                r.status,
                r.body
            );
        }
    }
    // Past the ceiling, one failure backs a fresh address off at once…
    let fresh = client_from("127.0.0.4");
    login_from(&fresh, &app.base, &email, "wrong-password")
        .await
        .problem(401, "invalid_credentials");
    login_from(&fresh, &app.base, &email, "wrong-password")
        .await
        .problem(429, "rate_limited");
    // …and still the owner's right password from a clean address is never refused.
    let r = login_from(&owner, &app.base, &email, PASSWORD)
        .await
        .expect(200);
    assert!(r.body["access_token"].is_string());
}

#[tokio::test]
async fn logout_ends_the_access_token_at_once_and_only_that_session() {
    let app = spawn_with(|_| {}).await;
    let (_, email, _) = app.user("expert", None).await;
    let one = app.login_reply(&email, PASSWORD).await.expect(200);
    let access = one.body["access_token"].as_str().unwrap().to_owned();
    let refresh = one.body["refresh_token"].as_str().unwrap().to_owned();
    let other = app.login(&email, PASSWORD).await;
    // Warm the memo of the session, so the refusal below is not merely a cache miss.
    app.get("/api/v1/me", Some(&access)).await.expect(200);
    app.post(
        "/api/v1/auth/logout",
        Some(&access),
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(204);
    app.get("/api/v1/me", Some(&access))
        .await
        .problem(401, "invalid_token");
    app.get("/api/v1/me", Some(&other)).await.expect(200);
}

#[tokio::test]
async fn logout_through_one_process_ends_the_access_token_in_another_within_the_cache_ttl() {
    let app = spawn_with(|s| s.auth.user_cache_ms = 300).await;
    let replica = app.replica().await;
    let (_, email, _) = app.user("expert", None).await;
    let login = app.login_reply(&email, PASSWORD).await.expect(200);
    let access = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    replica.get("/api/v1/me", Some(access)).await.expect(200);
    app.post(
        "/api/v1/auth/logout",
        Some(access),
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(204);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    replica
        .get("/api/v1/me", Some(access))
        .await
        .problem(401, "invalid_token");
}

#[tokio::test]
async fn a_sign_in_flood_past_the_hashing_queue_gets_503_overloaded_with_retry_after() {
    let app = Arc::new(
        spawn_with(|s| {
            s.auth.hash_threads = 1;
            s.auth.hash_queue = 2;
        })
        .await,
    );
    let (_, email, _) = app.user("expert", None).await;
    let n = 40;
    let barrier = Arc::new(Barrier::new(n));
    let mut tasks = Vec::new();
    for i in 0..n {
        let (app, barrier, email) = (app.clone(), barrier.clone(), email.clone());
        tasks.push(tokio::spawn(async move {
            let password = if i % 2 == 0 {
                PASSWORD
            } else {
                "wrong-password"
            };
            barrier.wait().await;
            app.login_reply(&email, password).await
        }));
    }
    let mut overloaded = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::OK | StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                let r = r.problem(503, "overloaded");
                assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
                overloaded += 1;
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert!(
        overloaded > 0,
        "40 parallel sign-ins never filled a queue of 2"
    );
    // The pool drains and serves again.
    app.login_reply(&email, PASSWORD).await.expect(200);
}
