//! Blind, final score sheets and the evaluation (sheets and ranking) as each viewer may see it.

use super::*;

/// A bid an accepted panel member may score now, with its project, spec and the expert.
struct Scoring {
    bid: Bid,
    project: Project,
    spec: ProjectSpec,
    expert: crate::experts::repo::Expert,
}

/// Checks that `actor` may score bid `bid_id` now (an accepted member of its round's panel,
/// the round scoring) and that `points` fit its panel's criteria (all of them unless
/// `draft`).
fn scoring(
    tx: &mut Tx<'_>,
    actor: &AuthUser,
    bid_id: &str,
    points: &BTreeMap<String, Decimal>,
    draft: bool,
) -> Result<Scoring, AppError> {
    let bid = crate::bids::repo::find(tx, bid_id)?.ok_or_else(|| AppError::not_found("bid"))?;
    let p = crate::projects::repo::find(tx, &bid.project_id)?
        .ok_or_else(|| AppError::not_found("bid"))?;
    if !is_accepted_member(tx, actor, &p.id, bid.round)? || bid.round != p.round {
        return Err(AppError::not_found("bid"));
    }
    bid.status.step(BidAction::Score)?;
    p.status.step(ProjectAction::Score)?;
    let spec = crate::projects::service::spec_of(&p)?;
    let errors = scoring::check_points(
        spec.evaluation
            .panel_criteria()
            .map(|c| (c.key.as_str(), c.max_points)),
        points,
        "this project",
        draft,
    );
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let expert = expert_of(tx, actor)?;
    Ok(Scoring {
        bid,
        project: p,
        spec,
        expert,
    })
}

/// Saves `sheet` as the expert's draft for bid `bid_id` (its points may be partial); 409
/// `score_final` once the sheet is submitted. The draft, and the criteria it leaves unscored.
pub fn save_draft(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    bid_id: &str,
    sheet: crate::drafts::DraftSheet,
    now: NaiveDateTime,
) -> Result<(crate::drafts::Draft, Vec<String>), AppError> {
    write_tx(conn, |tx| {
        let s = scoring(tx, actor, bid_id, &sheet.points, true)?;
        if submitted(tx, &s.bid, &s.expert.id)? {
            return Err(final_sheet());
        }
        let missing = unscored_of(&s.spec, &sheet.points);
        let d = crate::drafts::Draft::new(crate::drafts::BID, &s.bid.id, &s.expert.id, sheet, now);
        crate::drafts::save(tx, &d)?;
        Ok((d, missing))
    })
}

/// The expert's own draft for bid `bid_id` (404 `draft` when there is none, or the sheet is
/// submitted), and the criteria it leaves unscored.
pub fn draft_of(
    conn: &mut DbConn,
    actor: &AuthUser,
    bid_id: &str,
) -> Result<(crate::drafts::Draft, Vec<String>), AppError> {
    let bid = crate::bids::repo::find(conn, bid_id)?.ok_or_else(|| AppError::not_found("bid"))?;
    let p = crate::projects::repo::find(conn, &bid.project_id)?
        .ok_or_else(|| AppError::not_found("bid"))?;
    if !is_accepted_member(conn, actor, &p.id, bid.round)? {
        return Err(AppError::not_found("bid"));
    }
    let expert = expert_of(conn, actor)?;
    let d = crate::drafts::find(conn, crate::drafts::BID, &bid.id, &expert.id)?
        .ok_or_else(|| AppError::not_found("draft"))?;
    let spec = crate::projects::service::spec_of(&p)?;
    let missing = unscored_of(&spec, &d.points()?);
    Ok((d, missing))
}

fn unscored_of(spec: &ProjectSpec, points: &BTreeMap<String, Decimal>) -> Vec<String> {
    scoring::unscored(
        spec.evaluation
            .panel_criteria()
            .map(|c| (c.key.as_str(), c.max_points)),
        points,
    )
}

/// Whether the expert's sheet for `bid` is in.
fn submitted(conn: &mut DbConn, bid: &Bid, expert_id: &str) -> Result<bool, AppError> {
    Ok(repo::sheets(conn, &bid.project_id, bid.round)?
        .iter()
        .any(|s| s.bid_id == bid.id && s.expert_id == expert_id))
}

const FINAL: &str = "your sheet for this bid is submitted and final";

fn final_sheet() -> AppError {
    AppError::conflict("score_final", FINAL)
}

