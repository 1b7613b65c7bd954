//! The daemon's connectors, one slot each: the built connector, its schedule, when it is next
//! due, the guard that keeps its runs from overlapping, and how its last run went. Built from
//! the configuration at start and again on every reload.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors::Connector;
use jiff::Timestamp;
use tokio::sync::{Mutex, OwnedMutexGuard};
use tracing::{info, warn};

use super::health::{ConnectorHealth, human};
use super::runner::{Finished, Outcome};
use super::schedule::Schedule;
use crate::config::{Config, ConfigError};

/// One enabled connector, as the daemon schedules it.
pub struct Slot {
    connector: Arc<dyn Connector>,
    schedule: Schedule,
    zone_name: String,
    next_due: Option<Timestamp>,
    /// Due at once because a run was missed: no random delay.
    catch_up: bool,
    last: Option<Finished>,
}

/// A run to start now.
pub struct DueRun {
    /// The connector to sync.
    pub connector: Arc<dyn Connector>,
    /// The random delay before it starts.
    pub delay: Duration,
    /// Its run guard, held by the run.
    pub guard: OwnedMutexGuard<()>,
}

/// Every slot, plus the run guards, which outlive reloads so that a run started under the old
/// configuration still blocks the next one.
#[derive(Default)]
pub struct Slots {
    slots: BTreeMap<&'static str, Slot>,
    guards: BTreeMap<&'static str, Arc<Mutex<()>>>,
}

/// Slots built from a configuration, not installed yet.
pub struct Built(BTreeMap<&'static str, Slot>);

impl Built {
    /// The connectors' names.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.keys().copied().collect()
    }
}

/// Builds a slot for every enabled connector: its secrets resolved and its schedule parsed,
/// so that a bad configuration is refused before anything changes.
pub fn build(config: &Config) -> Result<Built, ConfigError> {
    let mut slots = BTreeMap::new();
    for entry in config.select(&[])? {
        let key = format!("connectors.{}.schedule", entry.name);
        let zone = config.business.timezone.clone();
        let schedule = Schedule::parse(&key, &entry.schedule, zone)?;
        let connector = entry.build()?;
        let now = Timestamp::now();
        if schedule.next_after(now).is_none() {
            warn!(
                connector = entry.name,
                schedule = entry.schedule,
                "schedule never runs"
            );
        }
        let interval = schedule
            .interval_after(now)
            .map(|interval| interval.as_secs());
        if interval.is_some_and(|interval| interval <= entry.timeout.as_secs() as i64) {
            // A request that hangs then holds the connector past its next run.
            warn!(
                connector = entry.name,
                timeout_secs = entry.timeout.as_secs(),
                interval_secs = interval,
                "request timeout is not shorter than the schedule interval"
            );
        }
        slots.insert(
            entry.name,
            Slot {
                connector,
                schedule,
                zone_name: config.business.timezone_name.clone(),
                next_due: None,
                catch_up: false,
                last: None,
            },
        );
    }
    Ok(Built(slots))
}

impl Slots {
    /// Installs freshly built slots. A connector whose schedule did not change keeps its next
    /// run and last outcome; any other one is due at once if it missed a run (its `health`
    /// says so), else at its next scheduled time.
    pub fn install(
        &mut self,
        built: Built,
        health: &BTreeMap<&'static str, ConnectorHealth>,
        now: Timestamp,
    ) {
        let mut old = std::mem::take(&mut self.slots);
        for (name, mut slot) in built.0 {
            self.guards.entry(name).or_default();
            let unchanged = old.remove(name).filter(|previous| {
                previous.schedule.expression() == slot.schedule.expression()
                    && previous.zone_name == slot.zone_name
            });
            if let Some(previous) = unchanged {
                slot.next_due = previous.next_due;
                slot.catch_up = previous.catch_up;
                slot.last = previous.last;
            } else if health
                .get(name)
                .is_none_or(|health| health.missed_a_run(&slot.schedule, now))
            {
                let synced_up_to = health
                    .get(name)
                    .and_then(|health| health.synced_up_to)
                    .map(|at| at.to_string());
                info!(connector = name, synced_up_to, "missed a run, syncing now");
                slot.next_due = Some(now);
                slot.catch_up = true;
            } else {
                slot.next_due = slot.schedule.next_after(now);
            }
            self.slots.insert(name, slot);
        }
    }

