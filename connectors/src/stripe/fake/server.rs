//! The fake's HTTP side: one axum fallback handler that authenticates, applies queued faults,
//! routes `/v1/...` to list, retrieve or balance answers in Stripe's JSON and error shapes,
//! and records every request.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

use super::builders::API_VERSION;
use super::list;
use super::store::Row;
use super::{Dataset, FAKE_API_KEY, Fault, FaultRule, RecordedRequest, Resource};

/// Fields `expand[]` may name, and where their ids point.
const EXPANDABLE: [&str; 7] = [
    "balance_transaction",
    "charge",
    "customer",
    "invoice",
    "latest_invoice",
    "source",
    "subscription",
];

/// State shared by the handle and the server task.
pub(super) struct Shared {
    dataset: Mutex<Dataset>,
    faults: Mutex<Vec<FaultRule>>,
    requests: Mutex<Vec<RecordedRequest>>,
    next_request: AtomicU64,
}

/// Locks `mutex` even if a panicking test closure poisoned it: the data stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(dataset: Dataset) -> Shared {
        Shared {
            dataset: Mutex::new(dataset),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            next_request: AtomicU64::new(1),
        }
    }

    pub fn inject(&self, rule: FaultRule) {
        if rule.times > 0 {
            lock(&self.faults).push(rule);
        }
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    pub fn with_dataset<R>(&self, f: impl FnOnce(&mut Dataset) -> R) -> R {
        f(&mut lock(&self.dataset))
    }

    /// The fault for a request to `path`, consuming one use of the first matching rule.
    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut rules = lock(&self.faults);
        let index = rules.iter().position(|rule| {
            rule.path_prefix
                .as_deref()
                .is_none_or(|prefix| path.starts_with(prefix))
        })?;
        let rule = &mut rules[index];
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        let fault = rule.fault.clone();
        rule.times -= 1;
        if rule.times == 0 {
            rules.remove(index);
        }
        Some(fault)
    }
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A Stripe error body: `type`, optional `code` and `param`, `message`.
#[derive(Debug, Clone)]
pub(super) struct ApiError {
    status: StatusCode,
    kind: &'static str,
    code: Option<&'static str>,
    message: String,
    param: Option<String>,
}

impl ApiError {
    /// A 400 `invalid_request_error` about `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            code: None,
            message: message.into(),
            param: Some(param.to_owned()),
        }
    }

    /// A 400 `resource_missing` for an id given in `param`.
    pub fn missing(resource: Resource, id: &str, param: &str) -> ApiError {
        ApiError {
            code: Some("resource_missing"),
            message: format!("No such {}: '{id}'", resource.object_name()),
            ..ApiError::invalid(param, "")
        }
    }

    fn not_found(message: String) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            param: None,
            ..ApiError::invalid("", message)
        }
    }

    fn body(&self, request_id: &str) -> String {
        let mut error = json!({
            "message": self.message,
            "request_log_url": format!("https://dashboard.stripe.com/test/logs/{request_id}"),
            "type": self.kind,
        });
        if let Some(code) = self.code {
            error["code"] = json!(code);
            error["doc_url"] = json!(format!(
                "https://stripe.com/docs/error-codes/{}",
                code.replace('_', "-")
            ));
        }
        if let Some(param) = &self.param {
            error["param"] = json!(param);
        }
        json!({ "error": error }).to_string()
    }
}

/// What the handler sends back, before it becomes an HTTP response.
struct Reply {
    status: StatusCode,
    body: String,
    headers: Vec<(&'static str, HeaderValue)>,
    truncate: bool,
    delay: Option<Duration>,
}

impl Reply {
    fn ok(body: String) -> Reply {
        Reply {
            status: StatusCode::OK,
            body,
            headers: Vec::new(),
            truncate: false,
            delay: None,
        }
    }

    fn error(error: &ApiError, request_id: &str) -> Reply {
        Reply {
            status: error.status,
            ..Reply::ok(error.body(request_id))
        }
    }

