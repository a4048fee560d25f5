//! Loading, seeding and editing the calendar.

use std::path::Path;

use chrono::NaiveDateTime;
use serde_json::json;

use super::repo;
use crate::audit::{self, Event};
use crate::auth::AuthUser;
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::calendar::{WorkingCalendar, YearArrangement};
use crate::error::{AppError, FieldError};

const EMBEDDED_2026: &str = include_str!("../../config/calendar/2026.toml");

fn parse(text: &str, origin: &str) -> anyhow::Result<YearArrangement> {
    let y: YearArrangement = toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
    y.check()
        .map_err(|(f, m)| anyhow::anyhow!("{origin}: {f} {m}"))?;
    Ok(y)
}

/// Inserts the years found in `dir` (and the built-in 2026) that the database lacks. Years an
/// admin has edited stay as edited.
pub fn seed_from_config(conn: &mut DbConn, dir: &Path, now: NaiveDateTime) -> anyhow::Result<()> {
    let mut years = vec![parse(EMBEDDED_2026, "built-in 2026 calendar")?];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                let y = parse(&std::fs::read_to_string(&p)?, &p.display().to_string())?;
                years.retain(|o| o.year != y.year);
                years.push(y);
            }
        }
    }
    for y in years {
        repo::insert_if_absent(conn, y.year, &serde_json::to_string(&y)?, now)?;
    }
    Ok(())
}

pub fn years(conn: &mut DbConn) -> Result<Vec<YearArrangement>, AppError> {
    let bodies = repo::bodies(conn)?;
    bodies
        .iter()
        .map(|b| {
            serde_json::from_str(b)
                .map_err(|e| AppError::internal(anyhow::anyhow!("calendar row: {e}")))
        })
        .collect()
}

pub fn year(conn: &mut DbConn, year: i32) -> Result<YearArrangement, AppError> {
    years(conn)?
        .into_iter()
        .find(|y| y.year == year)
        .ok_or_else(|| AppError::not_found(&format!("calendar for {year}")))
}

pub fn load(conn: &mut DbConn) -> Result<WorkingCalendar, AppError> {
    Ok(WorkingCalendar::new(&years(conn)?))
}

/// Replaces (or adds) one year's arrangement.
pub fn put_year(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    y: YearArrangement,
    now: NaiveDateTime,
) -> Result<YearArrangement, AppError> {
    y.check()
        .map_err(|(field, message)| AppError::validation(vec![FieldError::new(field, message)]))?;
    write_tx(conn, |tx| {
        let body = serde_json::to_string(&y).map_err(AppError::internal)?;
        let before = repo::find_body(tx, y.year)?;
        repo::replace(tx, y.year, &body, &actor.id, now)?;
        audit::append(
            tx,
            Event {
                actor_id: Some(&actor.id),
                action: "calendar.year_set",
                entity: "calendar",
                entity_id: &y.year.to_string(),
                district_id: None,
                project_id: None,
                summary: json!({
                    "before": before.and_then(|b| serde_json::from_str::<serde_json::Value>(&b).ok()),
                    "after": serde_json::to_value(&y).unwrap_or_default(),
                }),
            },
            now,
        )?;
        Ok(y)
    })
}
