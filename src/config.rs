//! Settings: built-in defaults, then `config/default.toml`, then `config/{APP_ENV}.toml`, then
//! `GONGYI__SECTION__KEY` environment variables. Secrets come only from the environment, or for
//! the embedded default from a file generated once under `data_dir`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// `APP_ENV` (development, test, production); not read from files.
    #[serde(default)]
    pub env: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub data_dir: PathBuf,
    pub sandbox: bool,
    pub auth: AuthSettings,
    pub mail: MailSettings,
    pub jobs: JobSettings,
    pub reviews: ReviewSettings,
    #[serde(default)]
    pub sealing: SealingSettings,
    pub open_data: OpenDataSettings,
    /// Where `default.toml`, `rules/` and `calendar/` were looked up; not read from files.
    #[serde(skip, default = "default_config_dir")]
    pub config_dir: PathBuf,
}

fn default_config_dir() -> PathBuf {
    PathBuf::from("config")
}

/// When reviews open, how long scoring runs and how long a failed one gives to rectify.
#[derive(Debug, Clone, Deserialize)]
pub struct ReviewSettings {
    /// Days before its due day a review opens (its panel drawn, the organization told).
    pub open_days_ahead: u32,
    /// Days after the due day the experts have to score (reminders count to this day).
    pub scoring_days: u32,
    /// Days after a failed first review that the re-review is due.
    pub rectification_days: u32,
}

/// The publisher's side of the OCDS open data (`open_data`): who publishes, under which
/// prefix and license.
#[derive(Debug, Clone, Deserialize)]
pub struct OpenDataSettings {
    /// The OCID prefix the publisher registered (`ocds-` and six characters); every ocid is
    /// `{ocid_prefix}-{project_id}`.
    pub ocid_prefix: String,
    pub publisher_name: String,
    /// The publisher's identifier scheme and id (org-id.guide), when it has them.
    #[serde(default)]
    pub publisher_scheme: Option<String>,
    #[serde(default)]
    pub publisher_uid: Option<String>,
    pub license: String,
    pub publication_policy: String,
    /// The public base URL of this API (`https://host`); empty: taken from each request.
    #[serde(default)]
    pub base_url: String,
    /// The identifier scheme of organizations' unified social credit codes.
    pub identifier_scheme: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SealingSettings {
    /// 32-byte key as 64 hex digits; from `GONGYI__SEALING__KEY`, or generated into
    /// `data_dir/sealing.key` outside production.
    #[serde(default)]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub body_limit_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: u32,
    pub connect_timeout_ms: u64,
    pub busy_timeout_ms: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HS256 key; from `GONGYI__AUTH__JWT_SECRET`, or generated into `data_dir` outside production.
    #[serde(default)]
    pub jwt_secret: Option<String>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub leeway_secs: i64,
    /// Consecutive failures of one account before each further attempt must wait.
    pub lockout_after: u32,
    pub lockout_max_secs: u64,
    /// Login and refresh attempts allowed per client IP per minute.
    pub per_ip_per_minute: u32,
    /// How long an authenticated user is remembered between requests (0: read every time).
    /// Changes made through this process apply at once; other processes see them this late.
    #[serde(default = "default_user_cache_ms")]
    pub user_cache_ms: u64,
    /// Failures of one account, summed over every client address, after which an address
    /// that fails on it waits from its first failure (addresses that never failed still get
    /// their attempt, so the owner is never locked out by someone else's guesses).
    #[serde(default = "default_account_ceiling")]
    pub account_ceiling: u32,
    /// Proxies whose `X-Forwarded-For` is believed: when the peer is one of them, the client
    /// is the nearest address in that header that is not. Empty: the peer is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Threads that hash and verify passwords (argon2). 0: one per core but one, at least one,
    /// so a sign-in flood leaves a core to every other request.
    #[serde(default)]
    pub hash_threads: usize,
    /// Password checks allowed to wait for a hashing thread; beyond that, 503 `overloaded`.
    #[serde(default = "default_hash_queue")]
    pub hash_queue: usize,
}

fn default_account_ceiling() -> u32 {
    100
}

fn default_hash_queue() -> usize {
    32
}

fn default_user_cache_ms() -> u64 {
    2000
}

#[derive(Debug, Clone, Deserialize)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtps://user:pass@host`; empty: `.eml` files under `data_dir/mail`.
    #[serde(default)]
    pub smtp_url: Option<String>,
    pub from: String,
    pub max_attempts: i32,
    pub retry_base_secs: i64,
    pub batch: i64,
    /// How long a sender's claim on one outbox row protects it (longer than one send may take).
    #[serde(default = "default_claim_secs")]
    pub claim_secs: i64,
}

