//! Writing the feed (inside the audit chain's commit) and reading it as OCDS packages.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use serde_json::{json, Value};

use super::render::{self, Rendered, BASE, SCHEME};
use super::repo::{self, ReleaseRow};
use crate::audit::repo::AuditRow;
use crate::config::OpenDataSettings;
use crate::db::DbConn;
use crate::error::AppError;

/// Renders the releases of a transaction's events before they are numbered: the index of each
/// public event and its release.
pub fn render_events(conn: &mut DbConn, rows: &[AuditRow]) -> QueryResult<Vec<(usize, Rendered)>> {
    let mut out = Vec::new();
    let mut buyers = render::Buyers::new();
    for (i, row) in rows.iter().enumerate() {
        match render::render(conn, &mut buyers, row) {
            Ok(Some(r)) => out.push((i, r)),
            Ok(None) => {}
            Err(e) => {
                return Err(diesel::result::Error::SerializationError(Box::new(
                    std::io::Error::other(format!("rendering the release of {}: {e}", row.action)),
                )))
            }
        }
    }
    Ok(out)
}

/// The rendered releases as rows, under their (numbered) events' sequence numbers; the audit
/// chain stores them with the events (`audit::repo::insert_after`).
pub fn numbered(rows: &[AuditRow], rendered: Vec<(usize, Rendered)>) -> Vec<ReleaseRow> {
    rendered
        .into_iter()
        .map(|(i, r)| ReleaseRow {
            seq: rows[i].seq,
            project_id: r.project_id,
            date: r.date,
            tag: r.tag.to_owned(),
            body: Value::Object(r.body).to_string(),
        })
        .collect()
}

/// How a package names its publisher and where it is.
pub struct Publisher {
    pub settings: OpenDataSettings,
    /// The API's public base URL (configured, or this request's scheme and host).
    pub base: String,
    pub now: NaiveDateTime,
}

impl Publisher {
    pub fn ocid(&self, project_id: &str) -> String {
        format!("{}-{}", self.settings.ocid_prefix, project_id)
    }

    /// The project of an ocid of this publisher.
    pub fn project_of<'o>(&self, ocid: &'o str) -> Option<&'o str> {
        ocid.strip_prefix(self.settings.ocid_prefix.as_str())?
            .strip_prefix('-')
            .filter(|p| !p.is_empty())
    }

    /// A stored release as OCDS JSON text: its `ocid` and `id` first, the placeholders filled.
    pub fn release_text(&self, row: &ReleaseRow) -> String {
        let body = row
            .body
            .replace(&escaped(BASE), &self.base)
            .replace(&escaped(SCHEME), &self.settings.identifier_scheme);
        let rest = body.strip_prefix('{').unwrap_or(&body);
        let head = json!({"ocid": self.ocid(&row.project_id), "id": format!("{}-{}", row.project_id, row.seq)});
        let head = head.to_string();
        let head = head.strip_suffix('}').unwrap_or(&head);
        if rest == "}" {
            format!("{head}}}")
        } else {
            format!("{head},{rest}")
        }
    }

    /// The package fields but `releases` / `records`.
    fn package_head(&self, uri: &str) -> serde_json::Map<String, Value> {
        let s = &self.settings;
        let mut publisher = json!({"name": s.publisher_name});
        if let Some(scheme) = &s.publisher_scheme {
            publisher["scheme"] = scheme.clone().into();
        }
        if let Some(uid) = &s.publisher_uid {
            publisher["uid"] = uid.clone().into();
        }
        let mut m = serde_json::Map::new();
        m.insert("uri".into(), uri.into());
        m.insert("version".into(), "1.1".into());
        m.insert("publishedDate".into(), render::date(self.now).into());
        m.insert("publisher".into(), publisher);
        m.insert("license".into(), s.license.clone().into());
        m.insert(
            "publicationPolicy".into(),
            s.publication_policy.clone().into(),
        );
        m
    }
}

/// A placeholder as it appears inside serialized JSON text.
fn escaped(placeholder: &str) -> String {
    let s = Value::from(placeholder).to_string();
    s[1..s.len() - 1].to_owned()
}

/// A page of the feed: the release package (as JSON text) with `links.next` when more follow.
pub fn release_package(
    conn: &mut DbConn,
    p: &Publisher,
    since: Option<NaiveDateTime>,
    after: i64,
    limit: i64,
    next_uri: impl Fn(i64) -> String,
    uri: &str,
) -> Result<String, AppError> {
    let mut rows = repo::page(conn, after, since, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut head = p.package_head(uri);
    if more {
        if let Some(last) = rows.last() {
            head.insert("links".into(), json!({"next": next_uri(last.seq)}));
        }
    }
    let mut out = Value::Object(head).to_string();
    out.pop(); // the closing brace
    out.push_str(",\"releases\":[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&p.release_text(r));
    }
    out.push_str("]}");
    Ok(out)
}

/// The record package of one ocid: its releases and their compiled release; `None` when the
/// ocid is not this publisher's or has no release.
pub fn record_package(
    conn: &mut DbConn,
    p: &Publisher,
    ocid: &str,
    uri: &str,
) -> Result<Option<Value>, AppError> {
    let Some(project_id) = p.project_of(ocid) else {
        return Ok(None);
    };
    let rows = repo::of_project(conn, project_id)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let releases = rows
        .iter()
        .map(|r| serde_json::from_str::<Value>(&p.release_text(r)).map_err(AppError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    let compiled = super::merge::compile(ocid, &releases);
    let mut head = p.package_head(uri);
    head.insert(
        "records".into(),
        json!([{"ocid": ocid, "releases": releases, "compiledRelease": compiled}]),
    );
    Ok(Some(Value::Object(head)))
}
