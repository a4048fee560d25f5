//! `spawn_app` and friends: the real app on a random port over a fresh database.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::ServerHandle;
use actix_web::web;
use diesel::prelude::*;
use gongyi::app::{self, AppState};
use gongyi::auth::Role;
use gongyi::config::Settings;
use gongyi::users::service::CreateUser;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const PASSWORD: &str = "test-password-123";

/// A running app and what a test needs to talk to it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: web::Data<AppState>,
    pub admin_token: String,
    pub db_url: String,
    handle: ServerHandle,
    dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut c);
        }
    }
}

/// A reply: status, headers and the JSON body (`Null` when empty or not JSON), and the body as
/// text (an HTML document).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The field names of a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a problem+json error with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "errors are problem+json"
        );
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
        self
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Whether the suite runs on PostgreSQL.
pub fn pg_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// Creates an empty PostgreSQL database; returns its URL and the guard that drops it.
pub fn new_pg_database(admin_url: &str) -> (String, PgDatabase) {
    let name = format!("gongyi_test_{}", uuid::Uuid::now_v7().simple());
    let mut c = PgConnection::establish(admin_url).expect("connect to TEST_DATABASE_URL");
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut c)
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(admin_url);
    (
        format!("{base}/{name}"),
        PgDatabase {
            admin_url: admin_url.to_owned(),
            name,
        },
    )
}

pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db_url, pg) = match pg_url() {
        Some(admin) => {
            let (url, guard) = new_pg_database(&admin);
            (url, Some(guard))
        }
        None => (format!("sqlite://{}/gongyi.db", dir.path().display()), None),
    };
    let mut settings = Settings::defaults();
    settings.data_dir = dir.path().join("data");
    settings.database.url = db_url.clone();
    settings.database.pool_size = 4;
    settings.database.connect_timeout_ms = 1500;
    settings.sandbox = true;
    settings.server.workers = 2;
    settings.jobs.scheduler = false;
    settings.auth.jwt_secret = Some(hex::encode(rand::random::<[u8; 32]>()));
    settings.auth.per_ip_per_minute = 1_000_000;
    settings.auth.lockout_after = 1_000;
    configure(&mut settings);
    let state = tokio::task::spawn_blocking(move || AppState::build(settings))
        .await
        .unwrap()
        .expect("app state");
    let state = web::Data::new(state);
    let admin_email = unique("admin") + "@gongyi.test";
    insert_user(&state, &admin_email, Role::Admin, None).await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The server runs on its own thread and actix system, so a test's runtime never has to
    // drive it and Drop can stop it from anywhere.
    let (tx, rx) = std::sync::mpsc::channel();
    let st = state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let (server, handle) = app::serve(st, listener).expect("server");
            tx.send(handle).unwrap();
            let _ = server.await;
        })
    });
    let handle = rx.recv().expect("server handle");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut app = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client,
        state,
        admin_token: String::new(),
        db_url,
        handle,
        dir,
        pg,
    };
    app.admin_token = app.login(&admin_email, PASSWORD).await;
    app
}

/// Creates a user straight through the service (for roles the API does not create, like org).
pub async fn insert_user(
    state: &web::Data<AppState>,
    email: &str,
    role: Role,
    region_id: Option<String>,
) -> String {
    let state = state.clone();
    let cmd = CreateUser {
        email: email.to_owned(),
        name: format!("{} user", role.as_str()),
        password: PASSWORD.to_owned(),
        role,
        region_id,
        organization_id: None,
    };
    tokio::task::spawn_blocking(move || {
        let mut conn = state.db.write_conn().unwrap();
        let now = state.clock.now_naive();
        gongyi::users::service::create_user(&mut gongyi::db::Tx::new(&mut conn), None, cmd, now)
            .expect("insert user")
            .id
    })
    .await
    .unwrap()
}

