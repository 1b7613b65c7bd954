//! kpisync: pulls a small business's funnel numbers from its SaaS tools into one SQLite file and
//! computes its KPIs. `main` only parses the command line, sets up logging and maps the outcome
//! to the exit codes of the contract: 0 success, 1 a sync or check failed, 2 bad usage or
//! configuration.

mod cli;
mod config;
mod daemon;
mod kpi;
mod report;
mod sync;
mod warehouse;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::default_sigpipe(&args);
    cli::init_logging(&args);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<config::ConfigError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
