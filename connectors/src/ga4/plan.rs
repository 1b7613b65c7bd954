//! What a run asks GA4 for: the reports of each grain, the periods they cover, and the cursor
//! that says which periods are already stored for good.
//!
//! Each grain has its own reports because users are not additive: a week's users are GA4's
//! answer for the week (period dimension `isoYearIsoWeek`), never a sum of days. Periods are
//! days, ISO weeks and months of the property's time zone, the one GA4 cuts `date` in.
//!
//! Every run re-reads the periods from `lookback_days` before the property's today up to the
//! current period; older periods are read once, from `start_date` on, in chunks oldest first.
//! For each grain and report the cursor keeps the last period read without a gap before it, so
//! a backfill cut short by the quota resumes at its first missing period.

use std::collections::BTreeMap;

use jiff::civil::{Date, ISOWeekDate, Weekday};
use serde::{Deserialize, Serialize};

use super::api::{FilterExpression, Named, PropertyQuota};

pub use crate::schema::Grain;

/// What GA4 needs to know of a grain beyond its calendar.
pub(crate) trait ReportGrain: Sized {
    /// The GA4 dimension that names this grain's periods.
    fn dimension(self) -> &'static str;
    /// Periods per backfill request.
    fn chunk(self) -> i64;
    /// The period start a value of [`ReportGrain::dimension`] names.
    fn parse_period(self, text: &str) -> Option<Date>;
    /// Every period start from the period of `first` to the period of `last`, both included.
    fn starts(self, first: Date, last: Date) -> Vec<Date>;
}

impl ReportGrain for Grain {
    fn dimension(self) -> &'static str {
        match self {
            Grain::Day => "date",
            Grain::Week => "isoYearIsoWeek",
            Grain::Month => "yearMonth",
        }
    }

    /// Long enough to spare requests, short enough that one request stays cheap in tokens.
    fn chunk(self) -> i64 {
        match self {
            Grain::Day => 31,
            Grain::Week => 13,
            Grain::Month => 12,
        }
    }

    /// `20260304`, `202610` (ISO year and week), `202603`.
    fn parse_period(self, text: &str) -> Option<Date> {
        let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i16>().ok();
        match (self, text.len()) {
            (Grain::Day, 8) => {
                Date::new(number(0..4)?, number(4..6)? as i8, number(6..8)? as i8).ok()
            }
            (Grain::Week, 6) => {
                ISOWeekDate::new(number(0..4)?, number(4..6)? as i8, Weekday::Monday)
                    .ok()
                    .map(ISOWeekDate::date)
            }
            (Grain::Month, 6) => Date::new(number(0..4)?, number(4..6)? as i8, 1).ok(),
            _ => None,
        }
    }

    fn starts(self, first: Date, last: Date) -> Vec<Date> {
        let mut starts = Vec::new();
        let mut start = self.start_of(first);
        while start <= last {
            starts.push(start);
            start = self.next(start);
        }
        starts
    }
}

/// The kind of report, one per request shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Users, sessions, engagement and events per period.
    Traffic,
    /// Key events, purchases and revenue per period.
    Commerce,
    /// Sessions and users per default channel group.
    Channels,
    /// Counts of the configured events.
    Events,
    /// Users and sessions per configured landing page.
    LandingPages,
    /// Unique users who landed on any configured landing page.
    Landing,
}

impl Kind {
    /// Every kind, in request order.
    pub const ALL: [Kind; 6] = [
        Kind::Traffic,
        Kind::Commerce,
        Kind::Channels,
        Kind::Events,
        Kind::LandingPages,
        Kind::Landing,
    ];

    /// Its name in the cursor.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Traffic => "traffic",
            Kind::Commerce => "commerce",
            Kind::Channels => "channels",
            Kind::Events => "events",
            Kind::LandingPages => "landing_pages",
            Kind::Landing => "landing",
        }
    }
}

/// The shape of one kind of report, given the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Which report it is.
    pub kind: Kind,
    /// GA4 metric names, each stored under its snake_case name.
    pub metrics: Vec<&'static str>,
    /// The breakdown dimension after the period one, and the key stored in `dimension`.
    pub breakdown: Option<(&'static str, &'static str)>,
    /// Values kept by the filter on the breakdown's dimension (events, landing pages).
    pub filter: Option<(&'static str, Vec<String>)>,
}

impl Spec {
    /// What makes its stored rows comparable across runs: a change (a new landing page, a
    /// renamed event) reads its history again.
    pub fn signature(&self) -> String {
        let filter = self
            .filter
            .as_ref()
            .map(|(field, values)| format!("{field}={}", values.join(",")))
            .unwrap_or_default();
        format!("{}|{filter}", self.metrics.join(","))
    }

    /// The dimensions of a request of this kind at `grain`.
    pub fn dimensions(&self, grain: Grain) -> Vec<Named> {
        let mut dimensions = vec![Named::new(grain.dimension())];
        if let Some((name, _)) = self.breakdown {
            dimensions.push(Named::new(name));
        }
        dimensions
    }

