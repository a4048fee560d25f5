//! Needs: every transition from every status and role, scope, merge, support, the guide
//! list, search and paging.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, District, TestApp};

async fn status(app: &TestApp, d: &District, id: &str) -> Value {
    app.get(&format!("/api/v1/needs/{id}"), Some(&d.bureau))
        .await
        .expect(200)
        .body
}

/// A need brought to `target` status through the API.
async fn need_in(app: &TestApp, d: &District, target: &str) -> String {
    let id = app
        .need(&d.community, &format!("需求-{target}"), "medium")
        .await;
    let step = |path: &str, token: &str, body: Value| {
        let url = format!("/api/v1/needs/{id}/{path}");
        let token = token.to_owned();
        async move { app.post(&url, Some(&token), body).await.expect(200) }
    };
    match target {
        "submitted" => {}
        "forwarded" => {
            step("forward", &d.street, json!({})).await;
        }
        "returned" => {
            step("return", &d.street, json!({"reason": "信息不全"})).await;
        }
        "accepted" => {
            step("forward", &d.street, json!({})).await;
            step("accept", &d.bureau, json!({})).await;
        }
        "rejected" => {
            step("forward", &d.street, json!({})).await;
            step("reject", &d.bureau, json!({"reason": "不属于购买服务范围"})).await;
        }
        "merged" => {
            let target = app.accepted_need(d, "合并目标").await;
            step("merge", &d.bureau, json!({"into_id": target})).await;
        }
        _ => unreachable!(),
    }
    id
}

#[tokio::test]
async fn every_action_from_every_status_is_allowed_exactly_where_the_lifecycle_says() {
    let app = spawn_app().await;
    let d = app.district().await;
    let statuses = [
        "submitted",
        "forwarded",
        "returned",
        "accepted",
        "rejected",
        "merged",
    ];
    // (action, who, body, the statuses it is allowed from, the status it leads to)
    let actions: Vec<(&str, &str, Value, &[&str], &str)> = vec![
        ("forward", "street", json!({}), &["submitted"], "forwarded"),
        (
            "return",
            "street",
            json!({"reason": "请补充受益人数"}),
            &["submitted"],
            "returned",
        ),
        (
            "resubmit",
            "community",
            json!({"beneficiaries": 55}),
            &["returned"],
            "submitted",
        ),
        ("accept", "bureau", json!({}), &["forwarded"], "accepted"),
        (
            "reject",
            "bureau",
            json!({"reason": "重复"}),
            &["submitted", "forwarded", "accepted"],
            "rejected",
        ),
    ];
    for (action, who, body, allowed, to) in &actions {
        for from in statuses {
            let id = need_in(&app, &d, from).await;
            let token = match *who {
                "street" => &d.street,
                "community" => &d.community,
                _ => &d.bureau,
            };
            let r = app
                .post(
                    &format!("/api/v1/needs/{id}/{action}"),
                    Some(token),
                    body.clone(),
                )
                .await;
            let after = status(&app, &d, &id).await;
            if allowed.contains(&from) {
                assert_eq!(r.status.as_u16(), 200, "{action} from {from}: {}", r.body);
                assert_eq!(after["status"], *to, "{action} from {from}");
                assert_eq!(r.body["status"], *to);
            } else {
                r.problem(409, "invalid_state");
                assert_eq!(
                    after["status"], from,
                    "{action} from {from} changed nothing"
                );
            }
        }
    }
    // Merge, from every status, into a live need.
    for from in statuses {
        let id = need_in(&app, &d, from).await;
        let target = app.accepted_need(&d, "目标").await;
        let r = app
            .post(
                &format!("/api/v1/needs/{id}/merge"),
                Some(&d.bureau),
                json!({"into_id": target}),
            )
            .await;
        if ["submitted", "forwarded", "accepted"].contains(&from) {
            assert_eq!(r.status.as_u16(), 200, "merge from {from}: {}", r.body);
            assert_eq!(r.body["merged_into"], target.as_str());
        } else {
            r.problem(409, "invalid_state");
        }
    }
}