    fn into_response(self, request_id: &str, version: Option<HeaderValue>) -> Response {
        let full_length = self.body.len();
        let body = if self.truncate {
            truncated_body(Bytes::from(self.body))
        } else {
            Body::from(self.body)
        };

        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert("request-id", id);
        }
        let version = version.unwrap_or(HeaderValue::from_static(API_VERSION));
        headers.insert("stripe-version", version);
        if self.truncate {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(full_length));
        }
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

/// A body that yields its first half and then fails, so hyper closes the connection short of
/// the announced `Content-Length`.
fn truncated_body(full: Bytes) -> Body {
    let half = full.slice(..full.len() / 2);
    let first = stream::once(async move { Ok::<Bytes, io::Error>(half) });
    let cut = stream::once(async {
        // Let the first half reach the socket before the connection is dropped, so the client
        // sees a partial body rather than none.
        tokio::time::sleep(Duration::from_millis(20)).await;
        Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "fake stripe cut the body",
        ))
    });
    Body::from_stream(first.chain(cut))
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let request_id = format!(
        "req_fake{:010}",
        shared.next_request.fetch_add(1, Ordering::Relaxed)
    );
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let version = request.headers().get("stripe-version").cloned();

    let reply = match check_key(request.headers()) {
        Err(error) => {
            let mut reply = Reply::error(&error, &request_id);
            reply.headers.push((
                "www-authenticate",
                HeaderValue::from_static("Basic realm=\"Stripe\""),
            ));
            reply
        }
        Ok(()) => {
            let answer = || answer(&shared, &method, &path, &query, &request_id);
            match shared.take_fault(&path) {
                Some(fault) => apply_fault(fault, answer, &request_id),
                None => answer(),
            }
        }
    };

    lock(&shared.requests).push(RecordedRequest {
        method: method.to_string(),
        path,
        query,
        status: reply.status.as_u16(),
        request_id: request_id.clone(),
    });
    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    reply.into_response(&request_id, version)
}

fn apply_fault(fault: Fault, answer: impl FnOnce() -> Reply, request_id: &str) -> Reply {
    match fault {
        Fault::RateLimit {
            retry_after_secs,
            code,
            should_retry,
        } => {
            let message = if code == "lock_timeout" {
                "Another request is working on this object right now; try again shortly."
            } else {
                "Too many requests in too little time; back off and try again."
            };
            let error = ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: Some(code),
                param: None,
                ..ApiError::invalid("", message)
            };
            let mut reply = Reply::error(&error, request_id);
            if let Some(secs) = retry_after_secs {
                reply.headers.push(("retry-after", HeaderValue::from(secs)));
            }
            if let Some(retry) = should_retry {
                let value = if retry { "true" } else { "false" };
                reply
                    .headers
                    .push(("stripe-should-retry", HeaderValue::from_static(value)));
            }
            reply
        }
        Fault::ServerError { status } => {
            let error = ApiError {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                kind: "api_error",
                code: None,
                message: "Something went wrong on Stripe's end while handling the request."
                    .to_owned(),
                param: None,
            };
            Reply::error(&error, request_id)
        }
        Fault::BadJson => Reply::ok(
            "<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>".to_owned(),
        ),
        Fault::TruncatedBody => Reply {
            truncate: true,
            ..answer()
        },
        Fault::Delay { millis } => Reply {
            delay: Some(Duration::from_millis(millis)),
            ..answer()
        },
        Fault::MalformedObject => {
            let mut reply = answer();
            if reply.status == StatusCode::OK
                && let Some(body) = corrupt_first_object(&reply.body)
            {
                reply.body = body;
            }
            reply
        }
    }
}

/// The body with the first listed object's (or the object's own) `created` made a string.
fn corrupt_first_object(body: &str) -> Option<String> {
    let mut value: Value = serde_json::from_str(body).ok()?;
    let target = if value["object"] == "list" {
        value.pointer_mut("/data/0")?
    } else {
        &mut value
    };
    target["created"] = json!("not-a-number");
    Some(value.to_string())
}

