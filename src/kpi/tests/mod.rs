//! Tests of the KPI engine against a real in-memory warehouse: Stripe rows inserted with SQL,
//! a recompute, then the stored `kpis` rows compared with values computed by hand.

mod funnel;
mod revenue;
mod subscriptions;

use rusqlite::{OptionalExtension, params};

use super::catalog::Stage;
use super::*;

/// A warehouse with the Stripe tables, and the settings of a business in Paris paid in euros.
pub struct Fixture {
    pub warehouse: Warehouse,
    pub settings: KpiSettings,
}

/// A stored KPI row, without its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub unit: String,
    pub sources: String,
}

/// A subscription row; `None` columns are NULL.
#[derive(Debug, Clone, Default)]
pub struct Sub<'a> {
    pub id: &'a str,
    pub created: &'a str,
    pub status: &'a str,
    pub start_date: Option<&'a str>,
    pub trial_start: Option<&'a str>,
    pub trial_end: Option<&'a str>,
    pub canceled_at: Option<&'a str>,
    pub ended_at: Option<&'a str>,
    pub currency: &'a str,
    pub monthly: i64,
    pub is_free: bool,
}

impl Fixture {
    pub fn new(model: BusinessModel) -> Fixture {
        let warehouse = Warehouse::open_in_memory().unwrap();
        warehouse
            .ensure_tables(&connectors::stripe::tables::TABLES)
            .unwrap();
        let settings = KpiSettings {
            timezone: jiff::tz::TimeZone::get("Europe/Paris").unwrap(),
            currency: "EUR".into(),
            model,
        };
        Fixture {
            warehouse,
            settings,
        }
    }

    fn exec(&self, sql: &str, values: &[&dyn rusqlite::ToSql]) {
        self.warehouse.conn().execute(sql, values).unwrap();
    }

    /// A balance transaction.
    pub fn movement(
        &self,
        id: &str,
        created: &str,
        kind: &str,
        amount: i64,
        fee: i64,
        currency: &str,
    ) {
        self.exec(
            "INSERT INTO stripe_balance_transactions
                 (id, created, type, amount, fee, net, currency, raw, version, synced_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?4 - ?5, ?6, '{}', 1, '2026-01-01T00:00:00Z')",
            params![id, created, kind, amount, fee, currency],
        );
    }

    /// A charge with every column the KPIs read.
    #[allow(clippy::too_many_arguments)]
    pub fn charge(
        &self,
        id: &str,
        created: &str,
        status: &str,
        captured: bool,
        amount_captured: i64,
        customer: Option<&str>,
        email: Option<&str>,
        balance_transaction: Option<&str>,
    ) {
        self.exec(
            "INSERT INTO stripe_charges
                 (id, created, amount, amount_captured, amount_refunded, currency, status,
                  captured, paid, refunded, customer, billing_email, balance_transaction,
                  livemode, raw, version, synced_at)
             VALUES (?1, ?2, ?3, ?3, 0, 'eur', ?4, ?5, 1, 0, ?6, ?7, ?8, 1, '{}', 1,
                     '2026-01-01T00:00:00Z')",
            params![
                id,
                created,
                amount_captured,
                status,
                captured,
                customer,
                email,
                balance_transaction
            ],
        );
    }

    /// A succeeded, captured order of 10.00 EUR.
    pub fn order(&self, id: &str, created: &str, customer: Option<&str>, email: Option<&str>) {
        self.charge(id, created, "succeeded", true, 1000, customer, email, None);
    }

    /// An order with its settled balance transaction of `amount` EUR cents.
    pub fn settled_order(&self, id: &str, created: &str, customer: &str, amount: i64) {
        let movement = format!("txn_{id}");
        self.movement(&movement, created, "charge", amount, 0, "eur");
        self.charge(
            id,
            created,
            "succeeded",
            true,
            amount,
            Some(customer),
            None,
            Some(&movement),
        );
    }

