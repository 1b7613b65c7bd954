//! Faults from the upstream: what is worth retrying is retried, what is not ends the stream with
//! a readable error recorded in `sync_runs`, and nothing is ever half-written.

use connectors::stripe::fake::{Dataset, Fault, FaultRule};

use crate::helpers::{Bench, all_output, assert_close};

fn rate_limit(code: &'static str, retry_after_secs: Option<u64>) -> Fault {
    Fault::RateLimit {
        retry_after_secs,
        code,
        should_retry: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_server_errors_and_cut_bodies_are_retried() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.stripe.inject(FaultRule::new(
        "/v1/charges",
        1,
        rate_limit("rate_limit", Some(1)),
    ));
    bench.stripe.inject(FaultRule::new(
        "/v1/refunds",
        1,
        rate_limit("lock_timeout", None),
    ));
    bench.stripe.inject(FaultRule::new(
        "/v1/customers",
        2,
        Fault::ServerError { status: 500 },
    ));
    bench
        .stripe
        .inject(FaultRule::new("/v1/invoices", 1, Fault::TruncatedBody));
    bench.stripe.inject(FaultRule::new(
        "/v1/subscriptions",
        1,
        Fault::ServerError { status: 503 },
    ));
    let started = std::time::Instant::now();
    bench.sync_ok(&[]).await;

    assert!(
        started.elapsed().as_secs_f64() >= 1.0,
        "Retry-After: 1 was honoured"
    );
    let statuses: Vec<u16> = bench
        .stripe
        .requests()
        .iter()
        .filter(|request| request.path == "/v1/refunds")
        .map(|request| request.status)
        .collect();
    assert_eq!(
        statuses,
        [429, 200],
        "a lock_timeout 429 is retried like a rate limit"
    );
    assert_eq!(bench.count("SELECT count(*) FROM stripe_invoices"), 3);
    assert_close(bench.value("revenue.gross", "month", "2026-01-01"), 80.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn should_retry_false_is_not_retried() {
    let bench = Bench::start(Dataset::e2e()).await;
    let fault = Fault::RateLimit {
        retry_after_secs: None,
        code: "rate_limit",
        should_retry: Some(false),
    };
    bench.stripe.inject(FaultRule::new("/v1/charges", 1, fault));
    let output = bench.kpisync(&["sync"]).await;

    assert_eq!(output.status.code(), Some(1));
    let charges = bench
        .stripe
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/charges")
        .count();
    assert_eq!(charges, 1, "Stripe-Should-Retry: false means no retry");
    // The other streams went on.
    assert_eq!(bench.count("SELECT count(*) FROM stripe_subscriptions"), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_object_fails_its_stream_with_a_readable_error_and_writes_nothing() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench
        .stripe
        .inject(FaultRule::new("/v1/charges", 1, Fault::MalformedObject));
    let output = bench.kpisync(&["sync"]).await;

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        bench.count("SELECT count(*) FROM stripe_charges"),
        0,
        "no half-written page"
    );
    let error = bench
        .text("SELECT error FROM sync_runs WHERE stream = 'charges' ORDER BY id DESC LIMIT 1")
        .expect("the error is recorded");
    assert!(
        error.contains("/v1/charges") && error.contains("created"),
        "{error}"
    );
    assert!(all_output(&output).contains("failed"));
    assert_eq!(
        bench.count("SELECT count(*) FROM stripe_refunds"),
        2,
        "other streams ran"
    );

    // The next run, with the upstream healthy again, completes.
    bench.sync_ok(&[]).await;
    assert_eq!(bench.count("SELECT count(*) FROM stripe_charges"), 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_json_is_reported_not_retried_forever() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench
        .stripe
        .inject(FaultRule::new("/v1/invoices", 1, Fault::BadJson));
    let output = bench.kpisync(&["sync"]).await;

    assert_eq!(output.status.code(), Some(1));
    let error = bench
        .text("SELECT error FROM sync_runs WHERE stream = 'invoices' ORDER BY id DESC LIMIT 1")
        .unwrap();
    assert!(error.contains("unexpected response"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_stops_the_connector_and_is_never_printed_or_stored() {
    let bench = Bench::start(Dataset::e2e()).await;
    let config = std::fs::read_to_string(&bench.config).unwrap();
    let secret = "sk_test_wrong_but_secret_4242";
    let config = config.replace(connectors::stripe::fake::FAKE_API_KEY, secret);
    std::fs::write(&bench.config, config).unwrap();

    let output = bench.kpisync(&["sync", "-vv"]).await;
    assert_eq!(output.status.code(), Some(1));
    let printed = all_output(&output);
    assert!(printed.contains("authentication failed"), "{printed}");
    assert!(!printed.contains(secret), "the key leaked into the output");
    // One failed stream, the others not attempted: a bad key fails them all the same.
    assert_eq!(bench.count("SELECT count(*) FROM sync_runs"), 1);
    // Every file kpisync wrote (warehouse, WAL, lock files), the configuration aside.
    for entry in std::fs::read_dir(bench.dir()).unwrap() {
        let path = entry.unwrap().path();
        if path == bench.config {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let found = bytes
            .windows(secret.len())
            .any(|window| window == secret.as_bytes());
        assert!(!found, "the key leaked into {}", path.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_times_out_is_retried() {
    let bench = Bench::start_with(Dataset::e2e(), "timeout_seconds = 1").await;
    bench.stripe.inject(FaultRule::new(
        "/v1/charges",
        1,
        Fault::Delay { millis: 3000 },
    ));
    bench.sync_ok(&[]).await;

    let charges = bench
        .stripe
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/charges")
        .count();
    assert_eq!(charges, 2, "the slow request was abandoned and asked again");
    assert_eq!(bench.count("SELECT count(*) FROM stripe_charges"), 8);
}
