//! One sync of one connector: its saved cursors in, its streams read in order, each batch handed
//! to the warehouse while the connector fetches the next page, and one `sync_runs` row per
//! stream with the outcome. Shared by `kpisync sync`, `kpisync demo` and the daemon.
//!
//! A run can be cancelled (the daemon shutting down): the request in flight is dropped, the batch
//! being written commits or rolls back as a whole, nothing after it is stored, and the stream's
//! run is closed as `interrupted`. The next run resumes from the last stored cursor.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use connectors::{Batch, BatchSink, Connector, ConnectorError, ReadContext};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::warehouse::{RunOutcome, RunRecord, Warehouse};

/// The warehouse as the sync engine shares it: one connection, one writer at a time.
pub type SharedWarehouse = Arc<Mutex<Warehouse>>;

/// Batches that may wait for the writer: enough to keep both sides busy, few enough that
/// memory stays flat whatever the stream's size.
const BATCHES_IN_FLIGHT: usize = 2;

/// How long the writer waits for the reader's next batch before committing those it holds.
/// Commits are what a fast stream spends most of its writing time on, so batches that follow
/// each other closely share one transaction (up to the warehouse's limit), while a slow upstream
/// still gets its batches committed within this delay. The warehouse stays locked meanwhile:
/// other users of it (another connector's run in the daemon) wait at most this long.
const GROUP_WAIT: Duration = Duration::from_secs(1);

/// How a sync is run.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Ignore saved cursors and read everything again.
    pub full_refresh: bool,
    /// Stops the run at the next batch boundary when cancelled.
    pub cancel: CancellationToken,
}

/// The error of a run stopped by its cancellation token: what was stored stays stored.
#[derive(Debug, thiserror::Error)]
#[error("stopped before the end: kpisync is shutting down")]
pub struct Interrupted;

