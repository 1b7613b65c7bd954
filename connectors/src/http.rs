//! The HTTP client every connector uses: rustls, timeouts, gzip, a versioned User-Agent, a
//! client-side rate limit, and retries with exponential backoff and jitter on 429, 5xx,
//! timeouts and cut connections, honouring `Retry-After` and an upstream's own retry header.
//! Errors carry the upstream's message with every credential masked.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Jitter, Quota, RateLimiter};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use crate::error::{ConnectorError, parse_retry_after};

/// The User-Agent every request carries.
pub const USER_AGENT: &str = concat!("kpisync/", env!("CARGO_PKG_VERSION"));

/// Pulls a human-readable message out of an upstream's error body.
pub type ErrorMessageParser = fn(&[u8]) -> Option<String>;

/// Reads an error answer (status and body) and says whether another attempt can help, when the
/// upstream's body knows better than its status code; `None` keeps the status-based decision.
pub type RetryHintParser = fn(u16, &[u8]) -> Option<bool>;

/// What a request sends: query parameters with a GET, or a body with a POST.
#[derive(Clone, Copy)]
pub enum Payload<'a> {
    /// A GET with these query parameters.
    Query(&'a [(&'a str, String)]),
    /// A POST of this JSON document.
    Json(&'a serde_json::Value),
    /// A POST of these form fields (`application/x-www-form-urlencoded`).
    Form(&'a [(&'a str, &'a str)]),
}

/// How a connector's client behaves.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The connector, for logs.
    pub connector: &'static str,
    /// The API root (`https://api.stripe.com`), without a trailing slash.
    pub base_url: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff delay; doubles each attempt.
    pub min_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
    /// Longest wait a `Retry-After` may impose; longer ones are cut to this.
    pub max_retry_after: Duration,
    /// Client-side limit; 0 means none.
    pub requests_per_second: u32,
    /// A response header whose `true`/`false` overrides the status-based retry decision
    /// (Stripe's `Stripe-Should-Retry`).
    pub retry_hint_header: Option<&'static str>,
    /// Reads an error body to decide whether to retry (a quota that refills only in an hour is
    /// not worth a retry, a momentary one is).
    pub retry_hint_body: Option<RetryHintParser>,
    /// Headers sent with every request (an API version pin).
    pub default_headers: Vec<(&'static str, String)>,
    /// Extracts the upstream's message from an error body.
    pub error_message: ErrorMessageParser,
}

impl HttpSettings {
    /// Settings with kpisync's defaults: 60 s timeout, 6 attempts, backoff 0.5 s doubling to
    /// 30 s, `Retry-After` honoured up to 5 minutes, no rate limit.
    pub fn new(connector: &'static str, base_url: &str) -> HttpSettings {
        HttpSettings {
            connector,
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(60),
            max_attempts: 6,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
            requests_per_second: 0,
            retry_hint_header: None,
            retry_hint_body: None,
            default_headers: Vec::new(),
            error_message: |_| None,
        }
    }
}

/// How requests authenticate.
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(SecretString),
}

/// A successful answer.
#[derive(Debug)]
pub struct Fetched<T> {
    /// The decoded body.
    pub body: T,
    /// Attempts it took.
    pub attempts: u32,
}

/// The shared retrying client; one per connector instance.
pub struct HttpClient {
    client: reqwest::Client,
    settings: HttpSettings,
    auth_header: Option<HeaderValue>,
    secrets: Vec<SecretString>,
    limiter: Option<DefaultDirectRateLimiter>,
    requests: AtomicU64,
}

/// One failed attempt and whether another may succeed.
struct Failure {
    error: ConnectorError,
    retry: bool,
    wait: Option<Duration>,
}

