//! Placing, replacing and withdrawing a sealed bid, each checked against the deadline by the server clock inside the write transaction.

use super::*;

/// The caller's organization, verified: 403 otherwise.
pub(super) fn bidder(conn: &mut DbConn, actor: &AuthUser) -> Result<Organization, AppError> {
    let org_id = actor
        .organization_id
        .as_deref()
        .ok_or_else(AppError::forbidden)?;
    verified(crate::orgs::repo::find(conn, org_id)?)
}

pub(super) fn verified(org: Option<Organization>) -> Result<Organization, AppError> {
    let org = org.ok_or_else(AppError::forbidden)?;
    if org.status != OrgStatus::Verified {
        return Err(AppError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "organization_not_verified",
            format!(
                "the organization is {}; only verified organizations bid",
                org.status
            ),
        ));
    }
    Ok(org)
}

/// The project open for bids at `now`: 404 for drafts, 409 `deadline_passed` at or after the
/// close (even before the close job has run), 409 `invalid_state` when cancelled.
pub(super) fn open_project(
    conn: &mut DbConn,
    project_id: &str,
    now: NaiveDateTime,
) -> Result<Project, AppError> {
    // Shared lock (PostgreSQL): the close job's claim waits for bids in flight, and a bid
    // that starts after the claim sees the project closed. SQLite's single writer orders them.
    open_at(
        crate::projects::repo::find_for_share(conn, project_id)?,
        now,
    )
}

pub(super) fn open_at(p: Option<Project>, now: NaiveDateTime) -> Result<Project, AppError> {
    let p = p
        .filter(|p| !p.is(ProjectStatus::Draft))
        .ok_or_else(|| AppError::not_found("project"))?;
    use ProjectStatus::*;
    match p.status {
        Open if now < p.bid_close_at => p.status.step(ProjectAction::Bid).map(|_| p),
        Open | Evaluating | Awarded | Contracted | Failed => Err(AppError::conflict(
            "deadline_passed",
            format!(
                "bidding closed at {}",
                p.bid_close_at.and_utc().to_rfc3339()
            ),
        )),
        other => Err(other.refuse(ProjectAction::Bid)),
    }
}

/// [`bidder`] and [`open_project`] together: on PostgreSQL one round trip reads both, the
/// project and now also the organization held `FOR SHARE` (so a suspension waits for the bids
/// in flight, and a bid after it sees it); when either row is missing, the two are read apart
/// so that the caller gets the same error as from them.
pub(super) fn bidder_on_open_project(
    conn: &mut DbConn,
    actor: &AuthUser,
    project_id: &str,
    now: NaiveDateTime,
) -> Result<(Organization, Project), AppError> {
    if let Some(org_id) = actor.organization_id.as_deref() {
        if let Some((org, p)) = repo::organization_and_project_for_share(conn, org_id, project_id)?
        {
            return Ok((verified(Some(org))?, open_at(Some(p), now)?));
        }
    }
    let org = bidder(conn, actor)?;
    Ok((org, open_project(conn, project_id, now)?))
}

pub(super) fn not_eligible(failures: Vec<Failure>) -> AppError {
    let mut e = AppError::validation(
        failures
            .into_iter()
            .map(|f| FieldError::new(f.rule, f.reason))
            .collect(),
    );
    e.code = "not_eligible".into();
    e
}

pub(super) fn check_offer(
    conn: &mut Tx<'_>,
    p: &Project,
    org: &Organization,
    offer: &Offer,
    now: NaiveDateTime,
) -> Result<Credentials, AppError> {
    let spec = projects::spec_of(p)?;
    if offer.price.fen() > p.budget_ceiling_fen {
        return Err(AppError::field(
            "price",
            format!(
                "must not exceed the budget ceiling of {}",
                Money::from_fen(p.budget_ceiling_fen)
            ),
        ));
    }
    let mut creds = crate::orgs::service::credentials(org)?;
    if spec.eligibility.termination_limit().is_some() {
        creds.terminations = crate::orgs::service::terminations(conn, &org.id)?;
    }
    let failures = creds.check(
        &spec.eligibility,
        &p.district_id,
        crate::clock::cst_date(now),
    );
    if !failures.is_empty() {
        return Err(not_eligible(failures));
    }
    Ok(creds)
}

pub(super) fn contents_of(p: &Project, org_id: &str, offer: &Offer) -> BidContents {
    BidContents {
        project_id: p.id.clone(),
        round: p.round,
        organization_id: org_id.to_owned(),
        price: offer.price,
        plan: offer.plan.clone(),
        team: offer.team.clone(),
        kpis: offer.kpis.clone(),
        matching_funds: offer.matching_funds,
    }
}

