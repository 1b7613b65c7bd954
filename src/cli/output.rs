//! Output helpers shared by the commands: tables for people, durations, and KPI values
//! written the way the reports write them.

use comfy_table::{ContentArrangement, Table, presets};

/// A KPI value for people (`€1,234.56`, `12.3 %`, `—` for unknown): the reports' own
/// formatting, so that every command shows a number the same way.
pub use crate::report::format::value;

/// A table with the house style and these headers.
pub fn table<const N: usize>(headers: [&str; N]) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers);
    table
}

/// A duration in seconds with one decimal.
pub fn seconds(duration: std::time::Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
