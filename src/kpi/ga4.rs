//! The GA4 inputs of the KPI engine: the metrics the GA4 connector stores (source `ga4`), read
//! once per recompute, and the compute functions of the KPIs they feed. Every grain reads its
//! own rows: a week's visitors are GA4's weekly answer, never a sum of days. GA4 periods are
//! the property's days, used as they are (GA4 cannot re-cut them in another zone).
//!
//! A value GA4 withheld (a thresholded or empty report) is stored as NULL and gives a NULL
//! KPI, not a zero; its flags are shown by `kpisync kpis --explain` and `kpisync status`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use rusqlite::{Connection, params};

use super::manual::METRICS;
use super::periods::Calendar;
use super::{Cell, Frame, Grain, Series};

/// The `source` of GA4 rows in `metrics`.
pub const SOURCE: &str = "ga4";

/// The stored metrics the KPIs read.
const READ: [&str; 9] = [
    "total_users",
    "active_users",
    "sessions",
    "user_engagement_duration",
    "event_count",
    "landing_users",
    "sign_ups",
    "lead_magnet_downloads",
    "app_downloads",
];

/// One stored GA4 number.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    grain: Grain,
    start: Date,
    metric: String,
    dimension: String,
    value: Option<f64>,
}

/// Every GA4 number the KPIs read, for all grains.
#[derive(Debug, Default)]
pub(crate) struct Ga4Data {
    entries: Vec<Entry>,
}

/// One metric and dimension over a grain's calendar: `None` where GA4 has no row, `Some(None)`
/// where its value is unknown.
type Cells = Vec<Option<Option<f64>>>;

/// GA4 numbers per period of one grain's calendar.
#[derive(Debug, Default)]
pub(crate) struct Ga4Frame {
    series: BTreeMap<(String, String), Cells>,
}

impl Ga4Data {
    /// Reads the GA4 metrics of `conn`.
    pub fn load(conn: &Connection) -> rusqlite::Result<Ga4Data> {
        let mut statement = conn.prepare(
            "SELECT grain, period_start, metric, dimension, value FROM metrics
             WHERE source = ?1",
        )?;
        let mut rows = statement.query([SOURCE])?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next()? {
            let metric: String = row.get(2)?;
            if !READ.contains(&metric.as_str()) {
                continue;
            }
            let grain: String = row.get(0)?;
            let start: String = row.get(1)?;
            let (Ok(grain), Ok(start)) = (grain.parse::<Grain>(), start.parse::<Date>()) else {
                tracing::warn!(metric, grain, period_start = start, "ga4 metric ignored");
                continue;
            };
            entries.push(Entry {
                grain,
                start,
                metric,
                dimension: row.get(3)?,
                value: row.get(4)?,
            });
        }
        Ok(Ga4Data { entries })
    }

    /// The first and last period starts of `grain` holding a GA4 number.
    pub fn date_range(&self, grain: Grain) -> Option<(Date, Date)> {
        let mut starts = self.entries.iter().filter(|entry| entry.grain == grain);
        let first = starts.next()?.start;
        Some(starts.fold((first, first), |(low, high), entry| {
            (low.min(entry.start), high.max(entry.start))
        }))
    }

    /// The numbers of `calendar`'s grain, per period.
    pub fn frame(&self, calendar: &Calendar) -> Ga4Frame {
        let mut frame = Ga4Frame::default();
        for entry in &self.entries {
            if entry.grain != calendar.grain() {
                continue;
            }
            let Some(index) = calendar.index_of_date(entry.start) else {
                continue;
            };
            let key = (entry.metric.clone(), entry.dimension.clone());
            let cells = frame
                .series
                .entry(key)
                .or_insert_with(|| vec![None; calendar.len()]);
            cells[index] = Some(entry.value);
        }
        frame
    }
}

impl Ga4Frame {
    fn cells(&self, metric: &str, dimension: &str) -> Option<&Cells> {
        self.series.get(&(metric.to_owned(), dimension.to_owned()))
    }
}

