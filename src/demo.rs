//! `gongyi seed-demo`: fills an empty database with a believable district — streets and
//! communities, a user for each role, ~40 needs in every status from every channel, two
//! funds, projects in draft and open, and one project walked in the past from its publication
//! through sealed bids, a drawn panel, the award and its contract to both signatures and the
//! first release — so a newcomer can explore the API at once.

use chrono::{Duration, NaiveDateTime, Utc};
use serde_json::json;

use crate::auth::{AuthUser, RegionKind, Role};
use crate::db::{DbConn, Tx};
use crate::domain::spec::{Category, FundSource, ProjectSpec, Source, Urgency};
use crate::domain::Money;
use crate::error::AppError;
use crate::projects::model::ProjectStatus;
use crate::state::AppState;
use crate::users::service::CreateUser;

/// The password of every demo account (demo data only; change it before real use).
pub const DEMO_PASSWORD: &str = "gongyi-demo-2026";

fn who(conn: &mut DbConn, id: &str) -> Result<AuthUser, AppError> {
    crate::users::repo::find_auth_user(conn, id)?.ok_or_else(|| AppError::not_found("user"))
}

fn account(
    conn: &mut Tx<'_>,
    email: &str,
    name: &str,
    role: Role,
    region: Option<&str>,
) -> Result<AuthUser, AppError> {
    let now = Utc::now().naive_utc();
    let cmd = CreateUser {
        email: email.into(),
        name: name.into(),
        password: DEMO_PASSWORD.into(),
        role,
        region_id: region.map(str::to_owned),
        organization_id: None,
    };
    let u = crate::users::service::create_user(conn, None, cmd, now)?;
    println!("  {:<10} {:<28} {}", role.as_str(), email, DEMO_PASSWORD);
    who(conn, &u.id)
}

fn region(
    conn: &mut Tx<'_>,
    admin: &AuthUser,
    name: &str,
    kind: RegionKind,
    parent: Option<&str>,
) -> Result<String, AppError> {
    let cmd = crate::regions::service::CreateRegion {
        name: name.into(),
        kind,
        parent_id: parent.map(str::to_owned),
    };
    Ok(crate::regions::service::create_region(conn, admin, cmd, Utc::now().naive_utc())?.id)
}

/// The district the demo builds: its regions and the accounts that act in it.
struct District {
    admin: AuthUser,
    id: String,
    street_ids: Vec<String>,
    communities: Vec<(String, String)>,
    bureau: AuthUser,
    street_staff: Vec<AuthUser>,
    workers: Vec<AuthUser>,
}

fn now() -> chrono::NaiveDateTime {
    Utc::now().naive_utc()
}

