//! The served OpenAPI document is the contract: it lists every registered route, it is
//! well-formed for client generators (parameters where they are, every `$ref` resolving, a
//! summary and the problem responses on every operation), and real answers of the running
//! server match the schemas it publishes.

use std::collections::BTreeSet;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_with, Reply, TestApp};

#[tokio::test]
async fn every_registered_route_is_in_the_openapi_document() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await.expect(200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut missing = Vec::new();
    for route in gongyi::app::route_table() {
        let method = route.method.as_str().to_lowercase();
        if doc.body["paths"][&route.path][&method].is_null() {
            missing.push(format!("{} {}", route.method, route.path));
        }
    }
    assert!(
        missing.is_empty(),
        "missing from the OpenAPI document: {missing:?}"
    );
    // And the CLI prints the same document.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gongyi"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, doc.body);
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.to_uppercase(), path.clone(), op));
        }
    }
    ops
}

/// Every `$ref` under `v`, as JSON pointers.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_complete_enough_to_generate_a_client_from() {
    let app = spawn_app().await;
    let doc = app.get("/api/v1/openapi.json", None).await.expect(200).body;
    let mut wrong = Vec::new();

    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all.iter().collect::<BTreeSet<_>>() {
        let target = r.strip_prefix('#').map(|p| doc.pointer(p));
        if !matches!(target, Some(Some(_))) {
            wrong.push(format!("{r} does not resolve"));
        }
    }

    let table = gongyi::app::route_table();
    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        if op["summary"].as_str().is_none_or(|s| s.trim().is_empty()) {
            wrong.push(format!("{at}: no summary"));
        }
        let placeholders: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let mut in_path = BTreeSet::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            if p["in"] == "path" {
                in_path.insert(name);
                if !placeholders.contains(name) {
                    wrong.push(format!("{at}: `{name}` is in: path but not in the path"));
                }
                if p["required"] != true {
                    wrong.push(format!("{at}: path parameter `{name}` not required"));
                }
            }
        }
        if in_path != placeholders {
            wrong.push(format!(
                "{at}: path parameters {in_path:?}, path has {placeholders:?}"
            ));
        }
        let responses = op["responses"].as_object().unwrap();
        for (status, response) in responses {
            if response["description"].as_str().is_none_or(str::is_empty) {
                wrong.push(format!("{at} {status}: no description"));
            }
            if status.as_str() >= "400" {
                let content = response["content"].as_object();
                let ok = content.is_some_and(|c| {
                    c.len() == 1
                        && c["application/problem+json"]["schema"]["$ref"]
                            == "#/components/schemas/Problem"
                });
                if !ok {
                    wrong.push(format!("{at} {status}: not a problem+json Problem"));
                }
            }
        }
        let route = table
            .iter()
            .find(|r| r.method.as_str() == method && r.path == path)
            .unwrap_or_else(|| panic!("{at} is not a registered route"));
        let mut needed = vec!["401", "503"];
        if route.access != gongyi::auth::Access::Public && op["security"] != json!([{"bearer": []}])
        {
            wrong.push(format!("{at}: signed-in route without bearer security"));
        }
        if matches!(route.access, gongyi::auth::Access::Roles(_)) {
            needed.push("403");
        }
        if !placeholders.is_empty() {
            needed.push("404");
        }
        if !op["requestBody"].is_null() {
            needed.extend(["400", "413", "415", "422"]);
        }
        for status in needed {
            if !responses.contains_key(status) {
                wrong.push(format!("{at}: {status} not described"));
            }
        }
    }
    // Every string enum publishes its wire values, not the Rust variant names.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for v in schema["enum"].as_array().into_iter().flatten() {
            let s = v.as_str().unwrap_or("");
            if s.starts_with(|c: char| c.is_ascii_uppercase()) {
                wrong.push(format!("{name}: enum value {s:?} is not a wire string"));
            }
        }
    }
    assert_eq!(
        doc["components"]["schemas"]["Rating"]["enum"],
        json!(["1A", "2A", "3A", "4A", "5A"])
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The served document, and the answers checked against it.
/// One call of a walk: method, path template, its ids, token, body.
type Step<'a> = (
    Method,
    &'a str,
    &'a [&'a str],
    Option<&'a str>,
    Option<Value>,
);

