//! `kpisync demo`: the whole pipeline with no keys. It starts the built-in fake upstreams on
//! loopback, syncs them into a scratch warehouse through the same configuration, sync and KPI
//! code as a real run, and prints the KPIs, then the weekly report. Its configuration sets a
//! few targets for this month and the last, this week and the last, so that the reports show
//! them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

use super::kpis::{self, KpisArgs};
use super::report::{self, ReportArgs};
use super::{Context, sync};
use crate::config::Config;
use crate::kpi::Grain;
use crate::sync::SyncOptions;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where to put the scratch configuration and warehouse [default: a kpisync-demo folder in
    /// the system's temporary directory]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[cfg(feature = "demo")]
pub async fn run(context: &Context, args: DemoArgs) -> anyhow::Result<ExitCode> {
    use connectors::ga4::fake::{self as ga4_fake, FakeGa4};
    use connectors::stripe::fake::{Dataset, FAKE_API_KEY, FakeStripe};

    use crate::kpi::periods::Period;

    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join("kpisync-demo"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let database = context
        .database
        .clone()
        .unwrap_or_else(|| dir.join("kpisync-demo.db"));
    for suffix in ["", "-wal", "-shm"] {
        let mut path = database.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }

    let now = jiff::Timestamp::now();
    let stripe = FakeStripe::start(Dataset::demo(now, 7))
        .await
        .context("starting fake Stripe")?;
    println!("fake Stripe listening on {}", stripe.base_url());

    // Three months of visits, so weeks and months have GA4's own unique counts.
    let today = now
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris")?)
        .date();
    let ga4_start = today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(3))?;
    let mut visits = ga4_fake::Dataset::new(ga4_start, "Europe/Paris");
    visits.pool = 5000;
    visits.daily_visitors = (120, 200);
    let ga4 = FakeGa4::start(visits).await.context("starting fake GA4")?;
    println!("fake GA4 listening on {}", ga4.base_url());
    let ga4_key = dir.join("kpisync-demo-ga4-key.json");
    std::fs::write(&ga4_key, ga4.key_file_json())
        .with_context(|| format!("writing {}", ga4_key.display()))?;

    let config_path = dir.join("kpisync-demo.toml");
    let config_text = format!(
        "[warehouse]\npath = {database:?}\n\n[business]\nmodel = \"saas\"\n\
         timezone = \"Europe/Paris\"\ncurrency = \"EUR\"\n\
         landing_pages = [\"/pricing\", \"/free-guide\"]\n\n[connectors.stripe]\n\
         api_key = {FAKE_API_KEY:?}\nbase_url = {:?}\n\n[connectors.ga4]\n\
         property_id = {:?}\ncredentials_file = {ga4_key:?}\nbase_url = {:?}\n\
         admin_base_url = {:?}\nstart_date = \"{ga4_start}\"\nsignup_event = \"sign_up\"\n\
         lead_event = \"generate_lead\"\n\n{}",
        stripe.base_url(),
        ga4_fake::PROPERTY_ID,
        ga4.base_url(),
        ga4.base_url(),
        demo_targets(today)?,
    );
    std::fs::write(&config_path, config_text)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::load(Some(&config_path))?;

    let mut warehouse = crate::warehouse::Warehouse::open(&database)?;
    warehouse.replace_targets(&config.targets)?;
    // The numbers no connector brings, imported the way a user would.
    let manual_path = dir.join("kpisync-demo-manual.csv");
    std::fs::write(&manual_path, demo_manual_csv(today)?)
        .with_context(|| format!("writing {}", manual_path.display()))?;
    let entries = super::manual::read_csv(&manual_path, &config.business.currency)?;
    warehouse.record_manual(&entries)?;
    let last_week = Period::containing(Grain::Week, today);
    let last_week = crate::report::shift(Grain::Week, last_week.start, -1)?;
    warehouse.set_note(
        "revenue.gross",
        Grain::Week.as_str(),
        &last_week.to_string(),
        "Autumn promotion ran Tuesday to Thursday",
    )?;
    println!(
        "imported {} manual entries from {}",
        entries.len(),
        manual_path.display()
    );
    let warehouse = Arc::new(Mutex::new(warehouse));
    let options = SyncOptions::default();
    let reports = sync::sync_all(&config, &warehouse, Some(&database), &[], &options).await?;
    println!("{}", sync::summary(&reports));
    sync::recompute_kpis(&config, &warehouse).await?;

    let guard = warehouse
        .lock()
        .map_err(|_| anyhow::anyhow!("warehouse lock poisoned"))?;
    let args = KpisArgs::latest();
    let rows = kpis::select(guard.conn(), Grain::Month, &args)?;
    println!("\nMonthly KPIs (Europe/Paris, EUR):");
    kpis::print_table(&rows);
    println!(
        "\nThe warehouse is {db}; query it, for instance:\n  sqlite3 {db} \
         \"SELECT period_start, value FROM kpis WHERE kpi = 'revenue.gross' AND grain = 'week' \
         ORDER BY period_start DESC LIMIT 4\"",
        db = database.display()
    );

    println!();
    let args = ReportArgs::last_week_table();
    let weekly = report::build(&config, guard.conn(), &args)?;
    report::write(&weekly, &args)?;
    let failed = reports.iter().any(|report| !report.succeeded());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Manual inputs for the four months and weeks before the current ones, in the layout
/// `kpisync import` reads: marketing spend, newsletter and social numbers, NPS answers.
#[cfg(feature = "demo")]
fn demo_manual_csv(today: jiff::civil::Date) -> anyhow::Result<String> {
    use crate::kpi::periods::Period;

    let mut csv = String::from("metric,period,value,dimension\n");
    for back in 1..=4_i64 {
        // Numbers that move a little from one period to the next, the same on every run.
        let wobble = |base: f64, step: f64| base + step * ((back * 7) % 5) as f64;
        for grain in [Grain::Month, Grain::Week] {
            let current = Period::containing(grain, today);
            let period = Period {
                grain,
                start: crate::report::shift(grain, current.start, -back)?,
            };
            let share = if grain == Grain::Month { 1.0 } else { 0.25 };
            let rows = [
                ("marketing_spend", wobble(1200.0, 85.5) * share, ""),
                (
                    "newsletter_signups",
                    (wobble(160.0, 12.0) * share).round(),
                    "",
                ),
                (
                    "social_followers",
                    wobble(2400.0, 40.0) - 120.0 * back as f64,
                    "network=instagram",
                ),
                (
                    "social_engagements",
                    (wobble(900.0, 60.0) * share).round(),
                    "network=instagram",
                ),
                (
                    "social_impressions",
                    (wobble(21000.0, 900.0) * share).round(),
                    "network=instagram",
                ),
                ("nps_promoters", (wobble(40.0, 3.0) * share).round(), ""),
                ("nps_passives", (wobble(14.0, 2.0) * share).round(), ""),
                ("nps_detractors", (wobble(8.0, 1.0) * share).round(), ""),
            ];
            for (metric, value, dimension) in rows {
                let value = if metric == "marketing_spend" {
                    format!("{value:.2}")
                } else {
                    value.to_string()
                };
                csv.push_str(&format!("{metric},{period},{value},{dimension}\n"));
            }
        }
    }
    Ok(csv)
}

/// `[targets.monthly]` and `[targets.weekly]` for the current and the previous month and week,
/// near what the fakes produce.
#[cfg(feature = "demo")]
fn demo_targets(today: jiff::civil::Date) -> anyhow::Result<String> {
    use crate::kpi::periods::Period;

    let labels = |grain: Grain| -> anyhow::Result<String> {
        let current = Period::containing(grain, today);
        let previous = Period {
            grain,
            start: crate::report::shift(grain, current.start, -1)?,
        };
        Ok(format!("\"{previous}\" = {{}}, \"{current}\" = {{}}"))
    };
    let (month, week) = (labels(Grain::Month)?, labels(Grain::Week)?);
    let target = |labels: &str, value: &str| labels.replace("{}", value);
    Ok(format!(
        "[targets.monthly]\n\"revenue.gross\" = {{ {} }}\n\"conversion.rate\" = {{ {} }}\n\
         \"acquisition.visitors\" = {{ {} }}\n\n[targets.weekly]\n\"revenue.gross\" = {{ {} }}\n\
         \"acquisition.visitors\" = {{ {} }}\n",
        target(&month, "8500.0"),
        target(&month, "0.003"),
        target(&month, "3200"),
        target(&week, "2000.0"),
        target(&week, "1000"),
    ))
}

#[cfg(not(feature = "demo"))]
pub async fn run(_context: &Context, _args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("this kpisync was built without the `demo` feature")
}
