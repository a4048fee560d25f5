//! The data of the printable documents (`crate::documents`): a contract as its reader may see
//! it, and an award's public notice, with the parties' names and credit codes.

use crate::awards::service::Notice;
use crate::clock::utc;
use crate::db::DbConn;
use crate::documents::{AmendmentLine, ContractDoc, Kpi, NoticeDoc, Party, TrancheLine};
use crate::domain::Money;
use crate::error::AppError;

use super::service::View;

/// The purchaser: the civil-affairs bureau of the district (区民政局).
fn purchaser(conn: &mut DbConn, district_id: &str) -> Result<Party, AppError> {
    let name = crate::regions::repo::find(conn, district_id)?
        .map(|r| r.name)
        .unwrap_or_default();
    Ok(Party {
        name: format!("{name}民政局"),
        credit_code: None,
    })
}

fn organization(conn: &mut DbConn, id: &str) -> Result<Party, AppError> {
    let o = crate::orgs::repo::find(conn, id)?;
    Ok(Party {
        name: o.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
        credit_code: o.map(|o| o.uscc),
    })
}

fn project_title(conn: &mut DbConn, id: &str) -> Result<String, AppError> {
    Ok(crate::projects::repo::find(conn, id)?
        .map(|p| p.title)
        .unwrap_or_default())
}

pub fn contract(conn: &mut DbConn, v: View) -> Result<String, AppError> {
    let c = v.contract;
    let kpis: Vec<crate::bids::contents::Kpi> =
        crate::error::decode_json("contracts.kpis", &c.kpis)?;
    let doc = ContractDoc {
        contract_id: c.id.clone(),
        project_id: c.project_id.clone(),
        project_title: project_title(conn, &c.project_id)?,
        purchaser: purchaser(conn, &c.district_id)?,
        supplier: organization(conn, &c.organization_id)?,
        original_amount: Money::from_fen(c.original_amount_fen),
        amount: Money::from_fen(c.amount_fen),
        service_start: c.service_start,
        service_end: c.service_end,
        kpis: kpis
            .into_iter()
            .map(|k| Kpi {
                indicator: k.indicator,
                target: k.target,
            })
            .collect(),
        tranches: v
            .tranches
            .into_iter()
            .map(|t| TrancheLine {
                seq: t.seq,
                condition: t.condition,
                date: t.date,
                percent: t.percent,
                amount: Money::from_fen(t.amount_fen),
                status: t.status.as_str().into(),
                released_at: t.released_at.map(utc),
            })
            .collect(),
        amendments: v
            .amendments
            .into_iter()
            .map(|a| AmendmentLine {
                amount_before: Money::from_fen(a.amount_before_fen),
                amount_after: Money::from_fen(a.amount_after_fen),
                reason: a.reason,
                at: utc(a.at),
            })
            .collect(),
        status: c.status.as_str().into(),
        sign_deadline: utc(c.sign_deadline),
        signed_by_bureau_at: c.signed_by_bureau_at.map(utc),
        signed_by_org_at: c.signed_by_org_at.map(utc),
        termination_reason: c.termination_reason,
        created_at: utc(c.created_at),
    };
    Ok(crate::documents::contract_html(&doc))
}

pub fn notice(conn: &mut DbConn, n: Notice) -> Result<String, AppError> {
    let a = n.award;
    let p = crate::projects::repo::find(conn, &a.project_id)?
        .ok_or_else(|| AppError::not_found("award"))?;
    let doc = NoticeDoc {
        award_id: a.id.clone(),
        project_id: p.id.clone(),
        project_title: p.title.clone(),
        purchaser: purchaser(conn, &p.district_id)?,
        winner: organization(conn, &a.organization_id)?,
        amount: Money::from_fen(a.amount_fen),
        panel: n.panel,
        justification: a.justification,
        objection_deadline: utc(a.objection_deadline),
        status: a.status.as_str().into(),
        created_at: utc(a.created_at),
    };
    Ok(crate::documents::notice_html(&doc))
}
