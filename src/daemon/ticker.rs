//! The UTC ticker: a tokio-cron-scheduler job firing every second that only pokes the daemon
//! loop. Which connector is due is decided by [`super::schedule`] in the business time zone,
//! because the scheduler's own time-zone support keeps the offset it computed when the job was
//! added (an hour off after a daylight-saving change) and it takes no 5-field expressions.

use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler};
use tracing::debug;

/// Every second, in UTC: fine enough for 6-field schedules and the random spread of runs.
const EVERY_SECOND: &str = "* * * * * *";

/// The running scheduler and the receiving end of its ticks.
pub struct Ticker {
    scheduler: JobScheduler,
    /// One message per tick; ticks the loop has not taken yet are merged into one.
    pub ticks: mpsc::Receiver<()>,
}

impl Ticker {
    /// Starts the scheduler with its one job.
    pub async fn start() -> anyhow::Result<Ticker> {
        let scheduler = JobScheduler::new().await?;
        let (sender, ticks) = mpsc::channel(1);
        let job = Job::new_async(EVERY_SECOND, move |_job, _scheduler| {
            let sender = sender.clone();
            Box::pin(async move {
                // Full means the loop has a tick waiting already; one is enough.
                let _ = sender.try_send(());
            })
        })?;
        scheduler.add(job).await?;
        scheduler.start().await?;
        Ok(Ticker { scheduler, ticks })
    }

    /// Stops the scheduler's loop; no tick follows.
    pub async fn stop(&mut self) {
        if let Err(error) = self.scheduler.shutdown().await {
            debug!(error = %error, "the ticker did not stop cleanly");
        }
        self.ticks.close();
    }
}
