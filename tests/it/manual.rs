//! Manual inputs as a user meets them: `kpisync record`, `import` and `note` run as a child
//! process against a scratch warehouse file, checked through `kpisync kpis` and with SQL on
//! the file itself.

use connectors::stripe::fake::Dataset;

use crate::helpers::{Bench, all_output, assert_success};

/// `kpisync kpis --format csv` for the weeks of November 2026.
async fn weekly_csv(bench: &Bench) -> String {
    let output = bench
        .kpisync(&[
            "kpis",
            "--grain",
            "week",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-29",
            "--format",
            "csv",
        ])
        .await;
    assert_success(&output);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn manual_rows(bench: &Bench) -> i64 {
    bench.count("SELECT count(*) FROM metrics WHERE source = 'manual'")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_number_shows_in_kpis_and_a_later_one_replaces_it() {
    let bench = Bench::start(Dataset::empty()).await;
    let output = bench
        .kpisync(&["record", "contracts_signed", "3", "--period", "2026-W45"])
        .await;
    assert_success(&output);
    let printed = all_output(&output);
    assert!(
        printed.contains("recorded contracts_signed = 3 for 2026-W45"),
        "{printed}"
    );
    let csv = weekly_csv(&bench).await;
    assert!(
        csv.contains("conversion.contracts_signed,week,2026-11-02,,3,,,count,metrics"),
        "{csv}"
    );

    let output = bench
        .kpisync(&["record", "contracts_signed", "5", "--period", "2026-W45"])
        .await;
    assert_success(&output);
    assert!(all_output(&output).contains("(replaces 3)"));
    let csv = weekly_csv(&bench).await;
    assert!(
        csv.contains("conversion.contracts_signed,week,2026-11-02,,5,,,count,metrics"),
        "{csv}"
    );
    assert!(!csv.contains(",3,,,count"), "{csv}");
    assert_eq!(manual_rows(&bench), 1);

    // record prints the KPIs of the period its metric feeds, as recomputed.
    let output = bench
        .kpisync(&["record", "demos", "10", "--period", "2026-W45"])
        .await;
    assert_success(&output);
    let printed = all_output(&output);
    assert!(
        printed.contains("conversion.contract_rate = 50.0 % (5 / 10)"),
        "{printed}"
    );

    // Money in the business currency, to the cent; social numbers per network.
    let output = bench
        .kpisync(&[
            "record",
            "marketing_spend",
            "1234.56",
            "--period",
            "2026-11",
        ])
        .await;
    assert_success(&output);
    assert_eq!(
        bench.value("revenue.marketing_spend", "month", "2026-11-01"),
        1234.56
    );
    let output = bench
        .kpisync(&[
            "record",
            "social_followers",
            "5400",
            "--period",
            "2026-11-30",
            "--dimension",
            "network=instagram",
        ])
        .await;
    assert_success(&output);
    assert_eq!(
        bench.kpi(
            "engagement.social_followers",
            "day",
            "2026-11-30",
            "network=instagram"
        ),
        Some(Some(5400.0))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_entries_and_ids_exit_2_and_store_nothing() {
    let bench = Bench::start(Dataset::empty()).await;
    let cases: [(&[&str], &str); 7] = [
        (
            &["record", "visits", "3", "--period", "2026-W45"],
            "'visits' is not a manual metric",
        ),
        (
            &["record", "demos", "3", "--period", "2026-W60"],
            "no ISO week 60",
        ),
        (
            &["record", "demos", "-3", "--period", "2026-W45"],
            "negative",
        ),
        (
            &["record", "demos", "three", "--period", "2026-11"],
            "'three' is not a number",
        ),
        (
            &["record", "social_mentions", "3", "--period", "2026-11"],
            "network=<name>",
        ),
        (
            &["note", "revenue.magic", "2026-W45", "why"],
            "'revenue.magic' is not a KPI id",
        ),
        (
            &["note", "revenue.gross", "last week", "why"],
            "not a period",
        ),
    ];
    for (args, message) in cases {
        let output = bench.kpisync(args).await;
        let printed = all_output(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {printed}");
        assert!(printed.contains(message), "{args:?}: {printed}");
        assert!(!printed.contains("panicked"), "{printed}");
    }
    // Nothing was written: the warehouse file was not even created.
    assert!(!bench.database.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_csv_is_stored_whole() {
    let bench = Bench::start(Dataset::empty()).await;
    let file = bench.dir().join("november.csv");
    std::fs::write(
        &file,
        "Metric, Period, Value, Dimension\n\
         marketing_spend,2026-11,2500.50,\n\
         demos,2026-W45,12,\n\
         contracts_signed,2026-W45,3\n\
         social_mentions,2026-W45,7,network=linkedin\n\
         social_mentions,2026-W45,5,network=instagram\n",
    )
    .unwrap();
    let output = bench.kpisync(&["import", file.to_str().unwrap()]).await;
    assert_success(&output);
    let printed = all_output(&output);
    assert!(printed.contains("stored 5 entries"), "{printed}");
    assert!(printed.contains("network=linkedin"), "{printed}");
    assert_eq!(manual_rows(&bench), 5);
    assert_eq!(
        bench.value("revenue.marketing_spend", "month", "2026-11-01"),
        2500.5
    );
    // 3 contracts over 12 demos; mentions 7 + 5 in total.
    assert_eq!(
        bench.value("conversion.contract_rate", "week", "2026-11-02"),
        0.25
    );
    assert_eq!(
        bench.value("recommendation.social_mentions", "week", "2026-11-02"),
        12.0
    );
    let csv = weekly_csv(&bench).await;
    assert!(
        csv.contains("conversion.contract_rate,week,2026-11-02,,0.25,3,12,ratio,metrics"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_with_bad_rows_names_each_and_stores_nothing() {
    let bench = Bench::start(Dataset::empty()).await;
    let output = bench
        .kpisync(&["record", "demos", "4", "--period", "2026-W45"])
        .await;
    assert_success(&output);

    let file = bench.dir().join("bad.csv");
    std::fs::write(
        &file,
        "metric,period,value,dimension\n\
         demos,2026-W45,12,\n\
         contracts,2026-W45,3,\n\
         contracts_signed,2026-W45,3,\n\
         marketing_spend,2026-13,100,\n\
         newsletter_signups,2026-11,40,\n",
    )
    .unwrap();
    let output = bench.kpisync(&["import", file.to_str().unwrap()]).await;
    let printed = all_output(&output);
    assert_eq!(output.status.code(), Some(2), "{printed}");
    assert!(printed.contains("2 bad rows, nothing stored"), "{printed}");
    assert!(
        printed.contains("line 3: 'contracts' is not a manual metric"),
        "{printed}"
    );
    assert!(
        printed.contains("line 5: '2026-13' is not a period"),
        "{printed}"
    );
    // The good rows of the file were not stored either, and the earlier entry is untouched.
    assert_eq!(manual_rows(&bench), 1);
    let demos: f64 = bench
        .db()
        .query_row(
            "SELECT value FROM metrics WHERE source = 'manual' AND metric = 'demos'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(demos, 4.0);

    // A wrong header is named too.
    std::fs::write(&file, "name,when,amount\ndemos,2026-W45,1\n").unwrap();
    let output = bench.kpisync(&["import", file.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(all_output(&output).contains("header metric,period,value"));
    let missing = bench.dir().join("missing.csv");
    let output = bench.kpisync(&["import", missing.to_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(2), "{}", all_output(&output));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_note_is_stored_replaced_and_removed() {
    let bench = Bench::start(Dataset::empty()).await;
    let note = "SELECT text FROM notes WHERE kpi = 'revenue.gross' AND grain = 'week'
                AND period_start = '2026-11-02'";

    let output = bench
        .kpisync(&["note", "revenue.gross", "2026-W45", "Black Friday teaser"])
        .await;
    assert_success(&output);
    assert!(all_output(&output).contains("note added"));
    assert_eq!(bench.text(note).as_deref(), Some("Black Friday teaser"));

    let output = bench
        .kpisync(&[
            "note",
            "revenue.gross",
            "2026-W45",
            "Teaser moved to next week",
        ])
        .await;
    assert_success(&output);
    assert!(all_output(&output).contains("note replaced"));
    assert_eq!(
        bench.text(note).as_deref(),
        Some("Teaser moved to next week")
    );
    assert_eq!(bench.count("SELECT count(*) FROM notes"), 1);

    // A month note is its own row; empty text removes a note.
    let output = bench
        .kpisync(&["note", "revenue.gross", "2026-11", "Best month"])
        .await;
    assert_success(&output);
    assert_eq!(bench.count("SELECT count(*) FROM notes"), 2);
    let output = bench.kpisync(&["note", "revenue.gross", "2026-W45"]).await;
    assert_success(&output);
    assert!(all_output(&output).contains("note removed"));
    assert_eq!(bench.text(note), None);
    assert_eq!(bench.count("SELECT count(*) FROM notes"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn entries_and_a_note_reach_the_weekly_report() {
    let bench = Bench::start(Dataset::empty()).await;
    let file = bench.dir().join("weeks.csv");
    std::fs::write(
        &file,
        "metric,period,value\n\
         contracts_signed,2026-W44,2\n\
         demos,2026-W44,10\n\
         contracts_signed,2026-W45,3\n\
         demos,2026-W45,12\n",
    )
    .unwrap();
    assert_success(&bench.kpisync(&["import", file.to_str().unwrap()]).await);
    let note = [
        "note",
        "conversion.contract_rate",
        "2026-W45",
        "Two demos moved to December",
    ];
    assert_success(&bench.kpisync(&note).await);

    let output = bench
        .kpisync(&[
            "report", "weekly", "--period", "2026-W45", "--format", "markdown",
        ])
        .await;
    assert_success(&output);
    let report = String::from_utf8_lossy(&output.stdout);
    // 3 / 12 this week against 2 / 10 the week before, with the note beside it.
    let line = report
        .lines()
        .find(|line| line.contains("`conversion.contract_rate`"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("25.0 %") && line.contains("20.0 %"), "{line}");
    assert!(line.contains("Two demos moved to December"), "{line}");
}