fn default_claim_secs() -> i64 {
    120
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobSettings {
    /// Whether `serve` starts the scheduler (tests run jobs by hand).
    pub scheduler: bool,
    pub send_mail_cron: String,
    pub close_bidding_cron: String,
    pub finalize_awards_cron: String,
    pub expire_invitations_cron: String,
    pub flag_unsigned_contracts_cron: String,
    pub mature_tranches_cron: String,
    pub open_reviews_cron: String,
    pub remind_cron: String,
}

const DEFAULTS: &str = r#"
data_dir = "data"
sandbox = false
[server]
bind = "127.0.0.1:8080"
workers = 0
body_limit_bytes = 65536
[database]
url = "sqlite://data/gongyi.db"
pool_size = 8
connect_timeout_ms = 3000
busy_timeout_ms = 5000
[auth]
issuer = "gongyi"
audience = "gongyi-api"
access_ttl_secs = 900
refresh_ttl_secs = 2592000
leeway_secs = 30
lockout_after = 5
lockout_max_secs = 900
per_ip_per_minute = 60
user_cache_ms = 2000
account_ceiling = 100
trusted_proxies = []
hash_threads = 0
hash_queue = 32
[mail]
from = "gongyi <no-reply@gongyi.local>"
max_attempts = 8
retry_base_secs = 30
batch = 50
claim_secs = 120
[jobs]
scheduler = true
send_mail_cron = "*/15 * * * * *"
close_bidding_cron = "*/10 * * * * *"
finalize_awards_cron = "0 */5 * * * *"
expire_invitations_cron = "0 */5 * * * *"
flag_unsigned_contracts_cron = "0 7 * * * *"
mature_tranches_cron = "0 */10 * * * *"
open_reviews_cron = "0 */10 * * * *"
remind_cron = "0 0 * * * *"
[reviews]
open_days_ahead = 14
scoring_days = 10
rectification_days = 30

[open_data]
ocid_prefix = "ocds-gongyi"
publisher_name = "gongyi"
license = "https://creativecommons.org/licenses/by/4.0/"
publication_policy = "https://gongyi.local/open-data/policy"
base_url = ""
identifier_scheme = "CN-USCC"
"#;

impl Settings {
    /// Loads settings from `config_dir` and the environment.
    pub fn load(config_dir: &Path) -> anyhow::Result<Settings> {
        let env = std::env::var("APP_ENV").unwrap_or_else(|_| "development".into());
        let builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .add_source(config::File::from(config_dir.join("default.toml")).required(false))
            .add_source(config::File::from(config_dir.join(format!("{env}.toml"))).required(false))
            .add_source(
                config::Environment::with_prefix("GONGYI")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            );
        let mut settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("configuration has a wrong or missing key")?;
        settings.env = env;
        settings.config_dir = config_dir.to_path_buf();
        settings.check()?;
        Ok(settings)
    }

    /// Settings from the built-in defaults only, for tests and tools that build their own.
    pub fn defaults() -> Settings {
        let mut s: Settings = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("built-in defaults deserialize");
        s.env = "test".into();
        s
    }

    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    /// Refuses settings that would be unsafe where they are used.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.is_production() {
            if self.sandbox {
                bail!("sandbox mode is refused when APP_ENV=production");
            }
            match &self.auth.jwt_secret {
                Some(s) if s.len() >= 32 => {}
                _ => bail!(
                    "APP_ENV=production needs GONGYI__AUTH__JWT_SECRET of at least 32 bytes in the environment"
                ),
            }
        }
        if self.is_production() && self.sealing.key.is_none() {
            bail!(
                "APP_ENV=production needs GONGYI__SEALING__KEY (64 hex digits) in the environment"
            );
        }
        if let Some(k) = &self.sealing.key {
            if hex::decode(k).map(|b| b.len()) != Ok(32) {
                bail!("sealing.key must be 64 hex digits (32 bytes)");
            }
        }
        if let Some(s) = &self.auth.jwt_secret {
            if s.len() < 32 {
                bail!("auth.jwt_secret must be at least 32 bytes");
            }
        }
        if self.auth.access_ttl_secs <= 0 || self.auth.refresh_ttl_secs <= 0 {
            bail!("auth token lifetimes must be positive");
        }
        Ok(())
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.database.connect_timeout_ms)
    }

    /// The JWT key: configured, or read from (or generated once into) `data_dir/jwt.key`, 0600.
    pub fn jwt_secret(&self) -> anyhow::Result<Vec<u8>> {
        if self.is_production() && self.sealing.key.is_none() {
            bail!(
                "APP_ENV=production needs GONGYI__SEALING__KEY (64 hex digits) in the environment"
            );
        }
        if let Some(k) = &self.sealing.key {
            if hex::decode(k).map(|b| b.len()) != Ok(32) {
                bail!("sealing.key must be 64 hex digits (32 bytes)");
            }
        }
        if let Some(s) = &self.auth.jwt_secret {
            return Ok(s.as_bytes().to_vec());
        }
        if self.is_production() {
            bail!("APP_ENV=production needs GONGYI__AUTH__JWT_SECRET");
        }
        read_or_create_secret(&self.data_dir.join("jwt.key"))
    }
}

impl Settings {
    /// The key that seals bids and seeds at rest.
    pub fn sealing_key(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(k) = &self.sealing.key {
            return Ok(hex::decode(k)?);
        }
        if self.is_production() {
            bail!("APP_ENV=production needs GONGYI__SEALING__KEY");
        }
        read_or_create_secret(&self.data_dir.join("sealing.key"))
    }
}

/// Reads a 32-byte hex key from `path`, creating it with mode 0600 when absent.
pub fn read_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let key = hex::decode(text.trim())
            .with_context(|| format!("{} is not a hex key", path.display()))?;
        if key.len() < 32 {
            bail!("{} holds a key shorter than 32 bytes", path.display());
        }
        return Ok(key);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key: [u8; 32] = rand::random();
    write_private(path, hex::encode(key).as_bytes())?;
    Ok(key.to_vec())
}

/// Writes a new file readable by its owner only.
#[cfg(unix)]
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, data)?;
    Ok(())
}
