//! The OpenAPI 3.1 document of every route, served at `/api/v1/openapi.json` and printed by
//! `gongyi openapi`. A test checks it lists every route in the route table.

use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
        crate::evaluation::routes::redraw_panel,
        crate::awards::routes::award_project,
        crate::awards::routes::get_award,
        crate::awards::routes::file_objection,
        crate::awards::routes::resolve_objection,
        crate::calendar::routes::get_year,
        crate::calendar::routes::put_year,
        crate::calendar::routes::working_days,
        crate::audit::routes::list_events,
        crate::audit::routes::verify_chain,
        crate::admin::routes::set_clock,
        crate::admin::routes::run_job,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth),
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

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

pub fn register(r: &mut Router) {
    r.get("/api/v1/openapi.json", Access::Public, openapi_json);
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", responses((status = 200, description = "this document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}
