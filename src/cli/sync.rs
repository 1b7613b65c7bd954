//! `kpisync sync`: one sync now of the enabled (or named) connectors, then a KPI recompute.
//! Progress bars on a terminal, one plain line per stream otherwise, a summary table at the end.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{Context, output};
use crate::config::Config;
use crate::sync::{ConnectorReport, Progress, SharedWarehouse, StreamReport, SyncOptions};
use crate::warehouse::RunOutcome;

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Connectors to sync [default: every enabled one]
    connectors: Vec<String>,

    /// Ignore saved cursors and read everything again, then recompute every KPI
    #[arg(long)]
    full_refresh: bool,
}

pub async fn run(context: &Context, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    let (warehouse, path) = context.open_warehouse(&config)?;
    let warehouse = Arc::new(Mutex::new(warehouse));
    let options = SyncOptions {
        full_refresh: args.full_refresh,
        ..SyncOptions::default()
    };
    let reports = sync_all(&config, &warehouse, Some(&path), &args.connectors, &options).await?;

    println!("{}", summary(&reports));
    // A full refresh is also how to make kpisync recompute whatever it finds.
    let stored = args.full_refresh || crate::sync::stored_anything(&reports);
    crate::sync::refresh_kpis(&config, &warehouse, stored).await?;
    let failed = reports.iter().any(|report| !report.succeeded());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Syncs the selected connectors one after the other, drawing progress.
pub async fn sync_all(
    config: &Config,
    warehouse: &SharedWarehouse,
    database: Option<&std::path::Path>,
    names: &[String],
    options: &SyncOptions,
) -> anyhow::Result<Vec<ConnectorReport>> {
    // Every secret is resolved before the first request, so a bad one fails fast (exit 2).
    let entries = config.select(names)?;
    let connectors = entries
        .iter()
        .map(|entry| entry.build())
        .collect::<Result<Vec<_>, _>>()?;

    let progress = SyncProgress::new();
    let mut reports = Vec::new();
    for connector in connectors {
        let name = connector.name();
        match crate::sync::sync_connector(warehouse, database, connector, options, &progress).await
        {
            Ok(report) => reports.push(report),
            Err(error) => {
                // The connector could not start (locked, warehouse error): others still run.
                eprintln!("{name}: {error:#}");
                let stream = StreamReport {
                    stream: "-".into(),
                    outcome: RunOutcome::Failed,
                    rows: 0,
                    requests: 0,
                    elapsed: Default::default(),
                    error: Some(format!("{error:#}")),
                    warnings: Vec::new(),
                };
                reports.push(ConnectorReport {
                    connector: name.into(),
                    streams: vec![stream],
                });
            }
        }
    }
    Ok(reports)
}

pub use crate::sync::recompute_kpis;

/// The end-of-sync table: one row per stream.
pub fn summary(reports: &[ConnectorReport]) -> comfy_table::Table {
    let mut table = output::table([
        "connector",
        "stream",
        "result",
        "rows",
        "requests",
        "time",
        "detail",
    ]);
    for report in reports {
        for stream in &report.streams {
            let mut detail = stream.error.clone().unwrap_or_default();
            for warning in &stream.warnings {
                if !detail.is_empty() {
                    detail.push('\n');
                }
                detail.push_str(&format!("warning: {warning}"));
            }
            table.add_row([
                report.connector.clone(),
                stream.stream.clone(),
                stream.outcome.as_str().to_owned(),
                stream.rows.to_string(),
                stream.requests.to_string(),
                output::seconds(stream.elapsed),
                detail,
            ]);
        }
    }
    table
}

/// Spinners on a terminal; plain lines elsewhere (logs, pipes, CI).
struct SyncProgress {
    bars: Option<MultiProgress>,
    current: Mutex<Option<ProgressBar>>,
}

impl SyncProgress {
    fn new() -> SyncProgress {
        let bars = super::interactive().then(MultiProgress::new);
        SyncProgress {
            bars,
            current: Mutex::new(None),
        }
    }
}

impl Progress for SyncProgress {
    fn stream_started(&self, connector: &str, stream: &str) {
        let Some(bars) = &self.bars else {
            return;
        };
        let bar = bars.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<32} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(format!("{connector}/{stream}"));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar);
        }
    }

    fn batch_stored(&self, _connector: &str, _stream: &str, rows: u64) {
        if let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.set_message(format!("{rows} rows"));
        }
    }

    fn stream_finished(&self, connector: &str, report: &StreamReport) {
        let line = format!(
            "{connector}/{}: {}, {} rows, {} requests, {}",
            report.stream,
            report.outcome.as_str(),
            report.rows,
            report.requests,
            output::seconds(report.elapsed)
        );
        let bar = self
            .current
            .lock()
            .ok()
            .and_then(|mut current| current.take());
        match bar {
            Some(bar) => bar.finish_with_message(
                line.split_once(": ")
                    .map(|(_, rest)| rest.to_owned())
                    .unwrap_or(line),
            ),
            None => eprintln!("{line}"),
        }
    }
}
