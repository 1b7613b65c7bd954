//! The shapes connectors hand to the warehouse: table descriptions, rows, aggregated metric rows
//! and batches. Tables are described here and created by the warehouse, so adding an upstream
//! needs no migration of its own.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

use crate::Cursor;

/// The SQLite type of a column (tables are `STRICT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// 64-bit integer: ids, counts, money in minor units, booleans as 0/1.
    Integer,
    /// Floating point, for rates the upstream reports as such.
    Real,
    /// Text: ids, codes, ISO 8601 timestamps.
    Text,
}

impl ColumnType {
    /// The SQL type name.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::Text => "TEXT",
        }
    }
}

/// One typed column of a connector table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name, snake_case.
    pub name: &'static str,
    /// Its type; every typed column may be NULL.
    pub kind: ColumnType,
    /// What it holds, for `docs/warehouse.md`.
    pub doc: &'static str,
}

/// A row-level table, `<connector>_<stream>`. Besides the typed columns the warehouse adds
/// `raw` (the object as the upstream sent it), `version` and `synced_at`.
#[derive(Debug)]
pub struct TableSpec {
    /// Table name (`stripe_charges`).
    pub name: &'static str,
    /// The typed columns; the first one is the primary key.
    pub columns: &'static [Column],
    /// What a row is, for the docs.
    pub doc: &'static str,
}

impl TableSpec {
    /// The primary-key column.
    pub fn key(&self) -> &'static str {
        self.columns[0].name
    }
}

/// A value of a typed column.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Value::Null, Value::Integer)
    }
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        value.map_or(Value::Null, Value::Text)
    }
}

impl From<Option<&str>> for Value {
    fn from(value: Option<&str>) -> Self {
        value.map_or(Value::Null, |text| Value::Text(text.to_owned()))
    }
}

impl From<Option<bool>> for Value {
    fn from(value: Option<bool>) -> Self {
        value.map_or(Value::Null, |flag| Value::Integer(i64::from(flag)))
    }
}

impl From<Option<f64>> for Value {
    fn from(value: Option<f64>) -> Self {
        value.map_or(Value::Null, Value::Real)
    }
}

/// One object of a row-level stream, ready to upsert by its key.
#[derive(Debug, Clone)]
pub struct Row {
    /// The table it belongs to.
    pub table: &'static TableSpec,
    /// One value per typed column, in the table's order.
    pub values: Vec<Value>,
    /// The object exactly as the upstream sent it (JSON).
    pub raw: String,
    /// Unix seconds of the state this row shows. A stored row is only replaced by a row whose
    /// version is at least as new, so an old event replayed after a fresh list read is ignored.
    pub version: i64,
}

/// An aggregated number as an upstream reports it, for the `metrics` table.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The metric's name (`total_users`).
    pub metric: String,
    /// `day`, `week` or `month`.
    pub grain: String,
    /// First day of the period, ISO date.
    pub period_start: String,
    /// `''` when the metric has no dimension, else `key=value`.
    pub dimension: String,
    /// The number; `None` when the upstream withheld it (a thresholded or empty report), which
    /// is not the same as zero.
    pub value: Option<f64>,
    /// Unit: `count`, `seconds`, a currency code.
    pub unit: String,
    /// Data-quality flags the upstream raised on the number (`thresholded`, `other_row`,
    /// `sampled=0.25`, `empty`); empty when it is clean.
    pub flags: Vec<String>,
}

/// What a connector hands over at once: rows, metrics and the cursor valid after them. The
/// warehouse stores all of it in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Row-level objects to upsert.
    pub rows: Vec<Row>,
    /// Aggregated numbers to upsert.
    pub metrics: Vec<MetricRow>,
    /// The stream's cursor once this batch is stored; `None` leaves the saved cursor as is.
    pub cursor: Option<Cursor>,
    /// Warnings to record on the run.
    pub warnings: Vec<String>,
    /// Requests this batch cost, for the run's statistics.
    pub requests: u32,
}

/// The length of a period, as stored in the `grain` columns of `metrics` and `kpis`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    /// A civil day.
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
}

impl Grain {
    /// Every grain, shortest first.
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Week, Grain::Month];

    /// The stored name: `day`, `week` or `month`.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    /// The first day of the period containing `date`: itself, its week's Monday, or the 1st.
    pub fn start_of(self, date: Date) -> Date {
        match self {
            Grain::Day => date,
            // Saturating only matters for the first week of year -9999, which holds no data.
            Grain::Week => {
                date.saturating_sub(jiff::Span::new().days(date.weekday().to_monday_zero_offset()))
            }
            Grain::Month => date.first_of_month(),
        }
    }

    /// The first day of the period `steps` periods after the one starting on `start` (before
    /// it when negative); `None` outside the dates there are.
    pub fn checked_shift(self, start: Date, steps: i64) -> Option<Date> {
        let span = match self {
            Grain::Day => jiff::Span::new().try_days(steps),
            Grain::Week => jiff::Span::new().try_weeks(steps),
            Grain::Month => jiff::Span::new().try_months(steps),
        };
        start.checked_add(span.ok()?).ok()
    }

    /// The first day of the period after the one starting on `start`; `None` past the last
    /// date there is.
    pub fn checked_next(self, start: Date) -> Option<Date> {
        self.checked_shift(start, 1)
    }

    /// The first day of the period after the one starting on `start`, or the last date there
    /// is.
    pub fn next(self, start: Date) -> Date {
        self.checked_next(start).unwrap_or(Date::MAX)
    }

    /// The last day of the period starting on `start`.
    pub fn last_day(self, start: Date) -> Date {
        self.next(start).yesterday().unwrap_or(start)
    }
}

impl fmt::Display for Grain {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Grain {
    type Err = UnknownGrain;

    fn from_str(text: &str) -> Result<Grain, UnknownGrain> {
        Grain::ALL
            .into_iter()
            .find(|grain| grain.as_str() == text)
            .ok_or_else(|| UnknownGrain(text.to_owned()))
    }
}

/// A grain name that is none of `day`, `week` and `month`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGrain(pub String);

impl fmt::Display for UnknownGrain {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "unknown grain '{}' (expected day, week or month)",
            self.0
        )
    }
}

impl std::error::Error for UnknownGrain {}
