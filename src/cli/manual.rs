//! `kpisync record`, `kpisync import` and `kpisync note`: manual inputs. Entries are checked
//! by the KPI engine's rules ([`crate::kpi::manual::check_entry`]) before anything is stored;
//! a bad entry, CSV row or KPI id is a usage error (exit 2) and stores nothing. After storing
//! entries the KPIs are recomputed, so `kpisync kpis` shows them at once.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{Context, output, shown};
use crate::config::{Config, ConfigError};
use crate::kpi::BusinessModel;
use crate::kpi::manual::{check_entry, kpis_fed_by};
use crate::kpi::periods::{self, Period};
use crate::warehouse::{ManualEntry, NoteChange, Warehouse};

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// A manual metric: marketing_spend, demos, contracts_signed, app_downloads,
    /// lead_magnet_downloads, popup_displays, newsletter_subscribers, newsletter_signups,
    /// social_followers, social_engagements, social_impressions, social_mentions,
    /// nps_promoters, nps_passives or nps_detractors
    metric: String,

    /// The number: a whole count, or an amount in business.currency's major units (1234.56)
    #[arg(allow_negative_numbers = true)]
    value: String,

    /// The period it is for: a day (2026-11-03), an ISO week (2026-W45) or a month (2026-11)
    #[arg(long, value_name = "PERIOD")]
    period: String,

    /// network=NAME, required by the social_* metrics (network=instagram)
    #[arg(long, value_name = "KEY=VALUE")]
    dimension: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A CSV file with the header metric,period,value,dimension (see docs/kpis.md)
    file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct NoteArgs {
    /// The KPI id (revenue.gross; `kpisync kpis` lists them)
    kpi: String,

    /// A day (2026-11-03), an ISO week (2026-W45) or a month (2026-11)
    period: String,

    /// The note; empty removes the note of this KPI and period
    #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
    text: Vec<String>,
}

pub fn record(context: &Context, args: RecordArgs) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    let dimension = args.dimension.as_deref().unwrap_or("");
    let entry = check_entry(
        &args.metric,
        &args.value,
        &args.period,
        dimension,
        &config.business.currency,
    )
    .map_err(ConfigError)?;
    let (mut warehouse, _) = context.open_warehouse(&config)?;
    let stored = warehouse.record_manual(std::slice::from_ref(&entry))?;
    let replaced = stored.first().and_then(|stored| stored.replaced);
    tracing::info!(
        metric = entry.metric,
        grain = entry.grain,
        period_start = entry.period_start,
        dimension = entry.dimension,
        value = entry.value,
        "manual entry recorded"
    );
    print!("recorded {}", describe(&entry));
    match replaced {
        Some(previous) => println!(" (replaces {})", number(previous, &entry.unit)),
        None => println!(),
    }
    recompute(&config, &mut warehouse)?;
    print_fed(&warehouse, &entry, config.business.model)?;
    Ok(ExitCode::SUCCESS)
}

/// The KPI rows of the entry's period that the entry's metric feeds, as recomputed.
fn print_fed(
    warehouse: &Warehouse,
    entry: &ManualEntry,
    model: BusinessModel,
) -> anyhow::Result<()> {
    let mut statement = warehouse.conn().prepare(
        "SELECT dimension, value, numerator, denominator, unit FROM kpis
         WHERE kpi = ?1 AND grain = ?2 AND period_start = ?3 ORDER BY dimension",
    )?;
    for kpi in kpis_fed_by(&entry.metric, model) {
        let key = rusqlite::params![kpi, entry.grain, entry.period_start];
        let mut rows = statement.query(key)?;
        while let Some(row) = rows.next()? {
            let dimension: String = row.get(0)?;
            let unit: String = row.get(4)?;
            let mut line = format!("  {kpi}");
            if !dimension.is_empty() {
                line.push_str(&format!(" {dimension}"));
            }
            line.push_str(&format!(" = {}", output::value(row.get(1)?, &unit)));
            let (numerator, denominator): (Option<f64>, Option<f64>) = (row.get(2)?, row.get(3)?);
            if let (Some(numerator), Some(denominator)) = (numerator, denominator) {
                line.push_str(&format!(" ({numerator} / {denominator})"));
            }
            println!("{line}");
        }
    }
    Ok(())
}

pub fn import(context: &Context, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    let entries = read_csv(&args.file, &config.business.currency)?;
    let (mut warehouse, _) = context.open_warehouse(&config)?;
    let stored = warehouse.record_manual(&entries)?;
    tracing::info!(
        file = shown(&args.file),
        entries = entries.len(),
        "manual entries imported"
    );

    let mut table = output::table(["metric", "period", "dimension", "value", "replaces"]);
    for (entry, stored) in entries.iter().zip(&stored) {
        table.add_row([
            entry.metric.clone(),
            label(entry),
            entry.dimension.clone(),
            number(entry.value, &entry.unit),
            stored
                .replaced
                .map(|previous| number(previous, &entry.unit))
                .unwrap_or_default(),
        ]);
    }
    println!("{table}");
    let plural = if entries.len() == 1 {
        "entry"
    } else {
        "entries"
    };
    println!(
        "stored {} {plural} from {}",
        entries.len(),
        shown(&args.file)
    );
    recompute(&config, &mut warehouse)?;
    Ok(ExitCode::SUCCESS)
}

