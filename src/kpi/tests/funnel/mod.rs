//! The whole funnel: Stripe rows, GA4 metrics and manual entries with known values in one
//! warehouse, then every KPI the engine computes checked for ISO week 2026-W44 (Monday 26
//! October to Sunday 1 November, across two months) and for October 2026, against values
//! worked out by hand in the comments. The week after the last Sunday of October is the first
//! of winter time in Paris (UTC+1), the week before holds the change. This module builds the
//! warehouse; [`expected`] holds the rows it must give.

mod expected;

use rusqlite::params;

use super::Fixture;
use crate::kpi::manual::check_entry;
use crate::kpi::{BusinessModel, explain};
use crate::warehouse::ManualEntry;
use expected::{check, october, week_44};

const WEEK: &str = "2026-10-26";
const MONTH: &str = "2026-10-01";

/// A GA4 metric row, as the GA4 connector stores it.
fn ga4(fixture: &Fixture, metric: &str, grain: &str, start: &str, dimension: &str, value: f64) {
    fixture
        .warehouse
        .conn()
        .execute(
            "INSERT INTO metrics (source, metric, grain, period_start, dimension, value, unit,
                                  flags, synced_at)
             VALUES ('ga4', ?1, ?2, ?3, ?4, ?5, 'count', '', '2026-11-10T06:00:00Z')",
            params![metric, grain, start, dimension, value],
        )
        .unwrap();
}

/// Manual entries as `kpisync record` checks and stores them: `(metric, value, period,
/// dimension)`.
fn record(fixture: &mut Fixture, entries: &[(&str, &str, &str, &str)]) {
    let entries: Vec<ManualEntry> = entries
        .iter()
        .map(|(metric, value, period, dimension)| {
            check_entry(metric, value, period, dimension, "EUR").unwrap()
        })
        .collect();
    fixture.warehouse.record_manual(&entries).unwrap();
}

/// A charge settled by its own balance transaction.
fn paid(fixture: &Fixture, id: &str, created: &str, customer: &str, amount: i64, fee: i64) {
    let movement = format!("txn_{id}");
    fixture.movement(&movement, created, "charge", amount, fee, "eur");
    fixture.charge(
        id,
        created,
        "succeeded",
        true,
        amount,
        Some(customer),
        None,
        Some(&movement),
    );
}

