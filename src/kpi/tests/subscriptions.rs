//! Subscriptions: active, new, churn, retention, growth, free sign-ups, MRR, ARPU and the
//! subscription LTV.

use super::{Fixture, Sub, ratio};
use crate::kpi::BusinessModel;

/// Two paid subscriptions in January; in February one is cancelled mid-month and a trial
/// converts mid-month; plus a free plan, an abandoned first payment and a trial cancelled
/// before it converted.
fn saas() -> Fixture {
    let fixture = Fixture::new(BusinessModel::Saas);
    let eur = |id, created, monthly| Sub {
        id,
        created,
        status: "active",
        currency: "eur",
        monthly,
        ..Sub::default()
    };
    fixture.subscription(eur("sub_a", "2026-01-10T10:00:00Z", 2900));
    fixture.subscription(Sub {
        status: "canceled",
        canceled_at: Some("2026-02-10T10:00:00Z"),
        ended_at: Some("2026-02-14T10:00:00Z"),
        ..eur("sub_b", "2026-01-05T10:00:00Z", 1900)
    });
    fixture.subscription(Sub {
        trial_start: Some("2026-02-01T10:00:00Z"),
        trial_end: Some("2026-02-15T10:00:00Z"),
        ..eur("sub_c", "2026-02-01T10:00:00Z", 4900)
    });
    fixture.subscription(Sub {
        is_free: true,
        ..eur("sub_d", "2026-02-03T10:00:00Z", 0)
    });
    fixture.subscription(Sub {
        status: "incomplete",
        ..eur("sub_e", "2026-02-04T10:00:00Z", 990)
    });
    fixture.subscription(Sub {
        status: "canceled",
        trial_start: Some("2026-02-05T10:00:00Z"),
        trial_end: Some("2026-02-19T10:00:00Z"),
        canceled_at: Some("2026-02-10T10:00:00Z"),
        ended_at: Some("2026-02-10T10:00:00Z"),
        ..eur("sub_f", "2026-02-05T10:00:00Z", 2900)
    });
    fixture
}

#[test]
fn a_subscription_cancelled_mid_month_is_half_the_churn() {
    let mut fixture = saas();
    fixture.recompute("2026-03-10T12:00:00Z");
    let month = |kpi: &str, start: &str| fixture.row(kpi, "month", start);

    let churn = month("engagement.churn_rate", "2026-02-01");
    assert_eq!(churn.parts(), ratio(Some(0.5), 1.0, 2.0));
    assert_eq!(
        (churn.unit.as_str(), churn.sources.as_str()),
        ("ratio", "stripe_subscriptions")
    );
    assert_eq!(
        month("engagement.retention_rate", "2026-02-01").parts(),
        ratio(Some(0.5), 1.0, 2.0)
    );
    // b left, c converted: two at the start, two at the end.
    assert_eq!(
        month("engagement.subscriber_growth", "2026-02-01").parts(),
        ratio(Some(1.0), 2.0, 2.0)
    );
    assert_eq!(
        month("engagement.active_subscriptions", "2026-02-01").value,
        Some(2.0)
    );

    // Nobody was active on 1 January: no churn rate, not zero.
    assert_eq!(
        month("engagement.churn_rate", "2026-01-01").parts(),
        ratio(None, 0.0, 0.0)
    );
    assert_eq!(
        month("engagement.retention_rate", "2026-01-01").parts(),
        ratio(None, 0.0, 0.0)
    );
    assert_eq!(
        month("engagement.subscriber_growth", "2026-01-01").parts(),
        ratio(None, 2.0, 0.0)
    );
    assert_eq!(
        month("engagement.active_subscriptions", "2026-01-01").value,
        Some(2.0)
    );

    // March, still running, measured now: nobody left.
    assert_eq!(
        month("engagement.churn_rate", "2026-03-01").parts(),
        ratio(Some(0.0), 0.0, 2.0)
    );
    assert_eq!(
        month("engagement.retention_rate", "2026-03-01").parts(),
        ratio(Some(1.0), 2.0, 2.0)
    );

    // On 14 February b was active at the start of the day and ended during it.
    let day = fixture.row("engagement.churn_rate", "day", "2026-02-14");
    assert_eq!(day.parts(), ratio(Some(0.5), 1.0, 2.0));
    assert_eq!(
        fixture
            .row("engagement.churn_rate", "day", "2026-02-15")
            .parts(),
        ratio(Some(0.0), 0.0, 1.0)
    );
}