pub fn seed(state: &AppState) -> anyhow::Result<()> {
    let mut conn = state.db.write_conn()?;
    let tx = &mut Tx::new(&mut conn);
    if !crate::regions::repo::list(tx, None, None, None, 1)?.is_empty() {
        anyhow::bail!("seed-demo fills an empty database, and this one has regions already");
    }
    println!("demo accounts (role, email, password):");
    let district = regions_and_accounts(tx)?;
    let accepted = needs(tx, &district)?;
    let funds = funds(tx, &district)?;
    let made = projects(tx, state, &district, &funds, &accepted)?;
    let contracts = contracts(tx, state, &district, &funds)?;
    let republished = failed_round(tx, state, &district, &funds)?;
    println!(
        "\nregions: 1 district, {} streets, {} communities",
        district.street_ids.len(),
        district.communities.len()
    );
    println!("needs: 40 (submitted, returned, forwarded, rejected, accepted, merged, in_project)");
    println!("experts: {DEMO_EXPERTS} in the pool, 14 per category (expert3 and expert6 declared ties to the demo organization, so they are never drawn for its bids; expert{DEMO_EXPERTS} works for the bureau, so never sits on its panels)");
    let first = crate::users::repo::find_by_email(tx, "expert@gongyi.local")?
        .ok_or_else(|| anyhow::anyhow!("the demo expert is missing"))?;
    let first = who(tx, &first.id)?;
    println!(
        "  expert@gongyi.local sits on {} evaluation and {} review panels of the demo (GET /api/v1/me/assignments)",
        crate::evaluation::service::assignments(tx, &first, None, 100)?.len(),
        crate::reviews::service::assignments(tx, &first, None, 100)?.len()
    );
    println!(
        "funds: 2; projects: {}",
        made.iter()
            .map(|(t, s)| format!("{t} ({s})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("a round that failed (no bid by its close) and was published again: {republished} (round 2, open)");
    println!("contracts (signed by both sides, the first tranche paid; GET /api/v1/contracts and /api/v1/reviews as bureau@, org@ or expert@gongyi.local):");
    for (title, status, reviews) in &contracts {
        println!("  {title}: project {}, {reviews}", status.as_str());
    }
    println!("\nsign in: POST /api/v1/auth/login {{\"email\":\"bureau@gongyi.local\",\"password\":\"{DEMO_PASSWORD}\"}}");
    Ok(())
}

/// An admin, the district with three streets of two communities each, and an account for
/// every role.
fn regions_and_accounts(conn: &mut Tx<'_>) -> Result<District, AppError> {
    let admin = match crate::users::repo::any_admin(conn)? {
        true => {
            println!("  admin      (your existing admin)");
            // Regions need an actor; use a dedicated demo admin so the audit trail says so.
            account(
                conn,
                "demo-admin@gongyi.local",
                "演示管理员",
                Role::Admin,
                None,
            )?
        }
        false => account(conn, "admin@gongyi.local", "平台管理员", Role::Admin, None)?,
    };
    let id = region(conn, &admin, "雨花台区", RegionKind::District, None)?;
    let streets = [
        ("赛虹桥街道", ["虹苑社区", "油坊桥社区"]),
        ("雨花街道", ["雨花新村社区", "凤台社区"]),
        ("西善桥街道", ["岱山社区", "梅山社区"]),
    ];
    let mut communities = Vec::new();
    let mut street_ids = Vec::new();
    for (s, cs) in streets {
        let sid = region(conn, &admin, s, RegionKind::Street, Some(&id))?;
        for c in cs {
            communities.push((
                sid.clone(),
                region(conn, &admin, c, RegionKind::Community, Some(&sid))?,
            ));
        }
        street_ids.push(sid);
    }
    let bureau = account(
        conn,
        "bureau@gongyi.local",
        "区民政局 王科长",
        Role::Bureau,
        Some(&id),
    )?;
    let mut street_staff = Vec::new();
    for (i, sid) in street_ids.iter().enumerate() {
        street_staff.push(account(
            conn,
            &format!("street{}@gongyi.local", i + 1),
            &format!("街道干部{}", i + 1),
            Role::Street,
            Some(sid),
        )?);
    }
    let mut workers = Vec::new();
    for (i, (_, cid)) in communities.iter().enumerate() {
        workers.push(account(
            conn,
            &format!("community{}@gongyi.local", i + 1),
            &format!("社区社工{}", i + 1),
            Role::Community,
            Some(cid),
        )?);
    }
    Ok(District {
        admin,
        id,
        street_ids,
        communities,
        bureau,
        street_staff,
        workers,
    })
}

/// 40 needs across categories, channels and urgency, moved through every status; the ids of
/// the accepted ones left unmerged.
fn needs(conn: &mut Tx<'_>, d: &District) -> Result<Vec<String>, AppError> {
    let topics = [
        ("独居老人助餐", Category::Elderly),
        ("老年人智能手机培训", Category::Elderly),
        ("儿童课后托管", Category::ChildrenYouth),
        ("青少年心理辅导", Category::ChildrenYouth),
        ("残疾人康复训练", Category::Disability),
        ("困难家庭帮扶", Category::Hardship),
        ("楼道议事会", Category::CommunityGovernance),
        ("广场舞噪音调解", Category::Mediation),
        ("社区健康讲座", Category::Health),
        ("志愿者队伍建设", Category::Volunteering),
        ("社区运动会", Category::CultureSports),
        ("加装电梯协调", Category::CommunityGovernance),
    ];
    let sources = [
        Source::Grid,
        Source::Hotline12345,
        Source::Wechat,
        Source::App,
        Source::Visit,
        Source::Meeting,
    ];
    let urgencies = [Urgency::Low, Urgency::Medium, Urgency::High];
    let mut needs = Vec::new();
    for i in 0..40 {
        let (topic, category) = topics[i % topics.len()];
        let source = sources[i % sources.len()];
        let w = &d.workers[i % d.workers.len()];
        let cmd = crate::needs::service::NewNeed {
            title: format!("{topic}（{}）", i + 1),
            description: format!(
                "居民通过{}反映：希望社区开展{topic}相关服务。",
                source.as_str()
            ),
            category,
            source,
            external_ref: (source == Source::Hotline12345)
                .then(|| format!("12345-2026-{:05}", 1000 + i)),
            beneficiary_group: "辖区居民".into(),
            beneficiaries: 20 + (i as i64 * 7) % 180,
            urgency: urgencies[i % 3],
        };
        let n = crate::needs::service::submit(conn, w, cmd, now())?;
        crate::needs::service::support(conn, w, &n.id, 1 + (i as i64 * 13) % 60, now())?;
        needs.push((n.id, i % d.workers.len()));
    }
    let street_of = |wi: usize| &d.street_staff[wi / 2];
    let mut accepted = Vec::new();
    for (k, (id, wi)) in needs.iter().enumerate() {
        let st = street_of(*wi);
        match k % 10 {
            0 | 1 => {} // submitted
            2 => {
                crate::needs::service::give_back(
                    conn,
                    st,
                    id,
                    "请补充受益人数和具体服务时间".into(),
                    now(),
                )?;
            }
            3 => {
                crate::needs::service::forward(conn, st, id, now())?; // forwarded
            }
            4 => {
                crate::needs::service::forward(conn, st, id, now())?;
                crate::needs::service::reject(
                    conn,
                    &d.bureau,
                    id,
                    "属于基本公共服务，由职能部门承担".into(),
                    now(),
                )?;
            }
            _ => {
                crate::needs::service::forward(conn, st, id, now())?;
                crate::needs::service::accept(conn, &d.bureau, id, now())?;
                accepted.push(id.clone());
            }
        }
    }
    // Merge three duplicates into the first accepted need.
    for dup in accepted.split_off(accepted.len() - 3) {
        crate::needs::service::merge(conn, &d.bureau, &dup, &accepted[0], now())?;
    }
    Ok(accepted)
}

/// The two funds: the lottery welfare fund (公益创投) and the district's fiscal budget.
struct Funds {
    lottery: String,
    fiscal: String,
}

fn funds(conn: &mut Tx<'_>, d: &District) -> Result<Funds, AppError> {
    let mut fund = |name: &str, source: FundSource, total: &str| -> Result<String, AppError> {
        let cmd = crate::funds::service::NewFund {
            name: name.into(),
            district_id: d.id.clone(),
            fiscal_year: 2026,
            source,
            total: Money::parse(total).map_err(|e| AppError::internal(anyhow::anyhow!("{e}")))?,
        };
        Ok(crate::funds::service::create(conn, &d.bureau, cmd, now())?.id)
    };
    let lottery = fund(
        "2026年福彩公益金公益创投",
        FundSource::LotteryWelfare,
        "5000000.00",
    )?;
    let fiscal = fund("2026年区财政购买服务资金", FundSource::Fiscal, "3000000.00")?;
    Ok(Funds { lottery, fiscal })
}

/// Four projects: two open (one carrying accepted needs) and two drafts; their titles and
/// whether each was published.
fn projects(
    conn: &mut Tx<'_>,
    state: &AppState,
    d: &District,
    funds: &Funds,
    accepted: &[String],
) -> Result<Vec<(&'static str, ProjectStatus)>, AppError> {
    let close = Utc::now() + Duration::days(30);
    let spec = |title: &str,
                category: &str,
                fund_id: &str,
                budget: &str,
                method: &str,
                need_ids: Vec<String>|
     -> ProjectSpec {
        let start = close.date_naive() + Duration::days(1);
        let price = if method == "venture_philanthropy" {
            0
        } else {
            20
        };
        serde_json::from_value(json!({
            "title": title, "summary": format!("{title}：面向辖区居民的专业社会工作服务"), "category": category,
            "region_id": d.street_ids[0], "need_ids": need_ids, "target_group": "辖区居民",
            "services": ["个案服务", "小组活动", "社区活动"],
            "objectives": [{"indicator": "服务人次", "target": "≥ 1200"}, {"indicator": "居民满意度", "target": "≥ 90%"}],
            "budget_ceiling": budget, "fund_id": fund_id, "method": method,
            "bid_close_at": close.to_rfc3339(), "service_start": start.to_string(),
            "service_end": (start + Duration::days(364)).to_string(),
            "eligibility": {"min_registered_years": 1, "min_social_workers": 2},
            "evaluation": {"price_points": price, "criteria": [
                {"key": "plan", "name": "服务方案", "max_points": 50 - price / 2},
                {"key": "team", "name": "团队与资质", "max_points": 30 - price / 2},
                {"key": "record", "name": "过往业绩", "max_points": 20}]},
            "payment_plan": [{"condition": "on_signing", "percent": 30}, {"condition": "on_midterm_passed", "percent": 40},
                             {"condition": "on_completion_passed", "percent": 30}]
        }))
        .expect("demo spec is valid JSON")
    };
    let mut made = Vec::new();
    for (title, cat, f, budget, method, ns, publish) in [
        (
            "社区居家养老助餐服务",
            "elderly",
            &funds.lottery,
            "600000.00",
            "venture_philanthropy",
            accepted[..2].to_vec(),
            true,
        ),
        (
            "青少年成长陪伴计划",
            "children_youth",
            &funds.lottery,
            "300000.00",
            "venture_philanthropy",
            vec![],
            true,
        ),
        (
            "困难家庭综合帮扶",
            "hardship",
            &funds.fiscal,
            "800000.00",
            "consultation",
            vec![],
            false,
        ),
        (
            "社区协商议事能力建设",
            "community_governance",
            &funds.fiscal,
            "200000.00",
            "venture_philanthropy",
            vec![],
            false,
        ),
    ] {
        let p = crate::projects::service::create(
            conn,
            &d.bureau,
            spec(title, cat, f, budget, method, ns),
            &state.rules,
            now(),
        )?;
        let p = if publish {
            crate::projects::service::publish(
                conn,
                &d.bureau,
                &p.id,
                &state.rules,
                &state.sealer,
                now(),
            )?
        } else {
            p
        };
        made.push((title, p.status));
    }
    Ok(made)
}

/// The demo organization's credit code, before its check character.
const DEMO_ORG_USCC: &str = "52320114MJ0000001";

/// How many experts the demo pool holds, and how many categories each covers.
pub const DEMO_EXPERTS: usize = 20;
const SPECIALTIES_EACH: usize = 7;

/// The demo pool: `expert@gongyi.local` and `expert2` … `expert20@gongyi.local`, each covering
/// seven of the ten categories so that every category has 14 specialists — enough for the
/// largest panel of any rule pack (7, tender at 10 million yuan or more) with as many
/// alternates. The last expert works for the district's bureau (so never sits on its panels).
fn experts(
    conn: &mut Tx<'_>,
    admin: &AuthUser,
    district_id: &str,
    at: NaiveDateTime,
) -> Result<Vec<(String, AuthUser)>, AppError> {
    let surnames = ["李", "陈", "赵", "王", "刘", "周", "吴", "孙", "郑", "冯"];
    let titles = ["教授", "副教授", "研究员", "高级社工师", "注册会计师"];
    let categories = Category::ALL;
    let mut out = Vec::new();
    for i in 0..DEMO_EXPERTS {
        let email = match i {
            0 => "expert@gongyi.local".to_owned(),
            _ => format!("expert{}@gongyi.local", i + 1),
        };
        let title = titles[i % titles.len()];
        let specialties = (0..categories.len())
            .filter(|c| (i + c) % categories.len() < SPECIALTIES_EACH)
            .map(|c| categories[c])
            .collect();
        let cmd = crate::experts::service::NewExpert {
            account: CreateUser {
                email: email.clone(),
                name: format!("{}{title} (专家{})", surnames[i % surnames.len()], i + 1),
                password: DEMO_PASSWORD.into(),
                role: Role::Expert,
                region_id: None,
                organization_id: None,
            },
            title: title.into(),
            specialties,
            region_id: None,
            bureau_district_id: (i + 1 == DEMO_EXPERTS).then(|| district_id.to_owned()),
        };
        let hash = crate::auth::passwords::hash(DEMO_PASSWORD)?;
        let e = crate::experts::service::create(conn, admin, cmd, hash, at)?;
        out.push((e.id.clone(), who(conn, &e.user_id)?));
    }
    println!(
        "  {:<10} {:<28} {} (and expert2 … expert{DEMO_EXPERTS}@gongyi.local, the same password)",
        "expert", "expert@gongyi.local", DEMO_PASSWORD
    );
    Ok(out)
}

/// Declared relationships (政府采购评审专家管理办法 art 16 recusal): two experts who worked for
/// the demo organization within three years, so they are never drawn for its bids.
fn relationships(
    conn: &mut Tx<'_>,
    admin: &AuthUser,
    experts: &[(String, AuthUser)],
    uscc: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let uscc = crate::domain::uscc::Uscc::with_check(uscc)
        .map_err(|e| AppError::internal(anyhow::anyhow!("demo credit code: {e:?}")))?;
    for (i, kind) in [(2, "employment"), (5, "director")] {
        crate::experts::service::add_relationship(
            conn,
            admin,
            &experts[i].0,
            crate::experts::service::NewRelationship {
                uscc: uscc.clone(),
                kind: kind.into(),
                since: (at - Duration::days(3 * 365)).date(),
                until: Some((at - Duration::days(200)).date()),
            },
            at,
        )?;
    }
    Ok(())
}

/// A verified organization with its account `org@gongyi.local`.
fn organization(conn: &mut Tx<'_>, d: &District, at: NaiveDateTime) -> Result<AuthUser, AppError> {
    let uscc = crate::domain::uscc::Uscc::with_check(DEMO_ORG_USCC)
        .map_err(|e| AppError::internal(anyhow::anyhow!("demo credit code: {e:?}")))?;
    let r = crate::orgs::service::Registration {
        name: "雨花台区阳光社会工作服务中心".into(),
        uscc,
        org_type: crate::domain::spec::OrgType::PrivateNonEnterprise,
        registered_on: (at - Duration::days(6 * 365)).date(),
        rating: Some(crate::domain::spec::Rating::parse("4A").expect("4A is a rating")),
        rating_awarded_on: Some((at - Duration::days(400)).date()),
        social_workers: 8,
        district_id: d.id.clone(),
        contact_email: "org@gongyi.local".into(),
        account: CreateUser {
            email: "org@gongyi.local".into(),
            name: "阳光社工 张主任".into(),
            password: DEMO_PASSWORD.into(),
            role: Role::Org,
            region_id: None,
            organization_id: None,
        },
    };
    let hash = crate::auth::passwords::hash(DEMO_PASSWORD)?;
    let (org, user) = crate::orgs::service::register(conn, r, hash, at)?;
    crate::orgs::service::decide(
        conn,
        &d.bureau,
        &org.id,
        crate::orgs::service::Decision::Verify,
        None,
        at + Duration::hours(2),
    )?;
    println!(
        "  {:<10} {:<28} {}",
        "org", "org@gongyi.local", DEMO_PASSWORD
    );
    who(conn, &user.id)
}

/// The contracts of the demo, each walked in the past to a different point of its reviews:
/// the contract's title, the project's status, and where its reviews stand.
fn contracts(
    conn: &mut Tx<'_>,
    state: &AppState,
    d: &District,
    funds: &Funds,
) -> Result<Vec<(&'static str, ProjectStatus, &'static str)>, AppError> {
    let first = now() - Duration::days(430);
    let admin = d.admin.clone();
    let pool = experts(conn, &admin, &d.id, first)?;
    let org = organization(conn, d, first)?;
    relationships(conn, &admin, &pool, DEMO_ORG_USCC, first)?;
    let experts: Vec<AuthUser> = pool.into_iter().map(|(_, u)| u).collect();
    let cx = crate::reviews::service::Rules {
        packs: &state.rules,
        settings: &state.settings.reviews,
    };
    let walk = Walk {
        state,
        d,
        experts: &experts,
        org: &org,
        cx,
    };
    // (title, published days ago, fund, how far its reviews go); the fourth contract's first
    // tranche is paid late (after its `release_due`), so the late-payment report shows one.
    let plan: [(&'static str, i64, &str, Reviews); 6] = [
        (
            "社区长者助餐与探访（已签约）",
            60,
            &funds.lottery,
            Reviews::Scheduled,
        ),
        (
            "困境儿童课后托管（中期评估待报告）",
            190,
            &funds.fiscal,
            Reviews::Open,
        ),
        (
            "残疾人康复辅具服务（中期评分中）",
            200,
            &funds.lottery,
            Reviews::Scoring,
        ),
        (
            "社区心理健康关爱（中期通过）",
            240,
            &funds.fiscal,
            Reviews::Passed,
        ),
        (
            "老旧小区睦邻互助（中期未通过，整改中）",
            205,
            &funds.lottery,
            Reviews::Failed,
        ),
        (
            "长者智慧助老课堂（已结项）",
            430,
            &funds.fiscal,
            Reviews::Completed,
        ),
    ];
    let mut out = Vec::new();
    for (i, (title, ago, fund, reviews)) in plan.into_iter().enumerate() {
        let t0 = now() - Duration::days(ago);
        let paid_after = Duration::days(if i == 3 { 40 } else { 5 });
        let (status, contract) =
            contracted(conn, state, d, fund, &experts, &org, title, t0, paid_after)?;
        walk.reviews(conn, &contract, reviews)?;
        out.push((title, status, reviews.label()));
    }
    Ok(out)
}

/// A project whose first round closed without a bid (failed) and was published again: round 2
/// open. Its title.
fn failed_round(
    conn: &mut Tx<'_>,
    state: &AppState,
    d: &District,
    funds: &Funds,
) -> Result<&'static str, AppError> {
    let title = "社区青少年暑期托管（二次公告）";
    let t0 = now() - Duration::days(30);
    let close = (t0 + Duration::days(14)).and_utc();
    let start = (now() + Duration::days(40)).date();
    let spec: ProjectSpec = serde_json::from_value(json!({
        "title": title, "summary": "为双职工家庭子女提供暑期托管与课业辅导", "category": "children_youth",
        "region_id": d.street_ids[0], "need_ids": [], "target_group": "6–14 岁儿童",
        "services": ["暑期托管", "课业辅导"],
        "objectives": [{"indicator": "托管人次", "target": "≥ 3000"}],
        "budget_ceiling": "150000.00", "fund_id": funds.fiscal, "method": "venture_philanthropy",
        "bid_close_at": close.to_rfc3339(), "service_start": start.to_string(),
        "service_end": (start + Duration::days(180)).to_string(),
        "evaluation": {"price_points": 20, "criteria": [
            {"key": "plan", "name": "服务方案", "max_points": 50},
            {"key": "team", "name": "团队与资质", "max_points": 30}]},
        "payment_plan": [{"condition": "on_signing", "percent": 50}, {"condition": "on_completion_passed", "percent": 50}]
    }))
    .map_err(|e| AppError::internal(anyhow::anyhow!("demo spec: {e}")))?;
    let p = crate::projects::service::create(conn, &d.bureau, spec, &state.rules, t0)?;
    crate::projects::service::publish(conn, &d.bureau, &p.id, &state.rules, &state.sealer, t0)?;
    let closed_at = close.naive_utc() + Duration::minutes(1);
    crate::rounds::close_round(conn, &state.sealer, &state.rules, &p.id, closed_at)?;
    crate::projects::service::republish(
        conn,
        &d.bureau,
        &p.id,
        (now() + Duration::days(20)).and_utc(),
        &state.rules,
        &state.sealer,
        closed_at + Duration::days(1),
    )?;
    Ok(title)
}

/// How far a demo contract's reviews are walked.
#[derive(Clone, Copy)]
enum Reviews {
    /// Signed recently: both reviews scheduled.
    Scheduled,
    /// The mid-term open, its report awaited.
    Open,
    /// The mid-term reported, two of three sheets in.
    Scoring,
    /// The mid-term passed, its tranche paid.
    Passed,
    /// The mid-term failed: its tranche withheld, the re-review scheduled.
    Failed,
    /// Both reviews passed (the completion with a resident survey), every tranche paid.
    Completed,
}

impl Reviews {
    fn label(self) -> &'static str {
        match self {
            Reviews::Scheduled => "reviews scheduled",
            Reviews::Open => "mid-term review open",
            Reviews::Scoring => "mid-term review scoring",
            Reviews::Passed => "mid-term review passed",
            Reviews::Failed => "mid-term review failed, re-review scheduled",
            Reviews::Completed => "completed",
        }
    }
}

/// Who walks the demo's reviews.
struct Walk<'a> {
    state: &'a AppState,
    d: &'a District,
    experts: &'a [AuthUser],
    org: &'a AuthUser,
    cx: crate::reviews::service::Rules<'a>,
}

/// 10:00 in China on `day`.
fn cst_morning(day: chrono::NaiveDate) -> NaiveDateTime {
    day.and_hms_opt(2, 0, 0).expect("02:00 exists")
}

impl Walk<'_> {
    fn reviews(&self, conn: &mut Tx<'_>, contract: &str, how: Reviews) -> Result<(), AppError> {
        use crate::reviews::repo::ReviewKind;
        let good = [31, 18, 18, 22];
        match how {
            Reviews::Scheduled => Ok(()),
            Reviews::Open => self.midterm(conn, contract, 0, good).map(|_| ()),
            Reviews::Scoring => self.midterm(conn, contract, 2, good).map(|_| ()),
            Reviews::Passed => {
                let at = self.midterm(conn, contract, 3, good)?;
                self.release(conn, contract, "on_midterm_passed", at + Duration::days(3))
            }
            Reviews::Failed => self
                .midterm(conn, contract, 3, [20, 10, 12, 13])
                .map(|_| ()),
            Reviews::Completed => {
                let at = self.midterm(conn, contract, 3, good)?;
                self.release(conn, contract, "on_midterm_passed", at + Duration::days(3))?;
                let r = self.review(conn, contract, ReviewKind::Completion)?;
                let (at, panel) = self.open(conn, &r)?;
                crate::reviews::service::record_survey(
                    conn,
                    &self.d.bureau,
                    contract,
                    crate::reviews::service::NewSurvey {
                        respondents: 120,
                        satisfied: 111,
                        method: "questionnaire".into(),
                        surveyed_on: r.due_on - Duration::days(5),
                    },
                    self.cx,
                    at + Duration::days(9),
                )?;
                let at = self.score(conn, &r, &panel, [32, 18, 17, 22], at)?;
                self.release(
                    conn,
                    contract,
                    "on_completion_passed",
                    at + Duration::days(3),
                )
            }
        }
    }

    fn review(
        &self,
        conn: &mut Tx<'_>,
        contract: &str,
        kind: crate::reviews::repo::ReviewKind,
    ) -> Result<crate::reviews::repo::Review, AppError> {
        crate::reviews::repo::of_contract(conn, contract)?
            .into_iter()
            .find(|r| r.kind == kind && r.attempt == 1)
            .ok_or_else(|| AppError::not_found("review"))
    }

    /// Opens the review on its opening day and the drawn panel accepts: when it opened, and
    /// its members.
    fn open(
        &self,
        conn: &mut Tx<'_>,
        r: &crate::reviews::repo::Review,
    ) -> Result<(NaiveDateTime, Vec<AuthUser>), AppError> {
        let at = cst_morning(r.opens_on);
        crate::reviews::service::open(conn, &r.id, at)?;
        let mut panel = Vec::new();
        for e in self.experts {
            for (seat, _) in crate::reviews::service::assignments(conn, e, None, 100)? {
                if seat.review_id == r.id && seat.is(crate::evaluation::repo::SeatStatus::Invited) {
                    crate::reviews::service::accept(conn, e, &seat.id, at + Duration::hours(2))?;
                    panel.push(e.clone());
                }
            }
        }
        Ok((at, panel))
    }

    /// The organization reports a day before the due day and `scorers` score with `points`;
    /// when the last one did.
    fn score(
        &self,
        conn: &mut Tx<'_>,
        r: &crate::reviews::repo::Review,
        scorers: &[AuthUser],
        points: [i64; 4],
        opened: NaiveDateTime,
    ) -> Result<NaiveDateTime, AppError> {
        let reported = cst_morning(r.due_on - Duration::days(1)).max(opened + Duration::hours(3));
        let contract = crate::contracts::repo::find(conn, &r.contract_id)?
            .ok_or_else(|| AppError::not_found("contract"))?;
        let kpis: Vec<crate::bids::contents::Kpi> =
            serde_json::from_str(&contract.kpis).unwrap_or_default();
        crate::reviews::service::report(
            conn,
            self.org,
            &r.id,
            crate::reviews::service::Report {
                summary: "按计划推进：服务台账、满意度回访与经费使用均已整理归档。".into(),
                kpi_results: kpis
                    .iter()
                    .map(|k| crate::reviews::service::KpiResult {
                        indicator: k.indicator.clone(),
                        actual: format!("达成（目标 {}）", k.target),
                    })
                    .collect(),
                spending: vec![crate::reviews::service::Spending {
                    item: "人员与服务经费".into(),
                    budgeted: Money::from_fen(contract.amount_fen),
                    spent: Money::from_fen(contract.amount_fen / 2),
                }],
            },
            reported,
        )?;
        let mut at = reported;
        for (i, e) in scorers.iter().enumerate() {
            at = reported + Duration::days(1) + Duration::hours(i as i64);
            let keys = ["implementation", "inputs", "finance", "outcomes"];
            let p = keys
                .iter()
                .zip(points)
                .map(|(k, v)| (k.to_string(), rust_decimal::Decimal::from(v - i as i64 % 2)))
                .collect();
            crate::reviews::service::score_sheet(
                conn,
                e,
                &r.id,
                p,
                "台账完整，服务对象反馈良好".into(),
                self.cx,
                at,
            )?;
        }
        Ok(at)
    }

    /// The mid-term opened, reported on and scored by `sheets` experts (none: left open).
    fn midterm(
        &self,
        conn: &mut Tx<'_>,
        contract: &str,
        sheets: usize,
        points: [i64; 4],
    ) -> Result<NaiveDateTime, AppError> {
        let r = self.review(conn, contract, crate::reviews::repo::ReviewKind::Midterm)?;
        let (at, panel) = self.open(conn, &r)?;
        if sheets == 0 {
            return Ok(at);
        }
        self.score(conn, &r, &panel[..sheets.min(panel.len())], points, at)
    }

    /// Pays the contract's tranche of `condition`.
    fn release(
        &self,
        conn: &mut Tx<'_>,
        contract: &str,
        condition: &str,
        at: NaiveDateTime,
    ) -> Result<(), AppError> {
        let tranches = crate::contracts::repo::tranches_of(conn, contract)?;
        if let Some(t) = tranches.iter().find(|t| t.condition == condition) {
            crate::contracts::release::release(
                conn,
                &self.d.bureau,
                &t.id,
                &format!("GK2026-{:06}", t.seq + 100 * tranches.len() as i32),
                at,
            )?;
        }
        let _ = self.state;
        Ok(())
    }
}

