//! Who is calling and what they may do: roles, the access policy every route declares, the
//! authenticated user loaded fresh from the database on each request, and region scope checks.

pub mod cache;
pub mod hashing;
pub mod limits;
pub mod middleware;
pub mod passwords;
pub mod repo;
pub mod routes;
pub mod service;
pub mod tokens;

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Bureau,
    Street,
    Community,
    Org,
    Expert,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Bureau,
        Role::Street,
        Role::Community,
        Role::Org,
        Role::Expert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Bureau => "bureau",
            Role::Street => "street",
            Role::Community => "community",
            Role::Org => "org",
            Role::Expert => "expert",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The region kind a staff role is bound to.
    pub fn region_kind(self) -> Option<RegionKind> {
        match self {
            Role::Bureau => Some(RegionKind::District),
            Role::Street => Some(RegionKind::Street),
            Role::Community => Some(RegionKind::Community),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionKind {
    District,
    Street,
    Community,
}

impl RegionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionKind::District => "district",
            RegionKind::Street => "street",
            RegionKind::Community => "community",
        }
    }

    pub fn parse(s: &str) -> Option<RegionKind> {
        [
            RegionKind::District,
            RegionKind::Street,
            RegionKind::Community,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The access policy of a route. Every route is registered with one (see `http::routes`), so
/// a route without a declared policy cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a valid token, when sent, is still read (and an invalid one refused).
    Public,
    /// Any signed-in, active user.
    SignedIn,
    /// Only these roles; others get 403.
    Roles(&'static [Role]),
}

impl Access {
    pub fn allows(self, role: Option<Role>) -> bool {
        match (self, role) {
            (Access::Public, _) => true,
            (Access::SignedIn, r) => r.is_some(),
            (Access::Roles(set), Some(r)) => set.contains(&r),
            (Access::Roles(_), None) => false,
        }
    }
}

/// A region with its ancestors, enough to decide scope without another query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionPath {
    pub id: String,
    pub kind: RegionKind,
    pub district_id: Option<String>,
    pub street_id: Option<String>,
}

impl RegionPath {
    /// The district this region is in (itself for a district).
    pub fn district(&self) -> &str {
        self.district_id.as_deref().unwrap_or(&self.id)
    }

    /// Whether `other` is this region or lies under it.
    pub fn contains(&self, other: &RegionPath) -> bool {
        other.id == self.id
            || other.street_id.as_deref() == Some(&self.id)
            || other.district_id.as_deref() == Some(&self.id)
    }
}

/// The caller, as the database says (role, region and active flag are read per request, or taken
/// from [`cache::UserCache`] for at most `auth.user_cache_ms`; a change made through this process
/// takes effect at once).
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub region: Option<RegionPath>,
    pub organization_id: Option<String>,
}

impl AuthUser {
    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }

    /// Whether an object in `region` is within this user's scope (admin: everything).
    pub fn can_see_region(&self, region: &RegionPath) -> bool {
        match self.role {
            Role::Admin => true,
            _ => self
                .region
                .as_ref()
                .is_some_and(|mine| mine.contains(region)),
        }
    }

    /// 404 for an object outside the caller's scope, so its existence is not revealed.
    pub fn require_region(&self, region: &RegionPath, what: &str) -> Result<(), AppError> {
        if self.can_see_region(region) {
            Ok(())
        } else {
            Err(AppError::not_found(what))
        }
    }

    /// The district of a bureau, street or community user.
    pub fn district_id(&self) -> Option<&str> {
        self.region.as_ref().map(|r| r.district())
    }

    /// Whose records a listing of district business (contracts, objections) shows this user:
    /// an admin all, a bureau its district's, an organization's member its own; 403 for the
    /// other roles.
    pub fn listing_scope(&self) -> Result<ListingScope, AppError> {
        Ok(match self.role {
            Role::Admin => ListingScope::All,
            Role::Bureau => ListingScope::District(
                self.district_id()
                    .ok_or_else(AppError::forbidden)?
                    .to_owned(),
            ),
            Role::Org => ListingScope::Organization(self.organization_id.clone()),
            _ => return Err(AppError::forbidden()),
        })
    }
}

/// See [`AuthUser::listing_scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingScope {
    All,
    District(String),
    /// `None`: an account not yet bound to an organization, which owns nothing.
    Organization(Option<String>),
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<AuthUser, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<AuthUser>()
                .cloned()
                .ok_or_else(AppError::unauthenticated),
        )
    }
}

/// The session (`sid`) of the caller's access token, as the access check verified it.
#[derive(Debug, Clone)]
pub struct SessionId(pub String);

impl FromRequest for SessionId {
    type Error = AppError;
    type Future = Ready<Result<SessionId, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<SessionId>()
                .cloned()
                .ok_or_else(AppError::unauthenticated),
        )
    }
}

/// The caller on a public route: `None` when no token was sent.
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Ready<Result<MaybeUser, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(MaybeUser(req.extensions().get::<AuthUser>().cloned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(id: &str, kind: RegionKind, d: Option<&str>, s: Option<&str>) -> RegionPath {
        RegionPath {
            id: id.into(),
            kind,
            district_id: d.map(Into::into),
            street_id: s.map(Into::into),
        }
    }

    #[test]
    fn a_region_contains_itself_and_what_lies_under_it_only() {
        let d = path("d", RegionKind::District, None, None);
        let s = path("s", RegionKind::Street, Some("d"), None);
        let c = path("c", RegionKind::Community, Some("d"), Some("s"));
        let other = path("c2", RegionKind::Community, Some("d"), Some("s2"));
        assert!(d.contains(&c) && d.contains(&s) && d.contains(&d));
        assert!(s.contains(&c) && !s.contains(&other) && !s.contains(&d));
        assert!(c.contains(&c) && !c.contains(&s));
    }

    #[test]
    fn access_policies_allow_exactly_their_roles() {
        assert!(Access::Public.allows(None));
        assert!(!Access::SignedIn.allows(None));
        let admin_only = Access::Roles(&[Role::Admin]);
        assert!(admin_only.allows(Some(Role::Admin)));
        assert!(!admin_only.allows(Some(Role::Bureau)));
        assert!(!admin_only.allows(None));
    }
}
