//! Organization use cases: register (with the first member), read and list (who sees which
//! organization), verify, reject, suspend.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;

use super::model::{OrgAction, OrgStatus};
pub use super::repo::Organization;
use super::repo::{self, OrgFilter};
use crate::audit::{self, Event};
use crate::auth::{AuthUser, RegionKind, Role};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::eligibility::Credentials;
use crate::domain::spec::{OrgType, Rating};
use crate::domain::uscc::Uscc;
use crate::error::AppError;
use crate::notify::{self, Mail};
use crate::status::Lifecycle;
use crate::users::model::User;
use crate::users::service::CreateUser;

pub struct Registration {
    pub name: String,
    pub uscc: Uscc,
    pub org_type: OrgType,
    pub registered_on: NaiveDate,
    pub rating: Option<Rating>,
    pub rating_awarded_on: Option<NaiveDate>,
    pub social_workers: i32,
    pub district_id: String,
    pub contact_email: String,
    pub account: CreateUser,
}

/// Registers an organization and its first account, whose password the caller hashed (on the
/// hashing pool: argon2 must not hold the write lock).
pub fn register(
    conn: &mut Tx<'_>,
    r: Registration,
    password_hash: String,
    now: NaiveDateTime,
) -> Result<(Organization, User), AppError> {
    write_tx(conn, |tx| {
        crate::regions::repo::find_path(tx, &r.district_id)?
            .filter(|p| p.kind == RegionKind::District)
            .ok_or_else(|| AppError::field("organization.district_id", "no such district"))?;
        let org = Organization {
            id: uuid::Uuid::now_v7().to_string(),
            name: r.name.clone(),
            uscc: r.uscc.as_str().to_owned(),
            org_type: r.org_type.as_str().into(),
            registered_on: r.registered_on,
            rating: r.rating.map(|x| x.as_str().to_owned()),
            rating_awarded_on: r.rating_awarded_on,
            social_workers: r.social_workers,
            district_id: r.district_id.clone(),
            contact_email: r.contact_email.clone(),
            status: OrgStatus::PendingVerification,
            status_reason: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        repo::insert(tx, &org).map_err(AppError::unique_as(
            "uscc_taken",
            "an organization with this credit code is registered",
        ))?;
        let mut account = r.account.clone();
        account.organization_id = Some(org.id.clone());
        let user = crate::users::service::create_user_hashed(
            tx,
            None,
            account,
            password_hash.clone(),
            now,
        )?;
        audit::append(
            tx,
            Event {
                actor_id: Some(&user.id),
                action: "organization.registered",
                entity: "organization",
                entity_id: &org.id,
                district_id: Some(&org.district_id),
                project_id: None,
                summary: json!({"after": {"name": org.name, "uscc": org.uscc, "status": org.status}}),
            },
            now,
        )?;
        Ok((org, user))
    })
}

/// Whether `viewer` may read this organization: anyone once verified; its members; staff of
/// its district; admins.
pub fn visible(viewer: Option<&AuthUser>, o: &Organization) -> bool {
    if o.status == OrgStatus::Verified {
        return true;
    }
    match viewer {
        Some(u) if u.role == Role::Admin => true,
        Some(u) if u.organization_id.as_deref() == Some(o.id.as_str()) => true,
        Some(u) if matches!(u.role, Role::Bureau) => {
            u.district_id() == Some(o.district_id.as_str())
        }
        _ => false,
    }
}

pub fn get(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    id: &str,
) -> Result<Organization, AppError> {
    repo::find(conn, id)?
        .filter(|o| visible(viewer, o))
        .ok_or_else(|| AppError::not_found("organization"))
}

/// The organizations a listing shows `viewer`: an admin, any status; a bureau, its district's
/// of any status; anyone else, verified ones only (asking for another status is refused).
/// `q` is a substring of the name or the credit code.
pub fn list(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    status: Option<OrgStatus>,
    q: Option<String>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Organization>, AppError> {
    let mut filter = OrgFilter {
        q,
        ..Default::default()
    };
    match viewer.map(|u| u.role) {
        Some(Role::Admin) => filter.statuses = status.map(|s| vec![s]),
        Some(Role::Bureau) => {
            filter.district_id = viewer.and_then(|u| u.district_id().map(str::to_owned));
            filter.statuses = status.map(|s| vec![s]);
        }
        _ => {
            if status.is_some_and(|s| s != OrgStatus::Verified) {
                return Err(AppError::field(
                    "status",
                    "only verified organizations are listed publicly",
                ));
            }
            filter.statuses = Some(vec![OrgStatus::Verified]);
        }
    }
    Ok(repo::list(conn, &filter, after, limit)?)
}

#[derive(Debug, Clone, Copy)]
pub enum Decision {
    Verify,
    Reject,
    Suspend,
}

impl Decision {
    fn action(self) -> OrgAction {
        match self {
            Decision::Verify => OrgAction::Verify,
            Decision::Reject => OrgAction::Reject,
            Decision::Suspend => OrgAction::Suspend,
        }
    }
}

/// The bureau of the organization's district decides, with a reason to reject or suspend;
/// the contact is mailed.
pub fn decide(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    d: Decision,
    reason: Option<String>,
    now: NaiveDateTime,
) -> Result<Organization, AppError> {
    if reason.is_none() && !matches!(d, Decision::Verify) {
        return Err(AppError::field(
            "reason",
            "is required to reject or suspend",
        ));
    }
    write_tx(conn, |tx| {
        let org = repo::find(tx, id)?
            .filter(|o| actor.district_id() == Some(o.district_id.as_str()))
            .ok_or_else(|| AppError::not_found("organization"))?;
        let from = org.status;
        let to = from.step(d.action())?;
        // verified, rejected, suspended: the audit action and the mail say the new status.
        let word = to.as_str();
        if !repo::transition(tx, id, from, to, reason.as_deref(), now)? {
            return Err(AppError::concurrent_update("organization"));
        }
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: &format!("organization.{word}"),
                entity: "organization",
                entity_id: id,
                district_id: Some(&org.district_id),
                project_id: None,
                summary: json!({"before": {"status": from}, "after": {"status": to, "reason": reason}}),
            },
            now,
        )?;
        notify::enqueue(
            tx,
            &format!("organization.{word}:{id}:{}", org.version + 1),
            &Mail {
                to: org.contact_email.clone(),
                subject: format!("{}: registration {word}", org.name),
                body: format!(
                    "The registration of {} ({}) on gongyi was {word} by the district civil-affairs bureau.{}\n",
                    org.name,
                    org.uscc,
                    reason.as_deref().map(|r| format!("\nReason: {r}")).unwrap_or_default()
                ),
            },
            now,
        )?;
        repo::find(tx, id)?.ok_or_else(|| AppError::not_found("organization"))
    })
}

/// The days (UTC+8) the organization's contracts were terminated, for a
/// `max_terminated_contracts` rule.
pub fn terminations(
    conn: &mut crate::db::DbConn,
    organization_id: &str,
) -> Result<Vec<chrono::NaiveDate>, AppError> {
    Ok(
        crate::contracts::repo::terminated_at_of(conn, organization_id)?
            .into_iter()
            .map(crate::clock::cst_date)
            .collect(),
    )
}

/// The organization's credentials as a bid freezes them.
pub fn credentials(o: &Organization) -> Result<Credentials, AppError> {
    Ok(Credentials {
        organization_id: o.id.clone(),
        name: o.name.clone(),
        uscc: o.uscc.clone(),
        org_type: OrgType::parse(&o.org_type)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("org type {}", o.org_type)))?,
        registered_on: o.registered_on,
        rating: o.rating.as_deref().and_then(Rating::parse),
        rating_awarded_on: o.rating_awarded_on,
        social_workers: o.social_workers.max(0) as u32,
        district_id: o.district_id.clone(),
        terminations: Vec::new(),
    })
}
