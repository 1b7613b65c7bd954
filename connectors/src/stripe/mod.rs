//! The Stripe connector: charges, refunds, customers, balance transactions, subscriptions (every
//! status) and invoices into `stripe_<stream>` tables, plus the events feed that brings changes
//! to older objects (a refund on an old charge, a cancelled subscription).
//!
//! Lists are read newest first inside a `created` window, page by page. A stream's cursor is the
//! newest `created` of its last complete walk (the watermark), and while a walk is under way it
//! also holds where the walk stands, so an interrupted walk resumes after its last stored page
//! instead of starting over or leaving a gap. Each run re-reads `lookback_days` before the
//! watermark. Changes to older objects come from `/v1/events`; Stripe keeps events for 30 days,
//! so when the events cursor is older than that the mutable streams are re-read in full.
//!
//! Limitations: disputes and payment intents are not read; an object changed in a way no
//! subscribed event type reports is only corrected when it falls inside the lookback window or
//! on a full refresh.

mod objects;
pub mod tables;
mod walk;

#[cfg(test)]
mod fixture_tests;

#[cfg(feature = "fake")]
pub mod fake;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::http::{Auth, HttpClient, HttpSettings};
use crate::schema::TableSpec;
use crate::secret::SecretSources;
use crate::{BatchSink, CheckReport, Connector, ConnectorError, ReadContext, StreamSpec};

pub use objects::iso_instant;

/// The API version kpisync reads; pinned so that field shapes never change under it.
pub const API_VERSION: &str = "2025-03-31.basil";

/// How long Stripe keeps events.
pub const EVENTS_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The `[connectors.stripe]` section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// Whether syncs include Stripe. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A secret or restricted key (`sk_live_…`, `rk_live_…`), inline.
    pub api_key: Option<SecretString>,
    /// A file holding the key.
    pub api_key_file: Option<PathBuf>,
    /// A systemd credential holding the key.
    pub api_key_credential: Option<String>,
    /// When the daemon syncs: a cron expression in the business time zone.
    #[serde(default = "default_schedule")]
    pub schedule: String,
    /// Days before the last synced object that each run reads again. Default 7.
    #[serde(default = "default_lookback_days")]
    pub lookback_days: u32,
    /// The API root. Default `https://api.stripe.com`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Whole-request timeout, seconds. Default 60.
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
    /// Client-side request rate limit, 0 for none. Default 20 per second against Stripe's own
    /// API (which allows 100 live, 25 in test mode), none against another `base_url` (a local
    /// fake or a test server, which has no such limit to respect).
    pub requests_per_second: Option<u32>,
}

fn default_true() -> bool {
    true
}

fn default_schedule() -> String {
    "*/30 * * * *".into()
}

fn default_lookback_days() -> u32 {
    7
}

fn default_base_url() -> String {
    "https://api.stripe.com".into()
}

fn default_timeout_seconds() -> u64 {
    60
}

/// The client-side rate limit against Stripe's own API.
const STRIPE_REQUESTS_PER_SECOND: u32 = 20;

impl StripeConfig {
    /// Resolves the key and builds the connector; errors name the configuration key.
    pub fn build(self) -> Result<StripeConnector, String> {
        const KEY: &str = "connectors.stripe.api_key";
        let api_key = SecretSources {
            inline: self.api_key,
            file: self.api_key_file,
            credential: self.api_key_credential,
        }
        .resolve(KEY)?;

        if self.timeout_seconds == 0 || self.timeout_seconds > 3600 {
            return Err("connectors.stripe.timeout_seconds: must be between 1 and 3600".into());
        }
        if self.lookback_days > 3650 {
            return Err("connectors.stripe.lookback_days: at most 3650".into());
        }

        let mut http = HttpSettings::new("stripe", &self.base_url);
        http.timeout = Duration::from_secs(self.timeout_seconds);
        http.requests_per_second = self.requests_per_second.unwrap_or_else(|| {
            if is_stripe_api(&self.base_url) {
                STRIPE_REQUESTS_PER_SECOND
            } else {
                0
            }
        });
        http.retry_hint_header = Some("stripe-should-retry");
        http.default_headers = vec![("stripe-version", API_VERSION.to_owned())];
        http.error_message = error_message;

        let livemode = expected_livemode(api_key.expose_secret());
        let client = HttpClient::new(http, Auth::Bearer(api_key))
            .map_err(|error| format!("connectors.stripe.base_url: {error}"))?;
        Ok(StripeConnector {
            client,
            lookback: Duration::from_secs(u64::from(self.lookback_days) * 86_400),
            livemode,
            page_size: 100,
        })
    }
}

/// Whether `base_url` is Stripe's own API, whose rate limits the default limit respects.
fn is_stripe_api(base_url: &str) -> bool {
    reqwest::Url::parse(base_url)
        .ok()
        .and_then(|url| {
            url.host_str()
                .map(|host| host.eq_ignore_ascii_case("api.stripe.com"))
        })
        .unwrap_or(false)
}

/// The mode a key's objects are in: `sk_live_…` live, `sk_test_…` test; unknown otherwise.
fn expected_livemode(key: &str) -> Option<bool> {
    if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
        Some(true)
    } else if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
        Some(false)
    } else {
        None
    }
}

/// Stripe's error body: `{"error": {"type", "code", "message", ...}}`; `code` is often absent.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        error: Detail,
    }
    #[derive(Deserialize)]
    struct Detail {
        #[serde(rename = "type")]
        kind: Option<String>,
        code: Option<String>,
        message: Option<String>,
        param: Option<String>,
    }
    let detail = serde_json::from_slice::<Body>(body).ok()?.error;
    let mut text = detail.message.unwrap_or_else(|| "no message".into());
    let labels: Vec<String> = [
        ("type", detail.kind),
        ("code", detail.code),
        ("param", detail.param),
    ]
    .into_iter()
    .filter_map(|(label, value)| value.map(|value| format!("{label} {value}")))
    .collect();
    if !labels.is_empty() {
        text.push_str(&format!(" ({})", labels.join(", ")));
    }
    Some(text)
}

