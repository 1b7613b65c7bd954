//! The command line: argument definitions and dispatch to one module per subcommand.

mod check;
mod demo;
mod init;
mod kpis;
mod logging;
mod manual;
mod output;
mod report;
mod run;
mod status;
mod sync;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::warehouse::Warehouse;

/// kpisync: your funnel's KPIs, synced from your SaaS tools into one SQLite file.
#[derive(Debug, Parser)]
#[command(name = "kpisync", version, about)]
pub struct Args {
    /// Configuration file [default: $KPISYNC_CONFIG, ./kpisync.toml, /etc/kpisync/kpisync.toml]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    /// The SQLite warehouse, instead of the configuration's warehouse.path
    #[arg(long, global = true, value_name = "PATH")]
    database: Option<PathBuf>,

    /// More logging (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// How log lines on stderr are written
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "KPISYNC_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    log_format: logging::LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented starting configuration
    Init(init::InitArgs),
    /// Validate the configuration and try each enabled connector's credentials
    Check,
    /// Sync now, then recompute the KPIs
    Sync(sync::SyncArgs),
    /// The daemon: sync each connector on its schedule until SIGTERM or SIGINT
    Run,
    /// Next and last run, freshness of each connector; exit 1 when some data is stale
    Status(status::StatusArgs),
    /// Show KPI values
    Kpis(kpis::KpisArgs),
    /// The weekly operational or monthly business report
    Report(report::ReportArgs),
    /// Record a number no connector brings (marketing spend, demos, followers, ...)
    Record(manual::RecordArgs),
    /// Record many manual numbers at once from a CSV file
    Import(manual::ImportArgs),
    /// Attach a note (the why, the next actions) to a KPI for a period
    Note(manual::NoteArgs),
    /// The whole pipeline against built-in fake upstreams, in a scratch database
    Demo(demo::DemoArgs),
}

/// Lets a one-shot command whose output goes to a pipe closed early (`kpisync kpis | head`)
/// end quietly, as command-line tools do, instead of panicking on the failed write. The
/// daemon keeps ignoring SIGPIPE: a vanished log reader must not stop it.
pub fn default_sigpipe(args: &Args) {
    if matches!(args.command, Command::Run) {
        return;
    }
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition touches no memory of ours; it runs at
    // start, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Sets up `tracing` on stderr. The daemon logs what it does (info) by default; the one-shot
/// commands only warnings, since they print their own results.
pub fn init_logging(args: &Args) {
    let default = match (args.quiet, args.verbose, &args.command) {
        (true, _, _) => "error",
        // The scheduler crate's own start-up chatter is not worth a line in the journal.
        (_, 0, Command::Run) => "info,tokio_cron_scheduler=warn",
        (_, 0, _) => "warn",
        (_, 1, _) => "info",
        _ => "debug",
    };
    logging::init(args.log_format, default);
}

/// Runs the command; the exit code follows the contract.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let context = Context {
        config_path: args.config,
        database: args.database,
    };
    match args.command {
        Command::Init(init) => init::run(init),
        Command::Check => check::run(&context).await,
        Command::Sync(sync) => sync::run(&context, sync).await,
        Command::Run => run::run(&context).await,
        Command::Status(status) => status::run(&context, status),
        Command::Kpis(kpis) => kpis::run(&context, kpis),
        Command::Report(report) => report::run(&context, report),
        Command::Record(record) => manual::record(&context, record),
        Command::Import(import) => manual::import(&context, import),
        Command::Note(note) => manual::note(&context, note),
        Command::Demo(demo) => demo::run(&context, demo).await,
    }
}

/// What every command may need: where the configuration and the warehouse are.
pub struct Context {
    config_path: Option<PathBuf>,
    database: Option<PathBuf>,
}

impl Context {
    /// Loads and checks the configuration.
    fn config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config_path.as_deref())?)
    }

    /// The warehouse path: `--database`, else the configuration's.
    fn database_path(&self, config: &Config) -> PathBuf {
        self.database
            .clone()
            .unwrap_or_else(|| config.warehouse_path.clone())
    }

    /// Opens a warehouse that must exist already, for the commands that only read it: a
    /// mistyped path is an error rather than a new empty file.
    fn open_existing_warehouse(&self, config: &Config) -> anyhow::Result<(Warehouse, PathBuf)> {
        let path = self.database_path(config);
        if !path.exists() {
            return Err(crate::config::ConfigError(format!(
                "no warehouse at {}: check warehouse.path or --database, or run `kpisync sync` \
                 first",
                shown(&path)
            ))
            .into());
        }
        self.open_warehouse(config)
    }

    /// Opens the warehouse and loads the configuration's targets into it.
    fn open_warehouse(&self, config: &Config) -> anyhow::Result<(Warehouse, PathBuf)> {
        let path = self.database_path(config);
        let warehouse = Warehouse::open(&path)?;
        warehouse.replace_targets(&config.targets)?;
        Ok((warehouse, path))
    }
}

/// Whether to draw for a person (progress bars, colours) or write plain lines.
fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A path for messages.
fn shown(path: &Path) -> String {
    path.display().to_string()
}
