//! `kpisync status`: per connector, the next scheduled run, the last run's outcome and how old
//! the data is; per stream, the last run, rows, the saved cursor and the last error or
//! warnings. Exits 1 when an enabled connector's data is older than its threshold, so that it
//! can serve as a monitoring check.

use std::process::ExitCode;
use std::time::Duration;

use rusqlite::params;

use super::{Context, output};
use crate::config::Config;
use crate::daemon::health::{ConnectorHealth, human, stale_after};
use crate::daemon::schedule::Schedule;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Data older than this many hours is stale [default: daemon.stale_after_hours, else two
    /// schedule intervals plus one hour]
    #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u64).range(1..))]
    stale_after_hours: Option<u64>,
}

/// One line of the status table.
struct StreamStatus {
    connector: String,
    stream: String,
    started_at: String,
    outcome: String,
    rows: i64,
    error: Option<String>,
    warnings: Option<String>,
    cursor: Option<String>,
    last_ok: Option<String>,
}

pub fn run(context: &Context, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    let (warehouse, path) = context.open_warehouse(&config)?;
    println!("warehouse {}", super::shown(&path));
    // GA4's property time zone and the data-quality flags on its numbers.
    let timezone = &config.business.timezone_name;
    for note in crate::kpi::ga4::status_notes(warehouse.conn(), timezone)? {
        println!("{note}");
    }

    let now = jiff::Timestamp::now();
    let threshold = args
        .stale_after_hours
        .map(|hours| Duration::from_secs(hours.saturating_mul(3600)))
        .or(config.daemon.stale_after);
    let stale = print_connectors(&config, warehouse.conn(), threshold, now)?;

    let statuses = load(warehouse.conn())?;
    if statuses.is_empty() {
        println!("no sync has run yet: `kpisync sync`, or start the service");
    } else {
        print_streams(statuses, now, &config.business.timezone);
    }
    for line in &stale {
        println!("stale: {line}");
    }
    Ok(if stale.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The per-connector table; returns one line per enabled connector whose data is stale.
fn print_connectors(
    config: &Config,
    conn: &rusqlite::Connection,
    threshold: Option<Duration>,
    now: jiff::Timestamp,
) -> anyhow::Result<Vec<String>> {
    let mut table = output::table([
        "connector",
        "schedule",
        "next run",
        "last run",
        "result",
        "data age",
        "stale after",
    ]);
    let mut stale = Vec::new();
    for entry in &config.connectors {
        let key = format!("connectors.{}.schedule", entry.name);
        let schedule = Schedule::parse(&key, &entry.schedule, config.business.timezone.clone())?;
        let health = ConnectorHealth::load(conn, entry.name)?;
        let local = |at: jiff::Timestamp| {
            at.to_zoned(config.business.timezone.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        };
        let limit = stale_after(&schedule, threshold, now);
        let age = health.age(now);
        let next = match (entry.enabled, schedule.next_after(now)) {
            (false, _) => "disabled".to_owned(),
            (true, Some(next)) => local(next),
            (true, None) => "never".to_owned(),
        };
        if entry.enabled {
            let limit_signed =
                jiff::SignedDuration::try_from(limit).unwrap_or(jiff::SignedDuration::MAX);
            match age {
                None => stale.push(format!("{} was never synced completely", entry.name)),
                Some(age) if age > limit_signed => stale.push(format!(
                    "{} data is {} old, more than {}",
                    entry.name,
                    human(age),
                    human(limit_signed)
                )),
                Some(_) => {}
            }
        }
        table.add_row([
            entry.name.to_owned(),
            entry.schedule.clone(),
            next,
            health
                .last_started
                .map(local)
                .unwrap_or_else(|| "never".into()),
            health.last_outcome.clone().unwrap_or_else(|| "—".into()),
            age.map(human).unwrap_or_else(|| "never synced".into()),
            human(jiff::SignedDuration::try_from(limit).unwrap_or(jiff::SignedDuration::MAX)),
        ]);
    }
    println!("{table}");
    Ok(stale)
}

/// The per-stream table.
fn print_streams(statuses: Vec<StreamStatus>, now: jiff::Timestamp, tz: &jiff::tz::TimeZone) {
    let mut table = output::table([
        "connector",
        "stream",
        "last run",
        "result",
        "rows",
        "data up to",
        "fresh",
        "detail",
    ]);
    for status in statuses {
        let mut detail = status.error.unwrap_or_default();
        if let Some(warnings) = status.warnings {
            for warning in warnings.lines() {
                if !detail.is_empty() {
                    detail.push('\n');
                }
                detail.push_str(&format!("warning: {warning}"));
            }
        }
        table.add_row([
            status.connector,
            status.stream,
            local_time(&status.started_at, tz),
            status.outcome,
            status.rows.to_string(),
            status
                .cursor
                .as_deref()
                .map(cursor_summary)
                .unwrap_or_else(|| "—".into()),
            status
                .last_ok
                .as_deref()
                .map(|at| age(at, now))
                .unwrap_or_else(|| "never".into()),
            detail,
        ]);
    }
    println!("{table}");
}

fn load(conn: &rusqlite::Connection) -> anyhow::Result<Vec<StreamStatus>> {
    let mut statement = conn.prepare(
        "SELECT r.connector, r.stream, r.started_at, r.outcome, r.rows, r.error, r.warnings,
                s.cursor,
                (SELECT max(finished_at) FROM sync_runs o
                  WHERE o.connector = r.connector AND o.stream = r.stream AND o.outcome = 'ok')
           FROM sync_runs r
           LEFT JOIN sync_state s ON s.connector = r.connector AND s.stream = r.stream
          WHERE r.id = (SELECT max(id) FROM sync_runs l
                         WHERE l.connector = r.connector AND l.stream = r.stream)
          ORDER BY r.connector, r.id",
    )?;
    let rows = statement.query_map(params![], |row| {
        Ok(StreamStatus {
            connector: row.get(0)?,
            stream: row.get(1)?,
            started_at: row.get(2)?,
            outcome: row.get(3)?,
            rows: row.get(4)?,
            error: row.get(5)?,
            warnings: row.get(6)?,
            cursor: row.get(7)?,
            last_ok: row.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How far the cursor vouches for the data, when it says so: the newest object of a Stripe
/// list (its `watermark`, Unix seconds), or the last day every report of a GA4 sync covers (the
/// earliest `through` date of its `positions`).
fn cursor_summary(cursor: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(cursor).unwrap_or_default();
    let watermark = value.get("watermark").and_then(serde_json::Value::as_i64);
    let walking = value.get("walk").is_some_and(|walk| !walk.is_null());
    let reports_through = value
        .get("positions")
        .and_then(serde_json::Value::as_object)
        .and_then(|positions| {
            positions
                .values()
                .filter_map(|position| position.get("through")?.as_str())
                .min()
                .map(str::to_owned)
        });
    let mut text = watermark
        .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
        .map(|instant| instant.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .or(reports_through)
        .unwrap_or_else(|| "—".into());
    if walking {
        text.push_str(" (walk under way)");
    }
    text
}

/// A stored UTC instant in the business time zone, as the connector table shows times.
fn local_time(at: &str, tz: &jiff::tz::TimeZone) -> String {
    at.parse::<jiff::Timestamp>()
        .map(|instant| {
            instant
                .to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_owned())
}

/// How long ago `at` was, roughly.
fn age(at: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = at.parse::<jiff::Timestamp>() else {
        return at.to_owned();
    };
    let seconds = (now.as_second() - then.as_second()).max(0);
    match seconds {
        0..=119 => format!("{seconds} s ago"),
        120..=7199 => format!("{} min ago", seconds / 60),
        7200..=172_799 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::cursor_summary;

    #[test]
    fn cursor_summary_reads_stripe_watermarks_and_ga4_positions() {
        assert_eq!(
            cursor_summary(r#"{"watermark":1764806400,"walk":null}"#),
            "2025-12-04 00:00 UTC"
        );
        assert_eq!(
            cursor_summary(r#"{"watermark":1764806400,"walk":{"before":"ch_1"}}"#),
            "2025-12-04 00:00 UTC (walk under way)"
        );
        let ga4 = r#"{"positions":{"day:channels":{"through":"2026-12-03"},
                      "week:users":{"through":"2026-11-29"}}}"#;
        assert_eq!(cursor_summary(ga4), "2026-11-29");
        assert_eq!(cursor_summary("not json"), "—");
    }
}