/// One project walked in the past from `t0`: published, one sealed bid, closed and opened,
/// the drawn panel accepting and scoring, the award, its objection window passed, the
/// contract drawn up, signed by both sides, and its first tranche released `paid_after` the
/// award became final (15 working days after the signing is late). The project's status and
/// the contract's id.
#[allow(clippy::too_many_arguments)]
fn contracted(
    conn: &mut Tx<'_>,
    state: &AppState,
    d: &District,
    fund_id: &str,
    experts: &[AuthUser],
    org: &AuthUser,
    title: &'static str,
    t0: NaiveDateTime,
    paid_after: Duration,
) -> Result<(ProjectStatus, String), AppError> {
    let org = org.clone();
    let close = (t0 + Duration::days(14)).and_utc();
    let start = close.date_naive() + Duration::days(1);
    let spec: ProjectSpec = serde_json::from_value(json!({
        "title": title, "summary": "为辖区独居老人提供助餐配送与每周上门探访", "category": "elderly",
        "region_id": d.street_ids[1], "need_ids": [], "target_group": "70 岁以上独居老人",
        "services": ["助餐配送", "上门探访"],
        "objectives": [{"indicator": "助餐人次", "target": "≥ 20000"}, {"indicator": "居民满意度", "target": "≥ 90%"}],
        "budget_ceiling": "400000.00", "fund_id": fund_id, "method": "venture_philanthropy",
        "bid_close_at": close.to_rfc3339(), "service_start": start.to_string(),
        "service_end": (start + Duration::days(364)).to_string(),
        "eligibility": {"min_registered_years": 1, "min_social_workers": 2},
        "evaluation": {"price_points": 0, "criteria": [
            {"key": "plan", "name": "服务方案", "max_points": 50},
            {"key": "team", "name": "团队与资质", "max_points": 30},
            {"key": "record", "name": "过往业绩", "max_points": 20}]},
        "payment_plan": [{"condition": "on_signing", "percent": 30}, {"condition": "on_midterm_passed", "percent": 40},
                         {"condition": "on_completion_passed", "percent": 30}]
    }))
    .map_err(|e| AppError::internal(anyhow::anyhow!("demo spec: {e}")))?;
    let p = crate::projects::service::create(conn, &d.bureau, spec, &state.rules, t0)?;
    crate::projects::service::publish(conn, &d.bureau, &p.id, &state.rules, &state.sealer, t0)?;
    let offer = crate::bids::service::Offer {
        price: Money::from_fen(36_800_000),
        plan: "中央厨房统一配餐，志愿者与社工每周上门探访，建立独居老人健康档案。".into(),
        team: vec![crate::bids::contents::TeamMember {
            name: "张敏".into(),
            role: "项目主管".into(),
            certified: true,
        }],
        kpis: vec![
            crate::bids::contents::Kpi {
                indicator: "助餐人次".into(),
                target: "22000".into(),
            },
            crate::bids::contents::Kpi {
                indicator: "探访覆盖率".into(),
                target: "≥ 95%".into(),
            },
        ],
        matching_funds: None,
    };
    let bid = crate::bids::service::place(
        conn,
        &state.sealer,
        &org,
        &p.id,
        &offer,
        t0 + Duration::days(5),
    )?;
    let closed_at = close.naive_utc() + Duration::minutes(1);
    crate::rounds::close_round(conn, &state.sealer, &state.rules, &p.id, closed_at)?;
    let mut panel = Vec::new();
    for e in experts {
        for seat in crate::evaluation::service::assignments(conn, e, None, 100)? {
            if seat.project_id == p.id && seat.is(crate::evaluation::repo::SeatStatus::Invited) {
                crate::evaluation::service::accept(
                    conn,
                    e,
                    &seat.id,
                    closed_at + Duration::hours(1),
                )?;
                panel.push(e);
            }
        }
    }
    for (i, e) in panel.into_iter().enumerate() {
        let points = [("plan", 42 + i as i64), ("team", 26), ("record", 17)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), rust_decimal::Decimal::from(v)))
            .collect();
        crate::evaluation::service::score(
            conn,
            e,
            &bid.bid.id,
            points,
            "方案完整，团队稳定".into(),
            None,
            closed_at + Duration::hours(3),
        )?;
    }
    let awarded_at = closed_at + Duration::days(1);
    let notice = crate::awards::service::award(
        conn,
        &d.bureau,
        &p.id,
        &bid.bid.id,
        None,
        &state.rules,
        awarded_at,
    )?;
    let final_at = notice.award.objection_deadline + Duration::seconds(1);
    crate::awards::service::finalize(
        conn,
        &state.sealer,
        &state.rules,
        &notice.award.id,
        final_at,
    )?;
    let c = crate::contracts::repo::find_for_award(conn, &notice.award.id)?
        .ok_or_else(|| AppError::not_found("contract"))?;
    crate::contracts::service::sign(
        conn,
        &org,
        &c.id,
        &state.rules,
        &state.settings.reviews,
        final_at + Duration::days(2),
    )?;
    let v = crate::contracts::service::sign(
        conn,
        &d.bureau,
        &c.id,
        &state.rules,
        &state.settings.reviews,
        final_at + Duration::days(3),
    )?;
    if let Some(first) = v.tranches.first() {
        crate::contracts::release::release(
            conn,
            &d.bureau,
            &first.id,
            &format!("GK2026-{}", &c.id[c.id.len() - 6..]),
            final_at + paid_after,
        )?;
    }
    let p =
        crate::projects::repo::find(conn, &p.id)?.ok_or_else(|| AppError::not_found("project"))?;
    Ok((p.status, c.id))
}
