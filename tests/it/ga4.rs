//! GA4 end to end: the binary syncs the fake GA4 (and the fake Stripe's fixed dataset) into a
//! scratch warehouse, then the KPIs, flags, warnings and requests are checked against what the
//! fake knows. Each of the cases seen in real reports against other tools has a test here.

use std::collections::BTreeSet;

use connectors::ga4::fake::{
    AskedReport, Dataset as Ga4Dataset, FakeGa4, Fault, FaultRule, PROPERTY_ID, Quota,
};
use connectors::stripe::fake::Dataset;
use jiff::civil::{Date, date};

use crate::helpers::{Bench, all_output, assert_close, assert_success};

/// The fake Stripe's fixed dataset, a fake GA4 from 1 January 2026, and a configuration for
/// both (saas, Europe/Paris, EUR, two landing pages).
struct Ga4Bench {
    bench: Bench,
    ga4: FakeGa4,
}

impl Ga4Bench {
    async fn start(zone: &str, extra: &str) -> Ga4Bench {
        let ga4 = FakeGa4::start(Ga4Dataset::new(date(2026, 1, 1), zone))
            .await
            .expect("the fake GA4 starts");
        Ga4Bench::with(ga4, extra).await
    }

    async fn with(ga4: FakeGa4, extra: &str) -> Ga4Bench {
        let bench = Bench::start(Dataset::e2e()).await;
        let key = bench.dir().join("ga4-key.json");
        std::fs::write(&key, ga4.key_file_json()).expect("writing the key file");
        let text = std::fs::read_to_string(&bench.config).expect("the configuration");
        let text = text.replace(
            "currency = \"EUR\"\n",
            "currency = \"EUR\"\nlanding_pages = [\"/pricing\", \"/free-guide\"]\n",
        );
        let text = format!(
            "{text}\n[connectors.ga4]\nproperty_id = \"{PROPERTY_ID}\"\ncredentials_file = \
             {key:?}\nbase_url = {url:?}\nadmin_base_url = {url:?}\nstart_date = \"2026-01-01\"\n\
             lead_event = \"generate_lead\"\n{extra}\n",
            url = ga4.base_url(),
        );
        std::fs::write(&bench.config, text).expect("writing the configuration");
        Ga4Bench { bench, ga4 }
    }

    /// The property's today, as the connector sees it.
    fn today(&self) -> Date {
        let zone = self.ga4.with_dataset(|data| data.time_zone.clone());
        let zone = jiff::tz::TimeZone::get(&zone).expect("a known zone");
        jiff::Timestamp::now().to_zoned(zone).date()
    }

