//! Revenue, orders, repeat purchases, LTV of shops, and manual marketing spend.

use super::{Fixture, ratio};
use crate::kpi::BusinessModel;

const BT: &str = "stripe_balance_transactions";

#[test]
fn revenue_is_bucketed_in_the_business_time_zone() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.movement("txn_1", "2026-01-15T10:00:00Z", "charge", 500, 30, "eur");
    // 23:30 UTC on 31 January is 00:30 on 1 February in Paris.
    fixture.movement("txn_2", "2026-01-31T23:30:00Z", "payment", 1000, 59, "eur");
    fixture.movement("txn_3", "2026-02-03T10:00:00Z", "payout", -1200, 0, "eur");
    fixture.movement("txn_4", "2026-02-04T10:00:00Z", "adjustment", 0, 5, "eur");
    fixture.recompute("2026-02-10T12:00:00Z");

    let january = fixture.row("revenue.gross", "month", "2026-01-01");
    assert_eq!(january.value, Some(5.0));
    assert_eq!((january.numerator, january.denominator), (None, None));
    assert_eq!(
        (january.unit.as_str(), january.sources.as_str()),
        ("EUR", BT)
    );
    assert_eq!(
        fixture.value("revenue.gross", "month", "2026-02-01"),
        Some(10.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "day", "2026-01-31"),
        Some(0.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "day", "2026-02-01"),
        Some(10.0)
    );
    // 1 February 2026 is a Sunday, in the week of Monday 26 January.
    assert_eq!(
        fixture.value("revenue.gross", "week", "2026-01-26"),
        Some(10.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "week", "2026-01-12"),
        Some(5.0)
    );

    // Fees of every type, summed in cents then divided once.
    assert_eq!(
        fixture.value("revenue.fees", "month", "2026-01-01"),
        Some(0.3)
    );
    assert_eq!(
        fixture.value("revenue.fees", "month", "2026-02-01"),
        Some(0.64)
    );
    assert_eq!(
        fixture.value("revenue.net", "month", "2026-02-01"),
        Some(10.0)
    );
}

#[test]
fn weeks_follow_dst_and_can_span_two_months() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    // Paris is on summer time from 01:00 UTC on 29 March 2026: Monday 30 March begins at
    // 22:00 UTC on the 29th, an hour before a 168-hour week would end.
    fixture.movement("txn_1", "2026-03-29T21:30:00Z", "charge", 100, 0, "eur");
    fixture.movement("txn_2", "2026-03-29T22:30:00Z", "charge", 200, 0, "eur");
    // ISO week 53 of 2026 runs from 28 December to 3 January.
    fixture.movement("txn_3", "2026-12-30T10:00:00Z", "charge", 400, 0, "eur");
    fixture.movement("txn_4", "2027-01-02T10:00:00Z", "charge", 800, 0, "eur");
    fixture.recompute("2027-01-05T12:00:00Z");

    assert_eq!(
        fixture.value("revenue.gross", "week", "2026-03-23"),
        Some(1.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "week", "2026-03-30"),
        Some(2.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "week", "2026-12-28"),
        Some(12.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "month", "2026-12-01"),
        Some(4.0)
    );
    assert_eq!(
        fixture.value("revenue.gross", "month", "2027-01-01"),
        Some(8.0)
    );
}

