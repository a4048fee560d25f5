//! Bad input never reaches a 500: malformed JSON, wrong types, unknown and missing fields,
//! oversized bodies, wrong content types and bad query parameters each get a 4xx problem
//! naming the field where there is one, and nothing is written.

use serde_json::json;

use crate::helpers::{into_reply, spawn_app, PASSWORD};

async fn raw(
    app: &crate::helpers::TestApp,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::helpers::Reply {
    let req = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.admin_token)
        .header("content-type", content_type)
        .body(body);
    into_reply(req.send().await.unwrap()).await
}

async fn user_count(app: &crate::helpers::TestApp) -> usize {
    let r = app
        .get("/api/v1/users?limit=100", Some(&app.admin_token))
        .await
        .expect(200);
    r.body["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in [&b"{"[..], b"{\"email\": }", b"not json", b"{\"a\":1}}", b""] {
        let r = raw(&app, "/api/v1/users", "application/json", body.to_vec()).await;
        r.problem(400, "malformed_json");
    }
}

#[tokio::test]
async fn wrong_types_unknown_and_missing_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let before = user_count(&app).await;
    let valid =
        json!({"email": "a@gongyi.test", "name": "A", "password": PASSWORD, "role": "expert"});
    let cases = [
        (
            json!({"email": 5, "name": "A", "password": PASSWORD, "role": "expert"}),
            "email",
        ),
        (
            json!({"email": "a@gongyi.test", "name": ["A"], "password": PASSWORD, "role": "expert"}),
            "name",
        ),
        (
            json!({"email": "a@gongyi.test", "name": "A", "password": PASSWORD, "role": "emperor"}),
            "role",
        ),
        (
            json!({"email": "a@gongyi.test", "name": "A", "password": PASSWORD, "role": "expert", "is_admin": true}),
            "is_admin",
        ),
        (
            json!({"name": "A", "password": PASSWORD, "role": "expert"}),
            "email",
        ),
        (
            json!({"email": "a@gongyi.test", "name": "A", "password": "short", "role": "expert"}),
            "password",
        ),
        (
            json!({"email": "not-an-email", "name": "A", "password": PASSWORD, "role": "expert"}),
            "email",
        ),
        (
            json!({"email": "a@gongyi.test", "name": "   ", "password": PASSWORD, "role": "expert"}),
            "name",
        ),
        (
            json!({"email": "a@gongyi.test", "name": "A", "password": PASSWORD, "role": "org"}),
            "role",
        ),
        (json!([valid.clone()]), "body"),
    ];
    for (body, field) in cases {
        let r = app
            .post("/api/v1/users", Some(&app.admin_token), body.clone())
            .await
            .problem(422, "validation_failed");
        assert!(
            r.fields().iter().any(|f| f == field),
            "{body} should name {field}: {}",
            r.body
        );
    }
    // Nested: the clock's fields.
    let r = app
        .post(
            "/api/v1/admin/clock",
            Some(&app.admin_token),
            json!({"now": "yesterday"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["now"]);
    assert_eq!(user_count(&app).await, before, "nothing was written");
}

#[tokio::test]
async fn a_one_mebibyte_body_is_413() {
    let app = spawn_app().await;
    let big = format!(
        "{{\"email\":\"a@b.cn\",\"name\":\"{}\"}}",
        "x".repeat(1024 * 1024)
    );
    raw(&app, "/api/v1/users", "application/json", big.into_bytes())
        .await
        .problem(413, "payload_too_large");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_too() {
    let app = spawn_app().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..80).map(|_| Ok(vec![b' '; 1024])).collect();
    let stream = futures_util::stream::iter(chunks);
    let req = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&app.admin_token)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream));
    into_reply(req.send().await.unwrap())
        .await
        .problem(413, "payload_too_large");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        raw(&app, "/api/v1/users", ct, b"{}".to_vec())
            .await
            .problem(415, "unsupported_media_type");
    }
    let req = app
        .client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&app.admin_token)
        .body("{}");
    into_reply(req.send().await.unwrap())
        .await
        .problem(415, "unsupported_media_type");
    // JSON with a charset parameter is fine.
    raw(
        &app,
        "/api/v1/regions",
        "application/json; charset=utf-8",
        br#"{"name":"X","kind":"district"}"#.to_vec(),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_bare_post_without_body_or_content_type_takes_an_optional_body_as_empty() {
    let app = spawn_app().await;
    let d = app.district().await;
    let bare = |path: &str, token: &str| {
        app.client
            .post(app.url(path))
            .bearer_auth(token)
            .header("content-length", "0")
    };
    // What `curl -X POST` sends: no body, no Content-Type.
    let (org, _) = app.register_org(&d, |_| {}).await;
    let verify = format!("/api/v1/organizations/{org}/verify");
    let r = into_reply(bare(&verify, &d.bureau).send().await.unwrap())
        .await
        .expect(200);
    assert_eq!(r.body["status"], "verified");
    let r = into_reply(
        bare("/api/v1/admin/jobs/send_mail/run", &app.admin_token)
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    assert_eq!(r.body["name"], "send_mail");
    let need = app.need(&d.community, "楼道照明", "low").await;
    let r = into_reply(
        bare(&format!("/api/v1/needs/{need}/forward"), &d.street)
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    assert_eq!(r.body["status"], "forwarded");
    // A required body is still required: the empty object is 422 naming the fields.
    let r = into_reply(
        bare("/api/v1/users", &app.admin_token)
            .send()
            .await
            .unwrap(),
    )
    .await
    .problem(422, "validation_failed");
    assert!(r.fields().iter().any(|f| f == "email"), "{}", r.body);
    // A body that is sent must still say it is JSON.
    let (other, _) = app.register_org(&d, |_| {}).await;
    let req = app
        .client
        .post(app.url(&format!("/api/v1/organizations/{other}/reject")))
        .bearer_auth(&d.bureau)
        .body(r#"{"reason":"材料不全"}"#);
    into_reply(req.send().await.unwrap())
        .await
        .problem(415, "unsupported_media_type");
    let req = bare(&verify, &d.bureau).header("content-type", "application/json");
    into_reply(req.send().await.unwrap())
        .await
        .problem(400, "malformed_json");
}

#[tokio::test]
async fn a_unique_conflict_says_what_conflicts_and_never_names_the_constraint() {
    let app = spawn_app().await;
    let d = app.district().await;
    // A constraint no service knows about reaches the generic conversion.
    app.sql("CREATE UNIQUE INDEX needs_title_secret_idx ON needs (title)")
        .unwrap();
    app.need(&d.community, "加装电梯", "high").await;
    let r = app
        .post(
            "/api/v1/needs",
            Some(&d.community),
            json!({"title": "加装电梯", "description": "又一次", "category": "elderly", "source": "grid",
                   "beneficiary_group": "老人", "beneficiaries": 3, "urgency": "low"}),
        )
        .await
        .problem(409, "conflict");
    let text = r.body.to_string();
    assert_eq!(
        r.body["detail"], "conflicts with an existing record",
        "{text}"
    );
    for leak in ["needs_title_secret_idx", "needs.title", "UNIQUE", "unique"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
}

#[tokio::test]
async fn bad_query_parameters_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("cursor=%%%", "cursor"),
        ("cursor=bm90LWpzb24", "cursor"),
        ("kind=planet", "kind"),
    ] {
        let r = app
            .get(&format!("/api/v1/regions?{q}"), None)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), vec![field], "{q}");
    }
}

