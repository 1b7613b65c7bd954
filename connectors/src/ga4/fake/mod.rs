//! A fake Google Analytics 4 on loopback: the OAuth token endpoint (checking each assertion's
//! RS256 signature against a key it generates), the Data API's `runReport` and
//! `batchRunReports` over a deterministic [`Dataset`], the Admin API's property resource, a
//! token quota returned as `propertyQuota`, and injectable faults. The end-to-end tests and
//! `kpisync demo` talk to it instead of Google.
//!
//! Limitations: one date range per report, `inListFilter` as the only filter, rows always in
//! ascending dimension order, and the quota is one bucket of tokens per hour and one per day
//! that refill only when a test says so.

mod dataset;
mod keys;
mod report;
mod server;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

use crate::loopback::LoopbackServer;

pub use dataset::{Dataset, LANDING_PAGES, Visit};
pub use keys::CLIENT_EMAIL;

/// The property id the fake serves; any other gets 403.
pub const PROPERTY_ID: &str = "123456789";

/// A failure the fake answers with instead of the normal response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 `RESOURCE_EXHAUSTED` with this message (which names the bucket).
    ResourceExhausted(String),
    /// 403 `PERMISSION_DENIED`.
    PermissionDenied,
    /// 401 `UNAUTHENTICATED`, as for an expired token.
    Unauthenticated,
    /// A server error with this status (500, 503).
    ServerError(u16),
}

impl Fault {
    /// The 429 GA4 sends when the hourly budget of potentially thresholded requests is spent.
    pub fn thresholded_requests_exhausted() -> Fault {
        Fault::ResourceExhausted(
            "Exhausted potentially thresholded requests per hour quota for this property.".into(),
        )
    }
}

/// A queued fault: requests whose path contains `path_contains` are let through `skip` times,
/// then answered with `fault` `times` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Part of the path (`:batchRunReports`, `/token`); every path when empty.
    pub path_contains: String,
    /// Matching requests served normally first.
    pub skip: usize,
    /// Matching requests that get the fault.
    pub times: usize,
    /// What they get.
    pub fault: Fault,
}

impl FaultRule {
    /// The next `times` requests whose path contains `path_contains` get `fault`.
    pub fn new(path_contains: &str, times: usize, fault: Fault) -> FaultRule {
        FaultRule {
            path_contains: path_contains.to_owned(),
            skip: 0,
            times,
            fault,
        }
    }

    /// The same, after letting `skip` matching requests through.
    pub fn after(mut self, skip: usize) -> FaultRule {
        self.skip = skip;
        self
    }
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL path.
    pub path: String,
    /// The JSON body, for Data API calls.
    pub body: Option<Value>,
    /// The status answered.
    pub status: u16,
}

/// One report asked for, out of a `runReport` or a `batchRunReports`.
#[derive(Debug, Clone, PartialEq)]
pub struct AskedReport {
    /// Dimension names, the period one first.
    pub dimensions: Vec<String>,
    /// Metric names.
    pub metrics: Vec<String>,
    /// `startDate` as sent.
    pub start_date: String,
    /// `endDate` as sent.
    pub end_date: String,
    /// The first row asked.
    pub offset: u64,
    /// The status of the answer that carried it.
    pub status: u16,
}

impl RecordedRequest {
    /// The reports this request asked for.
    pub fn reports(&self) -> Vec<AskedReport> {
        let Some(body) = &self.body else {
            return Vec::new();
        };
        let requests = match body["requests"].as_array() {
            Some(requests) => requests.clone(),
            None => vec![body.clone()],
        };
        requests
            .iter()
            .map(|request| {
                let names = |field: &str| -> Vec<String> {
                    request[field]
                        .as_array()
                        .map(|items| {
                            let names = items.iter().filter_map(|item| item["name"].as_str());
                            names.map(str::to_owned).collect()
                        })
                        .unwrap_or_default()
                };
                let range = &request["dateRanges"][0];
                let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
                AskedReport {
                    dimensions: names("dimensions"),
                    metrics: names("metrics"),
                    start_date: text(&range["startDate"]),
                    end_date: text(&range["endDate"]),
                    offset: request["offset"]
                        .as_str()
                        .and_then(|offset| offset.parse().ok())
                        .unwrap_or(0),
                    status: self.status,
                }
            })
            .collect()
    }
}

/// The fake's token budget: per hour and per day, charged per report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Tokens an hour.
    pub per_hour: i64,
    /// Tokens a day.
    pub per_day: i64,
    /// Tokens each report costs.
    pub per_report: i64,
    /// Spent this "hour" (until [`FakeGa4::refill_quota`]).
    pub hour_consumed: i64,
    /// Spent this "day".
    pub day_consumed: i64,
}

impl Default for Quota {
    fn default() -> Quota {
        Quota {
            per_hour: 40_000,
            per_day: 200_000,
            per_report: 4,
            hour_consumed: 0,
            day_consumed: 0,
        }
    }
}

/// A running fake GA4. It serves from its own thread and runtime, so it answers while the
/// test's runtime waits on a child process. Dropping it stops the server.
pub struct FakeGa4 {
    server: LoopbackServer,
    shared: Arc<server::Shared>,
}

impl FakeGa4 {
    /// Serves `dataset` on 127.0.0.1 on a free port.
    pub async fn start(dataset: Dataset) -> std::io::Result<FakeGa4> {
        // The key is made before the server answers, so the first token request is quick.
        keys::test_key();
        let (server, shared) = LoopbackServer::start("fake-ga4", |addr| {
            let shared = Arc::new(server::Shared::new(dataset, format!("http://{addr}/token")));
            (server::router(Arc::clone(&shared)), shared)
        })?;
        Ok(FakeGa4 { server, shared })
    }

    /// The root of both the Data and the Admin API, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A service-account key file whose token endpoint is this fake's.
    pub fn key_file_json(&self) -> String {
        keys::key_file(&format!("{}/token", self.base_url()))
    }

    /// Queues a fault behind those already injected.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.inject(rule);
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Every report asked for so far, oldest first.
    pub fn reports(&self) -> Vec<AskedReport> {
        self.requests()
            .iter()
            .flat_map(RecordedRequest::reports)
            .collect()
    }

    /// Forgets the requests answered so far.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Runs `f` on the live dataset.
    pub fn with_dataset<R>(&self, f: impl FnOnce(&mut Dataset) -> R) -> R {
        self.shared.with_dataset(f)
    }

    /// Sets the token budget (and forgets what was spent).
    pub fn set_quota(&self, quota: Quota) {
        self.shared.set_quota(quota);
    }

    /// The token budget now.
    pub fn quota(&self) -> Quota {
        self.shared.quota()
    }

    /// A new hour and a new day: the budget is whole again.
    pub fn refill_quota(&self) {
        let mut quota = self.quota();
        quota.hour_consumed = 0;
        quota.day_consumed = 0;
        self.set_quota(quota);
    }

    /// Makes every token issued so far invalid, as if it had expired.
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> usize {
        self.shared.tokens_issued()
    }
}

impl std::fmt::Debug for FakeGa4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGa4")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}