/// Records an accepted panel member's final sheet for a qualified bid, in place of its draft.
pub fn score(
    conn: &mut Tx<'_>,
    actor: &AuthUser,
    bid_id: &str,
    points: BTreeMap<String, Decimal>,
    comment: String,
    dissent: Option<String>,
    now: NaiveDateTime,
) -> Result<ScoreSheet, AppError> {
    write_tx(conn, |tx| {
        let Scoring {
            bid,
            project: p,
            expert,
            ..
        } = scoring(tx, actor, bid_id, &points, false)?;
        let sheet = ScoreSheet {
            id: uuid::Uuid::now_v7().to_string(),
            project_id: p.id.clone(),
            round: bid.round,
            expert_id: expert.id.clone(),
            bid_id: bid.id.clone(),
            points: crate::domain::scoring::encode_points(&points),
            comment,
            dissent,
            submitted_at: now,
        };
        repo::insert_sheet(tx, &sheet).map_err(AppError::unique_as("score_final", FINAL))?;
        crate::drafts::discard(tx, crate::drafts::BID, &bid.id, &expert.id)?;
        crate::projects::service::audit_in_project(
            tx,
            Some(&actor.id),
            "evaluation.sheet_submitted",
            ("bid", &bid.id),
            &p,
            json!({"bid_id": bid.id, "expert_id": expert.id, "points": scoring::points_as_numbers(&points), "comment": sheet.comment, "dissent": sheet.dissent}),
            now,
        )?;
        Ok(sheet)
    })
}

/// The evaluation as the viewer may see it.
pub struct EvaluationView {
    pub complete: bool,
    pub sheets: Vec<ScoreSheet>,
    pub ranking: Option<Vec<Ranked>>,
    /// The ranked organizations' names, by id.
    pub names: BTreeMap<String, String>,
}

/// A sheet's points; stored points that do not read back are an internal error.
pub fn points_of(s: &ScoreSheet) -> Result<BTreeMap<String, Decimal>, AppError> {
    crate::domain::scoring::decode_points("score_sheets.points", &s.points)
}

/// Whether the project has been awarded: from then on its panel and evaluation are public.
pub fn awarded(p: &Project) -> bool {
    matches!(p.status, ProjectStatus::Awarded | ProjectStatus::Contracted)
}

pub fn evaluation(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    project_id: &str,
    packs: &crate::domain::rules::RulePacks,
) -> Result<EvaluationView, AppError> {
    let p = crate::projects::service::get(conn, viewer, project_id)?;
    let round = crate::rounds::last_closed_round(&p).ok_or_else(crate::rounds::not_closed)?;
    let qualified: Vec<Bid> = crate::bids::repo::list_round(conn, &p.id, round)?
        .into_iter()
        .filter(|b| BidStatus::SCORED.iter().any(|s| b.is(*s)))
        .collect();
    let seats: Vec<Seat> = repo::seats(conn, &p.id, round)?
        .into_iter()
        .filter(|s| s.is(SeatStatus::Accepted))
        .collect();
    let size = repo::find_draw(conn, &p.id, round)?
        .map(|d| d.size as usize)
        .unwrap_or(usize::MAX);
    let all = repo::sheets(conn, &p.id, round)?;
    let done = |expert: &str| {
        qualified.iter().all(|b| {
            all.iter()
                .any(|s| s.expert_id == expert && s.bid_id == b.id)
        })
    };
    let complete = seats.len() >= size && seats.iter().all(|s| done(&s.expert_id));
    let is_bureau = viewer
        .is_some_and(|v| v.role == Role::Bureau && v.district_id() == Some(p.district_id.as_str()));
    let member = match viewer {
        Some(v) => is_accepted_member(conn, v, &p.id, round)?.then_some(v),
        None => None,
    };
    let sheets = if is_bureau || awarded(&p) {
        all.clone()
    } else if let Some(v) = member {
        let me = expert_of(conn, v)?;
        if done(&me.id) {
            all.clone()
        } else {
            all.iter()
                .filter(|s| s.expert_id == me.id)
                .cloned()
                .collect()
        }
    } else {
        return Err(AppError::conflict(
            "not_public_yet",
            "the evaluation is public once the project is awarded; until then only the bureau and the panel read it",
        ));
    };
    let ranking = if complete {
        let spec = crate::projects::service::spec_of(&p)?;
        let pack = crate::projects::service::pack_of(&p, packs, &spec)?;
        let opened = p.closed_at.unwrap_or(NaiveDateTime::MAX);
        let offers: Vec<scoring::Offer> = qualified
            .iter()
            .map(|b| {
                Ok(scoring::Offer {
                    bid_id: b.id.clone(),
                    organization_id: b.organization().to_owned(),
                    price: crate::domain::Money::from_fen(b.price_fen.unwrap_or(0)).to_decimal(),
                    record_points: record_points(conn, &spec.evaluation, b.organization(), opened)?,
                })
            })
            .collect::<Result<_, AppError>>()?;
        let sheets: Vec<scoring::Sheet> = all
            .iter()
            .map(|s| {
                Ok(scoring::Sheet {
                    expert_id: s.expert_id.clone(),
                    bid_id: s.bid_id.clone(),
                    points: points_of(s)?,
                })
            })
            .collect::<Result<_, AppError>>()?;
        Some(scoring::rank(
            &offers,
            &sheets,
            Decimal::from(spec.evaluation.price_points),
            pack.abnormally_low.share_of_mean,
        ))
    } else {
        None
    };
    let mut names = BTreeMap::new();
    for r in ranking.iter().flatten() {
        if !names.contains_key(&r.organization_id) {
            if let Some(o) = crate::orgs::repo::find(conn, &r.organization_id)? {
                names.insert(o.id, o.name);
            }
        }
    }
    Ok(EvaluationView {
        complete,
        sheets,
        ranking,
        names,
    })
}