    /// A stored GA4 metric: its value (NULL as `None`) and flags.
    fn metric(
        &self,
        metric: &str,
        grain: &str,
        period: &str,
        dimension: &str,
    ) -> (Option<f64>, String) {
        self.bench
            .db()
            .query_row(
                "SELECT value, flags FROM metrics WHERE source = 'ga4' AND metric = ?1
                    AND grain = ?2 AND period_start = ?3 AND dimension = ?4",
                [metric, grain, period, dimension],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap_or_else(|error| panic!("{metric} {grain} {period}: {error}"))
    }
}

fn days(from: Date, count: i64) -> Vec<Date> {
    (0..count)
        .map(|offset| {
            from.checked_add(jiff::Span::new().days(offset))
                .expect("a date")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn weekly_visitors_are_ga4s_weekly_count_and_the_order_rate_divides_by_them() {
    let bench = Ga4Bench::start("Europe/Paris", "").await;
    bench.bench.sync_ok(&[]).await;

    // The week of Monday 26 January 2026 holds Stripe orders (the 1 February charge).
    let monday = date(2026, 1, 26);
    let week = "2026-01-26";
    let visitors = bench.bench.value("acquisition.visitors", "week", week);
    let unique = bench
        .ga4
        .with_dataset(|data| data.unique_users(monday, date(2026, 2, 1)));
    assert_close(visitors, unique as f64);
    let daily: f64 = days(monday, 7)
        .iter()
        .map(|day| {
            bench
                .bench
                .value("acquisition.visitors", "day", &day.to_string())
        })
        .sum();
    assert!(
        visitors < daily * 0.9,
        "the week's {visitors} is not the sum of days {daily}"
    );

    let orders = bench.bench.value("conversion.orders", "week", week);
    assert!(orders > 0.0, "the week has orders");
    let (rate, numerator, denominator): (Option<f64>, Option<f64>, Option<f64>) = bench
        .bench
        .db()
        .query_row(
            "SELECT value, numerator, denominator FROM kpis WHERE kpi = 'conversion.order_rate'
                AND grain = 'week' AND period_start = ?1 AND dimension = ''",
            [week],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .expect("an order rate for the week");
    assert_eq!(
        (numerator, denominator),
        (Some(orders), Some(unique as f64))
    );
    assert_close(rate.expect("a rate"), orders / unique as f64);
    // Saas: the headline rate is the subscription rate, over the same visitors.
    let headline = bench.bench.value("conversion.rate", "week", week);
    let subscriptions = bench
        .bench
        .value("conversion.subscription_rate", "week", week);
    assert_close(headline, subscriptions);
}

#[tokio::test(flavor = "multi_thread")]
async fn yesterdays_late_sessions_replace_the_stored_ones_without_duplicates() {
    let bench = Ga4Bench::start("Europe/Paris", "").await;
    bench.bench.sync_ok(&[]).await;
    let yesterday = bench.today().yesterday().expect("a date").to_string();
    let (before, _) = bench.metric("sessions", "day", &yesterday, "");
    let before = before.expect("sessions yesterday");
    let rows = bench.bench.count("SELECT count(*) FROM metrics");

    bench
        .ga4
        .with_dataset(|data| data.add_visits(yesterday.parse().expect("a date"), 5));
    bench.bench.sync_ok(&[]).await;
    let (after, _) = bench.metric("sessions", "day", &yesterday, "");
    assert_eq!(
        after,
        Some(before + 5.0),
        "the later pull replaces the earlier one"
    );
    assert_eq!(
        bench.bench.count("SELECT count(*) FROM metrics"),
        rows,
        "no duplicates"
    );
    assert_close(
        bench.bench.value("acquisition.sessions", "day", &yesterday),
        before + 5.0,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thresholded_day_is_flagged_in_the_warehouse_status_and_explain() {
    let bench = Ga4Bench::start("Europe/Paris", "").await;
    let today = bench.today();
    bench.ga4.with_dataset(|data| {
        data.thresholded.insert(today);
    });
    bench.bench.sync_ok(&[]).await;
    let (users, flags) = bench.metric("total_users", "day", &today.to_string(), "");
    assert!(users.is_some(), "a thresholded total is still a number");
    assert!(
        flags.split(',').any(|flag| flag == "thresholded"),
        "{flags}"
    );
    let (_, clean) = bench.metric("total_users", "day", "2026-02-10", "");
    assert_eq!(clean, "");

    let status = bench.bench.kpisync(&["status"]).await;
    let text = all_output(&status);
    assert!(text.contains("thresholded"), "{text}");
    let explain = bench
        .bench
        .kpisync(&[
            "kpis",
            "--grain",
            "day",
            "--explain",
            "acquisition.visitors",
        ])
        .await;
    assert_success(&explain);
    let text = all_output(&explain);
    assert!(text.contains("total_users: thresholded"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quota_spent_mid_backfill_stops_the_run_and_the_next_resumes_at_the_first_gap() {
    let ga4 = FakeGa4::start(Ga4Dataset::new(date(2026, 1, 1), "Europe/Paris"))
        .await
        .expect("the fake GA4 starts");
    // The recent reports and a few older ones fit; the backfill does not.
    ga4.set_quota(Quota {
        per_hour: 160,
        ..Quota::default()
    });
    let bench = Ga4Bench::with(ga4, "").await;
    let first = bench.bench.sync_ok(&[]).await;
    let text = all_output(&first);
    assert!(text.contains("stopped early"), "{text}");
    let first_run = bench.ga4.reports();

    bench.ga4.clear_requests();
    bench.ga4.set_quota(Quota::default());
    bench.bench.sync_ok(&[]).await;
    let second_run = bench.ga4.reports();

    let window = bench
        .today()
        .checked_sub(jiff::Span::new().days(3))
        .expect("a date")
        .to_string();
    let traffic = |reports: &[AskedReport]| -> Vec<(String, String)> {
        reports
            .iter()
            .filter(|report| report.status == 200 && report.dimensions == ["date"])
            .filter(|report| report.metrics.iter().any(|metric| metric == "activeUsers"))
            .filter(|report| report.start_date < window)
            .map(|report| (report.start_date.clone(), report.end_date.clone()))
            .collect()
    };
    let (first, second) = (traffic(&first_run), traffic(&second_run));
    assert!(
        !first.is_empty() && !second.is_empty(),
        "{first:?} {second:?}"
    );
    let earlier: BTreeSet<_> = first.iter().collect();
    assert!(
        second.iter().all(|range| !earlier.contains(range)),
        "a day was read twice"
    );
    let resumed = second
        .iter()
        .map(|(start, _)| start.clone())
        .min()
        .expect("a range");
    let reached = first
        .iter()
        .map(|(_, end)| end.clone())
        .max()
        .expect("a range");
    let next: Date = reached.parse().expect("a date");
    assert_eq!(
        resumed,
        next.tomorrow().expect("a date").to_string(),
        "resumes at the gap"
    );

    // Every day from the start now has its visitors.
    let stored = bench.bench.count(
        "SELECT count(*) FROM metrics WHERE source = 'ga4' AND metric = 'total_users'
            AND grain = 'day' AND dimension = ''",
    );
    let expected = bench
        .today()
        .since(date(2026, 1, 1))
        .expect("a span")
        .get_days()
        + 1;
    assert_eq!(stored, i64::from(expected));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_429_on_thresholded_requests_ends_the_run_quickly_and_the_next_one_goes_on() {
    let bench = Ga4Bench::start("Europe/Paris", "").await;
    let rule = FaultRule::new(
        ":batchRunReports",
        1,
        Fault::thresholded_requests_exhausted(),
    );
    bench.ga4.inject(rule.after(2));
    let started = std::time::Instant::now();
    let output = bench.bench.sync_ok(&[]).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the run does not wait for the hour"
    );
    let text = all_output(&output);
    assert!(text.contains("quota exhausted"), "{text}");
    let refused = bench
        .ga4
        .requests()
        .iter()
        .filter(|request| request.status == 429)
        .count();
    assert_eq!(refused, 1, "no retry loop");

    bench.bench.sync_ok(&[]).await;
    let status = all_output(&bench.bench.kpisync(&["status"]).await);
    assert!(!status.contains("quota exhausted"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_other_row_of_landing_pages_is_stored_with_its_flag() {
    let bench = Ga4Bench::start("Europe/Paris", "").await;
    bench
        .ga4
        .with_dataset(|data| data.other_row_after = Some(1));
    bench.bench.sync_ok(&[]).await;
    let other = bench.bench.count(
        "SELECT count(*) FROM metrics WHERE source = 'ga4'
            AND dimension = 'landing_page=(other)' AND flags LIKE '%other_row%'",
    );
    assert!(other > 0, "the (other) row is kept under its name");
    let (users, flags) = bench.metric("total_users", "month", "2026-02-01", "landing_page=(other)");
    assert!(users.is_some_and(|users| users > 0.0));
    assert!(flags.contains("other_row"), "{flags}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_property_in_los_angeles_keeps_its_days_and_check_and_status_warn() {
    let bench = Ga4Bench::start("America/Los_Angeles", "").await;
    let check = bench.bench.kpisync(&["check"]).await;
    assert_success(&check);
    let text = all_output(&check);
    assert!(text.contains("America/Los_Angeles"), "{text}");
    assert!(text.contains("business.timezone is Europe/Paris"), "{text}");

    bench.bench.sync_ok(&[]).await;
    let latest = bench
        .bench
        .text("SELECT max(period_start) FROM metrics WHERE source = 'ga4' AND grain = 'day'");
    assert_eq!(
        latest,
        Some(bench.today().to_string()),
        "the property's today is the last day"
    );
    let status = all_output(&bench.bench.kpisync(&["status"]).await);
    assert!(status.contains("America/Los_Angeles"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_property_fails_with_what_to_fix_and_no_secret_is_written_anywhere() {
    let bench = Ga4Bench::start("Europe/Paris", "").await;
    let config = std::fs::read_to_string(&bench.bench.config).expect("the configuration");
    let wrong = config.replace(&format!("\"{PROPERTY_ID}\""), "\"111111111\"");
    std::fs::write(&bench.bench.config, wrong).expect("writing the configuration");
    let output = bench.bench.kpisync(&["sync"]).await;
    assert_eq!(output.status.code(), Some(1));
    let text = all_output(&output);
    assert!(text.contains("connectors.ga4.property_id"), "{text}");
    assert!(text.contains("Viewer"), "{text}");

    std::fs::write(&bench.bench.config, config).expect("writing the configuration");
    let mut command = bench.bench.command(&["sync"]);
    command.env("KPISYNC_LOG", "debug");
    let output = tokio::task::spawn_blocking(move || command.output().expect("kpisync runs"))
        .await
        .expect("the child finished");
    assert_success(&output);
    let logs = all_output(&output);
    let database = std::fs::read(&bench.bench.database).expect("the warehouse");
    let database = String::from_utf8_lossy(&database);
    for secret in ["PRIVATE KEY", "ya29.fake-access-token", "eyJ"] {
        assert!(!logs.contains(secret), "{secret} in the logs");
        assert!(!database.contains(secret), "{secret} in the warehouse");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_configurations_ga4_keys_are_all_known() {
    let example = include_str!("../../config/kpisync.example.toml");
    let start = example
        .find("# [connectors.ga4]")
        .expect("a GA4 section in the example");
    let section: String = example[start..]
        .lines()
        .take_while(|line| line.starts_with('#'))
        .map(|line| format!("{}\n", line.trim_start_matches("# ")))
        .collect();
    let bench = Ga4Bench::start("Europe/Paris", "").await;
    let config = std::fs::read_to_string(&bench.bench.config).expect("the configuration");
    let start = config
        .find("[connectors.ga4]")
        .expect("the bench's GA4 section");
    std::fs::write(
        &bench.bench.config,
        format!("{}{section}", &config[..start]),
    )
    .expect("writing the configuration");
    // Every key parses; only the example's key file is missing.
    let output = bench.bench.kpisync(&["check"]).await;
    let text = all_output(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("connectors.ga4.credentials"), "{text}");
    assert!(!text.contains("unknown field"), "{text}");
}
