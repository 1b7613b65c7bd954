//! A fake Stripe API v1 on loopback: the read-only list and retrieve endpoints kpisync uses,
//! served from a deterministic in-memory [`Dataset`], with injectable faults and a log of every
//! request. The end-to-end tests and `kpisync demo` talk to it instead of api.stripe.com.
//!
//! Limitations: only GET is served, `expand[]` goes one level deep, search endpoints and
//! `Stripe-Account` (Connect) are not modelled, and objects always come back in the shape of one
//! API version ([`API_VERSION`]) whatever `Stripe-Version` the client sends.

mod builders;
mod dataset;
mod demo;
mod generated;
mod list;
mod server;
mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::loopback::LoopbackServer;

pub use builders::{
    API_VERSION, balance_transaction, cancel_subscription, charge, customer, event, invoice,
    link_balance_transaction, refund, start_trial, subscription,
};
pub use dataset::Dataset;

/// The only API key the fake accepts, as a Bearer token or as the HTTP Basic user name.
pub const FAKE_API_KEY: &str = "sk_test_kpisync_fake_key";

/// A Stripe resource the fake serves, one list endpoint each (`/v1/<path>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// `/v1/charges`
    Charges,
    /// `/v1/refunds`
    Refunds,
    /// `/v1/customers`
    Customers,
    /// `/v1/subscriptions`
    Subscriptions,
    /// `/v1/invoices`
    Invoices,
    /// `/v1/balance_transactions`
    BalanceTransactions,
    /// `/v1/events`
    Events,
}

impl Resource {
    /// Every resource, in a fixed order.
    pub const ALL: [Resource; 7] = [
        Resource::Charges,
        Resource::Refunds,
        Resource::Customers,
        Resource::Subscriptions,
        Resource::Invoices,
        Resource::BalanceTransactions,
        Resource::Events,
    ];

    /// The URL path segment after `/v1/`, e.g. `balance_transactions`.
    pub fn path(self) -> &'static str {
        match self {
            Resource::Charges => "charges",
            Resource::Refunds => "refunds",
            Resource::Customers => "customers",
            Resource::Subscriptions => "subscriptions",
            Resource::Invoices => "invoices",
            Resource::BalanceTransactions => "balance_transactions",
            Resource::Events => "events",
        }
    }

    /// The value of the `object` field of this resource's objects, e.g. `balance_transaction`.
    pub fn object_name(self) -> &'static str {
        match self {
            Resource::Charges => "charge",
            Resource::Refunds => "refund",
            Resource::Customers => "customer",
            Resource::Subscriptions => "subscription",
            Resource::Invoices => "invoice",
            Resource::BalanceTransactions => "balance_transaction",
            Resource::Events => "event",
        }
    }

    /// The resource served under `/v1/<path>`, if any.
    pub fn from_path(path: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.path() == path)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A failure the fake answers with instead of (or on top of) the normal response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with Stripe's rate-limit error body.
    RateLimit {
        /// Value of the `Retry-After` header in seconds; no header when `None` (Stripe does not
        /// promise one).
        retry_after_secs: Option<u64>,
        /// The error `code`: `"rate_limit"` (too many requests) or `"lock_timeout"` (an object
        /// is locked by another request).
        code: &'static str,
        /// Value of the `Stripe-Should-Retry` header; no header when `None`.
        should_retry: Option<bool>,
    },
    /// A server-side failure with Stripe's `api_error` body.
    ServerError {
        /// The HTTP status, normally 500, 502 or 503.
        status: u16,
    },
    /// The normal answer (200 for a valid request) with a `Content-Length` for the whole
    /// body, but the connection closes after about half of it.
    TruncatedBody,
    /// The normal response, sent after a delay.
    Delay {
        /// How long to wait before answering, in milliseconds.
        millis: u64,
    },
    /// 200 whose first object (or the object itself, on a retrieve) has
    /// `"created": "not-a-number"`. An empty page is sent unchanged.
    MalformedObject,
    /// 200 with `Content-Type: application/json` and a body that is not JSON at all.
    BadJson,
}

/// A queued fault. Rules are consumed in injection order: a request goes to the first rule that
/// matches its path and is not used up, which either lets it through (while `skip` lasts) or
/// answers it with `fault` (while `times` lasts). Faults are applied after authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Only requests whose path starts with this (e.g. `"/v1/charges"`); every path when `None`.
    pub path_prefix: Option<String>,
    /// How many matching requests are served normally before the fault starts.
    pub skip: usize,
    /// How many matching requests get the fault.
    pub times: usize,
    /// What those requests get.
    pub fault: Fault,
}

impl FaultRule {
    /// A rule that answers the next `times` requests under `path_prefix` with `fault`.
    pub fn new(path_prefix: &str, times: usize, fault: Fault) -> FaultRule {
        FaultRule {
            path_prefix: Some(path_prefix.to_owned()),
            skip: 0,
            times,
            fault,
        }
    }

    /// The same rule, letting `skip` matching requests through first.
    pub fn after(mut self, skip: usize) -> FaultRule {
        self.skip = skip;
        self
    }
}

/// One request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// URL path, e.g. `/v1/charges`.
    pub path: String,
    /// The raw (still percent-encoded) query string without `?`; empty when there was none.
    pub query: String,
    /// The HTTP status the fake answered with.
    pub status: u16,
    /// The `Request-Id` header the fake sent back.
    pub request_id: String,
}

impl RecordedRequest {
    /// The decoded query parameters in order, with bracket keys kept as sent
    /// (`created[gte]`, `types[]`).
    pub fn params(&self) -> Vec<(String, String)> {
        list::parse_query(&self.query)
    }

    /// The decoded value of the first query parameter named `key`.
    pub fn param(&self, key: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// A running fake Stripe. It serves from its own thread and tokio runtime, so it keeps
/// answering while the test's runtime is blocked (a test running the `kpisync` binary
/// synchronously) or its clock is paused; its delays are always real time. Dropping the handle
/// stops the server and closes every connection.
pub struct FakeStripe {
    server: LoopbackServer,
    shared: Arc<server::Shared>,
}

impl FakeStripe {
    /// Serves `dataset` on 127.0.0.1 on a free port.
    pub async fn start(dataset: Dataset) -> std::io::Result<FakeStripe> {
        let shared = Arc::new(server::Shared::new(dataset));
        let app = server::router(Arc::clone(&shared));
        let (server, ()) = LoopbackServer::start("fake-stripe", |_| (app, ()))?;
        Ok(FakeStripe { server, shared })
    }

    /// The server's root URL, `http://127.0.0.1:PORT`, without a trailing slash or `/v1`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// Queues a fault behind those already injected.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.inject(rule);
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Forgets the requests answered so far.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Runs `f` on the live dataset; requests wait until it returns.
    pub fn with_dataset<R>(&self, f: impl FnOnce(&mut Dataset) -> R) -> R {
        self.shared.with_dataset(f)
    }
}

impl std::fmt::Debug for FakeStripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeStripe")
            .field("addr", &self.server.addr())
            .finish_non_exhaustive()
    }
}