    pub fn subscription(&self, sub: Sub<'_>) {
        self.exec(
            "INSERT INTO stripe_subscriptions
                 (id, created, customer, status, start_date, trial_start, trial_end,
                  cancel_at_period_end, canceled_at, ended_at, currency, monthly_amount, is_free,
                  livemode, raw, version, synced_at)
             VALUES (?1, ?2, 'cus_x', ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, ?10, ?11, 1, '{}', 1,
                     '2026-01-01T00:00:00Z')",
            params![
                sub.id,
                sub.created,
                sub.status,
                sub.start_date.unwrap_or(sub.created),
                sub.trial_start,
                sub.trial_end,
                sub.canceled_at,
                sub.ended_at,
                sub.currency,
                sub.monthly,
                sub.is_free
            ],
        );
    }

    /// A manual `marketing_spend` entry.
    pub fn spend(&self, grain: &str, period_start: &str, value: f64, unit: &str) {
        self.exec(
            "INSERT INTO metrics (source, metric, grain, period_start, dimension, value, unit,
                                  synced_at)
             VALUES ('manual', 'marketing_spend', ?1, ?2, '', ?3, ?4, '2026-01-01T00:00:00Z')",
            params![grain, period_start, value, unit],
        );
    }

    pub fn recompute(&mut self, now: &str) -> RecomputeSummary {
        recompute(&mut self.warehouse, &self.settings, now.parse().unwrap()).unwrap()
    }

    /// The row of `kpi` for a period and dimension, if stored.
    pub fn find(&self, kpi: &str, grain: &str, period: &str, dimension: &str) -> Option<Stored> {
        self.warehouse
            .conn()
            .query_row(
                "SELECT value, numerator, denominator, unit, sources FROM kpis
                 WHERE kpi = ?1 AND grain = ?2 AND period_start = ?3 AND dimension = ?4",
                params![kpi, grain, period, dimension],
                |row| {
                    Ok(Stored {
                        value: row.get(0)?,
                        numerator: row.get(1)?,
                        denominator: row.get(2)?,
                        unit: row.get(3)?,
                        sources: row.get(4)?,
                    })
                },
            )
            .optional()
            .unwrap()
    }

    /// The row of `kpi` without dimension; panics when missing.
    pub fn row(&self, kpi: &str, grain: &str, period: &str) -> Stored {
        self.find(kpi, grain, period, "")
            .unwrap_or_else(|| panic!("no row for {kpi} {grain} {period}"))
    }

    /// The value of `kpi` without dimension; panics when the row is missing.
    pub fn value(&self, kpi: &str, grain: &str, period: &str) -> Option<f64> {
        self.row(kpi, grain, period).value
    }

    /// How many rows `kpi` has at `grain`.
    pub fn count(&self, kpi: &str, grain: &str) -> i64 {
        self.warehouse
            .conn()
            .query_row(
                "SELECT count(*) FROM kpis WHERE kpi = ?1 AND grain = ?2",
                params![kpi, grain],
                |row| row.get(0),
            )
            .unwrap()
    }

    /// Every stored row, in key order, as text.
    pub fn dump(&self) -> Vec<String> {
        let mut statement = self
            .warehouse
            .conn()
            .prepare("SELECT * FROM kpis ORDER BY kpi, grain, period_start, dimension")
            .unwrap();
        let rows = statement
            .query_map([], |row| {
                let values: Vec<rusqlite::types::Value> = (0..10)
                    .map(|index| row.get(index))
                    .collect::<Result<_, _>>()?;
                Ok(format!("{values:?}"))
            })
            .unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }
}

/// A ratio row's numbers.
pub fn ratio(
    value: Option<f64>,
    numerator: f64,
    denominator: f64,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    (value, Some(numerator), Some(denominator))
}

impl Stored {
    pub fn parts(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        (self.value, self.numerator, self.denominator)
    }
}

