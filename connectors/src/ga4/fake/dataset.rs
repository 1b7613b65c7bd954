//! The fake's data: visits generated from a seed for any day (so a test at any date has data
//! up to its today), a pool of users small enough that the same people come back on several
//! days (a week's users are fewer than the sum of its days), visits added by tests (late data),
//! and the data-quality conditions a test can switch on.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

/// Channels, with how many of every 20 visits come from each.
const CHANNELS: [(&str, u32); 6] = [
    ("Organic Search", 8),
    ("Direct", 5),
    ("Paid Search", 3),
    ("Email", 2),
    ("Referral", 1),
    ("Organic Social", 1),
];

/// Landing pages visits start on.
pub const LANDING_PAGES: [&str; 6] = [
    "/",
    "/pricing",
    "/blog/first-post",
    "/blog/second-post",
    "/free-guide",
    "/signup",
];

/// Events that count as key events in the fake property.
pub const KEY_EVENTS: [&str; 3] = ["sign_up", "generate_lead", "purchase"];

/// One user's visit on one day, with what they did.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The day, in the property's time zone.
    pub date: Date,
    /// The user's id in the pool.
    pub user: u32,
    /// Whether this was the user's first visit ever.
    pub new_user: bool,
    /// Their session's default channel group.
    pub channel: &'static str,
    /// The page their first session started on.
    pub landing_page: String,
    /// Sessions that day.
    pub sessions: u32,
    /// Sessions that were engaged.
    pub engaged_sessions: u32,
    /// Seconds of engagement in total.
    pub engagement_seconds: u32,
    /// Pages and screens viewed.
    pub page_views: u32,
    /// Events by name and count, `page_view` and `session_start` included.
    pub events: Vec<(&'static str, u32)>,
    /// Revenue of their purchases, in cents of the property currency.
    pub revenue_cents: i64,
}

impl Visit {
    /// How many events of `name` the visit had.
    pub fn count_of(&self, name: &str) -> u32 {
        self.events
            .iter()
            .filter(|(event, _)| *event == name)
            .map(|(_, count)| count)
            .sum()
    }

    /// Every event of the visit.
    pub fn event_total(&self) -> u32 {
        self.events.iter().map(|(_, count)| count).sum()
    }
}

/// The fake property's data and settings.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Seeds every day's visits.
    pub seed: u64,
    /// The property's time zone, as the Admin API and report metadata give it.
    pub time_zone: String,
    /// The property's currency.
    pub currency: String,
    /// No visits before this day.
    pub first_day: Date,
    /// How many distinct users there are.
    pub pool: u32,
    /// Each day has from `.0` to `.1` (excluded) visitors.
    pub daily_visitors: (u32, u32),
    /// Days whose reports are subject to thresholding: small groups are withheld.
    pub thresholded: BTreeSet<Date>,
    /// When set, landing pages beyond the first N (by name) fold into an `(other)` row.
    pub other_row_after: Option<usize>,
    /// When set, reports say they read this many of that many events.
    pub sampling: Option<(u64, u64)>,
    /// Days that get no generated visits (a property that stopped collecting).
    pub silent: BTreeSet<Date>,
    added: BTreeMap<Date, Vec<Visit>>,
}

impl Dataset {
    /// Visits from `first_day` on, in `time_zone`, with the property currency EUR.
    pub fn new(first_day: Date, time_zone: &str) -> Dataset {
        Dataset {
            seed: 0x6a4,
            time_zone: time_zone.to_owned(),
            currency: "EUR".to_owned(),
            first_day,
            pool: 60,
            daily_visitors: (12, 26),
            thresholded: BTreeSet::new(),
            other_row_after: None,
            sampling: None,
            silent: BTreeSet::new(),
            added: BTreeMap::new(),
        }
    }

    /// Adds `count` visits of new users on `date` (late data arriving after a first read).
    pub fn add_visits(&mut self, date: Date, count: u32) {
        let visits = self.added.entry(date).or_default();
        for index in 0..count {
            let user = 100_000 + visits.len() as u32 + index;
            visits.push(Visit {
                date,
                user,
                new_user: true,
                channel: "Direct",
                landing_page: "/".to_owned(),
                sessions: 1,
                engaged_sessions: 1,
                engagement_seconds: 30,
                page_views: 2,
                events: vec![("page_view", 2), ("session_start", 1)],
                revenue_cents: 0,
            });
        }
    }

    /// Every visit of `date`.
    pub fn visits_on(&self, date: Date) -> Vec<Visit> {
        let mut visits = Vec::new();
        if date >= self.first_day && !self.silent.contains(&date) {
            visits = self.generated(date);
        }
        if let Some(added) = self.added.get(&date) {
            visits.extend(added.iter().cloned());
        }
        visits
    }

    /// Every visit from `from` to `to`, both included.
    pub fn visits_between(&self, from: Date, to: Date) -> Vec<Visit> {
        let mut visits = Vec::new();
        let mut day = from;
        while day <= to {
            visits.extend(self.visits_on(day));
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        visits
    }

    /// Distinct users from `from` to `to`: GA4's `totalUsers` for that range.
    pub fn unique_users(&self, from: Date, to: Date) -> usize {
        let users: BTreeSet<u32> = self
            .visits_between(from, to)
            .iter()
            .map(|visit| visit.user)
            .collect();
        users.len()
    }

    /// Sessions from `from` to `to`.
    pub fn sessions(&self, from: Date, to: Date) -> u64 {
        self.visits_between(from, to)
            .iter()
            .map(|visit| u64::from(visit.sessions))
            .sum()
    }

    fn generated(&self, date: Date) -> Vec<Visit> {
        let day = date
            .since(Date::constant(2000, 1, 1))
            .map_or(0, |span| span.get_days());
        let seed = self.seed ^ (day as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = fastrand::Rng::with_seed(seed);
        let (low, high) = self.daily_visitors;
        let count = rng.u32(low..high.max(low + 1));
        let mut users = BTreeSet::new();
        while (users.len() as u32) < count.min(self.pool) {
            users.insert(rng.u32(0..self.pool));
        }
        users
            .into_iter()
            .map(|user| visit(&mut rng, date, user))
            .collect()
    }
}

/// One generated visit.
fn visit(rng: &mut fastrand::Rng, date: Date, user: u32) -> Visit {
    let mut pick = rng.u32(0..20);
    let mut channel = CHANNELS[0].0;
    for (name, weight) in CHANNELS {
        if pick < weight {
            channel = name;
            break;
        }
        pick -= weight;
    }
    let sessions = rng.u32(1..=3);
    let engaged_sessions = rng.u32(0..=sessions);
    let page_views = sessions * rng.u32(1..=4);
    let mut events = vec![
        ("page_view", page_views),
        ("session_start", sessions),
        ("user_engagement", engaged_sessions),
    ];
    let mut revenue_cents = 0;
    for (name, percent) in [
        ("sign_up", 10),
        ("generate_lead", 8),
        ("first_open", 6),
        ("purchase", 7),
    ] {
        if rng.u32(0..100) < percent {
            events.push((name, 1));
            if name == "purchase" {
                revenue_cents = rng.i64(1000..20_000);
            }
        }
    }
    Visit {
        date,
        user,
        new_user: rng.u32(0..10) < 3,
        channel,
        landing_page: LANDING_PAGES[rng.usize(0..LANDING_PAGES.len())].to_owned(),
        sessions,
        engaged_sessions,
        engagement_seconds: engaged_sessions * rng.u32(20..300),
        page_views,
        events,
        revenue_cents,
    }
}
