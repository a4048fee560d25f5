//! `gongyi seed-contracts`: a district of its own (region, bureau account, a fund large enough,
//! a verified organization, a published project and its bid), built through the services as
//! `seed-demo` builds its own, then many active contracts on it with releasable tranches
//! (`contracts::bulk`) — for benchmarks and drills. Works beside a running server on the same
//! database: every step is a short transaction of its own.

use chrono::{Datelike, Duration};
use serde::Serialize;
use serde_json::json;

use crate::auth::{AuthUser, RegionKind, Role};
use crate::bids::contents::{Kpi, TeamMember};
use crate::contracts::bulk::{self, Base, Plan};
use crate::db::{write_tx, DbConn, Tx};
use crate::domain::spec::{FundSource, OrgType, ProjectSpec, Rating};
use crate::domain::uscc::Uscc;
use crate::domain::Money;
use crate::error::AppError;
use crate::orgs::service::{Decision, Registration};
use crate::state::AppState;
use crate::users::service::CreateUser;

/// The project's ceiling: the bid must fit under it.
const CEILING: &str = "300000.00";

/// What the command prints: how to act as the bureau, and what it made.
#[derive(Debug, Serialize)]
pub struct Seeded {
    pub bureau_email: String,
    pub bureau_password: String,
    pub district_id: String,
    pub fund_id: String,
    pub project_id: String,
    pub organization_id: String,
    pub contracts: usize,
    pub tranches_each: usize,
    pub amount_each: Money,
    pub tranche_ids: Vec<String>,
}

fn who(conn: &mut DbConn, id: &str) -> Result<AuthUser, AppError> {
    crate::users::repo::find_auth_user(conn, id)?.ok_or_else(|| AppError::not_found("user"))
}

fn secret(prefix: &str) -> String {
    format!("{prefix}-{}", hex::encode(rand::random::<[u8; 10]>()))
}

fn user(
    tx: &mut Tx<'_>,
    email: &str,
    password: &str,
    role: Role,
    region: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<AuthUser, AppError> {
    let cmd = CreateUser {
        email: email.into(),
        name: format!("seed {}", role.as_str()),
        password: password.into(),
        role,
        region_id: region.map(str::to_owned),
        organization_id: None,
    };
    let u = crate::users::service::create_user(tx, None, cmd, now)?;
    who(tx, &u.id)
}

/// A fresh valid credit code of a civil-affairs registration (民办非企业单位) in 320114.
fn uscc() -> Result<Uscc, AppError> {
    let digits: String = (0..9)
        .map(|_| char::from(b'0' + rand::random::<u8>() % 10))
        .collect();
    Uscc::with_check(&format!("52320114{digits}"))
        .map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))
}

fn spec(district: &str, fund: &str, now: chrono::NaiveDateTime) -> Result<ProjectSpec, AppError> {
    let close = now.and_utc() + Duration::days(30);
    let start = close.date_naive() + Duration::days(1);
    serde_json::from_value(json!({
        "title": "合同拨付压测项目", "summary": "为基准测试与演练批量生成的合同所属项目", "category": "elderly",
        "region_id": district, "need_ids": [], "target_group": "辖区居民", "services": ["上门探访"],
        "objectives": [{"indicator": "服务人次", "target": "≥ 1200"}],
        "budget_ceiling": CEILING, "fund_id": fund, "method": "venture_philanthropy",
        "bid_close_at": close.to_rfc3339(), "service_start": start.to_string(),
        "service_end": (start + Duration::days(364)).to_string(), "eligibility": {},
        "evaluation": {"price_points": 20, "criteria": [{"key": "plan", "name": "服务方案", "max_points": 80}]},
        "payment_plan": [{"condition": "on_signing", "percent": 30}, {"condition": "on_completion_passed", "percent": 70}]
    }))
    .map_err(|e| AppError::internal(anyhow::anyhow!("seed spec: {e}")))
}

