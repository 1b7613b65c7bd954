//! The scenarios. Each starts the fake Stripe with its dataset, runs `kpisync` in scratch
//! directories as often as `--rounds` says, checks that the data landed, and reports.

use std::time::{Duration, Instant};

use connectors::stripe::fake::{Dataset, FakeStripe};

use crate::Options;
use crate::datasets;
use crate::measure::{Measured, Scratch, field, log_lines};
use crate::report::Report;

/// Starts the fake on its own thread; the runtime only serves to await its start.
fn start_fake(dataset: Dataset) -> Result<FakeStripe, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("starting a runtime: {error}"))?;
    runtime
        .block_on(FakeStripe::start(dataset))
        .map_err(|error| format!("starting the fake Stripe: {error}"))
}

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

fn ensure_ok(run: &Measured, what: &str) -> Result<(), String> {
    if run.success {
        return Ok(());
    }
    let tail: Vec<&str> = run.stderr.lines().rev().take(5).collect();
    Err(format!("{what} failed: {}", tail.join(" / ")))
}

/// Rows and raw JSON bytes in the Stripe tables.
struct Landed {
    charges: i64,
    rows: i64,
    bytes: i64,
}

fn landed(scratch: &Scratch) -> Result<Landed, String> {
    let db = scratch.db()?;
    let mut landed = Landed {
        charges: 0,
        rows: 0,
        bytes: 0,
    };
    let tables = [
        "stripe_customers",
        "stripe_charges",
        "stripe_refunds",
        "stripe_balance_transactions",
        "stripe_subscriptions",
        "stripe_invoices",
    ];
    for table in tables {
        let (rows, bytes): (i64, i64) = db
            .query_row(
                &format!("SELECT count(*), coalesce(sum(length(raw)), 0) FROM {table}"),
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(|error| format!("counting {table}: {error}"))?;
        if table == "stripe_charges" {
            landed.charges = rows;
        }
        landed.rows += rows;
        landed.bytes += bytes;
    }
    Ok(landed)
}

/// Requests per endpoint, in the order first seen: `charges 20, balance_transactions 19, ...`.
fn requests_by_endpoint(fake: &FakeStripe) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for request in fake.requests() {
        let endpoint = request.path.trim_start_matches("/v1/").to_owned();
        match counts.iter_mut().find(|(name, _)| *name == endpoint) {
            Some((_, count)) => *count += 1,
            None => counts.push((endpoint, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    parts.join(", ")
}

/// The summed `elapsed_ms` of the streams a sync logged.
fn streams_ms(run: &Measured) -> Option<f64> {
    let lines = log_lines(&run.stderr, "stream synced");
    let times: Option<Vec<f64>> = lines
        .iter()
        .map(|fields| field(fields, "elapsed_ms")?.parse().ok())
        .collect();
    times
        .filter(|times| !times.is_empty())
        .map(|times| times.iter().sum())
}

// ---------------------------------------------------------------------------------------------
// Backfill

/// A full sync of `--charges` charges into an empty warehouse, KPIs included, as
/// `kpisync sync stripe` does it.
pub fn backfill(options: &Options, report: &mut Report) -> Result<(), String> {
    let charges = options.charges;
    let fake = start_fake(datasets::backfill(charges))?;
    report.scenario(
        "backfill",
        &format!("full sync of {charges} charges and their balance transactions, then the KPIs"),
    );

    let mut figures = Figures::default();
    let mut endpoints = String::new();
    for _ in 0..options.rounds {
        let scratch = Scratch::new(&fake.base_url(), "")?;
        fake.clear_requests();
        let run = scratch.run(&["-v", "sync", "stripe"])?;
        ensure_ok(&run, "the backfill")?;
        let landed = landed(&scratch)?;
        if landed.charges != charges as i64 {
            return Err(format!("{} charges landed, not {charges}", landed.charges));
        }
        let wall = seconds(run.wall);
        figures.add("wall time", "s", wall);
        figures.add("charges/s", "", landed.charges as f64 / wall);
        figures.add("rows/s, all tables", "", landed.rows as f64 / wall);
        figures.add(
            "MB/s of objects' JSON",
            "",
            landed.bytes as f64 / 1e6 / wall,
        );
        figures.add("peak RSS", "MB", run.peak_rss_kb as f64 / 1024.0);
        figures.add(
            "peak RSS while streaming",
            "MB",
            run.streams_rss_kb as f64 / 1024.0,
        );
        figures.add("CPU time", "s", seconds(run.cpu));
        figures.add("written", "MB", run.written_bytes as f64 / 1e6);
        figures.add("requests", "", fake.requests().len() as f64);
        figures.add_some("KPI recompute", "ms", run.logged_ms("kpis recomputed"));
        endpoints = requests_by_endpoint(&fake);
    }
    figures.report(report);
    report.note(&format!("Requests per endpoint: {endpoints}."));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Incremental

/// A sync with nothing new after a backfill of `--charges` charges: with the default lookback
/// (each run reads the last 7 days again), then with none.
pub fn incremental(options: &Options, report: &mut Report) -> Result<(), String> {
    let charges = options.charges;
    let fake = start_fake(datasets::backfill(charges))?;
    let scratch = Scratch::new(&fake.base_url(), "")?;
    ensure_ok(&scratch.run(&["sync", "stripe"])?, "the first sync")?;

    report.scenario(
        "incremental",
        &format!("sync with nothing new after a backfill of {charges} charges"),
    );
    let mut notes = Vec::new();
    for (label, extra) in [("lookback 7 days", ""), ("lookback 0", "lookback_days = 0")] {
        scratch.rewrite(extra)?;
        let mut figures = Figures::default();
        let mut endpoints = String::new();
        for _ in 0..options.rounds {
            fake.clear_requests();
            let run = scratch.run(&["-v", "sync", "stripe"])?;
            ensure_ok(&run, "the incremental sync")?;
            figures.add(
                &format!("{label}: wall time"),
                "ms",
                run.wall.as_secs_f64() * 1e3,
            );
            figures.add_some(&format!("{label}: streams"), "ms", streams_ms(&run));
            // Nothing new was stored, so the KPIs recomputed earlier today stand.
            let skipped = !log_lines(&run.stderr, "kpis up to date").is_empty();
            let recompute = run.logged_ms("kpis recomputed");
            figures.add_some(&format!("{label}: KPI recompute"), "ms", recompute);
            figures.add(
                &format!("{label}: KPI recompute skipped (1 = yes)"),
                "",
                f64::from(u8::from(skipped)),
            );
            figures.add(
                &format!("{label}: requests"),
                "",
                fake.requests().len() as f64,
            );
            figures.add(
                &format!("{label}: peak RSS"),
                "MB",
                run.peak_rss_kb as f64 / 1024.0,
            );
            endpoints = requests_by_endpoint(&fake);
        }
        figures.report(report);
        notes.push(format!("{label}, requests per endpoint: {endpoints}."));
    }
    report.note(&notes.join("\n"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// KPIs

/// The KPI recompute over three years of a shop's data, as each sync ends with it.
pub fn kpi(options: &Options, report: &mut Report) -> Result<(), String> {
    let started = Instant::now();
    let fake = start_fake(datasets::shop(100))?;
    let generated = started.elapsed();
    let scratch = Scratch::new(&fake.base_url(), "lookback_days = 0")?;
    let first = scratch.run(&["-v", "sync", "stripe"])?;
    ensure_ok(&first, "the first sync")?;
    let landed = landed(&scratch)?;

    report.scenario(
        "kpi",
        &format!(
            "recompute every KPI over {} days ({} objects, {} charges)",
            datasets::SHOP_DAYS,
            landed.rows,
            landed.charges
        ),
    );
    let mut figures = Figures::default();
    figures.add_some(
        "first recompute, after the backfill",
        "ms",
        first.logged_ms("kpis recomputed"),
    );
    for _ in 0..options.rounds {
        // A sync that stores nothing new keeps the KPIs of today's last recompute; forgetting
        // that recompute makes the sync do it again, with nothing else to do.
        rusqlite::Connection::open(scratch.database())
            .and_then(|db| db.execute("DELETE FROM kpi_state", []))
            .map_err(|error| format!("forgetting the last recompute: {error}"))?;
        let run = scratch.run(&["-v", "sync", "stripe"])?;
        ensure_ok(&run, "the sync")?;
        figures.add_some("recompute", "ms", run.logged_ms("kpis recomputed"));
    }
    let rows: i64 = scratch
        .db()?
        .query_row("SELECT count(*) FROM kpis", [], |row| row.get(0))
        .map_err(|error| format!("counting KPI rows: {error}"))?;
    figures.add("KPI rows", "", rows as f64);
    figures.report(report);
    report.note(&format!(
        "Dataset generated in {:.1} s, synced in {:.1} s.",
        generated.as_secs_f64(),
        first.wall.as_secs_f64()
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Idle daemon

/// `kpisync run` between two scheduled runs: resident memory, CPU and context switches (each
/// one a wake-up) while it waits.
pub fn idle(options: &Options, report: &mut Report) -> Result<(), String> {
    let demo = Dataset::demo(jiff::Timestamp::now(), 7);
    idle_after(
        demo,
        "the demo shop",
        Duration::from_secs(60),
        options,
        report,
    )?;
    // What a large catch-up run leaves behind: its freed heap, SQLite's cache.
    let charges = options.charges;
    let catch_up = Duration::from_secs(60 + charges as u64 / 1_000);
    let what = format!("{charges} charges");
    idle_after(
        datasets::backfill(charges),
        &what,
        catch_up,
        options,
        report,
    )
}

fn idle_after(
    dataset: Dataset,
    what: &str,
    catch_up: Duration,
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let fake = start_fake(dataset)?;
    // Once a year: after its catch-up run at start, the daemon only waits.
    let scratch = Scratch::new(&fake.base_url(), "schedule = \"0 0 1 1 *\"")?;
    report.scenario(
        "idle",
        &format!("the daemon waiting for its next scheduled run, after catching up {what}"),
    );

    let mut child = scratch
        .command(&["run"])?
        .spawn()
        .map_err(|error| format!("starting kpisync run: {error}"))?;
    let pid = child.id();
    let result = watch_idle(&scratch, pid, catch_up, options.idle_secs, report);

    // SAFETY: signalling our own child, which has not been reaped yet.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let stopping = Instant::now();
    let (status, _) = crate::measure::wait(&child)?;
    let stopped = stopping.elapsed();
    // Already reaped; this only keeps `child` from being reported as leaked by lints.
    let _ = child.try_wait();
    result?;
    report.note(&format!(
        "Stopped by SIGTERM in {} ms, exit status {}.",
        stopped.as_millis(),
        libc::WEXITSTATUS(status)
    ));
    Ok(())
}

fn watch_idle(
    scratch: &Scratch,
    pid: u32,
    catch_up: Duration,
    secs: u64,
    report: &mut Report,
) -> Result<(), String> {
    // The catch-up run at start: done when its events stream is closed and KPIs exist.
    let deadline = Instant::now() + catch_up;
    loop {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() || Instant::now() > deadline {
            let log =
                std::fs::read_to_string(scratch.path().join("kpisync.err")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(3).collect();
            return Err(format!("the daemon did not settle: {}", tail.join(" / ")));
        }
        if caught_up(scratch) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));

    let before = ProcSample::read(pid)?;
    std::thread::sleep(Duration::from_secs(secs));
    let after = ProcSample::read(pid)?;
    let window = secs as f64;
    let mut figures = Figures::default();
    figures.add("RSS", "MB", after.rss_kb as f64 / 1024.0);
    figures.add(
        "peak RSS since start",
        "MB",
        after.peak_rss_kb as f64 / 1024.0,
    );
    figures.add(
        "CPU",
        "% of a core",
        (after.cpu_secs - before.cpu_secs) / window * 100.0,
    );
    figures.add(
        "context switches",
        "/s",
        after.switches_since(&before) as f64 / window,
    );
    figures.add("threads", "", after.threads as f64);
    figures.report(report);
    Ok(())
}

fn caught_up(scratch: &Scratch) -> bool {
    let Ok(db) = scratch.db() else { return false };
    let query = "SELECT (SELECT count(*) FROM sync_runs WHERE stream = 'events' AND \
                 outcome <> 'running') > 0 AND (SELECT count(*) FROM kpis) > 0";
    db.query_row(query, [], |row| row.get::<_, bool>(0))
        .unwrap_or(false)
}

/// What `/proc` says about a process at one instant.
struct ProcSample {
    rss_kb: u64,
    peak_rss_kb: u64,
    cpu_secs: f64,
    /// Context switches so far, per thread id.
    switches: Vec<(String, u64)>,
    threads: u64,
}

impl ProcSample {
    /// Context switches since `earlier`, of the threads alive at both samples.
    fn switches_since(&self, earlier: &ProcSample) -> u64 {
        self.switches
            .iter()
            .filter_map(|(thread, count)| {
                let (_, before) = earlier.switches.iter().find(|(known, _)| known == thread)?;
                Some(count.saturating_sub(*before))
            })
            .sum()
    }
}

impl ProcSample {
    fn read(pid: u32) -> Result<ProcSample, String> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|error| format!("reading /proc/{pid}/status: {error}"))?;
        let kb = |key: &str| {
            status
                .lines()
                .find(|line| line.starts_with(key))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0)
        };

        // utime and stime are the 14th and 15th fields, counted after the command name,
        // which may hold spaces but ends at the last ')'.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|error| format!("reading /proc/{pid}/stat: {error}"))?;
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|index| fields.get(*index)?.parse::<f64>().ok())
            .sum();
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;

        // A context switch of any thread is one wake-up of the process. Kept per thread, so
        // that a thread ending between two samples (an idle blocking thread) takes its count
        // with it instead of making the total go down.
        let mut switches = Vec::new();
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map_err(|error| format!("listing /proc/{pid}/task: {error}"))?;
        for task in tasks.flatten() {
            let text = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            let count = text
                .lines()
                .filter(|line| line.contains("ctxt_switches"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
            switches.push((task.file_name().to_string_lossy().into_owned(), count));
        }
        Ok(ProcSample {
            rss_kb: kb("VmRSS:"),
            peak_rss_kb: kb("VmHWM:"),
            cpu_secs: ticks / per_second,
            switches,
            threads: kb("Threads:"),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Figures over several runs

/// Samples per figure, in the order figures were first added.
#[derive(Default)]
struct Figures {
    figures: Vec<(String, String, Vec<f64>)>,
}

impl Figures {
    fn add(&mut self, name: &str, unit: &str, value: f64) {
        match self.figures.iter_mut().find(|(known, _, _)| known == name) {
            Some((_, _, samples)) => samples.push(value),
            None => self
                .figures
                .push((name.to_owned(), unit.to_owned(), vec![value])),
        }
    }

    /// Adds a figure read from the log, which an older binary may not write.
    fn add_some(&mut self, name: &str, unit: &str, value: Option<f64>) {
        self.add(name, unit, value.unwrap_or(f64::NAN));
    }

    fn report(&self, report: &mut Report) {
        for (name, unit, samples) in &self.figures {
            report.figure(name, unit, samples);
        }
    }
}
