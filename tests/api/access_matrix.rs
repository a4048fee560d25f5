//! Every route called by every role: the allowed set must be exactly what this table says,
//! and the table must list every route the app registers.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::Method;
use serde_json::json;

use crate::helpers::spawn_app;

const ROLES: [&str; 7] = [
    "anonymous",
    "admin",
    "bureau",
    "street",
    "community",
    "org",
    "expert",
];
const SIGNED_IN: &[&str] = &["admin", "bureau", "street", "community", "org", "expert"];
const EVERYONE: &[&str] = &[
    "anonymous",
    "admin",
    "bureau",
    "street",
    "community",
    "org",
    "expert",
];

/// Who may call each route. Written by hand from API.md, not derived from the code.
fn expected() -> BTreeMap<(String, String), BTreeSet<&'static str>> {
    let rows: Vec<(&str, &str, &[&str])> = vec![
        ("GET", "/healthz", EVERYONE),
        ("GET", "/readyz", EVERYONE),
        ("GET", "/api/v1/openapi.json", EVERYONE),
        ("GET", "/api/v1/docs", EVERYONE),
        ("GET", "/api/v1/ocds/releases", EVERYONE),
        ("GET", "/api/v1/ocds/records/{ocid}", EVERYONE),
        ("POST", "/api/v1/auth/login", EVERYONE),
        ("POST", "/api/v1/auth/refresh", EVERYONE),
        ("POST", "/api/v1/auth/logout", SIGNED_IN),
        ("GET", "/api/v1/me", SIGNED_IN),
        ("POST", "/api/v1/users", &["admin"]),
        ("GET", "/api/v1/users", &["admin"]),
        ("GET", "/api/v1/users/{id}", &["admin"]),
        ("PATCH", "/api/v1/users/{id}", &["admin"]),
        ("POST", "/api/v1/regions", &["admin"]),
        ("GET", "/api/v1/regions", EVERYONE),
        ("GET", "/api/v1/audit", &["admin", "bureau"]),
        ("GET", "/api/v1/audit/verify", &["admin"]),
        ("POST", "/api/v1/admin/clock", &["admin"]),
        ("POST", "/api/v1/admin/jobs/{name}/run", &["admin"]),
        ("POST", "/api/v1/needs", &["community"]),
        (
            "GET",
            "/api/v1/needs",
            &["admin", "bureau", "street", "community"],
        ),
        (
            "GET",
            "/api/v1/needs/{id}",
            &["admin", "bureau", "street", "community"],
        ),
        ("POST", "/api/v1/needs/{id}/support", &["community"]),
        ("POST", "/api/v1/needs/{id}/forward", &["street"]),
        ("POST", "/api/v1/needs/{id}/return", &["street"]),
        ("POST", "/api/v1/needs/{id}/resubmit", &["community"]),
        ("POST", "/api/v1/needs/{id}/accept", &["bureau"]),
        ("POST", "/api/v1/needs/{id}/reject", &["bureau"]),
        ("POST", "/api/v1/needs/{id}/merge", &["bureau"]),
        ("POST", "/api/v1/funds", &["admin", "bureau"]),
        ("GET", "/api/v1/funds", &["admin", "bureau"]),
        ("GET", "/api/v1/funds/{id}", &["admin", "bureau"]),
        ("GET", "/api/v1/funds/{id}/ledger", &["admin", "bureau"]),
        ("POST", "/api/v1/projects", &["bureau"]),
        ("GET", "/api/v1/projects", EVERYONE),
        ("GET", "/api/v1/projects/{id}", EVERYONE),
        ("PATCH", "/api/v1/projects/{id}", &["bureau"]),
        ("POST", "/api/v1/projects/{id}/publish", &["bureau"]),
        ("POST", "/api/v1/projects/{id}/cancel", &["bureau"]),
        ("GET", "/api/v1/projects/{id}/amendments", EVERYONE),
        ("GET", "/api/v1/calendar/years/{year}", EVERYONE),
        ("PUT", "/api/v1/calendar/years/{year}", &["admin"]),
        ("GET", "/api/v1/calendar/working-days", EVERYONE),
        ("POST", "/api/v1/projects/{id}/republish", &["bureau"]),
        ("POST", "/api/v1/organizations/register", EVERYONE),
        ("GET", "/api/v1/organizations", EVERYONE),
        ("GET", "/api/v1/organizations/{id}", EVERYONE),
        ("POST", "/api/v1/organizations/{id}/verify", &["bureau"]),
        ("POST", "/api/v1/organizations/{id}/reject", &["bureau"]),
        ("POST", "/api/v1/organizations/{id}/suspend", &["bureau"]),
        ("POST", "/api/v1/projects/{id}/bids", &["org"]),
        ("GET", "/api/v1/projects/{id}/bids", SIGNED_IN),
        ("GET", "/api/v1/projects/{id}/opening", EVERYONE),
        ("GET", "/api/v1/bids/{id}", SIGNED_IN),
        ("GET", "/api/v1/me/bids", &["org"]),
        ("PUT", "/api/v1/bids/{id}", &["org"]),
        ("POST", "/api/v1/bids/{id}/withdraw", &["org"]),
        ("POST", "/api/v1/experts", &["admin"]),
        ("GET", "/api/v1/experts", &["admin", "bureau"]),
        ("GET", "/api/v1/experts/{id}", &["admin", "bureau"]),
        (
            "POST",
            "/api/v1/experts/{id}/relationships",
            &["admin", "expert"],
        ),
        ("GET", "/api/v1/projects/{id}/panel", EVERYONE),
        ("GET", "/api/v1/projects/{id}/evaluation", EVERYONE),
        ("POST", "/api/v1/projects/{id}/award", &["bureau"]),
        ("GET", "/api/v1/awards/{id}", EVERYONE),
        ("POST", "/api/v1/awards/{id}/objections", &["org"]),
        ("POST", "/api/v1/objections/{id}/resolve", &["bureau"]),
        ("GET", "/api/v1/objections", &["admin", "bureau", "org"]),
        ("GET", "/api/v1/contracts", &["admin", "bureau", "org"]),
        ("GET", "/api/v1/contracts/{id}", EVERYONE),
        ("POST", "/api/v1/contracts/{id}/sign", &["bureau", "org"]),
        ("POST", "/api/v1/contracts/{id}/amendments", &["bureau"]),
        ("POST", "/api/v1/contracts/{id}/terminate", &["bureau"]),
        ("GET", "/api/v1/contracts/{id}/tranches", EVERYONE),
        ("GET", "/api/v1/contracts/{id}/document", EVERYONE),
        ("GET", "/api/v1/awards/{id}/notice", EVERYONE),
        ("POST", "/api/v1/tranches/{id}/release", &["bureau"]),
        (
            "GET",
            "/api/v1/reviews",
            &["admin", "bureau", "org", "expert"],
        ),
        (
            "GET",
            "/api/v1/reviews/{id}",
            &["admin", "bureau", "org", "expert"],
        ),
        ("POST", "/api/v1/reviews/{id}/report", &["org"]),
        ("POST", "/api/v1/reviews/{id}/panel/redraw", &["bureau"]),
        ("PUT", "/api/v1/reviews/{id}/score", &["expert"]),
        ("PUT", "/api/v1/reviews/{id}/score/draft", &["expert"]),
        ("GET", "/api/v1/reviews/{id}/score/draft", &["expert"]),
        (
            "POST",
            "/api/v1/contracts/{id}/satisfaction",
            &["bureau", "community"],
        ),
        ("GET", "/api/v1/contracts/{id}/satisfaction", EVERYONE),
        ("GET", "/api/v1/funds/{id}/reconcile", &["admin", "bureau"]),
        ("GET", "/api/v1/reports/spending", &["admin", "bureau"]),
        ("GET", "/api/v1/reports/needs", &["admin", "bureau"]),
        ("GET", "/api/v1/reports/red-flags", &["admin", "bureau"]),
        ("GET", "/api/v1/reports/late-payments", &["admin", "bureau"]),
        ("GET", "/api/v1/me/assignments", &["expert"]),
        ("POST", "/api/v1/assignments/{id}/accept", &["expert"]),
        ("POST", "/api/v1/assignments/{id}/decline", &["expert"]),
        ("PUT", "/api/v1/bids/{id}/score", &["expert"]),
        ("PUT", "/api/v1/bids/{id}/score/draft", &["expert"]),
        ("GET", "/api/v1/bids/{id}/score/draft", &["expert"]),
        ("POST", "/api/v1/projects/{id}/panel/redraw", &["bureau"]),
    ];
    rows.into_iter()
        .map(|(m, p, roles)| {
            (
                (m.to_owned(), p.to_owned()),
                roles.iter().copied().collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_route_admits_exactly_its_roles() {
    let app = spawn_app().await;
    let r = app.regions().await;
    let mut tokens: BTreeMap<&str, Option<String>> = BTreeMap::new();
    tokens.insert("anonymous", None);
    tokens.insert("admin", Some(app.admin_token.clone()));
    tokens.insert(
        "bureau",
        Some(app.user("bureau", Some(&r.district)).await.2),
    );
    tokens.insert("street", Some(app.user("street", Some(&r.street)).await.2));
    tokens.insert(
        "community",
        Some(app.user("community", Some(&r.community)).await.2),
    );
    tokens.insert("org", Some(app.org_user().await.1));
    tokens.insert("expert", Some(app.user("expert", None).await.2));

    let expected = expected();
    let registered: BTreeSet<(String, String)> = gongyi::app::route_table()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path))
        .collect();
    let listed: BTreeSet<(String, String)> = expected.keys().cloned().collect();
    assert_eq!(
        registered, listed,
        "the matrix must list exactly the registered routes"
    );

    let mut mismatches = Vec::new();
    for ((method, path), allowed) in &expected {
        let concrete = path
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{name}", "send_mail")
            .replace("{year}", "2031");
        for role in ROLES {
            let token = tokens[role].as_deref();
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            // An empty object: enough to pass the access check; the handler may then refuse it.
            let body = (method != Method::GET).then(|| json!({}));
            let reply = app.send(method.clone(), &concrete, token, body).await;
            let status = reply.status.as_u16();
            assert_ne!(status, 500, "{method} {path} as {role}: {}", reply.body);
            let admitted = status != 401 && status != 403;
            let should = allowed.contains(role);
            if admitted != should {
                mismatches.push(format!(
                    "{method} {path} as {role}: {status} {}",
                    reply.body
                ));
            }
            if !should {
                let want = if role == "anonymous" { 401 } else { 403 };
                if status != want {
                    mismatches.push(format!(
                        "{method} {path} as {role}: expected {want}, got {status}"
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "access mismatches:\n{}",
        mismatches.join("\n")
    );
}

#[tokio::test]
async fn an_unregistered_route_is_a_problem_404_and_an_unlisted_method_405() {
    let app = spawn_app().await;
    app.get("/api/v1/secret-admin-panel", Some(&app.admin_token))
        .await
        .problem(404, "not_found");
    let r = app
        .send(
            Method::DELETE,
            "/api/v1/users",
            Some(&app.admin_token),
            None,
        )
        .await
        .problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("POST, GET"));
}
