//! The report as one self-contained HTML page, to open in a browser, attach to an e-mail or
//! print: the styles are inline, the trend charts are SVG drawn here, and the page fetches
//! nothing and runs no script. Every piece of text is escaped.
//!
//! A weekly change is green when it moved the KPI's good way and red (and bold) when it moved
//! the bad way; the `↑`/`↓` mark stays, so that the page reads the same in black and white.

use std::fmt::Write as _;

use super::{Assessment, Kind, Line, Report, Trend, format, stage_title};

/// The colour of the trend lines; the browser test looks for it in a screenshot.
pub const CHART_COLOUR: &str = "#1d4ed8";

/// Width and height of a trend chart, in CSS pixels.
const CHART_WIDTH: f64 = 132.0;
const CHART_HEIGHT: f64 = 34.0;
/// Room left around the line, so the stroke and the end dot are not cut.
const CHART_PAD: f64 = 4.0;

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; --band: #f6f8fa;
  --better: #1a7f37; --worse: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 40px; }
h1 { font-size: 24px; margin: 0 0 2px; }
.subtitle { color: var(--muted); margin: 0 0 20px; }
h2 { font-size: 15px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 26px 0 6px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums;
  table-layout: fixed; }
th.kpi { width: 27%; } th.number { width: 10%; } th.chart { width: 150px; }
table.monthly th.kpi { width: 27%; } table.monthly th.number { width: 8.5%; }
th { text-align: right; font-weight: 600; font-size: 12px; color: var(--muted);
  border-bottom: 2px solid var(--rule); padding: 6px 8px; vertical-align: bottom; }
td { border-bottom: 1px solid var(--rule); padding: 5px 8px; vertical-align: middle; }
tbody tr:nth-child(even) td { background: var(--band); }
td.number { text-align: right; white-space: nowrap; }
th.text, td.text { text-align: left; }
td.kpi code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
td.kpi .meta { display: block; color: var(--muted); font-size: 12px; }
th.chart { text-align: center; }
td.chart { width: 148px; text-align: center; }
td.chart svg { display: block; margin: 0 auto; }
td.note { overflow-wrap: anywhere; }
.flat { color: var(--muted); }
.better { color: var(--better); }
.worse { color: var(--worse); font-weight: 600; }
.empty { color: var(--muted); }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
@media screen and (max-width: 900px) {
  main { padding: 16px 10px 28px; }
  table, table.monthly { table-layout: auto; }
  th, td { padding-left: 5px; padding-right: 5px; }
  td.note { min-width: 9em; }
}
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 12px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  h1 { font-size: 20px; }
  h2 { margin-top: 16px; break-after: avoid; }
  thead { display: table-header-group; }
  tr, td { break-inside: avoid; }
  td { padding: 3px 8px; }
  td.chart svg { width: 110px; height: 28px; }
  footer { margin-top: 16px; }
}
"#;

/// The report as an HTML document.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let title = escape(&report.title());
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n<p class=\"subtitle\">{}</p>\n",
        escape(&report.subtitle())
    );
    if report.is_empty() {
        out.push_str("<p class=\"empty\">No KPI values or targets for this period.</p>\n");
    }
    for section in &report.stages {
        let _ = write!(
            out,
            "<section>\n<h2>{}</h2>\n<table class=\"{}\">\n<thead><tr>",
            stage_title(section.stage),
            report.kind.as_str()
        );
        let headers = format::headers(report);
        let last = headers.len() - 1;
        for (index, header) in headers.iter().enumerate() {
            if index == last {
                let _ = write!(out, "<th class=\"chart\">{}</th>", chart_header(report));
            }
            let class = match index {
                0 => "kpi text",
                _ if index == last => "note text",
                _ => "number",
            };
            let _ = write!(out, "<th class=\"{class}\">{}</th>", escape(header));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for line in &section.lines {
            row(&mut out, report, line);
        }
        out.push_str("</tbody>\n</table>\n</section>\n");
    }
    out.push_str(
        "<footer>Made by kpisync from the warehouse's kpis, targets and notes tables. \
         Ratios are percentages; changes of ratios are in percentage points. A change in \
         green moved the KPI the good way, one in bold red the bad way (for some, such as \
         churn and refunds, down is good).</footer>\n\
         </main>\n</body>\n</html>\n",
    );
    out
}

fn chart_header(report: &Report) -> String {
    let unit = match report.kind {
        Kind::Weekly => "weeks",
        Kind::Monthly => "months",
    };
    format!("Last {} {unit}", report.history.len())
}

/// One table row: the label, the numbers, the chart, the note.
fn row(out: &mut String, report: &Report, line: &Line) {
    let mut cells = format::cells(report, line);
    let note = cells.pop().unwrap_or_default();
    out.push_str("<tr><td class=\"kpi text\">");
    // A long id may wrap, but only after a dot or an underscore.
    let id = escape(line.kpi)
        .replace('.', ".<wbr>")
        .replace('_', "_<wbr>");
    let _ = write!(out, "<code>{id}</code>");
    // Under the id: the dimension, then the unit in words; a currency dimension is the unit.
    let unit = format::unit_name(&line.unit);
    let meta = if line.dimension.is_empty() || line.dimension == format!("currency={}", line.unit) {
        unit
    } else {
        format!("{} · {unit}", line.dimension)
    };
    let _ = write!(out, "<span class=\"meta\">{}</span>", escape(&meta));
    out.push_str("</td>");
    for (index, cell) in cells.iter().enumerate().skip(1) {
        if report.kind == Kind::Weekly && index == 3 {
            change_cell(out, line, cell);
        } else {
            let _ = write!(out, "<td class=\"number\">{}</td>", escape(cell));
        }
    }
    let _ = writeln!(
        out,
        "<td class=\"chart\">{}</td><td class=\"note text\">{}</td></tr>",
        chart(report, line),
        escape(&note)
    );
}

