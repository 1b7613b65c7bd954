//! The reports over a warehouse filled with known rows: what each line holds, and every
//! format compared with its snapshot in `tests/golden/` (rewrite them with
//! `KPISYNC_UPDATE_GOLDEN=1 cargo test --all-features -p kpisync report::`, then read the diff:
//! the snapshots are the reports' documentation).

use rusqlite::{Connection, params};

use super::*;
use crate::warehouse::Warehouse;

fn settings() -> ReportSettings {
    ReportSettings {
        timezone: "Europe/Paris".into(),
        currency: "EUR".into(),
    }
}

fn insert(
    warehouse: &Warehouse,
    kpi: &str,
    grain: &str,
    start: Date,
    dimension: &str,
    unit: &str,
    cell: Cell,
) {
    warehouse
        .conn()
        .execute(
            "INSERT INTO kpis (kpi, grain, period_start, dimension, value, numerator, denominator,
                               unit, sources, computed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'test', '2026-12-01T06:00:00Z')",
            params![
                kpi,
                grain,
                start.to_string(),
                dimension,
                cell.value,
                cell.numerator,
                cell.denominator,
                unit
            ],
        )
        .unwrap();
}

fn target(warehouse: &Warehouse, kpi: &str, grain: &str, start: &str, value: f64) {
    warehouse
        .conn()
        .execute(
            "INSERT INTO targets (kpi, grain, period_start, value) VALUES (?1, ?2, ?3, ?4)",
            params![kpi, grain, start, value],
        )
        .unwrap();
}

fn note(warehouse: &Warehouse, kpi: &str, grain: &str, start: &str, text: &str) {
    warehouse
        .conn()
        .execute(
            "INSERT INTO notes (kpi, grain, period_start, text, created_at)
             VALUES (?1, ?2, ?3, ?4, '2026-11-30T18:00:00Z')",
            params![kpi, grain, start, text],
        )
        .unwrap();
}

const WEEK: &str = "2026-11-23";
const MONTH: &str = "2026-11-01";

/// Twelve weeks up to 2026-W48 and the months of 2026 up to November, plus November 2025,
/// with values that follow simple formulas, a gap, an unknown ratio, a dimension and a second
/// currency; targets and notes for the reported week and month.
fn warehouse() -> Warehouse {
    let warehouse = Warehouse::open_in_memory().unwrap();
    fill(&warehouse);
    warehouse
}

