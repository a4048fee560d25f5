//! Edges of the HTTP protocol: duplicate JSON keys, control characters in `q`, a known path
//! with an unlisted method, `If-Match: *`.

use serde_json::json;

use crate::helpers::{into_reply, spawn_app, PASSWORD};

#[tokio::test]
async fn a_json_body_naming_a_key_twice_is_400_naming_the_key() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    // serde_json alone would take the last `password`, the right one, and sign in.
    let body =
        format!(r#"{{"email":"{email}","password":"wrong-password","password":"{PASSWORD}"}}"#);
    let req = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("Content-Type", "application/json")
        .body(body);
    let r = into_reply(req.send().await.unwrap())
        .await
        .problem(400, "duplicate_key");
    assert_eq!(r.fields(), vec!["password"]);
    assert!(r.body["detail"].as_str().unwrap().contains("password"));
    // Nested objects too, with the key's path.
    let req = app
        .client
        .post(app.url("/api/v1/regions"))
        .bearer_auth(&app.admin_token)
        .header("Content-Type", "application/json")
        .body(r#"{"name":"区","kind":"district","parent_id":null,"name":"x"}"#);
    let r = into_reply(req.send().await.unwrap())
        .await
        .problem(400, "duplicate_key");
    assert_eq!(r.fields(), vec!["name"]);
}

#[tokio::test]
async fn a_control_character_in_q_is_422_naming_q_on_every_list_that_searches() {
    let app = spawn_app().await;
    let token = Some(app.admin_token.as_str());
    for path in [
        "/api/v1/projects?q=%00",
        "/api/v1/projects?q=a%00",
        "/api/v1/users?q=%01",
        "/api/v1/organizations?q=%1B",
        "/api/v1/needs?q=%0A",
    ] {
        let r = app.get(path, token).await.problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["q"], "{path}");
    }
    app.get("/api/v1/projects?q=%E5%85%BB%E8%80%81", token)
        .await
        .expect(200);
}

#[tokio::test]
async fn a_known_path_with_an_unlisted_method_is_405_with_allow() {
    let app = spawn_app().await;
    let r = app
        .send(reqwest::Method::GET, "/api/v1/auth/login", None, None)
        .await
        .problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = app
        .send(
            reqwest::Method::DELETE,
            "/api/v1/projects/some-id",
            Some(&app.admin_token),
            None,
        )
        .await
        .problem(405, "method_not_allowed");
    let mut allow: Vec<&str> = r.header("allow").unwrap().split(", ").collect();
    allow.sort();
    assert_eq!(allow, vec!["GET", "PATCH"]);
    // Every path of the table answers an unknown method 405, allowing what the table lists.
    for (path, methods) in gongyi::app::routes().allowed() {
        let path = path.replace('{', "x").replace('}', "");
        let r = app
            .send(
                reqwest::Method::from_bytes(b"PURGE").unwrap(),
                &path,
                None,
                None,
            )
            .await
            .problem(405, "method_not_allowed");
        let mut allow: Vec<&str> = r.header("allow").unwrap().split(", ").collect();
        allow.sort();
        let mut listed: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
        listed.sort();
        assert_eq!(allow, listed, "{path}: Allow lists the path's own methods");
    }
    // A literal path that a pattern also matches is its own resource: a GET of it would reach
    // `GET /organizations/{id}` (and answer 404), which its Allow does not advertise.
    let r = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/organizations/register",
            None,
            None,
        )
        .await
        .problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST"));
    app.get("/api/v1/no-such-thing", None)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn if_match_star_matches_an_existing_resource_and_a_missing_one_is_404() {
    let app = spawn_app().await;
    let (id, _, _) = app.user("expert", None).await;
    let patch = |id: String, tag: &'static str| {
        app.client
            .patch(app.url(&format!("/api/v1/users/{id}")))
            .bearer_auth(&app.admin_token)
            .header("If-Match", tag)
            .json(&json!({"name": "改名的专家"}))
            .send()
    };
    let r = into_reply(patch(id.clone(), "*").await.unwrap())
        .await
        .expect(200);
    assert_eq!(r.body["name"], "改名的专家");
    into_reply(patch(id.clone(), "\"999\"").await.unwrap())
        .await
        .problem(412, "version_mismatch");
    into_reply(patch("no-such-user".into(), "*").await.unwrap())
        .await
        .problem(404, "not_found");
}
