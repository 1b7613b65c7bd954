//! `kpisync run` as a child process: its systemd notifications, caught on a Unix datagram socket
//! of our own named by `NOTIFY_SOCKET`, its log lines, signals to it, and waiting for it.

use std::io::BufRead;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::Bench;

/// A running daemon and what it said so far.
pub struct Daemon {
    child: Child,
    notifications: Arc<Mutex<Vec<String>>>,
    log: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    _socket_dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts `kpisync run` on the bench's configuration; `watchdog_usec` sets `WATCHDOG_USEC`.
    pub fn start(bench: &Bench, watchdog_usec: Option<u64>) -> Daemon {
        let socket_dir = tempfile::tempdir().expect("a directory for the socket");
        let path = socket_dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("binding the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout");

        let stop = Arc::new(AtomicBool::new(false));
        let notifications = Arc::new(Mutex::new(Vec::new()));
        {
            let (stop, notifications) = (Arc::clone(&stop), Arc::clone(&notifications));
            std::thread::spawn(move || {
                let mut buffer = vec![0; 4096];
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(length) = socket.recv(&mut buffer) {
                        let message = String::from_utf8_lossy(&buffer[..length]).into_owned();
                        notifications.lock().unwrap().push(message);
                    }
                }
            });
        }

        let mut command = bench.command(&["run"]);
        command
            .env("NOTIFY_SOCKET", &path)
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match watchdog_usec {
            Some(usec) => command.env("WATCHDOG_USEC", usec.to_string()),
            None => command.env_remove("WATCHDOG_USEC"),
        };
        let mut child = command.spawn().expect("kpisync run starts");

        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        Daemon {
            child,
            notifications,
            log,
            stop,
            _socket_dir: socket_dir,
        }
    }

    /// Every notification so far, one `KEY=value` line each.
    pub fn notified_lines(&self) -> Vec<String> {
        let notifications = self.notifications.lock().unwrap();
        notifications
            .iter()
            .flat_map(|message| message.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }

    /// Waits until a notification line satisfies `wanted`; panics with what came otherwise.
    pub async fn expect_notified(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let found = eventually(Duration::from_secs(30), || {
            self.notified_lines().into_iter().find(|line| wanted(line))
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "no {what} notification; got {:?}\nlog:\n{}",
                self.notified_lines(),
                self.log()
            )
        })
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `text`; panics with the log otherwise.
    pub async fn expect_logged(&self, text: &str) {
        let found = eventually(Duration::from_secs(30), || {
            self.log().contains(text).then_some(())
        })
        .await;
        assert!(
            found.is_some(),
            "never logged {text:?}; log:\n{}",
            self.log()
        );
    }

    /// Sends a signal (`TERM`, `INT`, `HUP`).
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("waiting on the child")
            .is_none()
    }

    /// Waits up to `limit` for the process to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("waiting on the child") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failed test must not leave a daemon behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Polls `check` every 50 ms until it gives something or `limit` passes.
pub async fn eventually<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