fn fill(warehouse: &Warehouse) {
    let week: Date = WEEK.parse().unwrap();
    for back in 0..14_i64 {
        let start = shift(Grain::Week, week, -back).unwrap();
        let n = (13 - back) as f64;
        let w = |kpi, dimension, unit, cell| {
            insert(warehouse, kpi, "week", start, dimension, unit, cell)
        };
        w(
            "acquisition.visitors",
            "",
            "count",
            Cell::plain(900.0 + 25.0 * n),
        );
        let email = Cell::ratio(Some(80.0 + n), Some(1000.0));
        w("acquisition.channel_share", "channel=Email", "ratio", email);
        let search = Cell::ratio(Some(400.0 - 2.0 * n), Some(1000.0));
        w(
            "acquisition.channel_share",
            "channel=Organic Search",
            "ratio",
            search,
        );
        let orders = 2.0 * n;
        let rate = Cell::ratio(Some(orders), Some(900.0 + 25.0 * n));
        w("conversion.rate", "", "ratio", rate);
        // No subscription was active at the start of the reported week.
        let churn = if back == 0 {
            Cell::ratio(Some(0.0), Some(0.0))
        } else {
            Cell::ratio(Some(1.0), Some(20.0 + n))
        };
        w("engagement.churn_rate", "", "ratio", churn);
        // A week the payments never covered breaks the chart's line.
        if back != 4 {
            w("revenue.gross", "", "EUR", Cell::plain(1500.0 + 61.37 * n));
            w(
                "revenue.gross",
                "currency=JPY",
                "JPY",
                Cell::plain(12000.0 + 1000.0 * n),
            );
        }
        w(
            "revenue.refunds",
            "",
            "EUR",
            Cell::plain(if back == 0 { 0.0 } else { 45.5 }),
        );
    }

    let month: Date = MONTH.parse().unwrap();
    for back in 0..11_i64 {
        let start = shift(Grain::Month, month, -back).unwrap();
        let n = (10 - back) as f64;
        let m = |kpi, unit, cell| insert(warehouse, kpi, "month", start, "", unit, cell);
        m(
            "acquisition.visitors",
            "count",
            Cell::plain(3000.0 + 40.0 * n),
        );
        m(
            "conversion.rate",
            "ratio",
            Cell::ratio(Some(60.0 + 3.0 * n), Some(3000.0 + 40.0 * n)),
        );
        m("revenue.gross", "EUR", Cell::plain(7000.0 + 250.5 * n));
        m("revenue.mrr", "EUR", Cell::plain(900.0 + 20.0 * n));
        m(
            "revenue.net",
            "EUR",
            Cell::plain(if back == 3 {
                -120.0
            } else {
                6500.0 + 200.0 * n
            }),
        );
    }
    let last_year = "2025-11-01".parse().unwrap();
    insert(
        warehouse,
        "revenue.gross",
        "month",
        last_year,
        "",
        "EUR",
        Cell::plain(5210.4),
    );
    insert(
        warehouse,
        "conversion.rate",
        "month",
        last_year,
        "",
        "ratio",
        Cell::ratio(Some(48.0), Some(2400.0)),
    );

    target(warehouse, "revenue.gross", "month", MONTH, 9000.0);
    target(warehouse, "conversion.rate", "month", MONTH, 0.025);
    target(warehouse, "acquisition.visitors", "month", MONTH, 3200.0);
    target(warehouse, "revenue.refunds", "month", MONTH, 0.0);
    target(warehouse, "revenue.gross", "week", WEEK, 2000.0);
    target(warehouse, "revenue.refunds", "week", WEEK, 0.0);
    note(
        warehouse,
        "revenue.gross",
        "week",
        WEEK,
        "Black Friday <promo> & \"free\" shipping | 20 % off, see *campaign_2*",
    );
    note(
        warehouse,
        "conversion.rate",
        "month",
        MONTH,
        "New pricing page from the 12th",
    );
}

fn weekly(warehouse: &Warehouse) -> Report {
    let period = parse_period(Kind::Weekly, "2026-W48").unwrap();
    build(warehouse.conn(), Kind::Weekly, period, &settings()).unwrap()
}

fn monthly(warehouse: &Warehouse) -> Report {
    let period = parse_period(Kind::Monthly, "2026-11").unwrap();
    build(warehouse.conn(), Kind::Monthly, period, &settings()).unwrap()
}

fn line<'a>(report: &'a Report, kpi: &str, dimension: &str) -> &'a Line {
    report
        .lines()
        .map(|(_, line)| line)
        .find(|line| line.kpi == kpi && line.dimension == dimension)
        .unwrap_or_else(|| panic!("no line {kpi} [{dimension}]"))
}

#[test]
fn the_weekly_report_compares_with_last_week_in_catalog_order() {
    let report = weekly(&warehouse());
    assert_eq!(report.period.to_string(), "2026-W48");
    assert_eq!(report.previous.to_string(), "2026-W47");
    let stages: Vec<Stage> = report.stages.iter().map(|section| section.stage).collect();
    assert_eq!(
        stages,
        [
            Stage::Acquisition,
            Stage::Conversion,
            Stage::Engagement,
            Stage::Revenue
        ]
    );

    let visitors = line(&report, "acquisition.visitors", "");
    assert_eq!(
        (visitors.value, visitors.previous),
        (Some(1225.0), Some(1200.0))
    );
    assert_eq!(visitors.trend(), Some(Trend::Up));
    assert_eq!(visitors.history.len(), HISTORY_PERIODS);
    assert_eq!(visitors.history[0], Some(950.0));

    let churn = line(&report, "engagement.churn_rate", "");
    assert_eq!(churn.value, None, "an empty denominator is unknown, not 0");
    assert_eq!(churn.change(), None);

    let gross = line(&report, "revenue.gross", "");
    assert!(gross.note.as_deref().unwrap().starts_with("Black Friday"));
    assert_eq!(gross.target, Some(2000.0));
    let yen = line(&report, "revenue.gross", "currency=JPY");
    assert_eq!((yen.unit.as_str(), yen.note.as_deref()), ("JPY", None));
    assert_eq!(gross.history[HISTORY_PERIODS - 1 - 4], None, "the gap");
}

