//! The OCDS release of one public state change, rendered from the database inside the
//! transaction that made the change (just before its commit, when every other write of the
//! transaction is done), so it says what was true at that moment and is never rendered again.
//!
//! A release carries only what its change is about (OCDS releases are deltas; the record's
//! `compiledRelease` merges them): the tender and its planning when a round is published, the
//! tender's amendments, its opening, the award and its objections, the contract, each released
//! tranche as a transaction and each review as a milestone. Organizations appear in `parties`
//! with every role they hold at that moment (the merge replaces a party's `roles` whole).
//!
//! Nothing sealed is read: bids are read only at and after the opening (`project.bidding_closed`),
//! and only their organization and status. Payment references are never published.

use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use serde_json::{json, Map, Value};

use crate::audit::repo::AuditRow;
use crate::db::DbConn;
use crate::error::AppError;

/// The placeholder for the API's public base URL in stored release bodies; the reader puts the
/// configured or requested base in its place.
pub const BASE: &str = "\u{1}base";
/// The placeholder for the configured identifier scheme of credit codes.
pub const SCHEME: &str = "\u{1}scheme";

/// A release waiting for its event's sequence number.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub project_id: String,
    pub date: NaiveDateTime,
    /// The release's tag (one per release here).
    pub tag: &'static str,
    /// The release without `ocid` and `id`.
    pub body: Map<String, Value>,
}

/// The OCDS release tag of each public action; other actions are not published.
pub fn tag_of(action: &str) -> Option<&'static str> {
    Some(match action {
        "project.published" | "project.republished" => "tender",
        "project.amended" => "tenderAmendment",
        "project.bidding_closed" => "tenderUpdate",
        "project.cancelled" => "tenderCancellation",
        "project.awarded" => "award",
        "award.finalized" | "award.objection_filed" | "award.objection_resolved" => "awardUpdate",
        "contract.activated" => "contract",
        "contract.amended" => "contractAmendment",
        "contract.terminated" | "contract.completed" => "contractTermination",
        "tranche.released" | "review.passed" | "review.failed" => "implementation",
        _ => return None,
    })
}

