//! Account use cases: create (admin), update (admin, versioned), read and list. Each write is one
//! transaction with its audit event and, where someone must be told, an outbox mail.

use chrono::NaiveDateTime;
use serde_json::json;

use super::model::{NewUser, User};
pub use super::repo::UserFilter;
use super::repo::{self, UserChanges};
use crate::audit::{self, Event};
use crate::auth::{passwords, AuthUser, Role};
use crate::db::{write_tx, DbConn, Tx};
use crate::error::{AppError, FieldError};
use crate::http::conditional;
use crate::notify::{self, Mail};

/// A validated request to create an account.
#[derive(Debug, Clone)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    pub password: String,
    pub role: Role,
    pub region_id: Option<String>,
    pub organization_id: Option<String>,
}

/// A validated partial update.
#[derive(Debug, Clone, Default)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub region_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Checks that `region_id` fits `role`: staff roles need a region of their kind, admins none.
fn check_region(
    conn: &mut DbConn,
    role: Role,
    region_id: Option<&str>,
) -> Result<Option<String>, AppError> {
    let region = match region_id {
        Some(id) => Some(
            crate::regions::repo::find_path(conn, id)?
                .ok_or_else(|| AppError::field("region_id", "no such region"))?,
        ),
        None => None,
    };
    match (role.region_kind(), &region) {
        (Some(kind), None) => Err(AppError::field(
            "region_id",
            format!(
                "a {} account needs a region of kind {}",
                role.as_str(),
                kind.as_str()
            ),
        )),
        (Some(kind), Some(r)) if r.kind != kind => Err(AppError::field(
            "region_id",
            format!(
                "a {} account needs a region of kind {}, not {}",
                role.as_str(),
                kind.as_str(),
                r.kind.as_str()
            ),
        )),
        (None, Some(_)) if matches!(role, Role::Admin | Role::Org) => Err(AppError::field(
            "region_id",
            format!("a {} account has no region", role.as_str()),
        )),
        _ => Ok(region.map(|r| r.id)),
    }
}

/// Creates an account. `actor` is `None` for the CLI's first admin.
pub fn create_user(
    conn: &mut Tx<'_>,
    actor: Option<&AuthUser>,
    cmd: CreateUser,
    now: NaiveDateTime,
) -> Result<User, AppError> {
    // Hash before the transaction: ~40 ms that must not hold the write lock.
    let password_hash = passwords::hash(&cmd.password)?;
    create_user_hashed(conn, actor, cmd, password_hash, now)
}

/// Creates an account whose password the caller hashed already, outside any transaction.
pub fn create_user_hashed(
    conn: &mut Tx<'_>,
    actor: Option<&AuthUser>,
    cmd: CreateUser,
    password_hash: String,
    now: NaiveDateTime,
) -> Result<User, AppError> {
    write_tx(conn, |tx| {
        let region_id = check_region(tx, cmd.role, cmd.region_id.as_deref())?;
        let user = NewUser {
            id: uuid::Uuid::now_v7().to_string(),
            email: cmd.email.clone(),
            name: cmd.name.clone(),
            password_hash,
            role: cmd.role.as_str().to_owned(),
            region_id,
            organization_id: cmd.organization_id.clone(),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        repo::insert(tx, &user).map_err(AppError::unique_as(
            "email_taken",
            "an account with this email exists",
        ))?;
        let district = match &user.region_id {
            Some(r) => crate::regions::repo::find_path(tx, r)?.map(|p| p.district().to_owned()),
            None => None,
        };
        audit::append(
            tx,
            Event {
                actor_id: actor.map(|a| a.id.as_str()),
                action: "user.created",
                entity: "user",
                entity_id: &user.id,
                district_id: district.as_deref(),
                project_id: None,
                summary: json!({"after": {"email": user.email, "role": user.role, "region_id": user.region_id}}),
            },
            now,
        )?;
        notify::enqueue(
            tx,
            &format!("user.created:{}", user.id),
            &Mail {
                to: user.email.clone(),
                subject: "Your gongyi account".into(),
                body: format!(
                    "Dear {},\n\nA gongyi account with the role \"{}\" was created for {}.\n{}\n",
                    user.name,
                    user.role,
                    user.email,
                    if actor.is_some() {
                        "Sign in with this email address and the password you were given, and change it."
                    } else {
                        // Self-registration: the password is the one just chosen.
                        "Sign in with this email address and the password you chose when you registered."
                    }
                ),
            },
            now,
        )?;
        repo::find(tx, &user.id)?
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("user vanished")))
    })
}

/// A page of accounts matching `filter`, by id after `after`.
pub fn list_users(
    conn: &mut DbConn,
    filter: &UserFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<User>, AppError> {
    Ok(repo::list(conn, filter, after, limit)?)
}

pub fn get_user(conn: &mut DbConn, id: &str) -> Result<User, AppError> {
    repo::find(conn, id)?.ok_or_else(|| AppError::not_found("user"))
}

/// Applies an admin's update if the account is still at a version `expected` names.
pub fn update_user(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    id: &str,
    expected: &conditional::IfMatch,
    cmd: UpdateUser,
    now: NaiveDateTime,
) -> Result<User, AppError> {
    write_tx(conn, |tx| {
        let before = get_user(tx, id)?;
        let expected_version = expected.check(before.version)?;
        let old_role = Role::parse(&before.role)
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("bad role")))?;
        let role = cmd.role.unwrap_or(old_role);
        if (role == Role::Org) != (old_role == Role::Org) {
            return Err(AppError::field(
                "role",
                "organization accounts are made by organization registration and stay so",
            ));
        }
        if actor.id == before.id && (cmd.active == Some(false) || role != Role::Admin) {
            let field = if cmd.active == Some(false) {
                "active"
            } else {
                "role"
            };
            return Err(AppError::validation(vec![FieldError::new(
                field,
                "you cannot deactivate or demote your own account",
            )]));
        }
        let region_id = match &cmd.region_id {
            Some(r) => r.clone(),
            None => before.region_id.clone(),
        };
        let region_id = check_region(tx, role, region_id.as_deref())?;
        let changes = UserChanges {
            name: cmd.name.clone(),
            role: cmd.role.map(|r| r.as_str().to_owned()),
            region_id: Some(region_id.clone()),
            active: cmd.active,
        };
        if !repo::update_versioned(tx, id, expected_version, &changes, now)? {
            return Err(conditional::stale());
        }
        if cmd.active == Some(false) {
            crate::auth::repo::revoke_user(tx, id, now)?;
        }
        let after = get_user(tx, id)?;
        let district = match &after.region_id {
            Some(r) => crate::regions::repo::find_path(tx, r)?.map(|p| p.district().to_owned()),
            None => None,
        };
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "user.updated",
                entity: "user",
                entity_id: id,
                district_id: district.as_deref(),
                project_id: None,
                summary: json!({
                    "before": {"name": before.name, "role": before.role, "region_id": before.region_id, "active": before.active},
                    "after": {"name": after.name, "role": after.role, "region_id": after.region_id, "active": after.active},
                }),
            },
            now,
        )?;
        Ok(after)
    })
}
