//! Injected faults: each kind on the wire, rule order, `skip`/`times`, path matching, and
//! faults coming after authentication.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::super::{FAKE_API_KEY, Fault, FaultRule};
use super::{error_of, get, ids, send, start};
use crate::stripe::fake::Dataset;

fn rate_limit(retry_after_secs: Option<u64>, should_retry: Option<bool>) -> Fault {
    Fault::RateLimit {
        retry_after_secs,
        code: "rate_limit",
        should_retry,
    }
}

#[tokio::test]
async fn rate_limit_is_a_429_with_the_requested_headers() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new(
        "/v1/charges",
        1,
        rate_limit(Some(3), Some(true)),
    ));
    let (status, headers, body) = get(&fake, "/v1/charges").await;

    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "3");
    assert_eq!(headers["stripe-should-retry"], "true");
    assert!(headers.contains_key("request-id"));
    assert_eq!(error_of(&body)["code"], "rate_limit");
    assert_eq!(error_of(&body)["type"], "invalid_request_error");

    let (status, _, _) = get(&fake, "/v1/charges").await;
    assert_eq!(status, 200, "the fault was for one request only");
}

#[tokio::test]
async fn lock_timeout_without_optional_headers() {
    let fake = start(Dataset::e2e()).await;
    let fault = Fault::RateLimit {
        retry_after_secs: None,
        code: "lock_timeout",
        should_retry: Some(false),
    };
    fake.inject(FaultRule::new("/v1/", 1, fault));
    let (status, headers, body) = get(&fake, "/v1/customers").await;

    assert_eq!(status, 429);
    assert!(!headers.contains_key("retry-after"));
    assert_eq!(headers["stripe-should-retry"], "false");
    assert_eq!(error_of(&body)["code"], "lock_timeout");
}

#[tokio::test]
async fn server_errors_use_the_given_status_and_api_error_type() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new(
        "/v1/invoices",
        2,
        Fault::ServerError { status: 503 },
    ));
    for _ in 0..2 {
        let (status, _, body) = get(&fake, "/v1/invoices").await;
        assert_eq!(status, 503);
        assert_eq!(error_of(&body)["type"], "api_error");
    }
    assert_eq!(get(&fake, "/v1/invoices").await.0, 200);
}

#[tokio::test]
async fn rules_apply_in_injection_order_after_their_skip() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new("/v1/charges", 1, rate_limit(None, None)).after(2));
    fake.inject(FaultRule::new(
        "/v1/charges",
        1,
        Fault::ServerError { status: 502 },
    ));

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(get(&fake, "/v1/charges").await.0);
    }
    assert_eq!(statuses, [200, 200, 429, 502, 200]);
}

#[tokio::test]
async fn faults_only_hit_matching_paths_and_come_after_authentication() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new(
        "/v1/refunds",
        1,
        Fault::ServerError { status: 500 },
    ));

    assert_eq!(get(&fake, "/v1/charges").await.0, 200);
    let unauthenticated = reqwest::Client::new().get(format!("{}/v1/refunds", fake.base_url()));
    assert_eq!(send(unauthenticated).await.0, 401);
    assert_eq!(get(&fake, "/v1/refunds").await.0, 500);
    assert_eq!(get(&fake, "/v1/refunds").await.0, 200);
}

#[tokio::test]
async fn a_rule_without_prefix_matches_every_path() {
    let fake = start(Dataset::e2e()).await;
    let rule = FaultRule {
        path_prefix: None,
        skip: 0,
        times: 2,
        fault: Fault::ServerError { status: 500 },
    };
    fake.inject(rule);
    assert_eq!(get(&fake, "/v1/balance").await.0, 500);
    assert_eq!(get(&fake, "/v1/nothing_here").await.0, 500);
    assert_eq!(get(&fake, "/v1/nothing_here").await.0, 404);
}

#[tokio::test]
async fn truncated_body_makes_reading_the_body_fail() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new("/v1/charges", 1, Fault::TruncatedBody));
    let response = reqwest::Client::new()
        .get(format!("{}/v1/charges?limit=100", fake.base_url()))
        .bearer_auth(FAKE_API_KEY)
        .send()
        .await
        .expect("headers arrive");

    assert_eq!(response.status(), 200);
    let announced = response.content_length().expect("content-length is sent");
    assert!(announced > 1000, "a full page is announced: {announced}");
    let result = response.bytes().await;
    assert!(result.is_err(), "body read should fail, got {result:?}");

    let (status, _, body) = get(&fake, "/v1/charges?limit=100").await;
    assert_eq!(status, 200);
    assert_eq!(ids(&body).len(), 8);
}

#[tokio::test]
async fn truncated_body_stops_about_half_way_on_the_wire() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new("/v1/charges", 1, Fault::TruncatedBody));
    let address = fake.base_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "GET /v1/charges?limit=100 HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {FAKE_API_KEY}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // The server closes the connection early, so the read ends without the promised bytes.
    let _ = stream.read_to_end(&mut raw).await;

    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers arrive");
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let announced: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .expect("content-length header")
        .trim()
        .parse()
        .unwrap();
    assert!(!body.is_empty(), "part of the body arrives");
    assert!(
        body.len() < announced,
        "{} of {announced} bytes",
        body.len()
    );
    assert!(
        body.len() >= announced / 2 - 1,
        "{} of {announced} bytes",
        body.len()
    );
}

#[tokio::test]
async fn delay_answers_normally_after_the_delay() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new(
        "/v1/customers",
        1,
        Fault::Delay { millis: 300 },
    ));
    let started = Instant::now();
    let (status, _, body) = get(&fake, "/v1/customers").await;

    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 200);
    assert_eq!(ids(&body).len(), 5);
}

#[tokio::test]
async fn delay_outlasts_a_client_timeout() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new(
        "/v1/customers",
        1,
        Fault::Delay { millis: 2_000 },
    ));
    let result = reqwest::Client::new()
        .get(format!("{}/v1/customers", fake.base_url()))
        .bearer_auth(FAKE_API_KEY)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(result.is_err_and(|error| error.is_timeout()));
    // The request is on record even though the client gave up.
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn malformed_object_corrupts_only_the_first_created() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new("/v1/charges", 2, Fault::MalformedObject));
    let (status, _, body) = get(&fake, "/v1/charges?limit=3").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"][0]["created"], "not-a-number");
    assert!(body["data"][1]["created"].is_i64());

    let (_, _, one) = get(&fake, "/v1/charges/ch_1").await;
    assert_eq!(one["created"], "not-a-number");
}

#[tokio::test]
async fn bad_json_is_a_200_whose_body_does_not_parse() {
    let fake = start(Dataset::e2e()).await;
    fake.inject(FaultRule::new("/v1/charges", 1, Fault::BadJson));
    let response = reqwest::Client::new()
        .get(format!("{}/v1/charges", fake.base_url()))
        .bearer_auth(FAKE_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
}
