//! Logging to stderr: coloured lines on a terminal, plain lines in pipes and files, JSON with
//! `--log-format json`. Under systemd (stderr is the journal stream named by `JOURNAL_STREAM`)
//! lines carry no time stamp, which the journal adds, and start with a syslog priority such as
//! `<4>`, so that `journalctl -p warning` picks them out.

use std::fmt;
use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per line, fields at the top level.
    Json,
}

/// Installs the global subscriber. `default_level` applies unless `KPISYNC_LOG` says otherwise
/// (`KPISYNC_LOG=debug`, `KPISYNC_LOG=kpisync=debug,connectors=info`).
pub fn init(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_env("KPISYNC_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let journal = stderr_is_journal();
    let colour =
        !journal && std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);

    match (format, journal) {
        (LogFormat::Text, false) => builder.init(),
        (LogFormat::Text, true) => {
            let format = tracing_subscriber::fmt::format().without_time();
            builder.event_format(JournalPriority(format)).init();
        }
        (LogFormat::Json, false) => builder.json().flatten_event(true).init(),
        (LogFormat::Json, true) => {
            let format = tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .without_time();
            builder.json().event_format(JournalPriority(format)).init();
        }
    }
}

/// True when stderr is the journal stream systemd connected, as `JOURNAL_STREAM` (device and
/// inode) says; a process that inherited the variable but writes elsewhere keeps time stamps.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;

    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = stream.to_str().and_then(|stream| stream.split_once(':')) else {
        return false;
    };
    let Ok(stderr) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(metadata) = std::fs::File::from(stderr).metadata() else {
        return false;
    };
    device.parse() == Ok(metadata.dev()) && inode.parse() == Ok(metadata.ino())
}

/// Puts the event's syslog priority in front of the line, as journald reads it.
struct JournalPriority<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPriority<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let priority = match *event.metadata().level() {
            Level::ERROR => 3,
            Level::WARN => 4,
            Level::INFO => 6,
            Level::DEBUG | Level::TRACE => 7,
        };
        write!(writer, "<{priority}>")?;
        self.0.format_event(context, writer, event)
    }
}