struct Contract {
    doc: Value,
    checked: BTreeSet<String>,
}

impl Contract {
    async fn of(app: &TestApp) -> Contract {
        let doc = app.get("/api/v1/openapi.json", None).await.expect(200).body;
        let mut rating = json!({"$ref": "#/components/schemas/Rating"});
        rating["components"] = doc["components"].clone();
        let rating = jsonschema::validator_for(&rating).unwrap();
        assert!(rating.is_valid(&json!("4A")) && !rating.is_valid(&json!("A4")));
        Contract {
            doc,
            checked: BTreeSet::new(),
        }
    }

    /// [`Contract::call`] for each step in order, answers unread.
    async fn calls(&mut self, app: &TestApp, steps: &[Step<'_>]) {
        for (method, template, ids, token, body) in steps {
            self.call(app, method.clone(), template, ids, *token, body.clone())
                .await;
        }
    }

    /// Calls `method template` (placeholders filled in order from `ids`) and checks that the
    /// answer's status is described, its content type is the described one, and its body
    /// matches the described schema.
    async fn call(
        &mut self,
        app: &TestApp,
        method: Method,
        template: &str,
        ids: &[&str],
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut path = template.to_owned();
        for id in ids {
            let start = path.find('{').expect("more ids than placeholders");
            let end = start + path[start..].find('}').unwrap();
            path.replace_range(start..=end, id);
        }
        let template = template.split('?').next().unwrap();
        let reply = app.send(method.clone(), &path, token, body).await;
        let at = format!("{method} {path} → {}", reply.status);
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in the document");
        let status = reply.status.as_u16().to_string();
        let described = &op["responses"][&status];
        assert!(
            described.is_object(),
            "{at}: status not described\n{}",
            reply.body
        );
        let sent = reply.header("content-type").unwrap_or("");
        let content = described["content"].as_object();
        match content {
            None => assert!(reply.body.is_null(), "{at}: a body where none is described"),
            Some(content) => {
                let (media, c) = content.iter().next().unwrap();
                assert!(
                    sent.starts_with(media.as_str()),
                    "{at}: {sent}, described {media}"
                );
                if media.starts_with("text/") {
                    assert!(!reply.text.is_empty(), "{at}: an empty document");
                } else {
                    self.validate(&at, &c["schema"], &reply.body);
                }
            }
        }
        assert!(
            reply.header("x-request-id").is_some(),
            "{at}: no x-request-id"
        );
        if reply.status.as_u16() >= 400 {
            assert_eq!(
                reply.body["request_id"].as_str(),
                reply.header("x-request-id"),
                "{at}: the problem's request_id is the header's"
            );
        }
        self.checked.insert(format!("{method} {template} {status}"));
        reply
    }

    fn validate(&self, at: &str, schema: &Value, body: &Value) {
        let mut root = schema.clone();
        root["components"] = self.doc["components"].clone();
        let validator = jsonschema::validator_for(&root).expect("a valid schema");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{at}: the body does not match its schema:\n{}\n{body:#}",
            errors.join("\n")
        );
    }
}

#[tokio::test]
async fn real_answers_match_the_schemas_the_served_document_publishes() {
    let app = spawn_with(|s| s.auth.access_ttl_secs = 400 * 86_400).await;
    let mut c = Contract::of(&app).await;
    let admin = app.admin_token.clone();
    let d = app.district().await;
    use Method as M;

    c.calls(
        &app,
        &[
            (M::GET, "/healthz", &[], None, None),
            (M::GET, "/readyz", &[], None, None),
            (M::GET, "/api/v1/me", &[], Some(&d.bureau), None),
            (M::GET, "/api/v1/me", &[], None, None),
            (M::GET, "/api/v1/users?limit=5", &[], Some(&admin), None),
            (M::GET, "/api/v1/users", &[], Some(&d.bureau), None),
            (M::GET, "/api/v1/users?limit=0", &[], Some(&admin), None),
            (M::GET, "/api/v1/regions?kind=street", &[], None, None),
            (M::GET, "/api/v1/funds", &[], Some(&d.bureau), None),
            (
                M::GET,
                "/api/v1/funds/{id}",
                &[&d.fund],
                Some(&d.bureau),
                None,
            ),
            (
                M::GET,
                "/api/v1/funds/{id}/ledger",
                &[&d.fund],
                Some(&d.bureau),
                None,
            ),
            (
                M::GET,
                "/api/v1/funds/{id}",
                &["nope"],
                Some(&d.bureau),
                None,
            ),
        ],
    )
    .await;

    // Needs, through their screening.
    let need = c
        .call(&app, M::POST, "/api/v1/needs", &[], Some(&d.community), Some(json!({
            "title": "老年人助餐", "description": "独居老人午餐配送", "category": "elderly",
            "source": "grid", "beneficiary_group": "独居老人", "beneficiaries": 40, "urgency": "high"})))
        .await
        .expect(201);
    let nid = need.body["id"].as_str().unwrap().to_owned();
    c.calls(
        &app,
        &[
            (
                M::POST,
                "/api/v1/needs/{id}/support",
                &[&nid],
                Some(&d.community),
                Some(json!({"count": 3})),
            ),
            (
                M::POST,
                "/api/v1/needs/{id}/accept",
                &[&nid],
                Some(&d.bureau),
                None,
            ), // 409: not forwarded yet
            (
                M::POST,
                "/api/v1/needs/{id}/forward",
                &[&nid],
                Some(&d.street),
                None,
            ),
            (
                M::POST,
                "/api/v1/needs/{id}/accept",
                &[&nid],
                Some(&d.bureau),
                None,
            ),
            (
                M::GET,
                "/api/v1/needs?status=accepted&sort=supporters",
                &[],
                Some(&d.bureau),
                None,
            ),
            (M::GET, "/api/v1/needs/{id}", &[&nid], Some(&d.bureau), None),
            (
                M::POST,
                "/api/v1/needs",
                &[],
                Some(&d.community),
                Some(json!({"title": ""})),
            ), // 422
            (
                M::POST,
                "/api/v1/needs",
                &[],
                Some(&d.bureau),
                Some(json!({})),
            ), // 403
        ],
    )
    .await;

    // A project from draft to open, an organization, bids, the close and the opening.
    let spec = app.spec(&d, "300000.00", std::slice::from_ref(&nid));
    let draft = c
        .call(
            &app,
            M::POST,
            "/api/v1/projects",
            &[],
            Some(&d.bureau),
            Some(spec),
        )
        .await
        .expect(201);
    let pid = draft.body["id"].as_str().unwrap().to_owned();
    c.calls(
        &app,
        &[
            (
                M::GET,
                "/api/v1/projects/{id}",
                &[&pid],
                Some(&d.bureau),
                None,
            ),
            (
                M::PATCH,
                "/api/v1/projects/{id}",
                &[&pid],
                Some(&d.bureau),
                Some(json!({"title": "x"})),
            ), // 428
        ],
    )
    .await;
    let open = c
        .call(
            &app,
            M::POST,
            "/api/v1/projects/{id}/publish",
            &[&pid],
            Some(&d.bureau),
            None,
        )
        .await
        .expect(200);
    c.calls(
        &app,
        &[
            (M::GET, "/api/v1/projects?status=open", &[], None, None),
            (
                M::GET,
                "/api/v1/projects/{id}/amendments",
                &[&pid],
                None,
                None,
            ),
            (M::GET, "/api/v1/projects/{id}/opening", &[&pid], None, None), // 409 not_closed
        ],
    )
    .await;
    let (org, org_token) = app.verified_org(&d).await;
    c.calls(
        &app,
        &[
            (M::GET, "/api/v1/organizations/{id}", &[&org], None, None),
            (
                M::GET,
                "/api/v1/organizations?status=verified",
                &[],
                Some(&d.bureau),
                None,
            ),
            (
                M::POST,
                "/api/v1/organizations/{id}/verify",
                &[&org],
                Some(&d.bureau),
                None,
            ), // 409
        ],
    )
    .await;
    let bid = c
        .call(
            &app,
            M::POST,
            "/api/v1/projects/{id}/bids",
            &[&pid],
            Some(&org_token),
            Some(TestApp::bid_body("200000.00")),
        )
        .await
        .expect(201);
    let bid_id = bid.body["id"].as_str().unwrap().to_owned();
    c.calls(
        &app,
        &[
            (
                M::GET,
                "/api/v1/bids/{id}",
                &[&bid_id],
                Some(&org_token),
                None,
            ),
            (
                M::GET,
                "/api/v1/bids/{id}",
                &[&bid_id],
                Some(&d.bureau),
                None,
            ), // 404 before close
            (
                M::GET,
                "/api/v1/projects/{id}/bids",
                &[&pid],
                Some(&org_token),
                None,
            ),
        ],
    )
    .await;
    let close: chrono::DateTime<chrono::Utc> =
        open.body["bid_close_at"].as_str().unwrap().parse().unwrap();
    app.set_clock(close + Duration::seconds(1)).await;
    c.calls(
        &app,
        &[
            (
                M::POST,
                "/api/v1/admin/jobs/{name}/run",
                &["close_bidding"],
                Some(&admin),
                None,
            ),
            (M::GET, "/api/v1/projects/{id}/opening", &[&pid], None, None),
            (M::GET, "/api/v1/projects/{id}", &[&pid], None, None),
            (
                M::GET,
                "/api/v1/projects/{id}/panel",
                &[&pid],
                Some(&d.bureau),
                None,
            ),
            (
                M::GET,
                "/api/v1/projects/{id}/evaluation",
                &[&pid],
                Some(&d.bureau),
                None,
            ),
        ],
    )
    .await;

    // Experts, the calendar and the audit log.
    let expert = c
        .call(
            &app,
            M::POST,
            "/api/v1/experts",
            &[],
            Some(&admin),
            Some(json!({
            "email": "oa-expert@gongyi.test", "name": "专家", "password": crate::helpers::PASSWORD,
            "title": "教授", "specialties": ["elderly"]})),
        )
        .await
        .expect(201);
    let eid = expert.body["id"].as_str().unwrap().to_owned();
    c.calls(
        &app,
        &[
            (M::GET, "/api/v1/experts", &[], Some(&admin), None),
            (M::GET, "/api/v1/experts/{id}", &[&eid], Some(&admin), None),
            (
                M::GET,
                "/api/v1/calendar/working-days?from=2026-09-28&days=5",
                &[],
                None,
                None,
            ),
            (
                M::GET,
                "/api/v1/calendar/years/{year}",
                &["2026"],
                None,
                None,
            ),
            (M::GET, "/api/v1/audit?limit=10", &[], Some(&admin), None),
            (M::GET, "/api/v1/audit/verify", &[], Some(&admin), None),
            (M::GET, "/api/v1/audit/verify", &[], Some(&d.bureau), None), // 403
        ],
    )
    .await;

    for expected in [
        "GET /api/v1/me 401",
        "GET /api/v1/users 403",
        "GET /api/v1/users 422",
        "GET /api/v1/funds/{id} 404",
        "POST /api/v1/needs 422",
        "POST /api/v1/needs/{id}/accept 409",
        "PATCH /api/v1/projects/{id} 428",
        "POST /api/v1/projects/{id}/bids 201",
        "GET /api/v1/projects/{id}/opening 200",
    ] {
        assert!(c.checked.contains(expected), "{expected} was not exercised");
    }
}

#[tokio::test]
async fn contract_and_release_answers_match_the_published_schemas() {
    let app = crate::contracts::app().await;
    let mut c = Contract::of(&app).await;
    let deal = crate::contracts::contracted(&app, "100000.00", |_| {}).await;
    let (bureau, org, id) = (
        deal.d.bureau.clone(),
        deal.org_token.clone(),
        deal.contract.clone(),
    );
    use Method as M;
    c.calls(
        &app,
        &[
            (
                M::GET,
                "/api/v1/contracts?status=pending_signature",
                &[],
                Some(&bureau),
                None,
            ),
            (
                M::GET,
                "/api/v1/contracts?status=nope",
                &[],
                Some(&bureau),
                None,
            ),
            (M::GET, "/api/v1/contracts", &[], Some(&org), None),
            (M::GET, "/api/v1/contracts/{id}", &[&id], None, None),
            (
                M::GET,
                "/api/v1/contracts/{id}/document",
                &[&id],
                Some(&org),
                None,
            ),
            (
                M::POST,
                "/api/v1/contracts/{id}/sign",
                &[&id],
                Some(&org),
                None,
            ),
            (
                M::POST,
                "/api/v1/contracts/{id}/sign",
                &[&id],
                Some(&org),
                None,
            ),
            (
                M::POST,
                "/api/v1/contracts/{id}/sign",
                &[&id],
                Some(&bureau),
                None,
            ),
            (M::GET, "/api/v1/contracts/{id}", &[&id], None, None),
            (
                M::GET,
                "/api/v1/contracts/{id}/tranches",
                &[&id],
                Some(&bureau),
                None,
            ),
            (
                M::GET,
                "/api/v1/awards/{id}/notice",
                &[&deal.award],
                None,
                None,
            ),
            (
                M::GET,
                "/api/v1/funds/{id}/reconcile",
                &[&deal.d.fund],
                Some(&bureau),
                None,
            ),
        ],
    )
    .await;
    let t = deal.read(&app).await["tranches"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = deal.read(&app).await["version"].as_i64().unwrap();
    c.calls(
        &app,
        &[
            (
                M::POST,
                "/api/v1/tranches/{id}/release",
                &[&t],
                Some(&bureau),
                Some(json!({"payment_reference": ""})),
            ),
            (
                M::POST,
                "/api/v1/tranches/{id}/release",
                &[&t],
                Some(&bureau),
                Some(json!({"payment_reference": "GK-1"})),
            ),
            (
                M::POST,
                "/api/v1/tranches/{id}/release",
                &[&t],
                Some(&bureau),
                Some(json!({"payment_reference": "GK-2"})),
            ),
            (
                M::POST,
                "/api/v1/contracts/{id}/amendments",
                &[&id],
                Some(&bureau),
                Some(json!({"amount": "101000.00", "reason": "增加"})),
            ),
            (
                M::POST,
                "/api/v1/contracts/{id}/terminate",
                &[&id],
                Some(&bureau),
                Some(json!({"reason": "终止"})),
            ),
            (
                M::POST,
                "/api/v1/contracts/{id}/terminate",
                &[&id],
                Some(&bureau),
                Some(json!({"reason": "再次"})),
            ),
        ],
    )
    .await;
    // The reports over that district: a contract, a release, a single-bidder round.
    let other = format!(
        "/api/v1/reports/spending?district_id={}",
        deal.d.regions.other_district
    );
    c.calls(
        &app,
        &[
            (
                M::GET,
                "/api/v1/reports/spending?fiscal_year=2026&group_by=source",
                &[],
                Some(&bureau),
                None,
            ),
            (
                M::GET,
                "/api/v1/reports/spending?group_by=nope",
                &[],
                Some(&bureau),
                None,
            ),
            (M::GET, &other, &[], Some(&bureau), None),
            (M::GET, "/api/v1/reports/needs", &[], Some(&bureau), None),
            (
                M::GET,
                "/api/v1/reports/red-flags",
                &[],
                Some(&bureau),
                None,
            ),
        ],
    )
    .await;
    // The version read before the release and the termination is stale now.
    let r = deal
        .amend(
            &app,
            Some(&format!("\"{v}\"")),
            json!({"amount": "101000.00", "reason": "增加"}),
        )
        .await;
    r.problem(412, "version_mismatch");
    for expected in [
        "GET /api/v1/contracts 422",
        "GET /api/v1/contracts/{id} 404",
        "GET /api/v1/contracts/{id} 200",
        "GET /api/v1/contracts/{id}/document 200",
        "POST /api/v1/contracts/{id}/sign 409",
        "POST /api/v1/tranches/{id}/release 200",
        "POST /api/v1/tranches/{id}/release 409",
        "POST /api/v1/tranches/{id}/release 422",
        "POST /api/v1/contracts/{id}/amendments 428",
        "POST /api/v1/contracts/{id}/terminate 409",
        "GET /api/v1/awards/{id}/notice 200",
        "GET /api/v1/funds/{id}/reconcile 200",
        "GET /api/v1/reports/spending 200",
        "GET /api/v1/reports/spending 404",
        "GET /api/v1/reports/spending 422",
        "GET /api/v1/reports/needs 200",
        "GET /api/v1/reports/red-flags 200",
    ] {
        assert!(c.checked.contains(expected), "{expected} was not exercised");
    }
}