/// The points of the `track_record` criteria for `organization_id`: each criterion's
/// `max_points × mean / 100`, the mean over the organization's reviews finalized at or before
/// `opened` (a review failed without a report counts 0), or its `no_record_points` without
/// one. Exact; rounded only for display, as the technical score is.
fn record_points(
    conn: &mut DbConn,
    ev: &crate::domain::spec::Evaluation,
    organization_id: &str,
    opened: NaiveDateTime,
) -> Result<Decimal, AppError> {
    let criteria: Vec<_> = ev.criteria.iter().filter(|c| !c.basis.is_panel()).collect();
    if criteria.is_empty() {
        return Ok(Decimal::ZERO);
    }
    let scores: Vec<Decimal> = crate::reviews::repo::of_organization(conn, organization_id)?
        .into_iter()
        .filter(|r| r.finalized_at.is_some_and(|at| at <= opened))
        .map(|r| {
            r.score_cents
                .map_or(Decimal::ZERO, crate::reviews::score::from_cents)
        })
        .collect();
    let mean = (!scores.is_empty())
        .then(|| scores.iter().sum::<Decimal>() / Decimal::from(scores.len() as u64));
    Ok(criteria
        .iter()
        .map(|c| match mean {
            Some(m) => Decimal::from(c.max_points) * m / Decimal::ONE_HUNDRED,
            None => Decimal::from(c.no_record_points.unwrap_or(0)),
        })
        .sum())
}

/// A round's panel: the draw, every seat with its expert's name, and the project's seed.
#[derive(Debug, Clone)]
pub struct Panel {
    pub draw: PanelDraw,
    pub seats: Vec<(Seat, String)>,
    pub seed: Option<String>,
    /// Sheets submitted, by expert id.
    pub sheets: BTreeMap<String, u32>,
}

/// The panel of the latest closed round, for the bureau and the panel's members.
pub fn panel(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    project_id: &str,
) -> Result<Panel, AppError> {
    let p = crate::projects::service::get(conn, viewer, project_id)?;
    let round = crate::rounds::last_closed_round(&p).ok_or_else(crate::rounds::not_closed)?;
    let allowed = awarded(&p)
        || match viewer {
            Some(u) if u.role == Role::Bureau => u.district_id() == Some(p.district_id.as_str()),
            Some(u) if u.role == Role::Expert => {
                let e = crate::experts::repo::find_by_user(conn, &u.id)?;
                e.is_some_and(|e| {
                    repo::seats(conn, &p.id, round)
                        .unwrap_or_default()
                        .iter()
                        .any(|s| s.expert_id == e.id && !s.is(SeatStatus::Standby))
                })
            }
            _ => false,
        };
    if !allowed {
        return Err(AppError::not_found("panel"));
    }
    let d = repo::find_draw(conn, &p.id, round)?.ok_or_else(|| AppError::not_found("panel"))?;
    let mut out = Vec::new();
    for s in repo::seats(conn, &p.id, round)? {
        let name = crate::experts::repo::find(conn, &s.expert_id)?
            .map(|e| e.name)
            .unwrap_or_default();
        out.push((s, name));
    }
    let mut sheets = BTreeMap::new();
    for sheet in repo::sheets(conn, &p.id, round)? {
        *sheets.entry(sheet.expert_id).or_insert(0u32) += 1;
    }
    Ok(Panel {
        draw: d,
        seats: out,
        seed: p.seed,
        sheets,
    })
}
