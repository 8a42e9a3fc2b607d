//! The end-to-end tests against a real `twinnet-node --dev`, one node per
//! test, in one test binary so that they run side by side: most of their
//! time is spent waiting for 6 s blocks, not computing, so running them
//! concurrently (`--test-threads` in scripts/test) takes the time of the
//! longest test instead of the sum of all.
//!
//! Timing-sensitive tests and benchmarks are binaries of their own
//! (`rpc_limits`, `rpc_latency`, `throughput`), so no other node shares
//! the machine while they measure.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

#[path = "../common/mod.rs"]
mod common;

mod authority;
mod commitments;
mod consent;
mod database;
mod datasets;
mod dev_chain;
mod federated;
mod twins;