/// A region tree: two districts, a street and a community under the first, one street under the second.
pub struct Regions {
    pub district: String,
    pub street: String,
    pub community: String,
    pub other_district: String,
    pub other_street: String,
    pub other_community: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }

    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self.pg.is_none().then(|| self.dir.path().join("gongyi.db"))
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_reply(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, path, token, Some(body)).await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await
            .expect(200);
        r.body["access_token"].as_str().unwrap().to_owned()
    }

    /// Full login reply (tokens and user).
    pub async fn login_reply(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn create_region(&self, name: &str, kind: &str, parent: Option<&str>) -> String {
        let r = self
            .post(
                "/api/v1/regions",
                Some(&self.admin_token),
                json!({"name": name, "kind": kind, "parent_id": parent}),
            )
            .await
            .expect(201);
        r.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn regions(&self) -> Regions {
        let district = self.create_region("雨花台区", "district", None).await;
        let street = self
            .create_region("赛虹桥街道", "street", Some(&district))
            .await;
        let community = self
            .create_region("新建社区", "community", Some(&street))
            .await;
        let other_district = self.create_region("秦淮区", "district", None).await;
        let other_street = self
            .create_region("夫子庙街道", "street", Some(&other_district))
            .await;
        let other_community = self
            .create_region("贡院社区", "community", Some(&other_street))
            .await;
        Regions {
            district,
            street,
            community,
            other_district,
            other_street,
            other_community,
        }
    }

    /// Creates a user through the API as admin and signs it in; returns (id, email, token).
    pub async fn user(&self, role: &str, region_id: Option<&str>) -> (String, String, String) {
        let email = unique(role) + "@gongyi.test";
        let r = self
            .post(
                "/api/v1/users",
                Some(&self.admin_token),
                json!({"email": email, "name": format!("{role} tester"), "password": PASSWORD, "role": role, "region_id": region_id}),
            )
            .await
            .expect(201);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let token = self.login(&email, PASSWORD).await;
        (id, email, token)
    }

    /// A signed-in organization member (organization registration comes with the bidding work).
    pub async fn org_user(&self) -> (String, String) {
        let email = unique("org") + "@gongyi.test";
        let id = insert_user(&self.state, &email, Role::Org, None).await;
        (id, self.login(&email, PASSWORD).await)
    }

    pub async fn run_job(&self, name: &str) -> Reply {
        self.post(
            &format!("/api/v1/admin/jobs/{name}/run"),
            Some(&self.admin_token),
            json!({}),
        )
        .await
    }

    /// Runs SQL straight on the test database (for tampering and outage tests).
    pub fn sql(&self, sql: &str) -> Result<(), String> {
        use diesel::connection::SimpleConnection;
        let result = match self.pg {
            Some(_) => PgConnection::establish(&self.db_url)
                .map_err(|e| e.to_string())?
                .batch_execute(sql),
            None => {
                let path = self.sqlite_path().unwrap();
                diesel::sqlite::SqliteConnection::establish(path.to_str().unwrap())
                    .map_err(|e| e.to_string())?
                    .batch_execute(sql)
            }
        };
        result.map_err(|e| e.to_string())
    }

    /// Every row of every table of the test database, one line each (`table: row as text`): a
    /// logical copy, as someone holding a backup would read it.
    pub fn dump(&self) -> Vec<String> {
        use diesel::sql_types::Text;
        #[derive(diesel::QueryableByName)]
        struct Line {
            #[diesel(sql_type = Text)]
            line: String,
        }
        macro_rules! lines {
            ($c:expr, $sql:expr) => {
                diesel::sql_query($sql)
                    .load::<Line>($c)
                    .unwrap()
                    .into_iter()
                    .map(|l| l.line)
                    .collect::<Vec<String>>()
            };
        }
        let mut out = Vec::new();
        match self.pg {
            Some(_) => {
                let c = &mut PgConnection::establish(&self.db_url).unwrap();
                let tables = lines!(
                    c,
                    "SELECT tablename::text AS line FROM pg_tables WHERE schemaname = 'public'"
                );
                for t in tables {
                    for row in lines!(
                        c,
                        &format!("SELECT row_to_json(x)::text AS line FROM \"{t}\" x")
                    ) {
                        out.push(format!("{t}: {row}"));
                    }
                }
            }
            None => {
                let path = self.sqlite_path().unwrap();
                let c = &mut diesel::sqlite::SqliteConnection::establish(path.to_str().unwrap())
                    .unwrap();
                let tables = lines!(
                    c,
                    "SELECT name AS line FROM sqlite_master WHERE type = 'table'"
                );
                for t in tables {
                    let cols = lines!(c, &format!("SELECT 'quote(\"' || name || '\")' AS line FROM pragma_table_info('{t}')"));
                    let sql = format!("SELECT {} AS line FROM \"{t}\"", cols.join(" || ',' || "));
                    for row in lines!(c, &sql) {
                        out.push(format!("{t}: {row}"));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The admin URL and database name when on PostgreSQL.
    pub fn pg_names(&self) -> Option<(String, String)> {
        self.pg
            .as_ref()
            .map(|p| (p.admin_url.clone(), p.name.clone()))
    }
}

/// A second server process over the same database, keys and settings: what another replica
/// behind the load balancer is. It shares nothing in memory with the first.
pub struct Replica {
    pub base: String,
    client: reqwest::Client,
    handle: ServerHandle,
}

impl TestApp {
    pub async fn replica(&self) -> Replica {
        let settings = (*self.state.settings).clone();
        let state = tokio::task::spawn_blocking(move || AppState::build(settings))
            .await
            .unwrap()
            .expect("replica state");
        let state = web::Data::new(state);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let (server, handle) = app::serve(state, listener).expect("server");
                tx.send(handle).unwrap();
                let _ = server.await;
            })
        });
        Replica {
            base: format!("http://127.0.0.1:{port}"),
            client: self.client.clone(),
            handle: rx.recv().expect("replica handle"),
        }
    }
}

impl Replica {
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.client.get(format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        into_reply(req.send().await.expect("request")).await
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        std::thread::spawn(move || futures_executor(handle))
            .join()
            .ok();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Stop the workers (closing their pooled connections) before the database is dropped.
        std::thread::spawn(move || futures_executor(handle))
            .join()
            .ok();
    }
}

fn futures_executor(handle: ServerHandle) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), handle.stop(false)).await;
    });
}

