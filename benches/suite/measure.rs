//! Running the kpisync binary and measuring it: wall time, CPU time and peak resident memory of
//! that one child from the kernel's own accounting (`wait4`), its output, and the figures its
//! log lines carry. Also the scratch directory and configuration each run gets.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One finished run of the binary.
pub struct Measured {
    /// From spawn to exit, as the shell would time it.
    pub wall: Duration,
    /// User plus system CPU time.
    pub cpu: Duration,
    /// Peak resident set size, KiB.
    pub peak_rss_kb: u64,
    /// The largest resident set size seen while the streams were read, before the KPI
    /// recompute, KiB (sampled, so a short spike may be missed).
    pub streams_rss_kb: u64,
    /// Bytes handed to `write` calls (SQLite's WAL, checkpoints and the log), as last seen.
    pub written_bytes: u64,
    /// Whether it exited with status 0.
    pub success: bool,
    /// What it wrote on stderr (its log).
    pub stderr: String,
}

impl Measured {
    /// The `elapsed_ms` of the first log line with `message`, if the log has one.
    pub fn logged_ms(&self, message: &str) -> Option<f64> {
        log_lines(&self.stderr, message)
            .first()
            .and_then(|fields| field(fields, "elapsed_ms"))
            .and_then(|value| value.parse().ok())
    }
}

/// Whether scratch directories outlive the run, to look into their warehouses and logs.
static KEEP: AtomicBool = AtomicBool::new(false);

/// Keeps every scratch directory (`--keep`); their paths are printed.
pub fn keep_scratch() {
    KEEP.store(true, Ordering::Relaxed);
}

/// A scratch directory with a configuration pointing at a fake Stripe.
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
    base_url: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take().filter(|_| KEEP.load(Ordering::Relaxed)) {
            eprintln!("kept {}", dir.keep().display());
        }
    }
}

impl Scratch {
    /// Writes `kpisync.toml` for `base_url`, with `extra` lines in `[connectors.stripe]`.
    pub fn new(base_url: &str, extra: &str) -> Result<Scratch, String> {
        let dir = tempfile::Builder::new()
            .prefix("kpisync-bench-")
            .tempdir()
            .map_err(|error| format!("creating a scratch directory: {error}"))?;
        let scratch = Scratch {
            dir: Some(dir),
            base_url: base_url.to_owned(),
        };
        scratch.rewrite(extra)?;
        Ok(scratch)
    }

    /// Writes the configuration again with other `extra` lines.
    pub fn rewrite(&self, extra: &str) -> Result<(), String> {
        let database = self.database();
        let key = connectors::stripe::fake::FAKE_API_KEY;
        let text = format!(
            "[warehouse]\npath = {database:?}\n\n[business]\nmodel = \"saas\"\n\
             timezone = \"Europe/Paris\"\ncurrency = \"EUR\"\n\n[connectors.stripe]\n\
             api_key = {key:?}\nbase_url = {:?}\n{extra}\n",
            self.base_url
        );
        std::fs::write(self.path().join("kpisync.toml"), text)
            .map_err(|error| format!("writing the configuration: {error}"))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        // Only `drop` takes the directory out.
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |dir| dir.path())
    }

    /// The warehouse file.
    pub fn database(&self) -> PathBuf {
        self.path().join("kpisync.db")
    }

    /// A read-only connection to the warehouse.
    pub fn db(&self) -> Result<rusqlite::Connection, String> {
        rusqlite::Connection::open_with_flags(
            self.database(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .map_err(|error| format!("opening the warehouse: {error}"))
    }

    /// `kpisync --config <scratch config> ARGS`, output to files in the directory.
    pub fn command(&self, args: &[&str]) -> Result<Command, String> {
        let open = |name: &str| {
            File::create(self.path().join(name))
                .map_err(|error| format!("creating {name}: {error}"))
        };
        let mut command = Command::new(binary());
        command
            .arg("--config")
            .arg(self.path().join("kpisync.toml"))
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .env_remove("KPISYNC_LOG")
            .stdin(Stdio::null())
            .stdout(open("kpisync.out")?)
            .stderr(open("kpisync.err")?);
        Ok(command)
    }

    /// Runs `kpisync ARGS` to its end and measures it.
    pub fn run(&self, args: &[&str]) -> Result<Measured, String> {
        let mut command = self.command(args)?;
        let started = Instant::now();
        let child = command
            .spawn()
            .map_err(|error| format!("starting kpisync: {error}"))?;
        let log = self.path().join("kpisync.err");
        let (status, usage, seen) = watch(&child, &log)?;
        let wall = started.elapsed();
        let stderr = std::fs::read_to_string(&log).unwrap_or_default();
        Ok(Measured {
            wall,
            cpu: cpu_time(&usage),
            peak_rss_kb: seen.peak_rss_kb,
            streams_rss_kb: seen.streams_rss_kb,
            written_bytes: seen.written_bytes,
            success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            stderr,
        })
    }
}

/// The binary under test: `$KPISYNC_BIN` (to compare builds), else the one cargo built.
pub fn binary() -> PathBuf {
    std::env::var_os("KPISYNC_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kpisync")))
}