#[test]
fn other_currencies_get_their_own_rows_in_their_own_minor_units() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.movement("txn_eur", "2026-03-02T10:00:00Z", "charge", 2000, 0, "eur");
    // JPY has no minor unit; KWD has three decimals.
    fixture.movement("txn_jpy", "2026-03-03T10:00:00Z", "charge", 1000, 0, "jpy");
    fixture.movement("txn_kwd", "2026-03-04T10:00:00Z", "charge", 1234, 0, "kwd");
    fixture.recompute("2026-03-05T12:00:00Z");

    assert_eq!(
        fixture.value("revenue.gross", "month", "2026-03-01"),
        Some(20.0)
    );
    let yen = fixture
        .find("revenue.gross", "month", "2026-03-01", "currency=JPY")
        .unwrap();
    assert_eq!((yen.value, yen.unit.as_str()), (Some(1000.0), "JPY"));
    let dinar = fixture
        .find("revenue.gross", "month", "2026-03-01", "currency=KWD")
        .unwrap();
    assert_eq!((dinar.value, dinar.unit.as_str()), (Some(1.234), "KWD"));

    // The business currency has a row every day; another only on days it has data.
    assert_eq!(
        fixture.value("revenue.gross", "day", "2026-03-03"),
        Some(0.0)
    );
    assert!(
        fixture
            .find("revenue.gross", "day", "2026-03-03", "currency=JPY")
            .is_some()
    );
    assert!(
        fixture
            .find("revenue.gross", "day", "2026-03-02", "currency=JPY")
            .is_none()
    );
    assert!(
        fixture
            .find("revenue.gross", "month", "2026-03-01", "currency=EUR")
            .is_none()
    );
}

#[test]
fn a_refund_counts_on_its_own_date_not_the_charges() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.settled_order("ch_1", "2026-01-10T09:00:00Z", "cus_1", 10000);
    fixture.movement("txn_r", "2026-03-05T09:00:00Z", "refund", -2500, 0, "eur");
    fixture.recompute("2026-03-20T12:00:00Z");

    let months = ["2026-01-01", "2026-02-01", "2026-03-01"];
    let value = |kpi: &str, month: &str| fixture.value(kpi, "month", month);
    let gross: Vec<_> = months
        .iter()
        .map(|month| value("revenue.gross", month))
        .collect();
    let refunds: Vec<_> = months
        .iter()
        .map(|month| value("revenue.refunds", month))
        .collect();
    let net: Vec<_> = months
        .iter()
        .map(|month| value("revenue.net", month))
        .collect();
    assert_eq!(gross, [Some(100.0), Some(0.0), Some(0.0)]);
    assert_eq!(refunds, [Some(0.0), Some(0.0), Some(25.0)]);
    assert_eq!(net, [Some(100.0), Some(0.0), Some(-25.0)]);
    let net = fixture.row("revenue.net", "month", "2026-03-01");
    assert_eq!((net.numerator, net.denominator), (None, None));

    // The order stays an order in January.
    assert_eq!(value("conversion.orders", "2026-01-01"), Some(1.0));
    assert_eq!(value("conversion.orders", "2026-03-01"), Some(0.0));

    let basket = fixture.row("revenue.average_basket", "month", "2026-01-01");
    assert_eq!(basket.parts(), ratio(Some(100.0), 100.0, 1.0));
    assert_eq!(basket.sources, "stripe_balance_transactions,stripe_charges");
    let empty = fixture.row("revenue.average_basket", "month", "2026-02-01");
    assert_eq!(empty.parts(), ratio(None, 0.0, 0.0));
}

