//! kpisync's connectors: what every upstream connector shares (the [`Connector`] trait, the row,
//! table and batch types, the retrying HTTP client, secrets and errors) and one module per
//! upstream. Connectors never touch SQLite: they describe their tables and yield batches of rows,
//! and the binary's warehouse stores them.
#![warn(missing_docs)]

pub mod error;
pub mod ga4;
pub mod http;
#[cfg(feature = "fake")]
mod loopback;
pub mod schema;
pub mod secret;
pub mod stripe;

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use error::ConnectorError;
pub use schema::{Batch, Column, ColumnType, MetricRow, Row, TableSpec, Value};
pub use secrecy::{ExposeSecret, SecretString};

/// The saved position of a stream, as the connector wrote it: opaque JSON to everyone else.
pub type Cursor = serde_json::Value;

/// What a connector is told when it reads a stream.
#[derive(Debug, Clone, Default)]
pub struct ReadContext {
    /// The saved cursor of every stream of this connector, keyed by stream name. A connector may
    /// look at another stream's cursor (Stripe checks its events cursor before trusting a list
    /// cursor).
    pub cursors: HashMap<String, Cursor>,
    /// Ignore saved cursors and read everything again.
    pub full_refresh: bool,
}

impl ReadContext {
    /// The saved cursor of `stream`, unless a full refresh was asked for.
    pub fn cursor(&self, stream: &str) -> Option<&Cursor> {
        if self.full_refresh {
            return None;
        }
        self.cursors.get(stream)
    }
}

/// Where a connector hands its batches. Sending waits while the writer is behind, so a fast
/// upstream never piles pages up in memory.
pub struct BatchSink {
    sender: mpsc::Sender<Batch>,
}

impl BatchSink {
    /// A sink and the receiving end the sync engine drains; `capacity` batches may wait.
    pub fn channel(capacity: usize) -> (BatchSink, mpsc::Receiver<Batch>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (BatchSink { sender }, receiver)
    }

    /// Hands a batch to the writer; fails only when the run was abandoned.
    pub async fn send(&mut self, batch: Batch) -> Result<(), ConnectorError> {
        self.sender
            .send(batch)
            .await
            .map_err(|_| ConnectorError::Cancelled)
    }

    /// Records a warning on the run (shown by `kpisync status`) without any rows.
    pub async fn warn(&mut self, message: impl Into<String>) -> Result<(), ConnectorError> {
        let batch = Batch {
            warnings: vec![message.into()],
            ..Batch::default()
        };
        self.send(batch).await
    }
}

/// The outcome of a connector's cheap credentials check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// What was checked, in a few words ("read charges").
    pub detail: String,
    /// Things that work but deserve attention.
    pub warnings: Vec<String>,
}

/// One stream a connector can read.
#[derive(Debug, Clone, Copy)]
pub struct StreamSpec {
    /// The stream's name, as used in `sync_state` and `sync_runs` (`charges`, `events`).
    pub name: &'static str,
    /// One line for `kpisync status` and the docs.
    pub description: &'static str,
}

/// An upstream connector: its streams, a credentials check and a reader per stream.
///
/// The sync engine reads the streams in the order [`Connector::streams`] gives, handing each
/// batch to the warehouse, which stores its rows and its cursor in one transaction.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The connector's name, also its configuration section (`stripe`).
    fn name(&self) -> &'static str;

    /// The streams, in the order a sync reads them.
    fn streams(&self) -> &'static [StreamSpec];

    /// The warehouse tables this connector's rows go to.
    fn tables(&self) -> &'static [&'static TableSpec];

    /// One cheap request proving that the credentials work.
    async fn check(&self) -> Result<CheckReport, ConnectorError>;

    /// Reads one stream from its saved cursor, sending batches to `sink`. Each batch's cursor
    /// must be safe to resume from once that batch and every earlier one are stored.
    async fn read(
        &self,
        stream: &str,
        context: &ReadContext,
        sink: &mut BatchSink,
    ) -> Result<(), ConnectorError>;
}
