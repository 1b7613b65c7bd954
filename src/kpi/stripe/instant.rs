//! Reads the instants the connector stores (`2026-01-31T23:30:00Z`) as Unix seconds, with
//! jiff, accepting the forms SQLite's date functions accept too.

use rusqlite::types::ValueRef;

/// The Unix seconds of an instant column: RFC 3339 text (the connector writes UTC with `Z`),
/// a date and time without offset taken as UTC like SQLite does, or an integer already in
/// seconds. `None` for NULL or unreadable text.
pub fn seconds(value: ValueRef<'_>) -> Option<i64> {
    match value {
        ValueRef::Text(bytes) => parse(std::str::from_utf8(bytes).ok()?.trim()),
        ValueRef::Integer(seconds) => Some(seconds),
        _ => None,
    }
}

fn parse(text: &str) -> Option<i64> {
    if let Some(seconds) = parse_utc(text) {
        return Some(seconds);
    }
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Some(instant.as_second());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_second())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the one form the connectors write, read without a general parser:
/// a recompute reads hundreds of thousands of them. `None` for anything else, which the general
/// parser then reads.
fn parse_utc(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ];
    if bytes.len() != 20 || separators.iter().any(|(at, byte)| bytes[*at] != *byte) {
        return None;
    }
    let number = |from: usize, to: usize| {
        bytes[from..to].iter().try_fold(0_i64, |value, byte| {
            byte.is_ascii_digit()
                .then(|| value * 10 + i64::from(byte - b'0'))
        })
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date, counting in 400-year eras that start
/// on March 1st, so that the leap day ends a year.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> Option<i64> {
        seconds(ValueRef::Text(value.as_bytes()))
    }

    #[test]
    fn reads_the_connectors_format_and_the_other_forms_sqlite_reads() {
        assert_eq!(text("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(text("2026-01-31T23:30:00Z"), Some(1_769_902_200));
        assert_eq!(text("2026-02-01T00:30:00+01:00"), Some(1_769_902_200));
        assert_eq!(text("2026-01-31T23:30:00"), Some(1_769_902_200));
        assert_eq!(seconds(ValueRef::Integer(42)), Some(42));
        assert_eq!(seconds(ValueRef::Null), None);
        assert_eq!(text("yesterday"), None);
    }

    #[test]
    fn the_fast_path_agrees_with_jiff_and_leaves_odd_forms_to_it() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..20_000 {
            let seconds = rng.i64(-2_208_988_800..4_102_444_800);
            let text = jiff::Timestamp::from_second(seconds).unwrap().to_string();
            assert_eq!(parse_utc(&text), Some(seconds), "{text}");
        }
        for odd in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01 00:00:00Z",
            "+002026-01-01T00:00:0Z",
        ] {
            assert_eq!(parse_utc(odd), None, "{odd}");
        }
        assert_eq!(parse_utc("2024-02-29T12:00:00Z"), Some(1_709_208_000));
    }
}
