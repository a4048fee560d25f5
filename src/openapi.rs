//! The OpenAPI 3.1 document of every route, served at `/api/v1/openapi.json` and printed by
//! `gongyi openapi`. Handlers describe what they answer; [`Contract`] adds what every route
//! shares (security from the route table's access policy, and the problem responses the
//! extractors, the access check and the database can give), so no route can forget them.
//! The API tests check the document against the running server.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{AdditionalProperties, ArrayItems, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::auth::Access;
use crate::http::routes::Router;

#[derive(OpenApi)]
#[openapi(
    info(title = "gongyi", description = "Government purchase of community services and public-benefit venture philanthropy (政府购买服务 / 公益创投). Errors are application/problem+json with a stable `code`; money is a string with two decimals; lists are keyset-paginated `{items, next_cursor}`."),
    paths(
        crate::health::routes::healthz,
        crate::health::routes::readyz,
        openapi_json,
        crate::docs::docs_page,
        crate::auth::routes::login,
        crate::auth::routes::refresh,
        crate::auth::routes::logout,
        crate::users::routes::create_user,
        crate::users::routes::list_users,
        crate::users::routes::get_user,
        crate::users::routes::update_user,
        crate::users::routes::me,
        crate::regions::routes::create_region,
        crate::regions::routes::list_regions,
        crate::needs::routes::create_need,
        crate::needs::routes::list_needs,
        crate::needs::routes::get_need,
        crate::needs::routes::support_need,
        crate::needs::routes::forward_need,
        crate::needs::routes::return_need,
        crate::needs::routes::resubmit_need,
        crate::needs::routes::accept_need,
        crate::needs::routes::reject_need,
        crate::needs::routes::merge_need,
        crate::funds::routes::create_fund,
        crate::funds::routes::list_funds,
        crate::funds::routes::get_fund,
        crate::funds::routes::fund_ledger,
        crate::funds::routes::reconcile_fund,
        crate::projects::routes::create_project,
        crate::projects::routes::list_projects,
        crate::projects::routes::get_project,
        crate::projects::routes::update_project,
        crate::projects::routes::publish_project,
        crate::projects::routes::cancel_project,
        crate::projects::routes::list_amendments,
        crate::projects::routes::republish_project,
        crate::orgs::routes::register_organization,
        crate::orgs::routes::list_organizations,
        crate::orgs::routes::get_organization,
        crate::orgs::routes::verify_organization,
        crate::orgs::routes::reject_organization,
        crate::orgs::routes::suspend_organization,
        crate::bids::routes::create_bid,
        crate::bids::routes::list_bids,
        crate::bids::routes::opening,
        crate::bids::routes::get_bid,
        crate::bids::routes::my_bids,
        crate::bids::routes::replace_bid,
        crate::bids::routes::withdraw_bid,
        crate::experts::routes::create_expert,
        crate::experts::routes::list_experts,
        crate::experts::routes::get_expert,
        crate::experts::routes::add_relationship,
        crate::evaluation::routes::get_panel,
        crate::evaluation::routes::get_evaluation,
        crate::evaluation::routes::my_assignments,
        crate::evaluation::routes::accept_assignment,
        crate::evaluation::routes::decline_assignment,
        crate::evaluation::routes::score_bid,
        crate::evaluation::routes::save_bid_draft,
        crate::evaluation::routes::bid_draft,
        crate::evaluation::routes::redraw_panel,
        crate::awards::routes::award_project,
        crate::awards::routes::get_award,
        crate::awards::routes::award_notice,
        crate::awards::routes::file_objection,
        crate::awards::routes::list_objections,
        crate::awards::routes::resolve_objection,
        crate::contracts::routes::list_contracts,
        crate::contracts::routes::get_contract,
        crate::contracts::routes::sign_contract,
        crate::contracts::routes::amend_contract,
        crate::contracts::routes::terminate_contract,
        crate::contracts::routes::list_tranches,
        crate::contracts::routes::contract_document,
        crate::contracts::routes::release_tranche,
        crate::reviews::routes::list_reviews,
        crate::reviews::routes::get_review,
        crate::reviews::routes::report_review,
        crate::reviews::routes::redraw_review_panel,
        crate::reviews::routes::score_review,
        crate::reviews::routes::save_review_draft,
        crate::reviews::routes::review_draft,
        crate::reviews::routes::record_survey,
        crate::reviews::routes::list_surveys,
        crate::open_data::routes::list_releases,
        crate::open_data::routes::get_record,
        crate::reports::routes::spending_report,
        crate::reports::routes::needs_report,
        crate::reports::routes::red_flags_report,
        crate::reports::routes::late_payments_report,
        crate::calendar::routes::get_year,
        crate::calendar::routes::put_year,
        crate::calendar::routes::working_days,
        crate::audit::routes::list_events,
        crate::audit::routes::verify_chain,
        crate::admin::routes::set_clock,
        crate::admin::routes::run_job,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth, &Contract),
    tags(
        (name = "service", description = "health and the API description"),
        (name = "auth", description = "sign-in, token refresh and logout"),
        (name = "users", description = "accounts (admin) and /me"),
        (name = "regions", description = "district → street → community"),
        (name = "needs", description = "community needs and the guide list"),
        (name = "funds", description = "funds and their insert-only ledger"),
        (name = "projects", description = "service projects: draft, publish, amend, cancel"),
        (name = "organizations", description = "social organizations: registration and verification"),
        (name = "bids", description = "sealed bids, receipts and the opening"),
        (name = "experts", description = "the expert pool and declared relationships"),
        (name = "evaluation", description = "panel draw, assignments, blind scoring and ranking"),
        (name = "awards", description = "award notices, objections and finalisation"),
        (name = "contracts", description = "contracts, signing, amendments, termination and staged fund releases"),
        (name = "reviews", description = "mid-term and completion reviews, rubric scoring and resident satisfaction"),
        (name = "open data", description = "OCDS 1.1 releases and records: what was bought, from whom, for how much, and what was paid"),
        (name = "reports", description = "spending from the funds' ledgers, the needs funnel, red flags of closed rounds"),
        (name = "calendar", description = "working days (holidays and make-up days as data)"),
        (name = "audit", description = "the hash-chained audit log"),
        (name = "admin", description = "sandbox clock and jobs"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The media type of every error body.
pub const PROBLEM: &str = "application/problem+json";

/// What every route shares, added to each operation from the route table.
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            open_flattened(&mut components.schemas);
        }
        let table = crate::app::route_table();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("PUT", &mut item.put),
                ("PATCH", &mut item.patch),
                ("DELETE", &mut item.delete),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                let access = table
                    .iter()
                    .find(|r| r.path == *path && r.method.as_str() == method)
                    .map_or(Access::Public, |r| r.access);
                describe(op, method, access);
            }
        }
    }
}

