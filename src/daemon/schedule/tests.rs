//! Schedules in Europe/Paris across the 2026 daylight-saving changes (29 March, 02:00 → 03:00;
//! 25 October, 03:00 → 02:00) and in zones without them.

use super::*;

fn paris(expression: &str) -> Schedule {
    let zone = TimeZone::get("Europe/Paris").expect("tzdata has Europe/Paris");
    Schedule::parse("schedule", expression, zone).expect("a valid schedule")
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 instant")
}

/// Every run strictly after `from` and up to `to`, as Paris wall-clock times with their offset.
fn runs(schedule: &Schedule, from: &str, to: &str) -> Vec<String> {
    let (mut now, end) = (at(from), at(to));
    let mut shown = Vec::new();
    while let Some(next) = schedule.next_after(now) {
        if next > end {
            break;
        }
        assert!(next > now, "{next} does not move past {now}");
        shown.push(
            next.to_zoned(schedule.zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S %:z")
                .to_string(),
        );
        now = next;
    }
    shown
}

/// The real time between consecutive runs, in minutes.
fn gaps_in_minutes(schedule: &Schedule, from: &str, count: usize) -> Vec<i64> {
    let mut now = schedule.next_after(at(from)).expect("a first run");
    let mut gaps = Vec::new();
    for _ in 0..count {
        let next = schedule.next_after(now).expect("a next run");
        gaps.push(next.duration_since(now).as_secs() / 60);
        now = next;
    }
    gaps
}

#[test]
fn a_fixed_time_in_the_skipped_hour_runs_once_when_the_hour_ends() {
    let schedule = paris("30 2 * * *");
    let runs = runs(&schedule, "2026-03-27T12:00:00Z", "2026-03-31T00:00:00Z");
    assert_eq!(
        runs,
        [
            "2026-03-28 02:30:00 +01:00",
            "2026-03-29 03:00:00 +02:00",
            "2026-03-30 02:30:00 +02:00",
        ]
    );
}

#[test]
fn a_fixed_time_in_the_repeated_hour_runs_once_on_the_first_pass() {
    let schedule = paris("30 2 * * *");
    let runs = runs(&schedule, "2026-10-23T12:00:00Z", "2026-10-27T00:00:00Z");
    assert_eq!(
        runs,
        [
            "2026-10-24 02:30:00 +02:00",
            "2026-10-25 02:30:00 +02:00",
            "2026-10-26 02:30:00 +01:00",
        ]
    );
}

#[test]
fn fixed_times_outside_the_changed_hour_keep_their_wall_clock_time() {
    let schedule = paris("0 9 * * *");
    let spring = runs(&schedule, "2026-03-28T00:00:00Z", "2026-03-30T12:00:00Z");
    assert_eq!(
        spring,
        [
            "2026-03-28 09:00:00 +01:00",
            "2026-03-29 09:00:00 +02:00",
            "2026-03-30 09:00:00 +02:00",
        ]
    );
    let autumn = runs(&schedule, "2026-10-24T00:00:00Z", "2026-10-26T12:00:00Z");
    assert_eq!(
        autumn,
        [
            "2026-10-24 09:00:00 +02:00",
            "2026-10-25 09:00:00 +01:00",
            "2026-10-26 09:00:00 +01:00",
        ]
    );
}

#[test]
fn an_interval_schedule_skips_the_times_that_do_not_exist() {
    let schedule = paris("*/30 * * * *");
    let runs = runs(&schedule, "2026-03-28T23:00:00Z", "2026-03-29T02:00:00Z");
    assert_eq!(
        runs,
        [
            "2026-03-29 00:30:00 +01:00",
            "2026-03-29 01:00:00 +01:00",
            "2026-03-29 01:30:00 +01:00",
            "2026-03-29 03:00:00 +02:00",
            "2026-03-29 03:30:00 +02:00",
            "2026-03-29 04:00:00 +02:00",
        ]
    );
    // Real time between runs stays half an hour.
    assert!(
        gaps_in_minutes(&schedule, "2026-03-28T22:00:00Z", 12)
            .iter()
            .all(|gap| *gap == 30)
    );
}

#[test]
fn an_interval_schedule_runs_the_repeated_times_in_both_passes() {
    let schedule = paris("*/30 * * * *");
    let runs = runs(&schedule, "2026-10-24T23:00:00Z", "2026-10-25T02:00:00Z");
    assert_eq!(
        runs,
        [
            "2026-10-25 01:30:00 +02:00",
            "2026-10-25 02:00:00 +02:00",
            "2026-10-25 02:30:00 +02:00",
            "2026-10-25 02:00:00 +01:00",
            "2026-10-25 02:30:00 +01:00",
            "2026-10-25 03:00:00 +01:00",
        ]
    );
    assert!(
        gaps_in_minutes(&schedule, "2026-10-24T22:00:00Z", 12)
            .iter()
            .all(|gap| *gap == 30)
    );
}

#[test]
fn every_second_stays_continuous_across_both_changes() {
    let schedule = paris("* * * * * *");
    for change in ["2026-03-29T01:00:00Z", "2026-10-25T01:00:00Z"] {
        let mut now = at(change)
            .checked_sub(SignedDuration::from_secs(5))
            .unwrap();
        for _ in 0..10 {
            let next = schedule.next_after(now).unwrap();
            assert_eq!(next.duration_since(now), SignedDuration::from_secs(1));
            now = next;
        }
    }
}

#[test]
fn a_daily_fixed_time_runs_once_on_every_day_of_the_year() {
    for expression in ["30 2 * * *", "0 3 * * *", "59 1 * * *", "0 0 * * *"] {
        let schedule = paris(expression);
        let runs = runs(&schedule, "2025-12-31T22:59:59Z", "2026-12-31T22:59:59Z");
        let days: std::collections::BTreeSet<&str> = runs.iter().map(|run| &run[..10]).collect();
        assert_eq!(runs.len(), 365, "{expression}: {runs:?}");
        assert_eq!(days.len(), 365, "{expression}");
    }
}

#[test]
fn hourly_runs_follow_real_time_through_the_year() {
    let schedule = paris("0 * * * *");
    let runs = runs(&schedule, "2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z");
    // 8760 hours in 2026, less the one that never was, plus the one that happened twice,
    // counted from midnight to midnight in Paris.
    assert_eq!(runs.len(), 8760);
}

#[test]
fn seconds_are_honoured_in_the_six_field_form() {
    let schedule = paris("*/20 * * * * *");
    let runs = runs(&schedule, "2026-06-01T10:00:00Z", "2026-06-01T10:01:00Z");
    assert_eq!(
        runs,
        [
            "2026-06-01 12:00:20 +02:00",
            "2026-06-01 12:00:40 +02:00",
            "2026-06-01 12:01:00 +02:00",
        ]
    );
}

#[test]
fn a_run_time_itself_is_not_its_own_next_run() {
    let schedule = paris("0 6 * * *");
    let first = schedule.next_after(at("2026-06-01T00:00:00Z")).unwrap();
    assert_eq!(first, at("2026-06-01T04:00:00Z"));
    assert_eq!(
        schedule.next_after(first).unwrap(),
        at("2026-06-02T04:00:00Z")
    );
}

#[test]
fn the_interval_is_measured_in_real_time() {
    let daily = paris("0 6 * * *");
    let day = daily.interval_after(at("2026-06-01T00:00:00Z")).unwrap();
    assert_eq!(day, SignedDuration::from_hours(24));
    let short_day = daily.interval_after(at("2026-03-28T00:00:00Z")).unwrap();
    assert_eq!(short_day, SignedDuration::from_hours(23));
    let half_hour = paris("*/30 * * * *").interval_after(at("2026-06-01T00:10:00Z"));
    assert_eq!(half_hour, Some(SignedDuration::from_mins(30)));
}

#[test]
fn zones_without_daylight_saving_time_map_directly() {
    let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
    let schedule = Schedule::parse("schedule", "0 9 * * 1-5", tokyo).unwrap();
    // Friday 2026-01-02 09:00 JST, then Monday 2026-01-05.
    let friday = schedule.next_after(at("2026-01-01T12:00:00Z")).unwrap();
    assert_eq!(friday, at("2026-01-02T00:00:00Z"));
    assert_eq!(
        schedule.next_after(friday).unwrap(),
        at("2026-01-05T00:00:00Z")
    );
    let utc = Schedule::parse("schedule", "*/15 * * * *", TimeZone::UTC).unwrap();
    assert_eq!(
        utc.next_after(at("2026-03-29T00:59:00Z")),
        Some(at("2026-03-29T01:00:00Z"))
    );
}

#[test]
fn a_date_that_never_comes_gives_no_run() {
    let schedule = paris("0 0 30 2 *");
    assert_eq!(schedule.next_after(at("2026-01-01T00:00:00Z")), None);
}
