//! The command line as a user meets it: exit codes, configuration errors, environment
//! overrides, output formats, and the demo.

use connectors::stripe::fake::Dataset;

use crate::helpers::{Bench, all_output, assert_success};

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_configuration_exits_2_naming_the_key() {
    let bench = Bench::start(Dataset::empty()).await;
    let text = std::fs::read_to_string(&bench.config).unwrap();
    std::fs::write(&bench.config, text.replace("Europe/Paris", "Mars/Olympus")).unwrap();

    let output = bench.kpisync(&["sync"]).await;
    assert_eq!(output.status.code(), Some(2));
    let printed = all_output(&output);
    assert!(printed.contains("business.timezone"), "{printed}");
    assert!(!printed.contains("panicked"), "{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_secret_exits_2_before_any_request() {
    let bench = Bench::start(Dataset::e2e()).await;
    let text = std::fs::read_to_string(&bench.config).unwrap();
    let text = text.replace("api_key = ", "api_key_file = \"/nonexistent/key\"\n# ");
    std::fs::write(&bench.config, text).unwrap();

    let output = bench.kpisync(&["sync"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert!(all_output(&output).contains("connectors.stripe.api_key_file"));

    // `check` does not call such a configuration valid before failing on it.
    let output = bench.kpisync(&["check"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
    assert!(all_output(&output).contains("connectors.stripe.api_key_file"));
    assert!(
        !all_output(&output).contains("is valid"),
        "{}",
        all_output(&output)
    );
    assert!(bench.stripe.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_variables_override_the_file() {
    let bench = Bench::start(Dataset::e2e()).await;
    let text = std::fs::read_to_string(&bench.config).unwrap();
    let url = bench.stripe.base_url();
    std::fs::write(&bench.config, text.replace(&url, "http://127.0.0.1:9")).unwrap();

    let mut command = bench.command(&["sync"]);
    command.env("KPISYNC__CONNECTORS__STRIPE__BASE_URL", &url);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_success(&output);
    assert_eq!(bench.count("SELECT count(*) FROM stripe_charges"), 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_each_connector() {
    let bench = Bench::start(Dataset::e2e()).await;
    let output = bench.kpisync(&["check"]).await;
    assert_success(&output);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("stripe") && printed.contains("ok"),
        "{printed}"
    );
    assert!(printed.contains("test-mode key"), "{printed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kpis_print_as_table_csv_json_and_explain() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;
    let window = [
        "--grain",
        "month",
        "--from",
        "2026-01-15",
        "--to",
        "2026-03-31",
    ];

    let mut args = vec!["kpis"];
    args.extend(window);
    let table = bench.kpisync(&args).await;
    assert_success(&table);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("2026-01-01") && table.contains("revenue.gross"),
        "{table}"
    );
    // Written as the reports write numbers: a currency symbol, ratios in percent.
    let gross = table
        .lines()
        .find(|line| line.contains("revenue.gross "))
        .unwrap_or_else(|| panic!("no revenue.gross line:\n{table}"));
    assert!(gross.contains("€80.00"), "{gross}");
    assert!(!table.contains("EUR"), "{table}");
    let churn = table
        .lines()
        .find(|line| line.contains("engagement.churn_rate "))
        .unwrap_or_else(|| panic!("no churn line:\n{table}"));
    assert!(churn.contains("50.0 %"), "{churn}");

    args.extend(["--format", "csv"]);
    let csv = bench.kpisync(&args).await;
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(
        csv.starts_with("kpi,grain,period_start,dimension,value"),
        "{csv}"
    );
    assert!(
        csv.contains("engagement.churn_rate,month,2026-02-01,,0.5,1,2,ratio"),
        "{csv}"
    );

    let mut args = vec!["kpis", "--format", "json"];
    args.extend(window);
    let json = bench.kpisync(&args).await;
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    assert!(rows.as_array().is_some_and(|rows| !rows.is_empty()));

    let explain = bench
        .kpisync(&["kpis", "--explain", "engagement.churn_rate"])
        .await;
    assert_success(&explain);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(text.contains("stripe_subscriptions"), "{text}");

    let unknown = bench.kpisync(&["kpis", "--explain", "revenue.magic"]).await;
    assert_eq!(unknown.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_each_stream() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;
    let output = bench.kpisync(&["status"]).await;
    assert_success(&output);
    let printed = String::from_utf8_lossy(&output.stdout);
    for stream in ["charges", "subscriptions", "events"] {
        assert!(printed.contains(stream), "{printed}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn init_writes_a_configuration_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kpisync.toml");
    let binary = env!("CARGO_BIN_EXE_kpisync");
    let output = std::process::Command::new(binary)
        .arg("init")
        .arg(&path)
        .output()
        .unwrap();
    assert_success(&output);

    // The example names a key file that does not exist: the configuration parses, and sync
    // says which key to fix.
    let sync = std::process::Command::new(binary)
        .args(["--config"])
        .arg(&path)
        .args(["--database"])
        .arg(dir.path().join("x.db"))
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(sync.status.code(), Some(2));
    assert!(all_output(&sync).contains("connectors.stripe.api_key_file"));

    let again = std::process::Command::new(binary)
        .arg("init")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing file is not overwritten"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_prints_kpi_values() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kpisync"))
        .arg("demo")
        .arg("--dir")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_success(&output);
    let printed = String::from_utf8_lossy(&output.stdout);
    let kpis = &printed[..printed.find("The warehouse is").unwrap_or(0)];
    assert!(
        kpis.contains("revenue.gross") && kpis.contains('€'),
        "{printed}"
    );
    assert!(
        printed.contains("engagement.active_subscriptions"),
        "{printed}"
    );

    // It ends with the weekly report of the last complete week, after the KPIs.
    let report = printed
        .rfind("Weekly report 20")
        .unwrap_or_else(|| panic!("no weekly report:\n{printed}"));
    assert!(
        report > printed.find("The warehouse is").unwrap(),
        "{printed}"
    );
    let weekly = &printed[report..];
    assert!(
        weekly.contains("This week") && weekly.contains("€"),
        "{weekly}"
    );
    assert!(
        weekly.trim_end().ends_with('┘'),
        "the report is the last thing printed:\n{weekly}"
    );
    // The manual inputs it imports feed their KPIs, and its note shows beside revenue.
    for kpi in [
        "revenue.cost_per_sale",
        "recommendation.nps",
        "engagement.social_followers [network=instagram]",
        "acquisition.newsletter_signup_rate",
    ] {
        assert!(weekly.contains(kpi), "{kpi} missing:\n{weekly}");
    }
    assert!(weekly.contains("Autumn promotion"), "{weekly}");

    // The demo's configuration sets targets, which the monthly report shows.
    let monthly = std::process::Command::new(env!("CARGO_BIN_EXE_kpisync"))
        .arg("--config")
        .arg(dir.path().join("kpisync-demo.toml"))
        .args(["report", "monthly", "--format", "csv"])
        .output()
        .unwrap();
    assert_success(&monthly);
    let csv = String::from_utf8_lossy(&monthly.stdout);
    let gross = csv
        .lines()
        .find(|line| line.starts_with("monthly,") && line.contains(",revenue.gross,,EUR,"))
        .unwrap_or_else(|| panic!("no revenue.gross line:\n{csv}"));
    assert!(gross.contains(",8500,"), "the target: {gross}");
}

#[tokio::test(flavor = "multi_thread")]
async fn output_into_a_pipe_closed_early_ends_without_a_panic() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;
    for args in [
        &["kpis", "--grain", "day", "--format", "json"][..],
        &[
            "report", "weekly", "--period", "2026-W05", "--format", "html",
        ][..],
    ] {
        let mut child = bench
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before kpisync writes its first line, like `| head -0`.
        drop(child.stdout.take());
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(output.status.code(), Some(101), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_commands_refuse_a_warehouse_that_does_not_exist() {
    let bench = Bench::start(Dataset::e2e()).await;
    let missing = bench.dir().join("mistyped.db");
    let database = missing.to_str().unwrap();
    for args in [
        &["--database", database, "kpis"][..],
        &["--database", database, "report", "monthly"][..],
    ] {
        let output = bench.kpisync(args).await;
        assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
        assert!(
            all_output(&output).contains("no warehouse at"),
            "{}",
            all_output(&output)
        );
        assert!(!missing.exists(), "{args:?} created {database}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn kpis_refuse_an_unknown_stage_and_a_backwards_range() {
    let bench = Bench::start(Dataset::e2e()).await;
    bench.sync_ok(&[]).await;
    for args in [
        &["kpis", "--stage", "bogus"][..],
        &["kpis", "--from", "2026-03-10", "--to", "2026-01-01"][..],
    ] {
        let output = bench.kpisync(args).await;
        assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
        assert!(
            all_output(&output).contains("error"),
            "{}",
            all_output(&output)
        );
    }
    let output = bench.kpisync(&["kpis", "--stage", "revenue"]).await;
    assert_success(&output);
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("revenue.gross") && !printed.contains("conversion."));
}