/// A count KPI straight from one metric without dimension.
pub(super) fn count(frame: &Frame<'_>, metric: &str) -> Vec<Series> {
    let Some(cells) = frame.ga4.cells(metric, "") else {
        return Vec::new();
    };
    let cells = cells
        .iter()
        .map(|cell| {
            cell.map(|value| Cell {
                value,
                numerator: None,
                denominator: None,
            })
        })
        .collect();
    vec![Series {
        dimension: String::new(),
        unit: "count".to_owned(),
        sources: METRICS.to_owned(),
        cells,
    }]
}

/// A ratio of two GA4 metrics, in periods where either has a row.
fn metric_ratio(
    frame: &Frame<'_>,
    top: (&str, &str),
    bottom: (&str, &str),
    unit: &str,
) -> Option<Series> {
    let numerators = frame.ga4.cells(top.0, top.1);
    let denominators = frame.ga4.cells(bottom.0, bottom.1);
    if numerators.is_none() && denominators.is_none() {
        return None;
    }
    let at = |cells: Option<&Cells>, index: usize| cells.and_then(|cells| cells[index]);
    let cells = (0..frame.calendar.len())
        .map(|index| {
            let (top, bottom) = (at(numerators, index), at(denominators, index));
            (top.is_some() || bottom.is_some())
                .then(|| Cell::ratio(top.flatten(), bottom.flatten()))
        })
        .collect();
    Some(Series {
        dimension: top.1.to_owned(),
        unit: unit.to_owned(),
        sources: METRICS.to_owned(),
        cells,
    })
}

/// `numerator_kpi / acquisition.visitors`, from KPIs computed earlier in the catalog.
fn per_visitor(frame: &Frame<'_>, numerator_kpi: &str) -> Vec<Series> {
    let visitors = frame
        .earlier("acquisition.visitors")
        .iter()
        .find(|series| series.dimension.is_empty());
    let numerators = frame
        .earlier(numerator_kpi)
        .iter()
        .find(|series| series.dimension.is_empty());
    // A rate needs both sides synced somewhere: no app installs tracked means no download rate.
    let (Some(visitors), Some(numerators)) = (visitors, numerators) else {
        return Vec::new();
    };
    let mut sources: BTreeSet<&str> = visitors.sources.split(',').collect();
    sources.extend(numerators.sources.split(','));
    let cells = (0..frame.calendar.len())
        .map(|index| {
            let top = numerators.at(index);
            let bottom = visitors.at(index);
            (top.is_some() || bottom.is_some()).then(|| {
                Cell::ratio(
                    top.and_then(|cell| cell.value),
                    bottom.and_then(|cell| cell.value),
                )
            })
        })
        .collect();
    vec![Series {
        dimension: String::new(),
        unit: "ratio".to_owned(),
        sources: sources.into_iter().collect::<Vec<_>>().join(","),
        cells,
    }]
}

/// `acquisition.visitors`: GA4 `totalUsers`, asked for this grain.
pub fn visitors(frame: &Frame<'_>) -> Vec<Series> {
    count(frame, "total_users")
}

/// `acquisition.sessions`.
pub fn sessions(frame: &Frame<'_>) -> Vec<Series> {
    count(frame, "sessions")
}

/// `acquisition.channel_share`: one series per default channel group.
pub fn channel_share(frame: &Frame<'_>) -> Vec<Series> {
    let channels: Vec<String> = frame
        .ga4
        .series
        .keys()
        .filter(|(metric, dimension)| metric == "sessions" && dimension.starts_with("channel="))
        .map(|(_, dimension)| dimension.clone())
        .collect();
    channels
        .iter()
        .filter_map(|channel| {
            let mut series = metric_ratio(frame, ("sessions", channel), ("sessions", ""), "ratio")?;
            // A channel gets rows only where it had sessions: no row is "no traffic from it".
            let shares = frame.ga4.cells("sessions", channel);
            for (index, cell) in series.cells.iter_mut().enumerate() {
                if shares.and_then(|shares| shares[index]).is_none() {
                    *cell = None;
                }
            }
            Some(series)
        })
        .collect()
}

/// `acquisition.landing_visitors`: unique users who landed on a configured page.
pub fn landing_visitors(frame: &Frame<'_>) -> Vec<Series> {
    count(frame, "landing_users")
}

/// `acquisition.free_signup_rate`.
pub fn free_signup_rate(frame: &Frame<'_>) -> Vec<Series> {
    per_visitor(frame, "acquisition.free_signups")
}

