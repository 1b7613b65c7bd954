//! The report as one self-contained HTML page, to open in a browser, attach to an e-mail or
//! print: the styles are inline, the trend charts are SVG drawn here, and the page fetches
//! nothing and runs no script. Every piece of text is escaped.

use std::fmt::Write as _;

use super::{Kind, Line, Report, Trend, format, stage_title};

/// The colour of the trend lines; the browser test looks for it in a screenshot.
pub const CHART_COLOUR: &str = "#1d4ed8";

/// Width and height of a trend chart, in CSS pixels.
const CHART_WIDTH: f64 = 132.0;
const CHART_HEIGHT: f64 = 34.0;
/// Room left around the line, so the stroke and the end dot are not cut.
const CHART_PAD: f64 = 4.0;

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --rule: #d1d9e0; --band: #f6f8fa; }
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
  border-bottom: 2px solid var(--rule); padding: 6px 8px; white-space: nowrap; }
td { border-bottom: 1px solid var(--rule); padding: 5px 8px; vertical-align: middle; }
tbody tr:nth-child(even) td { background: var(--band); }
td.number { text-align: right; white-space: nowrap; }
th.text, td.text { text-align: left; }
td.kpi code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
td.kpi .dimension { display: block; color: var(--muted); font-size: 12px; }
td.chart { width: 148px; text-align: center; }
td.chart svg { display: block; margin: 0 auto; }
td.note { overflow-wrap: anywhere; }
.flat { color: var(--muted); }
.empty { color: var(--muted); }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { font-size: 11px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
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
         Ratios are percentages; changes of ratios are in percentage points.</footer>\n\
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
    if !line.dimension.is_empty() {
        let _ = write!(
            out,
            "<span class=\"dimension\">{}</span>",
            escape(&line.dimension)
        );
    }
    out.push_str("</td>");
    for (index, cell) in cells.iter().enumerate().skip(1) {
        // A flat change is greyed. Up and down get no colour: whether up is good depends on
        // the KPI (churn, refunds).
        let trend = match (report.kind, index, line.trend()) {
            (Kind::Weekly, 3, Some(Trend::Flat)) => "flat",
            _ => "",
        };
        let _ = write!(out, "<td class=\"number {trend}\">{}</td>", escape(cell));
    }
    let _ = writeln!(
        out,
        "<td class=\"chart\">{}</td><td class=\"note text\">{}</td></tr>",
        chart(report, line),
        escape(&note)
    );
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
