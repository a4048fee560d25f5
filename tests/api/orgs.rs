//! Organization registration, credit codes and verification.

use serde_json::json;

use crate::helpers::{new_uscc, spawn_app, unique, PASSWORD};

fn registration(uscc: &str, district: &str) -> serde_json::Value {
    json!({"organization": {"name": unique("社工机构"), "uscc": uscc, "org_type": "social_group", "registered_on": "2018-01-01",
                            "social_workers": 3, "district_id": district, "contact_email": "contact@org.test"},
           "account": {"email": unique("m") + "@org.test", "name": "负责人", "password": PASSWORD}})
}

#[tokio::test]
async fn credit_codes_are_checked_and_read() {
    let app = spawn_app().await;
    let d = app.district().await;
    let district = d.regions.district.as_str();
    for good in [
        "53100000500019795A",
        "53100000500021676K",
        "12100000400009127B",
        "91330100799655058B",
    ] {
        let r = app
            .post(
                "/api/v1/organizations/register",
                None,
                registration(good, district),
            )
            .await
            .expect(201);
        assert_eq!(r.body["organization"]["uscc"], good);
        assert_eq!(r.body["organization"]["status"], "pending_verification");
        assert_eq!(r.body["user"]["role"], "org");
        assert_eq!(
            r.body["user"]["organization_id"],
            r.body["organization"]["id"]
        );
    }
    let r = app
        .post(
            "/api/v1/organizations/register",
            None,
            registration("53100000500020462H", district),
        )
        .await
        .problem(422, "invalid_uscc");
    assert_eq!(r.fields(), vec!["organization.uscc"]);
    let msg = r.body["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("was expected") && msg.contains('H'), "{msg}");
    app.post(
        "/api/v1/organizations/register",
        None,
        registration("91430100MA4R7G5X7P", district),
    )
    .await
    .problem(422, "invalid_uscc");
    app.post(
        "/api/v1/organizations/register",
        None,
        registration("5310000050001979", district),
    )
    .await
    .problem(422, "invalid_uscc");
    // Lower case is normalised, and then it is a duplicate.
    app.post(
        "/api/v1/organizations/register",
        None,
        registration("53100000500019795a", district),
    )
    .await
    .problem(409, "uscc_taken");
    // Positions 1–2 are read and shown.
    let code = new_uscc();
    let r = app
        .post(
            "/api/v1/organizations/register",
            None,
            registration(&code.to_lowercase(), district),
        )
        .await
        .expect(201);
    assert_eq!(r.body["organization"]["uscc"], code.as_str());
    assert!(r.body["organization"]["registration_authority"]
        .as_str()
        .unwrap()
        .contains("民政"));
    assert!(r.body["organization"]["registration_category"]
        .as_str()
        .unwrap()
        .contains("民办非企业"));
}

#[tokio::test]
async fn registration_fields_are_named_and_nothing_is_half_written() {
    let app = spawn_app().await;
    let d = app.district().await;
    let mut body = registration(&new_uscc(), &d.regions.district);
    body["organization"]["rating"] = json!("3A");
    let r = app
        .post("/api/v1/organizations/register", None, body.clone())
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["organization.rating_awarded_on"]);
    body["organization"]["rating"] = json!(null);
    body["organization"]["district_id"] = json!(d.regions.street);
    let r = app
        .post("/api/v1/organizations/register", None, body.clone())
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["organization.district_id"]);
    // The account of the failed registration was not created either.
    let email = body["account"]["email"].as_str().unwrap();
    app.login_reply(email, PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    body["organization"]["district_id"] = json!(d.regions.district);
    body["account"]["password"] = json!("short");
    let r = app
        .post("/api/v1/organizations/register", None, body)
        .await
        .problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["account.password"]);
}

#[tokio::test]
async fn the_bureau_of_the_district_verifies_rejects_and_suspends_and_the_contact_is_told() {
    let app = spawn_app().await;
    let d = app.district().await;
    let (a, member) = app
        .register_org(&d, |o| o["contact_email"] = json!("a-contact@org.test"))
        .await;
    let (b, _) = app.register_org(&d, |_| {}).await;
    // Pending: invisible to the public, visible to its member and its bureau.
    app.get(&format!("/api/v1/organizations/{a}"), None)
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/organizations/{a}"), Some(&d.other_bureau))
        .await
        .problem(404, "not_found");
    app.get(&format!("/api/v1/organizations/{a}"), Some(&member))
        .await
        .expect(200);
    app.get(&format!("/api/v1/organizations/{a}"), Some(&d.bureau))
        .await
        .expect(200);
    assert_eq!(
        app.get("/api/v1/organizations", None)
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Only the bureau of its district decides.
    app.post(
        &format!("/api/v1/organizations/{a}/verify"),
        Some(&d.other_bureau),
        json!({}),
    )
    .await
    .problem(404, "not_found");
    app.post(
        &format!("/api/v1/organizations/{a}/verify"),
        Some(&d.street),
        json!({}),
    )
    .await
    .problem(403, "forbidden");
    let v = app
        .post(
            &format!("/api/v1/organizations/{a}/verify"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(v.body["status"], "verified");
    app.post(
        &format!("/api/v1/organizations/{a}/verify"),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .problem(409, "invalid_state");
    app.post(
        &format!("/api/v1/organizations/{b}/reject"),
        Some(&d.bureau),
        json!({}),
    )
    .await
    .problem(422, "validation_failed");
    let rj = app
        .post(
            &format!("/api/v1/organizations/{b}/reject"),
            Some(&d.bureau),
            json!({"reason": "登记证书与信用代码不符"}),
        )
        .await
        .expect(200);
    assert_eq!(rj.body["status"], "rejected");
    app.post(
        &format!("/api/v1/organizations/{b}/suspend"),
        Some(&d.bureau),
        json!({"reason": "x"}),
    )
    .await
    .problem(409, "invalid_state");
    let listed = app.get("/api/v1/organizations", None).await.expect(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let s = app
        .post(
            &format!("/api/v1/organizations/{a}/suspend"),
            Some(&d.bureau),
            json!({"reason": "年检不合格"}),
        )
        .await
        .expect(200);
    assert_eq!(s.body["status"], "suspended");
    // The contact was mailed each decision, and each is audited.
    let state = app.state.clone();
    let mails = tokio::task::spawn_blocking(move || {
        let mut c = state.db.write_conn().unwrap();
        gongyi::notify::repo::list_by_recipient(&mut c, "a-contact@org.test").unwrap()
    })
    .await
    .unwrap();
    let subjects: Vec<String> = mails.iter().map(|m| m.subject.clone()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[0].ends_with("verified") && subjects[1].ends_with("suspended"),
        "{subjects:?}"
    );
    let ev = app
        .get(
            &format!("/api/v1/audit?entity=organization&entity_id={a}"),
            Some(&d.bureau),
        )
        .await
        .expect(200);
    let actions: Vec<&str> = ev.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "organization.suspended",
            "organization.verified",
            "organization.registered"
        ]
    );
}
