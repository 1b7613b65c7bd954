//! The weekly operational and monthly business reports of `KPIS.md`. [`build`] reads the
//! `kpis`, `targets` and `notes` tables into a [`Report`], which holds raw numbers only; one
//! module per format writes it ([`table`], [`markdown`], [`csv`], [`json`], [`html`]),
//! [`format`](mod@format) turns numbers into text for people, and [`machine`] rounds the
//! numbers the CSV and JSON formats write.
//!
//! Reports read KPIs and targets only: they never recompute a KPI, so a report shows exactly
//! what the warehouse holds.

pub mod csv;
pub mod format;
pub mod html;
pub mod json;
pub mod machine;
pub mod markdown;
pub mod table;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context as _;
use jiff::civil::Date;
use rusqlite::{Connection, params};

use crate::kpi::catalog::Stage;
use crate::kpi::periods::{self, Period};
use crate::kpi::rollup::{Direction, Rollup, direction, rollup};
use crate::kpi::{Cell, Grain, UnitKind, catalog};

/// Periods shown in each KPI's trend chart, the report's period last.
pub const HISTORY_PERIODS: usize = 12;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The weekly operational report: this week against last week, with notes.
    Weekly,
    /// The monthly business report: the month against its target, last year and the year.
    Monthly,
}

impl Kind {
    /// `weekly` or `monthly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
        }
    }

    /// The grain the report reads.
    pub fn grain(self) -> Grain {
        match self {
            Kind::Weekly => Grain::Week,
            Kind::Monthly => Grain::Month,
        }
    }
}

/// What a report says besides the numbers: the business's zone and currency.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// IANA name of `business.timezone`.
    pub timezone: String,
    /// `business.currency`.
    pub currency: String,
}

/// A report, with raw numbers; the formats decide how they read.
#[derive(Debug, Clone)]
pub struct Report {
    /// Weekly or monthly.
    pub kind: Kind,
    /// The period reported on.
    pub period: Period,
    /// The period before it (last week, last month).
    pub previous: Period,
    /// The same month a year earlier (monthly report only).
    pub last_year: Option<Period>,
    /// `business.timezone` and `business.currency`.
    pub settings: ReportSettings,
    /// The starts of the periods of the trend charts, oldest first, [`HISTORY_PERIODS`] long.
    pub history: Vec<Date>,
    /// The stages that have lines, in catalog order.
    pub stages: Vec<Section>,
}

/// One funnel stage of a report.
#[derive(Debug, Clone)]
pub struct Section {
    /// The stage.
    pub stage: Stage,
    /// Its KPI lines, in catalog order, then by dimension.
    pub lines: Vec<Line>,
}

/// One KPI (and dimension) of a report.
#[derive(Debug, Clone)]
pub struct Line {
    /// KPI id.
    pub kpi: &'static str,
    /// `''`, or `key=value` (`channel=Email`, `currency=JPY`).
    pub dimension: String,
    /// The stored unit: `count`, `ratio`, `seconds`, `score`, `number` or a currency code.
    pub unit: String,
    /// How the KPI rolls up over months.
    pub rollup: Rollup,
    /// Which way the KPI should move.
    pub direction: Direction,
    /// The period's value; `None` when missing or unknown.
    pub value: Option<f64>,
    /// The previous period's value.
    pub previous: Option<f64>,
    /// The period's target (targets apply to the line without a dimension).
    pub target: Option<f64>,
    /// The same period a year earlier (monthly report only).
    pub last_year: Option<f64>,
    /// January to the report's month, rolled up (monthly report only).
    pub year_to_date: Option<f64>,
    /// The note for the KPI and period, on the KPI's first line.
    pub note: Option<String>,
    /// The values of the [`Report::history`] periods.
    pub history: Vec<Option<f64>>,
}

#[cfg(test)]
impl Line {
    /// A `revenue.gross` line with only a value and a previous value, for the formatting tests.
    pub(crate) fn revenue_sample(unit: &str, value: Option<f64>, previous: Option<f64>) -> Line {
        Line {
            kpi: "revenue.gross",
            dimension: String::new(),
            unit: unit.to_owned(),
            rollup: crate::kpi::rollup::Rollup::Sum,
            direction: crate::kpi::rollup::Direction::HigherIsBetter,
            value,
            previous,
            target: None,
            last_year: None,
            year_to_date: None,
            note: None,
            history: Vec::new(),
        }
    }
}

