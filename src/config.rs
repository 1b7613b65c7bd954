//! The configuration: a TOML file, then `KPISYNC__SECTION__KEY` environment overrides, read into
//! plain structs that reject unknown keys, then checked once into a [`Config`] whose values are
//! ready to use (a time zone, a currency code, parsed schedules). Secrets are resolved only by
//! the commands that talk to upstreams, so `kpisync kpis` works without the service's
//! credentials.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use connectors::Connector;
use connectors::ga4::{Ga4Business, Ga4Config};
use connectors::stripe::StripeConfig;
use serde::Deserialize;

use crate::kpi::{BusinessModel, KpiSettings};

/// The environment prefix of overrides: `KPISYNC__CONNECTORS__STRIPE__API_KEY`.
const ENV_PREFIX: &str = "KPISYNC";

/// Where the configuration is looked for when `--config` is not given.
pub fn default_locations() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Some(path) = std::env::var_os("KPISYNC_CONFIG") {
        paths.push(PathBuf::from(path));
    }
    paths.push(PathBuf::from("kpisync.toml"));
    paths.push(PathBuf::from("/etc/kpisync/kpisync.toml"));
    paths
}

/// A configuration that cannot be used; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

// ---------------------------------------------------------------------------------------------
// The file as written

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    warehouse: RawWarehouse,
    business: RawBusiness,
    #[serde(default)]
    connectors: RawConnectors,
    #[serde(default)]
    targets: RawTargets,
    #[serde(default)]
    daemon: RawDaemon,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWarehouse {
    #[serde(default = "default_warehouse_path")]
    path: PathBuf,
}

impl Default for RawWarehouse {
    fn default() -> Self {
        RawWarehouse {
            path: default_warehouse_path(),
        }
    }
}

fn default_warehouse_path() -> PathBuf {
    PathBuf::from("/var/lib/kpisync/kpisync.db")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBusiness {
    model: BusinessModel,
    timezone: String,
    currency: String,
    #[serde(default)]
    landing_pages: Vec<String>,
}

/// Every connector kpisync knows, one optional section each: adding an upstream adds a field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnectors {
    stripe: Option<StripeConfig>,
    ga4: Option<Ga4Config>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    #[serde(default = "default_shutdown_timeout_seconds")]
    shutdown_timeout_seconds: u64,
    #[serde(default = "default_max_jitter_seconds")]
    max_jitter_seconds: u64,
    stale_after_hours: Option<u64>,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            shutdown_timeout_seconds: default_shutdown_timeout_seconds(),
            max_jitter_seconds: default_max_jitter_seconds(),
            stale_after_hours: None,
        }
    }
}

fn default_shutdown_timeout_seconds() -> u64 {
    30
}

fn default_max_jitter_seconds() -> u64 {
    30
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    #[serde(default)]
    monthly: BTreeMap<String, BTreeMap<String, f64>>,
    #[serde(default)]
    weekly: BTreeMap<String, BTreeMap<String, f64>>,
}

// ---------------------------------------------------------------------------------------------
// The checked configuration

/// The configuration, checked.
pub struct Config {
    /// The file it came from.
    pub source: PathBuf,
    /// The SQLite file.
    pub warehouse_path: PathBuf,
    /// Business settings the KPIs depend on.
    pub business: Business,
    /// Configured connectors, enabled or not, in a stable order.
    pub connectors: Vec<ConnectorEntry>,
    /// Monthly and weekly targets.
    pub targets: Vec<Target>,
    /// How `kpisync run` behaves.
    pub daemon: DaemonSettings,
}

/// `[daemon]`: how `kpisync run` stops, spreads its runs and judges freshness.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSettings {
    /// How long a stop waits for running syncs to reach a batch boundary. Default 30 s.
    pub shutdown_timeout: Duration,
    /// The longest random delay before a scheduled run; a tenth of the schedule's interval
    /// when that is shorter. Default 30 s.
    pub max_jitter: Duration,
    /// Data older than this makes `kpisync status` fail; `None` means two schedule intervals
    /// plus one hour, per connector.
    pub stale_after: Option<Duration>,
}

/// `[business]`.
pub struct Business {
    /// Picks the headline conversion rate.
    pub model: BusinessModel,
    /// IANA name of the business time zone.
    pub timezone_name: String,
    /// The zone itself.
    pub timezone: jiff::tz::TimeZone,
    /// Upper-case ISO 4217 code of the reporting currency.
    pub currency: String,
    /// Landing pages for the newsletter sign-up rate.
    pub landing_pages: Vec<String>,
}

impl Business {
    /// The settings the KPI engine needs.
    pub fn kpi_settings(&self) -> KpiSettings {
        KpiSettings {
            timezone: self.timezone.clone(),
            currency: self.currency.clone(),
            model: self.model,
        }
    }
}

