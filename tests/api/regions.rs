//! The region tree.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_tree_is_district_street_community_and_nothing_else() {
    let app = spawn_app().await;
    let r = app.regions().await;
    let t = Some(app.admin_token.as_str());
    let cases = [
        (
            json!({"name": "A", "kind": "district", "parent_id": r.district}),
            "parent_id",
        ),
        (json!({"name": "B", "kind": "street"}), "parent_id"),
        (
            json!({"name": "C", "kind": "street", "parent_id": r.street}),
            "parent_id",
        ),
        (
            json!({"name": "D", "kind": "community", "parent_id": r.district}),
            "parent_id",
        ),
        (
            json!({"name": "E", "kind": "community", "parent_id": "missing"}),
            "parent_id",
        ),
        (json!({"name": "", "kind": "district"}), "name"),
        (json!({"name": "F", "kind": "province"}), "kind"),
    ];
    for (body, field) in cases {
        let reply = app
            .post("/api/v1/regions", t, body.clone())
            .await
            .problem(422, "validation_failed");
        assert_eq!(reply.fields(), vec![field], "{body}");
    }
    app.post(
        "/api/v1/regions",
        t,
        json!({"name": "新建社区", "kind": "community", "parent_id": r.street}),
    )
    .await
    .problem(409, "region_exists");
    // The same name under another street is fine.
    app.post(
        "/api/v1/regions",
        t,
        json!({"name": "新建社区", "kind": "community", "parent_id": r.other_street}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn anyone_lists_regions_filtered_by_kind_and_parent() {
    let app = spawn_app().await;
    let r = app.regions().await;
    let districts = app
        .get("/api/v1/regions?kind=district", None)
        .await
        .expect(200);
    let names: Vec<&str> = districts.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    let under = app
        .get(&format!("/api/v1/regions?parent_id={}", r.street), None)
        .await
        .expect(200);
    let items = under.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], r.community.as_str());
    assert_eq!(items[0]["district_id"], r.district.as_str());
    assert_eq!(items[0]["street_id"], r.street.as_str());
    assert!(under.body["next_cursor"].is_null());
}
