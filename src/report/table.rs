//! The report as a terminal table: a title, then one table with a heading row per stage.

use comfy_table::{Attribute, Cell, CellAlignment, ContentArrangement, Table, presets};

use super::{Report, format, stage_title};

/// The report as text for a terminal. With a `width`, long cells (notes) wrap to fit it;
/// without one, every line is as long as it needs to be.
pub fn render(report: &Report, width: Option<u16>) -> String {
    let mut out = format!("{}\n{}\n", report.title(), report.subtitle());
    if report.is_empty() {
        out.push_str("\nNo KPI values or targets for this period: run `kpisync sync` first.\n");
        return out;
    }

    let headers = format::headers(report);
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_header(headers.iter().map(|header| Cell::new(*header)));
    match width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        None => {
            table
                .set_content_arrangement(ContentArrangement::Disabled)
                .force_no_tty();
        }
    }
    for section in &report.stages {
        let mut heading =
            vec![Cell::new(stage_title(section.stage)).add_attribute(Attribute::Bold)];
        heading.extend((1..headers.len()).map(|_| Cell::new("")));
        table.add_row(heading);
        for line in &section.lines {
            let cells = format::cells(report, line);
            let last = cells.len() - 1;
            table.add_row(cells.into_iter().enumerate().map(|(index, text)| {
                // Numbers line up on the right; the label and the note read from the left.
                let cell = Cell::new(if index == 0 {
                    format!("  {text}")
                } else {
                    text
                });
                if index == 0 || index == last {
                    cell
                } else {
                    cell.set_alignment(CellAlignment::Right)
                }
            }));
        }
    }
    out.push('\n');
    out.push_str(&table.to_string());
    out.push('\n');
    out
}
