//! `kpisync report weekly|monthly`: the reports of `KPIS.md`, in the format asked for, on
//! stdout or into a file. The reports themselves are built and written by [`crate::report`].

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use crate::config::{Config, ConfigError};
use crate::report::{self, Kind, Report, ReportSettings};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KindArg {
    /// This week against last week, with notes
    Weekly,
    /// The month against its target, last year and the year to date
    Monthly,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for the terminal
    #[default]
    Table,
    /// Markdown tables, one per funnel stage
    Markdown,
    /// Raw numbers, one row per KPI line
    Csv,
    /// Raw numbers, grouped by stage (shape in docs/reports.md)
    Json,
    /// One self-contained page with a trend chart per KPI, for a browser, a mail or a printer
    Html,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Which report
    #[arg(value_enum)]
    kind: KindArg,

    /// The week (2026-W48) or month (2026-11) [default: the last complete one in
    /// business.timezone]
    #[arg(long, value_name = "P")]
    period: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t)]
    format: Format,

    /// Write the report to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl ReportArgs {
    /// The weekly report for the last complete week, as a table on stdout.
    pub fn last_week_table() -> ReportArgs {
        ReportArgs {
            kind: KindArg::Weekly,
            period: None,
            format: Format::Table,
            output: None,
        }
    }
}

pub fn run(context: &Context, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    let (warehouse, _) = context.open_existing_warehouse(&config)?;
    let report = build(&config, warehouse.conn(), &args)?;
    write(&report, &args)?;
    Ok(ExitCode::SUCCESS)
}

/// Builds the report `args` ask for from the warehouse.
pub fn build(
    config: &Config,
    conn: &rusqlite::Connection,
    args: &ReportArgs,
) -> anyhow::Result<Report> {
    let kind = match args.kind {
        KindArg::Weekly => Kind::Weekly,
        KindArg::Monthly => Kind::Monthly,
    };
    let period = match &args.period {
        Some(text) => report::parse_period(kind, text)
            .map_err(|error| ConfigError(format!("--period: {error}")))?,
        None => {
            let today = jiff::Timestamp::now()
                .to_zoned(config.business.timezone.clone())
                .date();
            report::last_complete(kind, today)?
        }
    };
    let settings = ReportSettings {
        timezone: config.business.timezone_name.clone(),
        currency: config.business.currency.clone(),
    };
    report::build(conn, kind, period, &settings)
        .with_context(|| format!("building the {} report for {period}", kind.as_str()))
}

/// Writes the report in the asked format to `--output`, or stdout.
pub fn write(report: &Report, args: &ReportArgs) -> anyhow::Result<()> {
    let text = match args.format {
        Format::Table => {
            // Wrap to the terminal when a person reads it; a file or a pipe gets whole lines.
            let width = (args.output.is_none() && std::io::stdout().is_terminal())
                .then(terminal_width)
                .flatten();
            report::table::render(report, width)
        }
        Format::Markdown => report::markdown::render(report),
        Format::Csv => report::csv::render(report),
        Format::Json => report::json::render(report),
        Format::Html => report::html::render(report),
    };
    match &args.output {
        Some(path) => write_file(path, &text),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .context("writing the report to stdout")
        }
    }
}

/// Writes through a temporary file beside `path`, then renames it, so that a reader (a mail
/// job, a web server) never sees half a report. On an error the temporary file is removed.
fn write_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let written = std::fs::write(&partial, text)
        .with_context(|| format!("writing {}", partial.display()))
        .and_then(|()| {
            std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))
        });
    if written.is_err() {
        // It may not exist (an unwritable folder): there is nothing else to clean.
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// The terminal's width, as the table crate finds it.
fn terminal_width() -> Option<u16> {
    comfy_table::Table::new().width()
}
