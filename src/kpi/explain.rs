//! `kpisync kpis --explain ID`: a KPI's definition, its inputs with their sources and the
//! periods they cover, the periods its stored rows cover, and the numerator and denominator of
//! the rows asked for.

use std::fmt;

use anyhow::{Context, bail};
use jiff::civil::Date;
use rusqlite::{Connection, params};

use super::periods::{self, Period};
use super::{Grain, Input, KpiDef, UnitKind, catalog};

/// What `explain` found; `Display` renders it for a terminal.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The KPI's declaration.
    pub def: &'static KpiDef,
    /// The periods of the stored rows, per grain.
    pub coverage: Vec<Coverage>,
    /// The periods each of the KPI's inputs covers (in the order of `def.inputs`), per grain;
    /// empty for a table of row-level data.
    pub input_coverage: Vec<Vec<Coverage>>,
    /// The rows of the period asked for, or of the latest period of each grain.
    pub rows: Vec<StoredRow>,
    /// Whether `rows` are the latest ones because no period was asked for.
    pub latest: bool,
    /// Data-quality flags GA4 raised on the inputs of `rows`, one line each.
    pub flags: Vec<String>,
    /// For a KPI with alternative inputs (a manual entry or GA4, demos or visitors), which one
    /// each row of `rows` used, one line each.
    pub used: Vec<String>,
}

/// The stored rows of one grain.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// The grain.
    pub grain: Grain,
    /// The earliest `period_start`.
    pub first: String,
    /// The latest `period_start`.
    pub last: String,
    /// How many rows (periods × dimensions).
    pub rows: usize,
}

/// One row of the `kpis` table.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    /// The grain.
    pub grain: Grain,
    /// First day of the period.
    pub period_start: String,
    /// `''` or `key=value`.
    pub dimension: String,
    /// The value; `None` when the denominator was zero or unknown.
    pub value: Option<f64>,
    /// A ratio's numerator.
    pub numerator: Option<f64>,
    /// A ratio's denominator.
    pub denominator: Option<f64>,
    /// `count`, `ratio` or a currency code.
    pub unit: String,
    /// The tables that fed it.
    pub sources: String,
    /// When it was computed.
    pub computed_at: String,
}

/// Explains the KPI `id` from the rows stored in `conn`. `period_start` may be a date or a
/// label (`2026-W45`, `2026-11`); a date with a grain is moved to the start of the period of
/// that grain containing it. Without a period, the latest period of each grain is shown.
pub fn explain(
    conn: &Connection,
    id: &str,
    grain: Option<Grain>,
    period_start: Option<&str>,
) -> anyhow::Result<Explanation> {
    let Some(def) = catalog().iter().find(|def| def.id == id) else {
        bail!("'{id}' is not a KPI id (docs/kpis.md lists them)");
    };
    let coverage = periods_of(conn, "kpis WHERE kpi = ?1", &[&id])
        .with_context(|| format!("reading the rows of {id}"))?;
    let grain_name = grain.map(Grain::as_str);
    let mut input_coverage = Vec::new();
    for input in def.inputs {
        let periods = match input {
            Input::Kpi(input) => periods_of(conn, "kpis WHERE kpi = ?1", &[input]),
            Input::Metric { source, metric } => periods_of(
                conn,
                "metrics WHERE source = ?1 AND metric = ?2",
                &[source, metric],
            ),
            Input::Table { .. } => Ok(Vec::new()),
        }
        .with_context(|| format!("reading the periods of {input}"))?;
        input_coverage.push(periods);
    }

    let rows = match period_start {
        Some(text) => {
            let (grain, start) = resolve_period(grain, text)?;
            let grain = grain.map(Grain::as_str);
            query_rows(
                conn,
                "kpi = ?1 AND (?2 IS NULL OR grain = ?2) AND period_start = ?3",
                params![id, grain, start.to_string()],
            )
        }
        None => query_rows(
            conn,
            "kpi = ?1 AND (?2 IS NULL OR grain = ?2) AND period_start =
                 (SELECT max(period_start) FROM kpis AS latest
                  WHERE latest.kpi = kpis.kpi AND latest.grain = kpis.grain)",
            params![id, grain_name],
        ),
    }
    .with_context(|| format!("reading the rows of {id}"))?;

    let flags = input_flags(conn, def, &rows).context("reading the GA4 flags")?;
    let mut used = Vec::new();
    for row in &rows {
        let grain = row.grain.as_str();
        let start = &row.period_start;
        let note = super::manual::input_used(conn, id, grain, start, &row.dimension)
            .context("reading the inputs of the rows")?;
        if let Some(note) = note {
            let dimension = if row.dimension.is_empty() {
                String::new()
            } else {
                format!("  {}", row.dimension)
            };
            used.push(format!("{grain:<5}  {start}{dimension}  {note}"));
        }
    }
    Ok(Explanation {
        def,
        coverage,
        input_coverage,
        rows,
        latest: period_start.is_none(),
        flags,
        used,
    })
}