#[test]
fn orders_are_succeeded_captured_non_zero_charges() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.charge(
        "ch_ok",
        "2026-04-10T10:00:00Z",
        "succeeded",
        true,
        1000,
        None,
        None,
        None,
    );
    fixture.charge(
        "ch_failed",
        "2026-04-10T11:00:00Z",
        "failed",
        false,
        0,
        None,
        None,
        None,
    );
    fixture.charge(
        "ch_pending",
        "2026-04-10T12:00:00Z",
        "pending",
        true,
        1000,
        None,
        None,
        None,
    );
    fixture.charge(
        "ch_auth",
        "2026-04-11T10:00:00Z",
        "succeeded",
        false,
        0,
        None,
        None,
        None,
    );
    fixture.charge(
        "ch_zero",
        "2026-04-12T10:00:00Z",
        "succeeded",
        true,
        0,
        None,
        None,
        None,
    );
    fixture.charge(
        "ch_refunded",
        "2026-04-13T10:00:00Z",
        "succeeded",
        true,
        500,
        None,
        None,
        None,
    );
    fixture.exec(
        "UPDATE stripe_charges SET refunded = 1, amount_refunded = 500 WHERE id = 'ch_refunded'",
        &[],
    );
    // 22:30 UTC on 30 April is 00:30 on 1 May in Paris (summer time).
    fixture.charge(
        "ch_may",
        "2026-04-30T22:30:00Z",
        "succeeded",
        true,
        700,
        None,
        None,
        None,
    );
    fixture.recompute("2026-05-02T12:00:00Z");

    let april = fixture.row("conversion.orders", "month", "2026-04-01");
    assert_eq!((april.value, april.unit.as_str()), (Some(2.0), "count"));
    assert_eq!(april.sources, "stripe_charges");
    assert_eq!(
        fixture.value("conversion.orders", "month", "2026-05-01"),
        Some(1.0)
    );
    assert_eq!(
        fixture.value("conversion.orders", "day", "2026-04-10"),
        Some(1.0)
    );
}

#[test]
fn repeat_purchase_rate_keys_guests_by_email() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.order(
        "ch_1",
        "2026-01-05T10:00:00Z",
        Some("cus_1"),
        Some("one@example.com"),
    );
    fixture.order(
        "ch_2",
        "2026-01-07T10:00:00Z",
        None,
        Some("Guest@Example.com"),
    );
    fixture.order("ch_3", "2026-01-20T10:00:00Z", Some("cus_2"), None);
    fixture.order("ch_4", "2026-01-25T10:00:00Z", None, None);
    fixture.order("ch_5", "2026-02-10T10:00:00Z", Some("cus_1"), None);
    fixture.order(
        "ch_6",
        "2026-03-01T10:00:00Z",
        None,
        Some(" guest@example.com"),
    );
    // Failed attempts are not purchases.
    fixture.charge(
        "ch_7",
        "2026-01-21T10:00:00Z",
        "failed",
        false,
        0,
        Some("cus_2"),
        None,
        None,
    );
    fixture.recompute("2026-03-15T12:00:00Z");

    let rate = |month: &str| {
        fixture
            .row("revenue.repeat_purchase_rate", "month", month)
            .parts()
    };
    assert_eq!(rate("2026-01-01"), ratio(Some(0.0), 0.0, 3.0));
    assert_eq!(rate("2026-02-01"), ratio(Some(1.0 / 3.0), 1.0, 3.0));
    assert_eq!(rate("2026-03-01"), ratio(Some(2.0 / 3.0), 2.0, 3.0));
    assert_eq!(
        fixture.value("conversion.orders", "month", "2026-01-01"),
        Some(4.0)
    );
    let day = fixture.row("revenue.repeat_purchase_rate", "day", "2026-01-05");
    assert_eq!(
        (day.parts(), day.unit.as_str()),
        (ratio(Some(0.0), 0.0, 1.0), "ratio")
    );
}

#[test]
fn shop_ltv_is_lifetime_net_revenue_per_paying_customer() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.settled_order("ch_1", "2026-01-10T09:00:00Z", "cus_1", 10000);
    fixture.settled_order("ch_2", "2026-02-05T09:00:00Z", "cus_2", 5000);
    fixture.settled_order("ch_3", "2026-02-07T09:00:00Z", "cus_1", 3000);
    fixture.movement("txn_r", "2026-02-06T09:00:00Z", "refund", -2000, 0, "eur");
    fixture.recompute("2026-02-20T12:00:00Z");

    let january = fixture.row("revenue.ltv", "month", "2026-01-01");
    assert_eq!(january.parts(), ratio(Some(100.0), 100.0, 1.0));
    assert_eq!(
        january.sources,
        "stripe_balance_transactions,stripe_charges"
    );
    // (100 + 50 + 30 - 20) / 2 customers.
    let february = fixture.row("revenue.ltv", "month", "2026-02-01");
    assert_eq!(february.parts(), ratio(Some(80.0), 160.0, 2.0));
    assert_eq!(february.unit, "EUR");
    // Every grain, lifetime to the period's end: after the refund, before ch_3.
    let day = fixture.row("revenue.ltv", "day", "2026-02-06");
    assert_eq!(day.parts(), ratio(Some(65.0), 130.0, 2.0));
    assert!(
        fixture
            .find("revenue.ltv", "week", "2026-02-02", "")
            .is_some()
    );
}

