//! A corpus of forged and broken access tokens, every one answered 401 `invalid_token`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::spawn_with;

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, secret: &[u8]) -> String {
    let mut h = Header::new(alg);
    h.kid = kid.map(str::to_owned);
    encode(&h, claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[tokio::test]
async fn forged_and_broken_tokens_are_all_refused() {
    let secret = "0123456789abcdef0123456789abcdef-forgery-test".to_owned();
    let s2 = secret.clone();
    let app = spawn_with(move |s| s.auth.jwt_secret = Some(s2)).await;
    let me = app
        .get("/api/v1/me", Some(&app.admin_token))
        .await
        .expect(200);
    let sub = me.body["id"].as_str().unwrap().to_owned();
    let kid = app.state.tokens.kid().to_owned();
    let now = chrono::Utc::now().timestamp();
    let key = secret.as_bytes();
    // The session of the admin's sign-in: a token must name a live one.
    let payload = app.admin_token.split('.').nth(1).unwrap();
    let sid = serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
        ["sid"]
        .clone();
    let good = json!({"iss": "gongyi", "aud": "gongyi-api", "sub": sub, "role": "admin", "sid": sid, "iat": now, "nbf": now, "exp": now + 600});
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    // Control: a token made exactly like ours is accepted, so the refusals below are real.
    let control = sign(Algorithm::HS256, Some(&kid), &good, key);
    app.get("/api/v1/me", Some(&control)).await.expect(200);

    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": kid})),
        b64(&good)
    );
    let corpus: Vec<(&str, String)> = vec![
        ("alg none", unsigned),
        ("HS512", sign(Algorithm::HS512, Some(&kid), &good, key)),
        ("HS384", sign(Algorithm::HS384, Some(&kid), &good, key)),
        (
            "wrong key",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &good,
                b"another-key-another-key-another-key!",
            ),
        ),
        (
            "expired beyond leeway",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("exp", json!(now - 120)),
                key,
            ),
        ),
        (
            "nbf in the future",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("nbf", json!(now + 3600)),
                key,
            ),
        ),
        (
            "iat in the future",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("iat", json!(now + 3600)),
                key,
            ),
        ),
        (
            "missing aud",
            sign(Algorithm::HS256, Some(&kid), &without("aud"), key),
        ),
        (
            "wrong aud",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("aud", json!("someone-else")),
                key,
            ),
        ),
        (
            "missing iss",
            sign(Algorithm::HS256, Some(&kid), &without("iss"), key),
        ),
        (
            "wrong iss",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("iss", json!("evil")),
                key,
            ),
        ),
        (
            "missing exp",
            sign(Algorithm::HS256, Some(&kid), &without("exp"), key),
        ),
        (
            "exp as a string",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("exp", json!((now + 600).to_string())),
                key,
            ),
        ),
        (
            "missing sub",
            sign(Algorithm::HS256, Some(&kid), &without("sub"), key),
        ),
        (
            "unknown sub",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("sub", json!("no-such-user")),
                key,
            ),
        ),
        (
            "no sid",
            sign(Algorithm::HS256, Some(&kid), &without("sid"), key),
        ),
        (
            "unknown sid",
            sign(
                Algorithm::HS256,
                Some(&kid),
                &with("sid", json!("no-such-session")),
                key,
            ),
        ),
        (
            "unknown kid",
            sign(Algorithm::HS256, Some("deadbeefdeadbeef"), &good, key),
        ),
        ("no kid", sign(Algorithm::HS256, None, &good, key)),
        ("garbage", "not.a.jwt".to_owned()),
        ("empty segments", "..".to_owned()),
        ("tampered payload", {
            let t = sign(Algorithm::HS256, Some(&kid), &good, key);
            let parts: Vec<&str> = t.split('.').collect();
            format!(
                "{}.{}.{}",
                parts[0],
                b64(&with("exp", json!(now + 99_999))),
                parts[2]
            )
        }),
    ];
    for (name, token) in corpus {
        let r = app.get("/api/v1/me", Some(&token)).await;
        assert_eq!(r.status.as_u16(), 401, "{name}: {}", r.body);
        assert_eq!(r.code(), "invalid_token", "{name}");
    }
    // A header that is not `Bearer <token>` is refused too.
    for header in ["Basic abc", "Bearer", "Token x"] {
        let r = app
            .client
            .get(app.url("/api/v1/me"))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{header}");
    }
}

#[tokio::test]
async fn a_token_lives_fifteen_minutes_of_wall_time_whatever_the_sandbox_clock_reads() {
    let app = spawn_with(|_| {}).await;
    let payload = app.admin_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900,
        "{claims}"
    );
    let wall = chrono::Utc::now().timestamp();
    assert!(
        (claims["iat"].as_i64().unwrap() - wall).abs() < 60,
        "{claims}"
    );
    // A month on the sandbox clock: the token still works (its expiry protects the sign-in,
    // and is counted in wall time), and so does a refresh.
    app.post(
        "/api/v1/admin/clock",
        Some(&app.admin_token),
        json!({"advance_seconds": 30 * 86_400}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", Some(&app.admin_token))
        .await
        .expect(200);
    // Set back a year, the same.
    let back = (app.now() - chrono::Duration::days(365)).to_rfc3339();
    app.post(
        "/api/v1/admin/clock",
        Some(&app.admin_token),
        json!({"now": back}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", Some(&app.admin_token))
        .await
        .expect(200);
}
