//! The command line: `serve` (default), `migrate`, `create-admin`, `openapi`, `verify-audit`,
//! `verify-ledger`, and for benchmarks and drills the hidden `seed-contracts`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use actix_web::web;
use clap::{Parser, Subcommand};

use crate::app::{self, AppState};
use crate::auth::Role;
use crate::config::Settings;
use crate::db::Tx;
use crate::db::{Db, DbOptions};
use crate::users::service::CreateUser;

#[derive(Debug, Parser)]
#[command(
    name = "gongyi",
    version,
    about = "Government purchase of community services, end to end"
)]
pub struct Cli {
    /// Folder with default.toml and {APP_ENV}.toml.
    #[arg(
        long,
        env = "GONGYI_CONFIG_DIR",
        default_value = "config",
        global = true
    )]
    pub config_dir: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrations are applied first). The default.
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Create an admin account (the first one, or another).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, env = "GONGYI_ADMIN_PASSWORD")]
        password: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Fill an empty database with a demo district (prints the demo accounts).
    SeedDemo,
    /// Print the OpenAPI document.
    Openapi,
    /// Recompute a project's expert panel from public API data and compare (exit 1 on mismatch).
    VerifyDraw {
        /// The project (its evaluation panel), or with `--review` the review.
        project_id: String,
        /// Recompute a review's panel: the id is a review's.
        #[arg(long)]
        review: bool,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
        /// A bearer token, to read the panel before the award (bureau or panel member).
        #[arg(long, env = "GONGYI_TOKEN")]
        token: Option<String>,
    },
    /// Recompute the audit chain and name the first broken link (exit 1 when broken).
    VerifyAudit,
    /// Recompute every fund's balances from its ledger, check released ≤ committed ≤ total,
    /// tranche sums and one ledger row per released tranche; name the first mismatch (exit 1).
    VerifyLedger,
    /// Benchmarks: SQLite's plan (EXPLAIN QUERY PLAN, by the bundled library the server runs)
    /// and the best of RUNS timed runs of each statement in FILE (one bare statement a line);
    /// prints one JSON object a line. `--analyze` runs ANALYZE first.
    #[command(hide = true)]
    ExplainSqlite {
        file: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long)]
        analyze: bool,
    },
    /// Benchmarks and drills: a district of its own with COUNT active contracts of TRANCHES
    /// releasable tranches each; prints JSON with the bureau's credentials and the tranche ids.
    #[command(hide = true)]
    SeedContracts {
        #[arg(long)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        tranches: usize,
        /// Each contract's amount, in yuan.
        #[arg(long, default_value = "1000.00")]
        amount: String,
        /// Write the JSON to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gongyi: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The log filter when `RUST_LOG` is unset: our INFO, but only warnings from libraries that
/// narrate their own start (actix's workers, tokio-cron-scheduler's "Uninited" and "Job
/// creator created").
const DEFAULT_LOG_FILTER: &str = "info,actix_server=warn,tokio_cron_scheduler=warn";

/// `RUST_LOG` when it is set and parses, else the default.
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    rust_log
        .and_then(|s| tracing_subscriber::EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER))
}