#[test]
fn an_empty_warehouse_gives_no_rows() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    let summary = fixture.recompute("2026-03-01T00:00:00Z");
    assert_eq!((summary.rows, summary.kpis), (0, 0));

    // Without the Stripe tables at all (Stripe never configured).
    let mut warehouse = Warehouse::open_in_memory().unwrap();
    let summary = recompute(&mut warehouse, &fixture.settings, jiff::Timestamp::now()).unwrap();
    assert_eq!(summary.rows, 0);
}

#[test]
fn recomputing_twice_gives_identical_rows_and_drops_stale_ones() {
    let mut fixture = Fixture::new(BusinessModel::Saas);
    fixture.settled_order("ch_1", "2026-01-10T09:00:00Z", "cus_1", 10000);
    fixture.movement("txn_jpy", "2026-01-11T09:00:00Z", "charge", 1000, 0, "jpy");
    fixture.subscription(Sub {
        id: "sub_1",
        created: "2026-01-05T10:00:00Z",
        status: "active",
        currency: "eur",
        monthly: 2900,
        ..Sub::default()
    });
    fixture.spend("month", "2026-01-01", 120.0, "EUR");
    fixture.exec(
        "INSERT INTO kpis VALUES ('revenue.gross', 'month', '2020-01-01', '', 1, NULL, NULL,
                                  'EUR', 'x', 'x'),
                                 ('acquisition.prospect_email_open_rate', 'day', '2026-01-10',
                                  '', 0.5, 1, 2, 'ratio', 'klaviyo', 'x')",
        &[],
    );

    let first = fixture.recompute("2026-02-03T12:00:00Z");
    let rows = fixture.dump();
    assert_eq!(
        first.rows,
        rows.len() - 1,
        "every stored row but the e-mail one is recomputed"
    );
    assert!(
        fixture
            .find("revenue.gross", "month", "2020-01-01", "")
            .is_none()
    );
    assert_eq!(
        fixture.value("acquisition.prospect_email_open_rate", "day", "2026-01-10"),
        Some(0.5)
    );

    let second = fixture.recompute("2026-02-03T12:00:00Z");
    assert_eq!(fixture.dump(), rows);
    assert_eq!((second.rows, second.kpis), (first.rows, first.kpis));
    // 18 KPIs are computed; the saas LTV has rows (monthly), so all of them have some.
    assert_eq!(first.kpis, 18);
}

#[test]
fn rows_run_from_the_first_stripe_period_to_the_one_containing_now() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.movement("txn_1", "2026-01-15T10:00:00Z", "charge", 500, 0, "eur");
    fixture.recompute("2026-02-10T12:00:00Z");
    // 15 to 31 January, 1 to 10 February.
    assert_eq!(fixture.count("revenue.gross", "day"), 27);
    assert_eq!(fixture.count("conversion.orders", "day"), 27);
    assert_eq!(fixture.count("revenue.gross", "month"), 2);
    // Weeks of 12, 19, 26 January and 2, 9 February.
    assert_eq!(fixture.count("revenue.gross", "week"), 5);
    assert_eq!(
        fixture.value("conversion.orders", "day", "2026-02-10"),
        Some(0.0)
    );
    assert!(
        fixture
            .find("revenue.gross", "day", "2026-02-11", "")
            .is_none()
    );
    assert!(
        fixture
            .find("revenue.gross", "day", "2026-01-14", "")
            .is_none()
    );
}

