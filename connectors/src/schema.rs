//! The shapes connectors hand to the warehouse: table descriptions, rows, aggregated metric rows
//! and batches. Tables are described here and created by the warehouse, so adding an upstream
//! needs no migration of its own.

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
