//! `GET /api/v1/docs`: this API's OpenAPI document rendered to one HTML page by the binary
//! itself, with no script, font or style from anywhere else (it works with no network): every
//! route grouped by tag, who may call it (from the route table), its parameters, an example
//! request body and an example answer made from the schemas, and every answer it can give with
//! its error codes.

use std::sync::OnceLock;

use actix_web::http::header::{CacheControl, CacheDirective, ContentType};
use actix_web::HttpResponse;
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::{json, Map, Value};
use utoipa::OpenApi;

use crate::auth::Access;
use crate::http::routes::Router;

pub fn register(r: &mut Router) {
    r.get("/api/v1/docs", Access::Public, docs_page);
}

/// The API reference as a page.
#[utoipa::path(get, path = "/api/v1/docs", tag = "service",
    responses((status = 200, content_type = "text/html", body = String, description = "this API's OpenAPI document as an HTML page, served by the binary (no CDN, no script)")))]
pub async fn docs_page() -> HttpResponse {
    static PAGE: OnceLock<String> = OnceLock::new();
    let page = PAGE.get_or_init(|| render(&document()).into_string());
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(300),
        ]))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(page.clone())
}

fn document() -> Value {
    serde_json::to_value(crate::openapi::ApiDoc::openapi()).unwrap_or(Value::Null)
}

