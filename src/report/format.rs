//! Numbers for people: amounts with their currency symbol and the currency's minor units
//! (`€1,234.56`, `¥1,000`, `KWD 1.235`), thousands separators, ratios as percentages with one
//! decimal, changes in percent or points, and `—` for what is unknown.
//!
//! The table, Markdown and HTML formats read through this module, and so do `kpisync kpis`
//! and `kpisync record`; the reports' CSV and JSON keep raw numbers ([`super::machine`]).

use super::{Change, Kind, Line, Report};

/// What is shown for a missing or unknown number.
pub const UNKNOWN: &str = "—";

/// A stored value in its unit; `—` when unknown.
pub fn value(value: Option<f64>, unit: &str) -> String {
    match value {
        Some(value) if value.is_finite() => known(value, unit),
        _ => UNKNOWN.to_owned(),
    }
}

fn known(value: f64, unit: &str) -> String {
    match unit {
        "ratio" => percent(value * 100.0),
        "count" if value.fract() == 0.0 => grouped(value, 0),
        "count" | "number" => grouped(value, 2),
        "seconds" => format!("{} s", grouped(value, 0)),
        "score" => grouped(value, 1),
        code => money(value, code),
    }
}

/// The unit in words, for a heading: `percent`, `count`, `Euro (EUR)`.
pub fn unit_name(unit: &str) -> String {
    match unit {
        "ratio" => "percent".to_owned(),
        "count" | "seconds" | "score" | "number" => unit.to_owned(),
        code => match iso_currency::Currency::from_code(code) {
            Some(currency) => format!("{} ({code})", currency.name()),
            None => code.to_owned(),
        },
    }
}

/// A percentage with one decimal: `12.3 %`.
pub fn percent(percent: f64) -> String {
    format!("{} %", grouped(percent, 1))
}

/// An amount of `code` (an ISO 4217 code) in major units, with the currency's symbol where it
/// is unambiguous and its code otherwise, and as many decimals as the currency has minor
/// units. A unit that is no currency is written after the number.
pub fn money(amount: f64, code: &str) -> String {
    let Some(currency) = iso_currency::Currency::from_code(code) else {
        return format!("{} {code}", grouped(amount, 2));
    };
    let decimals = currency.exponent().unwrap_or(2) as usize;
    let digits = grouped(amount.abs(), decimals);
    let sign = if amount < 0.0 && !is_zero(&digits) {
        "-"
    } else {
        ""
    };
    match symbol(code) {
        Some(symbol) => format!("{sign}{symbol}{digits}"),
        None => format!("{sign}{code} {digits}"),
    }
}

/// The symbols that name one currency without doubt in a business's own reports. `$` is the
/// dollar of the United States only, and other currencies are written with their code
/// (`CHF 12.00`): a wrong symbol is worse than a code.
fn symbol(code: &str) -> Option<&'static str> {
    Some(match code {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        "JPY" => "¥",
        "INR" => "₹",
        "KRW" => "₩",
        "ILS" => "₪",
        "NGN" => "₦",
        "UAH" => "₴",
        "VND" => "₫",
        "PHP" => "₱",
        "TRY" => "₺",
        _ => return None,
    })
}

/// A change between two periods: `+12.3 %`, `-1.5 pts`; `—` when there is none to tell.
pub fn change(change: Option<Change>) -> String {
    match change {
        Some(Change::Percent(change)) => format!("{} %", signed(change)),
        Some(Change::Points(points)) => format!("{} pts", signed(points)),
        None => UNKNOWN.to_owned(),
    }
}

/// The trend mark and the change together: `↑ +12.3 %`.
pub fn trend_and_change(line: &Line) -> String {
    match (line.trend(), line.change()) {
        (Some(trend), Some(change)) => format!("{} {}", trend.mark(), self::change(Some(change))),
        (Some(trend), None) => trend.mark().to_owned(),
        (None, _) => UNKNOWN.to_owned(),
    }
}

/// The share of its target a value reached, as a percentage: `102.5 %`.
pub fn share_of_target(line: &Line) -> String {
    line.share_of_target()
        .map_or_else(|| UNKNOWN.to_owned(), |share| percent(share * 100.0))
}

/// The column headers of the human formats (table, Markdown, HTML).
pub fn headers(report: &Report) -> Vec<&'static str> {
    match report.kind {
        Kind::Weekly => vec!["KPI", "This week", "Last week", "Change", "Target", "Note"],
        Kind::Monthly => vec![
            "KPI",
            "Target",
            "Actual",
            "% of target",
            "Last year",
            "Year to date",
            "Note",
        ],
    }
}

/// The cells of a line under [`headers`], the KPI's label first and the note last (empty
/// when there is none).
pub fn cells(report: &Report, line: &Line) -> Vec<String> {
    let unit = line.unit.as_str();
    let note = line.note.clone().unwrap_or_default();
    match report.kind {
        Kind::Weekly => vec![
            line.label(),
            value(line.value, unit),
            value(line.previous, unit),
            trend_and_change(line),
            value(line.target, unit),
            note,
        ],
        Kind::Monthly => vec![
            line.label(),
            value(line.target, unit),
            value(line.value, unit),
            share_of_target(line),
            value(line.last_year, unit),
            value(line.year_to_date, unit),
            note,
        ],
    }
}

