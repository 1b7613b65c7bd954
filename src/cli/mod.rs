//! The command line: argument definitions and dispatch to one module per subcommand.

mod check;
mod demo;
mod init;
mod kpis;
mod output;
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
    /// Last run, outcome, rows, cursor and freshness of each connector and stream
    Status,
    /// Show KPI values
    Kpis(kpis::KpisArgs),
    /// The whole pipeline against built-in fake upstreams, in a scratch database
    Demo(demo::DemoArgs),
}

/// Sets up `tracing` on stderr; without colours when stderr is not a terminal.
pub fn init_logging(args: &Args) {
    let default = match (args.quiet, args.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KPISYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
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
        Command::Status => status::run(&context),
        Command::Kpis(kpis) => kpis::run(&context, kpis),
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