/// An OCDS date: RFC 3339 in UTC to the second, so dates sort as strings.
pub fn date(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn day(d: NaiveDate) -> String {
    date(d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// An OCDS `Value` in yuan: the fen as a JSON number with at most two decimals (the shortest
/// decimal of the nearest double is the fen-exact amount for every amount below 2^53 fen).
pub fn value(fen: i64) -> Value {
    json!({"amount": fen as f64 / 100.0, "currency": "CNY"})
}

/// District names read while one transaction's releases are rendered: a batch of payments of
/// one district reads its bureau's name once.
pub type Buyers = std::collections::HashMap<String, String>;

/// Renders the release of `row`, when its action is public and it belongs to a project;
/// `buyers` remembers the district names read for the releases of the same transaction.
pub fn render(
    conn: &mut DbConn,
    buyers: &mut Buyers,
    row: &AuditRow,
) -> Result<Option<Rendered>, AppError> {
    let Some(tag) = tag_of(&row.action) else {
        return Ok(None);
    };
    let Some(project_id) = row.project_id.clone() else {
        return Ok(None);
    };
    let summary: Value = serde_json::from_str(&row.summary).map_err(AppError::internal)?;
    let mut r = Release {
        conn,
        buyers,
        body: Map::new(),
        parties: Vec::new(),
    };
    r.body.insert("date".into(), date(row.at).into());
    r.body.insert("tag".into(), json!([tag]));
    r.body.insert("initiationType".into(), "tender".into());
    r.body.insert("language".into(), "zh".into());
    if row.action == "tranche.released" {
        // A payment is rendered from its event alone (the event is filed under the contract's
        // district), so releasing money reads nothing more than the buyer's name.
        let Some(district_id) = row.district_id.as_deref() else {
            return Ok(None);
        };
        let buyer = r.buyer(district_id)?;
        r.body.insert("buyer".into(), buyer);
        r.transaction(row, &summary)?;
        return Ok(Some(r.finish(project_id, row.at, tag)));
    }
    let Some(p) = crate::projects::repo::find(r.conn, &project_id)? else {
        return Ok(None);
    };
    let buyer = r.buyer(&p.district_id)?;
    r.body.insert("buyer".into(), buyer);
    match row.action.as_str() {
        "project.published" | "project.republished" => {
            r.planning(&p)?;
            r.tender(&p, "active")?;
        }
        "project.amended" => {
            r.tender(&p, "active")?;
            let amendments: Vec<Value> = crate::projects::repo::amendments(r.conn, &p.id)?
                .into_iter()
                .filter(|a| a.at <= row.at)
                .map(|a| {
                    json!({
                        "id": a.id,
                        "date": date(a.at),
                        "rationale": a.reason,
                        "description": format!("bidding closes {} (was {}); changed: {}", date(a.new_close_at), date(a.old_close_at), a.changes),
                    })
                })
                .collect();
            r.tender_field("amendments", Value::Array(amendments));
        }
        "project.bidding_closed" => {
            // Read at the commit: the round's state after its close.
            let failed = p.status == crate::projects::model::ProjectStatus::Failed;
            r.tender(&p, if failed { "unsuccessful" } else { "active" })?;
            r.tenderers(&p)?;
        }
        "project.cancelled" => {
            r.tender(&p, "cancelled")?;
        }
        "project.awarded"
        | "award.finalized"
        | "award.objection_filed"
        | "award.objection_resolved" => {
            let award_id = summary["award_id"].as_str().unwrap_or_default().to_owned();
            r.award(&p, &award_id)?;
        }
        "contract.activated"
        | "contract.amended"
        | "contract.terminated"
        | "contract.completed" => {
            r.contract(&row.entity_id, &row.action, row.at)?;
        }
        "review.passed" | "review.failed" => r.milestone(&row.entity_id)?,
        _ => {}
    }
    Ok(Some(r.finish(project_id, row.at, tag)))
}

struct Release<'c> {
    conn: &'c mut DbConn,
    buyers: &'c mut Buyers,
    body: Map<String, Value>,
    parties: Vec<Value>,
}

/// How a method is procured in OCDS terms: an open call for venture philanthropy and public
/// tenders; competitive consultation (竞争性磋商) invites a shortlist after an announcement.
fn procurement_method(method: &str) -> &'static str {
    match method {
        "consultation" => "selective",
        _ => "open",
    }
}

impl Release<'_> {
    /// The release, its parties sorted by id.
    fn finish(mut self, project_id: String, date: NaiveDateTime, tag: &'static str) -> Rendered {
        let mut parties = std::mem::take(&mut self.parties);
        if !parties.is_empty() {
            parties.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
            self.body.insert("parties".into(), Value::Array(parties));
        }
        Rendered {
            project_id,
            date,
            tag,
            body: self.body,
        }
    }

    fn section(&mut self, key: &str) -> &mut Map<String, Value> {
        let v = self
            .body
            .entry(key.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        match v {
            Value::Object(m) => m,
            _ => unreachable!("sections are objects"),
        }
    }

    fn tender_field(&mut self, key: &str, v: Value) {
        self.section("tender").insert(key.to_owned(), v);
    }

    fn buyer(&mut self, district_id: &str) -> Result<Value, AppError> {
        let name = match self.buyers.get(district_id) {
            Some(name) => name.clone(),
            None => {
                let name = crate::regions::repo::find(self.conn, district_id)?
                    .map(|r| format!("{}民政局", r.name))
                    .unwrap_or_else(|| "民政局".to_owned());
                self.buyers.insert(district_id.to_owned(), name.clone());
                name
            }
        };
        let id = format!("bureau-{district_id}");
        self.parties.push(json!({
            "id": id,
            "name": name,
            "roles": ["buyer", "procuringEntity", "payer"],
        }));
        Ok(json!({"id": id, "name": name}))
    }

    /// An organization as a party with `roles`, and its reference.
    fn organization(&mut self, id: &str, roles: &[&str]) -> Result<Value, AppError> {
        let o = crate::orgs::repo::find(self.conn, id)?;
        let (name, uscc) = o.map(|o| (o.name, o.uscc)).unwrap_or_default();
        let party_id = format!("org-{id}");
        if let Some(existing) = self
            .parties
            .iter_mut()
            .find(|p| p["id"].as_str() == Some(party_id.as_str()))
        {
            let have = existing["roles"].as_array_mut().expect("roles");
            for r in roles {
                if !have.iter().any(|h| h == r) {
                    have.push((*r).into());
                }
            }
        } else {
            self.parties.push(json!({
                "id": party_id,
                "name": name,
                "identifier": {"scheme": SCHEME, "id": uscc, "legalName": name},
                "roles": roles,
            }));
        }
        Ok(json!({"id": party_id, "name": name}))
    }

    /// The needs behind the project and its budget.
    fn planning(&mut self, p: &crate::projects::model::Project) -> Result<(), AppError> {
        let ids = crate::projects::repo::need_ids(self.conn, &p.id)?;
        let mut titles = Vec::new();
        for id in &ids {
            if let Some(n) = crate::needs::repo::find(self.conn, id)? {
                titles.push(format!("{} ({})", n.title, n.id));
            }
        }
        let fund = crate::funds::repo::find(self.conn, &p.fund_id)?;
        let mut planning = json!({
            "budget": {
                "id": p.fund_id,
                "description": fund.map(|f| format!("{} ({}, {})", f.name, f.source, f.fiscal_year)).unwrap_or_default(),
                "amount": value(p.budget_ceiling_fen),
            },
        });
        if !titles.is_empty() {
            planning["rationale"] =
                format!("社区需求 / community needs: {}", titles.join("; ")).into();
        }
        self.body.insert("planning".into(), planning);
        Ok(())
    }

    /// The tender as the project stands, in `status`.
    fn tender(
        &mut self,
        p: &crate::projects::model::Project,
        status: &str,
    ) -> Result<(), AppError> {
        let spec: crate::domain::spec::ProjectSpec =
            crate::error::decode_json("projects.spec", &p.spec)?;
        let pack: Option<crate::domain::rules::RulePack> = match &p.rule_pack {
            Some(raw) => Some(crate::error::decode_json("projects.rule_pack", raw)?),
            None => None,
        };
        let procuring = self.body.get("buyer").cloned().unwrap_or(Value::Null);
        let mut t = json!({
            "id": format!("{}-r{}", p.id, p.round),
            "title": p.title,
            "description": spec.summary,
            "status": status,
            "procuringEntity": procuring,
            "value": value(p.budget_ceiling_fen),
            "procurementMethod": procurement_method(&p.method),
            "mainProcurementCategory": "services",
            "awardCriteria": "ratedCriteria",
            "awardCriteriaDetails": format!("price {} points; {}", spec.evaluation.price_points, spec.evaluation.criteria.iter().map(|c| format!("{} {} points", c.name, c.max_points)).collect::<Vec<_>>().join("; ")),
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": {
                "endDate": date(p.bid_close_at),
            },
            "contractPeriod": {"startDate": day(spec.service_start), "endDate": day(spec.service_end)},
            "items": [{
                "id": "1",
                "description": spec.services.join("; "),
                "quantity": 1,
            }],
            "documents": [{
                "id": format!("notice-{}-r{}", p.id, p.round),
                "documentType": "tenderNotice",
                "title": p.title,
                "url": format!("{BASE}/api/v1/projects/{}", p.id),
                "format": "application/json",
                "language": "zh",
            }],
        });
        if let Some(published) = p.published_at {
            t["tenderPeriod"]["startDate"] = date(published).into();
            t["datePublished"] = date(published).into();
        }
        if let Some(pack) = pack {
            t["procurementMethodDetails"] = format!("{} ({})", pack.name, pack.citation).into();
        }
        self.body.insert("tender".into(), t);
        Ok(())
    }

    /// The round's bidders at its opening: who bid, not what.
    fn tenderers(&mut self, p: &crate::projects::model::Project) -> Result<(), AppError> {
        use crate::bids::model::BidStatus;
        let bids = crate::bids::repo::list_round(self.conn, &p.id, p.round)?;
        let mut refs = Vec::new();
        for b in bids.iter().filter(|b| !b.is(BidStatus::Withdrawn)) {
            let org = b.organization().to_owned();
            let r = self.organization(&org, &["tenderer"])?;
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
        self.tender_field("numberOfTenderers", refs.len().into());
        if !refs.is_empty() {
            self.tender_field("tenderers", Value::Array(refs));
        }
        Ok(())
    }

    fn award(
        &mut self,
        p: &crate::projects::model::Project,
        award_id: &str,
    ) -> Result<(), AppError> {
        use crate::awards::model::AwardStatus;
        let n = crate::awards::service::get_notice(self.conn, award_id)?;
        let a = &n.award;
        let supplier = self.organization(&a.organization_id, &["tenderer", "supplier"])?;
        let status = match a.status {
            AwardStatus::PendingObjections => "pending",
            AwardStatus::Final => "active",
            AwardStatus::Revoked => "cancelled",
        };
        let o = n.objections;
        let mut award = json!({
            "id": a.id,
            "title": format!("{} (round {})", p.title, a.round),
            "status": status,
            "date": date(a.created_at),
            "value": value(a.amount_fen),
            "suppliers": [supplier],
            "description": format!("objections: {} open, {} upheld, {} dismissed; objection period ends {}", o.open, o.upheld, o.dismissed, date(a.objection_deadline)),
            "documents": [{
                "id": format!("award-notice-{}", a.id),
                "documentType": "awardNotice",
                "url": format!("{BASE}/api/v1/awards/{}/notice", a.id),
                "format": "application/json",
                "language": "zh",
            }],
        });
        if !n.panel.is_empty() {
            let id = format!("panel-{}-r{}", p.id, a.round);
            self.parties.push(json!({
                "id": id,
                "name": format!("评审小组 / evaluation panel: {}", n.panel.join("、")),
                "roles": ["reviewBody"],
            }));
        }
        if let Some(reason) = &a.justification {
            award["description"] = format!(
                "{}; {}",
                award["description"].as_str().unwrap_or(""),
                reason
            )
            .into();
        }
        self.body.insert("awards".into(), json!([award]));
        // A final award completes the tender of its round.
        if a.status == AwardStatus::Final {
            self.tender_field("id", format!("{}-r{}", p.id, a.round).into());
            self.tender_field("status", "complete".into());
        }
        Ok(())
    }

    fn contract(&mut self, id: &str, action: &str, at: NaiveDateTime) -> Result<(), AppError> {
        use crate::contracts::model::ContractStatus;
        let Some(c) = crate::contracts::repo::find(self.conn, id)? else {
            return Ok(());
        };
        self.organization(&c.organization_id, &["tenderer", "supplier", "payee"])?;
        let status = match c.status {
            ContractStatus::PendingSignature => "pending",
            ContractStatus::Active => "active",
            ContractStatus::Completed | ContractStatus::Terminated => "terminated",
        };
        let mut k = json!({
            "id": c.id,
            "awardID": c.award_id,
            "status": status,
            "value": value(c.amount_fen),
        });
        match action {
            "contract.activated" => {
                let signed = c.signed_by_bureau_at.max(c.signed_by_org_at);
                k["period"] =
                    json!({"startDate": day(c.service_start), "endDate": day(c.service_end)});
                if let Some(s) = signed {
                    k["dateSigned"] = date(s).into();
                }
                k["documents"] = json!([{
                    "id": format!("contract-{}", c.id),
                    "documentType": "contractSigned",
                    "url": format!("{BASE}/api/v1/contracts/{}/document", c.id),
                    "format": "text/html",
                    "language": "zh",
                }]);
                let reviews = crate::reviews::repo::of_contract(self.conn, &c.id)?;
                let milestones: Vec<Value> = reviews
                    .iter()
                    .map(|r| {
                        json!({
                            "id": r.id,
                            "title": review_title(r),
                            "type": "assessment",
                            "status": "scheduled",
                            "dueDate": day(r.due_on),
                        })
                    })
                    .collect();
                if !milestones.is_empty() {
                    k["milestones"] = Value::Array(milestones);
                }
            }
            "contract.amended" => {
                let amendments: Vec<Value> = crate::contracts::repo::amendments_of(self.conn, &c.id)?
                    .into_iter()
                    .filter(|a| a.at <= at)
                    .map(|a| {
                        json!({
                            "id": a.id,
                            "date": date(a.at),
                            "rationale": a.reason,
                            "description": format!("amount {} → {} yuan", crate::domain::Money::from_fen(a.amount_before_fen), crate::domain::Money::from_fen(a.amount_after_fen)),
                        })
                    })
                    .collect();
                k["amendments"] = Value::Array(amendments);
            }
            "contract.terminated" => {
                if let Some(reason) = &c.termination_reason {
                    k["description"] = format!("terminated: {reason}").into();
                }
            }
            "contract.completed" => {
                k["description"] = "completed: the completion review passed".into();
            }
            _ => {}
        }
        self.body.insert("contracts".into(), json!([k]));
        Ok(())
    }

    /// A released tranche: the payment as a transaction (its reference is not published). From
    /// the event alone, so releasing money reads nothing more.
    fn transaction(&mut self, row: &AuditRow, summary: &Value) -> Result<(), AppError> {
        let (Some(contract_id), Some(award_id)) = (
            summary["contract_id"].as_str(),
            summary["award_id"].as_str(),
        ) else {
            return Ok(());
        };
        let fen = summary["amount"]
            .as_str()
            .and_then(|s| crate::domain::Money::parse(s).ok())
            .map(|m| m.fen())
            .unwrap_or_default();
        let payee = format!(
            "org-{}",
            summary["organization_id"].as_str().unwrap_or_default()
        );
        let payer = self.body["buyer"].clone();
        self.body.insert(
            "contracts".into(),
            json!([{
                "id": contract_id,
                "awardID": award_id,
                "implementation": {"transactions": [{
                    "id": row.entity_id,
                    "source": format!("{BASE}/api/v1/contracts/{contract_id}/tranches"),
                    "date": date(row.at),
                    "value": value(fen),
                    "payer": payer,
                    "payee": {"id": payee},
                }]},
            }]),
        );
        Ok(())
    }

    fn milestone(&mut self, review_id: &str) -> Result<(), AppError> {
        let Some(r) = crate::reviews::repo::find(self.conn, review_id)? else {
            return Ok(());
        };
        let Some(c) = crate::contracts::repo::find(self.conn, &r.contract_id)? else {
            return Ok(());
        };
        let passed = r.status == crate::reviews::model::ReviewStatus::Passed;
        let mut m = json!({
            "id": r.id,
            "title": review_title(&r),
            "type": "assessment",
            "status": if passed { "met" } else { "notMet" },
            "dueDate": day(r.due_on),
        });
        let mut description = Vec::new();
        if let Some(s) = r.score_cents {
            description.push(format!("score {}", crate::domain::Money::from_fen(s)));
        }
        if let Some(g) = &r.grade {
            description.push(format!("grade {g}"));
        }
        if let Some(s) = &r.satisfaction_rate {
            description.push(format!("resident satisfaction {s}"));
        }
        if let Some(reason) = &r.outcome_reason {
            description.push(format!("reason {reason}"));
        }
        if !description.is_empty() {
            m["description"] = description.join("; ").into();
        }
        if let Some(at) = r.finalized_at {
            m["dateModified"] = date(at).into();
            if passed {
                m["dateMet"] = date(at).into();
            }
        }
        self.body.insert(
            "contracts".into(),
            json!([{
                "id": c.id,
                "awardID": c.award_id,
                "implementation": {"milestones": [m]},
            }]),
        );
        Ok(())
    }
}

fn review_title(r: &crate::reviews::model::Review) -> String {
    use crate::reviews::model::ReviewKind;
    let kind = match r.kind {
        ReviewKind::Midterm => "中期评估 / mid-term review",
        ReviewKind::Completion => "结项评估 / completion review",
    };
    if r.attempt > 1 {
        format!("{kind} (attempt {})", r.attempt)
    } else {
        kind.to_owned()
    }
}
