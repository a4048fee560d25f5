//! Diesel for users.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{NewUser, User};
use crate::auth::{AuthUser, Role};
use crate::db::schema::users;
use crate::db::DbConn;
use crate::error::AppError;

pub fn insert(conn: &mut DbConn, user: &NewUser) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user)
        .execute(conn)
        .map(|_| ())
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The organization's first account (by id), if it has one.
pub fn first_member_of(conn: &mut DbConn, organization_id: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::organization_id.eq(organization_id))
        .order(users::id.asc())
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn any_admin(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq("admin")),
    ))
    .get_result(conn)
}

/// The active user `id` with its region's ancestry, as the access check needs it.
pub fn find_auth_user(conn: &mut DbConn, id: &str) -> Result<Option<AuthUser>, AppError> {
    let Some(user) = find(conn, id)? else {
        return Ok(None);
    };
    if !user.active {
        return Ok(None);
    }
    let Some(role) = Role::parse(&user.role) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "user {} has unknown role {}",
            user.id,
            user.role
        )));
    };
    let region = match &user.region_id {
        Some(rid) => crate::regions::repo::find_path(conn, rid)?,
        None => None,
    };
    Ok(Some(AuthUser {
        id: user.id,
        email: user.email,
        name: user.name,
        role,
        region,
        organization_id: user.organization_id,
    }))
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub role: Option<String>,
    pub region_id: Option<String>,
    pub q: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    f: &UserFilter,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<User>> {
    let mut q = users::table.into_boxed();
    if let Some(role) = &f.role {
        q = q.filter(users::role.eq(role));
    }
    if let Some(region) = &f.region_id {
        q = q.filter(users::region_id.eq(region));
    }
    if let Some(text) = &f.q {
        let pattern = format!("%{}%", crate::db::escape_like(&text.to_lowercase()));
        q = q.filter(
            users::email
                .like(pattern.clone())
                .escape('\\')
                .or(users::name.like(pattern).escape('\\')),
        );
    }
    if let Some(after) = after {
        q = q.filter(users::id.gt(after));
    }
    q.order(users::id.asc())
        .limit(limit)
        .select(User::as_select())
        .load(conn)
}

/// The changes a PATCH makes; `None` leaves a column as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<String>,
    pub region_id: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Applies `changes` if the row is still at `version`; false when it is not (stale).
pub fn update_versioned(
    conn: &mut DbConn,
    id: &str,
    version: i64,
    changes: &UserChanges,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::version.eq(version)),
    )
    .set((
        changes,
        users::version.eq(version + 1),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
