//! `kpisync run` against the fake Stripe: systemd notifications, scheduled runs that never
//! overlap, a stop in the middle of a sync, missed runs, configuration reloads, and the
//! monitoring side of `kpisync status`. Time limits here are generous bounds, not measurements.

mod process;

use std::path::Path;
use std::time::{Duration, Instant};

use connectors::stripe::fake::{Dataset, Fault, FaultRule};
use rusqlite::Connection;

use crate::helpers::{Bench, all_output, assert_success};
use process::{Daemon, eventually};

/// The streams of a Stripe sync.
const STREAMS: i64 = 7;

const TABLES: [&str; 6] = [
    "stripe_customers",
    "stripe_charges",
    "stripe_refunds",
    "stripe_balance_transactions",
    "stripe_subscriptions",
    "stripe_invoices",
];

/// Every request answered after `millis`, so that a sync lasts long enough to be caught.
fn slow_upstream(bench: &Bench, millis: u64) {
    bench.stripe.inject(FaultRule {
        path_prefix: None,
        skip: 0,
        times: usize::MAX,
        fault: Fault::Delay { millis },
    });
}

/// A reading connection that waits for the daemon's writes instead of failing.
fn open(database: &Path) -> Connection {
    let conn = Connection::open(database).expect("the warehouse opens");
    conn.busy_timeout(Duration::from_secs(10))
        .expect("a busy timeout");
    conn
}

fn count(database: &Path, sql: &str) -> i64 {
    open(database)
        .query_row(sql, [], |row| row.get(0))
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

/// Runs in which every stream was stored.
fn complete_runs(database: &Path) -> i64 {
    if !database.exists() {
        return 0;
    }
    count(
        database,
        &format!(
            "SELECT count(*) FROM (SELECT run_id FROM sync_runs GROUP BY run_id
              HAVING sum(outcome = 'ok') = {STREAMS})"
        ),
    )
}

/// Runs with a stream still going.
fn open_runs(database: &Path) -> i64 {
    if !database.exists() {
        return 0;
    }
    count(
        database,
        "SELECT count(DISTINCT run_id) FROM sync_runs WHERE outcome = 'running'",
    )
}

fn runs(database: &Path) -> i64 {
    count(database, "SELECT count(DISTINCT run_id) FROM sync_runs")
}

