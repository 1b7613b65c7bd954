//! Period maths: which day, ISO week or month an instant belongs to in the business time zone,
//! the UTC bounds of a period, and the labels users type (`2026-11-03`, `2026-W45`, `2026-11`).
//!
//! Bounds always come from civil dates converted in the time zone, never from adding 24 h or
//! 7 × 24 h, so a day or week that contains a DST change is 23, 25, 167 or 169 hours long.

use std::fmt;

use anyhow::{Context, bail};
use jiff::Timestamp;
use jiff::civil::{Date, ISOWeekDate, Weekday};
use jiff::tz::TimeZone;

use super::Grain;

/// One period: its grain and the civil date it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    /// Day, week or month.
    pub grain: Grain,
    /// First day of the period (a Monday for weeks, the 1st for months).
    pub start: Date,
}

impl Period {
    /// The period of `grain` that contains the civil date `date`.
    pub fn containing(grain: Grain, date: Date) -> Period {
        Period {
            grain,
            start: grain.start_of(date),
        }
    }

    /// The next period of the same grain.
    pub fn next(self) -> anyhow::Result<Period> {
        Ok(Period {
            grain: self.grain,
            start: next_start(self.grain, self.start)?,
        })
    }
}

/// Labels as users write them: `2026-11-03`, `2026-W45`, `2026-11`.
impl fmt::Display for Period {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.grain {
            Grain::Day => write!(formatter, "{}", self.start),
            Grain::Week => {
                let week = self.start.iso_week_date();
                write!(formatter, "{:04}-W{:02}", week.year(), week.week())
            }
            Grain::Month => {
                write!(
                    formatter,
                    "{:04}-{:02}",
                    self.start.year(),
                    self.start.month()
                )
            }
        }
    }
}

/// The start of the period of `grain` that contains `instant`, as seen in `tz`.
pub fn period_of(instant: Timestamp, grain: Grain, tz: &TimeZone) -> Date {
    grain.start_of(instant.to_zoned(tz.clone()).date())
}

/// The start of the period after the one starting on `start`.
pub fn next_start(grain: Grain, start: Date) -> anyhow::Result<Date> {
    grain
        .checked_next(start)
        .with_context(|| format!("the {} after {start}", grain.as_str()))
}

/// The half-open UTC bounds `[start, end)` of the period of `grain` starting on `start`.
///
/// Each bound is the first instant of its civil day in `tz` (midnight, or the end of the gap
/// when midnight does not exist on a DST day).
pub fn bounds(grain: Grain, start: Date, tz: &TimeZone) -> anyhow::Result<(Timestamp, Timestamp)> {
    let end = next_start(grain, start)?;
    Ok((first_instant(start, tz)?, first_instant(end, tz)?))
}

/// The first instant of the civil day `date` in `tz`.
pub fn first_instant(date: Date, tz: &TimeZone) -> anyhow::Result<Timestamp> {
    // jiff resolves a midnight that falls in a gap to the instant after the gap, and an
    // ambiguous midnight to the earlier of the two: both are where the day begins.
    let zoned = date
        .to_zoned(tz.clone())
        .with_context(|| format!("the start of {date}"))?;
    Ok(zoned.timestamp())
}

/// Parses a period label: a day (`2026-11-03`), an ISO week (`2026-W45`) or a month
/// (`2026-11`).
pub fn parse(text: &str) -> anyhow::Result<Period> {
    let text = text.trim();
    let invalid = || format!("'{text}' is not a period (expected 2026-11-03, 2026-W45 or 2026-11)");
    // Digits only: `str::parse` alone would take a sign (`2026-+1`, `-2026-W05`).
    let digits = |part: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&part.len()) && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    if let Some((year, week)) = text.split_once(['W', 'w']) {
        let year = year.strip_suffix('-').unwrap_or(year);
        anyhow::ensure!(digits(year, 4..=4) && digits(week, 1..=2), invalid());
        let year: i16 = year.parse().with_context(invalid)?;
        let week: i8 = week.parse().with_context(invalid)?;
        let date = ISOWeekDate::new(year, week, Weekday::Monday)
            .with_context(|| format!("'{text}': {year} has no ISO week {week}"))?
            .date();
        return Ok(Period {
            grain: Grain::Week,
            start: date,
        });
    }
    match text.len() {
        // 2026-11
        7 => {
            let (year, month) = text.split_once('-').with_context(invalid)?;
            anyhow::ensure!(digits(year, 4..=4) && digits(month, 2..=2), invalid());
            let year: i16 = year.parse().with_context(invalid)?;
            let month: i8 = month.parse().with_context(invalid)?;
            let start = Date::new(year, month, 1).with_context(invalid)?;
            Ok(Period {
                grain: Grain::Month,
                start,
            })
        }
        10 => {
            let start: Date = text.parse().with_context(invalid)?;
            Ok(Period {
                grain: Grain::Day,
                start,
            })
        }
        _ => bail!(invalid()),
    }
}