/// The weekly change: green when it moved the KPI's good way, bold red when the bad way, grey
/// when flat, and said in words on hover. The word is not in the cell's text: a mail client
/// that drops the styles would show it, and a copied table would carry it.
fn change_cell(out: &mut String, line: &Line, text: &str) {
    let (class, word) = match (line.assessment(), line.trend()) {
        (Some(Assessment::Better), _) => ("number better", "better than last week"),
        (Some(Assessment::Worse), _) => ("number worse", "worse than last week"),
        (Some(Assessment::Flat), _) | (None, Some(Trend::Flat)) => ("number flat", ""),
        (None, _) => ("number", ""),
    };
    if word.is_empty() {
        let _ = write!(out, "<td class=\"{class}\">{}</td>", escape(text));
    } else {
        let _ = write!(
            out,
            "<td class=\"{class}\" title=\"{word}\">{}</td>",
            escape(text)
        );
    }
}

/// A small line chart of the line's history as inline SVG: one polyline per run of known
/// values (a missing period breaks the line), a dot on the latest known value, and a title
/// with the range for screen readers and hover.
pub fn chart(report: &Report, line: &Line) -> String {
    let known: Vec<(usize, f64)> = line
        .history
        .iter()
        .enumerate()
        .filter_map(|(index, value)| value.filter(|value| value.is_finite()).map(|v| (index, v)))
        .collect();
    let Some(&(last_index, last_value)) = known.last() else {
        return format!("<span class=\"empty\">{}</span>", format::UNKNOWN);
    };
    let low = known
        .iter()
        .map(|(_, value)| *value)
        .fold(f64::INFINITY, f64::min);
    let high = known
        .iter()
        .map(|(_, value)| *value)
        .fold(f64::NEG_INFINITY, f64::max);
    let steps = line.history.len().saturating_sub(1).max(1) as f64;
    let x = |index: usize| CHART_PAD + index as f64 * (CHART_WIDTH - 2.0 * CHART_PAD) / steps;
    let y = |value: f64| {
        if high > low {
            CHART_HEIGHT
                - CHART_PAD
                - (value - low) / (high - low) * (CHART_HEIGHT - 2.0 * CHART_PAD)
        } else {
            CHART_HEIGHT / 2.0
        }
    };

    let first = report.history.first().map(|date| date.to_string());
    let last = report.history.last().map(|date| date.to_string());
    let title = format!(
        "{}: {} to {} from {} to {}",
        line.label(),
        format::value(Some(low), &line.unit),
        format::value(Some(high), &line.unit),
        first.unwrap_or_default(),
        last.unwrap_or_default()
    );
    let mut svg = format!(
        "<svg width=\"{CHART_WIDTH}\" \
         height=\"{CHART_HEIGHT}\" viewBox=\"0 0 {CHART_WIDTH} {CHART_HEIGHT}\" role=\"img\" \
         aria-label=\"{label}\"><title>{label}</title>",
        label = escape(&title)
    );

    // Consecutive known periods make one run; a gap starts the next.
    let mut runs: Vec<Vec<(usize, f64)>> = Vec::new();
    for &(index, value) in &known {
        match runs.last_mut() {
            Some(run)
                if run
                    .last()
                    .is_some_and(|(previous, _)| previous + 1 == index) =>
            {
                run.push((index, value));
            }
            _ => runs.push(vec![(index, value)]),
        }
    }
    for run in runs.iter().filter(|run| run.len() > 1) {
        let points: Vec<String> = run
            .iter()
            .map(|(index, value)| format!("{:.1},{:.1}", x(*index), y(*value)))
            .collect();
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{CHART_COLOUR}\" \
             stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
            points.join(" ")
        );
    }
    let _ = write!(
        svg,
        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{CHART_COLOUR}\"/></svg>",
        x(last_index),
        y(last_value)
    );
    svg
}

/// Text made safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::rollup::{Direction, Rollup};

    fn change(kpi: &'static str, direction: Direction, value: f64, previous: f64) -> String {
        let line = Line {
            kpi,
            dimension: String::new(),
            unit: "EUR".to_owned(),
            rollup: Rollup::Sum,
            direction,
            value: Some(value),
            previous: Some(previous),
            target: None,
            last_year: None,
            year_to_date: None,
            note: None,
            history: Vec::new(),
        };
        let mut cell = String::new();
        change_cell(&mut cell, &line, &format::trend_and_change(&line));
        cell
    }

    #[test]
    fn a_change_is_coloured_by_the_kpis_good_way_and_keeps_its_mark() {
        let sales_up = change("revenue.gross", Direction::HigherIsBetter, 110.0, 100.0);
        assert_eq!(
            sales_up,
            "<td class=\"number better\" title=\"better than last week\">↑ +10.0 %</td>"
        );
        let refunds_up = change("revenue.refunds", Direction::LowerIsBetter, 110.0, 100.0);
        assert!(
            refunds_up.starts_with("<td class=\"number worse\""),
            "{refunds_up}"
        );
        assert!(refunds_up.contains("↑ +10.0 %"), "{refunds_up}");
        let refunds_down = change("revenue.refunds", Direction::LowerIsBetter, 90.0, 100.0);
        assert!(
            refunds_down.contains("class=\"number better\""),
            "{refunds_down}"
        );

        let spend_up = change("revenue.marketing_spend", Direction::Neutral, 110.0, 100.0);
        assert_eq!(spend_up, "<td class=\"number\">↑ +10.0 %</td>");
        let flat = change("revenue.gross", Direction::HigherIsBetter, 100.0, 100.0);
        assert_eq!(flat, "<td class=\"number flat\">→ 0.0 %</td>");
    }
}
