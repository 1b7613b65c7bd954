//! The Stripe inputs of the KPI engine, folded while they are read: balance transactions and
//! orders into sums per civil day of the business time zone (every period boundary is a local
//! midnight, so any grain's sums are sums of days), buyers into one small record each, and
//! subscriptions (few) into time-sorted indexes that answer "how many were active at instant
//! t" with a binary search. Per-period aggregates are built from these in [`frame`]. Memory
//! grows with days, buyers and balance transactions (8 bytes each, for the settlement join),
//! not with orders.
//!
//! It never writes; a missing Stripe table (Stripe not configured) reads as empty.
//!
//! Known shortcoming: orders are joined with their balance transaction, and buyers told apart,
//! by 64-bit hashes of their ids and keys (56 bits for balance transactions). Two keys sharing
//! a hash would be taken for one; at a million of them the odds are about one in fifty
//! thousand for balance transactions and one in thirty million for buyers.

mod days;
mod frame;
mod instant;

use std::collections::BTreeMap;
use std::hash::Hasher as _;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension};

use rustc_hash::FxHashMap as FastMap;

use days::{DayFinder, LocalDay};
pub(crate) use frame::{Flow, Stock, StripeFrame};

/// Table names, as stored in the `sources` column.
pub const BALANCE_TRANSACTIONS: &str = "stripe_balance_transactions";
/// Charges: orders and their buyers.
pub const CHARGES: &str = "stripe_charges";
/// Subscriptions: active, new, churned, MRR.
pub const SUBSCRIPTIONS: &str = "stripe_subscriptions";

/// Everything the Stripe KPIs read, for all grains.
#[derive(Debug, Default)]
pub(crate) struct StripeData {
    /// The earliest instant of any Stripe object read, Unix seconds.
    first: Option<i64>,
    /// Upper-case currency codes; other fields refer to them by index.
    currencies: Vec<String>,
    /// Balance transactions, orders and buyers summed per local day, by date.
    days: BTreeMap<Date, Day>,
    subscriptions: Vec<Subscription>,
    /// Paid subscriptions, to count those active at an instant.
    active: Intervals,
    /// The same per subscription currency, with their monthly amounts, for MRR.
    active_by_currency: Vec<Intervals>,
}

/// One local day's sums.
#[derive(Debug, Default)]
struct Day {
    /// The day's first instant, Unix seconds: a period boundary of every grain when one falls
    /// on this day.
    start: i64,
    /// Per currency (by index; shorter when the last ones have nothing this day).
    money: Vec<DayMoney>,
    /// Orders created this day.
    orders: i64,
    /// Buyers whose first order was this day.
    first_buyers: i64,
    /// Buyers whose second order was this day.
    second_buyers: i64,
}

/// One day's sums in one currency, in minor units, with how many objects made each.
#[derive(Debug, Default, Clone, Copy)]
struct DayMoney {
    /// Balance transactions of type charge or payment: amount.
    gross: (i64, u32),
    /// Refunds: minus amount (positive).
    refunds: (i64, u32),
    /// Every balance transaction: fee.
    fees: (i64, u32),
    /// Orders settled in this currency (their balance transaction is in it).
    settled_orders: i64,
    /// Buyers whose first order settled in this currency was this day.
    first_settled_buyers: i64,
}