pub async fn into_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A district with a street, a community, staff of each level, a fund, and a neighbour
/// district with its own staff, for scope tests.
pub struct District {
    pub regions: Regions,
    pub bureau: String,
    pub street: String,
    pub community: String,
    pub other_bureau: String,
    pub other_street: String,
    pub other_community: String,
    pub fund: String,
}

impl TestApp {
    pub async fn district(&self) -> District {
        let regions = self.regions().await;
        let bureau = self.user("bureau", Some(&regions.district)).await.2;
        let street = self.user("street", Some(&regions.street)).await.2;
        let community = self.user("community", Some(&regions.community)).await.2;
        let other_bureau = self.user("bureau", Some(&regions.other_district)).await.2;
        let other_street = self.user("street", Some(&regions.other_street)).await.2;
        let other_community = self
            .user("community", Some(&regions.other_community))
            .await
            .2;
        let fund = self.fund(&bureau, &regions.district, "1000000.00").await;
        District {
            regions,
            bureau,
            street,
            community,
            other_bureau,
            other_street,
            other_community,
            fund,
        }
    }

    pub async fn fund(&self, bureau: &str, district: &str, total: &str) -> String {
        let r = self
            .post(
                "/api/v1/funds",
                Some(bureau),
                json!({"name": unique("福彩公益金"), "district_id": district, "fiscal_year": 2026, "source": "lottery_welfare", "total": total}),
            )
            .await
            .expect(201);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// A need submitted by `community`; returns its id.
    pub async fn need(&self, community: &str, title: &str, urgency: &str) -> String {
        let r = self
            .post(
                "/api/v1/needs",
                Some(community),
                json!({"title": title, "description": format!("{title}：居民反映的需求"), "category": "elderly", "source": "grid",
                       "beneficiary_group": "独居老人", "beneficiaries": 40, "urgency": urgency}),
            )
            .await
            .expect(201);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// A need taken through forward and accept.
    pub async fn accepted_need(&self, d: &District, title: &str) -> String {
        let id = self.need(&d.community, title, "medium").await;
        self.post(
            &format!("/api/v1/needs/{id}/forward"),
            Some(&d.street),
            json!({}),
        )
        .await
        .expect(200);
        self.post(
            &format!("/api/v1/needs/{id}/accept"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200);
        id
    }

    /// The server clock now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state.clock.now()
    }

    /// A valid project spec in `d`, closing in 30 days.
    pub fn spec(&self, d: &District, budget: &str, need_ids: &[String]) -> Value {
        let close = self.now() + chrono::Duration::days(30);
        let start = close.date_naive() + chrono::Duration::days(1);
        let end = start + chrono::Duration::days(364);
        json!({
            "title": "社区居家养老服务项目", "summary": "为独居老人提供上门探访与助餐",
            "category": "elderly", "region_id": d.regions.street, "need_ids": need_ids,
            "target_group": "辖区 70 岁以上独居老人", "services": ["上门探访", "助餐配送"],
            "objectives": [{"indicator": "探访覆盖率", "target": "≥ 95%"}],
            "budget_ceiling": budget, "fund_id": d.fund, "method": "venture_philanthropy",
            "bid_close_at": close.to_rfc3339(), "service_start": start.to_string(), "service_end": end.to_string(),
            "eligibility": {"min_registered_years": 1},
            "evaluation": {"price_points": 20, "criteria": [
                {"key": "plan", "name": "服务方案", "max_points": 50}, {"key": "team", "name": "团队", "max_points": 30}]},
            "payment_plan": [{"condition": "on_signing", "percent": 30}, {"condition": "on_midterm_passed", "percent": 40},
                             {"condition": "on_completion_passed", "percent": 30}]
        })
    }

    pub async fn draft(&self, d: &District, spec: Value) -> Value {
        self.post("/api/v1/projects", Some(&d.bureau), spec)
            .await
            .expect(201)
            .body
    }

    pub async fn patch(&self, path: &str, token: &str, version: Option<i64>, body: Value) -> Reply {
        let mut req = self
            .client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(&body);
        if let Some(v) = version {
            req = req.header("If-Match", format!("\"{v}\""));
        }
        into_reply(req.send().await.expect("request")).await
    }

    /// How many outbox mails have a subject starting with `prefix`.
    pub async fn outbox_count(&self, prefix: &str) -> i64 {
        let state = self.state.clone();
        let pattern = format!("{prefix}%");
        tokio::task::spawn_blocking(move || {
            use gongyi::db::schema::outbox;
            let mut c = state.db.write_conn().unwrap();
            outbox::table
                .filter(outbox::subject.like(pattern))
                .count()
                .get_result::<i64>(&mut **c)
                .unwrap()
        })
        .await
        .unwrap()
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Some(token), Some(body)).await
    }
}

/// A fresh valid credit code of a civil-affairs registration (民办非企业单位).
pub fn new_uscc() -> String {
    let digits: String = (0..9)
        .map(|_| char::from(b'0' + rand::random::<u8>() % 10))
        .collect();
    gongyi::domain::uscc::Uscc::with_check(&format!("52320114{digits}"))
        .unwrap()
        .to_string()
}

impl TestApp {
    /// Registers an organization in `d` (optionally changing its fields) and returns
    /// (organization id, member token) without verifying it.
    pub async fn register_org(
        &self,
        d: &District,
        tweak: impl FnOnce(&mut Value),
    ) -> (String, String) {
        let email = unique("org") + "@gongyi.test";
        let mut org = json!({"name": unique("雨花社工服务中心"), "uscc": new_uscc(), "org_type": "private_non_enterprise",
                             "registered_on": "2019-05-20", "rating": "4A", "rating_awarded_on": "2023-03-01",
                             "social_workers": 6, "district_id": d.regions.district, "contact_email": unique("contact") + "@gongyi.test"});
        tweak(&mut org);
        let r = self
            .post("/api/v1/organizations/register", None, json!({"organization": org, "account": {"email": email, "name": "负责人", "password": PASSWORD}}))
            .await
            .expect(201);
        let id = r.body["organization"]["id"].as_str().unwrap().to_owned();
        (id, self.login(&email, PASSWORD).await)
    }

