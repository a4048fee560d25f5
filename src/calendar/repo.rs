//! Diesel for the calendar: one JSON body per year.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::calendar_years;
use crate::db::DbConn;

/// Adds a year unless the database has it (an admin's edits win over config files).
pub fn insert_if_absent(
    conn: &mut DbConn,
    year: i32,
    body: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let values = (
        calendar_years::year.eq(year),
        calendar_years::body.eq(body),
        calendar_years::updated_by.eq(None::<String>),
        calendar_years::updated_at.eq(now),
    );
    match conn {
        DbConn::Pg(c) => diesel::insert_into(calendar_years::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(calendar_years::table)
            .values(values)
            .execute(c)?,
    };
    Ok(())
}

pub fn bodies(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    calendar_years::table
        .order(calendar_years::year.asc())
        .select(calendar_years::body)
        .load(conn)
}

pub fn find_body(conn: &mut DbConn, year: i32) -> QueryResult<Option<String>> {
    calendar_years::table
        .filter(calendar_years::year.eq(year))
        .select(calendar_years::body)
        .first(conn)
        .optional()
}

pub fn replace(
    conn: &mut DbConn,
    year: i32,
    body: &str,
    actor_id: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(calendar_years::table.filter(calendar_years::year.eq(year))).execute(conn)?;
    diesel::insert_into(calendar_years::table)
        .values((
            calendar_years::year.eq(year),
            calendar_years::body.eq(body),
            calendar_years::updated_by.eq(Some(actor_id)),
            calendar_years::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}