    /// The runs due at `now`, each with its guard taken; moves every due slot to its next
    /// time. A connector still running when due is skipped, and says so.
    pub fn take_due(&mut self, now: Timestamp, max_jitter: Duration) -> Vec<DueRun> {
        let mut due = Vec::new();
        for (name, slot) in &mut self.slots {
            if slot.next_due.is_none_or(|at| now < at) {
                continue;
            }
            // From now, not from the due time: after a suspend or a clock jump the connector
            // runs once, not once per missed time.
            slot.next_due = slot.schedule.next_after(now);
            let catch_up = std::mem::take(&mut slot.catch_up);
            let guard = Arc::clone(self.guards.entry(name).or_default());
            let Ok(guard) = guard.try_lock_owned() else {
                warn!(
                    connector = *name,
                    "previous run still going, skipping this one"
                );
                continue;
            };
            let delay = if catch_up {
                Duration::ZERO
            } else {
                spread(&slot.schedule, now, max_jitter)
            };
            due.push(DueRun {
                connector: Arc::clone(&slot.connector),
                delay,
                guard,
            });
        }
        due
    }

    /// Records a finished run.
    pub fn finished(&mut self, finished: Finished) {
        if let Some(slot) = self.slots.get_mut(finished.connector) {
            slot.last = Some(finished);
        }
    }

    /// The connectors with a run going (or waiting out its delay) in this process.
    pub fn running(&self) -> Vec<&'static str> {
        self.guards
            .iter()
            .filter(|(_, guard)| guard.try_lock().is_err())
            .map(|(name, _)| *name)
            .collect()
    }

    /// What the daemon is doing, for systemd's status line: what runs, what is next, what
    /// failed.
    pub fn status_line(&self, now: Timestamp) -> String {
        let running = self.running();
        let mut parts = Vec::new();
        if !running.is_empty() {
            parts.push(format!("syncing {}", running.join(", ")));
        }
        for (name, slot) in &self.slots {
            if let Some(Finished {
                outcome: Outcome::Failed(error),
                at,
                ..
            }) = &slot.last
            {
                let ago = human(now.duration_since(*at));
                parts.push(format!("{name} failed {ago} ago: {error}"));
            }
        }
        let next = self
            .slots
            .iter()
            .filter(|(name, _)| !running.contains(name))
            .filter_map(|(name, slot)| Some((slot.next_due?, *name, &slot.schedule)))
            .min_by_key(|(at, _, _)| *at);
        if let Some((at, name, schedule)) = next {
            let local = at.to_zoned(schedule.zone().clone());
            parts.push(format!(
                "next: {name} at {}",
                local.strftime("%Y-%m-%d %H:%M:%S %Z")
            ));
        }
        if parts.is_empty() {
            return "idle, no connector enabled".into();
        }
        parts.join("; ")
    }
}

/// A random delay of up to `max_jitter`, and never more than a tenth of the schedule's
/// interval, so that connectors sharing a schedule do not all start on the same second.
fn spread(schedule: &Schedule, now: Timestamp, max_jitter: Duration) -> Duration {
    let interval = schedule
        .interval_after(now)
        .and_then(|interval| Duration::try_from(interval).ok())
        .unwrap_or(max_jitter);
    let limit = max_jitter.min(interval / 10);
    let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=limit_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_stays_under_a_tenth_of_the_interval() {
        let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        let every_four = Schedule::parse("s", "*/4 * * * * *", zone.clone()).unwrap();
        let now = Timestamp::now();
        for _ in 0..200 {
            assert!(
                spread(&every_four, now, Duration::from_secs(30)) <= Duration::from_millis(400)
            );
        }
        let half_hourly = Schedule::parse("s", "*/30 * * * *", zone).unwrap();
        for _ in 0..200 {
            assert!(spread(&half_hourly, now, Duration::from_secs(30)) <= Duration::from_secs(30));
        }
        assert_eq!(spread(&half_hourly, now, Duration::ZERO), Duration::ZERO);
    }
}