/// What happened to one stream.
#[derive(Debug, Clone)]
pub struct StreamReport {
    /// The stream.
    pub stream: String,
    /// Its outcome.
    pub outcome: RunOutcome,
    /// Rows written.
    pub rows: u64,
    /// Requests made.
    pub requests: u64,
    /// Time taken.
    pub elapsed: Duration,
    /// The error, when it failed.
    pub error: Option<String>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// What happened to one connector.
#[derive(Debug, Clone)]
pub struct ConnectorReport {
    /// The connector.
    pub connector: String,
    /// Its streams, in reading order.
    pub streams: Vec<StreamReport>,
}

impl ConnectorReport {
    /// True when every stream was stored completely.
    pub fn succeeded(&self) -> bool {
        self.streams
            .iter()
            .all(|stream| stream.outcome == RunOutcome::Ok)
    }
}

/// Hears about a sync as it goes, to draw progress.
pub trait Progress: Send + Sync {
    /// A stream starts.
    fn stream_started(&self, connector: &str, stream: &str);
    /// A batch was stored; `rows` is the stream's running total.
    fn batch_stored(&self, connector: &str, stream: &str, rows: u64);
    /// A stream ended.
    fn stream_finished(&self, connector: &str, report: &StreamReport);
}

/// Held while a connector syncs: a second process syncing the same connector (the daemon and a
/// one-shot `kpisync sync`) is turned away instead of interleaving with it. The operating system
/// releases the lock when the process dies, so a killed run never leaves it stuck.
pub struct RunLock {
    _file: Option<File>,
}

impl RunLock {
    /// Takes the lock of `connector` for the warehouse at `database` (none for in-memory ones).
    pub fn acquire(database: Option<&Path>, connector: &str) -> anyhow::Result<RunLock> {
        let Some(database) = database else {
            return Ok(RunLock { _file: None });
        };
        let path = lock_path(database, connector);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: Some(file) }),
            Err(std::fs::TryLockError::WouldBlock) => Err(anyhow!(
                "another kpisync process is syncing {connector} right now"
            )),
            Err(std::fs::TryLockError::Error(error)) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

fn lock_path(database: &Path, connector: &str) -> PathBuf {
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{connector}.lock"));
    database.with_file_name(name)
}

/// Syncs one connector: every stream, in order. A stream that fails is recorded and the next
/// one still runs, unless the failure means none can succeed (bad credentials).
pub async fn sync_connector(
    warehouse: &SharedWarehouse,
    database: Option<&Path>,
    connector: Arc<dyn Connector>,
    options: &SyncOptions,
    progress: &dyn Progress,
) -> anyhow::Result<ConnectorReport> {
    let name = connector.name();
    let _lock = RunLock::acquire(database, name)?;
    let run_id = jiff::Timestamp::now().as_millisecond();

    let tables = connector.tables();
    let cursors = with_warehouse(warehouse, move |warehouse| {
        warehouse.ensure_tables(tables)?;
        // Kept up while rows arrive rather than built by the first recompute after a backfill,
        // which would read every row once more to build them.
        crate::kpi::ensure_indexes(warehouse.conn())?;
        let closed = warehouse.close_abandoned_runs(name)?;
        if closed > 0 {
            warn!(
                connector = name,
                runs = closed,
                "earlier run was interrupted"
            );
        }
        warehouse.cursors(name)
    })
    .await?;
    let context = ReadContext {
        cursors,
        full_refresh: options.full_refresh,
    };

    let mut report = ConnectorReport {
        connector: name.to_owned(),
        streams: Vec::new(),
    };
    for spec in connector.streams() {
        if options.cancel.is_cancelled() {
            return Err(Interrupted.into());
        }
        let stream = spec.name;
        progress.stream_started(name, stream);
        let (stream_report, fatal) = sync_stream(
            warehouse,
            connector.as_ref(),
            stream,
            run_id,
            &context,
            &options.cancel,
            progress,
        )
        .await?;
        progress.stream_finished(name, &stream_report);
        report.streams.push(stream_report);
        if fatal {
            break;
        }
    }
    Ok(report)
}

/// Reads one stream and stores its batches; returns its report and whether the connector
/// should stop.
async fn sync_stream(
    warehouse: &SharedWarehouse,
    connector: &dyn Connector,
    stream: &'static str,
    run_id: i64,
    context: &ReadContext,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> anyhow::Result<(StreamReport, bool)> {
    let name = connector.name();
    let started = Instant::now();
    let run_row = with_warehouse(warehouse, move |warehouse| {
        warehouse.start_run(run_id, name, stream)
    })
    .await?;

    let (mut sink, batches) = BatchSink::channel(BATCHES_IN_FLIGHT);
    let read = async move {
        // Cancelling drops the read where it stands: whatever it fetched and did not hand over
        // is lost, and the saved cursor still points before it.
        let result = tokio::select! {
            result = connector.read(stream, context, &mut sink) => result,
            () = cancel.cancelled() => Err(ConnectorError::Cancelled),
        };
        drop(sink);
        result
    };

    // The writer stores batches as they come, while the reader fetches the next page. A batch
    // being written when the run is cancelled finishes (one transaction, so all or nothing);
    // batches still queued are dropped.
    let mut record = RunRecord::default();
    let mut stopped_early = false;
    let write = async {
        // Owned here so that the receiver closes when the writer stops: a reader waiting to
        // hand over a batch then gets an error instead of waiting forever.
        let mut batches = batches;
        while let Some(first) = batches.recv().await {
            if cancel.is_cancelled() {
                stopped_early = true;
                break;
            }
            // The batches the reader hands over meanwhile join this one's transaction.
            let stop = cancel.clone();
            let (receiver, stored, requests, warnings) =
                with_warehouse(warehouse, move |warehouse| {
                    let (mut requests, mut warnings) = (0, Vec::new());
                    let deadline = Instant::now() + GROUP_WAIT;
                    let waiting = std::iter::from_fn(|| next_batch(&mut batches, &stop, deadline));
                    let group = std::iter::once(first).chain(waiting).inspect(|batch| {
                        requests += u64::from(batch.requests);
                        warnings.extend(batch.warnings.iter().cloned());
                    });
                    let stored = warehouse.write_batches(name, stream, group);
                    Ok((batches, stored, requests, warnings))
                })
                .await?;
            batches = receiver;
            let outcome = stored?;
            record.rows += outcome.rows_written + outcome.metrics_written;
            record.requests += requests;
            for warning in warnings {
                warn!(connector = name, stream, warning = %warning, "sync warning");
                record.warnings.push(warning);
            }
            progress.batch_stored(name, stream, record.rows);
        }
        anyhow::Ok(())
    };
    let (read_result, write_result) = tokio::join!(read, write);
    let elapsed = started.elapsed();

    if cancel.is_cancelled() && (stopped_early || read_result.is_err()) {
        // We hold the connector's run lock, so the only open run row is this stream's.
        with_warehouse(warehouse, move |warehouse| {
            warehouse.close_abandoned_runs(name)
        })
        .await?;
        info!(
            connector = name,
            stream,
            rows = record.rows,
            elapsed_ms = elapsed.as_millis() as u64,
            "stream interrupted"
        );
        return Err(Interrupted.into());
    }

    let (outcome, fatal) = match (read_result, write_result) {
        (_, Err(error)) => {
            record.error = Some(format!("storing the batch failed: {error:#}"));
            (RunOutcome::Failed, true)
        }
        (Ok(()), Ok(())) => (RunOutcome::Ok, false),
        (Err(error), Ok(())) => {
            let fatal = error.stops_connector();
            record.error = Some(describe(&error));
            (RunOutcome::Failed, fatal)
        }
    };

    let finished = record.clone();
    with_warehouse(warehouse, move |warehouse| {
        warehouse.finish_run(run_row, outcome, &finished)
    })
    .await?;

    match &record.error {
        None => info!(
            connector = name,
            stream,
            rows = record.rows,
            requests = record.requests,
            elapsed_ms = elapsed.as_millis() as u64,
            "stream synced"
        ),
        Some(message) => error!(connector = name, stream, error = %message, "stream failed"),
    }

    let report = StreamReport {
        stream: stream.to_owned(),
        outcome,
        rows: record.rows,
        requests: record.requests,
        elapsed,
        error: record.error,
        warnings: record.warnings,
    };
    Ok((report, fatal))
}

/// The next batch of a group being written: one the reader has queued or hands over before
/// `deadline`; `None` once the stream ended, the run was cancelled or the deadline passed.
/// Called on a blocking thread, where waiting on the runtime's timer is allowed.
fn next_batch(
    batches: &mut mpsc::Receiver<Batch>,
    cancel: &CancellationToken,
    deadline: Instant,
) -> Option<Batch> {
    if cancel.is_cancelled() {
        return None;
    }
    if let Ok(batch) = batches.try_recv() {
        return Some(batch);
    }
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    runtime.block_on(async {
        tokio::select! {
            batch = batches.recv() => batch,
            () = cancel.cancelled() => None,
            () = tokio::time::sleep_until(deadline.into()) => None,
        }
    })
}

/// Recomputes the KPIs after a sync, unless the sync stored nothing new and the KPIs were
/// recomputed today with the same settings: then a recompute would write the same rows, and
/// an incremental sync with nothing new stays a matter of milliseconds.
pub async fn refresh_kpis(
    config: &Config,
    warehouse: &SharedWarehouse,
    stored_anything: bool,
) -> anyhow::Result<()> {
    if !stored_anything {
        let settings = config.business.kpi_settings();
        let now = jiff::Timestamp::now();
        let current = with_warehouse(warehouse, move |warehouse| {
            crate::kpi::up_to_date(warehouse.conn(), &settings, now)
        })
        .await?;
        if current {
            info!("kpis up to date: the sync stored nothing new");
            return Ok(());
        }
    }
    recompute_kpis(config, warehouse).await
}

/// Whether any stream of `reports` stored or changed a row.
pub fn stored_anything<'a>(reports: impl IntoIterator<Item = &'a ConnectorReport>) -> bool {
    reports
        .into_iter()
        .flat_map(|report| &report.streams)
        .any(|stream| stream.rows > 0)
}

/// Recomputes every KPI from the stored data, folds the WAL back into the file, and gives
/// the memory the run freed back to the system.
pub async fn recompute_kpis(config: &Config, warehouse: &SharedWarehouse) -> anyhow::Result<()> {
    let settings = config.business.kpi_settings();
    let summary = with_warehouse(warehouse, move |warehouse| {
        let summary = crate::kpi::recompute(warehouse, &settings, jiff::Timestamp::now())?;
        warehouse.checkpoint()?;
        // The page cache fills up again on the next run; until then its pages are free.
        warehouse.conn().execute_batch("PRAGMA shrink_memory")?;
        Ok(summary)
    })
    .await?;
    release_free_memory();
    info!(
        rows = summary.rows,
        kpis = summary.kpis,
        elapsed_ms = summary.elapsed.as_millis() as u64,
        "kpis recomputed"
    );
    Ok(())
}

/// Gives the heap a run freed back to the system. glibc keeps freed pages for the next
/// allocations, and after a large sync that is megabytes the daemon would hold for hours
/// until its next run (16 MB after 100,000 charges).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only returns the allocator's free pages; glibc
    // locks each arena while it does, so other threads may allocate meanwhile.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The error as the user reads it, with a hint when there is one.
fn describe(error: &ConnectorError) -> String {
    match error.hint() {
        Some(hint) => format!("{error} ({hint})"),
        None => error.to_string(),
    }
}

/// Runs `work` on the warehouse off the async threads, since SQLite calls block.
pub async fn with_warehouse<T, F>(warehouse: &SharedWarehouse, work: F) -> anyhow::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Warehouse) -> anyhow::Result<T> + Send + 'static,
{
    let warehouse = Arc::clone(warehouse);
    tokio::task::spawn_blocking(move || {
        let mut guard = warehouse
            .lock()
            .map_err(|_| anyhow!("the warehouse lock is poisoned"))?;
        work(&mut guard)
    })
    .await
    .context("the warehouse task stopped")?
}
