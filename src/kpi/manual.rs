//! Manual inputs of the KPI engine: numbers users record with `kpisync record` or
//! `kpisync import`, stored in `metrics` with source `manual`. An entry feeds the KPIs of its
//! own grain and period only: a month's marketing spend is not spread over its days.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rusqlite::Connection;

use super::Grain;
use super::periods::{self, Calendar};

/// The table manual entries live in, as stored in the `sources` column.
pub const METRICS: &str = "metrics";

/// One manual entry of a money metric.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    grain: Grain,
    start: Date,
    value: f64,
    /// Upper-case currency code from the entry's unit; `None` means the business currency.
    currency: Option<String>,
}

/// The manual metrics the KPIs read, for all grains.
#[derive(Debug, Default)]
pub(crate) struct ManualData {
    marketing_spend: Vec<Entry>,
}

/// Manual metrics per period of one grain's calendar.
#[derive(Debug, Default)]
pub(crate) struct ManualFrame {
    /// Marketing spend per upper-case currency code, in major units; `None` for a period
    /// without an entry.
    pub marketing_spend: BTreeMap<String, Vec<Option<f64>>>,
}

impl ManualData {
    /// Reads the manual entries of `conn`.
    pub fn load(conn: &Connection) -> rusqlite::Result<ManualData> {
        Ok(ManualData {
            marketing_spend: load_entries(conn, "marketing_spend")?,
        })
    }

    /// The first and last period starts of `grain` holding an entry.
    pub fn date_range(&self, grain: Grain) -> Option<(Date, Date)> {
        let mut starts = self
            .marketing_spend
            .iter()
            .filter(|entry| entry.grain == grain);
        let first = starts.next()?.start;
        Some(starts.fold((first, first), |(low, high), entry| {
            (low.min(entry.start), high.max(entry.start))
        }))
    }

    /// The entries of `calendar`'s grain, per period; `business` is the currency of entries
    /// whose unit names none.
    pub fn frame(&self, calendar: &Calendar, business: &str) -> ManualFrame {
        let mut frame = ManualFrame::default();
        for entry in &self.marketing_spend {
            if entry.grain != calendar.grain() {
                continue;
            }
            let Some(index) = calendar.index_of_date(entry.start) else {
                continue;
            };
            let cells = frame
                .marketing_spend
                .entry(
                    entry
                        .currency
                        .clone()
                        .unwrap_or_else(|| business.to_owned()),
                )
                .or_insert_with(|| vec![None; calendar.len()]);
            cells[index] = Some(cells[index].unwrap_or(0.0) + entry.value);
        }
        frame
    }
}

/// The entries of a manual metric without dimension. An entry whose period start is not the
/// first day of a period of its grain (a week not starting on Monday) is moved to the period
/// containing it.
fn load_entries(conn: &Connection, metric: &str) -> rusqlite::Result<Vec<Entry>> {
    let mut statement = conn.prepare(
        "SELECT grain, period_start, value, unit FROM metrics
         WHERE source = 'manual' AND metric = ?1 AND dimension = '' AND value IS NOT NULL",
    )?;
    let mut entries = Vec::new();
    let mut rows = statement.query([metric])?;
    while let Some(row) = rows.next()? {
        let grain: String = row.get(0)?;
        let start: String = row.get(1)?;
        let (Ok(grain), Ok(start)) = (grain.parse::<Grain>(), start.parse::<Date>()) else {
            tracing::warn!(metric, grain, period_start = start, "manual entry ignored");
            continue;
        };
        let unit: String = row.get(3)?;
        entries.push(Entry {
            grain,
            start: periods::start_of(grain, start),
            value: row.get(2)?,
            currency: currency_of(&unit),
        });
    }
    Ok(entries)
}

/// The currency a unit names: three ASCII letters, upper-cased. Anything else (empty, or a
/// generic unit) means the business currency, the unit `kpisync record` documents.
fn currency_of(unit: &str) -> Option<String> {
    let unit = unit.trim();
    (unit.len() == 3 && unit.bytes().all(|byte| byte.is_ascii_alphabetic()))
        .then(|| unit.to_ascii_uppercase())
}
