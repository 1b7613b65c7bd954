//! `kpisync check`: the configuration is valid, and each enabled connector's credentials work
//! (one cheap request each).

use std::process::ExitCode;

use super::{Context, output};

pub async fn run(context: &Context) -> anyhow::Result<ExitCode> {
    let config = context.config()?;
    // A missing or unreadable secret is a configuration error: exit 2 before any request, and
    // before saying the configuration is valid.
    let connectors = config
        .select(&[])?
        .into_iter()
        .map(|entry| Ok((entry, entry.build()?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    println!("configuration {} is valid", super::shown(&config.source));
    let business = &config.business;
    let pages = if business.landing_pages.is_empty() {
        "none".to_owned()
    } else {
        business.landing_pages.join(", ")
    };
    println!(
        "business: {} model, periods cut in {}, revenue in {}, landing pages: {pages}",
        business.model.as_str(),
        business.timezone_name,
        business.currency
    );

    let mut table = output::table(["connector", "result", "detail"]);
    let mut failed = false;
    for (entry, connector) in connectors {
        match connector.check().await {
            Ok(report) => {
                let mut detail = format!("{}\nschedule: {}", report.detail, entry.schedule);
                for warning in report.warnings {
                    detail.push_str(&format!("\nwarning: {warning}"));
                }
                table.add_row([entry.name.to_owned(), "ok".to_owned(), detail]);
            }
            Err(error) => {
                failed = true;
                let mut detail = error.to_string();
                if let Some(hint) = error.hint() {
                    detail.push_str(&format!("\n{hint}"));
                }
                table.add_row([entry.name.to_owned(), "FAILED".to_owned(), detail]);
            }
        }
    }
    if table.row_count() == 0 {
        println!("no connector is enabled");
    } else {
        println!("{table}");
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