fn build() -> Fixture {
    let mut fixture = Fixture::new(BusinessModel::B2b);

    // Orders, by their time in Paris.
    // ch_1: Monday 5 October, 50.00 EUR (fee 1.75) by cus_a.
    paid(&fixture, "ch_1", "2026-10-05T10:00:00Z", "cus_a", 5000, 175);
    // ch_2: 22:30 UTC on Sunday 25 October is 23:30 in Paris on winter time (UTC+1, since
    // 01:00 UTC that day): week 43, not 44 as a summer-time offset would make it.
    paid(&fixture, "ch_2", "2026-10-25T22:30:00Z", "cus_b", 3000, 117);
    // ch_3: 00:30 on Monday 26 October in Paris: week 44; cus_a's second order.
    paid(&fixture, "ch_3", "2026-10-25T23:30:00Z", "cus_a", 2000, 88);
    // ch_4: 00:30 on Sunday 1 November in Paris: week 44, but November.
    paid(&fixture, "ch_4", "2026-10-31T23:30:00Z", "cus_c", 4000, 146);
    // ch_5: Wednesday 28 October, settled in yen: ¥12,345 (fee ¥150) by cus_d.
    fixture.movement(
        "txn_jpy",
        "2026-10-28T03:00:00Z",
        "charge",
        12345,
        150,
        "jpy",
    );
    fixture.charge(
        "ch_5",
        "2026-10-28T03:00:00Z",
        "succeeded",
        true,
        12345,
        Some("cus_d"),
        None,
        Some("txn_jpy"),
    );
    // A 10.00 EUR refund on Tuesday 27 October.
    fixture.movement("txn_r1", "2026-10-27T10:00:00Z", "refund", -1000, 0, "eur");

    // Subscriptions: sub_1 runs throughout (29.00 a month), sub_2 (49.00) ends on
    // 28 October, sub_3 (99.00) starts on 27 October, sub_4 is a free plan from 29 October.
    fixture.subscription(super::Sub {
        id: "sub_1",
        created: "2026-09-10T10:00:00Z",
        status: "active",
        currency: "eur",
        monthly: 2900,
        ..super::Sub::default()
    });
    fixture.subscription(super::Sub {
        id: "sub_2",
        created: "2026-09-15T10:00:00Z",
        status: "canceled",
        canceled_at: Some("2026-10-28T10:00:00Z"),
        ended_at: Some("2026-10-28T10:00:00Z"),
        currency: "eur",
        monthly: 4900,
        ..super::Sub::default()
    });
    fixture.subscription(super::Sub {
        id: "sub_3",
        created: "2026-10-27T10:00:00Z",
        status: "active",
        currency: "eur",
        monthly: 9900,
        ..super::Sub::default()
    });
    fixture.subscription(super::Sub {
        id: "sub_4",
        created: "2026-10-29T10:00:00Z",
        status: "active",
        currency: "eur",
        monthly: 0,
        is_free: true,
        ..super::Sub::default()
    });

    // GA4, asked per grain. The week's 800 unique visitors are not the 1,000 of its days.
    let days = [
        ("2026-10-26", 150.0),
        ("2026-10-27", 140.0),
        ("2026-10-28", 160.0),
        ("2026-10-29", 130.0),
        ("2026-10-30", 170.0),
        ("2026-10-31", 120.0),
        ("2026-11-01", 130.0),
    ];
    for (day, users) in days {
        ga4(&fixture, "total_users", "day", day, "", users);
    }
    for (grain, start, numbers) in [
        (
            "week",
            WEEK,
            [800.0, 700.0, 1000.0, 600.0, 400.0, 60_000.0, 7000.0],
        ),
        (
            "month",
            MONTH,
            [3000.0, 2500.0, 4000.0, 2500.0, 1500.0, 200_000.0, 20_000.0],
        ),
    ] {
        let [users, active, sessions, organic, email, engagement, events] = numbers;
        ga4(&fixture, "total_users", grain, start, "", users);
        ga4(&fixture, "active_users", grain, start, "", active);
        ga4(&fixture, "sessions", grain, start, "", sessions);
        ga4(
            &fixture,
            "sessions",
            grain,
            start,
            "channel=Organic Search",
            organic,
        );
        ga4(&fixture, "sessions", grain, start, "channel=Email", email);
        ga4(
            &fixture,
            "user_engagement_duration",
            grain,
            start,
            "",
            engagement,
        );
        ga4(&fixture, "event_count", grain, start, "", events);
    }
    ga4(&fixture, "landing_users", "week", WEEK, "", 400.0);
    ga4(&fixture, "landing_users", "month", MONTH, "", 1200.0);
    ga4(&fixture, "lead_magnet_downloads", "week", WEEK, "", 40.0);
    ga4(&fixture, "lead_magnet_downloads", "month", MONTH, "", 150.0);
    ga4(&fixture, "app_downloads", "week", WEEK, "", 25.0);
    ga4(&fixture, "app_downloads", "month", MONTH, "", 90.0);

    // Manual entries. October's spend is recorded as 500 and then corrected to 800.
    record(&mut fixture, &[("marketing_spend", "500", "2026-10", "")]);
    record(
        &mut fixture,
        &[
            ("marketing_spend", "800", "2026-10", ""),
            ("marketing_spend", "150.50", "2026-W44", ""),
            ("demos", "0", "2026-W44", ""),
            ("demos", "10", "2026-10", ""),
            ("contracts_signed", "2", "2026-W44", ""),
            ("contracts_signed", "3", "2026-10", ""),
            ("app_downloads", "30", "2026-W44", ""),
            ("lead_magnet_downloads", "170", "2026-10", ""),
            ("popup_displays", "2000", "2026-W44", ""),
            ("newsletter_subscribers", "1500", "2026-W44", ""),
            ("newsletter_subscribers", "1480", "2026-10", ""),
            ("newsletter_signups", "20", "2026-W44", ""),
            ("newsletter_signups", "90", "2026-10", ""),
            ("social_followers", "5000", "2026-W44", "network=instagram"),
            ("social_followers", "800", "2026-W44", "network=linkedin"),
            ("social_followers", "4950", "2026-10", "network=instagram"),
            ("social_followers", "790", "2026-10", "network=linkedin"),
            ("social_engagements", "250", "2026-W44", "network=instagram"),
            ("social_engagements", "40", "2026-W44", "network=linkedin"),
            ("social_engagements", "1000", "2026-10", "network=instagram"),
            ("social_engagements", "158", "2026-10", "network=linkedin"),
            (
                "social_impressions",
                "10000",
                "2026-W44",
                "network=instagram",
            ),
            (
                "social_impressions",
                "40000",
                "2026-10",
                "network=instagram",
            ),
            ("social_mentions", "12", "2026-W44", "network=instagram"),
            ("social_mentions", "3", "2026-W44", "network=linkedin"),
            ("social_mentions", "50", "2026-10", "network=instagram"),
            ("nps_promoters", "30", "2026-W44", ""),
            ("nps_passives", "10", "2026-W44", ""),
            ("nps_detractors", "10", "2026-W44", ""),
            ("nps_promoters", "100", "2026-10", ""),
            ("nps_passives", "40", "2026-10", ""),
            ("nps_detractors", "60", "2026-10", ""),
        ],
    );
    fixture.recompute("2026-11-10T12:00:00Z");
    fixture
}

