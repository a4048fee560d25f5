//! The route table. Routes are registered only through [`Router::add`], which demands an
//! [`Access`] policy and wraps the route in the access check, so an undeclared route cannot
//! exist. The same table feeds the OpenAPI completeness test and the role × route matrix.

use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{ResourceDef, ServiceRequest};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{
    guard, web, FromRequest, Handler, HttpRequest, HttpResponse, Responder, ResponseError,
};

use crate::auth::middleware::authorize;
use crate::auth::Access;
use crate::error::AppError;

/// One registered route, as the table lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// The full path, with `{param}` placeholders as in OpenAPI.
    pub path: String,
    pub access: Access,
}

/// Hands a route's resource to actix at its path within its scope.
type Register = Box<dyn FnOnce(&mut web::ServiceConfig, &str)>;

/// An area's scope (`None`: a path served unscoped) and its routes, each at its path within.
type Area = (Option<String>, Vec<(String, Register)>);

#[derive(Default)]
pub struct Router {
    table: Vec<RouteInfo>,
    /// Each route's full path and its registration.
    services: Vec<(String, Register)>,
}

/// The scope a path is served in and the path within it: `/api/v1/tranches/{id}/release` is
/// `/{id}/release` of `/api/v1/tranches`, `/healthz` is `` of `/healthz`; `None` for a path
/// whose area is a parameter (served unscoped).
///
/// actix tries an app's resources one after another and matches each dynamic path by its
/// regex, so a route late in the table paid for every earlier pattern on every request (the
/// router was a tenth of the server's CPU in `scripts/bench-release postgres`). A scope's static
/// prefix is compared as text, so a request now tries its own area's few patterns. Two areas
/// never match the same path, so the order within an area is the whole order that matters.
fn scope_of(path: &str) -> Option<(&str, &str)> {
    let skip = if path.starts_with("/api/v1/") { 3 } else { 1 };
    let end = path
        .match_indices('/')
        .nth(skip)
        .map_or(path.len(), |(i, _)| i);
    let (scope, rest) = path.split_at(end);
    (!scope.contains('{') && scope.len() > 1).then_some((scope, rest))
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    /// Registers `handler` at `method path` behind `access`.
    pub fn add<F, Args>(
        &mut self,
        method: Method,
        path: &str,
        access: Access,
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args> + 'static,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.table.push(RouteInfo {
            method: method.clone(),
            path: path.to_owned(),
            access,
        });
        self.services.push((
            path.to_owned(),
            Box::new(move |cfg, at| {
                cfg.service(
                    web::resource(at)
                        .guard(guard::Method(method))
                        .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                            authorize(access, req, next)
                        }))
                        .route(web::route().to(handler)),
                );
            }),
        ));
        self
    }

    pub fn get<F, Args>(&mut self, path: &str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args> + 'static,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::GET, path, access, handler)
    }

    pub fn post<F, Args>(&mut self, path: &str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args> + 'static,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::POST, path, access, handler)
    }

    pub fn put<F, Args>(&mut self, path: &str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args> + 'static,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::PUT, path, access, handler)
    }

    pub fn patch<F, Args>(&mut self, path: &str, access: Access, handler: F) -> &mut Self
    where
        F: Handler<Args> + 'static,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add(Method::PATCH, path, access, handler)
    }

    pub fn table(&self) -> &[RouteInfo] {
        &self.table
    }

    /// The methods each path of the table answers, paths in the order first registered.
    pub fn allowed(&self) -> Vec<(String, Vec<Method>)> {
        let mut allowed: Vec<(String, Vec<Method>)> = Vec::new();
        for r in &self.table {
            match allowed.iter_mut().find(|(p, _)| *p == r.path) {
                Some((_, methods)) => methods.push(r.method.clone()),
                None => allowed.push((r.path.clone(), vec![r.method.clone()])),
            }
        }
        allowed
    }

    /// Hands every registered resource to actix, in one scope per area ([`scope_of`]), in the
    /// order registered; behind an area's resources, for each of its paths, a resource
    /// answering any other method 405 with an `Allow` taken from the table (RFC 9110 § 15.5.6):
    /// the methods of the most specific path pattern the request's path matches (the one with
    /// the fewest parameters: `POST /organizations/register` is that resource, though a GET of
    /// the path would reach `GET /organizations/{id}` and answer 404), as the document lists
    /// them. A path no resource of its area matches gets the app's default answer (404).
    pub fn install(self, cfg: &mut web::ServiceConfig) {
        let allowed = self.allowed();
        let patterns: Arc<Vec<(ResourceDef, Vec<Method>)>> = Arc::new(
            allowed
                .iter()
                .map(|(path, methods)| (ResourceDef::new(path.as_str()), methods.clone()))
                .collect(),
        );
        // Each area's routes, then its 405 answers; areas in the order first registered.
        let mut areas: Vec<Area> = Vec::new();
        let mut area = |path: &str, register: Register| {
            let (scope, at) = match scope_of(path) {
                Some((scope, at)) => (Some(scope.to_owned()), at.to_owned()),
                None => (None, path.to_owned()),
            };
            match areas.iter_mut().find(|(s, _)| s.is_some() && *s == scope) {
                Some((_, routes)) => routes.push((at, register)),
                None => areas.push((scope, vec![(at, register)])),
            }
        };
        for (path, register) in self.services {
            area(&path, register);
        }
        for (path, _) in allowed {
            let patterns = patterns.clone();
            area(
                &path,
                Box::new(move |cfg, at| {
                    cfg.service(web::resource(at).route(web::route().to(
                        move |req: HttpRequest| {
                            std::future::ready(method_not_allowed(&req, &patterns))
                        },
                    )));
                }),
            );
        }
        for (scope, routes) in areas {
            match scope {
                Some(scope) => {
                    cfg.service(web::scope(&scope).configure(move |cfg| {
                        for (at, register) in routes {
                            register(cfg, &at);
                        }
                    }));
                }
                None => {
                    for (at, register) in routes {
                        register(cfg, &at);
                    }
                }
            }
        }
    }
}

fn method_not_allowed(req: &HttpRequest, patterns: &[(ResourceDef, Vec<Method>)]) -> HttpResponse {
    let params = |def: &ResourceDef| def.pattern().map_or(0, |p| p.matches('{').count());
    let methods: Vec<&str> = patterns
        .iter()
        .filter(|(def, _)| def.is_match(req.path()))
        .min_by_key(|(def, _)| params(def))
        .map(|(_, served)| served.iter().map(Method::as_str).collect())
        .unwrap_or_default();
    let allow = methods.join(", ");
    let mut resp = AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed here; allowed: {allow}", req.method()),
    )
    .error_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        resp.headers_mut().insert(header::ALLOW, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::scope_of;

    #[test]
    fn a_path_is_served_in_its_area() {
        assert_eq!(
            scope_of("/api/v1/tranches/{id}/release"),
            Some(("/api/v1/tranches", "/{id}/release"))
        );
        assert_eq!(scope_of("/api/v1/projects"), Some(("/api/v1/projects", "")));
        assert_eq!(
            scope_of("/api/v1/me/assignments"),
            Some(("/api/v1/me", "/assignments"))
        );
        assert_eq!(scope_of("/healthz"), Some(("/healthz", "")));
        assert_eq!(scope_of("/openapi.json"), Some(("/openapi.json", "")));
        assert_eq!(scope_of("/api/v1/{area}/x"), None);
        assert_eq!(scope_of("/"), None);
    }
}
