//! The report as CSV for other tools: one row per line of the report, raw numbers (ratios as
//! 0 to 1, money in major units, rounded as [`machine`](super::machine) says), the same
//! columns for both reports, empty cells for what is unknown or does not apply.

use super::Report;
use super::machine::Numbers;

/// The columns, in order.
pub const COLUMNS: [&str; 18] = [
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
    "assessment",
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
            let numbers = Numbers::of(line);
            let fields = [
                report.kind.as_str().to_owned(),
                report.period.to_string(),
                stage.as_str().to_owned(),
                field(line.kpi),
                field(&line.dimension),
                field(&line.unit),
                number(numbers.value),
                number(numbers.previous),
                number(numbers.change),
                number(numbers.change_ratio),
                line.trend()
                    .map(|trend| trend.as_str())
                    .unwrap_or("")
                    .to_owned(),
                line.assessment()
                    .map(|assessment| assessment.as_str())
                    .unwrap_or("")
                    .to_owned(),
                number(numbers.target),
                number(numbers.share_of_target),
                number(numbers.last_year),
                number(numbers.year_to_date),
                line.rollup.as_str().to_owned(),
                field(&defused(line.note.as_deref().unwrap_or(""))),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
    }
    out
}

/// A number, in the shortest form that reads back the same; empty when unknown.
fn number(value: Option<f64>) -> String {
    value
        .filter(|value| value.is_finite())
        .map(|value| value.to_string())
        .unwrap_or_default()
}

/// A note as spreadsheets may safely open it: text starting like a formula (`=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading `'`, which spreadsheets read as "this is
/// text" and do not show. Notes are free text typed by people; the other text columns are ids.
fn defused(note: &str) -> std::borrow::Cow<'_, str> {
    if note.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{note}"))
    } else {
        std::borrow::Cow::Borrowed(note)
    }
}

/// A text field, quoted when it holds a separator, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::{defused, field};

    #[test]
    fn notes_that_look_like_formulas_stay_text() {
        assert_eq!(defused("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defused("-5 % after the outage"), "'-5 % after the outage");
        assert_eq!(defused("@team look"), "'@team look");
        assert_eq!(defused("Black Friday"), "Black Friday");
        assert_eq!(
            field(&defused("+1, then \"more\"")),
            "\"'+1, then \"\"more\"\"\""
        );
    }
}