/// The starts of every period of `grain` from the one containing `from` to the one containing
/// `to`, both included; empty when `to` is before `from`.
pub fn starts_between(
    grain: Grain,
    from: Timestamp,
    to: Timestamp,
    tz: &TimeZone,
) -> anyhow::Result<Vec<Date>> {
    dates_between(grain, period_of(from, grain, tz), period_of(to, grain, tz))
}

/// Period starts of `grain` from the period of `first` to the period of `last`, both
/// included.
fn dates_between(grain: Grain, first: Date, last: Date) -> anyhow::Result<Vec<Date>> {
    let mut starts = Vec::new();
    let mut period = Period::containing(grain, first);
    while period.start <= last {
        starts.push(period.start);
        period = period.next()?;
    }
    Ok(starts)
}

/// A run of consecutive periods of one grain with their bounds as Unix seconds, so that the
/// engine buckets instants with a binary search instead of time-zone arithmetic.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    grain: Grain,
    starts: Vec<Date>,
    /// `starts.len() + 1` bounds: period `i` is `[bounds[i], bounds[i + 1])`.
    bounds: Vec<i64>,
}

impl Calendar {
    /// The periods of `grain` from the one starting on `first` to the one starting on `last`.
    pub fn new(grain: Grain, first: Date, last: Date, tz: &TimeZone) -> anyhow::Result<Calendar> {
        let starts = dates_between(grain, first, last)?;
        let mut instants = Vec::with_capacity(starts.len() + 1);
        for start in &starts {
            instants.push(first_instant(*start, tz)?.as_second());
        }
        if let Some(last) = starts.last() {
            instants.push(bounds(grain, *last, tz)?.1.as_second());
        }
        Ok(Calendar {
            grain,
            starts,
            bounds: instants,
        })
    }

    /// The grain of every period.
    pub fn grain(&self) -> Grain {
        self.grain
    }

    /// How many periods.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// The first day of period `index`.
    pub fn start_date(&self, index: usize) -> Date {
        self.starts[index]
    }

    /// The first instant of period `index`, Unix seconds.
    pub fn start(&self, index: usize) -> i64 {
        self.bounds[index]
    }

    /// The instant period `index` ends at (excluded), Unix seconds.
    pub fn end(&self, index: usize) -> i64 {
        self.bounds[index + 1]
    }

    /// The index of the period holding the instant `second`, if the calendar covers it.
    pub fn index_of(&self, second: i64) -> Option<usize> {
        let after = self.bounds.partition_point(|bound| *bound <= second);
        (after >= 1 && after < self.bounds.len()).then(|| after - 1)
    }

    /// The index of the period `(start, end]` that an interval ending at `second` ends in: an
    /// end exactly on a boundary belongs to the period it closes.
    pub fn index_of_end(&self, second: i64) -> Option<usize> {
        let after = self.bounds.partition_point(|bound| *bound < second);
        (after >= 1 && after < self.bounds.len()).then(|| after - 1)
    }

