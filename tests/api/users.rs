//! Admin management of accounts.

use std::collections::BTreeSet;

use serde_json::json;

use crate::helpers::{into_reply, spawn_app, PASSWORD};

#[tokio::test]
async fn staff_accounts_need_a_region_of_their_kind() {
    let app = spawn_app().await;
    let r = app.regions().await;
    let cases = [
        ("bureau", Some(r.street.as_str())),
        ("bureau", None),
        ("street", Some(r.district.as_str())),
        ("community", Some(r.street.as_str())),
        ("admin", Some(r.district.as_str())),
        ("street", Some("no-such-region")),
    ];
    for (role, region) in cases {
        let body = json!({"email": format!("{role}-x@gongyi.test"), "name": "X", "password": PASSWORD, "role": role, "region_id": region});
        let reply = app
            .post("/api/v1/users", Some(&app.admin_token), body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(reply.fields(), vec!["region_id"], "{role} {region:?}");
    }
    let (_, _, t) = app.user("community", Some(&r.community)).await;
    let me = app.get("/api/v1/me", Some(&t)).await.expect(200);
    assert_eq!(me.body["region_id"], r.community.as_str());
    let (_, _, t2) = app.user("community", Some(&r.other_community)).await;
    let me2 = app.get("/api/v1/me", Some(&t2)).await.expect(200);
    assert_eq!(me2.body["region_id"], r.other_community.as_str());
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = spawn_app().await;
    let (_, email, _) = app.user("expert", None).await;
    let body = json!({"email": email.to_uppercase(), "name": "Twin", "password": PASSWORD, "role": "expert"});
    app.post("/api/v1/users", Some(&app.admin_token), body)
        .await
        .problem(409, "email_taken");
}

#[tokio::test]
async fn parallel_creations_of_one_email_make_exactly_one_account() {
    let app = spawn_app().await;
    for round in 0..3 {
        let email = format!("race{round}@gongyi.test");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(6));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (client, url, token, barrier, email) = (
                app.client.clone(),
                app.url("/api/v1/users"),
                app.admin_token.clone(),
                barrier.clone(),
                email.clone(),
            );
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let body = json!({"email": email, "name": "Racer", "password": PASSWORD, "role": "expert"});
                client.post(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 201 || *s == 409),
            "{statuses:?}"
        );
        let list = app
            .get(
                &format!("/api/v1/users?q=race{round}"),
                Some(&app.admin_token),
            )
            .await
            .expect(200);
        assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    }
    let v = app
        .get("/api/v1/audit/verify", Some(&app.admin_token))
        .await
        .expect(200);
    assert_eq!(v.body["ok"], true, "{}", v.body);
}

#[tokio::test]
async fn listing_pages_through_every_user_exactly_once() {
    let app = spawn_app().await;
    for _ in 0..7 {
        app.user("expert", None).await;
    }
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/users?limit=3&cursor={c}"),
            None => "/api/v1/users?limit=3".to_owned(),
        };
        let r = app.get(&path, Some(&app.admin_token)).await.expect(200);
        for u in r.body["items"].as_array().unwrap() {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_owned()),
                "a user came twice"
            );
        }
        pages += 1;
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "7 experts and the admin");
    assert_eq!(pages, 3);
    let experts = app
        .get(
            "/api/v1/users?role=expert&limit=100",
            Some(&app.admin_token),
        )
        .await
        .expect(200);
    assert_eq!(experts.body["items"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn an_admin_cannot_lock_themself_out() {
    let app = spawn_app().await;
    let me = app
        .get("/api/v1/me", Some(&app.admin_token))
        .await
        .expect(200);
    let id = me.body["id"].as_str().unwrap();
    for (body, field) in [
        (json!({"active": false}), "active"),
        (json!({"role": "expert"}), "role"),
    ] {
        let req = app
            .client
            .patch(app.url(&format!("/api/v1/users/{id}")))
            .bearer_auth(&app.admin_token)
            .header("If-Match", "\"1\"")
            .json(&body);
        let r = into_reply(req.send().await.unwrap())
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), vec![field]);
    }
    app.get("/api/v1/me", Some(&app.admin_token))
        .await
        .expect(200);
}

#[tokio::test]
async fn moving_a_user_to_another_region_is_audited_with_before_and_after() {
    let app = spawn_app().await;
    let r = app.regions().await;
    let (id, _, token) = app.user("street", Some(&r.street)).await;
    let req = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&app.admin_token)
        .header("If-Match", "\"1\"")
        .json(&json!({"region_id": r.other_street}));
    let moved = into_reply(req.send().await.unwrap()).await.expect(200);
    assert_eq!(moved.body["region_id"], r.other_street.as_str());
    // The change applies to the signed-in session at once.
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200);
    assert_eq!(me.body["region_id"], r.other_street.as_str());
    let events = app
        .get(
            &format!("/api/v1/audit?entity=user&entity_id={id}"),
            Some(&app.admin_token),
        )
        .await
        .expect(200);
    let latest = &events.body["items"][0];
    assert_eq!(latest["action"], "user.updated");
    assert_eq!(latest["summary"]["before"]["region_id"], r.street.as_str());
    assert_eq!(
        latest["summary"]["after"]["region_id"],
        r.other_street.as_str()
    );
    // A street account cannot be moved to a community.
    let req = app
        .client
        .patch(app.url(&format!("/api/v1/users/{id}")))
        .bearer_auth(&app.admin_token)
        .header("If-Match", "\"2\"")
        .json(&json!({"region_id": r.community}));
    let r2 = into_reply(req.send().await.unwrap())
        .await
        .problem(422, "validation_failed");
    assert_eq!(r2.fields(), vec!["region_id"]);
}