/// The exponent of a currency's minor unit as Stripe counts it (case-insensitive):
/// 0 for Stripe's zero-decimal currencies, 3 for the three-decimal ones, 2 for all others,
/// including ISK and UGX, which Stripe still sends with two decimals ending in `00`.
pub fn currency_exponent(code: &str) -> u32 {
    const ZERO: [&str; 14] = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "VND", "VUV", "XAF",
        "XOF",
    ];
    const THREE: [&str; 5] = ["BHD", "JOD", "KWD", "OMR", "TND"];
    let code = code.to_ascii_uppercase();
    if ZERO.contains(&code.as_str()) || code == "XPF" {
        0
    } else if THREE.contains(&code.as_str()) {
        3
    } else {
        2
    }
}

/// The Stripe connector, built from [`StripeConfig`].
pub struct StripeConnector {
    client: HttpClient,
    lookback: Duration,
    livemode: Option<bool>,
    page_size: u32,
}

/// The streams, in the order a sync reads them: lists first, then the events that patch them.
static STREAMS: [StreamSpec; 7] = [
    StreamSpec {
        name: "customers",
        description: "customers",
    },
    StreamSpec {
        name: "charges",
        description: "payment attempts",
    },
    StreamSpec {
        name: "refunds",
        description: "refunds",
    },
    StreamSpec {
        name: "balance_transactions",
        description: "money in the settlement currency",
    },
    StreamSpec {
        name: "subscriptions",
        description: "subscriptions, every status",
    },
    StreamSpec {
        name: "invoices",
        description: "invoices",
    },
    StreamSpec {
        name: "events",
        description: "changes to older objects (30 days kept)",
    },
];

#[async_trait]
impl Connector for StripeConnector {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn streams(&self) -> &'static [StreamSpec] {
        &STREAMS
    }

    fn tables(&self) -> &'static [&'static TableSpec] {
        &tables::TABLES
    }

    async fn check(&self) -> Result<CheckReport, ConnectorError> {
        // One request per endpoint: a restricted key may read some resources and not others,
        // and the first sync should not be where the user learns it.
        let mut readable = Vec::new();
        let endpoints = walk::LISTS.iter().map(|list| (list.stream, list.path));
        for (stream, path) in endpoints.chain([(walk::EVENTS_STREAM, walk::EVENTS_PATH)]) {
            let query = [("limit", "1".to_owned())];
            self.client
                .get_json::<serde::de::IgnoredAny>(path, &query)
                .await?;
            readable.push(stream);
        }
        let mut warnings = Vec::new();
        if self.livemode == Some(false) {
            warnings.push("this is a test-mode key: KPIs will show test data".to_owned());
        }
        Ok(CheckReport {
            detail: format!("can read {}", readable.join(", ")),
            warnings,
        })
    }

    async fn read(
        &self,
        stream: &str,
        context: &ReadContext,
        sink: &mut BatchSink,
    ) -> Result<(), ConnectorError> {
        if stream == walk::EVENTS_STREAM {
            return walk::read_events(self, context, sink).await;
        }
        let list = walk::LISTS
            .iter()
            .find(|list| list.stream == stream)
            .ok_or_else(|| ConnectorError::Config(format!("stripe has no stream {stream:?}")))?;
        walk::read_list(self, list, context, sink).await
    }
}

impl StripeConnector {
    /// Requests made so far, retries included.
    pub fn requests_made(&self) -> u64 {
        self.client.requests_made()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of the shared Stripe samples, which sit beside the repository.
    pub(crate) fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures/stripe")
            .join(name)
    }

    #[test]
    fn currency_exponents_follow_stripe_not_iso() {
        assert_eq!(currency_exponent("jpy"), 0);
        assert_eq!(currency_exponent("KRW"), 0);
        assert_eq!(
            currency_exponent("isk"),
            2,
            "Stripe sends ISK with two decimals"
        );
        assert_eq!(
            currency_exponent("ugx"),
            2,
            "Stripe sends UGX with two decimals"
        );
        assert_eq!(currency_exponent("kwd"), 3);
        assert_eq!(currency_exponent("eur"), 2);
    }

    #[test]
    fn error_bodies_without_a_code_still_give_a_message() {
        let body = std::fs::read(fixture("airbyte_400.json")).expect("the shared Stripe fixtures");
        let message = error_message(&body).expect("a message");
        assert!(!message.contains("code"), "{message}");
        assert!(message.contains("invalid_request_error"), "{message}");
    }

    #[test]
    fn rate_limit_bodies_keep_their_code() {
        let body =
            br#"{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"m"}}"#;
        assert_eq!(
            error_message(body).unwrap(),
            "m (type invalid_request_error, code lock_timeout)"
        );
    }

    #[test]
    fn the_default_rate_limit_applies_to_stripe_only() {
        assert!(is_stripe_api("https://api.stripe.com"));
        assert!(is_stripe_api("https://API.stripe.com/"));
        assert!(!is_stripe_api("http://127.0.0.1:12111"));
        assert!(!is_stripe_api("https://api.stripe.com.example.org"));
        assert!(!is_stripe_api("not a url"));
    }

    #[test]
    fn key_prefixes_tell_the_mode() {
        assert_eq!(expected_livemode("sk_live_x"), Some(true));
        assert_eq!(expected_livemode("rk_test_x"), Some(false));
        assert_eq!(expected_livemode("whatever"), None);
    }
}
