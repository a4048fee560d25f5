//! Diesel for bids.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Bid, BidStatus};
use crate::db::schema::{bids, organizations, projects};
use crate::db::{DbConn, Tx};
use crate::orgs::repo::Organization;
use crate::projects::model::Project;

/// Inserts a new bid; in a grouped batch on PostgreSQL with the batch's other new bids (a
/// second live bid of an organization then fails the batch's flat run, see `db::group`).
pub fn insert(conn: &mut Tx<'_>, b: Bid) -> QueryResult<()> {
    crate::db::insert_batched(conn, b)
}

impl crate::db::BatchRow for Bid {
    fn insert_all(conn: &mut DbConn, rows: &[Bid]) -> QueryResult<()> {
        crate::insert_rows!(conn, bids::table, rows)
    }
}

/// The organization and the project in one round trip on PostgreSQL, both rows held
/// `FOR SHARE` until the transaction ends: the close job's claim of the project, and a
/// verification, rejection or suspension of the organization, wait for the bids in flight, and
/// a bid that comes after either sees it. `None` when either row is missing, and always on
/// SQLite, where a statement costs no round trip and the single writer orders them anyway.
pub fn organization_and_project_for_share(
    conn: &mut DbConn,
    org_id: &str,
    project_id: &str,
) -> QueryResult<Option<(Organization, Project)>> {
    match conn {
        DbConn::Pg(pg) => organizations::table
            .inner_join(projects::table.on(projects::id.eq(project_id)))
            .filter(organizations::id.eq(org_id))
            .select((Organization::as_select(), Project::as_select()))
            .for_share()
            .first(pg)
            .optional(),
        DbConn::Sqlite(_) => Ok(None),
    }
}

pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Bid>> {
    bids::table
        .find(id)
        .select(Bid::as_select())
        .first(conn)
        .optional()
}

/// Replaces a bid's sealed contents (the frozen credentials inside), if it is still at
/// `version` and `status`.
pub fn reseal(
    conn: &mut DbConn,
    id: &str,
    version: i64,
    status: BidStatus,
    sealed: &str,
    receipt: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        bids::table
            .filter(bids::id.eq(id))
            .filter(bids::version.eq(version))
            .filter(bids::status.eq(status)),
    )
    .set((
        bids::sealed.eq(sealed),
        bids::receipt_sha256.eq(receipt),
        bids::received_at.eq(now),
        bids::version.eq(version + 1),
        bids::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Withdraws a bid from `from` to `to` (its sealed contents dropped), if it is still at
/// `version` and `from`.
pub fn withdraw(
    conn: &mut DbConn,
    id: &str,
    version: i64,
    from: BidStatus,
    to: BidStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        bids::table
            .filter(bids::id.eq(id))
            .filter(bids::version.eq(version))
            .filter(bids::status.eq(from)),
    )
    .set((
        bids::status.eq(to),
        bids::sealed.eq(None::<String>),
        bids::version.eq(version + 1),
        bids::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// What the opening writes in clear into a bid row.
pub struct Opened<'a> {
    pub organization_id: Option<&'a str>,
    pub contents: Option<&'a str>,
    pub credentials: Option<&'a str>,
    pub price_fen: Option<i64>,
    pub reasons: &'a str,
}

/// Opens a bid at close, from `from` to its verdict `to`: its organization, contents, frozen
/// credentials and price in clear.
pub fn open(
    conn: &mut DbConn,
    id: &str,
    from: BidStatus,
    to: BidStatus,
    opened: &Opened<'_>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        bids::table
            .filter(bids::id.eq(id))
            .filter(bids::status.eq(from)),
    )
    .set((
        bids::status.eq(to),
        bids::sealed.eq(None::<String>),
        bids::organization_id.eq(opened.organization_id),
        bids::contents.eq(opened.contents),
        bids::credentials.eq(opened.credentials),
        bids::price_fen.eq(opened.price_fen),
        bids::disqualified_reasons.eq(opened.reasons),
        bids::version.eq(bids::version + 1),
        bids::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Moves a bid from `from` to `to`; false when it is no longer at `from`.
pub fn move_status(
    conn: &mut DbConn,
    id: &str,
    from: BidStatus,
    to: BidStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        bids::table
            .filter(bids::id.eq(id))
            .filter(bids::status.eq(from)),
    )
    .set((bids::status.eq(to), bids::updated_at.eq(now)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn list_round(conn: &mut DbConn, project_id: &str, round: i32) -> QueryResult<Vec<Bid>> {
    bids::table
        .filter(bids::project_id.eq(project_id))
        .filter(bids::round.eq(round))
        .order(bids::id.asc())
        .select(Bid::as_select())
        .load(conn)
}

/// A project's bids, after `after`: those of one bidder (its keyed hash and its organization,
/// which rows written before the keyed hash name in clear), or those of rounds up to
/// `rounds_up_to` that were not withdrawn.
pub fn list_project(
    conn: &mut DbConn,
    project_id: &str,
    bidder: Option<(&str, &str)>,
    rounds_up_to: Option<i32>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Bid>> {
    let mut q = bids::table
        .filter(bids::project_id.eq(project_id))
        .into_boxed();
    if let Some((key, org)) = bidder {
        q = q.filter(
            bids::bidder_key
                .eq(key.to_owned())
                .or(bids::bidder_key.eq(format!("org:{org}"))),
        );
    }
    if let Some(r) = rounds_up_to {
        q = q
            .filter(bids::round.le(r))
            .filter(bids::status.ne(BidStatus::Withdrawn));
    }
    if let Some(a) = after {
        q = q.filter(bids::id.gt(a.to_owned()));
    }
    q.order(bids::id.asc())
        .limit(limit)
        .select(Bid::as_select())
        .load(conn)
}

/// The ids of projects taking bids.
pub fn open_project_ids(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    projects::table
        .filter(projects::status.eq(crate::projects::model::ProjectStatus::Open))
        .select(projects::id)
        .load(conn)
}

/// One organization's bids, newest first, before `before`: those opened, which name it in
/// clear, and sealed ones by their keyed hashes (`keys`, chunked under the backends' bind
/// limits and merged).
pub fn of_bidder(
    conn: &mut DbConn,
    organization_id: &str,
    keys: &[String],
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Bid>> {
    let page = |conn: &mut DbConn, chunk: &[String]| {
        let mut q = bids::table
            .filter(
                bids::organization_id
                    .eq(organization_id.to_owned())
                    .or(bids::bidder_key.eq_any(chunk.to_vec())),
            )
            .into_boxed();
        if let Some(b) = before {
            q = q.filter(bids::id.lt(b.to_owned()));
        }
        q.order(bids::id.desc())
            .limit(limit)
            .select(Bid::as_select())
            .load(conn)
    };
    let mut out: Vec<Bid> = Vec::new();
    if keys.is_empty() {
        out = page(conn, &[])?;
    }
    for chunk in keys.chunks(10_000) {
        out.extend(page(conn, chunk)?);
    }
    out.sort_by(|a, b| b.id.cmp(&a.id));
    out.dedup_by(|a, b| a.id == b.id);
    out.truncate(limit.max(0) as usize);
    Ok(out)
}