/// Accepts `Authorization: Bearer <key>` or HTTP Basic with the key as user name.
fn check_key(headers: &HeaderMap) -> Result<(), ApiError> {
    let unauthorized = |message: String| ApiError {
        status: StatusCode::UNAUTHORIZED,
        param: None,
        ..ApiError::invalid("", message)
    };
    let Some(header) = headers.get(AUTHORIZATION) else {
        return Err(unauthorized(
            "You did not provide an API key. Send it in the Authorization header as a Bearer \
             token, or as the user name of HTTP Basic auth."
                .to_owned(),
        ));
    };
    let key = header
        .to_str()
        .ok()
        .and_then(presented_key)
        .unwrap_or_default();
    if key == FAKE_API_KEY {
        Ok(())
    } else {
        Err(unauthorized(format!(
            "Invalid API Key provided: {}",
            mask_key(&key)
        )))
    }
}

fn presented_key(header: &str) -> Option<String> {
    let (scheme, credentials) = header.trim().split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(decode_base64(credentials)?).ok()?;
    let user = decoded
        .split_once(':')
        .map_or(decoded.as_str(), |(user, _)| user);
    Some(user.to_owned())
}

/// Standard base64 with optional padding; `None` on any other character.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.trim_end_matches('=').bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Masked to the low eight bits, so the cast keeps the value.
            out.push((buffer >> bits & 0xff) as u8);
        }
    }
    Some(out)
}

/// Hides a key the way Stripe echoes it: the `sk_test_`-style prefix and the last four
/// characters stay, everything between becomes `*`.
fn mask_key(key: &str) -> String {
    let prefix = [
        "sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_",
    ]
    .into_iter()
    .find(|prefix| key.starts_with(prefix))
    .unwrap_or("");
    let rest: Vec<char> = key[prefix.len()..].chars().collect();
    // Short keys keep nothing visible, so a guessable key is not given away.
    let shown = if rest.len() > 8 { 4 } else { 0 };
    let hidden = "*".repeat(rest.len() - shown);
    let tail: String = rest[rest.len() - shown..].iter().collect();
    format!("{prefix}{hidden}{tail}")
}

/// The normal answer to an authenticated request.
fn answer(shared: &Shared, method: &Method, path: &str, query: &str, request_id: &str) -> Reply {
    let segments: Vec<&str> = path
        .strip_prefix("/v1/")
        .map(|rest| rest.split('/').collect())
        .unwrap_or_default();
    let params = list::parse_query(query);
    let data = lock(&shared.dataset);

    let result = match (method == Method::GET, segments.as_slice()) {
        (true, ["balance"]) => Ok(balance_body(&data)),
        (true, [name]) => match Resource::from_path(name) {
            Some(resource) => list_body(&data, resource, &params),
            None => Err(unrecognized(method, path)),
        },
        (true, [name, id]) if !id.is_empty() => match Resource::from_path(name) {
            Some(resource) => retrieve_body(&data, resource, id, &params),
            None => Err(unrecognized(method, path)),
        },
        _ => Err(unrecognized(method, path)),
    };
    match result {
        Ok(body) => Reply::ok(body),
        Err(error) => Reply::error(&error, request_id),
    }
}

fn unrecognized(method: &Method, path: &str) -> ApiError {
    ApiError::not_found(format!("Unrecognized request URL ({method}: {path})."))
}

fn list_body(
    data: &Dataset,
    resource: Resource,
    params: &[(String, String)],
) -> Result<String, ApiError> {
    let floor = (resource == Resource::Events).then(|| data.event_horizon());
    let request = list::parse_list_request(resource, params, floor)?;
    let fields = check_expandable(&request.expand, "data.")?;
    let page = request.select(resource, data.table(resource))?;

    let objects: Vec<Cow<'_, str>> = page
        .rows
        .iter()
        .map(|row| render(row, &fields, data))
        .collect();
    Ok(format!(
        r#"{{"object":"list","data":[{}],"has_more":{},"url":"/v1/{}"}}"#,
        objects.join(","),
        page.has_more,
        resource.path()
    ))
}