#[test]
fn explain_shows_formula_sources_and_the_numbers_of_stored_rows() {
    let mut fixture = Fixture::new(BusinessModel::Ecommerce);
    fixture.settled_order("ch_1", "2026-01-10T09:00:00Z", "cus_1", 10000);
    fixture.recompute("2026-02-03T12:00:00Z");
    let conn = fixture.warehouse.conn();

    let explanation = explain(
        conn,
        "revenue.average_basket",
        Some(Grain::Month),
        Some("2026-01"),
    )
    .unwrap();
    assert_eq!(explanation.rows.len(), 1);
    assert_eq!(explanation.rows[0].numerator, Some(100.0));
    assert_eq!(explanation.rows[0].denominator, Some(1.0));
    let text = explanation.to_string();
    assert!(text.contains("gross / orders"), "{text}");
    assert!(
        text.contains("KPI revenue.gross (stripe_balance_transactions)"),
        "{text}"
    );
    assert!(
        text.contains("month  2026-01-01  100 EUR  = 100 / 1"),
        "{text}"
    );
    assert!(
        text.contains("day    2026-01-10 .. 2026-02-03  (25 rows)"),
        "{text}"
    );
    // Each input with the periods it covers: the numerator and the denominator.
    assert!(
        text.contains(
            "- KPI conversion.orders (stripe_charges)\n        \
             day    2026-01-10 .. 2026-02-03  (25 rows)\n        \
             week   2026-01-05 .. 2026-02-02  (5 rows)\n        \
             month  2026-01-01 .. 2026-02-01  (2 rows)\n"
        ),
        "{text}"
    );

    // A date with a grain is moved to the start of that grain's period; without a period,
    // the latest one of each grain is shown; a NULL value reads as a dash.
    let week = explain(
        conn,
        "conversion.orders",
        Some(Grain::Week),
        Some("2026-01-14"),
    )
    .unwrap();
    assert_eq!(week.rows[0].period_start, "2026-01-12");
    let latest = explain(conn, "revenue.average_basket", None, None).unwrap();
    let starts: Vec<&str> = latest
        .rows
        .iter()
        .map(|row| row.period_start.as_str())
        .collect();
    assert_eq!(starts, ["2026-02-03", "2026-02-02", "2026-02-01"]);
    assert!(latest.to_string().contains("— EUR  = 0 / 0"), "{latest}");

    assert!(explain(conn, "revenue.nope", None, None).is_err());
    assert!(
        explain(
            conn,
            "conversion.orders",
            Some(Grain::Day),
            Some("2026-W05")
        )
        .is_err()
    );
    let planned = explain(conn, "acquisition.prospect_email_open_rate", None, None)
        .unwrap()
        .to_string();
    assert!(
        planned.contains("not computed yet; will come from: klaviyo"),
        "{planned}"
    );
}

#[test]
fn catalog_lists_every_kpi_once_in_stage_order() {
    let all = catalog();
    assert_eq!(all.len(), 54);
    let mut seen = std::collections::HashSet::new();
    let mut stage = Stage::Acquisition;
    for (index, def) in all.iter().enumerate() {
        assert!(seen.insert(def.id), "{} declared twice", def.id);
        assert!(
            def.id.starts_with(&format!("{}.", def.stage.as_str())),
            "{}",
            def.id
        );
        assert!(def.stage >= stage, "{} is out of stage order", def.id);
        stage = def.stage;
        assert_eq!(def.computed, def.compute.is_some(), "{}", def.id);
        assert_eq!(def.computed, !def.inputs.is_empty(), "{}", def.id);
        for input in def.inputs {
            if let Input::Kpi(id) = input {
                let position = all.iter().position(|other| other.id == *id);
                assert!(
                    position.is_some_and(|position| position < index),
                    "{} needs {id}",
                    def.id
                );
            }
        }
    }
    let computed: Vec<&str> = all
        .iter()
        .filter(|def| def.computed)
        .map(|def| def.id)
        .collect();
    assert_eq!(computed.len(), 42);
}

#[test]
fn user_docs_describe_every_computed_kpi() {
    let docs = include_str!("../../../docs/kpis.md");
    for def in catalog() {
        assert!(
            docs.contains(&format!("`{}`", def.id)),
            "docs/kpis.md lacks {}",
            def.id
        );
    }
}