impl Day {
    fn money(&mut self, currency: usize) -> &mut DayMoney {
        if self.money.len() <= currency {
            self.money.resize(currency + 1, DayMoney::default());
        }
        &mut self.money[currency]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MovementKind {
    /// `charge` or `payment`: gross revenue.
    Payment,
    /// `refund` or `payment_refund`: money given back (a negative amount).
    Refund,
    /// Payouts, adjustments, fees...: only their fees count.
    Other,
}

/// A subscription, with the instants that decide when it counts as active.
#[derive(Debug, Clone, Copy)]
struct Subscription {
    created: Option<i64>,
    /// When paying starts: the trial's end, else the start date, else creation.
    paid_start: Option<i64>,
    /// When it stopped: `ended_at`, else `canceled_at` for a canceled one; `None` if running.
    end: Option<i64>,
    /// Not a free plan, and not an abandoned first payment (`incomplete*`).
    paid: bool,
    /// A free plan or a trial: a free sign-up when created.
    free_signup: bool,
}

/// The covering indexes the Stripe KPIs read through, with their tables. Each holds every
/// column its query reads (the filter's too: SQLite only scans an index alone when it has every
/// column the query names), so a recompute scans a few megabytes of index instead of every row
/// with its raw JSON. Both lead with `created`, which list walks write in descending order, so
/// a sync keeps them up at little cost.
const INDEXES: [(&str, &str); 2] = [
    (
        CHARGES,
        "CREATE INDEX IF NOT EXISTS stripe_charges_kpi_orders
         ON stripe_charges (created, customer, billing_email, balance_transaction,
                            status, captured, amount_captured)
         WHERE status = 'succeeded' AND captured = 1 AND amount_captured > 0",
    ),
    (
        BALANCE_TRANSACTIONS,
        "CREATE INDEX IF NOT EXISTS stripe_balance_transactions_kpi
         ON stripe_balance_transactions (created, id, type, amount, fee, currency)",
    ),
];

/// Balance transactions, through `stripe_balance_transactions_kpi`, in its order: by time,
/// so that consecutive rows fall on the same day.
const MOVEMENTS: &str = "SELECT id, created, type, amount, fee, currency
                         FROM stripe_balance_transactions
                         ORDER BY created";

/// Orders, through `stripe_charges_kpi_orders`, by time like the balance transactions.
const ORDERS: &str = "SELECT created, customer, billing_email, balance_transaction
                      FROM stripe_charges
                      WHERE status = 'succeeded' AND captured = 1 AND amount_captured > 0
                      ORDER BY created";

/// Creates the covering indexes of the Stripe KPIs on the tables that exist; a no-op once
/// they do. Building one on a full table reads it once.
pub fn ensure_indexes(conn: &Connection) -> rusqlite::Result<()> {
    for (table, sql) in INDEXES {
        if table_exists(conn, table)? {
            conn.execute_batch(sql)?;
        }
    }
    Ok(())
}

impl StripeData {
    /// Reads the Stripe tables of `conn`, creating the indexes it reads through if needed, and
    /// sums them per local day of `timezone`.
    pub fn load(conn: &Connection, timezone: &TimeZone) -> rusqlite::Result<StripeData> {
        ensure_indexes(conn)?;
        let mut data = StripeData::default();
        let mut finder = DayFinder::new(timezone);
        let mut settlement = Settlement::default();
        if table_exists(conn, BALANCE_TRANSACTIONS)? {
            settlement = data.load_movements(conn, &mut finder)?;
        }
        if table_exists(conn, CHARGES)? {
            data.load_orders(conn, &mut finder, &settlement)?;
        }
        drop(settlement);
        if table_exists(conn, SUBSCRIPTIONS)? {
            data.load_subscriptions(conn)?;
        }
        Ok(data)
    }

    /// The earliest instant of Stripe data, Unix seconds; `None` when there is none.
    pub fn first_second(&self) -> Option<i64> {
        self.first
    }

    fn seen(&mut self, second: Option<i64>) {
        if let Some(second) = second {
            self.first = Some(self.first.map_or(second, |first| first.min(second)));
        }
    }

    /// The index of a currency code, interned upper-case.
    fn currency(&mut self, code: &str) -> usize {
        let code = code.trim();
        if let Some(index) = self
            .currencies
            .iter()
            .position(|known| known.eq_ignore_ascii_case(code))
        {
            return index;
        }
        self.currencies.push(code.to_ascii_uppercase());
        self.currencies.len() - 1
    }

    /// The sums of a local day.
    fn day(&mut self, found: LocalDay) -> &mut Day {
        let day = self.days.entry(found.date).or_default();
        day.start = found.start;
        day
    }

    /// Sums balance transactions per day; returns the currency of each, by id, to settle
    /// orders with.
    fn load_movements(
        &mut self,
        conn: &Connection,
        finder: &mut DayFinder,
    ) -> rusqlite::Result<Settlement> {
        let mut statement = conn.prepare(MOVEMENTS)?;
        // Sized up front: growing it doubles it, and the old copy lives until the move ends.
        let count: i64 = conn.query_row(
            "SELECT count(*) FROM stripe_balance_transactions",
            [],
            |row| row.get(0),
        )?;
        let mut settlement = Settlement::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            // Money without a currency cannot be reported in any; Stripe always sends one.
            let code = row
                .get_ref(5)?
                .as_str_or_null()?
                .map(str::trim)
                .unwrap_or("");
            if code.is_empty() {
                continue;
            }
            let currency = self.currency(code);
            if let Some(id) = row.get_ref(0)?.as_str_or_null()? {
                settlement.insert(id, currency);
            }
            // An instant that cannot be read cannot be placed in a period.
            let Some(at) = instant::seconds(row.get_ref(1)?) else {
                continue;
            };
            let kind = match row.get_ref(2)?.as_str_or_null()? {
                Some("charge" | "payment") => MovementKind::Payment,
                Some("refund" | "payment_refund") => MovementKind::Refund,
                _ => MovementKind::Other,
            };
            let amount: i64 = row.get::<_, Option<i64>>(3)?.unwrap_or(0);
            let fee: i64 = row.get::<_, Option<i64>>(4)?.unwrap_or(0);
            self.seen(Some(at));
            let Some(found) = finder.day_of(at) else {
                continue;
            };
            let money = self.day(found).money(currency);
            let add = |sum: &mut (i64, u32), minor: i64| {
                sum.0 += minor;
                sum.1 += 1;
            };
            match kind {
                MovementKind::Payment => add(&mut money.gross, amount),
                // Stripe stores refunds as negative amounts; the KPI is what was given back.
                MovementKind::Refund => add(&mut money.refunds, -amount),
                MovementKind::Other => {}
            }
            add(&mut money.fees, fee);
        }
        settlement.finish();
        Ok(settlement)
    }

    /// Counts orders per day, settled ones per currency, and folds each into its buyer's
    /// record; `settlement` gives the currency of their balance transactions. Joining here
    /// rather than in SQL saves an index lookup per charge.
    fn load_orders(
        &mut self,
        conn: &Connection,
        finder: &mut DayFinder,
        settlement: &Settlement,
    ) -> rusqlite::Result<()> {
        // Charges that are not orders (failed, pending, uncaptured) feed no KPI, and do not
        // stretch the range of periods either.
        let mut statement = conn.prepare(ORDERS)?;
        let mut buyers = Buyers::default();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let Some(at) = instant::seconds(row.get_ref(0)?) else {
                continue;
            };
            self.seen(Some(at));
            let customer = row.get_ref(1)?.as_str_or_null()?;
            let email = row.get_ref(2)?.as_str_or_null()?;
            let settled_in = row
                .get_ref(3)?
                .as_str_or_null()?
                .and_then(|id| settlement.get(id));
            let Some(found) = finder.day_of(at) else {
                continue;
            };
            let day = self.day(found);
            day.orders += 1;
            if let Some(currency) = settled_in {
                day.money(currency).settled_orders += 1;
            }
            if let Some(buyer) = buyer_key(customer, email) {
                buyers.add(buyer, found.date, settled_in);
            }
        }
        self.count_buyers(buyers);
        Ok(())
    }