/// `conversion.order_rate`.
pub fn order_rate(frame: &Frame<'_>) -> Vec<Series> {
    per_visitor(frame, "conversion.orders")
}

/// `conversion.subscription_rate`.
pub fn subscription_rate(frame: &Frame<'_>) -> Vec<Series> {
    per_visitor(frame, "conversion.new_subscriptions")
}

/// `conversion.download_rate`.
pub fn download_rate(frame: &Frame<'_>) -> Vec<Series> {
    per_visitor(frame, "conversion.app_downloads")
}

/// `conversion.rate`: the business model's own rate, as computed above it.
pub fn headline_rate(frame: &Frame<'_>) -> Vec<Series> {
    frame.earlier(frame.settings.model.headline_rate()).to_vec()
}

/// `engagement.avg_session_seconds`: engagement time over sessions.
pub fn avg_session_seconds(frame: &Frame<'_>) -> Vec<Series> {
    let top = ("user_engagement_duration", "");
    metric_ratio(frame, top, ("sessions", ""), "seconds")
        .into_iter()
        .collect()
}

/// `engagement.actions_per_user`: events over active users.
pub fn actions_per_user(frame: &Frame<'_>) -> Vec<Series> {
    metric_ratio(frame, ("event_count", ""), ("active_users", ""), "number")
        .into_iter()
        .collect()
}

/// The flags GA4 raised on `metrics` for one grain and period, as `metric: flags` lines.
pub fn flags_for(
    conn: &Connection,
    metrics: &[&str],
    grain: &str,
    period_start: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT metric, dimension, flags FROM metrics
         WHERE source = ?1 AND grain = ?2 AND period_start = ?3 AND flags != ''
         ORDER BY metric, dimension",
    )?;
    let mut rows = statement.query(params![SOURCE, grain, period_start])?;
    let mut lines = Vec::new();
    while let Some(row) = rows.next()? {
        let metric: String = row.get(0)?;
        if !metrics.contains(&metric.as_str()) {
            continue;
        }
        let dimension: String = row.get(1)?;
        let flags: String = row.get(2)?;
        let name = if dimension.is_empty() {
            metric
        } else {
            format!("{metric} {dimension}")
        };
        lines.push(format!("{name}: {flags}"));
    }
    Ok(lines)
}

/// `kpisync status` lines about GA4: data-quality flags per kind, and a property time zone that
/// is not the business's.
pub fn status_notes(conn: &Connection, business_timezone: &str) -> rusqlite::Result<Vec<String>> {
    let mut notes = Vec::new();
    let zone: Option<String> = conn
        .query_row(
            "SELECT json_extract(cursor, '$.time_zone') FROM sync_state
             WHERE connector = 'ga4' AND stream = 'reports'",
            [],
            |row| row.get(0),
        )
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })?;
    if let Some(zone) = zone
        && let Some(warning) = connectors::ga4::timezone_warning(&zone, business_timezone)
    {
        notes.push(format!("warning: {warning}"));
    }

    let mut statement = conn.prepare(
        "SELECT flags, count(*), max(period_start) FROM metrics
         WHERE source = ?1 AND flags != '' GROUP BY flags ORDER BY flags",
    )?;
    let mut rows = statement.query([SOURCE])?;
    let mut by_flag: BTreeMap<String, (i64, String)> = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let flags: String = row.get(0)?;
        let count: i64 = row.get(1)?;
        let latest: String = row.get(2)?;
        for flag in flags.split(',') {
            let name = flag.split(['=', ':']).next().unwrap_or(flag).to_owned();
            let entry = by_flag.entry(name).or_insert((0, String::new()));
            entry.0 += count;
            entry.1 = entry.1.clone().max(latest.clone());
        }
    }
    for (flag, (count, latest)) in by_flag {
        let meaning = match flag.as_str() {
            "thresholded" => "GA4 may have withheld rows with few users",
            "other_row" => "rare values folded into an (other) row",
            "sampled" => "estimated from a sample",
            "empty" => "GA4 had no data; stored as unknown, not zero",
            _ => "flagged by GA4",
        };
        notes.push(format!(
            "ga4 flags: {count} metric rows {flag} ({meaning}), latest period {latest}"
        ));
    }
    Ok(notes)
}
