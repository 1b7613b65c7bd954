//! The test bench: a fake upstream, a configuration pointing at it, a scratch warehouse, and a
//! way to run the binary and read the results.

use std::path::PathBuf;
use std::process::Output;

use connectors::stripe::fake::{Dataset, FAKE_API_KEY, FakeStripe};
use rusqlite::{Connection, OptionalExtension, params};

/// A fake Stripe and a scratch directory with a configuration pointing at it.
pub struct Bench {
    pub stripe: FakeStripe,
    /// The scratch directory, removed when the bench is dropped.
    dir: tempfile::TempDir,
    pub config: PathBuf,
    pub database: PathBuf,
}

impl Bench {
    /// Starts the fake with `dataset` and writes a configuration (saas, Europe/Paris, EUR).
    pub async fn start(dataset: Dataset) -> Bench {
        Bench::start_with(dataset, "").await
    }

    /// Same, with extra lines for the `[connectors.stripe]` section.
    pub async fn start_with(dataset: Dataset, stripe_extra: &str) -> Bench {
        let stripe = FakeStripe::start(dataset)
            .await
            .expect("the fake Stripe starts");
        let dir = tempfile::tempdir().expect("a scratch directory");
        let database = dir.path().join("kpisync.db");
        let config = dir.path().join("kpisync.toml");
        let text = format!(
            "[warehouse]\npath = {database:?}\n\n[business]\nmodel = \"saas\"\n\
             timezone = \"Europe/Paris\"\ncurrency = \"EUR\"\n\n[connectors.stripe]\n\
             api_key = {FAKE_API_KEY:?}\nbase_url = {:?}\n{stripe_extra}\n",
            stripe.base_url()
        );
        std::fs::write(&config, text).expect("writing the configuration");
        Bench {
            stripe,
            dir,
            config,
            database,
        }
    }

    /// The scratch directory holding the configuration and the warehouse.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Runs `kpisync --config <bench config> ARGS` to completion.
    pub async fn kpisync(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().expect("kpisync runs"))
            .await
            .expect("the kpisync child finished")
    }

    /// The command, not started.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kpisync"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("NO_COLOR", "1");
        command.env_remove("KPISYNC_LOG");
        command
    }

    /// `kpisync sync`, asserting it succeeded.
    pub async fn sync_ok(&self, args: &[&str]) -> Output {
        let mut all = vec!["sync"];
        all.extend_from_slice(args);
        let output = self.kpisync(&all).await;
        assert_success(&output);
        output
    }

    /// A read connection to the warehouse.
    pub fn db(&self) -> Connection {
        Connection::open(&self.database).expect("the warehouse opens")
    }

    /// A KPI's value; `None` when the row is missing, `Some(None)` when it is NULL.
    pub fn kpi(&self, id: &str, grain: &str, period: &str, dimension: &str) -> Option<Option<f64>> {
        self.db()
            .query_row(
                "SELECT value FROM kpis
                  WHERE kpi = ?1 AND grain = ?2 AND period_start = ?3 AND dimension = ?4",
                params![id, grain, period, dimension],
                |row| row.get(0),
            )
            .optional()
            .expect("the kpis table is readable")
    }

    /// A KPI's value, which must exist and not be NULL.
    pub fn value(&self, id: &str, grain: &str, period: &str) -> f64 {
        self.kpi(id, grain, period, "")
            .unwrap_or_else(|| panic!("no {id} row for {grain} {period}"))
            .unwrap_or_else(|| panic!("{id} is NULL for {grain} {period}"))
    }

    /// `SELECT count(*)` of a query.
    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |row| row.get(0))
            .expect("a count")
    }

    /// A text column of one row.
    pub fn text(&self, sql: &str) -> Option<String> {
        self.db()
            .query_row(sql, [], |row| row.get(0))
            .optional()
            .expect("a query")
            .flatten()
    }
}

/// Asserts exit code 0, showing the output otherwise.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "kpisync failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// stdout and stderr together, for searching.
pub fn all_output(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts two floats are equal to the cent.
#[track_caller]
pub fn assert_close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-9,
        "expected {expected}, got {actual}"
    );
}

/// Now, as the fake's clock and the events' dates expect it.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}