#[test]
fn the_monthly_report_rolls_the_year_up_by_each_kpis_rule() {
    let report = monthly(&warehouse());

    // Ratio of sums over January to November, not the mean of the monthly rates.
    let rate = line(&report, "conversion.rate", "");
    let numerators: f64 = (0..11).map(|n| 60.0 + 3.0 * f64::from(n)).sum();
    let denominators: f64 = (0..11).map(|n| 3000.0 + 40.0 * f64::from(n)).sum();
    let ytd = rate.year_to_date.unwrap();
    assert!((ytd - numerators / denominators).abs() < 1e-12, "{ytd}");
    assert_eq!(rate.last_year, Some(0.02));
    assert_eq!(rate.target, Some(0.025));

    let gross = line(&report, "revenue.gross", "");
    let sum: f64 = (0..11).map(|n| 7000.0 + 250.5 * f64::from(n)).sum();
    assert_eq!(gross.year_to_date, Some(sum));
    assert_eq!(gross.last_year, Some(5210.4));
    let share = gross.share_of_target().unwrap();
    assert!((share - 9505.0 / 9000.0).abs() < 1e-12);

    let mrr = line(&report, "revenue.mrr", "");
    assert_eq!(mrr.year_to_date, Some(1100.0), "the latest month");
    let visitors = line(&report, "acquisition.visitors", "");
    assert_eq!(visitors.year_to_date, None, "monthly uniques do not add up");

    // A target without data still shows, and a zero target has no share.
    let refunds = line(&report, "revenue.refunds", "");
    assert_eq!((refunds.value, refunds.target), (None, Some(0.0)));
    assert_eq!(refunds.share_of_target(), None);
    assert_eq!(refunds.unit, "EUR");
}

#[test]
fn a_number_at_the_periods_end_has_no_year_to_date_when_the_month_has_none() {
    let warehouse = Warehouse::open_in_memory().unwrap();
    let october: Date = "2026-10-01".parse().unwrap();
    let november: Date = "2026-11-01".parse().unwrap();
    let month = |kpi, start, dimension, unit, cell| {
        insert(&warehouse, kpi, "month", start, dimension, unit, cell);
    };
    let ltv = |churn| Cell::ratio(Some(46.0), Some(churn));
    month("revenue.ltv", october, "", "EUR", ltv(0.2));
    // No subscription ended in November: its lifetime value is unknown.
    month("revenue.ltv", november, "", "EUR", ltv(0.0));
    let (followers, growth) = (
        "engagement.social_followers",
        "engagement.subscriber_growth",
    );
    let (count, ratio) = (Cell::plain(2360.0), Cell::ratio(Some(12.0), Some(10.0)));
    month(followers, october, "network=x", "count", count);
    month(growth, october, "", "ratio", ratio);

    let report = monthly(&warehouse);
    let ltv = line(&report, "revenue.ltv", "");
    assert_eq!(
        (ltv.value, ltv.year_to_date),
        (None, None),
        "not October's 230"
    );
    let followers = line(&report, followers, "network=x");
    assert_eq!((followers.value, followers.year_to_date), (None, None));
    let growth = line(&report, growth, "");
    assert_eq!((growth.previous, growth.year_to_date), (Some(1.2), None));
}

