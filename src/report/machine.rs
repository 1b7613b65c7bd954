//! Numbers for other tools: what the CSV and JSON formats write. They stay raw (ratios from 0
//! to 1, money in major units, no separators), but the noise of binary floating point is
//! rounded away (`61.36999999999989` is written `61.37`):
//!
//! - money to its currency's minor unit, the precision the warehouse stores it with (cents;
//!   none for JPY, three decimals for KWD);
//! - every other number to [`SIGNIFICANT_DIGITS`] significant digits, its whole part always
//!   kept (a count of 12,345,678,901 stays whole);
//! - a change (`value - previous_value`) is rounded to the finer precision of the two numbers
//!   it is the difference of, so that the difference of close numbers brings no noise of its
//!   own (`0.093 - 0.092` is `0.001`, not `0.0010000000000000009`);
//! - quotients (the change ratio, the share of target) are numbers without a unit: ten
//!   significant digits.
//!
//! `docs/reports.md` states the same rule for users.

use super::Line;

/// Significant digits kept of a number that is not money. Ten are more than any KPI is
/// known to (a rate measured over a billion visits), and far fewer than the 15 to 17 a double
/// holds, where the noise of arithmetic sits.
pub const SIGNIFICANT_DIGITS: i32 = 10;

/// The units of the numbers that are not money; any other unit is a currency code.
const PLAIN_UNITS: [&str; 5] = ["count", "ratio", "seconds", "score", "number"];

/// The numbers of one report line as written for other tools; `None` where unknown or not
/// applicable.
#[derive(Debug, Clone, PartialEq)]
pub struct Numbers {
    /// The period's value.
    pub value: Option<f64>,
    /// The previous period's value.
    pub previous: Option<f64>,
    /// `value - previous`.
    pub change: Option<f64>,
    /// `change / |previous|`; `None` when the previous value is 0.
    pub change_ratio: Option<f64>,
    /// The period's target.
    pub target: Option<f64>,
    /// `value / target`; `None` when the target is 0.
    pub share_of_target: Option<f64>,
    /// The same period a year earlier.
    pub last_year: Option<f64>,
    /// The year to date.
    pub year_to_date: Option<f64>,
    /// The trend chart's values.
    pub history: Vec<Option<f64>>,
}

impl Numbers {
    /// The numbers of `line`, rounded.
    pub fn of(line: &Line) -> Numbers {
        let unit = line.unit.as_str();
        let round = |value: Option<f64>| value.and_then(|value| in_unit(value, unit));
        let change = line.value.zip(line.previous).and_then(|(value, previous)| {
            let decimals = decimals(value, unit).max(decimals(previous, unit));
            rounded(value - previous, decimals)
        });
        Numbers {
            value: round(line.value),
            previous: round(line.previous),
            change,
            change_ratio: line.relative_change().and_then(unitless),
            target: round(line.target),
            share_of_target: line.share_of_target().and_then(unitless),
            last_year: round(line.last_year),
            year_to_date: round(line.year_to_date),
            history: line.history.iter().map(|value| round(*value)).collect(),
        }
    }
}

/// `value` rounded for its unit: money to its minor unit, anything else to
/// [`SIGNIFICANT_DIGITS`]; `None` for a number that is not finite.
pub fn in_unit(value: f64, unit: &str) -> Option<f64> {
    rounded(value, decimals(value, unit))
}

/// A number without a unit, to [`SIGNIFICANT_DIGITS`].
fn unitless(value: f64) -> Option<f64> {
    rounded(value, significant_decimals(value))
}

/// The decimals `value` keeps in `unit`.
fn decimals(value: f64, unit: &str) -> usize {
    if PLAIN_UNITS.contains(&unit) {
        significant_decimals(value)
    } else {
        connectors::stripe::currency_exponent(unit) as usize
    }
}