#[tokio::test]
async fn the_wrong_role_gets_403_and_the_wrong_region_404() {
    let app = spawn_app().await;
    let d = app.district().await;
    let id = app.need(&d.community, "楼道照明", "high").await;
    // Wrong role: a community worker cannot forward, a street cannot accept.
    app.post(
        &format!("/api/v1/needs/{id}/forward"),
        Some(&d.community),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    app.post(
        &format!("/api/v1/needs/{id}/accept"),
        Some(&d.street),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    // Right role, other region: not found, and nothing changes.
    app.post(
        &format!("/api/v1/needs/{id}/forward"),
        Some(&d.other_street),
        json!({}),
    )
    .await
    .problem(404, "not_found");
    app.get(&format!("/api/v1/needs/{id}"), Some(&d.other_street))
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/needs/{id}"), Some(&d.other_community))
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/needs/{id}"), Some(&d.other_bureau))
        .await
        .problem(404, "not_found");
    app.post(
        &format!("/api/v1/needs/{id}/support"),
        Some(&d.other_community),
        json!({"count": 3}),
    )
    .await
    .problem(404, "not_found");
    assert_eq!(status(&app, &d, &id).await["status"], "submitted");
    // Listings never show another region's needs.
    let list = app
        .get("/api/v1/needs", Some(&d.other_street))
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    app.get(
        &format!("/api/v1/needs?region_id={}", d.regions.street),
        Some(&d.other_bureau),
    )
    .await
    .problem(404, "not_found");
    // Those in scope see it: the community, its street, its bureau, and the admin.
    for t in [&d.community, &d.street, &d.bureau, &app.admin_token] {
        app.get(&format!("/api/v1/needs/{id}"), Some(t))
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn a_hotline_need_keeps_its_ticket_number() {
    let app = spawn_app().await;
    let d = app.district().await;
    let body = |r: Value| {
        json!({"title": "噪音扰民", "description": "夜间广场舞噪音", "category": "mediation", "source": "hotline_12345",
               "external_ref": r, "beneficiary_group": "居民", "beneficiaries": 120, "urgency": "medium"})
    };
    let r = app
        .post("/api/v1/needs", Some(&d.community), body(Value::Null))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["external_ref"]);
    let ok = app
        .post(
            "/api/v1/needs",
            Some(&d.community),
            body(json!("12345-2026-0042")),
        )
        .await
        .expect(201);
    assert_eq!(ok.body["external_ref"], "12345-2026-0042");
    assert_eq!(ok.body["source"], "hotline_12345");
    assert_eq!(ok.body["district_id"], d.regions.district.as_str());
    assert_eq!(ok.body["street_id"], d.regions.street.as_str());
    assert_eq!(ok.body["community_id"], d.regions.community.as_str());
}

#[tokio::test]
async fn a_resubmitted_ticket_number_is_held_to_the_same_length_as_at_intake() {
    let app = spawn_app().await;
    let d = app.district().await;
    let id = need_in(&app, &d, "returned").await;
    let url = format!("/api/v1/needs/{id}/resubmit");
    let r = app
        .post(
            &url,
            Some(&d.community),
            json!({"external_ref": "9".repeat(101)}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["external_ref"]);
    assert_eq!(status(&app, &d, &id).await["status"], "returned");
    let ok = app
        .post(
            &url,
            Some(&d.community),
            json!({"external_ref": "9".repeat(100)}),
        )
        .await
        .expect(200);
    assert_eq!(ok.body["external_ref"], "9".repeat(100));
    assert_eq!(ok.body["status"], "submitted");
}

#[tokio::test]
async fn bad_need_fields_are_named() {
    let app = spawn_app().await;
    let d = app.district().await;
    let good = json!({"title": "T", "description": "D", "category": "elderly", "source": "grid",
                      "beneficiary_group": "G", "beneficiaries": 5, "urgency": "low"});
    for (k, v) in [
        ("title", json!("")),
        ("category", json!("weather")),
        ("source", json!("pigeon")),
        ("beneficiaries", json!(0)),
        ("beneficiaries", json!("five")),
        ("urgency", json!("urgent")),
        ("status", json!("accepted")),
    ] {
        let mut b = good.clone();
        b[k] = v;
        let r = app
            .post("/api/v1/needs", Some(&d.community), b)
            .await
            .problem(422, "validation_failed");
        assert_eq!(r.fields(), vec![k.to_owned()], "{k}");
    }
}

#[tokio::test]
async fn merging_adds_supporters_and_points_at_the_target() {
    let app = spawn_app().await;
    let d = app.district().await;
    let a = app.accepted_need(&d, "老年助餐").await;
    let b = app.need(&d.community, "老年助餐（重复）", "low").await;
    app.post(
        &format!("/api/v1/needs/{a}/support"),
        Some(&d.community),
        json!({"count": 10}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/needs/{b}/support"),
        Some(&d.community),
        json!({"count": 7}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/needs/{b}/support"),
        Some(&d.community),
        json!({"count": 0}),
    )
    .await
    .problem(422, "validation_failed");
    let merged = app
        .post(
            &format!("/api/v1/needs/{b}/merge"),
            Some(&d.bureau),
            json!({"into_id": a}),
        )
        .await
        .expect(200);
    assert_eq!(merged.body["status"], "merged");
    assert_eq!(merged.body["merged_into"], a.as_str());
    assert_eq!(status(&app, &d, &a).await["supporters"], 17);
    // Into itself, or into a merged need, is refused.
    let c = app.need(&d.community, "其他", "low").await;
    app.post(
        &format!("/api/v1/needs/{c}/merge"),
        Some(&d.bureau),
        json!({"into_id": c}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        &format!("/api/v1/needs/{c}/merge"),
        Some(&d.bureau),
        json!({"into_id": b}),
    )
    .await
    .problem(409, "invalid_state");
    // A merged need takes no more support.
    app.post(
        &format!("/api/v1/needs/{b}/support"),
        Some(&d.community),
        json!({"count": 1}),
    )
    .await
    .problem(409, "invalid_state");
    // The audit trail records the merge.
    let ev = app
        .get(
            &format!("/api/v1/audit?entity=need&entity_id={b}"),
            Some(&d.bureau),
        )
        .await
        .expect(200);
    assert_eq!(ev.body["items"][0]["action"], "need.merged");
}

#[tokio::test]
async fn the_guide_list_is_sorted_by_supporters_then_urgency() {
    let app = spawn_app().await;
    let d = app.district().await;
    let mut expected = Vec::new();
    for (title, urgency, support) in [
        ("甲", "low", 5),
        ("乙", "high", 5),
        ("丙", "medium", 9),
        ("丁", "high", 0),
    ] {
        let id = app.need(&d.community, title, urgency).await;
        if support > 0 {
            app.post(
                &format!("/api/v1/needs/{id}/support"),
                Some(&d.community),
                json!({"count": support}),
            )
            .await
            .expect(200);
        }
        app.post(
            &format!("/api/v1/needs/{id}/forward"),
            Some(&d.street),
            json!({}),
        )
        .await
        .expect(200);
        app.post(
            &format!("/api/v1/needs/{id}/accept"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200);
        expected.push((title, id));
    }
    app.need(&d.community, "未受理", "high").await;
    let list = app
        .get(
            &format!(
                "/api/v1/needs?status=accepted&region_id={}",
                d.regions.district
            ),
            Some(&d.bureau),
        )
        .await
        .expect(200);
    let titles: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, vec!["丙", "乙", "甲", "丁"]);
    // Paging through the guide list two at a time gives the same order.
    let first = app
        .get(
            &format!(
                "/api/v1/needs?status=accepted&region_id={}&limit=2",
                d.regions.district
            ),
            Some(&d.bureau),
        )
        .await
        .expect(200);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!(
                "/api/v1/needs?status=accepted&region_id={}&limit=2&cursor={cursor}",
                d.regions.district
            ),
            Some(&d.bureau),
        )
        .await
        .expect(200);
    let t2: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(t2, vec!["甲", "丁"]);
    // A cursor of one order used with the other is refused.
    app.get(
        &format!("/api/v1/needs?sort=newest&cursor={cursor}"),
        Some(&d.bureau),
    )
    .await
    .problem(422, "validation_failed");
}

#[tokio::test]
async fn search_finds_chinese_substrings_and_filters_combine() {
    let app = spawn_app().await;
    let d = app.district().await;
    app.need(&d.community, "加装电梯协调", "high").await;
    app.need(&d.community, "儿童课后托管", "medium").await;
    let found = app
        .get("/api/v1/needs?q=电梯", Some(&d.bureau))
        .await
        .expect(200);
    let items = found.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["title"], "加装电梯协调");
    // Searching the description, and a LIKE wildcard taken literally.
    assert_eq!(
        app.get("/api/v1/needs?q=居民反映", Some(&d.bureau))
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.get("/api/v1/needs?q=%25", Some(&d.bureau))
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let none = app
        .get("/api/v1/needs?q=电梯&status=accepted", Some(&d.bureau))
        .await
        .expect(200);
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);
    app.get("/api/v1/needs?status=unknown", Some(&d.bureau))
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn deep_pages_return_every_row_exactly_once_while_rows_are_added() {
    let app = spawn_app().await;
    let d = app.district().await;
    let mut ids = BTreeSet::new();
    for i in 0..30 {
        ids.insert(app.need(&d.community, &format!("需求{i}"), "low").await);
    }
    let writer = {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/api/v1/needs"),
            d.community.clone(),
        );
        tokio::spawn(async move {
            for i in 0..20 {
                let body = json!({"title": format!("新需求{i}"), "description": "并发写入", "category": "other", "source": "app",
                                  "beneficiary_group": "居民", "beneficiaries": 1, "urgency": "low"});
                assert_eq!(
                    client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16(),
                    201
                );
            }
        })
    };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/needs?limit=4&sort=newest&cursor={c}"),
            None => "/api/v1/needs?limit=4&sort=newest".to_owned(),
        };
        let r = app.get(&path, Some(&d.bureau)).await.expect(200);
        for n in r.body["items"].as_array().unwrap() {
            seen.push(n["id"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    writer.await.unwrap();
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no row came twice");
    assert!(
        ids.is_subset(&unique),
        "every row present before paging began was served"
    );
}

#[tokio::test]
async fn a_stored_status_the_code_does_not_know_is_a_500_not_a_default() {
    let app = spawn_app().await;
    let d = app.district().await;
    let id = app.need(&d.community, "状态被篡改", "medium").await;
    app.sql(&format!(
        "UPDATE needs SET status = 'misplaced' WHERE id = '{id}'"
    ))
    .unwrap();

    let r = app
        .get(&format!("/api/v1/needs/{id}"), Some(&d.bureau))
        .await
        .problem(500, "internal_error");

    assert!(
        !r.body.to_string().contains("misplaced"),
        "the cause is logged, not answered: {}",
        r.body
    );
}

#[tokio::test]
async fn refusals_and_bad_filters_say_what_to_do_instead() {
    let app = crate::helpers::spawn_app().await;
    let d = app.district().await;
    let id = app.need(&d.community, "楼道照明维修", "high").await;
    // Still submitted: the bureau cannot accept it yet, and is told who moves it on.
    let r = app
        .post(
            &format!("/api/v1/needs/{id}/accept"),
            Some(&d.bureau),
            serde_json::json!({}),
        )
        .await
        .problem(409, "invalid_state");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("submitted") && detail.contains("/forward"),
        "{detail}"
    );
    let r = app
        .get("/api/v1/needs?status=pending", Some(&d.bureau))
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), ["status"]);
    assert!(
        r.body.to_string().contains("forwarded"),
        "lists the statuses: {}",
        r.body
    );
    // No listing ignores a parameter it does not know: each names it.
    for url in [
        "/api/v1/needs?statuss=accepted",
        "/api/v1/contracts?limit=5&organisation_id=x",
        "/api/v1/reviews?page=2",
        "/api/v1/me/assignments?offset=10",
        "/api/v1/organizations?budget=1",
        "/api/v1/audit?entityid=x",
    ] {
        let r = app.get(url, Some(&d.bureau)).await;
        if r.status == 403 {
            continue;
        }
        let r = r.problem(422, "validation_failed");
        let name = url
            .split('?')
            .nth(1)
            .unwrap()
            .rsplit('&')
            .next()
            .unwrap()
            .split('=')
            .next()
            .unwrap();
        assert_eq!(r.fields(), [name], "{url}: {}", r.body);
    }
    // A self-registered organization's account mail does not speak of a password it was given.
    app.register_org(&d, |_| {}).await;
    let state = app.state.clone();
    let bodies: Vec<String> = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use gongyi::db::schema::outbox;
        let mut c = state.db.write_conn().unwrap();
        outbox::table
            .filter(outbox::subject.eq("Your gongyi account"))
            .order(outbox::id.desc())
            .select(outbox::body)
            .limit(1)
            .load::<String>(&mut **c)
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        bodies[0].contains("you chose when you registered")
            && !bodies[0].contains("you were given"),
        "{bodies:?}"
    );
}

async fn listed(app: &TestApp, d: &District) -> Vec<Value> {
    let page = app.get("/api/v1/needs", Some(&d.bureau)).await.expect(200);
    page.body["items"].as_array().unwrap().clone()
}

/// The listing keeps rendered need documents by id and version: every change must show in the
/// next page, item for item the same document as the need's own.
#[tokio::test]
async fn a_listed_need_shows_every_change_made_after_it_was_listed() {
    let app = spawn_app().await;
    let d = app.district().await;
    let a = app.accepted_need(&d, "老年助餐").await;
    let b = app.need(&d.community, "老年助餐（重复）", "low").await;
    app.post(
        &format!("/api/v1/needs/{b}/support"),
        Some(&d.community),
        json!({"count": 2}),
    )
    .await
    .expect(200);
    let first = listed(&app, &d).await;
    assert_eq!(first.len(), 2);
    app.post(
        &format!("/api/v1/needs/{a}/support"),
        Some(&d.community),
        json!({"count": 5}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/needs/{b}/merge"),
        Some(&d.bureau),
        json!({"into_id": a}),
    )
    .await
    .expect(200);
    let items = listed(&app, &d).await;
    for item in &items {
        let id = item["id"].as_str().unwrap();
        let own = app
            .get(&format!("/api/v1/needs/{id}"), Some(&d.bureau))
            .await
            .expect(200);
        assert_eq!(
            item, &own.body,
            "the listed document of {id} is its current one"
        );
    }
    let of = |id: &str| items.iter().find(|n| n["id"] == id).unwrap().clone();
    let before = |id: &str| {
        first.iter().find(|n| n["id"] == id).unwrap()["supporters"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        of(&a)["supporters"],
        before(&a) + 5 + before(&b),
        "its own support and the merged need's"
    );
    assert_eq!(of(&b)["status"], "merged");
    // The guide list, read twice, is the same page both times (the second from rendered documents).
    let guide = "/api/v1/needs?status=accepted";
    let once = app.get(guide, Some(&d.bureau)).await.expect(200);
    let twice = app.get(guide, Some(&d.bureau)).await.expect(200);
    assert_eq!(once.body, twice.body);
    assert_eq!(once.body["items"][0]["id"], a.as_str());
}