const STYLE: &str = r#"
body { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; margin: 0; color: #1b1b1b; line-height: 1.5; }
header { background: #16324f; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; max-width: 70em; }
header a { color: #cfe3ff; }
.layout { display: flex; align-items: flex-start; }
nav { position: sticky; top: 0; width: 15em; flex: none; padding: 12px 16px; max-height: 100vh; overflow: auto; border-right: 1px solid #ddd; font-size: 14px; }
nav ul { list-style: none; padding: 0; margin: 0; }
nav li { margin: 3px 0; }
main { flex: 1; padding: 8px 24px 48px; min-width: 0; }
h2 { border-bottom: 2px solid #16324f; padding-bottom: 2px; margin-top: 28px; }
.op { border: 1px solid #ccd; border-radius: 6px; margin: 14px 0; padding: 8px 14px; }
.op h3 { margin: 4px 0; font-size: 16px; font-weight: 600; }
.method { display: inline-block; min-width: 4.2em; text-align: center; border-radius: 4px; color: #fff; font-size: 13px; padding: 1px 6px; margin-right: 6px; }
.GET { background: #1f6feb; } .POST { background: #1a7f37; } .PUT { background: #9a6700; } .PATCH { background: #8250df; } .DELETE { background: #cf222e; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 13px; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; max-height: 24em; border-radius: 4px; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; font-size: 14px; }
.who { color: #444; }
details summary { cursor: pointer; color: #16324f; }
"#;

/// Who may call a route, in words.
fn who(access: Access) -> String {
    match access {
        Access::Public => "anyone (a token, when sent, is checked)".into(),
        Access::SignedIn => "any signed-in user".into(),
        Access::Roles(roles) => roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

struct Op<'a> {
    method: &'static str,
    path: &'a str,
    op: &'a Value,
}

fn render(doc: &Value) -> Markup {
    let table = crate::app::route_table();
    let schemas = &doc["components"]["schemas"];
    let mut by_tag: Vec<(String, String, Vec<Op<'_>>)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or_default().to_owned(),
                t["description"].as_str().unwrap_or_default().to_owned(),
                Vec::new(),
            )
        })
        .collect();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
                let i = match by_tag.iter().position(|(t, _, _)| *t == tag) {
                    Some(i) => i,
                    None => {
                        by_tag.push((tag, String::new(), Vec::new()));
                        by_tag.len() - 1
                    }
                };
                by_tag[i].2.push(Op {
                    method: match method {
                        "get" => "GET",
                        "post" => "POST",
                        "put" => "PUT",
                        "patch" => "PATCH",
                        _ => "DELETE",
                    },
                    path,
                    op,
                });
            }
        }
    }
    by_tag.retain(|(_, _, ops)| !ops.is_empty());
    let count: usize = by_tag.iter().map(|(_, _, ops)| ops.len()).sum();
    let info = &doc["info"];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "gongyi API reference" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (info["title"].as_str().unwrap_or("gongyi")) " API " (info["version"].as_str().unwrap_or("")) }
                    p { (info["description"].as_str().unwrap_or("")) }
                    p { (count) " routes. The machine-readable document: " a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } " (OpenAPI " (doc["openapi"].as_str().unwrap_or("3.1")) ")." }
                }
                div class="layout" {
                    nav aria-label="tags" {
                        ul {
                            @for (tag, _, ops) in &by_tag {
                                li { a href={ "#tag-" (slug(tag)) } { (tag) } " (" (ops.len()) ")" }
                            }
                        }
                    }
                    main {
                        @for (tag, description, ops) in &by_tag {
                            section id={ "tag-" (slug(tag)) } {
                                h2 { (tag) }
                                @if !description.is_empty() { p { (description) } }
                                @for o in ops {
                                    (operation(o, &table, schemas))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn operation(o: &Op<'_>, table: &[crate::http::routes::RouteInfo], schemas: &Value) -> Markup {
    let access = table
        .iter()
        .find(|r| r.path == o.path && r.method.as_str() == o.method)
        .map_or(Access::Public, |r| r.access);
    let op = o.op;
    let summary = op["summary"]
        .as_str()
        .or(op["description"].as_str())
        .unwrap_or("");
    let params: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().collect();
    let request = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .map(|c| example(&c["schema"], schemas, 0));
    let mut responses: Vec<(&String, &Value)> = op["responses"]
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    responses.sort_by(|a, b| a.0.cmp(b.0));
    let ok = responses
        .iter()
        .find(|(s, _)| s.starts_with('2'))
        .and_then(|(_, r)| r["content"].as_object())
        .and_then(|c| c.get("application/json"))
        .map(|c| example(&c["schema"], schemas, 0));
    html! {
        section class="op" id={ "op-" (o.method) (slug(o.path)) } {
            h3 { span class={ "method " (o.method) } { (o.method) } code { (o.path) } }
            @if !summary.is_empty() { p { (summary) } }
            p class="who" { strong { "Who: " } (who(access)) }
            @if !params.is_empty() {
                table {
                    thead { tr { th { "parameter" } th { "in" } th { "required" } th { "type" } th { "description" } } }
                    tbody {
                        @for p in &params {
                            tr {
                                td { code { (p["name"].as_str().unwrap_or("")) } }
                                td { (p["in"].as_str().unwrap_or("")) }
                                td { @if p["required"] == true { "yes" } @else { "no" } }
                                td { (type_name(&p["schema"], schemas)) }
                                td { (p["description"].as_str().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
            @if let Some(body) = &request {
                details open {
                    summary { "Example request body" }
                    pre { (pretty(body)) }
                }
            }
            table {
                thead { tr { th { "status" } th { "meaning and error codes" } } }
                tbody {
                    @for (status, r) in &responses {
                        tr { td { (status) } td { (r["description"].as_str().unwrap_or("")) } }
                    }
                }
            }
            @if let Some(body) = &ok {
                details {
                    summary { "Example answer" }
                    pre { (pretty(body)) }
                }
            }
        }
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn resolve<'a>(schema: &'a Value, schemas: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().unwrap_or_default();
            &schemas[name]
        }
        None => schema,
    }
}

fn type_name(schema: &Value, schemas: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        return r.rsplit('/').next().unwrap_or_default().to_owned();
    }
    let s = resolve(schema, schemas);
    let t = match &s["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => String::new(),
    };
    match s["format"].as_str() {
        Some(f) => format!("{t} ({f})"),
        None if s["enum"].is_array() => format!(
            "{t}: {}",
            s["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => t,
    }
}

/// An example value of `schema`: its own example when it has one, else one made from its type.
fn example(schema: &Value, schemas: &Value, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    let s = resolve(schema, schemas);
    if let Some(e) = s.get("example") {
        return e.clone();
    }
    if let Some(e) = s["examples"].as_array().and_then(|e| e.first()) {
        return e.clone();
    }
    if let Some(e) = s["enum"]
        .as_array()
        .and_then(|e| e.iter().find(|v| !v.is_null()))
    {
        return e.clone();
    }
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(all) = s["allOf"].as_array() {
        let mut m = Map::new();
        for part in all {
            if let Value::Object(o) = example(part, schemas, depth + 1) {
                m.extend(o);
            }
        }
        return Value::Object(m);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = s[key]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["type"] != "null").or_else(|| v.first()))
        {
            return example(first, schemas, depth + 1);
        }
    }
    let t = match &s["type"] {
        Value::String(t) => t.as_str(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if s["properties"].is_object() => "object",
        _ => "",
    };
    match t {
        "object" => {
            let mut m = Map::new();
            if let Some(props) = s["properties"].as_object() {
                for (k, p) in props {
                    m.insert(k.clone(), example(p, schemas, depth + 1));
                }
            }
            Value::Object(m)
        }
        "array" => json!([example(&s["items"], schemas, depth + 1)]),
        "string" => match s["format"].as_str() {
            Some("date-time") => "2026-12-01T08:00:00Z".into(),
            Some("date") => "2026-12-01".into(),
            Some("uuid") => "01939a8e-6a1f-7c2e-9b4d-3f2a1c0d5e6f".into(),
            Some("email") => "clerk@example.cn".into(),
            Some("uri") => "https://example.cn/".into(),
            _ => match s["pattern"].as_str() {
                Some(p) if p.contains("\\.") || p.contains("[0-9]{2}") => "100000.00".into(),
                _ => "string".into(),
            },
        },
        "integer" => s["minimum"].as_i64().unwrap_or(1).into(),
        "number" => s["minimum"].as_f64().unwrap_or(1.0).into(),
        "boolean" => false.into(),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_route_of_the_route_table_with_who_may_call_it() {
        let page = render(&document()).into_string();
        for r in crate::app::route_table() {
            let id = format!("id=\"op-{}{}\"", r.method.as_str(), slug(&r.path));
            assert!(
                page.contains(&id),
                "{} {} is not on the page",
                r.method,
                r.path
            );
        }
        assert!(page.contains("Who: "));
        assert!(!page.contains("<script"), "the page needs no script");
        assert!(
            !page.contains("src=\"http") && !page.contains("href=\"http"),
            "nothing from elsewhere"
        );
    }

    #[test]
    fn an_example_body_fills_every_property_from_the_schema() {
        let schemas = json!({"Money": {"type": "string", "example": "100.00"},
                             "Spec": {"type": "object", "properties": {"title": {"type": "string"},
                                      "budget": {"$ref": "#/components/schemas/Money"},
                                      "at": {"type": ["string", "null"], "format": "date-time"},
                                      "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}}}});
        let e = example(&json!({"$ref": "#/components/schemas/Spec"}), &schemas, 0);
        assert_eq!(
            e,
            json!({"title": "string", "budget": "100.00", "at": "2026-12-01T08:00:00Z", "tags": ["a"]})
        );
    }
}
