//! The report as JSON for other tools, with raw numbers (ratios as 0 to 1, money in major
//! units, rounded as [`machine`](super::machine) says, `null` for what is unknown or does not
//! apply). `docs/reports.md` documents the shape.

use serde::Serialize;

use super::machine::Numbers;
use super::{Report, Section};

#[derive(Serialize)]
struct Document<'a> {
    report: &'static str,
    period: String,
    period_start: String,
    previous_period: String,
    last_year_period: Option<String>,
    timezone: &'a str,
    currency: &'a str,
    history_periods: Vec<String>,
    stages: Vec<Stage<'a>>,
}

#[derive(Serialize)]
struct Stage<'a> {
    stage: &'static str,
    kpis: Vec<Kpi<'a>>,
}

#[derive(Serialize)]
struct Kpi<'a> {
    kpi: &'static str,
    dimension: &'a str,
    unit: &'a str,
    value: Option<f64>,
    previous_value: Option<f64>,
    change: Option<f64>,
    change_ratio: Option<f64>,
    trend: Option<&'static str>,
    assessment: Option<&'static str>,
    target: Option<f64>,
    share_of_target: Option<f64>,
    last_year_value: Option<f64>,
    year_to_date: Option<f64>,
    rollup: &'static str,
    note: Option<&'a str>,
    history: Vec<Option<f64>>,
}

/// The report as a pretty-printed JSON document, ending with a line break.
pub fn render(report: &Report) -> String {
    let document = Document {
        report: report.kind.as_str(),
        period: report.period.to_string(),
        period_start: report.period.start.to_string(),
        previous_period: report.previous.to_string(),
        last_year_period: report.last_year.map(|period| period.to_string()),
        timezone: &report.settings.timezone,
        currency: &report.settings.currency,
        history_periods: report.history.iter().map(|date| date.to_string()).collect(),
        stages: report.stages.iter().map(stage).collect(),
    };
    // Serialising plain structs of strings and numbers cannot fail; non-finite numbers
    // become null.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

fn stage(section: &Section) -> Stage<'_> {
    Stage {
        stage: section.stage.as_str(),
        kpis: section
            .lines
            .iter()
            .map(|line| {
                let numbers = Numbers::of(line);
                Kpi {
                    kpi: line.kpi,
                    dimension: &line.dimension,
                    unit: &line.unit,
                    value: numbers.value,
                    previous_value: numbers.previous,
                    change: numbers.change,
                    change_ratio: numbers.change_ratio,
                    trend: line.trend().map(|trend| trend.as_str()),
                    assessment: line.assessment().map(|assessment| assessment.as_str()),
                    target: numbers.target,
                    share_of_target: numbers.share_of_target,
                    last_year_value: numbers.last_year,
                    year_to_date: numbers.year_to_date,
                    rollup: line.rollup.as_str(),
                    note: line.note.as_deref(),
                    history: numbers.history,
                }
            })
            .collect(),
    }
}
