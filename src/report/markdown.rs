//! The report as Markdown: a title, then one table per stage, ready to paste in a wiki, an
//! issue tracker or an e-mail.

use super::{Report, format, stage_title};

/// The report as a Markdown document.
pub fn render(report: &Report) -> String {
    let mut out = format!("# {}\n\n{}\n", report.title(), report.subtitle());
    if report.is_empty() {
        out.push_str("\nNo KPI values or targets for this period.\n");
        return out;
    }
    let headers = format::headers(report);
    for section in &report.stages {
        out.push_str(&format!("\n## {}\n\n", stage_title(section.stage)));
        out.push_str(&row(headers.iter().map(|header| escape(header))));
        let rule = headers.iter().enumerate().map(|(index, _)| {
            if index == 0 || index == headers.len() - 1 {
                "---".to_owned()
            } else {
                "---:".to_owned()
            }
        });
        out.push_str(&row(rule));
        for line in &section.lines {
            let cells = format::cells(report, line).into_iter().enumerate();
            // The label is code, where Markdown escapes do not apply; only a pipe needs one,
            // for the table.
            out.push_str(&row(cells.map(|(index, cell)| match index {
                0 => format!("`{}`", cell.replace('|', "\\|")),
                _ => escape(&cell),
            })));
        }
    }
    out
}

/// One table row of escaped cells.
fn row(cells: impl Iterator<Item = String>) -> String {
    let cells: Vec<String> = cells.collect();
    format!("| {} |\n", cells.join(" | "))
}

/// A cell's text that cannot end the cell or the row early, nor turn into markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '[' | ']' | '`' | '\\' => {
                out.push('\\');
                out.push(character);
            }
            _ => out.push(character),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn cells_render_as_the_text_typed() {
        assert_eq!(
            escape("R&D: &lt; stays text"),
            "R&amp;D: &amp;lt; stays text"
        );
        assert_eq!(escape("`code` | *bold*"), "\\`code\\` \\| \\*bold\\*");
        assert_eq!(escape("<b>two\nlines</b>"), "&lt;b&gt;two lines&lt;/b&gt;");
    }
}
