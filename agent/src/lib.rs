//! TwinNet's compute agent: the program an institution runs beside its data.
//!
//! Its node's off-chain worker hands it each round of a federated job the
//! institution takes part in (`POST /v1/rounds`). The agent then
//!
//! 1. reads the job, the round and the round's starting model from the node
//!    over RPC (`federated_job`, `federated_round`, `federated_model`), and
//!    checks them ([`round::RoundPlan::from_views`]): the job runs this
//!    round, the institution's cohort was admitted, the job's code hash is
//!    this agent's ([`code_hash`]), the model is one it trains, the
//!    starting model is the one the round committed to, and the ε the chain
//!    charges every twin per round covers what DP-SGD with the job's
//!    settings spends ([`twinnet_dp`]); it notes the round's opening block
//!    (`openingBlock`, the hash of the parent of the block the round opened
//!    in), the fork whose cohorts it trains for;
//! 2. trains on the local rows of the twins the chain admitted, and only
//!    those ([`data::Rows::admitted`]), with DP-SGD ([`dpsgd`]): Poisson
//!    sampling, per-record clipping, Gaussian noise;
//! 3. keeps the update until the worker collects it (`GET
//!    /v1/rounds/{job}/{round}/{did}`: the SCALE encoding of `(records:
//!    u32, opening_block: [u8; 32], parameters: Vec<i32>)`) and signs it
//!    into a report, bound to that opening block: an update trained on
//!    another fork's cohorts is never reported.
//!
//! For a job with secure aggregation ([`masking`]) the agent reports, in
//! place of its model, its records-weighted update masked with the seeds it
//! shares with the round's other participants (`(records: u32,
//! opening_block: [u8; 32], masked: Vec<u32>)`), from its X25519 key file
//! ([`agreement`]) and bound to the opening block; if the round closes with
//! institutions dropped, it reveals the seeds it shares with them, with the
//! opening block they were derived for (`GET
//! /v1/rounds/{job}/{round}/{did}/seeds`: `(opening_block: [u8; 32], seeds:
//! Vec<([u8; 32], [u8; 32])>)`).
//!
//! Raw rows never leave the agent; what leaves is the noised model, which
//! differential privacy covers, or for a masked job only its masked
//! update. See docs/federated.md for the protocol.

pub mod agreement;
pub mod data;
pub mod dpsgd;
pub mod masking;
pub mod model;
pub mod node;
pub mod round;
pub mod secret_file;
pub mod service;

/// The text whose BLAKE2-256 hash is this agent's code hash.
pub const CODE_ID: &str = "twinnet-agent/dp-sgd-logistic-regression/v1";

/// The code hash of this agent's algorithm (DP-SGD logistic regression, as
/// in this crate): a job must name it, and each dataset's allow-list must
/// hold it, for the agent to train the job's rounds.
pub fn code_hash() -> [u8; 32] {
	sp_crypto_hashing::blake2_256(CODE_ID.as_bytes())
}