/// How a change between two periods is told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Relative change in percent (`12.5` for +12.5 %), for counts, amounts and durations.
    Percent(f64),
    /// Difference in points: percentage points for ratios, the score's own points for scores.
    Points(f64),
}

/// Which way a value went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// Higher than the previous period.
    Up,
    /// Lower.
    Down,
    /// The same, to the shown precision.
    Flat,
}

impl Trend {
    /// `up`, `down` or `flat`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trend::Up => "up",
            Trend::Down => "down",
            Trend::Flat => "flat",
        }
    }

    /// The mark printed for people.
    pub fn mark(self) -> &'static str {
        match self {
            Trend::Up => "↑",
            Trend::Down => "↓",
            Trend::Flat => "→",
        }
    }
}

/// Whether a change is good news, by the KPI's [`Direction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assessment {
    /// It moved the way that is good for the KPI: sales up, churn down.
    Better,
    /// It moved the other way.
    Worse,
    /// It did not move, to the shown precision.
    Flat,
}

impl Assessment {
    /// `better`, `worse` or `flat`.
    pub fn as_str(self) -> &'static str {
        match self {
            Assessment::Better => "better",
            Assessment::Worse => "worse",
            Assessment::Flat => "flat",
        }
    }
}

impl Line {
    /// `value - previous`, in the KPI's unit.
    pub fn difference(&self) -> Option<f64> {
        Some(self.value? - self.previous?)
    }

    /// `(value - previous) / |previous|`; `None` when the previous value is zero or missing.
    pub fn relative_change(&self) -> Option<f64> {
        let previous = self.previous?;
        (previous != 0.0).then_some(self.difference()? / previous.abs())
    }

    /// The change as told to people: points for ratios and scores, percent otherwise.
    pub fn change(&self) -> Option<Change> {
        match self.unit.as_str() {
            "ratio" => Some(Change::Points(self.difference()? * 100.0)),
            "score" => Some(Change::Points(self.difference()?)),
            _ => Some(Change::Percent(self.relative_change()? * 100.0)),
        }
    }

    /// Up, down or flat; flat when the shown change (one decimal) is zero.
    pub fn trend(&self) -> Option<Trend> {
        let shown = match self.change() {
            Some(Change::Percent(change) | Change::Points(change)) => change,
            // From zero, any rise is up even though no percentage can say by how much.
            None => self.difference()?,
        };
        Some(if shown.abs() < 0.05 {
            Trend::Flat
        } else if shown > 0.0 {
            Trend::Up
        } else {
            Trend::Down
        })
    }

    /// Whether the [`trend`](Line::trend) is good news; `None` without a trend, and for a KPI
    /// that is good neither way (a channel's share of the traffic).
    pub fn assessment(&self) -> Option<Assessment> {
        let trend = self.trend()?;
        Some(match (self.direction, trend) {
            (Direction::Neutral, _) => return None,
            (_, Trend::Flat) => Assessment::Flat,
            (Direction::HigherIsBetter, Trend::Up) | (Direction::LowerIsBetter, Trend::Down) => {
                Assessment::Better
            }
            _ => Assessment::Worse,
        })
    }

    /// `value / target`; `None` without both, or when the target is zero.
    pub fn share_of_target(&self) -> Option<f64> {
        let target = self.target?;
        (target != 0.0).then_some(self.value? / target)
    }

    /// The KPI id with its dimension, as printed: `acquisition.channel_share [channel=Email]`.
    pub fn label(&self) -> String {
        if self.dimension.is_empty() {
            self.kpi.to_owned()
        } else {
            format!("{} [{}]", self.kpi, self.dimension)
        }
    }
}

impl Report {
    /// The period's label, `2026-W48` or `2026-11`.
    pub fn title(&self) -> String {
        let name = match self.kind {
            Kind::Weekly => "Weekly report",
            Kind::Monthly => "Monthly report",
        };
        format!("{name} {}", self.period)
    }