/// The GA4 metrics a KPI reads, directly or through the KPIs it is computed from.
fn ga4_inputs(def: &KpiDef, metrics: &mut Vec<&'static str>) {
    for input in def.inputs {
        match input {
            Input::Metric { source, metric }
                if *source == super::ga4::SOURCE && !metrics.contains(metric) =>
            {
                metrics.push(metric);
            }
            Input::Kpi(id) => {
                if let Some(other) = catalog().iter().find(|other| other.id == *id) {
                    ga4_inputs(other, metrics);
                }
            }
            _ => {}
        }
    }
}

/// The flags on the GA4 inputs of each shown row's period.
fn input_flags(
    conn: &Connection,
    def: &KpiDef,
    rows: &[StoredRow],
) -> rusqlite::Result<Vec<String>> {
    let mut metrics = Vec::new();
    ga4_inputs(def, &mut metrics);
    let mut lines = Vec::new();
    if metrics.is_empty() {
        return Ok(lines);
    }
    let mut seen = std::collections::BTreeSet::new();
    for row in rows {
        let grain = row.grain.as_str();
        if !seen.insert((grain, row.period_start.clone())) {
            continue;
        }
        for flag in super::ga4::flags_for(conn, &metrics, grain, &row.period_start)? {
            lines.push(format!("{grain:<5}  {}  {flag}", row.period_start));
        }
    }
    Ok(lines)
}

/// The grain (if the text or the caller fixes one) and the period start to look up.
fn resolve_period(grain: Option<Grain>, text: &str) -> anyhow::Result<(Option<Grain>, Date)> {
    let period = periods::parse(text)?;
    match (grain, period.grain) {
        (None, Grain::Day) => Ok((None, period.start)),
        (None, labelled) => Ok((Some(labelled), period.start)),
        (Some(asked), Grain::Day) => {
            Ok((Some(asked), Period::containing(asked, period.start).start))
        }
        (Some(asked), labelled) if asked == labelled => Ok((Some(asked), period.start)),
        (Some(asked), labelled) => bail!("'{text}' is a {labelled}, not a {asked}"),
    }
}

