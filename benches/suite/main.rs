//! kpisync's benchmark suite: the release binary, run as a user runs it, against the built-in
//! fake Stripe on loopback. It reports what the performance notes (`docs/performance.md`)
//! quote: a full backfill, an incremental sync with nothing new, a KPI recompute over three
//! years of data, and the daemon at rest. Nothing here asserts a timing; it measures and prints.
//!
//! ```text
//! cargo bench --bench suite -- [backfill] [incremental] [kpi] [idle]
//!                              [--charges N] [--rounds R] [--idle-secs S] [--json FILE]
//!                              [--keep]
//! ```
//!
//! Without a scenario it runs them all. Each figure is the median of `--rounds` runs (3 by
//! default), with the range beside it.

mod datasets;
mod measure;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;

/// What to run, from the command line.
pub struct Options {
    /// Scenarios, in the order given.
    pub scenarios: Vec<String>,
    /// Charges in the backfill's dataset.
    pub charges: usize,
    /// Runs per measurement.
    pub rounds: usize,
    /// How long the idle daemon is watched.
    pub idle_secs: u64,
    /// Where to append one JSON line per figure, besides the printed tables.
    pub json: Option<PathBuf>,
}

const SCENARIOS: [&str; 4] = ["backfill", "incremental", "kpi", "idle"];

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        scenarios: Vec::new(),
        charges: 100_000,
        rounds: 3,
        idle_secs: 10,
        json: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--bench" => {}
            "--charges" => options.charges = number(&value("--charges")?)?,
            "--rounds" => options.rounds = number::<usize>(&value("--rounds")?)?.max(1),
            "--idle-secs" => options.idle_secs = number(&value("--idle-secs")?)?,
            "--json" => options.json = Some(PathBuf::from(value("--json")?)),
            "--keep" => measure::keep_scratch(),
            name if SCENARIOS.contains(&name) => options.scenarios.push(name.to_owned()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.scenarios.is_empty() {
        options.scenarios = SCENARIOS.iter().map(|name| (*name).to_owned()).collect();
    }
    Ok(options)
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();

    // `cargo test --benches` runs bench targets without `--bench`: the suite takes minutes, so
    // it only says how to run it.
    if !args.iter().any(|arg| arg == "--bench") {
        println!("the suite runs under `cargo bench --bench suite`");
        return ExitCode::SUCCESS;
    }
    let options = match parse_options(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };

    let mut report = report::Report::new(options.json.clone());
    report.machine();
    for scenario in &options.scenarios {
        let result = match scenario.as_str() {
            "backfill" => scenarios::backfill(&options, &mut report),
            "incremental" => scenarios::incremental(&options, &mut report),
            "kpi" => scenarios::kpi(&options, &mut report),
            _ => scenarios::idle(&options, &mut report),
        };
        if let Err(message) = result {
            eprintln!("error: {scenario}: {message}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
