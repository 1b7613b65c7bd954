//! `kpisync kpis`: KPI values from the warehouse, as a table for people (KPIs down, periods
//! across, numbers written as the reports write them), or as CSV or JSON rows with the stored
//! numbers for other tools; `--explain ID` tells how a KPI is made.

use std::collections::BTreeMap;
use std::process::ExitCode;

use rusqlite::params;
use serde::Serialize;

use super::{Context, output};
use crate::config::ConfigError;
use crate::kpi::{self, Grain};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum GrainArg {
    Day,
    Week,
    Month,
}

impl From<GrainArg> for Grain {
    fn from(grain: GrainArg) -> Grain {
        match grain {
            GrainArg::Day => Grain::Day,
            GrainArg::Week => Grain::Week,
            GrainArg::Month => Grain::Month,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct KpisArgs {
    /// Period length
    #[arg(long, value_enum, default_value = "month")]
    grain: GrainArg,

    /// First period to show, a date (YYYY-MM-DD) inside it [default: the last 6 periods]
    #[arg(long, value_name = "DATE")]
    from: Option<jiff::civil::Date>,

    /// Last period to show, a date inside it
    #[arg(long, value_name = "DATE")]
    to: Option<jiff::civil::Date>,

    /// Only this funnel stage
    #[arg(long, value_parser = [
        "acquisition", "conversion", "engagement", "revenue", "recommendation",
    ])]
    stage: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    format: Format,

    /// Explain how this KPI is computed, with its stored numerator and denominator
    #[arg(long, value_name = "ID")]
    explain: Option<String>,
}

impl KpisArgs {
    /// The last periods, every stage, as a table.
    pub fn latest() -> KpisArgs {
        KpisArgs {
            grain: GrainArg::Month,
            from: None,
            to: None,
            stage: None,
            format: Format::Table,
            explain: None,
        }
    }
}

/// One stored KPI value.
#[derive(Debug, Serialize)]
pub struct KpiRow {
    pub kpi: String,
    pub grain: String,
    pub period_start: String,
    pub dimension: String,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub unit: String,
    pub sources: String,
}

pub fn run(context: &Context, args: KpisArgs) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        return Err(crate::config::ConfigError(format!("--from {from} is after --to {to}")).into());
    }
    let (warehouse, _) = context.open_existing_warehouse(&config)?;
    let grain = Grain::from(args.grain);

    if let Some(id) = &args.explain {
        if !kpi::catalog().iter().any(|def| def.id == id) {
            return Err(ConfigError(format!("{id:?} is not a KPI id (see docs/kpis.md)")).into());
        }
        let explanation = kpi::explain(warehouse.conn(), id, Some(grain), None)?;
        println!("{explanation}");
        return Ok(ExitCode::SUCCESS);
    }

    let rows = select(warehouse.conn(), grain, &args)?;
    match args.format {
        Format::Table => print_table(&rows),
        Format::Csv => print_csv(&rows)?,
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// The rows asked for, in catalogue order then period order.
pub fn select(
    conn: &rusqlite::Connection,
    grain: Grain,
    args: &KpisArgs,
) -> anyhow::Result<Vec<KpiRow>> {
    let mut statement = conn.prepare(
        "SELECT kpi, grain, period_start, dimension, value, numerator, denominator, unit, sources
           FROM kpis WHERE grain = ?1 ORDER BY period_start",
    )?;
    let all = statement
        .query_map(params![grain.as_str()], |row| {
            Ok(KpiRow {
                kpi: row.get(0)?,
                grain: row.get(1)?,
                period_start: row.get(2)?,
                dimension: row.get(3)?,
                value: row.get(4)?,
                numerator: row.get(5)?,
                denominator: row.get(6)?,
                unit: row.get(7)?,
                sources: row.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    // Periods are named by their first day; a date given by the user stands for its period.
    let from = args.from.map(|date| grain.start_of(date).to_string());
    let to = args.to.map(|date| grain.start_of(date).to_string());
    let mut periods: Vec<&str> = all.iter().map(|row| row.period_start.as_str()).collect();
    periods.dedup();
    let chosen: Vec<String> = if from.is_none() && to.is_none() {
        periods
            .iter()
            .rev()
            .take(6)
            .map(|period| period.to_string())
            .collect()
    } else {
        periods
            .iter()
            .filter(|period| from.as_deref().is_none_or(|from| **period >= from))
            .filter(|period| to.as_deref().is_none_or(|to| **period <= to))
            .map(|period| period.to_string())
            .collect()
    };

    let order: BTreeMap<&str, usize> = kpi::catalog()
        .iter()
        .enumerate()
        .map(|(index, def)| (def.id, index))
        .collect();
    let stage_ok = |id: &str| match &args.stage {
        None => true,
        Some(stage) => id.split('.').next() == Some(stage.as_str()),
    };
    let mut rows: Vec<KpiRow> = all
        .into_iter()
        .filter(|row| chosen.contains(&row.period_start) && stage_ok(&row.kpi))
        .collect();
    rows.sort_by_key(|row| {
        let position = order.get(row.kpi.as_str()).copied().unwrap_or(usize::MAX);
        (position, row.dimension.clone(), row.period_start.clone())
    });
    Ok(rows)
}

/// KPIs down, periods across; an empty cell is a period without a row, `—` a row whose value
/// is unknown.
pub fn print_table(rows: &[KpiRow]) {
    if rows.is_empty() {
        println!("no KPI values for these periods: run `kpisync sync` first");
        return;
    }
    let mut periods: Vec<&str> = rows.iter().map(|row| row.period_start.as_str()).collect();
    periods.sort_unstable();
    periods.dedup();

    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    let mut header = vec!["kpi".to_owned()];
    header.extend(periods.iter().map(|period| period.to_string()));
    table.set_header(header);

    let mut current: Option<(&str, &str)> = None;
    let mut line: Vec<String> = Vec::new();
    for row in rows {
        let key = (row.kpi.as_str(), row.dimension.as_str());
        if current != Some(key) {
            if !line.is_empty() {
                table.add_row(std::mem::take(&mut line));
            }
            current = Some(key);
            let label = if row.dimension.is_empty() {
                row.kpi.clone()
            } else {
                format!("{} [{}]", row.kpi, row.dimension)
            };
            line = vec![label];
            line.resize(periods.len() + 1, String::new());
        }
        if let Some(index) = periods
            .iter()
            .position(|period| *period == row.period_start)
        {
            line[index + 1] = output::value(row.value, &row.unit);
        }
    }
    if !line.is_empty() {
        table.add_row(line);
    }
    // Numbers line up on the right, as in the reports.
    for column in table.column_iter_mut().skip(1) {
        column.set_cell_alignment(comfy_table::CellAlignment::Right);
    }
    println!("{table}");
}

fn print_csv(rows: &[KpiRow]) -> anyhow::Result<()> {
    println!("kpi,grain,period_start,dimension,value,numerator,denominator,unit,sources");
    let number = |value: Option<f64>| value.map(|value| value.to_string()).unwrap_or_default();
    for row in rows {
        println!(
            "{},{},{},{},{},{},{},{},{}",
            csv_field(&row.kpi),
            row.grain,
            row.period_start,
            csv_field(&row.dimension),
            number(row.value),
            number(row.numerator),
            number(row.denominator),
            csv_field(&row.unit),
            csv_field(&row.sources),
        );
    }
    Ok(())
}

/// Quotes a CSV field when it holds a separator, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
