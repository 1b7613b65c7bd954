//! The connector against the fake GA4: authentication, pagination, every grain asked apart,
//! quota stops and resumes, faults, data-quality flags and the property's time zone. Each test
//! reads the batches the connector hands over, as the warehouse would receive them.

use std::collections::BTreeMap;

use jiff::civil::{Date, date};
use serde_json::json;

use super::*;
use crate::ga4::api::ReportResponse;
use crate::ga4::plan::Grain;
use crate::ga4::{Ga4Business, Ga4Config, Ga4Connector, Ga4Cursor, STREAM};
use crate::schema::{Batch, MetricRow};
use crate::{BatchSink, Connector, ConnectorError, ReadContext};

/// 05:00 UTC on Tuesday 10 March 2026: the 10th in Paris, still the 9th in Los Angeles.
fn clock() -> jiff::Timestamp {
    "2026-03-10T05:00:00Z".parse().unwrap()
}

/// A fake with data from 1 February 2026 in `zone`.
async fn fake(zone: &str) -> FakeGa4 {
    FakeGa4::start(Dataset::new(date(2026, 2, 1), zone))
        .await
        .unwrap()
}

/// A connector for `fake` with `extra` configuration keys, its key file in a temp directory.
fn connector(fake: &FakeGa4, extra: serde_json::Value) -> Ga4Connector {
    let dir = tempfile_dir();
    let key = dir.join("ga4-key.json");
    std::fs::write(&key, fake.key_file_json()).unwrap();
    let mut config = json!({
        "property_id": PROPERTY_ID,
        "credentials_file": key,
        "base_url": fake.base_url(),
        "admin_base_url": fake.base_url(),
        "start_date": "2026-02-01",
        "signup_event": "sign_up",
        "lead_event": "generate_lead",
    });
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        config[key] = value;
    }
    let config: Ga4Config = serde_json::from_value(config).unwrap();
    let business = Ga4Business {
        timezone: "Europe/Paris".into(),
        landing_pages: vec!["/pricing".into(), "/free-guide".into()],
        app: false,
    };
    config.build(&business).unwrap().with_clock(clock())
}

