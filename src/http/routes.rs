//! The route table. Routes are registered only through [`Router::add`], which demands an
//! [`Access`] policy and wraps the route in the access check, so an undeclared route cannot
//! exist. The same table feeds the OpenAPI completeness test and the role × route matrix.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{guard, web, FromRequest, Handler, Responder};

use crate::auth::middleware::authorize;
use crate::auth::Access;

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

    /// Hands every registered resource to actix.
    pub fn install(self, cfg: &mut web::ServiceConfig) {
        for register in self.services {
            register(cfg);
        }
    }
}
