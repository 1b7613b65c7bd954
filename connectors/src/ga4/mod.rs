//! The Google Analytics 4 connector: visitors, sessions, engagement, channels, landing pages,
//! configured events and GA4's own commerce numbers, per day, ISO week and month, into the
//! `metrics` table (source `ga4`). Each grain is asked for separately, because users counted
//! over a week are fewer than the sum of the week's days.
//!
//! It authenticates as a service account (an RS256 assertion exchanged for a token at the key
//! file's `token_uri`), reads the property's time zone from the Admin API, and sends
//! `batchRunReports` of at most five reports, each with `returnPropertyQuota`. Every run
//! re-reads the last `lookback_days` and the current periods; older periods are read once,
//! from `start_date`, in chunks. When the hourly or daily quota runs low, or GA4 answers
//! `RESOURCE_EXHAUSTED`, the run stops cleanly and the next one resumes where it stopped.
//!
//! Limitations: one property per configuration; the report shapes are fixed (no custom
//! dimensions); a property whose time zone changed keeps its older days in the old zone, as GA4
//! does.

mod api;
mod auth;
mod plan;
mod read;

#[cfg(test)]
mod fixture_tests;

#[cfg(feature = "fake")]
pub mod fake;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use jiff::civil::Date;
use serde::Deserialize;

use crate::http::{Auth, HttpClient, HttpSettings};
use crate::schema::TableSpec;
use crate::secret::SecretSources;
use crate::{BatchSink, CheckReport, Connector, ConnectorError, ReadContext, StreamSpec};

pub use plan::{Ga4Cursor, Grain};

/// The stream every GA4 report is read in.
pub const STREAM: &str = "reports";

/// The `[connectors.ga4]` section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ga4Config {
    /// Whether syncs include GA4. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The numeric property id (Admin > Property settings), not a `G-...` measurement id.
    pub property_id: PropertyId,
    /// The service-account key file (JSON) downloaded from the Cloud console.
    pub credentials_file: Option<PathBuf>,
    /// A systemd credential holding the key file.
    pub credentials_credential: Option<String>,
    /// When the daemon syncs: a cron expression in the business time zone.
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// Days before the property's today that each run reads again. Default 3 (GA4 data
    /// settles within 72 hours).
    #[serde(default = "default_lookback_days")]
    pub lookback_days: u32,
    /// The first day to read (`2025-01-01`). Default: 13 months before the first sync.
    pub start_date: Option<String>,
    /// The Data API root. Default `https://analyticsdata.googleapis.com`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The Admin API root, for the property's time zone. Default
    /// `https://analyticsadmin.googleapis.com`.
    #[serde(default = "default_admin_base_url")]
    pub admin_base_url: String,
    /// Whole-request timeout, seconds. Default 60.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// The event counted as a free sign-up. Default none.
    pub signup_event: Option<String>,
    /// The event counted as a lead-magnet download. Default none.
    pub lead_event: Option<String>,
    /// The event counted as an app install. Default `first_open` for the `app` model, else
    /// none.
    pub app_install_event: Option<String>,
    /// The event counted as a purchase. Default `purchase`.
    #[serde(default = "default_purchase_event")]
    pub purchase_event: String,
    /// The share of an hourly or daily token bucket kept unused: below it a run stops and the
    /// next one resumes. Default 10 (percent).
    #[serde(default = "default_quota_reserve_percent")]
    pub quota_reserve_percent: u32,
    /// Rows per report page, at most 250,000. Default 100,000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
}

/// A property id, written as a number or a string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum PropertyId {
    /// `property_id = 123456789`
    Number(u64),
    /// `property_id = "123456789"`, or from the environment.
    Text(String),
}

impl PropertyId {
    fn digits(&self) -> Result<String, String> {
        let text = match self {
            PropertyId::Number(number) => number.to_string(),
            PropertyId::Text(text) => text.trim().trim_start_matches("properties/").to_owned(),
        };
        if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(format!(
                "connectors.ga4.property_id: {text:?} is not a property id; use the number in \
                 GA4's Admin > Property settings, not a G-... measurement id"
            ));
        }
        Ok(text)
    }
}

fn default_true() -> bool {
    true
}

fn default_schedule() -> String {
    "15 */3 * * *".into()
}

fn default_lookback_days() -> u32 {
    3
}

fn default_base_url() -> String {
    "https://analyticsdata.googleapis.com".into()
}

fn default_admin_base_url() -> String {
    "https://analyticsadmin.googleapis.com".into()
}

fn default_timeout_seconds() -> u64 {
    60
}

fn default_purchase_event() -> String {
    "purchase".into()
}

fn default_quota_reserve_percent() -> u32 {
    10
}

fn default_page_size() -> u32 {
    100_000
}

/// What GA4 needs from the `[business]` section.
#[derive(Debug, Clone, Default)]
pub struct Ga4Business {
    /// `business.timezone`, to warn when the property cuts days elsewhere.
    pub timezone: String,
    /// `business.landing_pages`.
    pub landing_pages: Vec<String>,
    /// Whether `business.model` is `app`, which tracks `first_open` by default.
    pub app: bool,
}