impl HttpClient {
    /// Builds the client; fails on a URL or header that cannot work.
    pub fn new(settings: HttpSettings, auth: Auth) -> Result<HttpClient, ConnectorError> {
        reqwest::Url::parse(&settings.base_url).map_err(|error| {
            ConnectorError::Config(format!("base_url {:?}: {error}", settings.base_url))
        })?;

        let mut headers = HeaderMap::new();
        for (name, value) in &settings.default_headers {
            let name = HeaderName::from_static(name);
            let value = HeaderValue::from_str(value)
                .map_err(|_| ConnectorError::Config(format!("header {name}: invalid value")))?;
            headers.insert(name, value);
        }

        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10).min(settings.timeout))
            .timeout(settings.timeout)
            .gzip(true)
            .build()
            .map_err(|error| ConnectorError::Config(format!("HTTP client: {error}")))?;

        let (auth_header, secrets) = match auth {
            Auth::None => (None, Vec::new()),
            Auth::Bearer(token) => {
                let text = format!("Bearer {}", token.expose_secret());
                let mut value = HeaderValue::from_str(&text).map_err(|_| {
                    ConnectorError::Config("API key holds characters a header cannot".into())
                })?;
                // Keeps the value out of reqwest's and hyper's Debug output.
                value.set_sensitive(true);
                (Some(value), vec![token])
            }
        };

        let limiter = NonZeroU32::new(settings.requests_per_second)
            .map(|rate| RateLimiter::direct(Quota::per_second(rate)));

        Ok(HttpClient {
            client,
            settings,
            auth_header,
            secrets,
            limiter,
            requests: AtomicU64::new(0),
        })
    }

    /// Requests sent so far, retries included.
    pub fn requests_made(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// GETs `path` with `query` and decodes the JSON body, retrying what may pass on retry.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Fetched<T>, ConnectorError> {
        self.send_json(path, Payload::Query(query), None).await
    }

    /// Sends `payload` to `path` and decodes the JSON answer, retrying what may pass on retry.
    /// `bearer`, when given, authenticates this request instead of the client's own
    /// credentials (a token that changes during the client's life); it is masked like them.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        path: &str,
        payload: Payload<'_>,
        bearer: Option<&SecretString>,
    ) -> Result<Fetched<T>, ConnectorError> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.settings.min_backoff)
            .with_max_delay(self.settings.max_backoff)
            .with_max_times(self.settings.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build();

        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.attempt(path, payload, bearer).await {
                Ok(body) => {
                    return Ok(Fetched {
                        body,
                        attempts: attempt,
                    });
                }
                Err(failure) => failure,
            };

            let next_delay = if failure.retry { backoff.next() } else { None };
            let Some(delay) = next_delay else {
                return Err(self.give_up(failure.error, attempt));
            };

            // The server's own wait wins over our backoff, plus a little jitter so that
            // several clients told the same wait do not come back at the same instant.
            let delay = match failure.wait {
                Some(wait) => {
                    let jitter = Duration::from_millis(fastrand::u64(0..250));
                    wait.min(self.settings.max_retry_after) + jitter
                }
                None => delay,
            };
            warn!(
                connector = self.settings.connector,
                endpoint = path,
                attempt,
                retry_after_secs = delay.as_secs_f64(),
                error = %failure.error,
                "request failed, retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Turns the last failure into the error the caller sees.
    fn give_up(&self, error: ConnectorError, attempts: u32) -> ConnectorError {
        match error {
            ConnectorError::RateLimited {
                endpoint, message, ..
            } => ConnectorError::RateLimited {
                endpoint,
                attempts,
                message,
            },
            other if attempts > 1 => match other {
                ConnectorError::Transport { endpoint, message } => ConnectorError::Transport {
                    endpoint,
                    message: format!("{message} (after {attempts} attempts)"),
                },
                ConnectorError::Unreachable { endpoint, message } => ConnectorError::Unreachable {
                    endpoint,
                    message: format!("{message} (after {attempts} attempts)"),
                },
                ConnectorError::Http {
                    endpoint,
                    status,
                    message,
                    request_id,
                } => {
                    let message = format!("{message} (after {attempts} attempts)");
                    ConnectorError::Http {
                        endpoint,
                        status,
                        message,
                        request_id,
                    }
                }
                other => other,
            },
            other => other,
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        path: &str,
        payload: Payload<'_>,
        bearer: Option<&SecretString>,
    ) -> Result<T, Failure> {
        if let Some(limiter) = &self.limiter {
            limiter
                .until_ready_with_jitter(Jitter::up_to(Duration::from_millis(20)))
                .await;
        }

        let url = format!("{}{}", self.settings.base_url, path);
        let mut request = match payload {
            Payload::Query(query) => self.client.get(url).query(query),
            Payload::Json(body) => self.client.post(url).json(body),
            Payload::Form(fields) => self.client.post(url).form(fields),
        };
        if let Some(value) = &self.auth_header {
            request = request.header(AUTHORIZATION, value.clone());
        }
        if let Some(token) = bearer {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| Failure {
                    error: ConnectorError::Config(
                        "a token holds characters a header cannot".into(),
                    ),
                    retry: false,
                    wait: None,
                })?;
            value.set_sensitive(true);
            request = request.header(AUTHORIZATION, value);
        }

        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let response = request.send().await.map_err(|error| Failure {
            error: self.transport(path, "request failed", &error, bearer),
            retry: true,
            wait: None,
        })?;

        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|error| Failure {
            error: self.transport(path, "response cut short", &error, bearer),
            retry: true,
            wait: None,
        })?;
        debug!(
            connector = self.settings.connector,
            endpoint = path,
            status = status.as_u16(),
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "response"
        );

        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|error| self.decode_failure(path, error, bearer));
        }
        Err(self.status_failure(path, status.as_u16(), &headers, &body, bearer))
    }

    fn status_failure(
        &self,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        bearer: Option<&SecretString>,
    ) -> Failure {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let message = (self.settings.error_message)(body)
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        let message = self.redact(&message, bearer);
        let endpoint = path.to_owned();
        let request_id = header("request-id").map(str::to_owned);

        let (error, mut retry) = match status {
            401 => (ConnectorError::Auth { endpoint, message }, false),
            403 => (ConnectorError::Permission { endpoint, message }, false),
            429 => (
                ConnectorError::RateLimited {
                    endpoint,
                    attempts: 1,
                    message,
                },
                true,
            ),
            _ => {
                let retry = status == 408 || status >= 500;
                (
                    ConnectorError::Http {
                        endpoint,
                        status,
                        message,
                        request_id,
                    },
                    retry,
                )
            }
        };

        // An upstream that says whether a retry can help knows better than the status code.
        let hint = self.settings.retry_hint_header.and_then(header);
        match hint {
            Some("true") => retry = true,
            Some("false") => retry = false,
            _ => {}
        }
        if let Some(decide) = self.settings.retry_hint_body
            && let Some(decision) = decide(status, body)
        {
            retry = decision;
        }

        let wait = header("retry-after")
            .and_then(|value| parse_retry_after(value, jiff::Timestamp::now()));
        Failure { error, retry, wait }
    }

    fn decode_failure(
        &self,
        path: &str,
        error: serde_json::Error,
        bearer: Option<&SecretString>,
    ) -> Failure {
        // A body that ends mid-document was cut in transit; another attempt may get it whole.
        // Any other decoding error would repeat identically.
        if error.is_eof() {
            let message = format!("response body cut short: {error}");
            return Failure {
                error: ConnectorError::Transport {
                    endpoint: path.to_owned(),
                    message,
                },
                retry: true,
                wait: None,
            };
        }
        let message = self.redact(&error.to_string(), bearer);
        Failure {
            error: ConnectorError::Decode {
                endpoint: path.to_owned(),
                message,
            },
            retry: false,
            wait: None,
        }
    }

    fn transport(
        &self,
        path: &str,
        what: &str,
        error: &reqwest::Error,
        bearer: Option<&SecretString>,
    ) -> ConnectorError {
        let mut message = String::from(what);
        if error.is_timeout() {
            message.push_str(": timed out");
        }
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(current) = source {
            let text = current.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = current.source();
        }
        let endpoint = path.to_owned();
        let message = self.redact(&message, bearer);
        if error.is_connect() {
            ConnectorError::Unreachable { endpoint, message }
        } else {
            ConnectorError::Transport { endpoint, message }
        }
    }

    /// Masks every credential this client knows, wherever an upstream echoed it.
    fn redact(&self, text: &str, bearer: Option<&SecretString>) -> String {
        let mut text = text.to_owned();
        for secret in self.secrets.iter().chain(bearer) {
            let secret = secret.expose_secret();
            if !secret.is_empty() {
                text = text.replace(secret, "[REDACTED]");
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Auth, HttpClient, HttpSettings};
    use crate::error::ConnectorError;

    #[tokio::test]
    async fn a_port_nobody_listens_on_is_unreachable_and_stops_the_connector() {
        // A port that was free a moment ago: connecting to it is refused.
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut settings = HttpSettings::new("test", &format!("http://127.0.0.1:{port}"));
        settings.max_attempts = 2;
        settings.min_backoff = Duration::from_millis(1);
        settings.max_backoff = Duration::from_millis(1);
        let client = HttpClient::new(settings, Auth::None).unwrap();

        let error = client
            .get_json::<serde_json::Value>("/v1/charges", &[])
            .await
            .unwrap_err();
        assert!(
            matches!(error, ConnectorError::Unreachable { .. }),
            "{error:?}"
        );
        assert!(error.stops_connector() && error.is_retryable());
        assert!(error.to_string().contains("after 2 attempts"), "{error}");
        assert_eq!(client.requests_made(), 2);
    }
}