#[test]
fn every_kpi_of_a_week_across_two_months() {
    let fixture = build();
    check(&fixture, "week", WEEK, &week_44());

    // The week's unique visitors are GA4's answer for the week, not the sum of its days.
    let days: f64 = fixture
        .warehouse
        .conn()
        .query_row(
            "SELECT sum(value) FROM kpis WHERE kpi = 'acquisition.visitors' AND grain = 'day'
             AND period_start BETWEEN '2026-10-26' AND '2026-11-01'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(days, 1000.0);
    assert_eq!(
        fixture.value("acquisition.visitors", "week", WEEK),
        Some(800.0)
    );
}

#[test]
fn every_kpi_of_a_month() {
    let fixture = build();
    check(&fixture, "month", MONTH, &october());
}

#[test]
fn the_week_of_the_clock_change_and_the_month_after() {
    let fixture = build();
    // Week 43 (19 to 25 October, 167 hours) holds ch_2 only; Sunday 25 October too.
    assert_eq!(
        fixture.value("revenue.gross", "week", "2026-10-19"),
        Some(30.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "day", "2026-10-25"),
        Some(30.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "day", "2026-10-26"),
        Some(20.0)
    );
    // ch_4 is November's, though in week 44.
    assert_eq!(
        fixture.value("revenue.gross", "month", "2026-11-01"),
        Some(40.0)
    );
    assert_eq!(
        fixture.value("conversion.orders", "month", "2026-11-01"),
        Some(1.0)
    );
}

#[test]
fn manual_entries_feed_their_own_period_only() {
    let fixture = build();
    // October's contracts are not spread over its days or weeks, and week 43 has no entry:
    // missing, not 0.
    assert_eq!(fixture.count("conversion.contracts_signed", "day"), 0);
    assert_eq!(fixture.count("conversion.contracts_signed", "week"), 1);
    assert!(
        fixture
            .find("conversion.contracts_signed", "week", "2026-10-19", "")
            .is_none()
    );
    assert!(
        fixture
            .find("revenue.marketing_spend", "month", "2026-11-01", "")
            .is_none()
    );
    assert_eq!(fixture.count("recommendation.nps", "day"), 0);
    // GA4's daily installs stay GA4's where nothing was recorded: week 43 has no row at all.
    assert!(
        fixture
            .find("conversion.app_downloads", "week", "2026-10-19", "")
            .is_none()
    );
}

#[test]
fn explain_says_which_input_each_row_used() {
    let fixture = build();
    let conn = fixture.warehouse.conn();
    let week = |id| {
        explain(conn, id, Some(crate::kpi::Grain::Week), Some("2026-W44"))
            .unwrap()
            .to_string()
    };
    let month = |id| {
        explain(conn, id, Some(crate::kpi::Grain::Month), Some("2026-10"))
            .unwrap()
            .to_string()
    };
    let text = week("conversion.contract_rate");
    assert!(text.contains("— ratio  = 2 / 0"), "{text}");
    assert!(
        text.contains("2026-10-26  denominator: the manual demos entry of the period"),
        "{text}"
    );
    let text = month("acquisition.lead_magnet_rate");
    assert!(
        text.contains("denominator: acquisition.visitors (no manual popup_displays entry"),
        "{text}"
    );
    let text = month("acquisition.lead_magnet_downloads");
    assert!(
        text.contains("the manual lead_magnet_downloads entry of the period, instead of GA4's 150"),
        "{text}"
    );
    let text = week("acquisition.lead_magnet_downloads");
    assert!(text.contains("GA4's lead_magnet_downloads"), "{text}");
    let text = week("engagement.social_engagement_rate");
    assert!(
        text.contains("network=linkedin  denominator: the manual social_followers entry"),
        "{text}"
    );
    assert!(
        text.contains("network=instagram  denominator: the manual social_impressions entry"),
        "{text}"
    );
    let text = month("recommendation.nps");
    assert!(text.contains("20 score  = 4000 / 200"), "{text}");
    assert!(
        text.contains("metrics: source manual, metric nps_promoters"),
        "{text}"
    );
}

#[test]
fn the_newsletter_rate_falls_back_to_visitors_without_landing_pages() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    ga4(&fixture, "total_users", "month", MONTH, "", 2000.0);
    record(&mut fixture, &[("newsletter_signups", "50", "2026-10", "")]);
    fixture.recompute("2026-11-10T12:00:00Z");
    let row = fixture.row("acquisition.newsletter_signup_rate", "month", MONTH);
    assert_eq!(row.parts(), (Some(0.025), Some(50.0), Some(2000.0)));
    let text = explain(
        fixture.warehouse.conn(),
        "acquisition.newsletter_signup_rate",
        None,
        Some("2026-10"),
    )
    .unwrap()
    .to_string();
    assert!(
        text.contains("denominator: acquisition.visitors (no landing-page visitors"),
        "{text}"
    );
    // Without Stripe, GA4 or any other entry, a rate over nothing is NULL, not 0.
    let mut alone = Fixture::new(BusinessModel::B2b);
    record(&mut alone, &[("contracts_signed", "4", "2026-10", "")]);
    alone.recompute("2026-11-10T12:00:00Z");
    assert_eq!(
        alone
            .row("conversion.contract_rate", "month", MONTH)
            .parts(),
        (None, Some(4.0), None)
    );
}