#[test]
fn a_trial_counts_as_new_and_active_when_it_converts() {
    let mut fixture = saas();
    fixture.recompute("2026-03-10T12:00:00Z");

    let new =
        |grain: &str, start: &str| fixture.value("conversion.new_subscriptions", grain, start);
    assert_eq!(new("month", "2026-01-01"), Some(2.0));
    assert_eq!(new("month", "2026-02-01"), Some(1.0));
    assert_eq!(new("day", "2026-02-01"), Some(0.0));
    assert_eq!(new("day", "2026-02-15"), Some(1.0));
    assert_eq!(
        new("day", "2026-02-19"),
        Some(0.0),
        "a trial cancelled before its end"
    );

    let active = |start: &str| fixture.value("engagement.active_subscriptions", "day", start);
    assert_eq!(active("2026-02-14"), Some(1.0), "b ended, c still in trial");
    assert_eq!(active("2026-02-15"), Some(2.0));

    // Trials and free plans are free sign-ups when created, whatever becomes of them.
    let free = fixture.row("acquisition.free_signups", "month", "2026-02-01");
    assert_eq!((free.value, free.unit.as_str()), (Some(3.0), "count"));
    assert_eq!(
        fixture.value("acquisition.free_signups", "month", "2026-01-01"),
        Some(0.0)
    );
}

#[test]
fn a_trial_that_has_not_converted_yet_is_neither_new_nor_active() {
    let mut fixture = Fixture::new(BusinessModel::Saas);
    let sub = |id, created| Sub {
        id,
        created,
        status: "active",
        currency: "eur",
        monthly: 2900,
        ..Sub::default()
    };
    fixture.subscription(sub("sub_paying", "2026-01-10T10:00:00Z"));
    fixture.subscription(Sub {
        status: "trialing",
        trial_start: Some("2026-02-01T10:00:00Z"),
        trial_end: Some("2026-02-15T10:00:00Z"),
        ..sub("sub_trial", "2026-02-01T10:00:00Z")
    });
    // The current month is measured now, not at its end on 1 March.
    fixture.recompute("2026-02-12T12:00:00Z");
    assert_eq!(
        fixture.value("conversion.new_subscriptions", "month", "2026-02-01"),
        Some(0.0)
    );
    assert_eq!(
        fixture.value("engagement.active_subscriptions", "month", "2026-02-01"),
        Some(1.0)
    );
    assert_eq!(
        fixture.value("revenue.mrr", "month", "2026-02-01"),
        Some(29.0)
    );
    assert_eq!(
        fixture.value("acquisition.free_signups", "month", "2026-02-01"),
        Some(1.0)
    );
    assert!(
        fixture
            .find("conversion.new_subscriptions", "day", "2026-02-15", "")
            .is_none()
    );
}

#[test]
fn a_subscription_that_starts_and_ends_within_a_period_is_not_churn() {
    let mut fixture = Fixture::new(BusinessModel::Saas);
    let sub = |id, created| Sub {
        id,
        created,
        status: "active",
        currency: "eur",
        monthly: 1000,
        ..Sub::default()
    };
    fixture.subscription(sub("sub_stays", "2026-01-10T10:00:00Z"));
    fixture.subscription(Sub {
        status: "canceled",
        canceled_at: Some("2026-02-20T10:00:00Z"),
        ended_at: Some("2026-02-20T10:00:00Z"),
        ..sub("sub_brief", "2026-02-02T10:00:00Z")
    });
    fixture.recompute("2026-03-10T12:00:00Z");
    let churn = fixture.row("engagement.churn_rate", "month", "2026-02-01");
    assert_eq!(churn.parts(), ratio(Some(0.0), 0.0, 1.0));
    let new = fixture.value("conversion.new_subscriptions", "month", "2026-02-01");
    assert_eq!(new, Some(1.0));
    let growth = fixture.row("engagement.subscriber_growth", "month", "2026-02-01");
    assert_eq!(growth.parts(), ratio(Some(1.0), 1.0, 1.0));
}

#[test]
fn mrr_and_arpu_sum_the_active_subscriptions_monthly_amounts() {
    let mut fixture = saas();
    fixture.recompute("2026-03-10T12:00:00Z");
    let month = |kpi: &str, start: &str| fixture.row(kpi, "month", start);

    let january = month("revenue.mrr", "2026-01-01");
    assert_eq!((january.value, january.unit.as_str()), (Some(48.0), "EUR"));
    assert_eq!(month("revenue.mrr", "2026-02-01").value, Some(78.0));
    assert_eq!(
        month("revenue.arpu", "2026-01-01").parts(),
        ratio(Some(24.0), 48.0, 2.0)
    );
    assert_eq!(
        month("revenue.arpu", "2026-02-01").parts(),
        ratio(Some(39.0), 78.0, 2.0)
    );
    assert_eq!(
        fixture.value("revenue.mrr", "day", "2026-02-14"),
        Some(29.0)
    );
}

