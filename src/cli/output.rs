//! Output helpers shared by the commands: tables for people, numbers formatted plainly.

use comfy_table::{ContentArrangement, Table, presets};

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

/// A number for people: integers without decimals, others with two, ratios in percent.
pub fn value(value: Option<f64>, unit: &str) -> String {
    let Some(value) = value else {
        return "—".to_owned();
    };
    match unit {
        "ratio" => format!("{:.1} %", value * 100.0),
        "count" if value.fract() == 0.0 => format!("{value:.0}"),
        "count" => format!("{value:.2}"),
        "seconds" => format!("{value:.0} s"),
        unit => match iso_currency::Currency::from_code(unit) {
            Some(currency) => {
                let decimals = currency.exponent().unwrap_or(2) as usize;
                format!("{value:.decimals$} {unit}")
            }
            // Plain numbers (actions per user, a score) need no unit beside them.
            None => format!("{value:.2}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::value;

    #[test]
    fn values_read_as_people_expect() {
        assert_eq!(value(None, "ratio"), "—");
        assert_eq!(value(Some(0.1234), "ratio"), "12.3 %");
        assert_eq!(value(Some(3.0), "count"), "3");
        assert_eq!(value(Some(1000.0), "JPY"), "1000 JPY");
        assert_eq!(value(Some(1.2345), "KWD"), "1.234 KWD");
        assert_eq!(value(Some(17.2222), "number"), "17.22");
    }
}