    /// Adds each buyer's first order, second order and first order in each settlement
    /// currency to the days they fell on.
    fn count_buyers(&mut self, buyers: Buyers) {
        let Buyers { orders, settled } = buyers;
        for first_two in orders.into_values() {
            if let Some(day) = self.days.get_mut(&first_two.first) {
                day.first_buyers += 1;
            }
            if first_two.second != NO_DATE
                && let Some(day) = self.days.get_mut(&first_two.second)
            {
                day.second_buyers += 1;
            }
        }
        for (currency, firsts) in settled.into_iter().enumerate() {
            for date in firsts.into_values() {
                if let Some(day) = self.days.get_mut(&date) {
                    day.money(currency).first_settled_buyers += 1;
                }
            }
        }
    }

    fn load_subscriptions(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let mut statement = conn.prepare(
            "SELECT created, start_date, trial_end, canceled_at, ended_at, status,
                    trial_start IS NOT NULL, coalesce(is_free, 0) = 1, currency,
                    coalesce(monthly_amount, 0)
             FROM stripe_subscriptions",
        )?;
        let mut active = Vec::new();
        let mut active_by_currency: Vec<Vec<(i64, Option<i64>, i64)>> = Vec::new();
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let created = instant::seconds(row.get_ref(0)?);
            let start_date = instant::seconds(row.get_ref(1)?);
            let trial_end = instant::seconds(row.get_ref(2)?);
            let canceled_at = instant::seconds(row.get_ref(3)?);
            let ended_at = instant::seconds(row.get_ref(4)?);
            let status = row.get_ref(5)?.as_str_or_null()?.unwrap_or("");
            let in_trial: bool = row.get(6)?;
            let is_free: bool = row.get(7)?;
            let end = ended_at.or(canceled_at.filter(|_| status == "canceled"));
            let subscription = Subscription {
                created,
                paid_start: trial_end.or(start_date).or(created),
                end,
                paid: !is_free && !matches!(status, "incomplete" | "incomplete_expired"),
                free_signup: is_free || in_trial,
            };
            let currency = row
                .get_ref(8)?
                .as_str_or_null()?
                .filter(|code| !code.trim().is_empty())
                .map(|code| self.currency(code));
            let monthly: i64 = row.get(9)?;

            self.seen(created);
            self.seen(start_date);
            if let (true, Some(start)) = (subscription.paid, subscription.paid_start) {
                // One that ended before paying started (a trial canceled) is never active.
                if end.is_none_or(|end| end > start) {
                    active.push((start, end, 1));
                    if let Some(currency) = currency {
                        active_by_currency.resize(self.currencies.len(), Vec::new());
                        active_by_currency[currency].push((start, end, monthly));
                    }
                }
            }
            self.subscriptions.push(subscription);
        }
        self.active = Intervals::new(active);
        active_by_currency.resize(self.currencies.len(), Vec::new());
        self.active_by_currency = active_by_currency.into_iter().map(Intervals::new).collect();
        Ok(())
    }
}

