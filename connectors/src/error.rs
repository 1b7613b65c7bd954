//! The errors a connector can end with, classified by what the user or the engine should do
//! about them. Messages carry the upstream's own words but never a credential.

use std::time::Duration;

/// Why a connector call failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The configuration cannot work (bad URL, unreadable key file).
    #[error("configuration: {0}")]
    Config(String),

    /// The upstream refused the credentials (HTTP 401).
    #[error("{endpoint}: authentication failed (HTTP 401): {message}")]
    Auth {
        /// The endpoint path.
        endpoint: String,
        /// The upstream's message.
        message: String,
    },

    /// The credentials lack a permission (HTTP 403).
    #[error("{endpoint}: permission denied (HTTP 403): {message}")]
    Permission {
        /// The endpoint path.
        endpoint: String,
        /// The upstream's message.
        message: String,
    },

    /// Still rate limited after every retry.
    #[error("{endpoint}: rate limited (HTTP 429) after {attempts} attempts: {message}")]
    RateLimited {
        /// The endpoint path.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The upstream's message.
        message: String,
    },

    /// Any other non-success status.
    #[error("{endpoint}: HTTP {status}{}: {message}", request_id_suffix(.request_id))]
    Http {
        /// The endpoint path.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The upstream's message.
        message: String,
        /// The upstream's request id, for its support.
        request_id: Option<String>,
    },

    /// The request never got a whole answer: timeout, connection reset, truncated body.
    #[error("{endpoint}: {message}")]
    Transport {
        /// The endpoint path.
        endpoint: String,
        /// What went wrong.
        message: String,
    },

    /// No connection could be opened to the upstream (refused, no route, name not found),
    /// after every retry: no other stream of the run would get one either.
    #[error("{endpoint}: cannot connect: {message}")]
    Unreachable {
        /// The endpoint path.
        endpoint: String,
        /// What went wrong.
        message: String,
    },

    /// The answer arrived but is not what the API documents: bad JSON, a missing field.
    #[error("{endpoint}: unexpected response: {message}")]
    Decode {
        /// The endpoint path.
        endpoint: String,
        /// What was wrong with it.
        message: String,
    },

    /// The run was abandoned (shutdown, or the writer failed).
    #[error("cancelled")]
    Cancelled,
}

fn request_id_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_ref()
        .map(|id| format!(" (request {id})"))
        .unwrap_or_default()
}

impl ConnectorError {
    /// True when trying again later may succeed without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        match self {
            ConnectorError::RateLimited { .. }
            | ConnectorError::Transport { .. }
            | ConnectorError::Unreachable { .. } => true,
            ConnectorError::Http { status, .. } => *status == 408 || *status >= 500,
            _ => false,
        }
    }

    /// True when no other stream of the connector can succeed either (bad credentials, an
    /// upstream that cannot be reached).
    pub fn stops_connector(&self) -> bool {
        matches!(
            self,
            ConnectorError::Auth { .. }
                | ConnectorError::Config(_)
                | ConnectorError::Unreachable { .. }
        )
    }

    /// A short hint for the user on what to do next.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ConnectorError::Auth { .. } => Some("check the API key in the configuration"),
            ConnectorError::Permission { .. } => {
                Some("give the key read access to this resource (see docs/configuration.md)")
            }
            ConnectorError::RateLimited { .. } => {
                Some("the next run resumes where this one stopped")
            }
            ConnectorError::Transport { .. } => Some("the next run resumes where this one stopped"),
            ConnectorError::Unreachable { .. } => {
                Some("check base_url and the network; the next run resumes where this one stopped")
            }
            _ => None,
        }
    }
}

/// How long to wait before the next attempt, when the upstream said so.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }

    // The HTTP-date form (RFC 9110 says IMF-fixdate, which RFC 2822 parsing accepts).
    let date = jiff::fmt::rfc2822::parse(value).ok()?;
    let wait = date.timestamp().duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let date = "Thu, 01 Jan 2026 00:00:30 GMT";
        assert_eq!(parse_retry_after(date, now), Some(Duration::from_secs(30)));
        let past = "Wed, 31 Dec 2025 23:00:00 GMT";
        assert_eq!(parse_retry_after(past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let http = |status| ConnectorError::Http {
            endpoint: "/v1/charges".into(),
            status,
            message: String::new(),
            request_id: None,
        };
        assert!(http(503).is_retryable());
        assert!(!http(400).is_retryable());
        let auth = ConnectorError::Auth {
            endpoint: "/".into(),
            message: String::new(),
        };
        assert!(!auth.is_retryable());
        assert!(auth.stops_connector());
    }
}