/// One `[connectors.NAME]` section.
pub struct ConnectorEntry {
    /// The connector's name.
    pub name: &'static str,
    /// Whether syncs include it.
    pub enabled: bool,
    /// Its cron schedule, as written.
    pub schedule: String,
    /// Its whole-request timeout.
    pub timeout: Duration,
    kind: ConnectorKind,
}

enum ConnectorKind {
    Stripe(StripeConfig),
    Ga4(Box<Ga4Config>, Ga4Business),
}

impl ConnectorEntry {
    /// Resolves its secrets and builds the connector.
    pub fn build(&self) -> Result<Arc<dyn Connector>, ConfigError> {
        match &self.kind {
            ConnectorKind::Stripe(config) => config
                .clone()
                .build()
                .map(|c| Arc::new(c) as Arc<dyn Connector>)
                .map_err(ConfigError),
            ConnectorKind::Ga4(config, business) => config
                .as_ref()
                .clone()
                .build(business)
                .map(|c| Arc::new(c) as Arc<dyn Connector>)
                .map_err(ConfigError),
        }
    }
}

/// A target for a KPI and period.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// KPI id.
    pub kpi: String,
    /// `week` or `month`.
    pub grain: &'static str,
    /// First day of the period.
    pub period_start: String,
    /// The value aimed at, in the KPI's unit.
    pub value: f64,
}

impl Config {
    /// Loads the configuration from `path`, or from the first default location that exists.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match path {
            Some(path) => path.to_owned(),
            None => default_locations()
                .into_iter()
                .find(|path| path.exists())
                .ok_or_else(|| {
                    ConfigError(
                    "no configuration file: pass --config, set KPISYNC_CONFIG, or write one with \
                     `kpisync init kpisync.toml`"
                        .into(),
                )
                })?,
        };
        if !path.exists() {
            return Err(ConfigError(format!("{}: no such file", path.display())));
        }

        let raw = config::Config::builder()
            .add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml))
            .add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator("__")
                    .separator("__"),
            )
            .build()
            .and_then(|built| built.try_deserialize::<RawConfig>())
            .map_err(|error| {
                let error = without_quoted_lines(&error.to_string());
                ConfigError(format!("{}: {error}", path.display()))
            })?;

        Config::check(raw, path.clone())
            .map_err(|error| ConfigError(format!("{}: {}", path.display(), error.0)))
    }

    fn check(raw: RawConfig, source: PathBuf) -> Result<Config, ConfigError> {
        let business = check_business(raw.business)?;
        let mut connectors = Vec::new();
        if let Some(stripe) = raw.connectors.stripe {
            check_schedule("connectors.stripe.schedule", &stripe.schedule)?;
            connectors.push(ConnectorEntry {
                name: "stripe",
                enabled: stripe.enabled,
                schedule: stripe.schedule.clone(),
                timeout: Duration::from_secs(stripe.timeout_seconds),
                kind: ConnectorKind::Stripe(stripe),
            });
        }
        if let Some(ga4) = raw.connectors.ga4 {
            check_schedule("connectors.ga4.schedule", &ga4.schedule)?;
            let business = Ga4Business {
                timezone: business.timezone_name.clone(),
                landing_pages: business.landing_pages.clone(),
                app: business.model == BusinessModel::App,
            };
            connectors.push(ConnectorEntry {
                name: "ga4",
                enabled: ga4.enabled,
                schedule: ga4.schedule.clone(),
                timeout: Duration::from_secs(ga4.timeout_seconds),
                kind: ConnectorKind::Ga4(Box::new(ga4), business),
            });
        }
        let mut targets = check_targets("targets.monthly", "month", &raw.targets.monthly)?;
        targets.extend(check_targets(
            "targets.weekly",
            "week",
            &raw.targets.weekly,
        )?);
        Ok(Config {
            source,
            warehouse_path: raw.warehouse.path,
            business,
            connectors,
            targets,
            daemon: check_daemon(raw.daemon)?,
        })
    }

    /// The enabled connectors, or the named ones (which must be configured and enabled).
    pub fn select(&self, names: &[String]) -> Result<Vec<&ConnectorEntry>, ConfigError> {
        if names.is_empty() {
            return Ok(self
                .connectors
                .iter()
                .filter(|entry| entry.enabled)
                .collect());
        }
        names
            .iter()
            .map(|name| {
                let entry = self
                    .connectors
                    .iter()
                    .find(|entry| entry.name == name)
                    .ok_or_else(|| ConfigError(format!("connector {name:?} is not configured")))?;
                if !entry.enabled {
                    return Err(ConfigError(format!(
                        "connectors.{name}.enabled is false; enable it to sync it"
                    )));
                }
                Ok(entry)
            })
            .collect()
    }
}

