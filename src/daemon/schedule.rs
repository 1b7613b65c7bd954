//! When a connector is due: its cron expression read on the wall clock of the business time
//! zone. tokio-cron-scheduler only ticks in UTC; this module decides which instants a schedule
//! names, so that daylight-saving changes never shift or repeat a run.
//!
//! croner walks the civil (wall-clock) times that match the expression, handed to it as if they
//! were UTC so that it applies no time zone of its own; jiff then maps each civil time to
//! instants in the named zone. Where a daylight-saving change skips or repeats civil times:
//!
//! - a fixed-time schedule (one value each for second, minute and hour, like `30 2 * * *`) runs
//!   once: at the end of a skipped hour, and on the first pass of a repeated one;
//! - any other schedule (`*/30 * * * *`, `0 */2 * * *`) follows real time: civil times that
//!   do not exist are not run, civil times that happen twice run twice.

use chrono::{Datelike, NaiveDate, Timelike};
use croner::{Cron, JobType};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

use crate::config::{ConfigError, check_schedule};

/// More than any offset change a zone makes at once: a civil time further than this before
/// (or after) another cannot name an instant after (or before) it.
const MARGIN: SignedDuration = SignedDuration::from_hours(3);

/// Bounds the walk near a transition: a schedule firing every second walks the changed hour,
/// 3600 steps; an expression that matches rarely takes a handful.
const MAX_STEPS: usize = 20_000;

/// A connector's schedule in its time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    expression: String,
    cron: Cron,
    fixed_time: bool,
    zone: TimeZone,
}

impl Schedule {
    /// Parses `expression` (5 fields, or 6 with seconds first) for the time zone `zone`.
    pub fn parse(key: &str, expression: &str, zone: TimeZone) -> Result<Schedule, ConfigError> {
        let cron = check_schedule(key, expression)?;
        Ok(Schedule {
            expression: expression.to_owned(),
            fixed_time: cron.determine_job_type() == JobType::FixedTime,
            cron,
            zone,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone it is read in.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The first instant the schedule names strictly after `after`; `None` when there is none
    /// (an expression such as `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        // Far from any transition, civil time and instants move together: the next civil match
        // is the answer.
        let next = self.next_civil(self.zone.to_datetime(after))?;
        let reach = self
            .zone
            .to_ambiguous_timestamp(next)
            .compatible()
            .ok()?
            .max(after)
            .checked_add(MARGIN)
            .ok()?;
        let window_start = after.checked_sub(MARGIN).ok()?;
        let near_transition = self
            .zone
            .following(window_start)
            .next()
            .is_some_and(|transition| transition.timestamp() <= reach);
        if !near_transition {
            return self.instants(next).into_iter().find(|at| *at > after);
        }
        self.scan(after, window_start, reach.checked_add(MARGIN).ok()?)
    }

    /// The time between the two runs that follow `after`: what "one interval" means for this
    /// schedule around that time.
    pub fn interval_after(&self, after: Timestamp) -> Option<SignedDuration> {
        let first = self.next_after(after)?;
        let second = self.next_after(first)?;
        Some(second.duration_since(first))
    }

    /// Near a transition civil order and instant order differ, so every civil match that could
    /// name an instant after `after` is looked at, and the earliest instant kept. The offsets in
    /// force between `from` and `to` bound the civil times worth looking at.
    fn scan(&self, after: Timestamp, from: Timestamp, to: Timestamp) -> Option<Timestamp> {
        let mut low = self.zone.to_offset(from);
        let mut high = low;
        for transition in self.zone.following(from) {
            if transition.timestamp() > to {
                break;
            }
            low = low.min(transition.offset());
            high = high.max(transition.offset());
        }

        // A civil time names instants between itself less `high` and itself less `low`: only
        // those past `after` plus `low` can name one after `after`, and none past `best` plus
        // `high` can name one before `best`.
        let mut civil = low.to_datetime(after);
        let mut best: Option<Timestamp> = None;
        for _ in 0..MAX_STEPS {
            civil = match self.next_civil(civil) {
                Some(next) => next,
                None => break,
            };
            if best.is_some_and(|best| civil > high.to_datetime(best)) {
                break;
            }
            for instant in self.instants(civil) {
                if instant > after && best.is_none_or(|best| instant < best) {
                    best = Some(instant);
                }
            }
        }
        best
    }

    /// The instants a matching civil time names in the zone: none, one or two.
    fn instants(&self, civil: DateTime) -> Vec<Timestamp> {
        let ambiguous = self.zone.to_ambiguous_timestamp(civil);
        let at = |offset: jiff::tz::Offset| offset.to_timestamp(civil).ok();
        match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { offset } => at(offset).into_iter().collect(),
            AmbiguousOffset::Gap { after, .. } if self.fixed_time => {
                // Read with the offset in force after the gap, the civil time lands just
                // before the change; the change itself is the first instant it can run.
                at(after)
                    .and_then(|instant| self.zone.following(instant).next())
                    .map(|transition| transition.timestamp())
                    .into_iter()
                    .collect()
            }
            AmbiguousOffset::Gap { .. } => Vec::new(),
            AmbiguousOffset::Fold { before, after } => {
                let first = at(before);
                let second = if self.fixed_time { None } else { at(after) };
                first.into_iter().chain(second).collect()
            }
        }
    }

    /// The first civil time strictly after `civil` (to the second) that the expression matches.
    fn next_civil(&self, civil: DateTime) -> Option<DateTime> {
        let date = NaiveDate::from_ymd_opt(
            i32::from(civil.year()),
            u32::try_from(civil.month()).ok()?,
            u32::try_from(civil.day()).ok()?,
        )?;
        let naive = date.and_hms_opt(
            u32::try_from(civil.hour()).ok()?,
            u32::try_from(civil.minute()).ok()?,
            u32::try_from(civil.second()).ok()?,
        )?;
        // UTC has no transitions, so croner's own daylight-saving handling never applies.
        let next = self
            .cron
            .find_next_occurrence(&naive.and_utc(), false)
            .ok()?;
        DateTime::new(
            i16::try_from(next.year()).ok()?,
            i8::try_from(next.month()).ok()?,
            i8::try_from(next.day()).ok()?,
            i8::try_from(next.hour()).ok()?,
            i8::try_from(next.minute()).ok()?,
            i8::try_from(next.second()).ok()?,
            0,
        )
        .ok()
    }
}

#[cfg(test)]
mod tests;