/// Builds the base rows and seeds `plan` on them.
pub fn seed(state: &AppState, plan: Plan) -> anyhow::Result<Seeded> {
    let mut conn = state.db.write_conn()?;
    let tx = &mut Tx::new(&mut conn);
    let now = state.clock.now_naive();
    let tag = hex::encode(rand::random::<[u8; 4]>());
    let admin = user(
        tx,
        &format!("seed-admin-{tag}@seed.local"),
        &secret("seed-admin"),
        Role::Admin,
        None,
        now,
    )?;
    let district = crate::regions::service::create_region(
        tx,
        &admin,
        crate::regions::service::CreateRegion {
            name: format!("合同种子区-{tag}"),
            kind: RegionKind::District,
            parent_id: None,
        },
        now,
    )?
    .id;
    let bureau_email = format!("bureau-{tag}@seed.local");
    let bureau_password = secret("seed-bureau");
    let bureau = user(
        tx,
        &bureau_email,
        &bureau_password,
        Role::Bureau,
        Some(&district),
        now,
    )?;
    // Room for every commitment and the project's own reservation of its ceiling.
    let ceiling = Money::parse(CEILING).map_err(|e| anyhow::anyhow!("{e}"))?;
    let total = Money::from_fen(plan.amount.fen() * plan.contracts as i64 + ceiling.fen());
    let fund = crate::funds::service::create(
        tx,
        &bureau,
        crate::funds::service::NewFund {
            name: format!("合同种子资金-{tag}"),
            district_id: district.clone(),
            fiscal_year: now.year(),
            source: FundSource::LotteryWelfare,
            total,
        },
        now,
    )?
    .id;
    let org_password = secret("seed-org");
    let (org, member) = crate::orgs::service::register(
        tx,
        Registration {
            name: format!("种子社工服务中心-{tag}"),
            uscc: uscc()?,
            org_type: OrgType::PrivateNonEnterprise,
            registered_on: now.date() - Duration::days(5 * 365),
            rating: Some(Rating::A4),
            rating_awarded_on: Some(now.date() - Duration::days(365)),
            social_workers: 6,
            district_id: district.clone(),
            contact_email: format!("contact-{tag}@seed.local"),
            account: CreateUser {
                email: format!("org-{tag}@seed.local"),
                name: "种子机构负责人".into(),
                password: org_password.clone(),
                role: Role::Org,
                region_id: None,
                organization_id: None,
            },
        },
        crate::auth::passwords::hash(&org_password)?,
        now,
    )?;
    crate::orgs::service::decide(tx, &bureau, &org.id, Decision::Verify, None, now)?;
    let member = who(tx, &member.id)?;
    let p = crate::projects::service::create(
        tx,
        &bureau,
        spec(&district, &fund, now)?,
        &state.rules,
        now,
    )?;
    let p =
        crate::projects::service::publish(tx, &bureau, &p.id, &state.rules, &state.sealer, now)?;
    let offer = crate::bids::service::Offer {
        price: Money::parse("250000.00").map_err(|e| anyhow::anyhow!("{e}"))?,
        plan: "以个案、小组、社区活动相结合的方式开展服务。".into(),
        team: vec![TeamMember {
            name: "王芳".into(),
            role: "项目主管".into(),
            certified: true,
        }],
        kpis: vec![Kpi {
            indicator: "服务人次".into(),
            target: "1200".into(),
        }],
        matching_funds: None,
    };
    let bid = write_tx(tx, |tx| {
        crate::bids::service::place(tx, &state.sealer, &member, &p.id, &offer, now)
    })?
    .bid;
    let base = Base {
        project_id: p.id.clone(),
        bid_id: bid.id,
        organization_id: org.id.clone(),
    };
    let tranche_ids = bulk::seed_active(tx, &state.rules, &base, &plan, now)?;
    Ok(Seeded {
        bureau_email,
        bureau_password,
        district_id: district,
        fund_id: fund,
        project_id: p.id,
        organization_id: org.id,
        contracts: plan.contracts,
        tranches_each: plan.tranches,
        amount_each: plan.amount,
        tranche_ids,
    })
}
