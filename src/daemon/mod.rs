//! The daemon, `kpisync run`: syncs every enabled connector on its own schedule until stopped,
//! under systemd or in a terminal.
//!
//! - A UTC ticker ([`ticker`]) wakes the loop every second; [`schedule`] decides in the business
//!   time zone which connector is due, and [`slots`] starts its run unless the previous one is
//!   still going. Different connectors run concurrently.
//! - At start (and for a connector added by a reload), a connector whose data is older than one
//!   schedule interval syncs at once.
//! - SIGTERM or SIGINT: no run starts any more; running ones stop at the next batch boundary
//!   (the batch being written commits or rolls back), the KPIs are recomputed, and the process
//!   exits 0. After `daemon.shutdown_timeout_seconds`, or on a second signal, it exits at once,
//!   still 0: a batch commits with its cursor in one SQLite transaction (batches arriving
//!   close together may share one), so none is left half-written.
//! - SIGHUP reloads the configuration; a bad one is reported and the running one kept.
//! - systemd: `READY=1`, `STATUS=`, `WATCHDOG=1`, `RELOADING=1`, `STOPPING=1` ([`notify`]). If
//!   the ticker goes quiet the watchdog is no longer fed and the daemon stops with exit code 1,
//!   for systemd to restart it.
//!
//! Limitations: a reload cannot move the warehouse (restart for that), and a wall clock set back
//! delays the next runs by as much, since due times are wall-clock instants.

pub mod health;
mod notify;
mod runner;
pub mod schedule;
mod slots;
mod ticker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

use crate::config::Config;
use crate::sync::{SharedWarehouse, with_warehouse};
use crate::warehouse::Warehouse;
use health::ConnectorHealth;
use notify::Notifier;
use runner::{Finished, Job};
use slots::Slots;
use ticker::Ticker;

/// Without a tick for this long the ticker is considered dead: the daemon stops with an error,
/// so that systemd restarts it (and stops feeding the watchdog meanwhile).
const TICKER_SILENCE: Duration = Duration::from_secs(30);

/// How long an immediate exit waits for the batch being written, to close the open run rows.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Runs the daemon until a signal stops it. `database` is the warehouse; `database_fixed` says
/// it came from `--database`, so reloads keep it whatever the configuration says.
pub async fn run(
    config: Config,
    database: PathBuf,
    database_fixed: bool,
) -> anyhow::Result<ExitCode> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;

    let warehouse = Warehouse::open(&database)?;
    warehouse.replace_targets(&config.targets)?;
    let warehouse: SharedWarehouse = Arc::new(Mutex::new(warehouse));
    let built = slots::build(&config)?;
    let names = built.names();
    let health = load_health(&warehouse, names.clone()).await?;
    let mut slots = Slots::default();
    slots.install(built, &health, Timestamp::now());

    let (finished_tx, mut finished_rx) = mpsc::unbounded_channel();
    let mut daemon = Daemon {
        config: Arc::new(config),
        database,
        database_fixed,
        warehouse,
        slots,
        tracker: TaskTracker::new(),
        cancel: CancellationToken::new(),
        finished_tx,
        notifier: Notifier::new(),
        reload_error: None,
    };
    let mut ticker = Ticker::start().await?;
    info!(
        connectors = ?names,
        warehouse = %daemon.database.display(),
        timezone = daemon.config.business.timezone_name,
        "daemon started"
    );
    let status = daemon.slots.status_line(Timestamp::now());
    daemon.notifier.ready(&status);

    // The health check feeds the watchdog when systemd asked for one, and notices a dead ticker
    // either way.
    let watchdog_period = Notifier::watchdog_period();
    let mut health = tokio::time::interval(watchdog_period.unwrap_or(TICKER_SILENCE / 2));
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_tick = Instant::now();

    // Runs missed while the daemon was down start now, not at the first tick.
    daemon.start_due(Timestamp::now());
    let stop = loop {
        tokio::select! {
            Some(()) = ticker.ticks.recv() => {
                last_tick = Instant::now();
                daemon.start_due(Timestamp::now());
            }
            Some(finished) = finished_rx.recv() => daemon.slots.finished(finished),
            _ = hangup.recv() => daemon.reload().await,
            _ = terminate.recv() => break Stop::Signal("SIGTERM"),
            _ = interrupt.recv() => break Stop::Signal("SIGINT"),
            _ = health.tick() => {
                if last_tick.elapsed() > TICKER_SILENCE {
                    let silent_secs = last_tick.elapsed().as_secs();
                    error!(silent_secs, "the scheduler stopped ticking");
                    break Stop::TickerSilent;
                }
                if watchdog_period.is_some() {
                    daemon.notifier.ping();
                }
            }
        }
        daemon.publish_status();
    };

    ticker.stop().await;
    daemon.shut_down(stop, &mut terminate, &mut interrupt).await
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// Asked to: SIGTERM or SIGINT.
    Signal(&'static str),
    /// The ticker went quiet; a restart is the cure.
    TickerSilent,
}

/// The daemon's state between events.
struct Daemon {
    config: Arc<Config>,
    database: PathBuf,
    database_fixed: bool,
    warehouse: SharedWarehouse,
    slots: Slots,
    tracker: TaskTracker,
    cancel: CancellationToken,
    finished_tx: mpsc::UnboundedSender<Finished>,
    notifier: Notifier,
    /// The last reload's error, shown in the status until a reload succeeds.
    reload_error: Option<String>,
}

