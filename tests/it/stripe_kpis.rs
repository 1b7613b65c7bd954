//! Stripe to KPI rows, end to end, on the fixed dataset of the fake (its table is in the doc of
//! `connectors::stripe::fake::dataset`): every value below is computed by hand from it, with the
//! business in Europe/Paris (UTC+1 from January to March 2026) reporting in EUR.

use crate::helpers::{Bench, assert_close};
use connectors::stripe::fake::Dataset;

const JAN: &str = "2026-01-01";
const FEB: &str = "2026-02-01";
const MAR: &str = "2026-03-01";

#[tokio::test(flavor = "multi_thread")]
async fn every_object_lands_exactly_once() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;

    for (table, expected) in [
        ("stripe_customers", 5),
        ("stripe_charges", 8),
        ("stripe_refunds", 2),
        ("stripe_balance_transactions", 7),
        ("stripe_subscriptions", 5),
        ("stripe_invoices", 3),
    ] {
        assert_eq!(
            bench.count(&format!("SELECT count(*) FROM {table}")),
            expected,
            "{table}"
        );
        let distinct = bench.count(&format!("SELECT count(DISTINCT id) FROM {table}"));
        assert_eq!(distinct, expected, "{table} ids");
    }
    // The canceled subscription is there: the list was asked with status=all.
    let status = bench.text("SELECT status FROM stripe_subscriptions WHERE id = 'sub_2'");
    assert_eq!(status.as_deref(), Some("canceled"));
    let asked_all = bench.stripe.requests().iter().any(|request| {
        request.path == "/v1/subscriptions" && request.param("status").as_deref() == Some("all")
    });
    assert!(asked_all, "subscriptions must be listed with status=all");
}

#[tokio::test(flavor = "multi_thread")]
async fn revenue_kpis_match_the_hand_computed_values() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;

    // January: ch_1 50.00 + ch_2 30.00; ch_3 (23:30 UTC on the 31st) is February in Paris.
    assert_close(bench.value("revenue.gross", "month", JAN), 80.0);
    assert_close(bench.value("revenue.fees", "month", JAN), 2.92);
    assert_close(bench.value("revenue.refunds", "month", JAN), 0.0);
    assert_close(bench.value("revenue.net", "month", JAN), 80.0);
    assert_close(bench.value("conversion.orders", "month", JAN), 2.0);
    assert_close(bench.value("revenue.average_basket", "month", JAN), 40.0);

    // February: ch_3 20.00 + ch_6 (25.00 USD settled as 23.00 EUR); ch_4 settled in JPY stays
    // apart; ch_5 failed.
    assert_close(bench.value("revenue.gross", "month", FEB), 43.0);
    let yen = bench.kpi("revenue.gross", "month", FEB, "currency=JPY");
    assert_eq!(yen, Some(Some(1000.0)), "¥1,000 is 1000 yen, zero-decimal");
    assert_close(bench.value("conversion.orders", "month", FEB), 3.0);
    assert_close(bench.value("revenue.average_basket", "month", FEB), 21.5);
    assert_close(bench.value("revenue.fees", "month", FEB), 1.85);

    // March: ch_7 (a guest) 15.00; the refund of ch_2 (a January charge) counts in March, the
    // pending refund and the pending ch_8 do not.
    assert_close(bench.value("revenue.gross", "month", MAR), 15.0);
    assert_close(bench.value("revenue.refunds", "month", MAR), 10.0);
    assert_close(bench.value("revenue.net", "month", MAR), 5.0);
    assert_close(bench.value("conversion.orders", "month", MAR), 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn days_and_weeks_are_cut_at_midnight_in_the_business_zone() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;

    assert_close(bench.value("conversion.orders", "day", "2026-01-31"), 0.0);
    assert_close(bench.value("conversion.orders", "day", "2026-02-01"), 1.0);
    assert_close(bench.value("revenue.gross", "day", "2026-02-01"), 20.0);
    // Sunday 1 February belongs to the ISO week starting Monday 26 January.
    assert_close(bench.value("conversion.orders", "week", "2026-01-26"), 1.0);
    assert_close(bench.value("revenue.gross", "week", "2026-01-26"), 20.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn subscription_kpis_match_the_hand_computed_values() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;

    // January: sub_1 and sub_2 start; nobody was active on the 1st.
    assert_close(
        bench.value("engagement.active_subscriptions", "month", JAN),
        2.0,
    );
    assert_close(
        bench.value("conversion.new_subscriptions", "month", JAN),
        2.0,
    );
    assert_eq!(
        bench.kpi("engagement.churn_rate", "month", JAN, ""),
        Some(None)
    );
    assert_close(bench.value("revenue.mrr", "month", JAN), 80.0);
    assert_close(bench.value("revenue.arpu", "month", JAN), 40.0);

    // February: sub_2 is cancelled mid-month (churn 1 of 2); sub_3's trial converts on the 15th;
    // sub_4 is a free plan; sub_3 (trial) and sub_4 (free) are the free sign-ups.
    assert_close(bench.value("engagement.churn_rate", "month", FEB), 0.5);
    assert_close(bench.value("engagement.retention_rate", "month", FEB), 0.5);
    assert_close(
        bench.value("engagement.subscriber_growth", "month", FEB),
        1.0,
    );
    assert_close(
        bench.value("engagement.active_subscriptions", "month", FEB),
        2.0,
    );
    assert_close(
        bench.value("conversion.new_subscriptions", "month", FEB),
        1.0,
    );
    assert_close(bench.value("acquisition.free_signups", "month", FEB), 2.0);
    assert_close(bench.value("revenue.mrr", "month", FEB), 70.0);
    assert_close(bench.value("revenue.arpu", "month", FEB), 35.0);
    assert_close(bench.value("revenue.ltv", "month", FEB), 70.0);

    // March: sub_5 is yearly, 120.00 a year is 10.00 a month; nobody leaves, so LTV is unknown.
    assert_close(
        bench.value("engagement.active_subscriptions", "month", MAR),
        3.0,
    );
    assert_close(bench.value("engagement.churn_rate", "month", MAR), 0.0);
    assert_close(
        bench.value("engagement.subscriber_growth", "month", MAR),
        1.5,
    );
    assert_close(bench.value("revenue.mrr", "month", MAR), 80.0);
    assert_close(bench.value("revenue.arpu", "month", MAR), 80.0 / 3.0);
    assert_eq!(bench.kpi("revenue.ltv", "month", MAR, ""), Some(None));
}

#[tokio::test(flavor = "multi_thread")]
async fn repeat_purchase_rate_counts_guests_by_email() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;

    // cus_A pays twice (ch_1, ch_3); by the end of March five payers: A, B, J, D and the guest.
    assert_close(
        bench.value("revenue.repeat_purchase_rate", "month", JAN),
        0.0,
    );
    assert_close(
        bench.value("revenue.repeat_purchase_rate", "month", FEB),
        0.25,
    );
    assert_close(
        bench.value("revenue.repeat_purchase_rate", "month", MAR),
        0.2,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kpi_rows_store_numerator_denominator_and_sources() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;

    let (numerator, denominator, sources): (f64, f64, String) = bench
        .db()
        .query_row(
            "SELECT numerator, denominator, sources FROM kpis
              WHERE kpi = 'engagement.churn_rate' AND grain = 'month'
                AND period_start = '2026-02-01' AND dimension = ''",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_close(numerator, 1.0);
    assert_close(denominator, 2.0);
    assert!(sources.contains("stripe_subscriptions"), "{sources}");
}