/// The decimals that leave [`SIGNIFICANT_DIGITS`] significant digits of `value`, none for a
/// number that has that many in its whole part already.
fn significant_decimals(value: f64) -> usize {
    if value == 0.0 || !value.is_finite() {
        return 0;
    }
    let magnitude = value.abs().log10().floor() as i32;
    (SIGNIFICANT_DIGITS - 1 - magnitude).max(0) as usize
}

/// `value` rounded to `decimals`, through its decimal text: Rust's formatting rounds the exact
/// binary value correctly, and parsing gives the double nearest to the rounded decimal, whose
/// shortest form is that decimal. `-0` becomes `0`.
fn rounded(value: f64, decimals: usize) -> Option<f64> {
    if !value.is_finite() {
        return None;
    }
    let rounded: f64 = format!("{value:.decimals$}").parse().ok()?;
    Some(if rounded == 0.0 { 0.0 } else { rounded })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(unit: &str, value: Option<f64>, previous: Option<f64>) -> Line {
        Line::revenue_sample(unit, value, previous)
    }

    #[test]
    fn money_is_rounded_to_its_minor_unit() {
        assert_eq!(in_unit(2297.8100000000004, "EUR"), Some(2297.81));
        assert_eq!(in_unit(91.066666666, "EUR"), Some(91.07));
        assert_eq!(in_unit(24999.6, "JPY"), Some(25000.0));
        assert_eq!(in_unit(1.23449, "KWD"), Some(1.234));
        assert_eq!(in_unit(-0.001, "EUR"), Some(0.0), "no negative zero");
        assert_eq!(in_unit(f64::NAN, "EUR"), None);
    }

    #[test]
    fn other_numbers_keep_ten_significant_digits_and_their_whole_part() {
        assert_eq!(in_unit(0.1 + 0.2, "ratio"), Some(0.3));
        assert_eq!(in_unit(0.0270676040057, "ratio"), Some(0.02706760401));
        assert_eq!(in_unit(1.0 / 3.0, "ratio"), Some(0.3333333333));
        assert_eq!(in_unit(1234.0, "count"), Some(1234.0));
        assert_eq!(in_unit(12_345_678_901.0, "count"), Some(12_345_678_901.0));
        assert_eq!(in_unit(79.12345678912, "seconds"), Some(79.12345679));
        assert_eq!(
            in_unit(2.5e-12, "number"),
            Some(2.5e-12),
            "small numbers keep digits"
        );
        assert_eq!(in_unit(0.0, "count"), Some(0.0));
    }

    #[test]
    fn a_change_has_the_precision_of_its_numbers() {
        // 1500 + 61.37 * 13 - (1500 + 61.37 * 12) is 61.36999999999989 in binary.
        let gross = line(
            "EUR",
            Some(1500.0 + 61.37 * 13.0),
            Some(1500.0 + 61.37 * 12.0),
        );
        assert_ne!(gross.difference(), Some(61.37));
        let numbers = Numbers::of(&gross);
        assert_eq!(numbers.change, Some(61.37));
        assert_eq!(numbers.change_ratio, Some(0.02744093291));

        // Close counts: the difference keeps the precision of the numbers, not its own ten
        // digits of noise.
        let close = line("count", Some(1_234_567.891), Some(1_234_567.881));
        assert_eq!(Numbers::of(&close).change, Some(0.01));
        let rate = line("ratio", Some(0.093), Some(0.092));
        assert_eq!(Numbers::of(&rate).change, Some(0.001));
    }

    #[test]
    fn quotients_of_zero_are_unknown() {
        let mut from_zero = line("count", Some(5.0), Some(0.0));
        from_zero.target = Some(0.0);
        let numbers = Numbers::of(&from_zero);
        assert_eq!((numbers.change, numbers.change_ratio), (Some(5.0), None));
        assert_eq!(numbers.share_of_target, None);

        let mut reached = line("EUR", Some(9505.0), None);
        reached.target = Some(9000.0);
        let numbers = Numbers::of(&reached);
        assert_eq!(numbers.share_of_target, Some(1.056111111));
        assert_eq!(numbers.change, None);
    }
}
