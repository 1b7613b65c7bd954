//! One scheduled run of one connector, as a task: the random delay that spreads runs sharing a
//! schedule, the sync, the KPI recompute, and a report back to the daemon loop. The task holds
//! its connector's run guard from start to end, which is what keeps runs from overlapping.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors::Connector;
use tokio::sync::OwnedMutexGuard;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::sync::{Interrupted, Progress, SharedWarehouse, StreamReport, SyncOptions};

/// Everything a run needs, owned, so the task outlives a configuration reload.
pub struct Job {
    /// The connector, built from the configuration current when the run was scheduled.
    pub connector: Arc<dyn Connector>,
    /// That configuration, for the KPI settings.
    pub config: Arc<Config>,
    /// The warehouse.
    pub warehouse: SharedWarehouse,
    /// Its path, for the cross-process run lock.
    pub database: PathBuf,
    /// How long to wait before starting.
    pub delay: Duration,
    /// Cancelled when the daemon stops.
    pub cancel: CancellationToken,
    /// Held until the run ends.
    pub guard: OwnedMutexGuard<()>,
}

/// How a run ended, for the daemon's status line.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every stream stored.
    Ok,
    /// Some streams failed, or the run could not start; the first error.
    Failed(String),
    /// Stopped by the shutdown.
    Interrupted,
}

/// The report a finished run sends back.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The connector.
    pub connector: &'static str,
    /// How it ended.
    pub outcome: Outcome,
    /// When it ended.
    pub at: jiff::Timestamp,
}

/// Runs `job` and says how it went.
pub async fn run(job: Job) -> Finished {
    let connector = job.connector.name();
    let outcome = run_inner(&job).await;
    drop(job.guard);
    Finished {
        connector,
        outcome,
        at: jiff::Timestamp::now(),
    }
}

async fn run_inner(job: &Job) -> Outcome {
    let connector = job.connector.name();
    if !job.delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(job.delay) => {}
            () = job.cancel.cancelled() => return Outcome::Interrupted,
        }
    }

    info!(connector, "run started");
    let started = Instant::now();
    let options = SyncOptions {
        full_refresh: false,
        cancel: job.cancel.clone(),
    };
    let synced = crate::sync::sync_connector(
        &job.warehouse,
        Some(&job.database),
        Arc::clone(&job.connector),
        &options,
        &Silent,
    )
    .await;
    let elapsed_ms = started.elapsed().as_millis() as u64;

    // An interrupted run may have stored rows it did not report.
    let mut stored_anything = true;
    let outcome = match synced {
        Ok(report) => {
            let rows: u64 = report.streams.iter().map(|stream| stream.rows).sum();
            stored_anything = rows > 0;
            let failed: Vec<&StreamReport> = report
                .streams
                .iter()
                .filter(|stream| stream.error.is_some())
                .collect();
            if failed.is_empty() {
                info!(connector, rows, elapsed_ms, "run finished");
                Outcome::Ok
            } else {
                let streams: Vec<&str> = failed.iter().map(|s| s.stream.as_str()).collect();
                warn!(connector, rows, elapsed_ms, failed = ?streams, "run finished with errors");
                let first = failed[0];
                let message = first.error.clone().unwrap_or_default();
                Outcome::Failed(format!("{}: {message}", first.stream))
            }
        }
        Err(error) if error.is::<Interrupted>() => {
            info!(connector, elapsed_ms, "run interrupted by the shutdown");
            Outcome::Interrupted
        }
        Err(error) => {
            let message = format!("{error:#}");
            error!(connector, elapsed_ms, error = %message, "run failed");
            // Nothing was stored: no KPI to recompute.
            return Outcome::Failed(message);
        }
    };

    // Late rows correct past periods, so the KPIs are recomputed after every run that may have
    // stored some, an interrupted one included: the shutdown's time limit bounds it, and an
    // unfinished recompute rolls back as a whole.
    let refreshed = crate::sync::refresh_kpis(&job.config, &job.warehouse, stored_anything).await;
    if let Err(error) = refreshed {
        error!(connector, error = %format!("{error:#}"), "kpi recompute failed");
    }
    outcome
}

/// The daemon logs each stream's end in the sync engine already; it draws no progress.
struct Silent;

impl Progress for Silent {
    fn stream_started(&self, _connector: &str, _stream: &str) {}
    fn batch_stored(&self, _connector: &str, _stream: &str, _rows: u64) {}
    fn stream_finished(&self, _connector: &str, _report: &StreamReport) {}
}