#[tokio::test]
async fn if_match_is_required_and_checked() {
    let app = spawn_app().await;
    let (id, _, _) = app.user("expert", None).await;
    let url = app.url(&format!("/api/v1/users/{id}"));
    let patch = |etag: Option<&str>| {
        let mut req = app
            .client
            .patch(url.clone())
            .bearer_auth(&app.admin_token)
            .json(&json!({"name": "Renamed"}));
        if let Some(e) = etag {
            req = req.header("If-Match", e);
        }
        req
    };
    into_reply(patch(None).send().await.unwrap())
        .await
        .problem(428, "precondition_required");
    into_reply(patch(Some("\"7\"")).send().await.unwrap())
        .await
        .problem(412, "version_mismatch");
    into_reply(patch(Some("garbage")).send().await.unwrap())
        .await
        .problem(412, "version_mismatch");
    let ok = into_reply(patch(Some("\"1\"")).send().await.unwrap())
        .await
        .expect(200);
    assert_eq!(ok.body["name"], "Renamed");
    assert_eq!(ok.body["version"], 2);
    assert_eq!(ok.header("etag"), Some("\"2\""));
    // The same stale version again is refused: the first write won.
    into_reply(patch(Some("\"1\"")).send().await.unwrap())
        .await
        .problem(412, "version_mismatch");
}
