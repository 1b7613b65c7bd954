//! `kpisync init`: writes the commented example configuration to start from.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::config::ConfigError;

/// The example configuration, every key commented.
pub const EXAMPLE: &str = include_str!("../../config/kpisync.example.toml");

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Where to write it
    #[arg(default_value = "kpisync.toml")]
    path: PathBuf,

    /// Replace an existing file
    #[arg(long)]
    force: bool,
}

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    if args.path.exists() && !args.force {
        return Err(ConfigError(format!(
            "{} exists already; pass --force to replace it",
            args.path.display()
        ))
        .into());
    }
    std::fs::write(&args.path, EXAMPLE)
        .with_context(|| format!("writing {}", args.path.display()))?;
    println!(
        "wrote {}: set your API keys, then run `kpisync check`",
        args.path.display()
    );
    Ok(ExitCode::SUCCESS)
}
