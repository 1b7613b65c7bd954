//! Civil days of the business time zone, found for instants as rows stream by. Every period
//! of every grain starts on a local midnight, so per-day sums are enough to build any grain's
//! sums, and the engine folds each row into its day as it reads it instead of keeping the row.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::kpi::periods::first_instant;

/// A local day and its UTC bounds `[start, end)` in Unix seconds, the same bounds a
/// [`Calendar`](crate::kpi::periods::Calendar) gives a period starting that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalDay {
    pub date: Date,
    pub start: i64,
    pub end: i64,
}

/// Finds the local day of instants; remembers the last one, since rows read through the
/// covering indexes come in time order and most follow one another within a day.
pub struct DayFinder {
    timezone: TimeZone,
    last: Option<LocalDay>,
}

impl DayFinder {
    pub fn new(timezone: &TimeZone) -> DayFinder {
        DayFinder {
            timezone: timezone.clone(),
            last: None,
        }
    }

    /// The local day holding `second`; `None` for an instant that has no civil date in range.
    pub fn day_of(&mut self, second: i64) -> Option<LocalDay> {
        if let Some(day) = self.last
            && day.start <= second
            && second < day.end
        {
            return Some(day);
        }
        let date = Timestamp::from_second(second)
            .ok()?
            .to_zoned(self.timezone.clone())
            .date();
        let mut day = self.bounds(date)?;
        // A day is where its first instant puts it (see `first_instant`); on the rare zone
        // whose clocks jump across midnight the wall-clock date can be a day off those bounds.
        if second < day.start {
            day = self.bounds(date.yesterday().ok()?)?;
        } else if second >= day.end {
            day = self.bounds(date.tomorrow().ok()?)?;
        }
        let found = day.start <= second && second < day.end;
        self.last = found.then_some(day);
        self.last
    }

    fn bounds(&self, date: Date) -> Option<LocalDay> {
        let start = first_instant(date, &self.timezone).ok()?.as_second();
        let end = first_instant(date.tomorrow().ok()?, &self.timezone)
            .ok()?
            .as_second();
        Some(LocalDay { date, start, end })
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::kpi::Grain;
    use crate::kpi::periods::Calendar;

    #[test]
    fn days_agree_with_the_calendar_across_dst_changes() {
        for zone in ["Europe/Paris", "America/Sao_Paulo", "Pacific/Apia", "UTC"] {
            let timezone = TimeZone::get(zone).unwrap();
            let calendar =
                Calendar::new(Grain::Day, date(2011, 1, 1), date(2019, 12, 31), &timezone).unwrap();
            let mut finder = DayFinder::new(&timezone);
            let mut rng = fastrand::Rng::with_seed(3);
            let (first, last) = (calendar.start(0), calendar.end(calendar.len() - 1));
            for _ in 0..20_000 {
                let second = rng.i64(first..last);
                let day = finder.day_of(second).unwrap();
                let index = calendar.index_of(second).unwrap();
                assert_eq!(day.date, calendar.start_date(index), "{zone} {second}");
                assert_eq!(
                    (day.start, day.end),
                    (calendar.start(index), calendar.end(index))
                );
            }
        }
    }
}
