//! The rows the whole-funnel warehouse must hold for ISO week 2026-W44 and for October
//! 2026, worked out by hand in the comments, and the check that the stored rows are exactly
//! those.

use std::collections::BTreeMap;

use rusqlite::params;

use super::super::Fixture;
use crate::kpi::catalog;

/// One expected row of the `kpis` table.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Row {
    value: Option<f64>,
    numerator: Option<f64>,
    denominator: Option<f64>,
    unit: String,
}

/// The expected rows of one period, by KPI and dimension.
#[derive(Default)]
pub(super) struct Expected(BTreeMap<(String, String), Row>);

impl Expected {
    fn put(&mut self, kpi: &str, dimension: &str, row: Row) {
        let key = (kpi.to_owned(), dimension.to_owned());
        assert!(self.0.insert(key, row).is_none(), "{kpi} expected twice");
    }

    /// A count, amount or score without numerator and denominator.
    fn plain(&mut self, kpi: &str, dimension: &str, value: f64, unit: &str) {
        let row = Row {
            value: Some(value),
            numerator: None,
            denominator: None,
            unit: unit.to_owned(),
        };
        self.put(kpi, dimension, row);
    }

    /// A ratio: its value is `numerator / denominator`, or NULL for a zero denominator.
    fn ratio(&mut self, kpi: &str, dimension: &str, numerator: f64, denominator: f64, unit: &str) {
        let row = Row {
            value: (denominator != 0.0).then(|| numerator / denominator),
            numerator: Some(numerator),
            denominator: Some(denominator),
            unit: unit.to_owned(),
        };
        self.put(kpi, dimension, row);
    }
}

/// Week 44: Monday 26 October to Sunday 1 November in Paris.
pub(super) fn week_44() -> Expected {
    let mut week = Expected::default();
    // GA4, the week's own numbers.
    week.plain("acquisition.visitors", "", 800.0, "count");
    week.plain("acquisition.sessions", "", 1000.0, "count");
    week.ratio(
        "acquisition.channel_share",
        "channel=Email",
        400.0,
        1000.0,
        "ratio",
    );
    week.ratio(
        "acquisition.channel_share",
        "channel=Organic Search",
        600.0,
        1000.0,
        "ratio",
    );
    week.plain("acquisition.landing_visitors", "", 400.0, "count");
    week.ratio(
        "engagement.avg_session_seconds",
        "",
        60_000.0,
        1000.0,
        "seconds",
    );
    week.ratio("engagement.actions_per_user", "", 7000.0, 700.0, "number");
    // Newsletter, manual: 20 sign-ups over 400 landing-page visitors.
    week.plain("acquisition.newsletter_subscribers", "", 1500.0, "count");
    week.plain("acquisition.newsletter_signups", "", 20.0, "count");
    week.ratio(
        "acquisition.newsletter_signup_rate",
        "",
        20.0,
        400.0,
        "ratio",
    );
    // Lead magnet: GA4's 40 (no manual entry this week), over the 2,000 pop-up displays.
    week.plain("acquisition.lead_magnet_downloads", "", 40.0, "count");
    week.ratio("acquisition.lead_magnet_rate", "", 40.0, 2000.0, "ratio");
    // Stripe: sub_4 is the free sign-up, sub_3 the new paid subscription.
    week.plain("acquisition.free_signups", "", 1.0, "count");
    week.ratio("acquisition.free_signup_rate", "", 1.0, 800.0, "ratio");
    // Orders ch_3, ch_4 (1 November) and ch_5 (yen); ch_2 fell in week 43.
    week.plain("conversion.orders", "", 3.0, "count");
    week.ratio("conversion.order_rate", "", 3.0, 800.0, "ratio");
    week.plain("conversion.new_subscriptions", "", 1.0, "count");
    week.ratio("conversion.subscription_rate", "", 1.0, 800.0, "ratio");
    // The manual 30 replaces GA4's 25 for this week.
    week.plain("conversion.app_downloads", "", 30.0, "count");
    week.ratio("conversion.download_rate", "", 30.0, 800.0, "ratio");
    // 2 contracts over 0 demos: NULL, and so is the b2b headline rate.
    week.plain("conversion.contracts_signed", "", 2.0, "count");
    week.ratio("conversion.contract_rate", "", 2.0, 0.0, "ratio");
    week.ratio("conversion.rate", "", 2.0, 0.0, "ratio");
    // Social, per network: instagram over its impressions, linkedin over its followers.
    week.plain(
        "engagement.social_followers",
        "network=instagram",
        5000.0,
        "count",
    );
    week.plain(
        "engagement.social_followers",
        "network=linkedin",
        800.0,
        "count",
    );
    week.ratio(
        "engagement.social_engagement_rate",
        "network=instagram",
        250.0,
        10_000.0,
        "ratio",
    );
    week.ratio(
        "engagement.social_engagement_rate",
        "network=linkedin",
        40.0,
        800.0,
        "ratio",
    );
    week.plain("recommendation.social_mentions", "", 15.0, "count");
    week.plain(
        "recommendation.social_mentions",
        "network=instagram",
        12.0,
        "count",
    );
    week.plain(
        "recommendation.social_mentions",
        "network=linkedin",
        3.0,
        "count",
    );
    // Subscriptions: sub_1 and sub_2 at the start, sub_1 and sub_3 at the end.
    week.plain("engagement.active_subscriptions", "", 2.0, "count");
    week.ratio("engagement.churn_rate", "", 1.0, 2.0, "ratio");
    week.ratio("engagement.retention_rate", "", 1.0, 2.0, "ratio");
    week.ratio("engagement.subscriber_growth", "", 2.0, 2.0, "ratio");
    // Revenue in euros: 20 + 40 gross, 10 refunded, fees 0.88 + 1.46; the yen apart.
    week.plain("revenue.gross", "", 60.0, "EUR");
    week.plain("revenue.gross", "currency=JPY", 12345.0, "JPY");
    week.plain("revenue.refunds", "", 10.0, "EUR");
    week.plain("revenue.net", "", 50.0, "EUR");
    week.plain("revenue.net", "currency=JPY", 12345.0, "JPY");
    week.plain("revenue.fees", "", 2.34, "EUR");
    week.plain("revenue.fees", "currency=JPY", 150.0, "JPY");
    week.ratio("revenue.average_basket", "", 60.0, 2.0, "EUR");
    week.ratio(
        "revenue.average_basket",
        "currency=JPY",
        12345.0,
        1.0,
        "JPY",
    );
    // MRR at the end: 29 + 99, over 2 subscriptions.
    week.plain("revenue.mrr", "", 128.0, "EUR");
    week.ratio("revenue.arpu", "", 128.0, 2.0, "EUR");
    // cus_a has 2 orders by 2 November; cus_b, cus_c, cus_d one each.
    week.ratio("revenue.repeat_purchase_rate", "", 1.0, 4.0, "ratio");
    // Lifetime euros 50 + 30 + 20 + 40 - 10 over cus_a, cus_b, cus_c; yen 12345 over cus_d.
    week.ratio("revenue.ltv", "", 130.0, 3.0, "EUR");
    week.ratio("revenue.ltv", "currency=JPY", 12345.0, 1.0, "JPY");
    week.plain("revenue.marketing_spend", "", 150.5, "EUR");
    week.ratio("revenue.cost_per_sale", "", 150.5, 3.0, "EUR");
    // NPS: (30 - 10) / 50.
    week.ratio("recommendation.nps", "", 2000.0, 50.0, "score");
    week.plain("recommendation.nps_responses", "", 50.0, "count");
    week
}