#[test]
fn marketing_spend_feeds_only_its_own_grain_and_period() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.order("ch_1", "2026-02-03T10:00:00Z", None, None);
    fixture.order("ch_2", "2026-02-10T10:00:00Z", None, None);
    fixture.order("ch_3", "2026-02-17T10:00:00Z", None, None);
    fixture.spend("month", "2026-02-01", 300.0, "EUR");
    fixture.spend("week", "2026-02-02", 70.0, "eur");
    fixture.spend("week", "2026-02-23", 40.0, "");
    // Before the first Stripe data: the spend is known, the orders are not.
    fixture.spend("month", "2026-01-01", 50.0, "EUR");
    // A breakdown is not the total; another currency stays apart.
    fixture.exec(
        "INSERT INTO metrics (source, metric, grain, period_start, dimension, value, unit,
                              synced_at)
         VALUES ('manual', 'marketing_spend', 'month', '2026-02-01', 'channel=ads', 90, 'EUR',
                 '2026-01-01T00:00:00Z')",
        &[],
    );
    fixture.spend("week", "2026-02-09", 20.0, "GBP");
    fixture.recompute("2026-02-25T12:00:00Z");

    let spend = fixture.row("revenue.marketing_spend", "month", "2026-02-01");
    assert_eq!((spend.value, spend.unit.as_str()), (Some(300.0), "EUR"));
    assert_eq!((spend.numerator, spend.sources.as_str()), (None, "metrics"));
    let cost = fixture.row("revenue.cost_per_sale", "month", "2026-02-01");
    assert_eq!(cost.parts(), ratio(Some(100.0), 300.0, 3.0));
    assert_eq!(
        (cost.unit.as_str(), cost.sources.as_str()),
        ("EUR", "metrics,stripe_charges")
    );
    assert_eq!(
        fixture
            .row("revenue.cost_per_sale", "week", "2026-02-02")
            .value,
        Some(70.0)
    );
    // No order that week: no cost per sale.
    let idle = fixture.row("revenue.cost_per_sale", "week", "2026-02-23");
    assert_eq!(idle.parts(), ratio(None, 40.0, 0.0));
    let before = fixture.row("revenue.cost_per_sale", "month", "2026-01-01");
    assert_eq!(before.parts(), (None, Some(50.0), None));
    assert!(
        fixture
            .find("revenue.gross", "month", "2026-01-01", "")
            .is_none()
    );

    // Days have no spend entry, so no rows; the month's entry is not spread over them.
    assert_eq!(fixture.count("revenue.marketing_spend", "day"), 0);
    assert_eq!(fixture.count("revenue.cost_per_sale", "day"), 0);
    assert_eq!(fixture.count("revenue.marketing_spend", "week"), 3);
    assert_eq!(fixture.count("revenue.marketing_spend", "month"), 2);
    let pounds = fixture.find(
        "revenue.cost_per_sale",
        "week",
        "2026-02-09",
        "currency=GBP",
    );
    let pounds = pounds.unwrap();
    assert_eq!(
        (pounds.parts(), pounds.unit.as_str()),
        (ratio(Some(20.0), 20.0, 1.0), "GBP")
    );
    assert!(
        fixture
            .find("revenue.marketing_spend", "week", "2026-02-09", "")
            .is_none()
    );
}