#[test]
fn entries_are_checked_before_they_are_stored() {
    let check = |metric, value, period, dimension| {
        check_entry(metric, value, period, dimension, "EUR")
            .err()
            .unwrap_or_default()
    };
    assert!(check("visits", "1", "2026-10", "").contains("not a manual metric"));
    assert!(check("demos", "1", "2026-13", "").contains("not a period"));
    assert!(check("demos", "1", "2026-W54", "").contains("no ISO week 54"));
    let typo = check("demos", "1", "0202-11-03", "");
    assert!(typo.contains("from 2000 to 2099"), "{typo}");
    assert!(check("demos", "1", "2100-01", "").contains("from 2000 to 2099"));
    assert!(check("demos", "-1", "2026-10", "").contains("negative"));
    assert!(check("demos", "1.5", "2026-10", "").contains("whole number"));
    assert!(check("demos", "NaN", "2026-10", "").contains("not a number"));
    assert!(check("demos", "inf", "2026-10", "").contains("not a number"));
    assert!(check("demos", "1", "2026-10", "network=x").contains("takes no dimension"));
    assert!(check("social_followers", "1", "2026-10", "").contains("network=<name>"));
    assert!(check("social_followers", "1", "2026-10", "net=x").contains("not a dimension"));
    assert!(check("marketing_spend", "12.345", "2026-10", "").contains("more decimals"));
    assert!(check("marketing_spend", "1e308", "2026-10", "").contains("too large"));
    assert!(check("marketing_spend", "-0.01", "2026-10", "").contains("negative"));
    let zero = check_entry("demos", "-0", "2026-10", "", "EUR").unwrap();
    assert!(zero.value == 0.0 && zero.value.is_sign_positive());
    // 0.29 × 100 is 28.999999999999996 in binary: still exactly 29 cents.
    let cents = check_entry("marketing_spend", "0.29", "2026-10", "", "EUR").unwrap();
    assert_eq!(cents.value, 0.29);
    let dinars = check_entry("marketing_spend", "1.234", "2026-10", "", "KWD").unwrap();
    assert_eq!(dinars.value, 1.234);
    let large = check_entry("marketing_spend", "98765432109.87", "2026", "", "EUR");
    assert!(large.unwrap_err().contains("not a period"));
    let large = check_entry("marketing_spend", "98765432109.87", "2026-10", "", "EUR").unwrap();
    assert_eq!(large.value, 98765432109.87);

    let spend = check_entry("marketing_spend", " 1234.56 ", "2026-W45", "", "EUR").unwrap();
    assert_eq!(
        (
            spend.grain.as_str(),
            spend.period_start.as_str(),
            spend.value
        ),
        ("week", "2026-11-02", 1234.56)
    );
    assert_eq!(spend.unit, "EUR");
    let yen = check_entry("marketing_spend", "5000", "2026-11-03", "", "JPY").unwrap();
    assert_eq!((yen.grain.as_str(), yen.unit.as_str()), ("day", "JPY"));
    assert!(
        check_entry("marketing_spend", "5000.5", "2026-11", "", "JPY")
            .unwrap_err()
            .contains("more decimals than JPY has (0)")
    );
    let followers = check_entry(
        "social_followers",
        "10",
        "2026-11",
        " network=Instagram ",
        "EUR",
    );
    assert_eq!(followers.unwrap().dimension, "network=instagram");
    let demos = check_entry(" Demos ", "3", "2026-w45", "", "EUR").unwrap();
    assert_eq!(
        (demos.metric.as_str(), demos.grain.as_str()),
        ("demos", "week")
    );
}