    /// The period's days and the business settings, in one line.
    pub fn subtitle(&self) -> String {
        let last = shift(self.period.grain, self.period.start, 1)
            .ok()
            .and_then(|end| end.yesterday().ok())
            .map_or_else(String::new, |day| day.to_string());
        format!(
            "{} to {} ({}, {})",
            self.period.start, last, self.settings.timezone, self.settings.currency
        )
    }

    /// Whether the report has no line at all.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// The lines in order, with their stage.
    pub fn lines(&self) -> impl Iterator<Item = (Stage, &Line)> {
        self.stages
            .iter()
            .flat_map(|section| section.lines.iter().map(move |line| (section.stage, line)))
    }
}

/// The stage's name for people: `Acquisition`.
pub fn stage_title(stage: Stage) -> &'static str {
    match stage {
        Stage::Acquisition => "Acquisition",
        Stage::Conversion => "Conversion",
        Stage::Engagement => "Engagement",
        Stage::Revenue => "Revenue",
        Stage::Recommendation => "Recommendation",
    }
}

/// The start of the period `steps` periods after (or before, when negative) `start`.
pub fn shift(grain: Grain, start: Date, steps: i64) -> anyhow::Result<Date> {
    grain
        .checked_shift(start, steps)
        .with_context(|| format!("{steps} {grain}s from {start}"))
}

/// The last complete period of the report's grain on the civil date `today`: last ISO week,
/// last calendar month.
pub fn last_complete(kind: Kind, today: Date) -> anyhow::Result<Period> {
    let current = Period::containing(kind.grain(), today);
    Ok(Period {
        grain: current.grain,
        start: shift(current.grain, current.start, -1)?,
    })
}

/// One stored KPI row, as the report reads it.
struct StoredRow {
    kpi: String,
    period_start: Date,
    dimension: String,
    unit: String,
    cell: Cell,
}

/// Builds the report of `kind` for `period` from the warehouse.
pub fn build(
    conn: &Connection,
    kind: Kind,
    period: Period,
    settings: &ReportSettings,
) -> anyhow::Result<Report> {
    anyhow::ensure!(
        period.grain == kind.grain(),
        "a {} report covers a {}, not {period}",
        kind.as_str(),
        kind.grain()
    );
    let grain = kind.grain();
    let previous = Period {
        grain,
        start: shift(grain, period.start, -1)?,
    };
    let last_year = match kind {
        Kind::Weekly => None,
        Kind::Monthly => Some(Period {
            grain,
            start: shift(grain, period.start, -12)?,
        }),
    };
    let history = (0..HISTORY_PERIODS as i64)
        .rev()
        .map(|back| shift(grain, period.start, -back))
        .collect::<anyhow::Result<Vec<Date>>>()?;

    // Everything the report shows lies between last year's month (or the chart's first
    // period) and the period itself; January of the year is inside that range too.
    let first = last_year.map_or(history[0], |period| period.start);
    let rows = read_rows(conn, grain, first, period.start)?;
    let targets: HashMap<String, f64> =
        read_per_kpi(conn, "targets", "value", grain, period.start)?;
    let notes: HashMap<String, String> = read_per_kpi(conn, "notes", "text", grain, period.start)?;

    let mut by_key: HashMap<(&str, &str), BTreeMap<Date, &StoredRow>> = HashMap::new();
    for row in &rows {
        by_key
            .entry((row.kpi.as_str(), row.dimension.as_str()))
            .or_default()
            .insert(row.period_start, row);
    }

    let mut stages: Vec<Section> = Vec::new();
    for def in catalog() {
        let (Some(rollup), Some(direction)) = (rollup(def.id), direction(def.id)) else {
            continue;
        };
        let mut dimensions: BTreeSet<&str> = by_key
            .iter()
            .filter(|((kpi, _), series)| {
                *kpi == def.id
                    && (series.contains_key(&period.start) || series.contains_key(&previous.start))
            })
            .map(|((_, dimension), _)| *dimension)
            .collect();
        let target = targets.get(def.id).copied();
        let note = notes.get(def.id).cloned();
        if target.is_some() || note.is_some() {
            dimensions.insert("");
        }

        let mut lines = Vec::new();
        for dimension in dimensions {
            let series = by_key.get(&(def.id, dimension));
            let cell = |date: Date| series.and_then(|series| series.get(&date)).map(|r| r.cell);
            let value = |date: Date| cell(date).and_then(|cell| cell.value);
            let unit = series
                .and_then(|series| series.values().next_back())
                .map_or_else(|| default_unit(def.unit, settings), |row| row.unit.clone());
            let year_to_date = match kind {
                Kind::Weekly => None,
                Kind::Monthly => {
                    // Every month from January, those without a row too: a number taken at
                    // the period's end must be the report month's own, not an older one.
                    let no_row = Cell::ratio(None, None);
                    let mut months = Vec::new();
                    let mut month = period.start.first_of_year();
                    while month <= period.start {
                        months.push(cell(month).unwrap_or(no_row));
                        month = shift(grain, month, 1)?;
                    }
                    rollup.combine(&months)
                }
            };
            let is_first = lines.is_empty();
            lines.push(Line {
                kpi: def.id,
                dimension: dimension.to_owned(),
                unit,
                rollup,
                direction,
                value: value(period.start),
                previous: value(previous.start),
                target: if dimension.is_empty() { target } else { None },
                last_year: last_year.and_then(|last| value(last.start)),
                year_to_date,
                note: if is_first { note.clone() } else { None },
                history: history.iter().map(|date| value(*date)).collect(),
            });
        }
        if lines.is_empty() {
            continue;
        }
        match stages.last_mut() {
            Some(section) if section.stage == def.stage => section.lines.extend(lines),
            _ => stages.push(Section {
                stage: def.stage,
                lines,
            }),
        }
    }

    Ok(Report {
        kind,
        period,
        previous,
        last_year,
        settings: settings.clone(),
        history,
        stages,
    })
}