fn retrieve_body(
    data: &Dataset,
    resource: Resource,
    id: &str,
    params: &[(String, String)],
) -> Result<String, ApiError> {
    let mut expand = Vec::new();
    for (key, value) in params {
        if key.starts_with("expand[") {
            expand.push(value.clone());
        } else {
            return Err(list::unknown_parameter(key));
        }
    }
    let fields = check_expandable(&expand, "")?;

    let row = data
        .table(resource)
        .get(id)
        // Stripe forgets events along with the list: past retention they are gone.
        .filter(|row| resource != Resource::Events || created_of(row) >= data.event_horizon())
        .ok_or_else(|| ApiError {
            status: StatusCode::NOT_FOUND,
            ..ApiError::missing(resource, id, "id")
        })?;
    Ok(render(row, &fields, data).into_owned())
}

fn created_of(row: &Row) -> i64 {
    row.value()["created"].as_i64().unwrap_or(i64::MIN)
}

/// The fields named by `expand[]` paths, which must be `<prefix><field>` with an expandable
/// field: nested expansion is not modelled.
fn check_expandable<'a>(paths: &'a [String], prefix: &str) -> Result<Vec<&'a str>, ApiError> {
    paths
        .iter()
        .map(|path| {
            path.strip_prefix(prefix)
                .filter(|field| EXPANDABLE.contains(field))
                .ok_or_else(|| {
                    ApiError::invalid(
                        "expand",
                        format!("Cannot expand {path}: not an expandable field here."),
                    )
                })
        })
        .collect()
}

/// The row's JSON, with `fields` that hold an id replaced by the object they name.
fn render<'a>(row: &'a Row, fields: &[&str], data: &Dataset) -> Cow<'a, str> {
    if fields.is_empty() {
        return Cow::Borrowed(&row.json);
    }
    let mut object = row.value().clone();
    for field in fields {
        let Some(id) = object.get(*field).and_then(Value::as_str) else {
            continue;
        };
        let target = match *field {
            "balance_transaction" => Resource::BalanceTransactions,
            "charge" => Resource::Charges,
            "customer" => Resource::Customers,
            "subscription" => Resource::Subscriptions,
            "invoice" | "latest_invoice" => Resource::Invoices,
            _ if id.starts_with("re_") => Resource::Refunds,
            _ => Resource::Charges,
        };
        if let Some(expanded) = data.get(target, id) {
            object[*field] = expanded.clone();
        }
    }
    Cow::Owned(object.to_string())
}

/// `GET /v1/balance`: the net of all balance transactions per currency, split by whether
/// they are available yet.
fn balance_body(data: &Dataset) -> String {
    let mut sums: BTreeMap<(bool, &str), i64> = BTreeMap::new();
    for (_, row) in data.table(Resource::BalanceTransactions).rows() {
        let net = row
            .attr("net")
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0);
        let currency = row.attr("currency").unwrap_or("eur");
        let available = row.attr("status") == Some("available");
        *sums.entry((available, currency)).or_default() += net;
    }
    let funds = |available: bool| {
        let mut entries: Vec<Value> = sums
            .iter()
            .filter(|((is_available, _), _)| *is_available == available)
            .map(|((_, currency), amount)| {
                json!({"amount": amount, "currency": currency, "source_types": {"card": amount}})
            })
            .collect();
        // Stripe always lists the account's default currency, even at zero.
        if entries.is_empty() {
            entries.push(json!({ "amount": 0, "currency": "eur", "source_types": { "card": 0 } }));
        }
        entries
    };
    json!({
        "object": "balance",
        "available": funds(true),
        "livemode": false,
        "pending": funds(false),
    })
    .to_string()
}
