//! The fake's HTTP side: the token endpoint, then one fallback handler that applies queued
//! faults, checks the bearer token, and routes `/v1beta/properties/{id}[:method]` to the
//! property resource or the report engine, charging the token budget and recording every
//! request.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::report::{self, Refusal};
use super::{Dataset, Fault, FaultRule, PROPERTY_ID, Quota, RecordedRequest, keys};

/// State shared by the handle and the server.
pub(super) struct Shared {
    dataset: Mutex<Dataset>,
    faults: Mutex<Vec<FaultRule>>,
    requests: Mutex<Vec<RecordedRequest>>,
    quota: Mutex<Quota>,
    tokens: Mutex<BTreeSet<String>>,
    issued: AtomicU64,
    token_uri: String,
}

/// Locks `mutex` even if a panicking test poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(dataset: Dataset, token_uri: String) -> Shared {
        Shared {
            dataset: Mutex::new(dataset),
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            quota: Mutex::new(Quota::default()),
            tokens: Mutex::new(BTreeSet::new()),
            issued: AtomicU64::new(0),
            token_uri,
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

    pub fn set_quota(&self, quota: Quota) {
        *lock(&self.quota) = quota;
    }

    pub fn quota(&self) -> Quota {
        *lock(&self.quota)
    }

    pub fn expire_tokens(&self) {
        lock(&self.tokens).clear();
    }

    pub fn tokens_issued(&self) -> usize {
        self.issued.load(Ordering::Relaxed) as usize
    }

    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut rules = lock(&self.faults);
        let index = rules
            .iter()
            .position(|rule| path.contains(&rule.path_contains))?;
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

    fn record(&self, method: &Method, path: &str, body: Option<Value>, status: u16) {
        lock(&self.requests).push(RecordedRequest {
            method: method.to_string(),
            path: path.to_owned(),
            body,
            status,
        });
    }

    /// Charges `reports` reports, or says which bucket is empty.
    fn charge(&self, reports: usize) -> Result<Value, Refusal> {
        let mut quota = lock(&self.quota);
        let cost = quota.per_report * reports as i64;
        let exhausted = |bucket: &str| Refusal {
            code: 429,
            status: "RESOURCE_EXHAUSTED",
            message: format!("Exhausted property tokens per {bucket} for this property."),
        };
        if quota.hour_consumed + cost > quota.per_hour {
            return Err(exhausted("hour"));
        }
        if quota.day_consumed + cost > quota.per_day {
            return Err(exhausted("day"));
        }
        quota.hour_consumed += cost;
        quota.day_consumed += cost;
        Ok(property_quota(&quota))
    }
}

/// `propertyQuota` as GA4 writes it: proto3 JSON leaves zeros out.
fn property_quota(quota: &Quota) -> Value {
    let status = |consumed: i64, limit: i64| {
        let mut status = serde_json::Map::new();
        if consumed > 0 {
            status.insert("consumed".into(), json!(consumed));
        }
        let remaining = (limit - consumed).max(0);
        if remaining > 0 {
            status.insert("remaining".into(), json!(remaining));
        }
        Value::Object(status)
    };
    json!({
        "tokensPerDay": status(quota.day_consumed, quota.per_day),
        "tokensPerHour": status(quota.hour_consumed, quota.per_hour),
        "tokensPerProjectPerHour": status(quota.hour_consumed, quota.per_hour),
        "concurrentRequests": status(0, 10),
        "serverErrorsPerProjectPerHour": status(0, 10),
        "potentiallyThresholdedRequestsPerHour": status(0, 120),
    })
}

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/token", post(token))
        .fallback(api)
        .with_state(shared)
}

/// Google's error body.
fn refusal(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({ "error": {
        "code": refusal.code, "message": refusal.message, "status": refusal.status } });
    (status, axum::Json(body)).into_response()
}

fn fault_refusal(fault: Fault) -> Refusal {
    match fault {
        Fault::ResourceExhausted(message) => Refusal {
            code: 429,
            status: "RESOURCE_EXHAUSTED",
            message,
        },
        Fault::PermissionDenied => Refusal {
            code: 403,
            status: "PERMISSION_DENIED",
            message: "User does not have sufficient permissions for this property.".into(),
        },
        Fault::Unauthenticated => unauthenticated(),
        Fault::ServerError(code) => Refusal {
            code,
            status: "INTERNAL",
            message: "Internal error encountered.".into(),
        },
    }
}

