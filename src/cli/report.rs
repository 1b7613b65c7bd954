//! `kpisync report weekly|monthly`: the reports of `KPIS.md`.

use std::process::ExitCode;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {}

pub fn run(_context: &Context, _args: ReportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("reports are not built yet")
}