pub fn note(context: &Context, args: NoteArgs) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    if !crate::kpi::catalog().iter().any(|def| def.id == args.kpi) {
        return Err(ConfigError(format!(
            "'{}' is not a KPI id (docs/kpis.md lists them)",
            args.kpi
        ))
        .into());
    }
    let period = periods::parse(&args.period).map_err(|error| ConfigError(format!("{error:#}")))?;
    let text = args.text.join(" ");
    let text = text.trim();
    let (mut warehouse, _) = context.open_warehouse(&config)?;
    let change = warehouse.set_note(
        &args.kpi,
        period.grain.as_str(),
        &period.start.to_string(),
        text,
    )?;
    let what = match change {
        NoteChange::Added => "note added",
        NoteChange::Replaced => "note replaced",
        NoteChange::Removed => "note removed",
        NoteChange::NothingToRemove => "no note to remove",
    };
    println!("{what}: {} {period}", args.kpi);
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks every row of an import file. Every bad row is reported, by line number,
/// in one error; the file is then not stored at all.
pub(super) fn read_csv(path: &Path, currency: &str) -> anyhow::Result<Vec<ManualEntry>> {
    let name = shown(path);
    let bytes = std::fs::read(path).map_err(|error| ConfigError(format!("{name}: {error}")))?;
    Ok(parse_csv(&name, &bytes, currency)?)
}

/// Checks every row of the import file `name`, whose content is `bytes`.
fn parse_csv(name: &str, bytes: &[u8], currency: &str) -> Result<Vec<ManualEntry>, ConfigError> {
    let lines = LineIndex::new(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|error| {
            let line = error.position().map_or(1, |at| lines.first_line(at));
            ConfigError(format!("{name}: line {line}: {}", csv_error(&error)))
        })?
        .clone();
    // Spreadsheets like to capitalise headers: `Metric` is `metric`.
    let names: Vec<String> = headers.iter().map(str::to_ascii_lowercase).collect();
    let column = |wanted: &str| names.iter().position(|name| name == wanted);
    let unknown: Vec<String> = names
        .iter()
        .filter(|name| !["metric", "period", "value", "dimension"].contains(&name.as_str()))
        .map(|name| format!("'{name}'"))
        .collect();
    let (Some(metric), Some(period), Some(value)) =
        (column("metric"), column("period"), column("value"))
    else {
        return Err(ConfigError(format!(
            "{name}: line 1 must be the header metric,period,value (and optionally dimension), \
             found '{}'",
            headers.iter().collect::<Vec<_>>().join(",")
        )));
    };
    if !unknown.is_empty() {
        return Err(ConfigError(format!(
            "{name}: unknown column {} (the columns are metric, period, value and dimension)",
            unknown.join(", ")
        )));
    }
    // Two columns of one name would leave one of them silently unread.
    if let Some(twice) = names
        .iter()
        .enumerate()
        .find_map(|(index, name)| names[..index].contains(name).then_some(name))
    {
        return Err(ConfigError(format!(
            "{name}: the header has the column {twice} twice"
        )));
    }
    let dimension = column("dimension");

    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |at| lines.first_line(at));
                errors.push(format!("line {line}: {}", csv_error(&error)));
                continue;
            }
        };
        let line = record.position().map_or(0, |at| lines.first_line(at));
        if record.len() > headers.len() {
            errors.push(format!(
                "line {line}: {} fields, the header has {}",
                record.len(),
                headers.len()
            ));
            continue;
        }
        // No entry has a line break: a quote left open took the lines after it into a field.
        if record.iter().any(|field| field.contains(['\n', '\r'])) {
            errors.push(format!(
                "line {line}: a quoted field runs over several lines (a closing quote missing?)"
            ));
            continue;
        }
        let field = |index: usize| record.get(index).unwrap_or("");
        let checked = check_entry(
            field(metric),
            field(value),
            field(period),
            dimension.map_or("", field),
            currency,
        );
        match checked {
            Ok(entry) => entries.push(entry),
            Err(error) => errors.push(format!("line {line}: {error}")),
        }
    }
    if !errors.is_empty() {
        return Err(ConfigError(format!(
            "{name}: {} bad row{}, nothing stored:\n  {}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            errors.join("\n  ")
        )));
    }
    if entries.is_empty() {
        return Err(ConfigError(format!("{name}: no rows after the header")));
    }
    Ok(entries)
}

/// A CSV reading error without the reader's own position, which [`LineIndex`] corrects.
fn csv_error(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not UTF-8 text", err.field() + 1)
        }
        _ => error.to_string(),
    }
}