/// October 2026 in Paris.
pub(super) fn october() -> Expected {
    let mut month = Expected::default();
    month.plain("acquisition.visitors", "", 3000.0, "count");
    month.plain("acquisition.sessions", "", 4000.0, "count");
    month.ratio(
        "acquisition.channel_share",
        "channel=Email",
        1500.0,
        4000.0,
        "ratio",
    );
    month.ratio(
        "acquisition.channel_share",
        "channel=Organic Search",
        2500.0,
        4000.0,
        "ratio",
    );
    month.plain("acquisition.landing_visitors", "", 1200.0, "count");
    month.ratio(
        "engagement.avg_session_seconds",
        "",
        200_000.0,
        4000.0,
        "seconds",
    );
    month.ratio(
        "engagement.actions_per_user",
        "",
        20_000.0,
        2500.0,
        "number",
    );
    month.plain("acquisition.newsletter_subscribers", "", 1480.0, "count");
    month.plain("acquisition.newsletter_signups", "", 90.0, "count");
    month.ratio(
        "acquisition.newsletter_signup_rate",
        "",
        90.0,
        1200.0,
        "ratio",
    );
    // The manual 170 replaces GA4's 150 (never 320); no pop-up displays: over visitors.
    month.plain("acquisition.lead_magnet_downloads", "", 170.0, "count");
    month.ratio("acquisition.lead_magnet_rate", "", 170.0, 3000.0, "ratio");
    month.plain("acquisition.free_signups", "", 1.0, "count");
    month.ratio("acquisition.free_signup_rate", "", 1.0, 3000.0, "ratio");
    // ch_1, ch_2, ch_3, ch_5; ch_4 is in November.
    month.plain("conversion.orders", "", 4.0, "count");
    month.ratio("conversion.order_rate", "", 4.0, 3000.0, "ratio");
    month.plain("conversion.new_subscriptions", "", 1.0, "count");
    month.ratio("conversion.subscription_rate", "", 1.0, 3000.0, "ratio");
    // No manual entry for the month: GA4's 90.
    month.plain("conversion.app_downloads", "", 90.0, "count");
    month.ratio("conversion.download_rate", "", 90.0, 3000.0, "ratio");
    month.plain("conversion.contracts_signed", "", 3.0, "count");
    month.ratio("conversion.contract_rate", "", 3.0, 10.0, "ratio");
    month.ratio("conversion.rate", "", 3.0, 10.0, "ratio");
    month.plain(
        "engagement.social_followers",
        "network=instagram",
        4950.0,
        "count",
    );
    month.plain(
        "engagement.social_followers",
        "network=linkedin",
        790.0,
        "count",
    );
    month.ratio(
        "engagement.social_engagement_rate",
        "network=instagram",
        1000.0,
        40_000.0,
        "ratio",
    );
    month.ratio(
        "engagement.social_engagement_rate",
        "network=linkedin",
        158.0,
        790.0,
        "ratio",
    );
    // Only instagram recorded mentions in October: the total is its 50.
    month.plain("recommendation.social_mentions", "", 50.0, "count");
    month.plain(
        "recommendation.social_mentions",
        "network=instagram",
        50.0,
        "count",
    );
    month.plain("engagement.active_subscriptions", "", 2.0, "count");
    month.ratio("engagement.churn_rate", "", 1.0, 2.0, "ratio");
    month.ratio("engagement.retention_rate", "", 1.0, 2.0, "ratio");
    month.ratio("engagement.subscriber_growth", "", 2.0, 2.0, "ratio");
    // 50 + 30 + 20 gross, fees 1.75 + 1.17 + 0.88.
    month.plain("revenue.gross", "", 100.0, "EUR");
    month.plain("revenue.gross", "currency=JPY", 12345.0, "JPY");
    month.plain("revenue.refunds", "", 10.0, "EUR");
    month.plain("revenue.net", "", 90.0, "EUR");
    month.plain("revenue.net", "currency=JPY", 12345.0, "JPY");
    month.plain("revenue.fees", "", 3.8, "EUR");
    month.plain("revenue.fees", "currency=JPY", 150.0, "JPY");
    month.ratio("revenue.average_basket", "", 100.0, 3.0, "EUR");
    month.ratio(
        "revenue.average_basket",
        "currency=JPY",
        12345.0,
        1.0,
        "JPY",
    );
    month.plain("revenue.mrr", "", 128.0, "EUR");
    month.ratio("revenue.arpu", "", 128.0, 2.0, "EUR");
    // By 1 November: cus_a twice, cus_b and cus_d once.
    month.ratio("revenue.repeat_purchase_rate", "", 1.0, 3.0, "ratio");
    month.ratio("revenue.ltv", "", 90.0, 2.0, "EUR");
    month.ratio("revenue.ltv", "currency=JPY", 12345.0, 1.0, "JPY");
    // The later 800 replaced the first 500.
    month.plain("revenue.marketing_spend", "", 800.0, "EUR");
    month.ratio("revenue.cost_per_sale", "", 800.0, 4.0, "EUR");
    // (100 - 60) / 200.
    month.ratio("recommendation.nps", "", 4000.0, 200.0, "score");
    month.plain("recommendation.nps_responses", "", 200.0, "count");
    month
}

