//! Sign-in: login, refresh rotation, reuse detection, logout, throttling.

use serde_json::json;

use crate::helpers::{spawn_app, spawn_with, PASSWORD};

#[tokio::test]
async fn login_returns_tokens_and_the_user_and_me_reads_it_back() {
    let app = spawn_app().await;
    let r = app.regions().await;
    let (id, email, _) = app.user("bureau", Some(&r.district)).await;
    let login = app.login_reply(&email, PASSWORD).await.expect(200);
    assert_eq!(login.body["token_type"], "Bearer");
    assert_eq!(login.body["expires_in"], 900);
    assert_eq!(login.body["user"]["id"], id.as_str());
    assert_eq!(login.body["user"]["role"], "bureau");
    assert!(login.body["user"].get("password_hash").is_none());
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let token = login.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/me", Some(token)).await.expect(200);
    assert_eq!(me.body["email"], email.as_str());
    assert_eq!(me.body["region_id"], r.district.as_str());
    assert_eq!(me.header("cache-control"), Some("no-store"));
    assert!(me.header("x-request-id").is_some_and(|v| v.len() >= 8));
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    let mut wrong = app
        .login_reply(&email, "not-the-password")
        .await
        .problem(401, "invalid_credentials");
    let mut unknown = app
        .login_reply("nobody@gongyi.test", "not-the-password")
        .await
        .problem(401, "invalid_credentials");
    // The same body but for the request's own id.
    for r in [&mut wrong, &mut unknown] {
        assert!(r.body["request_id"].is_string());
        r.body["request_id"] = serde_json::Value::Null;
    }
    assert_eq!(wrong.body, unknown.body);
    let mut empty = app
        .login_reply(&email, "")
        .await
        .problem(401, "invalid_credentials");
    empty.body["request_id"] = serde_json::Value::Null;
    assert_eq!(empty.body, unknown.body);
}

#[tokio::test]
async fn email_is_matched_case_insensitively() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    app.login_reply(&email.to_uppercase(), PASSWORD)
        .await
        .expect(200);
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    let first = app.login_reply(&email, PASSWORD).await.expect(200);
    let r1 = first.body["refresh_token"].as_str().unwrap().to_owned();
    let second = app
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await
        .expect(200);
    let r2 = second.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let access = second.body["access_token"].as_str().unwrap();
    app.get("/api/v1/me", Some(access)).await.expect(200);
    // The new token works once more.
    let third = app
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r2}))
        .await
        .expect(200);
    assert!(third.body["refresh_token"].is_string());
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    let login = app.login_reply(&email, PASSWORD).await.expect(200);
    let r1 = login.body["refresh_token"].as_str().unwrap().to_owned();
    let rotated = app
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await
        .expect(200);
    let r2 = rotated.body["refresh_token"].as_str().unwrap().to_owned();
    // An attacker replays the first token.
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r1}))
        .await
        .problem(401, "refresh_token_reused");
    // The legitimate holder's newer token is dead too.
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r2}))
        .await
        .problem(401, "refresh_token_reused");
    // Another session of the same user is unaffected.
    let other = app.login_reply(&email, PASSWORD).await.expect(200);
    let r3 = other.body["refresh_token"].as_str().unwrap();
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": r3}))
        .await
        .expect(200);
}

#[tokio::test]
async fn parallel_refreshes_of_one_token_yield_at_most_one_new_token() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    for _round in 0..5 {
        let login = app.login_reply(&email, PASSWORD).await.expect(200);
        let token = login.body["refresh_token"].as_str().unwrap().to_owned();
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (client, url, token, barrier) = (
                app.client.clone(),
                app.url("/api/v1/auth/refresh"),
                token.clone(),
                barrier.clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                client
                    .post(url)
                    .json(&json!({"refresh_token": token}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                200 => ok += 1,
                401 => {}
                other => panic!("unexpected status {other}"),
            }
        }
        assert!(ok <= 1, "{ok} parallel refreshes succeeded");
    }
}

#[tokio::test]
async fn unknown_refresh_token_is_refused() {
    let app = spawn_app().await;
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": "made-up"}),
    )
    .await
    .problem(401, "invalid_refresh_token");
}

#[tokio::test]
async fn logout_ends_the_session_of_that_refresh_token() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    let login = app.login_reply(&email, PASSWORD).await.expect(200);
    let access = login.body["access_token"].as_str().unwrap();
    let refresh = login.body["refresh_token"].as_str().unwrap();
    app.post(
        "/api/v1/auth/logout",
        Some(access),
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(204);
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .problem(401, "refresh_token_reused");
    app.post(
        "/api/v1/auth/logout",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_deactivated_account_loses_access_at_once() {
    let app = spawn_app().await;
    let (id, email, token) = app.user("expert", None).await;
    let login = app.login_reply(&email, PASSWORD).await.expect(200);
    let refresh = login.body["refresh_token"].as_str().unwrap();
    let current = app
        .get(&format!("/api/v1/users/{id}"), Some(&app.admin_token))
        .await
        .expect(200);
    let version = current.body["version"].as_i64().unwrap();
    let req = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&app.admin_token)
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"active": false}));
    let r = crate::helpers::into_reply(req.send().await.unwrap())
        .await
        .expect(200);
    assert_eq!(r.body["active"], false);
    app.get("/api/v1/me", Some(&token))
        .await
        .problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .expect(401);
    app.login_reply(&email, PASSWORD)
        .await
        .problem(401, "invalid_credentials");
}

#[tokio::test]
async fn repeated_failures_back_off_the_account_with_429_and_retry_after() {
    let app = spawn_with(|s| s.auth.lockout_after = 3).await;
    let (_, email, _) = app.user("expert", None).await;
    for _ in 0..3 {
        app.login_reply(&email, "wrong-password")
            .await
            .problem(401, "invalid_credentials");
    }
    // Even the right password waits now; the answer says how long.
    let r = app
        .login_reply(&email, PASSWORD)
        .await
        .problem(429, "rate_limited");
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait));
    // An unknown email backs off the same way, revealing nothing.
    for _ in 0..3 {
        app.login_reply("ghost@gongyi.test", "wrong-password")
            .await
            .problem(401, "invalid_credentials");
    }
    app.login_reply("ghost@gongyi.test", "wrong-password")
        .await
        .problem(429, "rate_limited");
    // Other accounts are unaffected.
    let (_, other, _) = app.user("expert", None).await;
    app.login_reply(&other, PASSWORD).await.expect(200);
}

#[tokio::test]
async fn too_many_attempts_from_one_ip_get_429_with_retry_after() {
    let app = spawn_with(|s| s.auth.per_ip_per_minute = 5).await;
    // spawn_with signed the admin in once already.
    let mut limited = None;
    for i in 0..10 {
        let r = app
            .login_reply(&format!("x{i}@gongyi.test"), "whatever-pass")
            .await;
        if r.status.as_u16() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status.as_u16(), 401);
    }
    let r = limited
        .expect("the IP was never limited")
        .problem(429, "rate_limited");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    app.post("/api/v1/auth/refresh", None, json!({"refresh_token": "x"}))
        .await
        .problem(429, "rate_limited");
}