/// The unit of a KPI that has a target but no stored row yet.
fn default_unit(kind: UnitKind, settings: &ReportSettings) -> String {
    match kind {
        UnitKind::Money => settings.currency.clone(),
        kind => kind.as_str().to_owned(),
    }
}

fn read_rows(
    conn: &Connection,
    grain: Grain,
    first: Date,
    last: Date,
) -> anyhow::Result<Vec<StoredRow>> {
    let mut statement = conn.prepare(
        "SELECT kpi, period_start, dimension, unit, value, numerator, denominator
           FROM kpis
          WHERE grain = ?1 AND period_start BETWEEN ?2 AND ?3",
    )?;
    let rows = statement.query_map(
        params![grain.as_str(), first.to_string(), last.to_string()],
        |row| {
            let cell = Cell {
                value: row.get(4)?,
                numerator: row.get(5)?,
                denominator: row.get(6)?,
            };
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                cell,
            ))
        },
    )?;
    let mut stored = Vec::new();
    for row in rows {
        let (kpi, start, dimension, unit, cell) = row.context("reading the kpis table")?;
        let period_start = start
            .parse()
            .with_context(|| format!("kpis: {kpi} has a period_start {start:?}"))?;
        stored.push(StoredRow {
            kpi,
            period_start,
            dimension,
            unit,
            cell,
        });
    }
    Ok(stored)
}

/// Each KPI's `column` in `table` (`targets` or `notes`) for the period of `grain` starting
/// on `start`.
fn read_per_kpi<T: rusqlite::types::FromSql>(
    conn: &Connection,
    table: &str,
    column: &str,
    grain: Grain,
    start: Date,
) -> anyhow::Result<HashMap<String, T>> {
    let mut statement = conn.prepare(&format!(
        "SELECT kpi, {column} FROM {table} WHERE grain = ?1 AND period_start = ?2"
    ))?;
    let values = statement
        .query_map(params![grain.as_str(), start.to_string()], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading the {table} table"))?;
    Ok(values)
}

/// Parses `--period` for a report: `2026-W48` for the weekly, `2026-11` for the monthly.
pub fn parse_period(kind: Kind, text: &str) -> anyhow::Result<Period> {
    let period = periods::parse(text)?;
    let example = match kind {
        Kind::Weekly => "2026-W48",
        Kind::Monthly => "2026-11",
    };
    anyhow::ensure!(
        period.grain == kind.grain(),
        "the {} report takes a {} such as {example}, not {text:?}",
        kind.as_str(),
        kind.grain()
    );
    Ok(period)
}
