//! The systemd notify protocol: `READY=1`, `STATUS=`, `WATCHDOG=1`, `RELOADING=1` and
//! `STOPPING=1` datagrams to `$NOTIFY_SOCKET`. Outside systemd (no such variable) every call
//! does nothing, so the daemon runs the same in a terminal.

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::debug;

/// systemd keeps status lines short in `systemctl status`; longer ones are cut here.
const MAX_STATUS_CHARS: usize = 200;

/// Talks to the service manager, when there is one.
pub struct Notifier {
    last_status: String,
}

impl Notifier {
    /// A notifier for this process.
    pub fn new() -> Notifier {
        Notifier {
            last_status: String::new(),
        }
    }

    /// How often to ping the watchdog: half the interval systemd asked for, or `None` when it
    /// asked for none (`WatchdogSec=` unset, or not under systemd).
    pub fn watchdog_period() -> Option<Duration> {
        sd_notify::watchdog_enabled()
            .filter(|interval| !interval.is_zero())
            .map(|interval| interval / 2)
    }

    /// The service is up: the warehouse is open and the schedule loaded.
    pub fn ready(&mut self, status: &str) {
        let status = one_line(status);
        send(&[NotifyState::Ready, NotifyState::Status(&status)]);
        self.last_status = status;
    }

    /// Says what the daemon is doing, when that changed.
    pub fn status(&mut self, status: &str) {
        let status = one_line(status);
        if status != self.last_status {
            send(&[NotifyState::Status(&status)]);
            self.last_status = status;
        }
    }

    /// Tells the watchdog the daemon is alive.
    pub fn ping(&self) {
        send(&[NotifyState::Watchdog]);
    }

    /// The configuration is being reloaded; `ready` follows.
    pub fn reloading(&mut self) {
        // systemd matches the reload to its request by this monotonic time stamp.
        match NotifyState::monotonic_usec_now() {
            Ok(now) => send(&[NotifyState::Reloading, now]),
            Err(error) => debug!(error = %error, "no monotonic clock for the reload notice"),
        }
    }

    /// The daemon is stopping.
    pub fn stopping(&mut self, status: &str) {
        let status = one_line(status);
        send(&[NotifyState::Stopping, NotifyState::Status(&status)]);
        self.last_status = status;
    }
}

fn send(states: &[NotifyState<'_>]) {
    // A lost notification is not worth stopping for; systemd's own timeouts cover it.
    if let Err(error) = sd_notify::notify(states) {
        debug!(error = %error, "systemd notification not sent");
    }
}

/// The protocol is one `KEY=value` per line: a status must not contain line breaks.
fn one_line(status: &str) -> String {
    let mut line: String = status
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.chars().count() > MAX_STATUS_CHARS {
        line = line.chars().take(MAX_STATUS_CHARS - 1).collect();
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_is_one_short_line() {
        assert_eq!(
            one_line("stripe failed:\nbad key"),
            "stripe failed: bad key"
        );
        let long = "x".repeat(500);
        assert_eq!(one_line(&long).chars().count(), MAX_STATUS_CHARS);
    }
}