fn table_counts(database: &Path) -> Vec<i64> {
    TABLES
        .iter()
        .map(|table| count(database, &format!("SELECT count(*) FROM {table}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_notifies_systemd_and_runs_on_schedule_without_overlap() {
    // Every two seconds, while a sync lasts longer than that.
    let bench = Bench::start_with(Dataset::e2e(), "schedule = \"*/2 * * * * *\"").await;
    slow_upstream(&bench, 400);
    let mut daemon = Daemon::start(&bench, Some(1_000_000));

    daemon
        .expect_notified("READY=1", |line| line == "READY=1")
        .await;
    daemon
        .expect_notified("STATUS=", |line| line.starts_with("STATUS="))
        .await;
    daemon
        .expect_notified("WATCHDOG=1", |line| line == "WATCHDOG=1")
        .await;
    daemon
        .expect_notified("a status naming the sync", |line| {
            line.starts_with("STATUS=") && line.contains("syncing stripe")
        })
        .await;

    // Watch the runs: never two open at once, until three went through.
    let mut most_open = 0;
    let done = eventually(Duration::from_secs(90), || {
        most_open = most_open.max(open_runs(&bench.database));
        (complete_runs(&bench.database) >= 3).then_some(())
    })
    .await;
    assert!(
        done.is_some(),
        "three runs did not complete:\n{}",
        daemon.log()
    );
    assert_eq!(most_open, 1, "runs overlapped:\n{}", daemon.log());
    daemon
        .expect_logged("previous run still going, skipping this one")
        .await;
    assert!(daemon.log().contains("kpis recomputed"), "{}", daemon.log());

    // Each run starts after the previous one ended (end times are rounded to the second).
    let conn = open(&bench.database);
    let mut statement = conn
        .prepare(
            "SELECT run_id, max(finished_at) FROM sync_runs
              WHERE outcome != 'running' GROUP BY run_id ORDER BY run_id",
        )
        .unwrap();
    let spans: Vec<(i64, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for pair in spans.windows(2) {
        let ended: jiff::Timestamp = pair[0].1.parse().unwrap();
        assert!(
            pair[1].0 >= ended.as_millisecond() - 500,
            "run {} started before run {} ended at {}",
            pair[1].0,
            pair[0].0,
            pair[0].1
        );
    }

    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(40)).await;
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        daemon.log()
    );
    daemon
        .expect_notified("STOPPING=1", |line| line == "STOPPING=1")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stop_in_the_middle_of_a_sync_exits_0_in_time_with_whole_batches_only() {
    let reference = Bench::start(Dataset::e2e()).await;
    reference.sync_ok(&[]).await;
    let expected = table_counts(&reference.database);

    // A yearly schedule: the only run is the one at start, since nothing was ever synced.
    let extra = "schedule = \"0 0 1 1 *\"\n\n[daemon]\nshutdown_timeout_seconds = 10";
    let bench = Bench::start_with(Dataset::e2e(), extra).await;
    slow_upstream(&bench, 300);
    let mut daemon = Daemon::start(&bench, None);
    daemon
        .expect_notified("READY=1", |line| line == "READY=1")
        .await;

    // Mid-sync: some streams stored, one being read.
    let mid_sync = eventually(Duration::from_secs(30), || {
        let stored = count(
            &bench.database,
            "SELECT count(*) FROM sync_runs WHERE outcome = 'ok'",
        );
        (stored >= 2 && open_runs(&bench.database) == 1).then_some(())
    })
    .await;
    assert!(
        mid_sync.is_some(),
        "never caught mid-sync:\n{}",
        daemon.log()
    );

    let stopping = Instant::now();
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(15)).await;
    let elapsed = stopping.elapsed();
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        daemon.log()
    );
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");

    assert_eq!(
        open(&bench.database)
            .query_row("PRAGMA integrity_check", [], |row| row.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
    assert_eq!(open_runs(&bench.database), 0, "every run row is closed");
    let ok = count(
        &bench.database,
        "SELECT count(*) FROM sync_runs WHERE outcome = 'ok'",
    );
    assert!(ok < STREAMS, "the sync was cut short:\n{}", daemon.log());
    let interrupted = count(
        &bench.database,
        "SELECT count(*) FROM sync_runs WHERE outcome = 'interrupted'",
    );
    assert!(interrupted <= 1, "one stream at most was being read");

    // Each stream of this dataset fits one page, one batch: a table holds all of it or none.
    for ((table, rows), expected) in TABLES
        .iter()
        .zip(table_counts(&bench.database))
        .zip(&expected)
    {
        assert!(
            rows == 0 || rows == *expected,
            "{table}: {rows} rows of {expected}"
        );
    }

    // The next sync picks up where the stop left off.
    bench.sync_ok(&[]).await;
    assert_eq!(table_counts(&bench.database), expected);
    for table in TABLES {
        let distinct = count(
            &bench.database,
            &format!("SELECT count(DISTINCT id) FROM {table}"),
        );
        let rows = count(&bench.database, &format!("SELECT count(*) FROM {table}"));
        assert_eq!(distinct, rows, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_exits_at_once_without_storing_the_blocked_batch() {
    let extra = "schedule = \"0 0 1 1 *\"\n\n[daemon]\nshutdown_timeout_seconds = 60";
    let bench = Bench::start_with(Dataset::e2e(), extra).await;
    slow_upstream(&bench, 2000);
    let mut daemon = Daemon::start(&bench, None);
    daemon
        .expect_notified("READY=1", |line| line == "READY=1")
        .await;
    let started = eventually(Duration::from_secs(30), || {
        (open_runs(&bench.database) == 1).then_some(())
    })
    .await;
    assert!(started.is_some(), "no run started:\n{}", daemon.log());

    // While the first page is on its way, take the write lock: storing it then waits, and so
    // does a graceful stop.
    let blocker = open(&bench.database);
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    daemon.signal("TERM");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(daemon.is_running(), "the first signal waits for the batch");

    let second = Instant::now();
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(6)).await;
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        daemon.log()
    );
    assert!(second.elapsed() < Duration::from_secs(6));
    daemon.expect_logged("second signal; exiting now").await;
    blocker.execute_batch("ROLLBACK").unwrap();

    assert_eq!(
        open(&bench.database)
            .query_row("PRAGMA integrity_check", [], |row| row.get::<_, String>(0))
            .unwrap(),
        "ok"
    );
    assert_eq!(
        count(&bench.database, "SELECT count(*) FROM stripe_customers"),
        0
    );
    assert_eq!(count(&bench.database, "SELECT count(*) FROM sync_state"), 0);
    bench.sync_ok(&[]).await;
    let closed = count(
        &bench.database,
        "SELECT count(*) FROM sync_runs WHERE outcome = 'interrupted'",
    );
    assert_eq!(closed, 1, "the cut run is closed by the next one");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missed_run_starts_at_once_and_fresh_data_waits_for_its_time() {
    let bench = Bench::start_with(Dataset::e2e(), "schedule = \"0 0 1 1 *\"").await;
    bench.sync_ok(&[]).await;
    assert_eq!(runs(&bench.database), 1);

    // Fresh data and a yearly schedule: nothing to do at start.
    let mut daemon = Daemon::start(&bench, None);
    daemon
        .expect_notified("READY=1", |line| line == "READY=1")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(runs(&bench.database), 1, "{}", daemon.log());
    daemon.signal("INT");
    let status = daemon.wait_exit(Duration::from_secs(40)).await;
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        daemon.log()
    );

    // The last success long ago (the machine was off): a run at once.
    open(&bench.database)
        .execute(
            "UPDATE sync_runs SET started_at = '2020-01-01T00:00:00Z',
                    finished_at = '2020-01-01T00:01:00Z'",
            [],
        )
        .unwrap();
    let mut daemon = Daemon::start(&bench, None);
    let ran = eventually(Duration::from_secs(30), || {
        (complete_runs(&bench.database) == 2).then_some(())
    })
    .await;
    assert!(ran.is_some(), "no catch-up run:\n{}", daemon.log());
    daemon.expect_logged("missed a run, syncing now").await;
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(40)).await;
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        daemon.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_configuration_on_reload_is_refused_and_the_running_one_kept() {
    let bench = Bench::start_with(Dataset::e2e(), "schedule = \"*/2 * * * * *\"").await;
    let mut daemon = Daemon::start(&bench, None);
    daemon
        .expect_notified("READY=1", |line| line == "READY=1")
        .await;
    let first = eventually(Duration::from_secs(30), || {
        (complete_runs(&bench.database) >= 1).then_some(())
    })
    .await;
    assert!(first.is_some(), "no first run:\n{}", daemon.log());

    let good = std::fs::read_to_string(&bench.config).unwrap();
    let bad = good.replace(
        "schedule = \"*/2 * * * * *\"",
        "schedule = \"every minute\"",
    );
    std::fs::write(&bench.config, bad).unwrap();
    daemon.signal("HUP");
    daemon.expect_logged("configuration reload failed").await;
    daemon
        .expect_notified("a status naming the failed reload", |line| {
            line.starts_with("STATUS=configuration reload failed")
        })
        .await;

    // Still running, still on the old schedule.
    let before = complete_runs(&bench.database);
    let more = eventually(Duration::from_secs(30), || {
        (complete_runs(&bench.database) >= before + 2).then_some(())
    })
    .await;
    assert!(
        more.is_some(),
        "runs stopped after the bad reload:\n{}",
        daemon.log()
    );
    assert!(daemon.is_running());

    // A good configuration is taken: a yearly schedule stops the runs.
    std::fs::write(&bench.config, good.replace("*/2 * * * * *", "0 0 1 1 *")).unwrap();
    daemon.signal("HUP");
    daemon.expect_logged("configuration reloaded").await;
    daemon
        .expect_notified("RELOADING=1", |line| line == "RELOADING=1")
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = runs(&bench.database);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(runs(&bench.database), settled, "{}", daemon.log());

    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(40)).await;
    assert_eq!(
        status.and_then(|status| status.code()),
        Some(0),
        "{}",
        daemon.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_next_run_and_fails_when_data_is_stale() {
    let bench = Bench::start_with(Dataset::e2e(), "schedule = \"0 6 * * *\"").await;
    let never = bench.kpisync(&["status"]).await;
    assert_eq!(never.status.code(), Some(1), "{}", all_output(&never));
    assert!(all_output(&never).contains("never synced"));

    bench.sync_ok(&[]).await;
    let fresh = bench.kpisync(&["status"]).await;
    assert_success(&fresh);
    let printed = String::from_utf8_lossy(&fresh.stdout).into_owned();
    assert!(
        printed.contains("06:00:00 CE"),
        "the next run, in Paris time:\n{printed}"
    );
    assert!(
        printed.contains("49 h"),
        "the default threshold:\n{printed}"
    );

    // Two days old is within the default threshold of a daily schedule (two intervals and an
    // hour), though not within a tighter one; more than three days is past it.
    let age = |hours: i64| {
        let at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(hours);
        open(&bench.database)
            .execute(
                "UPDATE sync_runs SET finished_at = ?1",
                [at.round(jiff::Unit::Second).unwrap().to_string()],
            )
            .unwrap();
    };
    age(48);
    assert_success(&bench.kpisync(&["status"]).await);
    let tighter = bench
        .kpisync(&["status", "--stale-after-hours", "24"])
        .await;
    assert_eq!(tighter.status.code(), Some(1), "{}", all_output(&tighter));
    age(80);
    let stale = bench.kpisync(&["status"]).await;
    assert_eq!(stale.status.code(), Some(1), "{}", all_output(&stale));
    assert!(all_output(&stale).contains("stale: stripe data is 3 days old"));
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_are_json_on_request_and_bare_for_the_journal() {
    let bench = Bench::start(Dataset::e2e()).await;
    let json = bench.kpisync(&["-v", "--log-format", "json", "sync"]).await;
    assert_success(&json);
    let stderr = String::from_utf8_lossy(&json.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let synced = events
        .iter()
        .find(|event| event["message"] == "stream synced")
        .unwrap_or_else(|| panic!("no stream event in\n{stderr}"));
    assert_eq!(synced["connector"], "stripe");
    assert!(synced["rows"].is_u64() && synced["elapsed_ms"].is_u64());

    // stderr as the journal stream: identified by device and inode, as systemd does.
    use std::os::unix::fs::MetadataExt;
    let path = bench.dir().join("journal.log");
    let file = std::fs::File::create(&path).unwrap();
    let metadata = file.metadata().unwrap();
    let output = bench
        .command(&["-v", "sync"])
        .env(
            "JOURNAL_STREAM",
            format!("{}:{}", metadata.dev(), metadata.ino()),
        )
        .stderr(file)
        .output()
        .unwrap();
    assert_success(&output);
    let journal = std::fs::read_to_string(&path).unwrap();
    assert!(
        journal.lines().any(|line| line.starts_with("<6>")),
        "{journal}"
    );
    // Log lines (the sync's own progress lines are not logs): a priority, then the level, and
    // no time stamp of our own in front.
    for line in journal.lines().filter(|line| line.starts_with('<')) {
        let rest = line.split_once('>').map(|(_, rest)| rest.trim_start());
        let level = rest.and_then(|rest| rest.split_whitespace().next());
        assert!(
            matches!(level, Some("ERROR" | "WARN" | "INFO" | "DEBUG")),
            "not a journal line: {line}"
        );
    }
}
