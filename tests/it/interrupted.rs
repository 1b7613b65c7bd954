//! A sync killed with SIGKILL at arbitrary points, several times, then run to the end: the
//! warehouse is intact, every object is there once, and the KPIs equal an uninterrupted run's.

use std::time::Duration;

use connectors::stripe::fake::{Dataset, Fault, FaultRule};

use crate::helpers::{Bench, assert_success};

/// Every stored KPI row, for comparing two warehouses.
fn kpi_rows(bench: &Bench) -> Vec<(String, String, String, String, Option<f64>)> {
    let db = bench.db();
    let mut statement = db
        .prepare(
            "SELECT kpi, grain, period_start, dimension, value FROM kpis
              ORDER BY kpi, grain, period_start, dimension",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn dataset() -> Dataset {
    let anchor: jiff::Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
    Dataset::demo(anchor, 11)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_killed_at_random_points_ends_intact_and_equal() {
    let reference = Bench::start(dataset()).await;
    reference.sync_ok(&[]).await;
    let expected = kpi_rows(&reference);
    assert!(!expected.is_empty());

    let bench = Bench::start(dataset()).await;
    // Slow answers so that kills land inside walks and between batches.
    let slow = FaultRule {
        path_prefix: None,
        skip: 0,
        times: usize::MAX,
        fault: Fault::Delay { millis: 80 },
    };
    bench.stripe.inject(slow);
    let mut random = fastrand::Rng::with_seed(20_261_203);
    for _ in 0..5 {
        let mut child = bench.command(&["sync"]).spawn().expect("kpisync starts");
        let wait = Duration::from_millis(random.u64(100..900));
        tokio::time::sleep(wait).await;
        // SIGKILL: no chance to clean up, like a power cut for the process.
        let _ = child.kill();
        let _ = child.wait();
    }
    let output = bench.kpisync(&["sync"]).await;
    assert_success(&output);

    let integrity = bench.text("PRAGMA integrity_check");
    assert_eq!(integrity.as_deref(), Some("ok"));
    for table in [
        "stripe_charges",
        "stripe_subscriptions",
        "stripe_balance_transactions",
    ] {
        let rows = bench.count(&format!("SELECT count(*) FROM {table}"));
        let expected = reference.count(&format!("SELECT count(*) FROM {table}"));
        let distinct = bench.count(&format!("SELECT count(DISTINCT id) FROM {table}"));
        assert_eq!(rows, expected, "{table}");
        assert_eq!(distinct, expected, "{table}");
    }
    assert_eq!(kpi_rows(&bench), expected);
    let running = bench.count("SELECT count(*) FROM sync_runs WHERE outcome = 'running'");
    assert_eq!(running, 0, "runs cut short are closed as interrupted");
    let interrupted = bench.count("SELECT count(*) FROM sync_runs WHERE outcome = 'interrupted'");
    assert!(
        interrupted >= 1,
        "no kill landed inside a sync: the test proved nothing"
    );
}
