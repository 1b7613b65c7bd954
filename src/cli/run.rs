//! `kpisync run`: the daemon, until SIGTERM or SIGINT; see [`crate::daemon`].

use std::process::ExitCode;

use super::Context;

/// Loads the configuration and hands over to the daemon.
pub async fn run(context: &Context) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    let database = context.database_path(&config);
    crate::daemon::run(config, database, context.database.is_some()).await
}