/// A 64-bit hash of `parts`, the same in every run of one build (SipHash with fixed keys).
fn hash_of(parts: &[&[u8]]) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    for part in parts {
        hasher.write(part);
    }
    hasher.finish()
}

/// The buyer of an order, hashed: the Stripe customer, else the billing e-mail (a guest
/// checkout), trimmed and lower-cased; `None` when the charge has neither.
fn buyer_key(customer: Option<&str>, email: Option<&str>) -> Option<u64> {
    // The tag keeps a customer id and an e-mail of the same text two buyers.
    if let Some(customer) = customer.filter(|customer| !customer.is_empty()) {
        return Some(hash_of(&[b"c", customer.as_bytes()]));
    }
    let email = email.map(str::trim).filter(|email| !email.is_empty())?;
    if email.chars().any(char::is_uppercase) {
        Some(hash_of(&[b"e", email.to_lowercase().as_bytes()]))
    } else {
        Some(hash_of(&[b"e", email.as_bytes()]))
    }
}

/// Marks a buyer without a second order.
const NO_DATE: Date = Date::MAX;

/// The days of a buyer's first two orders (the same day twice for two orders that day).
#[derive(Debug, Clone, Copy)]
struct FirstTwo {
    first: Date,
    /// [`NO_DATE`] until a second order.
    second: Date,
}

/// Per buyer, what the buyer counts need: a few bytes each, whatever their number of orders.
#[derive(Default)]
struct Buyers {
    /// By buyer key.
    orders: FastMap<u64, FirstTwo>,
    /// Per settlement currency, by buyer key: the day of their first order settled in it.
    settled: Vec<FastMap<u64, Date>>,
}