#[test]
fn manual_amounts_have_iso_minor_units_and_counts_stay_exact() {
    // ISO 4217 gives the Icelandic króna no minor unit; Stripe's own table gives it two.
    let kronur = check_entry("marketing_spend", "1234.5", "2026-10", "", "ISK");
    assert!(
        kronur
            .unwrap_err()
            .contains("more decimals than ISK has (0)"),
        "a typed amount is in ISO major units"
    );
    let kronur = check_entry("marketing_spend", "1235", "2026-10", "", "ISK").unwrap();
    assert_eq!(kronur.value, 1235.0);
    let dinars = check_entry("marketing_spend", "1.234", "2026-10", "", "LYD").unwrap();
    assert_eq!(dinars.value, 1.234, "the Libyan dinar has three decimals");

    // Past 2^53 a count would be stored rounded.
    let huge = check_entry("demos", "1e300", "2026-10", "", "EUR");
    assert!(huge.unwrap_err().contains("demos: '1e300' is too large"));
    let largest = check_entry("demos", "9007199254740992", "2026-10", "", "EUR").unwrap();
    assert_eq!(largest.value, 9_007_199_254_740_992.0);
}

#[test]
fn every_manual_metric_feeds_the_kpis_of_the_spec() {
    use crate::kpi::manual::{MANUAL_METRICS, kpis_fed_by};
    let fed = |metric| kpis_fed_by(metric, BusinessModel::B2b);
    for metric in MANUAL_METRICS {
        assert!(
            !fed(metric.name).is_empty(),
            "{} feeds nothing",
            metric.name
        );
    }
    assert_eq!(
        fed("demos"),
        ["conversion.contract_rate", "conversion.rate"]
    );
    // Only a b2b business's headline rate is the contract rate.
    assert_eq!(
        kpis_fed_by("demos", BusinessModel::Saas),
        ["conversion.contract_rate"]
    );
    assert_eq!(
        fed("marketing_spend"),
        ["revenue.marketing_spend", "revenue.cost_per_sale"]
    );
    assert_eq!(fed("popup_displays"), ["acquisition.lead_magnet_rate"]);
    assert_eq!(
        kpis_fed_by("app_downloads", BusinessModel::App),
        [
            "conversion.app_downloads",
            "conversion.download_rate",
            "conversion.rate"
        ]
    );
    assert_eq!(
        fed("nps_passives"),
        ["recommendation.nps", "recommendation.nps_responses"]
    );
}
