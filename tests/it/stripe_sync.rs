//! Incremental Stripe syncs: cursors, the lookback window, the events feed and its retention.
//! Each test is one case seen in the field, with the value that must come out.

use std::time::Duration;

use connectors::stripe::fake::{self, Dataset, Fault, FaultRule, Resource};
use serde_json::json;

use crate::helpers::{Bench, assert_close, now};

/// Waits until the wall clock has moved past the second of the last sync, so that events made
/// afterwards are strictly newer than what that sync stored.
async fn next_second() -> jiff::Timestamp {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    now()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_with_nothing_new_rewrites_nothing() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;
    let before = bench.count("SELECT count(*) FROM stripe_charges");
    let synced_at = bench.text("SELECT max(synced_at) FROM stripe_charges");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    bench.sync_ok(&[]).await;

    assert_eq!(bench.count("SELECT count(*) FROM stripe_charges"), before);
    assert_eq!(
        bench.text("SELECT max(synced_at) FROM stripe_charges"),
        synced_at
    );
    let rows_of_second_run = bench.count(
        "SELECT sum(rows) FROM sync_runs WHERE run_id = (SELECT max(run_id) FROM sync_runs)",
    );
    assert_eq!(
        rows_of_second_run, 0,
        "nothing changed upstream, nothing written"
    );
    assert_close(bench.value("revenue.gross", "month", "2026-01-01"), 80.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_that_stores_nothing_new_leaves_the_kpis_alone_until_settings_change() {
    // The KPIs of one day stay as they are; a test running across midnight in Paris cannot
    // tell a recompute for the new day from a wrong one.
    let paris_day = || {
        now()
            .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
            .date()
    };
    let day = paris_day();
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;
    let january = "kpi = 'revenue.gross' AND grain = 'month' AND period_start = '2026-01-01'";
    let tamper = || {
        bench
            .db()
            .execute(
                &format!("UPDATE kpis SET value = 12345 WHERE {january}"),
                [],
            )
            .unwrap();
    };
    let stored = || bench.value("revenue.gross", "month", "2026-01-01");

    // A changed row would be rewritten by a recompute; nothing new means no recompute.
    tamper();
    bench.sync_ok(&[]).await;
    if paris_day() == day {
        assert_close(stored(), 12345.0);
    }

    // Other business settings make other KPIs: the next sync recomputes them.
    let config = std::fs::read_to_string(&bench.config).unwrap();
    std::fs::write(
        &bench.config,
        config.replace("model = \"saas\"", "model = \"ecommerce\""),
    )
    .unwrap();
    bench.sync_ok(&[]).await;
    assert_close(stored(), 80.0);

    // And a full refresh always recomputes.
    tamper();
    bench.sync_ok(&["--full-refresh"]).await;
    assert_close(stored(), 80.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_charge_that_succeeds_later_is_one_succeeded_order() {
    // No lookback: only the events feed can bring the change.
    let bench = Bench::start_with(Dataset::e2e(), "lookback_days = 0").await;
    bench.sync_ok(&[]).await;
    assert_close(bench.value("conversion.orders", "month", "2026-03-01"), 1.0);

    let at = next_second().await;
    bench.stripe.with_dataset(|data| {
        data.update(
            Resource::Charges,
            "ch_8",
            "charge.succeeded",
            at,
            |charge| {
                charge["status"] = json!("succeeded");
                charge["paid"] = json!(true);
                charge["amount_captured"] = json!(6000);
            },
        )
    });
    bench.sync_ok(&[]).await;

    assert_eq!(
        bench.count("SELECT count(*) FROM stripe_charges WHERE id = 'ch_8'"),
        1
    );
    let status = bench.text("SELECT status FROM stripe_charges WHERE id = 'ch_8'");
    assert_eq!(status.as_deref(), Some("succeeded"));
    // Counted on its creation date (10 March), not on the day it succeeded.
    assert_close(bench.value("conversion.orders", "month", "2026-03-01"), 2.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancellation_months_later_arrives_through_events() {
    let bench = Bench::start_with(Dataset::e2e(), "lookback_days = 0").await;
    bench.sync_ok(&[]).await;

    // sub_1 (January) is cancelled now; two events, the newer listed first by Stripe.
    let updated_at = next_second().await;
    bench.stripe.with_dataset(|data| {
        data.update(
            Resource::Subscriptions,
            "sub_1",
            "customer.subscription.updated",
            updated_at,
            |sub| {
                sub["cancel_at_period_end"] = json!(true);
            },
        );
    });
    let deleted_at = next_second().await;
    bench.stripe.with_dataset(|data| {
        data.update(
            Resource::Subscriptions,
            "sub_1",
            "customer.subscription.deleted",
            deleted_at,
            |sub| fake::cancel_subscription(sub, deleted_at),
        );
    });
    bench.sync_ok(&[]).await;

    // The newest state wins although the older event came later on the page.
    let status = bench.text("SELECT status FROM stripe_subscriptions WHERE id = 'sub_1'");
    assert_eq!(status.as_deref(), Some("canceled"));
    assert_eq!(bench.count("SELECT count(*) FROM stripe_subscriptions"), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_invoice_paid_later_ends_up_paid() {
    let bench = Bench::start_with(Dataset::e2e(), "lookback_days = 0").await;
    bench.sync_ok(&[]).await;
    let status = bench.text("SELECT status FROM stripe_invoices WHERE id = 'inv_3'");
    assert_eq!(status.as_deref(), Some("draft"));

    let at = next_second().await;
    bench.stripe.with_dataset(|data| {
        data.update(Resource::Invoices, "inv_3", "invoice.paid", at, |invoice| {
            invoice["status"] = json!("paid");
            invoice["amount_paid"] = json!(5000);
            invoice["amount_remaining"] = json!(0);
        })
    });
    bench.sync_ok(&[]).await;
    let status = bench.text("SELECT status FROM stripe_invoices WHERE id = 'inv_3'");
    assert_eq!(status.as_deref(), Some("paid"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_in_march_on_a_january_charge_leaves_january_alone() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;
    assert_close(bench.value("revenue.gross", "month", "2026-01-01"), 80.0);
    assert_close(bench.value("revenue.refunds", "month", "2026-03-01"), 10.0);

    // Reading January again (a full refresh) changes nothing.
    bench.sync_ok(&["--full-refresh"]).await;
    assert_close(bench.value("revenue.gross", "month", "2026-01-01"), 80.0);
    assert_close(bench.value("revenue.refunds", "month", "2026-01-01"), 0.0);
    assert_close(bench.value("revenue.refunds", "month", "2026-03-01"), 10.0);
    assert_eq!(bench.count("SELECT count(*) FROM stripe_refunds"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_object_created_in_the_cursor_second_is_neither_lost_nor_duplicated() {
    let bench = Bench::start_with(Dataset::e2e(), "lookback_days = 0").await;
    bench.sync_ok(&[]).await;

    // ch_8 is the newest charge: the cursor is its second. Another charge in that same second.
    let second: jiff::Timestamp = "2026-03-10T08:00:00Z".parse().unwrap();
    bench.stripe.with_dataset(|data| {
        data.insert(
            Resource::Charges,
            fake::charge(
                "ch_same_second",
                Some("cus_C"),
                second,
                700,
                "eur",
                "failed",
            ),
        )
    });
    bench.sync_ok(&[]).await;

    assert_eq!(
        bench.count("SELECT count(*) FROM stripe_charges WHERE id = 'ch_same_second'"),
        1
    );
    assert_eq!(
        bench.count("SELECT count(*) FROM stripe_charges WHERE id = 'ch_8'"),
        1
    );
    assert_eq!(bench.count("SELECT count(*) FROM stripe_charges"), 9);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_fails_mid_walk_resumes_without_gap_or_duplicate() {
    let bench = Bench::start(Dataset::generated_charges(250, 3)).await;
    // The second page of charges is malformed: the first page is stored, the walk stops.
    bench
        .stripe
        .inject(FaultRule::new("/v1/charges", 1, Fault::MalformedObject).after(1));
    let output = bench.kpisync(&["sync"]).await;
    assert_eq!(output.status.code(), Some(1));

    assert_eq!(bench.count("SELECT count(*) FROM stripe_charges"), 100);
    let cursor = bench
        .text("SELECT cursor FROM sync_state WHERE connector = 'stripe' AND stream = 'charges'")
        .expect("the walk's position is saved");
    let cursor: serde_json::Value = serde_json::from_str(&cursor).unwrap();
    assert!(
        cursor["watermark"].is_null(),
        "the watermark must not move: {cursor}"
    );
    let hundredth: String = bench
        .db()
        .query_row(
            "SELECT id FROM stripe_charges ORDER BY created, id LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(
        cursor["walk"]["after"],
        json!(hundredth),
        "resume after the last stored id"
    );

    bench.stripe.clear_requests();
    bench.sync_ok(&[]).await;
    assert_eq!(bench.count("SELECT count(*) FROM stripe_charges"), 250);
    assert_eq!(
        bench.count("SELECT count(DISTINCT id) FROM stripe_charges"),
        250
    );
    let first_charges_request = bench
        .stripe
        .requests()
        .into_iter()
        .find(|request| request.path == "/v1/charges")
        .unwrap();
    assert_eq!(
        first_charges_request.param("starting_after"),
        Some(hundredth)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gap_longer_than_event_retention_rereads_mutable_streams_in_full() {
    let bench = Bench::start_with(Dataset::e2e(), "lookback_days = 0").await;
    bench.sync_ok(&[]).await;

    // The daemon was stopped for 35 days: the last events read are that old.
    let stale = now().as_second() - 35 * 86_400;
    bench
        .db()
        .execute(
            "UPDATE sync_state SET cursor = json_object('watermark', ?1, 'walk', NULL)
              WHERE connector = 'stripe' AND stream = 'events'",
            [stale],
        )
        .unwrap();
    bench.stripe.clear_requests();
    bench.sync_ok(&[]).await;

    let requests = bench.stripe.requests();
    let charges = requests
        .iter()
        .find(|request| request.path == "/v1/charges")
        .unwrap();
    assert_eq!(
        charges.param("created[gte]"),
        None,
        "charges must be re-read in full"
    );
    let balance = requests
        .iter()
        .find(|r| r.path == "/v1/balance_transactions")
        .unwrap();
    assert!(
        balance.param("created[gte]").is_some(),
        "balance transactions never change"
    );

    let warnings = bench
        .text("SELECT warnings FROM sync_runs WHERE stream = 'charges' ORDER BY id DESC LIMIT 1")
        .unwrap_or_default();
    assert!(warnings.contains("35 days"), "{warnings}");
    let status = bench.kpisync(&["status"]).await;
    assert!(String::from_utf8_lossy(&status.stdout).contains("changes feed gap"));
}
