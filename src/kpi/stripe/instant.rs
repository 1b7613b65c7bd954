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
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Some(instant.as_second());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok()?;
    let zoned = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_second())
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
}
