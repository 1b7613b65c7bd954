//! The report as CSV for other tools: one row per line of the report, raw numbers (ratios as
//! 0 to 1, money in major units), the same columns for both reports, empty cells for what is
//! unknown or does not apply.

use super::Report;

/// The columns, in order.
pub const COLUMNS: [&str; 17] = [
    "report",
    "period",
    "stage",
    "kpi",
    "dimension",
    "unit",
    "value",
    "previous_value",
    "change",
    "change_ratio",
    "trend",
    "target",
    "share_of_target",
    "last_year_value",
    "year_to_date",
    "rollup",
    "note",
];

/// The report as CSV, with a header line.
pub fn render(report: &Report) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for (stage, line) in report.lines() {
        {
            let fields = [
                report.kind.as_str().to_owned(),
                report.period.to_string(),
                stage.as_str().to_owned(),
                field(line.kpi),
                field(&line.dimension),
                field(&line.unit),
                number(line.value),
                number(line.previous),
                number(line.difference()),
                number(line.relative_change()),
                line.trend()
                    .map(|trend| trend.as_str())
                    .unwrap_or("")
                    .to_owned(),
                number(line.target),
                number(line.share_of_target()),
                number(line.last_year),
                number(line.year_to_date),
                line.rollup.as_str().to_owned(),
                field(line.note.as_deref().unwrap_or("")),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

/// A raw number, shortest form that reads back the same; empty when unknown.
fn number(value: Option<f64>) -> String {
    value
        .filter(|value| value.is_finite())
        .map(|value| value.to_string())
        .unwrap_or_default()
}

/// A text field, quoted when it holds a separator, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