    /// The index of the period starting on `date`, if it is one of this calendar's.
    pub fn index_of_date(&self, date: Date) -> Option<usize> {
        self.starts.binary_search(&date).ok()
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    fn hours(grain: Grain, start: Date) -> i64 {
        let (from, to) = bounds(grain, start, &paris()).unwrap();
        (to.as_second() - from.as_second()) / 3600
    }

    #[test]
    fn late_utc_instant_on_the_31st_belongs_to_the_1st_in_paris() {
        let instant: Timestamp = "2026-01-31T23:30:00Z".parse().unwrap();
        assert_eq!(period_of(instant, Grain::Day, &paris()), date(2026, 2, 1));
        assert_eq!(period_of(instant, Grain::Month, &paris()), date(2026, 2, 1));
        // 2026-02-01 is a Sunday: its week began on Monday 26 January.
        assert_eq!(period_of(instant, Grain::Week, &paris()), date(2026, 1, 26));
        assert_eq!(
            period_of(instant, Grain::Day, &TimeZone::UTC),
            date(2026, 1, 31)
        );
    }

    #[test]
    fn dst_weeks_and_days_in_paris_have_their_true_length() {
        // Clocks go forward on Sunday 29 March 2026 and back on Sunday 25 October 2026.
        assert_eq!(hours(Grain::Week, date(2026, 3, 23)), 167);
        assert_eq!(hours(Grain::Week, date(2026, 10, 19)), 169);
        assert_eq!(hours(Grain::Week, date(2026, 3, 30)), 168);
        assert_eq!(hours(Grain::Day, date(2026, 3, 29)), 23);
        assert_eq!(hours(Grain::Day, date(2026, 10, 25)), 25);
        assert_eq!(hours(Grain::Month, date(2026, 3, 1)), 31 * 24 - 1);
        let (start, end) = bounds(Grain::Week, date(2026, 3, 23), &paris()).unwrap();
        assert_eq!(start.to_string(), "2026-03-22T23:00:00Z");
        assert_eq!(end.to_string(), "2026-03-29T22:00:00Z");
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_after_the_gap() {
        // Havana moved its clocks from 00:00 to 01:00 on 8 March 2026.
        let havana = TimeZone::get("America/Havana").unwrap();
        let start = first_instant(date(2026, 3, 8), &havana).unwrap();
        assert_eq!(start.to_string(), "2026-03-08T05:00:00Z");
    }

    #[test]
    fn a_week_spanning_two_months_and_iso_week_53() {
        // 2026 is a long ISO year: week 53 runs from Monday 28 December to Sunday 3 January.
        let week = parse("2026-W53").unwrap();
        assert_eq!(
            week,
            Period {
                grain: Grain::Week,
                start: date(2026, 12, 28)
            }
        );
        assert_eq!(week.next().unwrap().start, date(2027, 1, 4));
        assert_eq!(week.next().unwrap().to_string(), "2027-W01");
        assert_eq!(Grain::Week.start_of(date(2027, 1, 3)), date(2026, 12, 28));
        assert_eq!(week.to_string(), "2026-W53");
        assert!(parse("2025-W53").is_err(), "2025 has 52 ISO weeks");
    }

    #[test]
    fn parses_days_weeks_and_months() {
        assert_eq!(
            parse("2026-11-03").unwrap(),
            Period::containing(Grain::Day, date(2026, 11, 3))
        );
        assert_eq!(parse("2026-W45").unwrap().start, date(2026, 11, 2));
        assert_eq!(parse("2026w45").unwrap().start, date(2026, 11, 2));
        assert_eq!(
            parse(" 2026-11 ").unwrap(),
            Period {
                grain: Grain::Month,
                start: date(2026, 11, 1)
            }
        );
        for bad in [
            "2026-13",
            "2026-W00",
            "2026-11-31",
            "26-11",
            "2026/11",
            "",
            "2026-W4x",
            "2026-+1",
            "2026-W+5",
            "-2026-W05",
            "+026-11",
            "26-W05",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
        for label in ["2026-11-03", "2026-W45", "2026-11", "2026-W01"] {
            assert_eq!(parse(label).unwrap().to_string(), label);
        }
    }

    #[test]
    fn starts_between_includes_both_ends() {
        let from: Timestamp = "2026-01-31T23:30:00Z".parse().unwrap();
        let to: Timestamp = "2026-04-01T08:00:00Z".parse().unwrap();
        let months = starts_between(Grain::Month, from, to, &paris()).unwrap();
        assert_eq!(
            months,
            [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
        );
        assert_eq!(
            starts_between(Grain::Day, from, to, &paris())
                .unwrap()
                .len(),
            60
        );
        assert!(
            starts_between(Grain::Day, to, from, &paris())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn calendar_buckets_instants_by_binary_search() {
        let calendar =
            Calendar::new(Grain::Day, date(2026, 3, 28), date(2026, 3, 30), &paris()).unwrap();
        assert_eq!(calendar.len(), 3);
        let second = |text: &str| text.parse::<Timestamp>().unwrap().as_second();
        assert_eq!(calendar.index_of(second("2026-03-27T22:59:59Z")), None);
        assert_eq!(calendar.index_of(second("2026-03-27T23:00:00Z")), Some(0));
        // 29 March is 23 hours long: it ends at 22:00 UTC.
        assert_eq!(calendar.index_of(second("2026-03-29T21:59:59Z")), Some(1));
        assert_eq!(calendar.index_of(second("2026-03-29T22:00:00Z")), Some(2));
        assert_eq!(calendar.index_of(second("2026-03-30T22:00:00Z")), None);
        assert_eq!(calendar.end(1) - calendar.start(1), 23 * 3600);
        assert_eq!(calendar.index_of_end(second("2026-03-27T23:00:00Z")), None);
        assert_eq!(
            calendar.index_of_end(second("2026-03-29T22:00:00Z")),
            Some(1)
        );
        assert_eq!(
            calendar.index_of_end(second("2026-03-30T22:00:00Z")),
            Some(2)
        );
        assert_eq!(calendar.index_of_date(date(2026, 3, 30)), Some(2));
        assert_eq!(calendar.index_of_date(date(2026, 3, 31)), None);
    }
}