#[test]
fn kpis_without_data_target_or_note_are_left_out() {
    let report = monthly(&warehouse());
    let kpis: Vec<&str> = report.lines().map(|(_, line)| line.kpi).collect();
    assert!(!kpis.contains(&"engagement.churn_rate"), "no monthly rows");
    assert!(!kpis.contains(&"recommendation.nps"));
    let empty = Warehouse::open_in_memory().unwrap();
    assert!(weekly(&empty).is_empty());
}

#[test]
fn the_default_period_is_the_last_complete_one() {
    let thursday: Date = "2026-12-03".parse().unwrap();
    assert_eq!(
        last_complete(Kind::Weekly, thursday).unwrap().to_string(),
        "2026-W48"
    );
    assert_eq!(
        last_complete(Kind::Monthly, thursday).unwrap().to_string(),
        "2026-11"
    );
    let new_year: Date = "2027-01-01".parse().unwrap();
    assert_eq!(
        last_complete(Kind::Monthly, new_year).unwrap().to_string(),
        "2026-12"
    );
    assert!(parse_period(Kind::Weekly, "2026-11").is_err());
    assert!(parse_period(Kind::Monthly, "2026-W48").is_err());
}

#[test]
fn the_views_agree_with_the_reports_on_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kpisync.db");
    let warehouse = Warehouse::open(&path).unwrap();
    fill(&warehouse);
    let weekly = weekly(&warehouse);
    let monthly = monthly(&warehouse);
    drop(warehouse);

    // A user's own connection to the file, as sqlite3 or a BI tool would open it.
    let conn = Connection::open(&path).unwrap();
    type ViewRow = (
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
        Option<f64>,
    );
    let view = |sql: &str, kpi: &str, dimension: &str, start: &str| -> ViewRow {
        conn.query_row(sql, params![kpi, dimension, start], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })
        .unwrap()
    };
    let weekly_sql = "SELECT value, previous_value, change, change_ratio, target, share_of_target
                        FROM kpi_weekly WHERE kpi = ?1 AND dimension = ?2 AND period_start = ?3";
    for (_, line) in weekly.lines() {
        let row = view(weekly_sql, line.kpi, &line.dimension, WEEK);
        let expected = (
            line.value,
            line.previous,
            line.difference(),
            line.relative_change(),
            line.target,
            line.share_of_target(),
        );
        assert_eq!(row, expected, "{}", line.label());
    }
    let refunds = view(weekly_sql, "revenue.refunds", "", WEEK);
    assert_eq!(
        (refunds.4, refunds.5),
        (Some(0.0), None),
        "a zero target has no share"
    );

    // The week after the gap has no previous value, rather than the one before the gap.
    let gap = shift(Grain::Week, WEEK.parse().unwrap(), -3)
        .unwrap()
        .to_string();
    let after_gap = view(weekly_sql, "revenue.gross", "", &gap);
    assert!(
        after_gap.0.is_some() && after_gap.1.is_none(),
        "{after_gap:?}"
    );

    let monthly_sql = "SELECT value, previous_value, last_year_value, target, share_of_target,
                              change
                         FROM kpi_monthly WHERE kpi = ?1 AND dimension = ?2 AND period_start = ?3";
    for (_, line) in monthly.lines().filter(|(_, line)| line.value.is_some()) {
        let row = view(monthly_sql, line.kpi, &line.dimension, MONTH);
        let expected = (
            line.value,
            line.previous,
            line.last_year,
            line.target,
            line.share_of_target(),
            line.difference(),
        );
        assert_eq!(row, expected, "{}", line.label());
    }
    let rate = view(monthly_sql, "conversion.rate", "", MONTH);
    assert_eq!((rate.2, rate.3), (Some(0.02), Some(0.025)));
}

// ---------------------------------------------------------------------------------------------
// Snapshots