fn check_business(raw: RawBusiness) -> Result<Business, ConfigError> {
    let timezone = jiff::tz::TimeZone::get(&raw.timezone).map_err(|_| {
        ConfigError(format!(
            "business.timezone: {:?} is not an IANA time zone name (like \"Europe/Paris\")",
            raw.timezone
        ))
    })?;
    let currency = raw.currency.to_ascii_uppercase();
    if iso_currency::Currency::from_code(&currency).is_none() {
        return Err(ConfigError(format!(
            "business.currency: {:?} is not an ISO 4217 currency code (like \"EUR\")",
            raw.currency
        )));
    }
    Ok(Business {
        model: raw.model,
        timezone_name: raw.timezone,
        timezone,
        currency,
        landing_pages: raw.landing_pages,
    })
}

fn check_daemon(raw: RawDaemon) -> Result<DaemonSettings, ConfigError> {
    if !(1..=3600).contains(&raw.shutdown_timeout_seconds) {
        return Err(ConfigError(format!(
            "daemon.shutdown_timeout_seconds: {} is not between 1 and 3600",
            raw.shutdown_timeout_seconds
        )));
    }
    if raw.max_jitter_seconds > 3600 {
        return Err(ConfigError(format!(
            "daemon.max_jitter_seconds: {} is more than 3600",
            raw.max_jitter_seconds
        )));
    }
    if raw.stale_after_hours == Some(0) {
        return Err(ConfigError(
            "daemon.stale_after_hours: 0 would call every connector stale".into(),
        ));
    }
    Ok(DaemonSettings {
        shutdown_timeout: Duration::from_secs(raw.shutdown_timeout_seconds),
        max_jitter: Duration::from_secs(raw.max_jitter_seconds),
        stale_after: raw
            .stale_after_hours
            .map(|hours| Duration::from_secs(hours.saturating_mul(3600))),
    })
}

/// Accepts standard 5-field cron expressions and 6-field ones with seconds first, and returns
/// the parsed expression. Day of month and day of week combine as in crontab: either matches.
pub fn check_schedule(key: &str, expression: &str) -> Result<croner::Cron, ConfigError> {
    use croner::parser::{CronParser, Seconds};

    let fields = expression.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(ConfigError(format!(
            "{key}: {expression:?} has {fields} fields; write a 5-field cron expression such as \
             \"*/30 * * * *\""
        )));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(expression)
        .map_err(|error| {
            ConfigError(format!(
                "{key}: {expression:?} is not a cron expression: {error}"
            ))
        })
}

/// A TOML syntax error without the lines of the file it quotes: the line at fault may hold a
/// secret (`api_key = "sk_live_..." x`). The line and column numbers stay.
fn without_quoted_lines(message: &str) -> String {
    let quoted = |line: &str| {
        let line = line
            .trim_start()
            .trim_start_matches(|c: char| c.is_ascii_digit());
        line.trim_start().starts_with('|')
    };
    let kept: Vec<&str> = message.lines().filter(|line| !quoted(line)).collect();
    kept.join("\n")
}

fn check_targets(
    key: &str,
    grain: &'static str,
    targets: &BTreeMap<String, BTreeMap<String, f64>>,
) -> Result<Vec<Target>, ConfigError> {
    let mut checked = Vec::new();
    for (kpi, periods) in targets {
        if !crate::kpi::catalog().iter().any(|def| def.id == kpi) {
            return Err(ConfigError(format!(
                "{key}: {kpi:?} is not a KPI id (see docs/kpis.md)"
            )));
        }
        // Labels are read leniently (`2026-W5` is `2026-W05`): two may name one period.
        let mut labels: BTreeMap<String, &str> = BTreeMap::new();
        for (period, value) in periods {
            let start = parse_target_period(grain, period).ok_or_else(|| {
                let form = if grain == "month" {
                    "2026-01"
                } else {
                    "2026-W05"
                };
                ConfigError(format!(
                    "{key}.{kpi}: period {period:?} is not like {form:?}"
                ))
            })?;
            if !value.is_finite() {
                return Err(ConfigError(format!("{key}.{kpi}.{period}: not a number")));
            }
            if let Some(earlier) = labels.insert(start.clone(), period) {
                return Err(ConfigError(format!(
                    "{key}.{kpi}: {earlier:?} and {period:?} are the same period"
                )));
            }
            checked.push(Target {
                kpi: kpi.clone(),
                grain,
                period_start: start,
                value: *value,
            });
        }
    }
    Ok(checked)
}

/// `2026-01` → `2026-01-01`; `2026-W05` → the Monday of that ISO week. The labels are read as
/// everywhere else (`kpisync record`, `note`, `report --period`); the label must be of the
/// section's grain.
fn parse_target_period(grain: &str, period: &str) -> Option<String> {
    let period = crate::kpi::periods::parse(period).ok()?;
    (period.grain.as_str() == grain).then(|| period.start.to_string())
}

#[cfg(test)]
mod tests;
