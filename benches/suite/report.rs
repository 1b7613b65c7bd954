//! The suite's output: one Markdown table per scenario (figure, median, range over the runs),
//! the machine it ran on, and optionally one JSON line per figure for scripts.

use std::io::Write as _;
use std::path::PathBuf;

/// Collects and prints figures.
pub struct Report {
    json: Option<PathBuf>,
    scenario: String,
}

impl Report {
    /// A report that also appends JSON lines to `json`.
    pub fn new(json: Option<PathBuf>) -> Report {
        Report {
            json,
            scenario: String::new(),
        }
    }

    /// Prints what the figures depend on: cores, memory, kernel, and the load when starting
    /// (other work on the machine slows every figure down).
    pub fn machine(&mut self) {
        let cpus = std::thread::available_parallelism().map_or(0, usize::from);
        let model = first_line_with("/proc/cpuinfo", "model name")
            .and_then(|line| {
                line.split_once(':')
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let memory = first_line_with("/proc/meminfo", "MemTotal")
            .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "machine: {cpus} CPUs ({model}), {memory:.0} GiB, Linux {}, load average {}",
            kernel.trim(),
            load.join(" ")
        );
        println!("binary: {}", crate::measure::binary().display());
        self.json_line(&format!(
            "{{\"machine\":{{\"cpus\":{cpus},\"model\":{model:?},\"memory_gib\":{memory:.1},\
             \"kernel\":{:?},\"load\":{:?}}}}}",
            kernel.trim(),
            load.join(" ")
        ));
    }

    /// Starts a scenario's table.
    pub fn scenario(&mut self, name: &str, description: &str) {
        self.scenario = name.to_owned();
        println!("\n## {name}: {description}\n");
        println!("| figure | median | range |");
        println!("|---|---|---|");
    }

    /// One figure over several runs.
    pub fn figure(&mut self, name: &str, unit: &str, samples: &[f64]) {
        let Some(stats) = Stats::of(samples) else {
            println!("| {name} | n/a | |");
            return;
        };
        let median = format!("{} {unit}", show(stats.median));
        println!(
            "| {name} | {} | {}–{} |",
            median.trim_end(),
            show(stats.min),
            show(stats.max)
        );
        self.json_line(&format!(
            "{{\"scenario\":{:?},\"figure\":{name:?},\"unit\":{unit:?},\"median\":{},\
             \"min\":{},\"max\":{},\"runs\":{}}}",
            self.scenario,
            stats.median,
            stats.min,
            stats.max,
            samples.len()
        ));
    }

    /// A remark under the current table.
    pub fn note(&mut self, text: &str) {
        println!("\n{text}");
    }

    fn json_line(&self, line: &str) {
        let Some(path) = &self.json else { return };
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| writeln!(file, "{line}"));
        if let Err(error) = written {
            eprintln!("warning: writing {}: {error}", path.display());
        }
    }
}

/// Median and range of a set of runs.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(samples: &[f64]) -> Option<Stats> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if !sorted.len().is_multiple_of(2) {
            sorted[middle]
        } else {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        };
        Some(Stats {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
        })
    }
}

/// A number with as many decimals as its size deserves.
fn show(value: f64) -> String {
    let magnitude = value.abs();
    if value.fract() == 0.0 && magnitude < 1000.0 {
        format!("{value:.0}")
    } else if magnitude >= 1000.0 {
        group_thousands(value.round() as i64)
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0 { format!("-{out}") } else { out }
}

fn first_line_with(path: &str, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|line| line.starts_with(prefix))
        .map(str::to_owned)
}