impl Ga4Config {
    /// Reads the key file and builds the connector; errors name the configuration key.
    pub fn build(self, business: &Ga4Business) -> Result<Ga4Connector, String> {
        let property_id = self.property_id.digits()?;
        if self.credentials_file.is_none() && self.credentials_credential.is_none() {
            return Err(
                "connectors.ga4.credentials_file: missing; set credentials_file (the \
                        service-account key, JSON) or credentials_credential"
                    .into(),
            );
        }
        let key = SecretSources {
            inline: None,
            file: self.credentials_file,
            credential: self.credentials_credential,
        }
        .resolve("connectors.ga4.credentials")?;
        let account = auth::ServiceAccount::parse(&key)
            .map_err(|error| format!("connectors.ga4.credentials_file: the key file {error}"))?;

        if self.timeout_seconds == 0 || self.timeout_seconds > 3600 {
            return Err("connectors.ga4.timeout_seconds: must be between 1 and 3600".into());
        }
        if self.lookback_days > 365 {
            return Err("connectors.ga4.lookback_days: at most 365".into());
        }
        if self.quota_reserve_percent > 90 {
            return Err("connectors.ga4.quota_reserve_percent: at most 90".into());
        }
        if !(1..=250_000).contains(&self.page_size) {
            return Err("connectors.ga4.page_size: must be between 1 and 250000".into());
        }
        let start_date = self
            .start_date
            .as_deref()
            .map(|text| {
                text.trim().parse::<Date>().map_err(|_| {
                    format!("connectors.ga4.start_date: {text:?} is not a date like 2025-01-01")
                })
            })
            .transpose()?;

        let timeout = Duration::from_secs(self.timeout_seconds);
        let data = client(&self.base_url, timeout)
            .map_err(|error| format!("connectors.ga4.base_url: {error}"))?;
        let admin = client(&self.admin_base_url, timeout)
            .map_err(|error| format!("connectors.ga4.admin_base_url: {error}"))?;
        let tokens = auth::TokenSource::new(account, timeout)?;

        let app_default = business.app.then(|| "first_open".to_owned());
        let roles = [
            ("sign_ups", self.signup_event),
            ("lead_magnet_downloads", self.lead_event),
            ("app_downloads", self.app_install_event.or(app_default)),
            ("purchases", Some(self.purchase_event)),
        ];
        let roles = plan::EventRoles(
            roles
                .into_iter()
                .filter_map(|(metric, event)| {
                    let event = event?.trim().to_owned();
                    (!event.is_empty()).then_some((metric, event))
                })
                .collect(),
        );
        let specs = plan::specs(&roles, &business.landing_pages);
        Ok(Ga4Connector {
            property_id,
            data,
            admin,
            tokens,
            lookback_days: self.lookback_days,
            start_date,
            roles,
            specs,
            business_timezone: business.timezone.clone(),
            quota_reserve_percent: self.quota_reserve_percent,
            page_size: self.page_size,
            clock: None,
        })
    }
}

/// A Data or Admin API client: GA4's quotas make long retries pointless, and server errors
/// count against an hourly budget of their own, so it tries three times within seconds.
fn client(base_url: &str, timeout: Duration) -> Result<HttpClient, ConnectorError> {
    let mut settings = HttpSettings::new("ga4", base_url);
    settings.timeout = timeout;
    settings.max_attempts = 3;
    settings.min_backoff = Duration::from_secs(1);
    settings.max_backoff = Duration::from_secs(8);
    settings.max_retry_after = Duration::from_secs(30);
    settings.error_message = api::error_message;
    settings.retry_hint_body = Some(api::retry_hint);
    HttpClient::new(settings, Auth::None)
}

/// The GA4 connector, built from [`Ga4Config`].
pub struct Ga4Connector {
    property_id: String,
    data: HttpClient,
    admin: HttpClient,
    tokens: auth::TokenSource,
    lookback_days: u32,
    start_date: Option<Date>,
    roles: plan::EventRoles,
    specs: Vec<plan::Spec>,
    business_timezone: String,
    quota_reserve_percent: u32,
    page_size: u32,
    clock: Option<jiff::Timestamp>,
}

static STREAMS: [StreamSpec; 1] = [StreamSpec {
    name: STREAM,
    description: "GA4 reports per day, ISO week and month, into metrics",
}];

impl Ga4Connector {
    /// The same connector with its clock stopped at `now`, for tests of "today".
    pub fn with_clock(mut self, now: jiff::Timestamp) -> Ga4Connector {
        self.clock = Some(now);
        self
    }

    /// Requests made so far to the Data and Admin APIs, retries included.
    pub fn requests_made(&self) -> u64 {
        self.data.requests_made() + self.admin.requests_made()
    }

    fn now(&self) -> jiff::Timestamp {
        self.clock.unwrap_or_else(jiff::Timestamp::now)
    }
}

#[async_trait]
impl Connector for Ga4Connector {
    fn name(&self) -> &'static str {
        "ga4"
    }

    fn streams(&self) -> &'static [StreamSpec] {
        &STREAMS
    }

    fn tables(&self) -> &'static [&'static TableSpec] {
        &[]
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        read::check(self).await
    }

    async fn read(
        &self,
        stream: &str,
        context: &ReadContext,
        sink: &mut BatchSink,
    ) -> Result<(), ConnectorError> {
        if stream != STREAM {
            return Err(ConnectorError::Config(format!(
                "ga4 has no stream {stream:?}"
            )));
        }
        read::read_reports(self, context, sink).await
    }
}

/// The warning `check` and `status` give when the property's days are not the business's.
pub fn timezone_warning(property: &str, business: &str) -> Option<String> {
    (property != business).then(|| {
        format!(
            "the GA4 property's time zone is {property} but business.timezone is {business}: \
             GA4 days, weeks and months are cut in {property} and cannot be moved, so GA4 KPIs \
             and ratios with Stripe numbers mix two zones; set the property's time zone in GA4 \
             (Admin > Property settings) to match"
        )
    })
}