/// Finds the line a record is on. The CSV reader places a record where it started reading:
/// before the blank lines it skipped and, with CRLF line ends, on the `\n` that ends the line
/// before; the record itself starts after those line ends.
struct LineIndex<'a> {
    bytes: &'a [u8],
    /// Byte offsets of every `\n`, in order.
    newlines: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(bytes: &'a [u8]) -> LineIndex<'a> {
        let newlines = (0..bytes.len()).filter(|&at| bytes[at] == b'\n').collect();
        LineIndex { bytes, newlines }
    }

    /// The 1-based line of the first character of the record the reader placed at `at`.
    fn first_line(&self, at: &csv::Position) -> u64 {
        let from =
            usize::try_from(at.byte()).map_or(self.bytes.len(), |byte| byte.min(self.bytes.len()));
        let start = from
            + self.bytes[from..]
                .iter()
                .take_while(|byte| matches!(byte, b'\r' | b'\n'))
                .count();
        1 + self.newlines.partition_point(|&newline| newline < start) as u64
    }
}

/// Recomputes the KPIs after new entries, and folds the WAL back into the file.
fn recompute(config: &Config, warehouse: &mut Warehouse) -> anyhow::Result<()> {
    let settings = config.business.kpi_settings();
    let summary = crate::kpi::recompute(warehouse, &settings, jiff::Timestamp::now())?;
    warehouse.checkpoint()?;
    tracing::info!(
        rows = summary.rows,
        kpis = summary.kpis,
        elapsed_ms = summary.elapsed.as_millis() as u64,
        "kpis recomputed"
    );
    println!("KPIs recomputed ({} rows)", summary.rows);
    Ok(())
}

/// The period label of an entry as users write it (`2026-W45`).
fn label(entry: &ManualEntry) -> String {
    let period = entry
        .grain
        .parse()
        .ok()
        .zip(entry.period_start.parse().ok())
        .map(|(grain, start)| Period { grain, start });
    period.map_or_else(|| entry.period_start.clone(), |period| period.to_string())
}

/// `demos = 12 for 2026-W45`, with the dimension when there is one.
fn describe(entry: &ManualEntry) -> String {
    let dimension = if entry.dimension.is_empty() {
        String::new()
    } else {
        format!(" ({})", entry.dimension)
    };
    format!(
        "{}{dimension} = {} for {}",
        entry.metric,
        number(entry.value, &entry.unit),
        label(entry)
    )
}

/// A stored value as typed: counts without decimals, money with its unit.
fn number(value: f64, unit: &str) -> String {
    if unit == "count" {
        format!("{value}")
    } else {
        format!("{value} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_error(content: &[u8]) -> String {
        parse_csv("in.csv", content, "EUR").unwrap_err().0
    }

    #[test]
    fn a_bad_row_is_named_by_its_own_line_after_blank_lines_and_with_crlf() {
        let blank_lines = import_error(b"metric,period,value\n\n\ndemos,2026-W46,x\n");
        assert!(
            blank_lines.contains("line 4: 'x' is not a number"),
            "{blank_lines}"
        );

        let crlf = import_error(
            b"metric,period,value\r\ndemos,2026-W46,4\r\n\r\ndemos,2026-W47,y\r\n\
              \"con\r\ntracts\",2026-W46,2\r\ndemos,2026-W48,z",
        );
        assert!(crlf.contains("line 4: 'y' is not a number"), "{crlf}");
        assert!(
            crlf.contains("line 5: a quoted field runs over several lines"),
            "{crlf}"
        );
        assert!(crlf.contains("line 7: 'z' is not a number"), "{crlf}");
        assert!(crlf.contains("3 bad rows"), "{crlf}");

        let open_quote =
            import_error(b"metric,period,value\n\"demos,2026-W46,4\ndemos,2026-W47,5\n");
        assert!(
            open_quote.contains("1 bad row, nothing stored:\n  line 2: a quoted field runs over"),
            "{open_quote}"
        );
        let header = import_error(b"\n\nmet\xffric,period,value\ndemos,2026-W46,4\n");
        assert!(
            header.contains("line 3: field 1 is not UTF-8 text"),
            "{header}"
        );
        let not_utf8 =
            import_error(b"metric,period,value\ndemos,2026-W46,4\n\ndemos,2026-\xff,4\n");
        assert!(
            not_utf8.contains("line 4: field 2 is not UTF-8 text"),
            "{not_utf8}"
        );
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let error =
            import_error(b"metric,Metric,period,value\ndemos,contracts_signed,2026-W46,3\n");
        assert!(
            error.contains("the header has the column metric twice"),
            "{error}"
        );
    }

    #[test]
    fn a_bom_and_crlf_file_is_read() {
        let entries = parse_csv(
            "in.csv",
            b"\xef\xbb\xbfmetric,period,value\r\ndemos,2026-W46,4\r\n",
            "EUR",
        )
        .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].value, 4.0);
        assert_eq!(entries[0].period_start, "2026-11-09");
    }
}