/// The stored rows of one period, by KPI and dimension.
fn stored(fixture: &Fixture, grain: &str, start: &str) -> BTreeMap<(String, String), Row> {
    let conn = fixture.warehouse.conn();
    let mut statement = conn
        .prepare(
            "SELECT kpi, dimension, value, numerator, denominator, unit FROM kpis
             WHERE grain = ?1 AND period_start = ?2",
        )
        .unwrap();
    let rows = statement
        .query_map(params![grain, start], |row| {
            Ok((
                (row.get(0)?, row.get(1)?),
                Row {
                    value: row.get(2)?,
                    numerator: row.get(3)?,
                    denominator: row.get(4)?,
                    unit: row.get(5)?,
                },
            ))
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// Every computed KPI has an expectation, and the stored rows are exactly the expected ones.
pub(super) fn check(fixture: &Fixture, grain: &str, start: &str, expected: &Expected) {
    for def in catalog().iter().filter(|def| def.computed) {
        assert!(
            expected.0.keys().any(|(kpi, _)| kpi == def.id),
            "{grain} {start}: no expected value for {}",
            def.id
        );
    }
    let actual = stored(fixture, grain, start);
    for (key, row) in &expected.0 {
        assert_eq!(actual.get(key), Some(row), "{grain} {start} {key:?}");
    }
    let extra: Vec<_> = actual
        .keys()
        .filter(|key| !expected.0.contains_key(*key))
        .collect();
    assert!(
        extra.is_empty(),
        "{grain} {start}: unexpected rows {extra:?}"
    );
}