    /// A verified organization in `d`: (organization id, member token).
    pub async fn verified_org(&self, d: &District) -> (String, String) {
        let (id, token) = self.register_org(d, |_| {}).await;
        self.post(
            &format!("/api/v1/organizations/{id}/verify"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200);
        (id, token)
    }

    /// A published project in `d`; returns its JSON.
    pub async fn open_project(&self, d: &District, tweak: impl FnOnce(&mut Value)) -> Value {
        let mut spec = self.spec(d, "300000.00", &[]);
        tweak(&mut spec);
        let p = self.draft(d, spec).await;
        let id = p["id"].as_str().unwrap();
        self.post(
            &format!("/api/v1/projects/{id}/publish"),
            Some(&d.bureau),
            json!({}),
        )
        .await
        .expect(200)
        .body
    }

    pub fn bid_body(price: &str) -> Value {
        json!({"price": price, "plan": "以个案、小组、社区活动相结合的方式开展服务。",
               "team": [{"name": "王芳", "role": "项目主管", "certified": true}, {"name": "李强", "role": "社工", "certified": false}],
               "kpis": [{"indicator": "服务人次", "target": "1200"}]})
    }

    pub async fn bid(&self, project: &str, token: &str, price: &str) -> Reply {
        self.post(
            &format!("/api/v1/projects/{project}/bids"),
            Some(token),
            Self::bid_body(price),
        )
        .await
    }

    /// Sets the sandbox clock (frozen) and returns fresh tokens are needed after big jumps.
    pub async fn set_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        assert!(self.state.clock.set(at, true));
    }
}