/// A request type that refuses unknown fields (`additionalProperties: false`) flattened into a
/// response (a project is its spec and more) would refuse the response's own fields: inside an
/// `allOf` it is inlined without that bound.
fn open_flattened(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let closed: BTreeMap<String, Schema> = schemas
        .iter()
        .filter_map(|(name, s)| match s {
            RefOr::T(Schema::Object(o))
                if matches!(
                    o.additional_properties.as_deref(),
                    Some(AdditionalProperties::FreeForm(false))
                ) =>
            {
                let mut open = o.clone();
                open.additional_properties = None;
                Some((format!("#/components/schemas/{name}"), Schema::Object(open)))
            }
            _ => None,
        })
        .collect();
    for schema in schemas.values_mut() {
        open_all_of(schema, &closed);
    }
}

fn open_all_of(schema: &mut RefOr<Schema>, closed: &BTreeMap<String, Schema>) {
    match schema {
        RefOr::T(Schema::AllOf(all)) => {
            for item in all.items.iter_mut() {
                if let RefOr::Ref(r) = item {
                    if let Some(open) = closed.get(&r.ref_location) {
                        *item = RefOr::T(open.clone());
                    }
                }
            }
        }
        RefOr::T(Schema::Object(o)) => {
            for p in o.properties.values_mut() {
                open_all_of(p, closed);
            }
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                open_all_of(items, closed);
            }
        }
        _ => {}
    }
}