fn init_tracing() {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    Db::connect_and_migrate(&DbOptions {
        url: settings.database.url.clone(),
        pool_size: 1,
        connect_timeout: settings.connect_timeout(),
        busy_timeout_ms: settings.database.busy_timeout_ms,
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            println!("{}", crate::openapi::document());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let settings = Settings::load(&cli.config_dir)?;
            open_db(&settings)?;
            println!("migrations applied to {}", redact(&settings.database.url));
            Ok(ExitCode::SUCCESS)
        }
        Command::CreateAdmin {
            email,
            password,
            name,
        } => {
            let settings = Settings::load(&cli.config_dir)?;
            let db = open_db(&settings)?;
            let mut errors = crate::validate::Errors::default();
            let email = errors.take(crate::validate::email("email", &email));
            let name = errors.take(crate::validate::text("name", &name, 1, 100));
            errors.take(crate::auth::passwords::check_policy("password", &password));
            errors.finish()?;
            let cmd = CreateUser {
                email: email.unwrap_or_default(),
                name: name.unwrap_or_default(),
                password,
                role: Role::Admin,
                region_id: None,
                organization_id: None,
            };
            let mut conn = db.write_conn()?;
            let now = crate::clock::Clock::system().now_naive();
            let user = crate::users::service::create_user(&mut Tx::new(&mut conn), None, cmd, now)?;
            println!("admin {} created (id {})", user.email, user.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyDraw {
            project_id,
            review,
            base_url,
            token,
        } => {
            let verdict = actix_web::rt::System::new().block_on(async {
                if review {
                    crate::verify_draw::verify_review(&base_url, &project_id, token.as_deref())
                        .await
                } else {
                    crate::verify_draw::verify(&base_url, &project_id, token.as_deref()).await
                }
            })?;
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            println!(
                "{}",
                if verdict.matches {
                    "the panel matches the public draw"
                } else {
                    "MISMATCH: the panel does not follow from the public inputs"
                }
            );
            Ok(if verdict.matches {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::SeedDemo => {
            let settings = Settings::load(&cli.config_dir)?;
            let state = AppState::build(settings)?;
            crate::demo::seed(&state)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyAudit => {
            let settings = Settings::load(&cli.config_dir)?;
            let db = open_db(&settings)?;
            let mut conn = db.write_conn()?;
            let report = crate::audit::verify(&mut conn)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::ExplainSqlite {
            file,
            runs,
            analyze,
        } => {
            let settings = Settings::load(&cli.config_dir)?;
            let db = open_db(&settings)?;
            let mut conn = db.write_conn()?;
            if analyze {
                diesel::connection::SimpleConnection::batch_execute(&mut **conn, "ANALYZE")?;
            }
            for sql in std::fs::read_to_string(&file)?
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                let plan = crate::db::explain::sqlite_plan(&mut conn, sql, runs)?;
                println!("{}", serde_json::to_string(&plan)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyLedger => {
            let settings = Settings::load(&cli.config_dir)?;
            let db = open_db(&settings)?;
            let mut conn = db.write_conn()?;
            let reports = crate::funds::reconcile::all(&mut conn)?;
            let broken: Vec<_> = reports.iter().filter(|r| !r.ok).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "ok": broken.is_empty(),
                    "funds": reports.len(),
                    "ledger_rows": reports.iter().map(|r| r.ledger_rows).sum::<u64>(),
                    "contracts": reports.iter().map(|r| r.contracts).sum::<u64>(),
                    "tranches": reports.iter().map(|r| r.tranches).sum::<u64>(),
                    "first_mismatch": broken.first().map(|r| format!("fund {}: {}", r.fund_id, r.first_mismatch.clone().unwrap_or_default())),
                    "broken": broken,
                }))?
            );
            Ok(if broken.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::SeedContracts {
            count,
            tranches,
            amount,
            out,
        } => {
            let amount = crate::domain::Money::parse(&amount)
                .map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
            let settings = Settings::load(&cli.config_dir)?;
            let state = AppState::build(settings)?;
            let plan = crate::contracts::bulk::Plan {
                contracts: count,
                tranches,
                amount,
            };
            let seeded = crate::seed_contracts::seed(&state, plan)?;
            let text = serde_json::to_string(&seeded)?;
            match out {
                Some(path) => std::fs::write(&path, text + "\n")?,
                None => println!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve => {
            let settings = Settings::load(&cli.config_dir)?;
            serve(settings)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Outside production, a fresh database gets a first admin whose password is printed once and
/// kept in `data_dir/first-admin.txt` (0600), so a newcomer can sign in at once.
fn first_admin(state: &AppState) -> anyhow::Result<()> {
    use base64::Engine;
    let password =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 15]>());
    let email = "admin@gongyi.local".to_owned();
    let cmd = CreateUser {
        email: email.clone(),
        name: "Administrator".into(),
        password: password.clone(),
        role: Role::Admin,
        region_id: None,
        organization_id: None,
    };
    let mut conn = state.db.write_conn()?;
    crate::users::service::create_user(
        &mut Tx::new(&mut conn),
        None,
        cmd,
        state.clock.now_naive(),
    )?;
    let file = state.settings.data_dir.join("first-admin.txt");
    crate::config::write_private(
        &file,
        format!("email: {email}\npassword: {password}\n").as_bytes(),
    )?;
    println!(
        "first admin created: {email} / {password} (also in {})",
        file.display()
    );
    Ok(())
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let bind = settings.server.bind.clone();
        let run_scheduler = settings.jobs.scheduler;
        let state = web::Data::new(AppState::build(settings)?);
        let has_admin = {
            let mut conn = state.db.write_conn()?;
            crate::users::repo::any_admin(&mut conn)?
        };
        let listener = TcpListener::bind(&bind).map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
        tracing::info!(
            bind = %bind,
            database = %redact(&state.settings.database.url),
            mail = %state.mailer.describe(),
            sandbox = state.settings.sandbox,
            "gongyi is listening on http://{bind}"
        );
        if !has_admin {
            if state.settings.is_production() {
                tracing::warn!("no admin account yet: create one with `gongyi create-admin --email you@example.cn --password '…'`");
            } else {
                first_admin(&state)?;
            }
        }
        let _scheduler = if run_scheduler { Some(crate::jobs::start(state.clone()).await?) } else { None };
        let (server, _handle) = app::serve(state, listener)?;
        server.await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What a subscriber with `filter` prints for the scheduler's start-up lines and ours.
    fn printed(rust_log: Option<&str>) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(log_filter(rust_log))
            .with_writer(move || out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "tokio_cron_scheduler::job_scheduler", "Uninited");
            tracing::info!(target: "tokio_cron_scheduler::job_scheduler", "Job creator created");
            tracing::warn!(target: "tokio_cron_scheduler::job_scheduler", "scheduler trouble");
            tracing::info!(target: "gongyi::cli", "gongyi is listening");
        });
        let text = buf.0.lock().unwrap().clone();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn the_default_filter_keeps_the_schedulers_start_up_chatter_out() {
        let text = printed(None);
        assert!(
            !text.contains("Uninited") && !text.contains("Job creator"),
            "{text}"
        );
        assert!(
            text.contains("scheduler trouble"),
            "its warnings still show: {text}"
        );
        assert!(text.contains("gongyi is listening"), "{text}");
    }

    #[test]
    fn rust_log_still_overrides_the_default() {
        let text = printed(Some("info"));
        assert!(text.contains("Uninited"), "{text}");
        // A RUST_LOG that does not parse falls back to the default.
        assert!(!printed(Some("=[{")).contains("Uninited"));
    }
}