impl Buyers {
    /// Folds in an order of `buyer` made on `date`. Days are monotonic in instants, so the
    /// two smallest days are the days of the two earliest orders, in any reading order.
    fn add(&mut self, buyer: u64, date: Date, settled_in: Option<usize>) {
        self.orders
            .entry(buyer)
            .and_modify(|days| {
                if date < days.first {
                    days.second = days.first;
                    days.first = date;
                } else if date < days.second {
                    days.second = date;
                }
            })
            .or_insert(FirstTwo {
                first: date,
                second: NO_DATE,
            });
        if let Some(currency) = settled_in {
            if self.settled.len() <= currency {
                self.settled.resize_with(currency + 1, FastMap::default);
            }
            self.settled[currency]
                .entry(buyer)
                .and_modify(|first| *first = (*first).min(date))
                .or_insert(date);
        }
    }
}

/// Balance transaction ids with their currency, for orders to find the currency they settled
/// in: 56 bits of each id's hash and 8 bits of currency index in one sorted `u64`, 8 bytes per
/// balance transaction, found through a table of where each 16-bit prefix starts.
#[derive(Default)]
struct Settlement {
    packed: Vec<u64>,
    /// `starts[p]..starts[p + 1]` holds the entries whose hash starts with `p`.
    starts: Vec<u32>,
    /// Balance transactions in a currency past the 255th, by id (none in practice).
    overflow: FastMap<String, usize>,
}

impl Settlement {
    const CURRENCY_BITS: u32 = 8;
    const PREFIX_BITS: u32 = 16;

    fn with_capacity(capacity: usize) -> Settlement {
        Settlement {
            packed: Vec::with_capacity(capacity),
            ..Settlement::default()
        }
    }

    fn key(id: &str) -> u64 {
        hash_of(&[id.as_bytes()]) & !((1 << Self::CURRENCY_BITS) - 1)
    }

    fn insert(&mut self, id: &str, currency: usize) {
        match u64::try_from(currency) {
            Ok(small) if small < 1 << Self::CURRENCY_BITS => {
                self.packed.push(Self::key(id) | small);
            }
            _ => {
                self.overflow.insert(id.to_owned(), currency);
            }
        }
    }

    fn finish(&mut self) {
        self.packed.sort_unstable();
        self.packed.shrink_to_fit();
        let prefixes = 1usize << Self::PREFIX_BITS;
        let mut starts = Vec::with_capacity(prefixes + 1);
        let mut next = 0;
        for prefix in 0..prefixes {
            while next < self.packed.len() && self.prefix(self.packed[next]) < prefix {
                next += 1;
            }
            starts.push(next as u32);
        }
        starts.push(self.packed.len() as u32);
        self.starts = starts;
    }

    fn prefix(&self, packed: u64) -> usize {
        (packed >> (64 - Self::PREFIX_BITS)) as usize
    }

    /// The currency of the balance transaction `id`, if it is stored.
    fn get(&self, id: &str) -> Option<usize> {
        if !self.overflow.is_empty()
            && let Some(currency) = self.overflow.get(id)
        {
            return Some(*currency);
        }
        let key = Self::key(id);
        let prefix = self.prefix(key);
        let (from, to) = (*self.starts.get(prefix)?, *self.starts.get(prefix + 1)?);
        let bucket = &self.packed[from as usize..to as usize];
        let mask = (1 << Self::CURRENCY_BITS) - 1;
        let at = bucket.partition_point(|packed| packed & !mask < key);
        let found = bucket.get(at).filter(|packed| *packed & !mask == key)?;
        Some((found & mask) as usize)
    }
}

/// Half-open intervals `[start, end)` with an amount each, indexed so that the number of
/// intervals containing an instant, and the sum of their amounts, cost two binary searches.
#[derive(Debug, Default)]
struct Intervals {
    /// Starts, sorted, and the running sum of amounts by start.
    starts: Vec<i64>,
    start_sums: Vec<i64>,
    /// Finite ends, sorted, and the running sum of amounts by end.
    ends: Vec<i64>,
    end_sums: Vec<i64>,
}