/// The receipt mail, sealed in the outbox until it is sent (then emptied): it names the
/// organization and the project.
pub(super) fn mail_receipt(
    conn: &mut Tx<'_>,
    sealer: &Sealer,
    org: &Organization,
    p: &Project,
    b: &Bid,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    notify::enqueue_sealed(
        conn,
        sealer,
        &format!("bid.receipt:{}:{}", b.id, b.receipt_sha256),
        &Mail {
            to: org.contact_email.clone(),
            subject: format!("Bid receipt: {}", p.title),
            body: format!(
                "Your bid {} on \"{}\" (round {}) was received at {}.\nReceipt (SHA-256 of the canonical bid): {}\nKeep it: at the opening the receipts are published so you can check your bid was not altered.\n",
                b.id,
                p.title,
                b.round,
                b.received_at.and_utc().to_rfc3339(),
                b.receipt_sha256
            ),
        },
        now,
    )
}

/// Places a sealed bid. Runs inside the caller's write transaction (`bids::routes` wraps it
/// with the idempotency record in one), so a failure leaves nothing behind.
pub fn place(
    conn: &mut Tx<'_>,
    sealer: &Sealer,
    actor: &AuthUser,
    project_id: &str,
    offer: &Offer,
    now: NaiveDateTime,
) -> Result<BidView, AppError> {
    let (org, p) = bidder_on_open_project(conn, actor, project_id, now)?;
    let creds = check_offer(conn, &p, &org, offer, now)?;
    let contents = contents_of(&p, &org.id, offer);
    let id = uuid::Uuid::now_v7().to_string();
    let creds = serde_json::to_string(&creds).map_err(AppError::internal)?;
    let bid = Bid {
        sealed: Some(seal(sealer, &id, &contents, &creds)),
        bidder_key: bidder_key(sealer, &org.id, &p.id),
        id,
        project_id: p.id.clone(),
        round: p.round,
        organization_id: None,
        status: BidStatus::Submitted,
        contents: None,
        price_fen: None,
        credentials: None,
        receipt_sha256: contents.receipt(),
        received_at: now,
        disqualified_reasons: "[]".into(),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    repo::insert(conn, bid.clone()).map_err(AppError::unique_as(
        "bid_exists",
        "your organization has a live bid in this round; replace or withdraw it",
    ))?;
    audit_sealed(conn, sealer, actor, "bid.submitted", &bid, &p, now)?;
    mail_receipt(conn, sealer, &org, &p, &bid, now)?;
    Ok(BidView {
        bid,
        contents: Some(contents),
    })
}

/// The bid for its own organization's member: 404 for anyone else.
pub(super) fn own_bid(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &AuthUser,
    id: &str,
) -> Result<Bid, AppError> {
    repo::find(conn, id)?
        .filter(|b| {
            actor
                .organization_id
                .as_deref()
                .is_some_and(|org| is_bidders(sealer, b, org))
        })
        .ok_or_else(|| AppError::not_found("bid"))
}

/// Replaces a sealed bid with a new receipt, inside the caller's write transaction.
pub fn replace(
    conn: &mut Tx<'_>,
    sealer: &Sealer,
    actor: &AuthUser,
    id: &str,
    offer: &Offer,
    now: NaiveDateTime,
) -> Result<BidView, AppError> {
    let b = own_bid(conn, sealer, actor, id)?;
    let (org, p) = bidder_on_open_project(conn, actor, &b.project_id, now)?;
    b.status.step(BidAction::Replace)?;
    if b.round != p.round {
        return Err(b.status.refuse(BidAction::Replace));
    }
    let creds = check_offer(conn, &p, &org, offer, now)?;
    let contents = contents_of(&p, &org.id, offer);
    let receipt = contents.receipt();
    let creds = serde_json::to_string(&creds).map_err(AppError::internal)?;
    let sealed = seal(sealer, &b.id, &contents, &creds);
    if !repo::reseal(conn, &b.id, b.version, b.status, &sealed, &receipt, now)? {
        return Err(AppError::concurrent_update("bid"));
    }
    let bid = repo::find(conn, &b.id)?.ok_or_else(|| AppError::not_found("bid"))?;
    audit_sealed(conn, sealer, actor, "bid.replaced", &bid, &p, now)?;
    mail_receipt(conn, sealer, &org, &p, &bid, now)?;
    Ok(BidView {
        bid,
        contents: Some(contents),
    })
}

pub fn withdraw(
    conn: &mut Tx<'_>,
    sealer: &Sealer,
    actor: &AuthUser,
    id: &str,
    now: NaiveDateTime,
) -> Result<BidView, AppError> {
    write_tx(conn, |tx| {
        let b = own_bid(tx, sealer, actor, id)?;
        let p = open_project(tx, &b.project_id, now)?;
        let to = b.status.step(BidAction::Withdraw)?;
        if b.round != p.round {
            return Err(b.status.refuse(BidAction::Withdraw));
        }
        if !repo::withdraw(tx, &b.id, b.version, b.status, to, now)? {
            return Err(AppError::concurrent_update("bid"));
        }
        let bid = repo::find(tx, &b.id)?.ok_or_else(|| AppError::not_found("bid"))?;
        audit_sealed(tx, sealer, actor, "bid.withdrawn", &bid, &p, now)?;
        Ok(BidView {
            bid,
            contents: None,
        })
    })
}
