//! The state every handler and job can reach. It sits below the areas: routes, services and
//! jobs import it, and it imports no area (the app, `crate::app`, builds it and wires routes).

use std::sync::Arc;

use actix_web::web;

use crate::auth::cache::UserCache;
use crate::auth::hashing::HashPool;
use crate::auth::limits::LoginLimits;
use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::contracts::lanes::TrancheLanes;
use crate::crypto::Sealer;
use crate::db::Db;
use crate::domain::rules::RulePacks;
use crate::http::rendered::Rendered;
use crate::notify::mailer::Mailer;

/// What every handler and job can reach.
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: Clock,
    pub tokens: TokenKeys,
    pub mailer: Mailer,
    pub login_limits: LoginLimits,
    /// The threads that hash and check passwords (see `auth::hashing`).
    pub hasher: HashPool,
    pub sealer: Sealer,
    pub rules: RulePacks,
    /// Authenticated users read recently (see `auth::cache`).
    pub users_seen: Arc<UserCache>,
    /// Project documents as last rendered, by id and version (see `http::rendered`).
    pub projects_rendered: Arc<Rendered>,
    /// Need documents of the listings, by id and version.
    pub needs_rendered: Arc<Rendered>,
    /// The contract of each tranche released recently, its write lane (see `contracts::lanes`).
    pub tranche_lanes: Arc<TrancheLanes>,
    /// What the scheduler's job runs moved, for the report of a run by hand.
    pub job_tally: Arc<crate::jobs::Tally>,
}

pub type State = web::Data<AppState>;
