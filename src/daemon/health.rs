//! How fresh a connector's data is, read from `sync_runs`: the daemon decides from it whether a
//! run was missed while it was down, and `kpisync status` whether to raise the alarm. Read-only.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, OptionalExtension};

use super::schedule::Schedule;

/// A connector's latest run and the age of its data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectorHealth {
    /// When the latest run started.
    pub last_started: Option<Timestamp>,
    /// How the latest run ended, over its streams: `ok`, `failed`, `interrupted`, `running`.
    pub last_outcome: Option<String>,
    /// The latest run's first error.
    pub last_error: Option<String>,
    /// When every stream had last been synced completely: the stalest stream's latest success.
    /// `None` when some stream never succeeded.
    pub synced_up_to: Option<Timestamp>,
}

impl ConnectorHealth {
    /// Reads the health of `connector` from the warehouse.
    pub fn load(conn: &Connection, connector: &str) -> anyhow::Result<ConnectorHealth> {
        // A stream that never succeeded makes the whole connector "never synced".
        let synced_up_to: Option<String> = conn.query_row(
            "SELECT CASE WHEN count(last_ok) = count(*) THEN min(last_ok) END
               FROM (SELECT max(CASE WHEN outcome = 'ok' THEN finished_at END) AS last_ok
                       FROM sync_runs WHERE connector = ?1 GROUP BY stream)",
            [connector],
            |row| row.get(0),
        )?;
        let latest: Option<(String, String, Option<String>)> = conn
            .query_row(
                "SELECT min(started_at),
                        CASE WHEN sum(outcome = 'running') > 0 THEN 'running'
                             WHEN sum(outcome = 'failed') > 0 THEN 'failed'
                             WHEN sum(outcome = 'interrupted') > 0 THEN 'interrupted'
                             ELSE 'ok' END,
                        (SELECT error FROM sync_runs e
                          WHERE e.run_id = r.run_id AND e.connector = r.connector
                            AND e.error IS NOT NULL ORDER BY e.id LIMIT 1)
                   FROM sync_runs r
                  WHERE connector = ?1
                    AND run_id = (SELECT max(run_id) FROM sync_runs WHERE connector = ?1)
                  GROUP BY run_id",
                [connector],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let (last_started, last_outcome, last_error) = match latest {
            Some((started, outcome, error)) => (started.parse().ok(), Some(outcome), error),
            None => (None, None, None),
        };
        Ok(ConnectorHealth {
            last_started,
            last_outcome,
            last_error,
            synced_up_to: synced_up_to.and_then(|at| at.parse().ok()),
        })
    }

    /// How old the data is at `now`; `None` when it was never synced completely.
    pub fn age(&self, now: Timestamp) -> Option<SignedDuration> {
        self.synced_up_to.map(|at| now.duration_since(at))
    }

    /// True when the data is older than one interval of `schedule`, or was never synced: a run
    /// was missed (the machine was off, the service stopped) and one is due at once.
    pub fn missed_a_run(&self, schedule: &Schedule, now: Timestamp) -> bool {
        let Some(synced) = self.synced_up_to else {
            return true;
        };
        match schedule.interval_after(synced) {
            Some(interval) => now.duration_since(synced) >= interval,
            None => false,
        }
    }
}

/// How old a connector's data may get before `kpisync status` fails: the configured threshold,
/// or two intervals of its schedule plus an hour, which one failed run never crosses.
pub fn stale_after(schedule: &Schedule, configured: Option<Duration>, now: Timestamp) -> Duration {
    if let Some(threshold) = configured {
        return threshold;
    }
    let interval = schedule
        .interval_after(now)
        .and_then(|interval| Duration::try_from(interval).ok())
        .unwrap_or(Duration::from_secs(24 * 3600));
    interval * 2 + Duration::from_secs(3600)
}

/// A duration for people: `45 s`, `12 min`, `5 h`, `3 days`.
pub fn human(duration: SignedDuration) -> String {
    let seconds = duration.as_secs().max(0);
    match seconds {
        0..=119 => format!("{seconds} s"),
        120..=7199 => format!("{} min", seconds / 60),
        7200..=259_199 => format!("{} h", seconds / 3600),
        _ => format!("{} days", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::{RunOutcome, RunRecord, Warehouse};

    fn paris(expression: &str) -> Schedule {
        let zone = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        Schedule::parse("schedule", expression, zone).unwrap()
    }

    fn record(warehouse: &Warehouse, run_id: i64, stream: &str, outcome: RunOutcome) {
        let id = warehouse.start_run(run_id, "stripe", stream).unwrap();
        warehouse
            .finish_run(id, outcome, &RunRecord::default())
            .unwrap();
    }

    #[test]
    fn a_connector_never_synced_has_missed_its_run() {
        let warehouse = Warehouse::open_in_memory().unwrap();
        let health = ConnectorHealth::load(warehouse.conn(), "stripe").unwrap();
        assert_eq!(health, ConnectorHealth::default());
        assert!(health.missed_a_run(&paris("*/30 * * * *"), Timestamp::now()));
    }

    #[test]
    fn the_stalest_stream_sets_the_freshness_and_the_latest_run_the_outcome() {
        let warehouse = Warehouse::open_in_memory().unwrap();
        record(&warehouse, 1, "charges", RunOutcome::Ok);
        record(&warehouse, 1, "events", RunOutcome::Ok);
        warehouse
            .conn()
            .execute(
                "UPDATE sync_runs SET finished_at = '2026-01-01T10:00:00Z' WHERE stream = 'events'",
                [],
            )
            .unwrap();
        record(&warehouse, 2, "charges", RunOutcome::Ok);
        record(&warehouse, 2, "events", RunOutcome::Failed);

        let health = ConnectorHealth::load(warehouse.conn(), "stripe").unwrap();
        assert_eq!(
            health.synced_up_to,
            Some("2026-01-01T10:00:00Z".parse().unwrap())
        );
        assert_eq!(health.last_outcome.as_deref(), Some("failed"));
        let now: Timestamp = "2026-01-01T10:20:00Z".parse().unwrap();
        assert!(!health.missed_a_run(&paris("*/30 * * * *"), now));
        let later: Timestamp = "2026-01-01T10:31:00Z".parse().unwrap();
        assert!(health.missed_a_run(&paris("*/30 * * * *"), later));
    }

    #[test]
    fn a_stream_that_never_succeeded_makes_the_connector_unsynced() {
        let warehouse = Warehouse::open_in_memory().unwrap();
        record(&warehouse, 1, "charges", RunOutcome::Ok);
        record(&warehouse, 1, "events", RunOutcome::Failed);
        let health = ConnectorHealth::load(warehouse.conn(), "stripe").unwrap();
        assert_eq!(health.synced_up_to, None);
    }

    #[test]
    fn the_default_threshold_follows_the_schedule() {
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let half_hourly = stale_after(&paris("*/30 * * * *"), None, now);
        assert_eq!(half_hourly, Duration::from_secs(2 * 3600));
        let daily = stale_after(&paris("0 6 * * *"), None, now);
        assert_eq!(daily, Duration::from_secs(49 * 3600));
        let configured = stale_after(&paris("0 6 * * *"), Some(Duration::from_secs(60)), now);
        assert_eq!(configured, Duration::from_secs(60));
    }
}