#[test]
fn subscription_ltv_is_arpu_over_churn_for_months_only() {
    let mut fixture = saas();
    fixture.recompute("2026-03-10T12:00:00Z");

    let february = fixture.row("revenue.ltv", "month", "2026-02-01");
    assert_eq!(february.parts(), ratio(Some(78.0), 39.0, 0.5));
    assert_eq!(
        (february.unit.as_str(), february.sources.as_str()),
        ("EUR", "stripe_subscriptions")
    );
    // No churn in March, no churn rate in January: no LTV.
    assert_eq!(fixture.value("revenue.ltv", "month", "2026-03-01"), None);
    assert_eq!(fixture.value("revenue.ltv", "month", "2026-01-01"), None);
    assert_eq!(fixture.count("revenue.ltv", "day"), 0);
    assert_eq!(fixture.count("revenue.ltv", "week"), 0);
}

#[test]
fn saas_cost_per_sale_divides_by_new_subscriptions() {
    let mut fixture = saas();
    fixture.spend("month", "2026-02-01", 100.0, "EUR");
    fixture.spend("month", "2026-03-01", 100.0, "EUR");
    fixture.recompute("2026-03-10T12:00:00Z");

    let february = fixture.row("revenue.cost_per_sale", "month", "2026-02-01");
    assert_eq!(february.parts(), ratio(Some(100.0), 100.0, 1.0));
    assert_eq!(february.sources, "metrics,stripe_subscriptions");
    let march = fixture.row("revenue.cost_per_sale", "month", "2026-03-01");
    assert_eq!(march.parts(), ratio(None, 100.0, 0.0));
}

#[test]
fn subscriptions_in_another_currency_get_their_own_mrr_and_arpu() {
    let mut fixture = Fixture::new(BusinessModel::Saas);
    let active = |id, created, currency, monthly| Sub {
        id,
        created,
        status: "active",
        currency,
        monthly,
        ..Sub::default()
    };
    fixture.subscription(active("sub_eur", "2026-02-01T10:00:00Z", "eur", 1000));
    fixture.subscription(active("sub_jpy", "2026-02-20T10:00:00Z", "jpy", 3000));
    fixture.subscription(Sub {
        is_free: true,
        ..active("sub_free", "2026-01-30T10:00:00Z", "eur", 0)
    });
    fixture.recompute("2026-03-01T12:00:00Z");

    assert_eq!(
        fixture.value("revenue.mrr", "month", "2026-02-01"),
        Some(10.0)
    );
    let yen = fixture
        .find("revenue.mrr", "month", "2026-02-01", "currency=JPY")
        .unwrap();
    assert_eq!((yen.value, yen.unit.as_str()), (Some(3000.0), "JPY"));
    let arpu = fixture
        .find("revenue.arpu", "month", "2026-02-01", "currency=JPY")
        .unwrap();
    assert_eq!(arpu.parts(), ratio(Some(3000.0), 3000.0, 1.0));
    assert_eq!(
        fixture.row("revenue.arpu", "month", "2026-02-01").parts(),
        ratio(Some(10.0), 10.0, 1.0)
    );
    assert_eq!(
        fixture.value("engagement.active_subscriptions", "month", "2026-02-01"),
        Some(2.0)
    );
    assert!(
        fixture
            .find("revenue.mrr", "day", "2026-02-10", "currency=JPY")
            .is_none()
    );
    // Without subscriptions yet, ARPU has no value.
    assert_eq!(
        fixture.row("revenue.arpu", "day", "2026-01-30").parts(),
        ratio(None, 0.0, 0.0)
    );
}

#[test]
fn free_signups_come_from_ga4_when_stripe_has_no_free_plan_or_trial() {
    let mut fixture = Fixture::new(BusinessModel::Saas);
    fixture.subscription(Sub {
        id: "sub_paying",
        created: "2026-02-03T10:00:00Z",
        status: "active",
        currency: "eur",
        monthly: 2900,
        ..Sub::default()
    });
    fixture.exec(
        "INSERT INTO metrics (source, metric, grain, period_start, dimension, value, unit,
                              flags, synced_at)
         VALUES ('ga4', 'sign_ups', 'month', '2026-02-01', '', 41, 'count', '',
                 '2026-03-01T06:00:00Z')",
        &[],
    );
    fixture.recompute("2026-03-02T12:00:00Z");
    let free = fixture.row("acquisition.free_signups", "month", "2026-02-01");
    assert_eq!((free.value, free.sources.as_str()), (Some(41.0), "metrics"));

    // Once Stripe holds a trial, Stripe's count is the one: the free plan lives there.
    fixture.subscription(Sub {
        id: "sub_trial",
        created: "2026-02-10T10:00:00Z",
        status: "trialing",
        trial_start: Some("2026-02-10T10:00:00Z"),
        trial_end: Some("2026-02-24T10:00:00Z"),
        currency: "eur",
        monthly: 2900,
        ..Sub::default()
    });
    fixture.recompute("2026-03-02T12:00:00Z");
    let free = fixture.row("acquisition.free_signups", "month", "2026-02-01");
    assert_eq!(
        (free.value, free.sources.as_str()),
        (Some(1.0), "stripe_subscriptions")
    );
}