/// Sets `op`'s security from `access` and describes the problems it can answer.
fn describe(op: &mut Operation, method: &str, access: Access) {
    // A public route still reads a token that is sent (and refuses an invalid one).
    op.security = Some(match access {
        Access::Public => vec![SecurityRequirement::default(), bearer()],
        Access::SignedIn | Access::Roles(_) => vec![bearer()],
    });
    let params = op.parameters.iter().flatten().filter_map(|p| match p {
        RefOr::T(p) => Some(p),
        RefOr::Ref(_) => None,
    });
    let (mut in_path, mut in_query, mut if_match) = (false, false, false);
    for p in params {
        match p.parameter_in {
            ParameterIn::Path => in_path = true,
            ParameterIn::Query => in_query = true,
            ParameterIn::Header if p.name.eq_ignore_ascii_case("if-match") => if_match = true,
            _ => {}
        }
    }
    let body = op.request_body.is_some();
    let writes = method != "GET";
    let shared: [(bool, u16, &str); 12] = [
        (body, 400, "`bad_json`: the body is not JSON"),
        (
            true,
            401,
            match access {
                Access::Public => "`invalid_token`: a token was sent and is not valid",
                _ => "`unauthenticated` (no token) or `invalid_token`",
            },
        ),
        (
            matches!(access, Access::Roles(_)),
            403,
            "`forbidden`: the role may not do this",
        ),
        (in_path, 404, "`not_found`"),
        (
            writes,
            409,
            "`invalid_state` from the wrong status, `conflict` for a taken unique value, or `concurrent_update`",
        ),
        (if_match, 412, "`version_mismatch`: the resource changed since it was read"),
        (body, 413, "`payload_too_large`"),
        (body, 415, "`unsupported_media_type`: a body that is sent must be JSON"),
        (
            body || in_query || in_path,
            422,
            "`validation_failed`, naming each field in `errors`",
        ),
        (if_match, 428, "`precondition_required`: send `If-Match` with the version read"),
        (false, 429, "`rate_limited`"),
        (
            true,
            503,
            "`database_unavailable`: the database is not reachable; retry after `Retry-After` seconds",
        ),
    ];
    for (applies, status, description) in shared {
        let key = status.to_string();
        if applies && !op.responses.responses.contains_key(&key) {
            op.responses
                .responses
                .insert(key, RefOr::T(Response::new(description)));
        }
    }
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            finish(status, response);
        }
    }
}

fn bearer() -> SecurityRequirement {
    SecurityRequirement::new("bearer", Vec::<String>::new())
}

/// Every answer carries `x-request-id`; an error's body is a problem, and 429 and 503 say when
/// to come back.
fn finish(status: &str, response: &mut Response) {
    response.headers.insert(
        crate::http::request_id::HEADER.to_owned(),
        RefOr::T(required_header(
            Type::String,
            "the request's id, also a problem's `request_id`",
        )),
    );
    let code: u16 = status.parse().unwrap_or(0);
    if response.description.is_empty() {
        // Required by OpenAPI; the handler's annotation gave only a body.
        response.description = actix_web::http::StatusCode::from_u16(code)
            .ok()
            .and_then(|c| c.canonical_reason())
            .unwrap_or("answer")
            .to_owned();
    }
    if code < 400 {
        return;
    }
    response.content.clear();
    response.content.insert(
        PROBLEM.to_owned(),
        RefOr::T(
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        ),
    );
    if code == 429 || code == 503 {
        response.headers.insert(
            "retry-after".to_owned(),
            RefOr::T(required_header(Type::Integer, "seconds to wait")),
        );
    }
}

fn required_header(kind: Type, description: &str) -> Header {
    let integer = kind == Type::Integer;
    let mut schema = ObjectBuilder::new().schema_type(kind);
    if integer {
        schema = schema.minimum(Some(1));
    }
    // utoipa's `Header` has no `required` field; the extensions map is written as-is.
    let mut required = Extensions::default();
    required.insert("required".to_owned(), serde_json::Value::Bool(true));
    HeaderBuilder::new()
        .schema(Some(schema))
        .description(Some(description))
        .extensions(Some(required))
        .build()
}

/// Text as `validate::text` takes it: at most `max` characters, at least one that is not a
/// space, no control characters but newline and tab.
fn text(max: usize) -> Schema {
    const NO_CONTROL: &str = r"[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*";
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max))
        .pattern(Some(format!(r"^{NO_CONTROL}\S{NO_CONTROL}$")))
        .into()
}

/// For `#[schema(schema_with = …)]`: a name of 1–100 characters.
pub fn text_100() -> Schema {
    text(100)
}

/// For `#[schema(schema_with = …)]`: a title of 1–200 characters.
pub fn text_200() -> Schema {
    text(200)
}

/// For `#[schema(schema_with = …)]`: a reason of 1–1000 characters.
pub fn text_1000() -> Schema {
    text(1000)
}

/// For `#[schema(schema_with = …)]`: a description of 1–4000 characters.
pub fn text_4000() -> Schema {
    text(4000)
}

/// For `#[schema(schema_with = …)]`: a plan of 1–20000 characters.
pub fn text_20000() -> Schema {
    text(20_000)
}

/// For `#[schema(schema_with = …)]`: a new password (`auth::passwords::check_policy`).
pub fn password() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(crate::auth::passwords::MIN_LEN))
        .max_length(Some(crate::auth::passwords::MAX_LEN))
        .into()
}

/// For `#[schema(schema_with = …)]`: an email address as `validate::email` takes it.
pub fn email() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(254))
        .pattern(Some(
            r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f.][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s\u0000-\u001f\u007f-\u009f.]$",
        ))
        .into()
}

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

pub fn register(r: &mut Router) {
    r.get("/api/v1/openapi.json", Access::Public, openapi_json);
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", responses((status = 200, body = Object, description = "this document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
