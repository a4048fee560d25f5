//! HTTP for the open data: the OCDS release feed and records, public.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::feed::{self, Publisher};
use crate::auth::Access;
use crate::error::{AppError, Problem};
use crate::http::pagination::{decode_cursor, encode_cursor};
use crate::http::routes::Router;
use crate::http::Query;
use crate::state::State;

pub fn register(r: &mut Router) {
    r.get("/api/v1/ocds/releases", Access::Public, list_releases)
        .get("/api/v1/ocds/records/{ocid}", Access::Public, get_record);
}

/// What both OCDS packages carry besides their releases or records, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct OcdsPackageHead {
    /// This answer's URL.
    uri: String,
    /// "1.1".
    version: String,
    #[schema(format = DateTime)]
    published_date: String,
    /// `{name, scheme?, uid?}` from `open_data`.
    publisher: serde_json::Value,
    license: String,
    publication_policy: String,
}

/// The shape of a page of the feed (an OCDS 1.1 release package), for the OpenAPI document;
/// each release follows the OCDS release schema.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OcdsReleasePackage {
    #[serde(flatten)]
    head: OcdsPackageHead,
    /// OCDS releases, oldest first.
    releases: Vec<serde_json::Value>,
    /// `{next}`: the URL of the next page, while more releases follow.
    links: Option<serde_json::Value>,
}

/// An OCDS 1.1 record package of one record, for the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OcdsRecordPackage {
    #[serde(flatten)]
    head: OcdsPackageHead,
    /// `[{ocid, releases, compiledRelease}]`.
    records: Vec<serde_json::Value>,
}

/// Releases in a page by default, and at most.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// The publisher of this request's package: the configured base URL, or this request's scheme
/// and host; the time on the clock.
fn publisher(state: &State, req: &HttpRequest) -> Publisher {
    let configured = state.settings.open_data.base_url.trim_end_matches('/');
    let base = if configured.is_empty() {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    } else {
        configured.to_owned()
    };
    Publisher {
        settings: state.settings.open_data.clone(),
        base,
        now: state.clock.now_naive(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReleasesQuery {
    /// Only releases dated at or after this instant (RFC 3339), e.g. the last harvest.
    pub since: Option<DateTime<Utc>>,
    /// `links.next` of the previous page carries it.
    pub cursor: Option<String>,
    /// Releases per page, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// The OCDS release feed: one release per public state change, in the order they happened.
#[utoipa::path(get, path = "/api/v1/ocds/releases", tag = "open data", params(ReleasesQuery),
    responses((status = 200, content_type = "application/json", body = OcdsReleasePackage,
        description = "an OCDS 1.1 release package; `links.next` while more releases follow"),
        (status = 422, body = Problem)))]
pub async fn list_releases(
    state: State,
    req: HttpRequest,
    query: Query<ReleasesQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.0;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::field(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        ));
    }
    let after: i64 = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => decode_cursor(c)?,
        None => 0,
    };
    let since = q.since.map(|s| s.naive_utc());
    let p = publisher(&state, &req);
    let path = format!("{}/api/v1/ocds/releases", p.base);
    let uri = match req.query_string() {
        "" => path.clone(),
        qs => format!("{path}?{qs}"),
    };
    let since_param = q.since.map(|s| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "since",
                &s.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            )
            .finish()
    });
    let next = move |seq: i64| {
        let mut u = format!("{path}?cursor={}&limit={limit}", encode_cursor(&seq));
        if let Some(s) = &since_param {
            u.push('&');
            u.push_str(s);
        }
        u
    };
    let body = state
        .db
        .read(move |c| feed::release_package(c, &p, since, after, limit, next, &uri))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body))
}

/// An OCDS record: every release of the ocid and their compiled release.
#[utoipa::path(get, path = "/api/v1/ocds/records/{ocid}", tag = "open data",
    params(("ocid" = String, Path, description = "`{open_data.ocid_prefix}-{project_id}`")),
    responses((status = 200, content_type = "application/json", body = OcdsRecordPackage,
        description = "an OCDS 1.1 record package with one record"),
        (status = 404, body = Problem, description = "no release of this ocid")))]
pub async fn get_record(
    state: State,
    req: HttpRequest,
    ocid: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ocid = ocid.into_inner();
    let p = publisher(&state, &req);
    let uri = format!("{}/api/v1/ocds/records/{ocid}", p.base);
    let package = state
        .db
        .read(move |c| feed::record_package(c, &p, &ocid, &uri))
        .await?
        .ok_or_else(|| AppError::not_found("record"))?;
    Ok(HttpResponse::Ok().json(package))
}