    /// Its filter, if any.
    pub fn filter_expression(&self) -> Option<FilterExpression> {
        self.filter
            .as_ref()
            .map(|(field, values)| FilterExpression::in_list(field, values.clone()))
    }
}

/// The event counts stored per role, and the GA4 event that feeds each.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRoles(pub Vec<(&'static str, String)>);

/// The reports a run asks for, every grain alike: the ones without a configured input (no
/// landing page, no event) are left out.
pub fn specs(roles: &EventRoles, landing_pages: &[String]) -> Vec<Spec> {
    let mut specs = vec![
        Spec {
            kind: Kind::Traffic,
            metrics: vec![
                "totalUsers",
                "activeUsers",
                "newUsers",
                "sessions",
                "engagedSessions",
                "userEngagementDuration",
                "eventCount",
                "screenPageViews",
            ],
            breakdown: None,
            filter: None,
        },
        Spec {
            kind: Kind::Commerce,
            metrics: vec!["keyEvents", "ecommercePurchases", "purchaseRevenue"],
            breakdown: None,
            filter: None,
        },
        Spec {
            kind: Kind::Channels,
            metrics: vec!["sessions", "totalUsers"],
            breakdown: Some(("sessionDefaultChannelGroup", "channel")),
            filter: None,
        },
    ];
    let mut events: Vec<String> = roles.0.iter().map(|(_, event)| event.clone()).collect();
    events.sort();
    events.dedup();
    if !events.is_empty() {
        specs.push(Spec {
            kind: Kind::Events,
            metrics: vec!["eventCount"],
            breakdown: Some(("eventName", "event")),
            filter: Some(("eventName", events)),
        });
    }
    if !landing_pages.is_empty() {
        let pages = landing_pages.to_vec();
        specs.push(Spec {
            kind: Kind::LandingPages,
            metrics: vec!["totalUsers", "sessions"],
            breakdown: Some(("landingPage", "landing_page")),
            filter: Some(("landingPage", pages.clone())),
        });
        specs.push(Spec {
            kind: Kind::Landing,
            metrics: vec!["totalUsers"],
            breakdown: None,
            filter: Some(("landingPage", pages)),
        });
    }
    specs
}

/// One report to ask for: a kind, a grain and a run of consecutive periods.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Index into the run's specs.
    pub spec: usize,
    /// The grain.
    pub grain: Grain,
    /// First period start.
    pub first: Date,
    /// Last period start.
    pub last: Date,
    /// The first day asked (the start of `first`, or `start_date` if later).
    pub from: Date,
    /// The last day asked: the end of `last`, or the property's today if earlier.
    pub to: Date,
}

/// Where one grain's report stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// The last period start stored with no gap since the first one; `None` while the first
    /// period is still missing.
    pub through: Option<Date>,
    /// A run of periods stored beyond a gap (the recent periods a run reads first while an
    /// older backfill is still under way), folded into `through` once the gap is filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<(Date, Date)>,
    /// [`Spec::signature`] of the report these periods were read with.
    pub spec: String,
}

/// The `reports` stream's cursor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ga4Cursor {
    /// The first day of the backfill, fixed at the first run unless `start_date` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<Date>,
    /// The property's time zone, as GA4 last said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Per `grain:kind`, where that report stands.
    #[serde(default)]
    pub positions: BTreeMap<String, Position>,
    /// The quota left after the last answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<PropertyQuota>,
    /// When that answer came, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_at: Option<String>,
    /// Why the last run stopped before the end (quota), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

/// The key of a grain's report in [`Ga4Cursor::positions`].
pub fn position_key(grain: Grain, kind: Kind) -> String {
    format!("{}:{}", grain.as_str(), kind.as_str())
}

impl Ga4Cursor {
    /// The position of `spec` at `grain`, unless it was read with another shape of report.
    pub fn position(&self, grain: Grain, spec: &Spec) -> Option<&Position> {
        self.positions
            .get(&position_key(grain, spec.kind))
            .filter(|position| position.spec == spec.signature())
    }

    /// Records that `unit` is stored: `through` moves on when the unit follows it without a
    /// gap, and a run stored earlier beyond the gap is folded in once the gap closes.
    pub fn advance(&mut self, unit: &Unit, spec: &Spec, first_period: Date) {
        let grain = unit.grain;
        let mut position = self.position(grain, spec).cloned().unwrap_or(Position {
            through: None,
            ahead: None,
            spec: spec.signature(),
        });
        let next = position
            .through
            .map_or(first_period, |through| grain.next(through));
        if unit.first <= next {
            let through = position
                .through
                .map_or(unit.last, |through| through.max(unit.last));
            position.through = Some(through);
            if let Some((first, last)) = position.ahead
                && first <= grain.next(through)
            {
                position.through = Some(through.max(last));
                position.ahead = None;
            }
        } else {
            position.ahead = Some(match position.ahead {
                Some((first, last)) if unit.first <= grain.next(last) && first <= unit.last => {
                    (first.min(unit.first), last.max(unit.last))
                }
                _ => (unit.first, unit.last),
            });
        }
        self.positions
            .insert(position_key(grain, spec.kind), position);
    }
}

