//! The OpenAPI document lists every registered route.

use crate::helpers::spawn_app;

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
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed, doc.body);
}
