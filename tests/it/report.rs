//! The reports from a real warehouse: every format through the binary, and the HTML report
//! rendered by headless Chromium, which must draw its trend charts without a console message.
//!
//! Chromium is required: the test fails when it is missing (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;

use connectors::stripe::fake::Dataset;

use crate::helpers::{Bench, all_output, assert_success};

/// The chart colour of `src/report/html.rs`, `#1d4ed8`.
const CHART_RGB: [u8; 3] = [0x1d, 0x4e, 0xd8];

/// A warehouse synced from a realistic fake shop: 120 days of payments and subscriptions up
/// to Monday 2026-06-15.
async fn synced_bench() -> Bench {
    let anchor: jiff::Timestamp = "2026-06-15T12:00:00Z".parse().unwrap();
    let bench = Bench::start(Dataset::demo(anchor, 7)).await;
    bench.sync_ok(&[]).await;
    bench
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_print_in_every_format_and_write_files() {
    let bench = synced_bench().await;

    let note = bench
        .kpisync(&["note", "revenue.gross", "2026-W24", "Summer sale, day 3"])
        .await;
    assert_success(&note);
    let table = bench
        .kpisync(&["report", "weekly", "--period", "2026-W24"])
        .await;
    assert_success(&table);
    let table = String::from_utf8_lossy(&table.stdout);
    let gross = table
        .lines()
        .find(|line| line.contains("revenue.gross "))
        .unwrap_or_else(|| panic!("no revenue.gross line:\n{table}"));
    assert!(gross.contains("Summer sale, day 3"), "the note: {gross}");
    assert!(
        table.starts_with("Weekly report 2026-W24\n2026-06-08 to 2026-06-14"),
        "{table}"
    );
    assert!(
        table.contains("revenue.gross") && table.contains('€'),
        "{table}"
    );

    let json = bench
        .kpisync(&[
            "report", "monthly", "--period", "2026-05", "--format", "json",
        ])
        .await;
    assert_success(&json);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON output");
    assert_eq!(json["period"], "2026-05");
    let revenue = json["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stage| stage["stage"] == "revenue")
        .expect("a revenue stage");
    let gross = &revenue["kpis"][0];
    assert_eq!(gross["kpi"], "revenue.gross");
    let stored = bench.value("revenue.gross", "month", "2026-05-01");
    assert_eq!(gross["value"].as_f64(), Some(stored));

    for format in ["markdown", "csv", "html"] {
        let path = bench.dir().join(format!("report.{format}"));
        let output = bench
            .kpisync(&[
                "report", "monthly", "--period", "2026-05", "--format", format,
            ])
            .await;
        assert_success(&output);
        let to_file = bench
            .kpisync(&[
                "report",
                "monthly",
                "--period",
                "2026-05",
                "--format",
                format,
                "--output",
                path.to_str().unwrap(),
            ])
            .await;
        assert_success(&to_file);
        assert!(to_file.stdout.is_empty());
        let written = std::fs::read(&path).unwrap();
        assert_eq!(
            written, output.stdout,
            "{format}: the file holds what stdout shows"
        );
    }

    let wrong = bench
        .kpisync(&["report", "weekly", "--period", "2026-05"])
        .await;
    assert_eq!(wrong.status.code(), Some(2), "{}", all_output(&wrong));
    assert!(
        all_output(&wrong).contains("2026-W48"),
        "{}",
        all_output(&wrong)
    );

    // A report that cannot be written leaves no temporary file behind.
    let folder = bench.dir().join("reports");
    std::fs::create_dir(&folder).unwrap();
    let args = ["report", "monthly", "--period", "2026-05", "--output"];
    let into_folder = bench
        .kpisync(&[&args[..], &[folder.to_str().unwrap()]].concat())
        .await;
    assert_eq!(into_folder.status.code(), Some(1));
    assert!(all_output(&into_folder).contains("reports"));
    assert!(!bench.dir().join("reports.partial").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_renders_its_charts_in_chromium_without_console_messages() {
    let bench = synced_bench().await;
    let page = bench.dir().join("weekly.html");
    let output = bench
        .kpisync(&[
            "report",
            "weekly",
            "--period",
            "2026-W24",
            "--format",
            "html",
            "--output",
            page.to_str().unwrap(),
        ])
        .await;
    assert_success(&output);

    let shot = bench.dir().join("weekly.png");
    let console = screenshot(&page, &shot);
    assert!(console.is_empty(), "console messages: {console:?}");
    let (pixels, chart) = count_pixels(&shot);
    assert!(
        pixels.painted > pixels.total / 50,
        "the page looks blank: {pixels:?}"
    );
    assert!(
        chart > 400,
        "too few chart-coloured pixels ({chart}): no charts drawn?"
    );

    // The same detection sees a page that does log an error, and a page without charts.
    let broken = bench.dir().join("broken.html");
    std::fs::write(
        &broken,
        "<!DOCTYPE html><html><body><p>no charts here</p>\
         <script>undefinedFunction();</script></body></html>",
    )
    .unwrap();
    let broken_shot = bench.dir().join("broken.png");
    let console = screenshot(&broken, &broken_shot);
    assert!(
        console
            .iter()
            .any(|line| line.contains("undefinedFunction")),
        "a deliberate error went unseen: {console:?}"
    );
    assert_eq!(count_pixels(&broken_shot).1, 0);
}

/// Renders `page` with headless Chromium into `png` and returns the console lines it logged.
/// Every host name fails to resolve, so a fetch from the network would log an error too.
fn screenshot(page: &Path, png: &Path) -> Vec<String> {
    let output = Command::new("chromium")
        .args([
            "--headless",
            // Chromium refuses to run as root with its sandbox on, as in CI containers.
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1200,1600",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run chromium ({error}); install it: apt-get install chromium")
        });
    assert!(
        output.status.success() && png.exists(),
        "chromium failed: {}",
        all_output(&output)
    );
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect()
}

#[derive(Debug)]
struct Pixels {
    total: usize,
    painted: usize,
}

/// Pixels that are not white, and pixels of the chart colour (give or take the blending of
/// anti-aliased edges).
fn count_pixels(png: &Path) -> (Pixels, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{:?}", info.color_type);
    let (mut painted, mut chart, mut total) = (0, 0, 0);
    for pixel in buffer[..info.buffer_size()].chunks_exact(channels) {
        total += 1;
        if pixel[..3].iter().any(|channel| *channel < 245) {
            painted += 1;
        }
        let close = pixel[..3]
            .iter()
            .zip(CHART_RGB)
            .all(|(channel, wanted)| channel.abs_diff(wanted) <= 12);
        if close {
            chart += 1;
        }
    }
    (Pixels { total, painted }, chart)
}
