//! Reading bids under the sealing rules, and the opening of a closed round.

use super::*;
use crate::evaluation::repo::PanelDraw;

/// Whether `viewer` may read bid `b` of project `p`: its organization always; after its
/// round closed, the bureau of the district (the panel comes with the evaluation).
pub fn may_read(sealer: &Sealer, viewer: &AuthUser, p: &Project, b: &Bid) -> bool {
    if viewer
        .organization_id
        .as_deref()
        .is_some_and(|org| is_bidders(sealer, b, org))
    {
        return true;
    }
    round_closed(p, b)
        && !b.is(BidStatus::Withdrawn)
        && viewer.role == Role::Bureau
        && viewer.district_id() == Some(p.district_id.as_str())
}

pub fn get(
    conn: &mut DbConn,
    sealer: &Sealer,
    viewer: &AuthUser,
    id: &str,
) -> Result<BidView, AppError> {
    let b = repo::find(conn, id)?.ok_or_else(|| AppError::not_found("bid"))?;
    let p = crate::projects::repo::find(conn, &b.project_id)?
        .ok_or_else(|| AppError::not_found("bid"))?;
    let panel = round_closed(&p, &b)
        && !b.is(BidStatus::Withdrawn)
        && crate::evaluation::service::is_accepted_member(conn, viewer, &p.id, b.round)?;
    if !may_read(sealer, viewer, &p, &b) && !panel {
        return Err(AppError::not_found("bid"));
    }
    let contents = unseal(sealer, &b)?;
    Ok(BidView { bid: b, contents })
}

/// A project's bids as the viewer may see them: an organization its own, the bureau of the
/// district those of closed rounds (409 `not_closed` before any round has closed).
pub fn list(
    conn: &mut DbConn,
    sealer: &Sealer,
    viewer: &AuthUser,
    project_id: &str,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<BidView>, AppError> {
    let p = projects::get(conn, Some(viewer), project_id)?;
    let rows = match viewer.role {
        Role::Org => {
            let org = viewer
                .organization_id
                .as_deref()
                .ok_or_else(AppError::forbidden)?;
            let key = bidder_key(sealer, org, &p.id);
            repo::list_project(conn, &p.id, Some((&key, org)), None, after, limit)?
        }
        Role::Bureau if viewer.district_id() == Some(p.district_id.as_str()) => {
            let closed_round = last_closed_round(&p).ok_or_else(not_closed)?;
            repo::list_project(conn, &p.id, None, Some(closed_round), after, limit)?
        }
        Role::Expert => {
            let round = last_closed_round(&p).ok_or_else(not_closed)?;
            if !crate::evaluation::service::is_accepted_member(conn, viewer, &p.id, round)? {
                return Err(AppError::not_found("project"));
            }
            repo::list_round(conn, &p.id, round)?
                .into_iter()
                .filter(|b| !b.is(BidStatus::Withdrawn) && after.is_none_or(|a| b.id.as_str() > a))
                .take(limit as usize)
                .collect()
        }
        _ => return Err(AppError::not_found("project")),
    };
    rows.into_iter()
        .map(|b| {
            Ok(BidView {
                contents: unseal(sealer, &b)?,
                bid: b,
            })
        })
        .collect()
}

/// The signed-in organization's bids across projects, newest first: the opened ones by its
/// name in clear, the sealed ones by the keyed hash of (organization, project) computed for
/// every project still taking bids — the database names no bidder of a sealed round.
pub fn mine(
    conn: &mut DbConn,
    sealer: &Sealer,
    viewer: &AuthUser,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<BidView>, AppError> {
    let Some(org) = viewer.organization_id.as_deref() else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<String> = repo::open_project_ids(conn)?
        .iter()
        .map(|p| bidder_key(sealer, org, p))
        .collect();
    // Rows written before the keyed hash name the organization in their key.
    keys.push(format!("org:{org}"));
    repo::of_bidder(conn, org, &keys, before, limit)?
        .into_iter()
        .filter(|b| is_bidders(sealer, b, org))
        .map(|b| {
            Ok(BidView {
                contents: unseal(sealer, &b)?,
                bid: b,
            })
        })
        .collect()
}

/// One opened bid, as the opening lists it.
#[derive(Debug, Clone)]
pub struct Opened {
    pub bid: Bid,
    pub organization_name: String,
}

/// The opening of a round: its project, the bids opened, and the draw of its panel (none
/// when the round failed).
#[derive(Debug, Clone)]
pub struct Opening {
    pub project: Project,
    pub round: i32,
    pub bids: Vec<Opened>,
    pub draw: Option<PanelDraw>,
}

/// The opening of the latest closed round: receipts, statuses and reasons, and the panel draw.
pub fn opening(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    project_id: &str,
) -> Result<Opening, AppError> {
    let p = projects::get(conn, viewer, project_id)?;
    let round = last_closed_round(&p).ok_or_else(not_closed)?;
    let mut out = Vec::new();
    for b in repo::list_round(conn, &p.id, round)? {
        if b.is(BidStatus::Withdrawn) {
            continue;
        }
        let name = crate::orgs::repo::find(conn, b.organization())?
            .map(|o| o.name)
            .unwrap_or_default();
        out.push(Opened {
            bid: b,
            organization_name: name,
        });
    }
    let draw = crate::evaluation::repo::find_draw(conn, &p.id, round)?;
    Ok(Opening {
        project: p,
        round,
        bids: out,
        draw,
    })
}