impl Intervals {
    /// Every interval must have `start < end`.
    fn new(mut intervals: Vec<(i64, Option<i64>, i64)>) -> Intervals {
        let mut index = Intervals::default();
        intervals.sort_unstable_by_key(|(start, _, _)| *start);
        index.starts = intervals.iter().map(|(start, _, _)| *start).collect();
        index.start_sums = running_sums(intervals.iter().map(|(_, _, amount)| *amount));

        let mut ends: Vec<(i64, i64)> = intervals
            .iter()
            .filter_map(|(_, end, amount)| end.map(|end| (end, *amount)))
            .collect();
        ends.sort_unstable_by_key(|(end, _)| *end);
        index.ends = ends.iter().map(|(end, _)| *end).collect();
        index.end_sums = running_sums(ends.iter().map(|(_, amount)| *amount));
        index
    }

    /// How many intervals contain `instant`, and the sum of their amounts.
    fn at(&self, instant: i64) -> (i64, i64) {
        // An interval that ended by `instant` also started by then (start < end), so the
        // ended ones are a subset of the started ones.
        let started = self.starts.partition_point(|start| *start <= instant);
        let ended = self.ends.partition_point(|end| *end <= instant);
        let sum = |sums: &[i64], count: usize| sums.get(count).copied().unwrap_or(0);
        (
            started as i64 - ended as i64,
            sum(&self.start_sums, started) - sum(&self.end_sums, ended),
        )
    }
}

/// `[0, a, a + b, ...]`: sum of the first `n` amounts at index `n`.
fn running_sums(amounts: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut sums = vec![0];
    let mut total = 0;
    for amount in amounts {
        total += amount;
        sums.push(total);
    }
    sums
}

fn table_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn settlement_finds_stored_ids_only_with_their_currency() {
        let mut settlement = Settlement::with_capacity(0);
        for index in 0..50_000 {
            settlement.insert(&format!("txn_{index:024}"), index % 3);
        }
        // Past the 255th currency, ids are kept whole.
        settlement.insert("txn_exotic", 300);
        settlement.finish();
        for index in (0..50_000).step_by(7) {
            let id = format!("txn_{index:024}");
            assert_eq!(settlement.get(&id), Some(index % 3), "{id}");
        }
        assert_eq!(settlement.get("txn_exotic"), Some(300));
        for index in 50_000..60_000 {
            assert_eq!(settlement.get(&format!("txn_{index:024}")), None);
        }
        assert_eq!(Settlement::default().get("txn_0"), None);
    }

    #[test]
    fn buyers_keep_their_first_two_days_whatever_the_reading_order() {
        let buyer = buyer_key(None, Some(" Ann@Example.com ")).unwrap();
        assert_eq!(buyer_key(None, Some("ann@example.com")), Some(buyer));
        assert_ne!(buyer_key(Some("ann@example.com"), None), Some(buyer));
        assert_eq!(buyer_key(Some(""), Some(" ")), None);

        let mut buyers = Buyers::default();
        for (day, currency) in [(9, Some(1)), (3, None), (5, Some(1)), (3, Some(0))] {
            buyers.add(buyer, date(2026, 1, day), currency);
        }
        let days = buyers.orders[&buyer];
        assert_eq!(
            (days.first, days.second),
            (date(2026, 1, 3), date(2026, 1, 3))
        );
        assert_eq!(buyers.settled[0][&buyer], date(2026, 1, 3));
        assert_eq!(buyers.settled[1][&buyer], date(2026, 1, 5));

        let mut alone = Buyers::default();
        alone.add(buyer, date(2026, 1, 9), None);
        assert_eq!(alone.orders[&buyer].second, NO_DATE);
    }

    #[test]
    fn the_big_reads_scan_covering_indexes_only() {
        let warehouse = crate::warehouse::Warehouse::open_in_memory().unwrap();
        warehouse
            .ensure_tables(&connectors::stripe::tables::TABLES)
            .unwrap();
        let conn = warehouse.conn();
        ensure_indexes(conn).unwrap();
        for query in [MOVEMENTS, ORDERS] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
                .unwrap()
                .query_map([], |row| row.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            // One step, no sort: the index already gives the rows in time order.
            assert_eq!(plan.len(), 1, "{query}: {plan:?}");
            assert!(
                plan[0].contains("USING COVERING INDEX"),
                "{query}: {plan:?}"
            );
        }
    }
}
