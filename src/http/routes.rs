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

type Register = Box<dyn FnOnce(&mut web::ServiceConfig)>;

#[derive(Default)]
pub struct Router {
    table: Vec<RouteInfo>,
    services: Vec<Register>,
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
        let resource = web::resource(path)
            .guard(guard::Method(method))
            .wrap(from_fn(move |req: ServiceRequest, next: Next<BoxBody>| {
                authorize(access, req, next)
            }))
            .route(web::route().to(handler));
        self.services.push(Box::new(move |cfg| {
            cfg.service(resource);
        }));
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

    /// Hands every registered resource to actix, then behind them, for each path, a resource
    /// answering any other method 405 with an `Allow` taken from the table (RFC 9110 § 15.5.6):
    /// the methods of the most specific path pattern the request's path matches (the one with
    /// the fewest parameters: `POST /organizations/register` is that resource, though a GET of
    /// the path would reach `GET /organizations/{id}` and answer 404), as the document lists
    /// them.
    pub fn install(self, cfg: &mut web::ServiceConfig) {
        let allowed = self.allowed();
        for register in self.services {
            register(cfg);
        }
        let patterns: Arc<Vec<(ResourceDef, Vec<Method>)>> = Arc::new(
            allowed
                .iter()
                .map(|(path, methods)| (ResourceDef::new(path.as_str()), methods.clone()))
                .collect(),
        );
        for (path, _) in allowed {
            let patterns = patterns.clone();
            cfg.service(
                web::resource(path).route(web::route().to(move |req: HttpRequest| {
                    std::future::ready(method_not_allowed(&req, &patterns))
                })),
            );
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
