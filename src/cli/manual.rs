//! `kpisync record`, `kpisync import` and `kpisync note`: manual inputs.

use std::process::ExitCode;

use super::Context;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {}

#[derive(Debug, clap::Args)]
pub struct NoteArgs {}

pub fn record(_context: &Context, _args: RecordArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("manual inputs are not built yet")
}

pub fn import(_context: &Context, _args: ImportArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("manual inputs are not built yet")
}

pub fn note(_context: &Context, _args: NoteArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("manual inputs are not built yet")
}