/// The units of a run: for each grain and report, the recent periods from `lookback_days`
/// before `today` to the current period, then the older periods not read yet, in chunks.
/// Recent units come first, so a run short of quota still refreshes what changes; older ones
/// follow oldest first, so a backfill advances without gaps.
pub fn plan(
    specs: &[Spec],
    cursor: &Ga4Cursor,
    start: Date,
    today: Date,
    lookback_days: u32,
) -> Vec<Unit> {
    if start > today {
        return Vec::new();
    }
    let window_start = today
        .checked_sub(jiff::Span::new().days(i64::from(lookback_days)))
        .unwrap_or(today)
        .max(start);
    let mut recent = Vec::new();
    let mut older = Vec::new();
    for grain in Grain::ALL {
        let first = grain.start_of(start);
        let horizon = grain.start_of(window_start);
        let current = grain.start_of(today);
        for (index, spec) in specs.iter().enumerate() {
            let unit = |first_period: Date, last_period: Date| Unit {
                spec: index,
                grain,
                first: first_period,
                last: last_period,
                from: first_period.max(start),
                to: grain.last_day(last_period).min(today),
            };
            recent.push(unit(horizon, current));

            let next = cursor
                .position(grain, spec)
                .and_then(|position| position.through)
                .map_or(first, |through| grain.next(through));
            let missing = grain
                .starts(next, horizon)
                .into_iter()
                .filter(|day| *day < horizon);
            let missing: Vec<Date> = missing.collect();
            for chunk in missing.chunks(grain.chunk() as usize) {
                if let (Some(first_period), Some(last_period)) = (chunk.first(), chunk.last()) {
                    older.push(unit(*first_period, *last_period));
                }
            }
        }
    }
    older.sort_by_key(|unit| (unit.from, unit.grain, unit.spec));
    recent.extend(older);
    recent
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn period_values_name_their_first_day() {
        assert_eq!(Grain::Day.parse_period("20260304"), Some(date(2026, 3, 4)));
        // ISO week 1 of 2026 starts on Monday 29 December 2025.
        assert_eq!(Grain::Week.parse_period("202601"), Some(date(2025, 12, 29)));
        assert_eq!(Grain::Week.parse_period("202653"), Some(date(2026, 12, 28)));
        assert_eq!(Grain::Month.parse_period("202602"), Some(date(2026, 2, 1)));
        assert_eq!(
            Grain::Week.parse_period("202554"),
            None,
            "2025 has 52 weeks"
        );
        assert_eq!(Grain::Day.parse_period("2026-03-04"), None);
        assert_eq!(Grain::Week.start_of(date(2026, 3, 8)), date(2026, 3, 2));
        assert_eq!(Grain::Month.last_day(date(2026, 2, 1)), date(2026, 2, 28));
    }

    #[test]
    fn recent_periods_come_first_and_a_gap_closes_when_the_backfill_reaches_them() {
        let roles = EventRoles(Vec::new());
        let specs = specs(&roles, &[]);
        let today = date(2026, 3, 10);
        let start = date(2026, 1, 1);
        let units = plan(&specs, &Ga4Cursor::default(), start, today, 3);
        let first = &units[0];
        assert_eq!(
            (first.grain, first.from, first.to),
            (Grain::Day, date(2026, 3, 7), today)
        );
        let backfill: Vec<_> = units
            .iter()
            .filter(|unit| unit.grain == Grain::Day && unit.spec == 0)
            .map(|unit| (unit.from, unit.to))
            .collect();
        assert_eq!(
            backfill,
            [
                (date(2026, 3, 7), today),
                (date(2026, 1, 1), date(2026, 1, 31)),
                (date(2026, 2, 1), date(2026, 3, 3)),
                (date(2026, 3, 4), date(2026, 3, 6)),
            ]
        );

        let mut cursor = Ga4Cursor::default();
        let day_units: Vec<_> = units
            .iter()
            .filter(|unit| unit.grain == Grain::Day && unit.spec == 0)
            .collect();
        cursor.advance(day_units[0], &specs[0], start);
        let position = cursor.position(Grain::Day, &specs[0]).unwrap().clone();
        assert_eq!(position.through, None, "the recent run is ahead of a gap");
        assert_eq!(position.ahead, Some((date(2026, 3, 7), today)));
        for unit in &day_units[1..] {
            cursor.advance(unit, &specs[0], start);
        }
        let position = cursor.position(Grain::Day, &specs[0]).unwrap();
        assert_eq!((position.through, position.ahead), (Some(today), None));

        // The next run reads only the recent days again.
        let again = plan(&specs, &cursor, start, today, 3);
        let days: Vec<_> = again
            .iter()
            .filter(|unit| unit.grain == Grain::Day && unit.spec == 0)
            .collect();
        assert_eq!(days.len(), 1);
        assert_eq!((days[0].from, days[0].to), (date(2026, 3, 7), today));
    }
}
