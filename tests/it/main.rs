//! End-to-end tests of the `kpisync` binary: real SQLite files, real HTTP on loopback against
//! the connectors' fakes, the binary run as a child process. One test binary, one module per
//! feature.

mod cli;
mod daemon;
mod ga4;
mod helpers;
mod interrupted;
mod manual;
mod report;
mod stripe_faults;
mod stripe_kpis;
mod stripe_sync;