fn unauthenticated() -> Refusal {
    Refusal {
        code: 401,
        status: "UNAUTHENTICATED",
        message: "Request had invalid authentication credentials.".into(),
    }
}

/// `POST /token`: the JWT-bearer grant.
async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let method = Method::POST;
    let answer = |status: StatusCode, body: Value| {
        shared.record(&method, "/token", None, status.as_u16());
        (status, axum::Json(body)).into_response()
    };
    if let Some(fault) = shared.take_fault("/token") {
        let refused = fault_refusal(fault);
        let status = StatusCode::from_u16(refused.code).unwrap_or(StatusCode::BAD_REQUEST);
        return answer(status, json!({ "error": "server_error" }));
    }
    let grant = form.get("grant_type").map(String::as_str);
    if grant != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        let body = json!({ "error": "unsupported_grant_type" });
        return answer(StatusCode::BAD_REQUEST, body);
    }
    let assertion = form
        .get("assertion")
        .map(String::as_str)
        .unwrap_or_default();
    if let Err(description) = keys::verify(assertion, &shared.token_uri) {
        let body = json!({ "error": "invalid_grant", "error_description": description });
        return answer(StatusCode::BAD_REQUEST, body);
    }
    let number = shared.issued.fetch_add(1, Ordering::Relaxed) + 1;
    let access_token = format!("ya29.fake-access-token-{number}");
    lock(&shared.tokens).insert(access_token.clone());
    let body = json!({ "access_token": access_token, "expires_in": 3599, "token_type": "Bearer" });
    answer(StatusCode::OK, body)
}

/// Everything under `/v1beta/properties/`.
async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let result = route(&shared, &method, &path, &headers, json.as_ref());
    let (status, response) = match result {
        Ok(value) => (200, (StatusCode::OK, axum::Json(value)).into_response()),
        Err(refused) => (refused.code, refusal(&refused)),
    };
    shared.record(&method, &path, json, status);
    response
}

fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: Option<&Value>,
) -> Result<Value, Refusal> {
    if let Some(fault) = shared.take_fault(path) {
        return Err(fault_refusal(fault));
    }
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !bearer.is_some_and(|token| lock(&shared.tokens).contains(token)) {
        return Err(unauthenticated());
    }
    let not_found = || Refusal {
        code: 404,
        status: "NOT_FOUND",
        message: format!("{path} is not served by the fake"),
    };
    let rest = path
        .strip_prefix("/v1beta/properties/")
        .ok_or_else(not_found)?;
    let (id, call) = rest.split_once(':').unwrap_or((rest, ""));
    if id != PROPERTY_ID {
        return Err(fault_refusal(Fault::PermissionDenied));
    }
    let dataset = shared.with_dataset(|dataset| dataset.clone());
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get(&dataset.time_zone).unwrap_or(jiff::tz::TimeZone::UTC))
        .date();
    match (method.as_str(), call) {
        ("GET", "") => Ok(json!({
            "name": format!("properties/{PROPERTY_ID}"),
            "displayName": "kpisync fake property",
            "timeZone": dataset.time_zone,
            "currencyCode": dataset.currency,
        })),
        ("POST", "runReport") => {
            let body = body.ok_or_else(|| report_refusal("the body is not JSON"))?;
            let asked = report::parse(body, today)?;
            let quota = shared.charge(1)?;
            let mut answer = report::answer(&dataset, &asked);
            answer["propertyQuota"] = quota;
            Ok(answer)
        }
        ("POST", "batchRunReports") => {
            let requests = body
                .and_then(|body| body["requests"].as_array())
                .ok_or_else(|| report_refusal("requests is missing"))?;
            if requests.is_empty() || requests.len() > 5 {
                return Err(report_refusal("a batch holds 1 to 5 requests"));
            }
            let asked = requests
                .iter()
                .map(|request| report::parse(request, today))
                .collect::<Result<Vec<_>, _>>()?;
            shared.charge(asked.len())?;
            let reports: Vec<Value> = asked
                .iter()
                .map(|asked| {
                    let mut answer = report::answer(&dataset, asked);
                    answer["propertyQuota"] = property_quota(&shared.quota());
                    answer
                })
                .collect();
            Ok(json!({ "kind": "analyticsData#batchRunReports", "reports": reports }))
        }
        _ => Err(not_found()),
    }
}

fn report_refusal(message: &str) -> Refusal {
    Refusal {
        code: 400,
        status: "INVALID_ARGUMENT",
        message: message.to_owned(),
    }
}