/// The periods of the rows of `rows` (a table and a filter: `kpis WHERE kpi = ?1`), per grain.
fn periods_of(
    conn: &Connection,
    rows: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<Coverage>> {
    let mut statement = conn.prepare(&format!(
        "SELECT grain, min(period_start), max(period_start), count(*) FROM {rows} GROUP BY grain"
    ))?;
    let mut coverage = Vec::new();
    let mut rows = statement.query(params)?;
    while let Some(row) = rows.next()? {
        let grain: String = row.get(0)?;
        // The table's CHECK constraint allows only these three grains.
        let Ok(grain) = grain.parse() else { continue };
        let count: i64 = row.get(3)?;
        coverage.push(Coverage {
            grain,
            first: row.get(1)?,
            last: row.get(2)?,
            rows: usize::try_from(count).unwrap_or(0),
        });
    }
    coverage.sort_by_key(|coverage| coverage.grain);
    Ok(coverage)
}

fn query_rows(
    conn: &Connection,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<Vec<StoredRow>> {
    let mut statement = conn.prepare(&format!(
        "SELECT grain, period_start, dimension, value, numerator, denominator, unit, sources,
                computed_at
         FROM kpis WHERE {filter}"
    ))?;
    let mut stored = Vec::new();
    let mut rows = statement.query(params)?;
    while let Some(row) = rows.next()? {
        let grain: String = row.get(0)?;
        let Ok(grain) = grain.parse() else { continue };
        stored.push(StoredRow {
            grain,
            period_start: row.get(1)?,
            dimension: row.get(2)?,
            value: row.get(3)?,
            numerator: row.get(4)?,
            denominator: row.get(5)?,
            unit: row.get(6)?,
            sources: row.get(7)?,
            computed_at: row.get(8)?,
        });
    }
    stored.sort_by(|left, right| {
        (left.grain, &left.period_start, &left.dimension).cmp(&(
            right.grain,
            &right.period_start,
            &right.dimension,
        ))
    });
    Ok(stored)
}

/// A number as a person reads it: at most six decimals, no trailing zeros; `—` for NULL.
fn number(value: Option<f64>) -> String {
    let Some(value) = value else {
        return "—".to_owned();
    };
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

impl fmt::Display for Coverage {
    /// `week   2026-08-03 .. 2026-11-30  (18 rows)`.
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let grain = self.grain.as_str();
        let (first, last, rows) = (&self.first, &self.last, self.rows);
        write!(out, "{grain:<5}  {first} .. {last}  ({rows} rows)")
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let def = self.def;
        writeln!(out, "{}", def.id)?;
        writeln!(out, "  formula:  {}", def.formula)?;
        writeln!(out, "  stage:    {}", def.stage.as_str())?;
        let unit = match def.unit {
            UnitKind::Money => {
                "money, in major units (the business currency; other currencies \
                                as currency=<code> rows)"
            }
            other => other.as_str(),
        };
        writeln!(out, "  unit:     {unit}")?;
        if !def.computed {
            writeln!(
                out,
                "  not computed yet; will come from: {}",
                def.sources.join(", ")
            )?;
            return Ok(());
        }
        writeln!(out, "  sources:  {}", def.sources.join(", "))?;
        writeln!(out, "  inputs:")?;
        for (input, periods) in def.inputs.iter().zip(&self.input_coverage) {
            write!(out, "    - {input}")?;
            if let Input::Kpi(id) = input
                && let Some(other) = catalog().iter().find(|other| other.id == *id)
            {
                write!(out, " ({})", other.sources.join(", "))?;
            }
            writeln!(out)?;
            if periods.is_empty() && !matches!(input, Input::Table { .. }) {
                writeln!(out, "        no rows")?;
            }
            for periods in periods {
                writeln!(out, "        {periods}")?;
            }
        }

        if self.coverage.is_empty() {
            writeln!(out, "  no rows stored yet (run `kpisync sync`)")?;
            return Ok(());
        }
        writeln!(out, "  periods stored:")?;
        for coverage in &self.coverage {
            writeln!(out, "    {coverage}")?;
        }

        let heading = if self.latest { "latest period" } else { "rows" };
        writeln!(out, "  {heading}:")?;
        if self.rows.is_empty() {
            writeln!(out, "    none for this period")?;
        }
        for row in &self.rows {
            write!(out, "    {:<5}  {}", row.grain.as_str(), row.period_start)?;
            if !row.dimension.is_empty() {
                write!(out, "  {}", row.dimension)?;
            }
            write!(out, "  {} {}", number(row.value), row.unit)?;
            if row.numerator.is_some() || row.denominator.is_some() {
                write!(
                    out,
                    "  = {} / {}",
                    number(row.numerator),
                    number(row.denominator)
                )?;
            }
            writeln!(out, "  [{}]", row.sources)?;
        }
        if !self.used.is_empty() {
            writeln!(out, "  inputs used:")?;
            for line in &self.used {
                writeln!(out, "    {line}")?;
            }
        }
        if !self.flags.is_empty() {
            writeln!(out, "  GA4 data-quality flags on the inputs:")?;
            for line in &self.flags {
                writeln!(out, "    {line}")?;
            }
        }
        Ok(())
    }
}