impl Daemon {
    /// Starts the runs due at `now`.
    fn start_due(&mut self, now: Timestamp) {
        for due in self.slots.take_due(now, self.config.daemon.max_jitter) {
            let job = Job {
                connector: due.connector,
                config: Arc::clone(&self.config),
                warehouse: Arc::clone(&self.warehouse),
                database: self.database.clone(),
                delay: due.delay,
                cancel: self.cancel.clone(),
                guard: due.guard,
            };
            let finished_tx = self.finished_tx.clone();
            self.tracker.spawn(async move {
                // The loop is gone only when the process is exiting: nobody to tell.
                let _ = finished_tx.send(runner::run(job).await);
            });
        }
    }

    /// Sends the status line to systemd when it changed.
    fn publish_status(&mut self) {
        let mut status = self.slots.status_line(Timestamp::now());
        if let Some(error) = &self.reload_error {
            status = format!("configuration reload failed ({error}); {status}");
        }
        self.notifier.status(&status);
    }

    /// SIGHUP: reads the configuration file again and applies it, or keeps the running one.
    async fn reload(&mut self) {
        self.notifier.reloading();
        let source = self.config.source.clone();
        match self.apply(&source).await {
            Ok(names) => {
                self.reload_error = None;
                info!(config = %source.display(), connectors = ?names, "configuration reloaded");
            }
            Err(error) => {
                let message = format!("{error:#}");
                error!(
                    config = %source.display(),
                    error = %message,
                    "configuration reload failed; keeping the running one"
                );
                self.reload_error = Some(message);
            }
        }
        let status = self.slots.status_line(Timestamp::now());
        self.notifier.ready(&status);
    }

    /// Loads, checks and installs the configuration at `source`; changes nothing on error.
    async fn apply(&mut self, source: &Path) -> anyhow::Result<Vec<&'static str>> {
        let config = Config::load(Some(source))?;
        let built = slots::build(&config)?;
        if !self.database_fixed && config.warehouse_path != self.database {
            warn!(
                warehouse = %self.database.display(),
                configured = %config.warehouse_path.display(),
                "warehouse.path changed; restart kpisync to use the new file"
            );
        }
        let targets = config.targets.clone();
        with_warehouse(&self.warehouse, move |warehouse| {
            warehouse.replace_targets(&targets)
        })
        .await?;
        let names = built.names();
        let health = load_health(&self.warehouse, names.clone()).await?;
        self.slots.install(built, &health, Timestamp::now());
        self.config = Arc::new(config);
        Ok(names)
    }

    /// Stops: no new run, running ones cancelled and waited for within the time limit.
    async fn shut_down(
        mut self,
        stop: Stop,
        terminate: &mut Signal,
        interrupt: &mut Signal,
    ) -> anyhow::Result<ExitCode> {
        let running = self.slots.running();
        match stop {
            Stop::Signal(signal) => info!(signal, running = ?running, "stopping"),
            Stop::TickerSilent => error!(running = ?running, "stopping to be restarted"),
        }
        let status = if running.is_empty() {
            "stopping".to_owned()
        } else {
            format!(
                "stopping: letting {} store its current batch",
                running.join(", ")
            )
        };
        self.notifier.stopping(&status);
        self.cancel.cancel();
        self.tracker.close();

        let limit = self.config.daemon.shutdown_timeout;
        tokio::select! {
            () = self.tracker.wait() => {}
            () = tokio::time::sleep(limit) => {
                let timeout_secs = limit.as_secs();
                warn!(timeout_secs, "runs still going at the shutdown time limit; exiting now");
                exit_now(&self.warehouse, &self.slots).await;
            }
            _ = terminate.recv() => {
                warn!(signal = "SIGTERM", "second signal; exiting now");
                exit_now(&self.warehouse, &self.slots).await;
            }
            _ = interrupt.recv() => {
                warn!(signal = "SIGINT", "second signal; exiting now");
                exit_now(&self.warehouse, &self.slots).await;
            }
        }
        info!("stopped");
        Ok(match stop {
            Stop::Signal(_) => ExitCode::SUCCESS,
            Stop::TickerSilent => ExitCode::from(1),
        })
    }
}

/// Exits without waiting for the runs. Batches are written in transactions: the warehouse
/// lock is waited for briefly so that it finishes and the open run rows are closed; past that,
/// the exit cuts the transaction and SQLite rolls it back when the file is next opened.
async fn exit_now(warehouse: &SharedWarehouse, slots: &Slots) -> ! {
    let deadline = Instant::now() + EXIT_GRACE;
    loop {
        match warehouse.try_lock() {
            Ok(warehouse) => {
                for connector in slots.running() {
                    if let Err(error) = warehouse.close_abandoned_runs(connector) {
                        warn!(connector, error = %error, "could not close the open run");
                    }
                }
                break;
            }
            Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(_) => break,
        }
    }
    std::process::exit(0)
}

/// Every connector's health, read off the async threads.
async fn load_health(
    warehouse: &SharedWarehouse,
    names: Vec<&'static str>,
) -> anyhow::Result<BTreeMap<&'static str, ConnectorHealth>> {
    with_warehouse(warehouse, move |warehouse| {
        names
            .into_iter()
            .map(|name| Ok((name, ConnectorHealth::load(warehouse.conn(), name)?)))
            .collect()
    })
    .await
}