/// What `/proc` showed of a child while it ran.
#[derive(Default)]
pub struct Seen {
    /// Peak resident set size (`VmHWM`), KiB.
    pub peak_rss_kb: u64,
    /// The largest `VmRSS` sampled before the last stream (`events`) was logged, KiB.
    pub streams_rss_kb: u64,
    /// `wchar` of `/proc/PID/io`.
    pub written_bytes: u64,
}

/// Waits for `child`, reading its memory and its writes every few milliseconds and following
/// its log (`log`) to tell the streams from the KPI recompute that follows them; returns its
/// wait status, resource usage and what was seen.
///
/// The peak cannot come from `wait4`: Linux carries the spawning process's high-water mark into
/// the child's `ru_maxrss` across `exec`, and this process holds the fake's whole dataset. What
/// happens in the child's last milliseconds may be missed; the sync's peak comes earlier.
pub fn watch(child: &Child, log: &Path) -> Result<(i32, libc::rusage, Seen), String> {
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| "pid out of range".to_owned())?;
    let mut seen = Seen::default();
    let mut log = LogTail::open(log);
    let mut streams_done = false;
    loop {
        let memory = memory_kb(pid);
        seen.peak_rss_kb = seen.peak_rss_kb.max(memory.map_or(0, |(_, peak)| peak));
        streams_done = streams_done || log.contains("stream=\"events\"");
        if !streams_done {
            seen.streams_rss_kb = seen.streams_rss_kb.max(memory.map_or(0, |(now, _)| now));
        }
        seen.written_bytes = seen.written_bytes.max(written_bytes(pid).unwrap_or(0));
        if let Some((status, usage)) = reap(pid, libc::WNOHANG)? {
            return Ok((status, usage, seen));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A log file read as it grows.
struct LogTail {
    file: Option<File>,
    text: String,
}

impl LogTail {
    fn open(path: &Path) -> LogTail {
        LogTail {
            file: File::open(path).ok(),
            text: String::new(),
        }
    }

    /// Whether the log written so far contains `needle`.
    fn contains(&mut self, needle: &str) -> bool {
        if let Some(file) = &mut self.file {
            // The log is ASCII text, so lossy decoding of a partly written line loses nothing.
            let mut bytes = Vec::new();
            if std::io::Read::read_to_end(file, &mut bytes).is_ok() {
                self.text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        self.text.contains(needle)
    }
}

/// `wchar` of a live process: bytes it passed to `write` and friends.
fn written_bytes(pid: libc::pid_t) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|line| line.strip_prefix("wchar:"))?
        .trim()
        .parse()
        .ok()
}

/// Waits for `child` to end and returns its wait status and resource usage.
pub fn wait(child: &Child) -> Result<(i32, libc::rusage), String> {
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| "pid out of range".to_owned())?;
    loop {
        if let Some(reaped) = reap(pid, 0)? {
            return Ok(reaped);
        }
    }
}

/// `wait4` on our child `pid`; `None` while it runs (with `WNOHANG`). `Child::wait` is never
/// called on these children, so the pid is still ours to reap.
fn reap(pid: libc::pid_t, options: i32) -> Result<Option<(i32, libc::rusage)>, String> {
    let mut status = 0;
    // SAFETY: `rusage` is plain old data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals; `pid` is an unreaped child of ours.
    let reaped = unsafe { libc::wait4(pid, &mut status, options, &mut usage) };
    if reaped == pid {
        return Ok(Some((status, usage)));
    }
    if reaped == 0 {
        return Ok(None);
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::Interrupted {
        return Ok(None);
    }
    Err(format!("waiting for kpisync: {error}"))
}

/// `VmRSS` and `VmHWM` of a live process, KiB.
pub fn memory_kb(pid: libc::pid_t) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| -> Option<u64> {
        status
            .lines()
            .find(|line| line.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn cpu_time(usage: &libc::rusage) -> Duration {
    let micros = |time: libc::timeval| {
        u64::try_from(time.tv_sec).unwrap_or(0) * 1_000_000
            + u64::try_from(time.tv_usec).unwrap_or(0)
    };
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// The `key=value` fields of every log line containing `message`, quotes removed.
pub fn log_lines(log: &str, message: &str) -> Vec<Vec<(String, String)>> {
    log.lines()
        .filter(|line| line.contains(message))
        .map(|line| {
            line.split_whitespace()
                .filter_map(|token| token.split_once('='))
                .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
                .collect()
        })
        .collect()
}

/// The value of `key` among `fields`.
pub fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}
