//! Building the app: state, routes, middleware and the server. Used by `main` and the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{from_fn, NormalizePath};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use crate::auth::cache::UserCache;
use crate::auth::hashing::HashPool;
use crate::auth::limits::LoginLimits;
use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::crypto::Sealer;
use crate::db::{Db, DbOptions};
use crate::domain::rules::RulePacks;
use crate::error::AppError;
use crate::http::extract::BodyLimit;
use crate::http::request_id;
use crate::http::routes::{RouteInfo, Router};
use crate::notify::mailer::Mailer;

pub use crate::state::{AppState, State};

impl AppState {
    /// Opens the database (running migrations), loads keys and the mailer.
    pub fn build(settings: Settings) -> anyhow::Result<AppState> {
        settings.check()?;
        std::fs::create_dir_all(&settings.data_dir)?;
        let db = Db::connect_and_migrate(&DbOptions {
            url: settings.database.url.clone(),
            pool_size: settings.database.pool_size,
            connect_timeout: settings.connect_timeout(),
            busy_timeout_ms: settings.database.busy_timeout_ms,
        })?;
        let tokens = TokenKeys::new(&settings.jwt_secret()?, &settings.auth);
        let mailer = Mailer::new(
            settings.mail.smtp_url.as_deref(),
            &settings.mail.from,
            &settings.data_dir,
        )?;
        let clock = if settings.sandbox {
            Clock::sandbox()
        } else {
            Clock::system()
        };
        let sealer = Sealer::new(&settings.sealing_key()?)?;
        let rules = RulePacks::load(Some(&settings.config_dir.join("rules")))?;
        {
            let mut conn = db.write_conn().map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::calendar::service::seed_from_config(
                &mut crate::db::Tx::new(&mut conn),
                &settings.config_dir.join("calendar"),
                clock.now_naive(),
            )
            .map_err(|e| anyhow::anyhow!("loading the working-day calendar: {e}"))?;
        }
        Ok(AppState {
            sealer,
            rules,
            login_limits: LoginLimits::new(&settings.auth),
            hasher: HashPool::new(settings.auth.hash_threads, settings.auth.hash_queue),
            projects_rendered: Arc::default(),
            needs_rendered: Arc::default(),
            tranche_lanes: Arc::default(),
            job_tally: Arc::default(),
            users_seen: Arc::new(UserCache::new(std::time::Duration::from_millis(
                settings.auth.user_cache_ms,
            ))),
            settings: Arc::new(settings),
            db,
            clock,
            tokens,
            mailer,
        })
    }
}

/// Every route of the API, each with its access policy.
pub fn routes() -> Router {
    let mut r = Router::new();
    crate::health::routes::register(&mut r);
    crate::openapi::register(&mut r);
    crate::docs::register(&mut r);
    crate::auth::routes::register(&mut r);
    crate::users::routes::register(&mut r);
    crate::regions::routes::register(&mut r);
    crate::needs::routes::register(&mut r);
    crate::funds::routes::register(&mut r);
    crate::projects::routes::register(&mut r);
    crate::orgs::routes::register(&mut r);
    crate::bids::routes::register(&mut r);
    crate::experts::routes::register(&mut r);
    crate::evaluation::routes::register(&mut r);
    crate::awards::routes::register(&mut r);
    crate::contracts::routes::register(&mut r);
    crate::reviews::routes::register(&mut r);
    crate::open_data::routes::register(&mut r);
    crate::reports::routes::register(&mut r);
    crate::calendar::routes::register(&mut r);
    crate::audit::routes::register(&mut r);
    crate::admin::routes::register(&mut r);
    r
}

/// The route table, for tests and the OpenAPI check.
pub fn route_table() -> Vec<RouteInfo> {
    routes().table().to_vec()
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::not_found(&format!(
        "route {} {}",
        req.method(),
        req.path()
    )))
}

/// Starts the HTTP server on `listener`; returns it to be awaited and its handle.
pub fn serve(
    state: web::Data<AppState>,
    listener: TcpListener,
) -> anyhow::Result<(Server, ServerHandle)> {
    let body_limit = BodyLimit(state.settings.server.body_limit_bytes);
    let workers = match state.settings.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(body_limit)
            .wrap(NormalizePath::trim())
            .wrap(from_fn(request_id::middleware))
            .configure(|cfg| routes().install(cfg))
            .default_service(web::to(not_found))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    let handle = server.handle();
    Ok((server, handle))
}