/// A number with one decimal and its sign: `+1.5`, `-0.3`, `0.0`.
fn signed(number: f64) -> String {
    let digits = grouped(number.abs(), 1);
    if is_zero(&digits) {
        digits
    } else if number < 0.0 {
        format!("-{digits}")
    } else {
        format!("+{digits}")
    }
}

/// `number` rounded to `decimals`, with a comma between thousands: `-1,234,567.89`.
pub fn grouped(number: f64, decimals: usize) -> String {
    let text = format!("{:.decimals$}", number.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    let mut out = String::with_capacity(text.len() + whole.len() / 3 + 1);
    if number < 0.0 && !is_zero(&text) {
        out.push('-');
    }
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// Whether a formatted number shows zero (`0.00`), so that it gets no minus sign.
fn is_zero(digits: &str) -> bool {
    digits.chars().all(|c| matches!(c, '0' | '.' | ','))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(unit: &str, value: Option<f64>, previous: Option<f64>) -> Line {
        Line::revenue_sample(unit, value, previous)
    }

    #[test]
    fn money_has_its_symbol_and_minor_units() {
        assert_eq!(value(Some(1234.56), "EUR"), "€1,234.56");
        assert_eq!(value(Some(1000.0), "JPY"), "¥1,000");
        assert_eq!(value(Some(999.6), "JPY"), "¥1,000", "JPY has no decimals");
        assert_eq!(value(Some(1.2346), "KWD"), "KWD 1.235", "KWD has three");
        assert_eq!(value(Some(1234567.891), "USD"), "$1,234,567.89");
        assert_eq!(value(Some(12.0), "CHF"), "CHF 12.00");
        assert_eq!(value(Some(0.5), "GBP"), "£0.50");
    }

    #[test]
    fn negative_amounts_keep_their_sign_in_front() {
        assert_eq!(value(Some(-1234.5), "EUR"), "-€1,234.50");
        assert_eq!(
            value(Some(-0.001), "EUR"),
            "€0.00",
            "no minus on a shown zero"
        );
        assert_eq!(value(Some(-1500.0), "count"), "-1,500");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(value(Some(0.0), "count"), "0");
        assert_eq!(value(Some(999.0), "count"), "999");
        assert_eq!(value(Some(1000.0), "count"), "1,000");
        assert_eq!(value(Some(1234567.0), "count"), "1,234,567");
        assert_eq!(value(Some(17.222), "number"), "17.22");
        assert_eq!(value(Some(4512.0), "seconds"), "4,512 s");
        assert_eq!(value(Some(4.26), "score"), "4.3");
    }

    #[test]
    fn ratios_are_percentages_with_one_decimal() {
        assert_eq!(value(Some(0.1234), "ratio"), "12.3 %");
        assert_eq!(value(Some(1.0), "ratio"), "100.0 %");
        assert_eq!(value(Some(23.5), "ratio"), "2,350.0 %");
    }

    #[test]
    fn units_have_names_for_people() {
        assert_eq!(unit_name("ratio"), "percent");
        assert_eq!(unit_name("seconds"), "seconds");
        assert_eq!(unit_name("EUR"), "Euro (EUR)");
        assert_eq!(unit_name("JPY"), "Japanese yen (JPY)");
        assert_eq!(unit_name("XYZ"), "XYZ");
    }

    #[test]
    fn unknown_numbers_are_a_dash() {
        assert_eq!(value(None, "EUR"), "—");
        assert_eq!(value(None, "ratio"), "—");
        assert_eq!(value(Some(f64::NAN), "count"), "—");
    }

    #[test]
    fn ratios_change_in_points_and_the_rest_in_percent() {
        let rate = line("ratio", Some(0.125), Some(0.1));
        assert_eq!(trend_and_change(&rate), "↑ +2.5 pts");
        let amount = line("EUR", Some(900.0), Some(1200.0));
        assert_eq!(trend_and_change(&amount), "↓ -25.0 %");
        let same = line("count", Some(1000.0), Some(1000.2));
        assert_eq!(trend_and_change(&same), "→ 0.0 %");
        let from_nothing = line("count", Some(5.0), Some(0.0));
        assert_eq!(
            trend_and_change(&from_nothing),
            "↑",
            "no percentage from zero"
        );
        assert_eq!(trend_and_change(&line("count", Some(5.0), None)), "—");
        let from_negative = line("EUR", Some(-50.0), Some(-100.0));
        assert_eq!(change(from_negative.change()), "+50.0 %");
    }

    #[test]
    fn share_of_a_zero_target_is_unknown() {
        let mut reached = line("EUR", Some(1025.0), None);
        reached.target = Some(1000.0);
        assert_eq!(share_of_target(&reached), "102.5 %");
        reached.target = Some(0.0);
        assert_eq!(share_of_target(&reached), "—");
        assert_eq!(reached.share_of_target(), None);
        reached.target = None;
        assert_eq!(share_of_target(&reached), "—");
    }
}
