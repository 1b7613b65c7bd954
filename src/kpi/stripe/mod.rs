//! The Stripe inputs of the KPI engine: the few columns the KPIs need, read once per recompute
//! with instants as Unix seconds, plus the time-sorted indexes that answer "how many
//! subscriptions were active at instant t" or "how many customers had bought by t" with a
//! binary search. Per-period aggregates are built from these in [`frame`].
//!
//! It never writes; a missing Stripe table (Stripe not configured) reads as empty.

mod frame;
mod instant;

use rusqlite::{Connection, OptionalExtension};

use rustc_hash::FxHashMap as FastMap;

pub(crate) use frame::{Flow, StripeFrame};

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
    movements: Vec<Movement>,
    orders: Vec<Order>,
    subscriptions: Vec<Subscription>,
    /// Paid subscriptions, to count those active at an instant.
    active: Intervals,
    /// The same per subscription currency, with their monthly amounts, for MRR.
    active_by_currency: Vec<Intervals>,
    /// Per buyer, the instant of their first order, sorted.
    first_orders: Vec<i64>,
    /// Per buyer with two orders or more, the instant of their second order, sorted.
    second_orders: Vec<i64>,
    /// Per settlement currency, the first order of each buyer in that currency, sorted.
    first_settled_orders: Vec<Vec<i64>>,
}

/// A balance transaction, reduced to what revenue needs.
#[derive(Debug, Clone, Copy)]
struct Movement {
    at: i64,
    kind: MovementKind,
    amount: i64,
    fee: i64,
    currency: usize,
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

/// A succeeded, captured charge with a non-zero amount.
#[derive(Debug, Clone, Copy)]
struct Order {
    at: i64,
    /// The currency of its balance transaction, when that is stored.
    settled_in: Option<usize>,
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

/// Balance transactions, through `stripe_balance_transactions_kpi`.
const MOVEMENTS: &str = "SELECT id, created, type, amount, fee, currency
                         FROM stripe_balance_transactions";

/// Orders, through `stripe_charges_kpi_orders`.
const ORDERS: &str = "SELECT created, customer, billing_email, balance_transaction
                      FROM stripe_charges
                      WHERE status = 'succeeded' AND captured = 1 AND amount_captured > 0";

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
    /// Reads the Stripe tables of `conn`, creating the indexes it reads through if needed.
    pub fn load(conn: &Connection) -> rusqlite::Result<StripeData> {
        ensure_indexes(conn)?;
        let mut data = StripeData::default();
        let mut settlement = FastMap::default();
        if table_exists(conn, BALANCE_TRANSACTIONS)? {
            settlement = data.load_movements(conn)?;
        }
        if table_exists(conn, CHARGES)? {
            data.load_orders(conn, &settlement)?;
        }
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

    /// Reads balance transactions; returns the currency of each, by id, to settle orders.
    fn load_movements(&mut self, conn: &Connection) -> rusqlite::Result<FastMap<String, usize>> {
        let mut statement = conn.prepare(MOVEMENTS)?;
        // Sized up front: growing a map of a hundred thousand ids rehashes it many times.
        let count: i64 = conn.query_row(
            "SELECT count(*) FROM stripe_balance_transactions",
            [],
            |row| row.get(0),
        )?;
        let mut settlement = FastMap::default();
        settlement.reserve(usize::try_from(count).unwrap_or(0));
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
                settlement.insert(id.to_owned(), currency);
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
            let amount: Option<i64> = row.get(3)?;
            let fee: Option<i64> = row.get(4)?;
            self.seen(Some(at));
            self.movements.push(Movement {
                at,
                kind,
                amount: amount.unwrap_or(0),
                fee: fee.unwrap_or(0),
                currency,
            });
        }
        Ok(settlement)
    }