fn tempfile_dir() -> std::path::PathBuf {
    let unique = format!("kpisync-ga4-{}-{}", std::process::id(), fastrand::u64(..));
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reads the stream from `cursor`, returning every batch and the outcome.
async fn read(
    connector: &Ga4Connector,
    cursor: Option<&serde_json::Value>,
) -> (Vec<Batch>, Result<(), ConnectorError>) {
    let mut context = ReadContext::default();
    if let Some(cursor) = cursor {
        context.cursors.insert(STREAM.into(), cursor.clone());
    }
    let (mut sink, mut batches) = BatchSink::channel(1000);
    let result = connector.read(STREAM, &context, &mut sink).await;
    drop(sink);
    let mut all = Vec::new();
    while let Some(batch) = batches.recv().await {
        all.push(batch);
    }
    (all, result)
}

fn metrics(batches: &[Batch]) -> Vec<MetricRow> {
    batches
        .iter()
        .flat_map(|batch| batch.metrics.clone())
        .collect()
}

fn last_cursor(batches: &[Batch]) -> serde_json::Value {
    batches
        .iter()
        .rev()
        .find_map(|batch| batch.cursor.clone())
        .expect("a cursor")
}

/// The stored value of a metric, as the warehouse keeps the last write of a key.
fn value(
    rows: &[MetricRow],
    metric: &str,
    grain: &str,
    period: &str,
    dimension: &str,
) -> Option<f64> {
    let mut found = None;
    for row in rows {
        if row.metric == metric
            && row.grain == grain
            && row.period_start == period
            && row.dimension == dimension
        {
            found = Some(row.value);
        }
    }
    found.unwrap_or_else(|| panic!("no {metric} {grain} {period} {dimension:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn weekly_users_are_ga4s_weekly_answer_not_a_sum_of_days() {
    let fake = fake("Europe/Paris").await;
    let connector = connector(&fake, json!({}));
    let (batches, result) = read(&connector, None).await;
    result.unwrap();
    let rows = metrics(&batches);

    // Monday 16 February 2026 to Sunday the 22nd.
    let monday = date(2026, 2, 16);
    let sunday = date(2026, 2, 22);
    let weekly = value(&rows, "total_users", "week", "2026-02-16", "").unwrap();
    let expected = fake.with_dataset(|data| data.unique_users(monday, sunday));
    assert_eq!(weekly, expected as f64);
    let days: f64 = (0..7)
        .map(|offset| {
            let day = monday.checked_add(jiff::Span::new().days(offset)).unwrap();
            value(&rows, "total_users", "day", &day.to_string(), "").unwrap()
        })
        .sum();
    assert!(
        weekly < days * 0.9,
        "weekly {weekly} must be well under the daily sum {days}"
    );
    let month = value(&rows, "total_users", "month", "2026-02-01", "").unwrap();
    let february = fake.with_dataset(|data| data.unique_users(date(2026, 2, 1), date(2026, 2, 28)));
    assert_eq!(month, february as f64);

    let weeks: Vec<_> = fake
        .reports()
        .into_iter()
        .filter(|report| report.dimensions.first().map(String::as_str) == Some("isoYearIsoWeek"))
        .collect();
    assert!(
        !weeks.is_empty(),
        "weeks are asked with their own dimension"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_token_serves_the_whole_run_and_a_refused_one_is_renewed_once() {
    let fake = fake("Europe/Paris").await;
    let connector = connector(&fake, json!({}));
    read(&connector, None).await.1.unwrap();
    assert_eq!(fake.tokens_issued(), 1, "the token is cached");

    fake.expire_tokens();
    fake.clear_requests();
    read(&connector, None).await.1.unwrap();
    assert_eq!(fake.tokens_issued(), 2, "one renewal after the 401");
    let refused = fake
        .requests()
        .iter()
        .filter(|request| request.status == 401)
        .count();
    assert_eq!(refused, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn batches_hold_at_most_five_reports_and_every_report_asks_for_the_quota() {
    let fake = fake("Europe/Paris").await;
    let connector = connector(&fake, json!({}));
    read(&connector, None).await.1.unwrap();
    let batches: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|request| request.path.ends_with(":batchRunReports"))
        .collect();
    assert!(batches.len() > 1, "the reports need several batches");
    for batch in &batches {
        let body = batch.body.as_ref().unwrap();
        let requests = body["requests"].as_array().unwrap();
        assert!((1..=5).contains(&requests.len()), "{}", requests.len());
        for request in requests {
            assert_eq!(request["returnPropertyQuota"], true);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_follow_row_count_without_an_extra_empty_request() {
    let fake = fake("Europe/Paris").await;
    let paged = connector(&fake, json!({ "page_size": 4 }));
    let (batches, result) = read(&paged, None).await;
    result.unwrap();
    let paged_rows = metrics(&batches);
    let pages = fake
        .reports()
        .into_iter()
        .filter(|report| report.offset > 0)
        .count();
    assert!(pages > 0, "small pages need more requests");
    for request in fake.requests() {
        for report in request.reports() {
            if report.offset > 0 {
                let body = request.body.as_ref().unwrap();
                assert!(
                    body.get("requests").is_none(),
                    "later pages are single reports"
                );
            }
        }
    }

    fake.clear_requests();
    let whole = connector(&fake, json!({}));
    let (batches, result) = read(&whole, None).await;
    result.unwrap();
    assert!(fake.reports().iter().all(|report| report.offset == 0));
    let key = |row: &MetricRow| {
        (
            row.metric.clone(),
            row.grain.clone(),
            row.period_start.clone(),
            row.dimension.clone(),
        )
    };
    let by_key = |rows: &[MetricRow]| -> BTreeMap<_, _> {
        rows.iter().map(|row| (key(row), row.value)).collect()
    };
    assert_eq!(by_key(&paged_rows), by_key(&metrics(&batches)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_that_fills_exactly_one_page_asks_no_more() {
    let fake = fake("Europe/Paris").await;
    // Nothing listens on port 9: any request would fail the test.
    let mut connector = connector(&fake, json!({ "base_url": "http://127.0.0.1:9" }));
    connector.page_size = 2;
    let mut report = ReportResponse {
        row_count: Some(2),
        rows: vec![Default::default(), Default::default()],
        ..Default::default()
    };
    let unit = crate::ga4::plan::Unit {
        spec: 0,
        grain: Grain::Day,
        first: date(2026, 3, 1),
        last: date(2026, 3, 1),
        from: date(2026, 3, 1),
        to: date(2026, 3, 1),
    };
    let calls = crate::ga4::read::fetch_rest(&connector, &unit, &mut report)
        .await
        .unwrap();
    assert_eq!(calls, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thresholded_day_is_flagged_and_its_small_groups_are_not_zeros() {
    let fake = fake("Europe/Paris").await;
    let day = date(2026, 3, 4);
    fake.with_dataset(|data| {
        data.thresholded.insert(day);
    });
    let connector = connector(&fake, json!({}));
    let (batches, result) = read(&connector, None).await;
    result.unwrap();
    let rows = metrics(&batches);
    let users = rows
        .iter()
        .rev()
        .find(|row| {
            row.metric == "total_users" && row.grain == "day" && row.period_start == "2026-03-04"
        })
        .unwrap();
    assert!(
        users.flags.contains(&"thresholded".to_owned()),
        "{:?}",
        users.flags
    );
    let clean = rows
        .iter()
        .rev()
        .find(|row| {
            row.metric == "total_users" && row.grain == "day" && row.period_start == "2026-02-03"
        })
        .unwrap();
    assert!(clean.flags.is_empty(), "{:?}", clean.flags);

    // Channels with fewer than three users that day were withheld: no row, not a zero.
    let visits = fake.with_dataset(|data| data.visits_on(day));
    let mut users_by_channel: BTreeMap<&str, std::collections::BTreeSet<u32>> = BTreeMap::new();
    for visit in &visits {
        users_by_channel
            .entry(visit.channel)
            .or_default()
            .insert(visit.user);
    }
    let small = users_by_channel
        .iter()
        .find(|(_, users)| users.len() < 3)
        .map(|(channel, _)| *channel)
        .expect("the dataset has a small channel that day");
    let dimension = format!("channel={small}");
    let withheld = rows.iter().any(|row| {
        row.grain == "day" && row.period_start == "2026-03-04" && row.dimension == dimension
    });
    assert!(!withheld, "{small} had fewer than three users");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_other_row_is_stored_under_its_name_with_the_flag() {
    let fake = fake("Europe/Paris").await;
    fake.with_dataset(|data| data.other_row_after = Some(1));
    let connector = connector(&fake, json!({}));
    let (batches, result) = read(&connector, None).await;
    result.unwrap();
    let rows = metrics(&batches);
    let other: Vec<_> = rows
        .iter()
        .filter(|row| row.dimension == "landing_page=(other)")
        .collect();
    assert!(!other.is_empty(), "the (other) row is kept");
    assert!(
        other
            .iter()
            .all(|row| row.flags.contains(&"other_row".to_owned()))
    );
    assert!(
        other
            .iter()
            .all(|row| row.value.is_some_and(|value| value > 0.0))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sampled_and_empty_reports_are_flagged_not_zeroed() {
    let fake = FakeGa4::start(Dataset::new(date(2027, 1, 1), "Europe/Paris"))
        .await
        .unwrap();
    let connector = connector(&fake, json!({}));
    let (batches, result) = read(&connector, None).await;
    result.unwrap();
    let rows = metrics(&batches);
    let users: Vec<_> = rows
        .iter()
        .filter(|row| row.metric == "total_users")
        .collect();
    assert!(!users.is_empty());
    assert!(
        users.iter().all(|row| row.value.is_none()),
        "no data is not zero"
    );
    assert!(
        users
            .iter()
            .all(|row| row.flags.contains(&"empty".to_owned()))
    );

    let fake = fake_sampled().await;
    let connector = connector_for(&fake);
    let rows = metrics(&read(&connector, None).await.0);
    let users = rows.iter().find(|row| row.metric == "total_users").unwrap();
    assert!(
        users.flags.contains(&"sampled=0.2500".to_owned()),
        "{:?}",
        users.flags
    );
}

async fn fake_sampled() -> FakeGa4 {
    let fake = fake("Europe/Paris").await;
    fake.with_dataset(|data| data.sampling = Some((250, 1000)));
    fake
}

fn connector_for(fake: &FakeGa4) -> Ga4Connector {
    connector(fake, json!({}))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_property_day_decides_today_and_a_zone_mismatch_is_warned() {
    let fake = fake("America/Los_Angeles").await;
    let connector = connector(&fake, json!({ "lookback_days": 2 }));
    let report = connector.check().await.unwrap();
    let warning = report.warnings.join("\n");
    assert!(warning.contains("America/Los_Angeles"), "{warning}");
    assert!(warning.contains("Europe/Paris"), "{warning}");

    let (batches, result) = read(&connector, None).await;
    result.unwrap();
    let days: Vec<_> = fake
        .reports()
        .into_iter()
        .filter(|report| report.dimensions.first().map(String::as_str) == Some("date"))
        .collect();
    let last = days
        .iter()
        .map(|report| report.end_date.clone())
        .max()
        .unwrap();
    assert_eq!(last, "2026-03-09", "it is still the 9th in Los Angeles");
    let recent = days.first().unwrap();
    assert_eq!(
        (recent.start_date.as_str(), recent.end_date.as_str()),
        ("2026-03-07", "2026-03-09"),
        "the lookback counts from the property's today"
    );
    let rows = metrics(&batches);
    assert!(
        rows.iter()
            .all(|row| row.period_start.as_str() <= "2026-03-09")
    );
    let warnings: Vec<_> = batches
        .iter()
        .flat_map(|batch| batch.warnings.clone())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|text| text.contains("America/Los_Angeles"))
    );
    let cursor: Ga4Cursor = serde_json::from_value(last_cursor(&batches)).unwrap();
    assert_eq!(cursor.time_zone.as_deref(), Some("America/Los_Angeles"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_quota_ends_the_run_cleanly_without_retrying() {
    let fake = fake("Europe/Paris").await;
    fake.inject(
        FaultRule::new(
            ":batchRunReports",
            1,
            Fault::thresholded_requests_exhausted(),
        )
        .after(1),
    );
    let connector = connector(&fake, json!({}));
    let started = std::time::Instant::now();
    let (batches, result) = read(&connector, None).await;
    result.unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "no waiting for the hour"
    );
    let exhausted = fake
        .requests()
        .iter()
        .filter(|request| request.status == 429)
        .count();
    assert_eq!(exhausted, 1, "a spent hourly quota is not retried");
    let warnings: Vec<_> = batches
        .iter()
        .flat_map(|batch| batch.warnings.clone())
        .collect();
    assert!(
        warnings.iter().any(|text| text.contains("quota exhausted")),
        "{warnings:?}"
    );
    let cursor: Ga4Cursor = serde_json::from_value(last_cursor(&batches)).unwrap();
    assert!(cursor.stopped.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_longer_than_the_quota_resumes_at_its_first_missing_day() {
    let fake = FakeGa4::start(Dataset::new(date(2025, 6, 1), "Europe/Paris"))
        .await
        .unwrap();
    // Enough for the recent reports and a part of the backfill.
    fake.set_quota(Quota {
        per_hour: 120,
        ..Quota::default()
    });
    let connector = connector(&fake, json!({ "start_date": "2025-06-01" }));
    let (batches, result) = read(&connector, None).await;
    result.unwrap();
    let cursor = last_cursor(&batches);
    let stopped: Ga4Cursor = serde_json::from_value(cursor.clone()).unwrap();
    assert!(stopped.stopped.is_some(), "the first run stops early");
    let first_run = fake.reports();

    fake.clear_requests();
    fake.refill_quota();
    fake.set_quota(Quota::default());
    let (batches, result) = read(&connector, Some(&cursor)).await;
    result.unwrap();
    let done: Ga4Cursor = serde_json::from_value(last_cursor(&batches)).unwrap();
    assert!(done.stopped.is_none(), "the second run finishes");
    let second_run = fake.reports();

    // Outside the lookback window (before 7 March), no day report is asked twice, and
    // together the two runs cover every day from the start.
    let window = "2026-03-07";
    let day_ranges = |reports: &[AskedReport]| -> Vec<(String, String, Vec<String>)> {
        reports
            .iter()
            .filter(|report| report.status == 200 && report.dimensions == ["date"])
            .filter(|report| report.start_date.as_str() < window)
            .map(|report| {
                (
                    report.start_date.clone(),
                    report.end_date.clone(),
                    report.metrics.clone(),
                )
            })
            .collect()
    };
    let first = day_ranges(&first_run);
    let second = day_ranges(&second_run);
    assert!(!first.is_empty(), "the first run made progress");
    for range in &second {
        assert!(!first.contains(range), "{range:?} was fetched twice");
    }
    let traffic = |ranges: &[(String, String, Vec<String>)]| -> Vec<(String, String)> {
        let mut ranges: Vec<_> = ranges
            .iter()
            .filter(|(_, _, metrics)| metrics.iter().any(|metric| metric == "activeUsers"))
            .map(|(start, end, _)| (start.clone(), end.clone()))
            .collect();
        ranges.sort();
        ranges
    };
    let mut all = traffic(&first);
    all.extend(traffic(&second));
    all.sort();
    assert_eq!(all.first().unwrap().0, "2025-06-01");
    for pair in all.windows(2) {
        let end: Date = pair[0].1.parse().unwrap();
        assert_eq!(
            end.tomorrow().unwrap().to_string(),
            pair[1].0,
            "no gap, no overlap"
        );
    }
    assert_eq!(all.last().unwrap().1, "2026-03-06");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_property_is_a_configuration_error_naming_the_fix() {
    let fake = fake("Europe/Paris").await;
    let connector = connector(&fake, json!({ "property_id": "987654321" }));
    let error = read(&connector, None).await.1.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ConnectorError::Config(_)), "{message}");
    assert!(message.contains("connectors.ga4.property_id"), "{message}");
    assert!(message.contains(CLIENT_EMAIL), "{message}");
    let denied = fake
        .requests()
        .iter()
        .filter(|request| request.status == 403)
        .count();
    assert_eq!(denied, 1, "a refusal is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_error_is_retried_and_the_run_goes_on() {
    let fake = fake("Europe/Paris").await;
    fake.inject(FaultRule::new(
        ":batchRunReports",
        1,
        Fault::ServerError(500),
    ));
    let connector = connector(&fake, json!({}));
    read(&connector, None).await.1.unwrap();
    let failed = fake
        .requests()
        .iter()
        .filter(|request| request.status == 500)
        .count();
    assert_eq!(failed, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_key_is_a_configuration_error_without_the_key_or_a_retry() {
    let fake = fake("Europe/Paris").await;
    let key = fake
        .key_file_json()
        .replace(CLIENT_EMAIL, "someone-else@example.iam.gserviceaccount.com");
    let dir = tempfile_dir();
    std::fs::write(dir.join("key.json"), key).unwrap();
    let config: Ga4Config = serde_json::from_value(json!({
        "property_id": 123456789,
        "credentials_file": dir.join("key.json"),
        "base_url": fake.base_url(),
        "admin_base_url": fake.base_url(),
    }))
    .unwrap();
    let connector = config.build(&Ga4Business::default()).unwrap();
    let error = connector.check().await.unwrap_err();
    let message = format!("{error} {error:?}");
    assert!(
        message.contains("connectors.ga4.credentials_file"),
        "{message}"
    );
    assert!(message.contains("clock"), "{message}");
    assert!(!message.contains("PRIVATE KEY"), "{message}");
    let attempts = fake
        .requests()
        .iter()
        .filter(|request| request.path == "/token")
        .count();
    assert_eq!(attempts, 1);

    std::fs::write(dir.join("bad.json"), r#"{"type": "service_account"}"#).unwrap();
    let config: Ga4Config = serde_json::from_value(json!({
        "property_id": "G-ABC123",
        "credentials_file": dir.join("bad.json"),
    }))
    .unwrap();
    let error = config.build(&Ga4Business::default()).err().unwrap();
    assert!(error.contains("connectors.ga4.property_id"), "{error}");
    let config: Ga4Config = serde_json::from_value(json!({
        "property_id": "1",
        "credentials_file": dir.join("bad.json"),
    }))
    .unwrap();
    let error = config.build(&Ga4Business::default()).err().unwrap();
    assert!(error.contains("connectors.ga4.credentials_file"), "{error}");
    assert!(error.contains("client_email"), "{error}");
}