/// Compares `actual` with `tests/golden/NAME`, or rewrites it when `KPISYNC_UPDATE_GOLDEN` is
/// set.
#[track_caller]
fn assert_golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("KPISYNC_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}; set KPISYNC_UPDATE_GOLDEN=1 to write it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(want, got)| want != got)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the report, first at line {}:\nexpected: {:?}\nactual:   {:?}\n\
             (set KPISYNC_UPDATE_GOLDEN=1 to rewrite it, then review the diff)",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

#[test]
fn the_weekly_report_matches_its_snapshots() {
    let report = weekly(&warehouse());
    assert_golden("report-weekly.txt", &table::render(&report, None));
    assert_golden("report-weekly.md", &markdown::render(&report));
    assert_golden("report-weekly.csv", &csv::render(&report));
    assert_golden("report-weekly.json", &json::render(&report));
    assert_golden("report-weekly.html", &html::render(&report));
}

#[test]
fn the_monthly_report_matches_its_snapshots() {
    let report = monthly(&warehouse());
    assert_golden("report-monthly.txt", &table::render(&report, None));
    assert_golden("report-monthly.md", &markdown::render(&report));
    assert_golden("report-monthly.csv", &csv::render(&report));
    assert_golden("report-monthly.json", &json::render(&report));
    assert_golden("report-monthly.html", &html::render(&report));
}

#[test]
fn html_escapes_every_text_it_shows() {
    let report = weekly(&warehouse());
    let page = html::render(&report);
    assert!(page.contains("Black Friday &lt;promo&gt; &amp; &quot;free&quot;"));
    assert!(!page.contains("<promo>"));
    assert!(!page.contains("<script") && !page.contains("http://") && !page.contains("https://"));
    assert_eq!(html::escape("<a href='x'>"), "&lt;a href=&#39;x&#39;&gt;");
}

#[test]
fn csv_and_json_keep_raw_numbers() {
    let report = weekly(&warehouse());
    let text = csv::render(&report);
    let header = text.lines().next().unwrap();
    assert_eq!(header, csv::COLUMNS.join(","));
    let gross = text
        .lines()
        .find(|row| row.starts_with("weekly,2026-W48,revenue,revenue.gross,,"))
        .unwrap();
    assert!(gross.contains(",2297.81,2236.44,"), "{gross}");
    assert!(gross.ends_with(
        ",\"Black Friday <promo> & \"\"free\"\" shipping | 20 % off, see *campaign_2*\""
    ));

    // 2297.81 - 2236.44 is 61.36999999999989 in binary; the files say 61.37.
    assert!(gross.contains(",61.37,0.02744093291,up,better,"), "{gross}");

    let json: serde_json::Value = serde_json::from_str(&json::render(&report)).unwrap();
    let email = &json["stages"][0]["kpis"][1];
    assert_eq!(email["dimension"], "channel=Email");
    assert_eq!(email["value"], 0.093);
    assert_eq!(email["change"], 0.001);
    assert_eq!(email["trend"], "up");
    assert_eq!(
        email["assessment"],
        serde_json::Value::Null,
        "no way is good"
    );
}

#[test]
fn a_change_is_better_or_worse_by_the_kpis_direction() {
    let report = weekly(&warehouse());
    let assessment = |kpi, dimension| line(&report, kpi, dimension).assessment();
    assert_eq!(
        assessment("revenue.gross", ""),
        Some(Assessment::Better),
        "up"
    );
    assert_eq!(
        assessment("revenue.refunds", ""),
        Some(Assessment::Better),
        "down"
    );
    assert_eq!(
        assessment("acquisition.channel_share", "channel=Email"),
        None
    );
    assert_eq!(assessment("engagement.churn_rate", ""), None, "no value");

    let mut churn = line(&report, "engagement.churn_rate", "").clone();
    churn.value = Some(0.05);
    assert_eq!(churn.assessment(), Some(Assessment::Worse), "churn went up");
    churn.value = churn.previous;
    assert_eq!(churn.assessment(), Some(Assessment::Flat));
    let mut gross = line(&report, "revenue.gross", "").clone();
    gross.value = Some(1000.0);
    assert_eq!(
        gross.assessment(),
        Some(Assessment::Worse),
        "sales went down"
    );
}