    /// Reads orders and indexes their buyers; `settlement` gives the currency of their balance
    /// transactions. Joining here rather than in SQL saves an index lookup per charge.
    fn load_orders(
        &mut self,
        conn: &Connection,
        settlement: &FastMap<String, usize>,
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
            let buyer = buyers.key(customer, email);
            let settled_in = row
                .get_ref(3)?
                .as_str_or_null()?
                .and_then(|id| settlement.get(id).copied());
            self.orders.push(Order { at, settled_in });
            if let Some(buyer) = buyer {
                buyers.orders.push((buyer, settled_in, at));
            }
        }
        self.index_buyers(buyers);
        Ok(())
    }

    fn index_buyers(&mut self, mut buyers: Buyers) {
        // Per buyer, time order: their first and second orders are the first two entries, and
        // the first order in each currency is the first entry with that currency.
        buyers
            .orders
            .sort_unstable_by_key(|(buyer, _, at)| (*buyer, *at));
        self.first_settled_orders = vec![Vec::new(); self.currencies.len()];
        let mut previous: Option<u32> = None;
        let mut rank = 0;
        let mut settled_in: Vec<usize> = Vec::new();
        for (buyer, currency, at) in &buyers.orders {
            if previous != Some(*buyer) {
                previous = Some(*buyer);
                rank = 0;
                settled_in.clear();
            } else {
                rank += 1;
            }
            match rank {
                0 => self.first_orders.push(*at),
                1 => self.second_orders.push(*at),
                _ => {}
            }
            if let Some(currency) = currency
                && !settled_in.contains(currency)
            {
                settled_in.push(*currency);
                self.first_settled_orders[*currency].push(*at);
            }
        }
        self.first_orders.sort_unstable();
        self.second_orders.sort_unstable();
        for instants in &mut self.first_settled_orders {
            instants.sort_unstable();
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

/// Buyer keys interned to small integers, and their orders.
#[derive(Default)]
struct Buyers {
    customers: FastMap<String, u32>,
    emails: FastMap<String, u32>,
    /// (buyer, settlement currency, instant) of each order with a buyer.
    orders: Vec<(u32, Option<usize>, i64)>,
}

impl Buyers {
    /// The buyer of an order: the Stripe customer, else the billing e-mail (a guest
    /// checkout), trimmed and lower-cased; `None` when the charge has neither.
    fn key(&mut self, customer: Option<&str>, email: Option<&str>) -> Option<u32> {
        let next = (self.customers.len() + self.emails.len()) as u32;
        if let Some(customer) = customer.filter(|customer| !customer.is_empty()) {
            return Some(intern(&mut self.customers, customer, next));
        }
        let email = email.map(str::trim).filter(|email| !email.is_empty())?;
        if email.chars().any(char::is_uppercase) {
            Some(intern(&mut self.emails, &email.to_lowercase(), next))
        } else {
            Some(intern(&mut self.emails, email, next))
        }
    }
}

/// The id of `key` in `ids`, giving it `next` when it is new. Fewer than 2^32 buyers: a
/// warehouse that size would not fit in memory anyway.
fn intern(ids: &mut FastMap<String, u32>, key: &str, next: u32) -> u32 {
    if let Some(id) = ids.get(key) {
        return *id;
    }
    ids.insert(key.to_owned(), next);
    next
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
    use super::*;

    #[test]
    fn the_big_reads_scan_covering_indexes_only() {
        let warehouse = crate::warehouse::Warehouse::open_in_memory().unwrap();
        warehouse
            .ensure_tables(&connectors::stripe::tables::TABLES)
            .unwrap();
        let conn = warehouse.conn();
        ensure_indexes(conn).unwrap();
        for query in [MOVEMENTS, ORDERS] {
            let plan: String = conn
                .query_row(&format!("EXPLAIN QUERY PLAN {query}"), [], |row| row.get(3))
                .unwrap();
            assert!(plan.contains("USING COVERING INDEX"), "{query}: {plan}");
        }
    }
}
