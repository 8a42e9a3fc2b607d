//! Benchmark: how many of TwinNet's own extrinsics a block carries compared
//! with a plain transfer, on the same node in the same run.
//!
//! For each workload, `COUNT` extrinsics are signed in advance by one
//! account (nonces counted up, immortal), then submitted as fast as the
//! node takes them; the blocks that follow are read until all of them are
//! in, and each block's signed extrinsics and failed dispatches are counted
//! from its body and events. Reported per workload: blocks used, the most in
//! one block, and extrinsics per second over the blocks used (at the
//! runtime's 6 s slot), with each rate as a ratio of the transfer rate.
//! `scripts/bench-tps` runs it and prints the table; `COUNT` is overridden
//! by `TPS_COUNT`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use twinnet_test_support::{
	subxt::{
		self,
		config::PolkadotExtrinsicParamsBuilder,
		dynamic::Value as Dyn,
		ext::futures::{stream, StreamExt},
		rpcs::rpc_params,
		transactions::Payload,
	},
	subxt_signer::sr25519::{dev, Keypair},
	TestNode,
};

/// Extrinsics per workload, unless `TPS_COUNT` says otherwise.
const COUNT: usize = 3000;
/// The runtime's slot: one block every 6 s.
const SLOT: Duration = Duration::from_secs(6);
/// Grants a twin may hold (the runtime's `MaxGrantsPerTwin`).
const GRANTS_PER_TWIN: usize = 64;
/// Submissions in flight at once.
const IN_FLIGHT: usize = 16;
/// The most blocks a workload may take before the benchmark gives up.
const PATIENCE: u64 = 40;

fn count() -> usize {
	std::env::var("TPS_COUNT").ok().and_then(|n| n.parse().ok()).unwrap_or(COUNT)
}

/// What the blocks of one workload held.
struct Measured {
	name: &'static str,
	submitted: usize,
	per_block: Vec<usize>,
	failed: usize,
	submitted_in: Duration,
}

impl Measured {
	fn included(&self) -> usize {
		self.per_block.iter().sum()
	}

	/// Included extrinsics per second over the blocks that held them.
	fn rate(&self) -> f64 {
		self.included() as f64 / (self.per_block.len() as f64 * SLOT.as_secs_f64())
	}
}

/// `calls` signed by `signer` with consecutive nonces from its next one.
async fn presign(node: &TestNode, signer: &Keypair, calls: &[impl Payload]) -> Vec<String> {
	let client = node.client().at_current_block().await.expect("the finalized block");
	let mut transactions = client.transactions();
	let first = transactions.account_nonce(&account(signer)).await.expect("the signer's nonce");
	let mut signed = Vec::with_capacity(calls.len());
	for (nonce, call) in (first..).zip(calls) {
		let params = PolkadotExtrinsicParamsBuilder::new().nonce(nonce).immortal().build();
		let transaction =
			transactions.create_signed(call, signer, params).await.expect("the call signs");
		let hex: String = transaction.encoded().iter().map(|byte| format!("{byte:02x}")).collect();
		signed.push(format!("0x{hex}"));
	}
	signed
}

/// The number of the latest finalized block.
async fn finalized(node: &TestNode) -> u64 {
	node.client()
		.at_current_block()
		.await
		.expect("the finalized block")
		.block_number()
}

/// Submits `signed` and reads the finalized blocks after the current one
/// until all of them are in, or [`PATIENCE`] blocks have passed.
async fn measure(node: &TestNode, name: &'static str, signed: Vec<String>) -> Measured {
	let total = signed.len();
	let mut next = finalized(node).await + 1;
	let start = Instant::now();
	stream::iter(signed)
		.map(|transaction| async move {
			node.rpc("author_submitExtrinsic", rpc_params![transaction])
				.await
				.expect("the pool takes it");
		})
		.buffered(IN_FLIGHT)
		.collect::<Vec<()>>()
		.await;
	let submitted_in = start.elapsed();

	let mut measured =
		Measured { name, submitted: total, per_block: Vec::new(), failed: 0, submitted_in };
	let give_up = next + PATIENCE;
	// A node that cannot keep up leaves some behind: the report says how many.
	while measured.included() < total && next < give_up {
		if finalized(node).await < next {
			tokio::time::sleep(Duration::from_millis(250)).await;
			continue;
		}
		let block = node.client().at_block(next).await.expect("a finalized block");
		let extrinsics = block.extrinsics().fetch().await.expect("the block's body");
		let signed = extrinsics
			.iter()
			.filter(|extrinsic| extrinsic.as_ref().is_ok_and(|extrinsic| extrinsic.is_signed()))
			.count();
		let events = block.events().fetch().await.expect("the block's events");
		measured.failed += events
			.iter()
			.filter_map(Result::ok)
			.filter(|event| {
				event.pallet_name() == "System" && event.event_name() == "ExtrinsicFailed"
			})
			.count();
		// Blocks before the first and after the last of the workload do not count.
		if signed > 0 || !measured.per_block.is_empty() {
			measured.per_block.push(signed);
		}
		next += 1;
	}
	measured
}

fn transfer(to: &[u8; 32]) -> impl Payload {
	subxt::dynamic::tx(
		"Balances",
		"transfer_keep_alive",
		// One TWIN: above the existential deposit, so the first creates the recipient.
		(Dyn::unnamed_variant("Id", [Dyn::from_bytes(to)]), Dyn::u128(1_000_000_000_000)),
	)
}

fn create_twin() -> impl Payload {
	subxt::dynamic::tx(
		"Twins",
		"create",
		(
			Dyn::unnamed_variant("PatientTwin", []),
			Dyn::unnamed_variant("None", []),
			Dyn::unnamed_composite([auth_method("key-1", "Sr25519", &[7; 32])]),
		),
	)
}

/// A compute grant to `grantee` with two purposes and a privacy budget.
fn grant(twin: &[u8; 32], grantee: &[u8; 32]) -> impl Payload {
	let terms = compute_terms(account_grantee(grantee), 1_000_000_000, 0);
	subxt::dynamic::tx("Consent", "grant", (Dyn::from_bytes(twin), terms))
}

/// `count` twins of `patient`, created (and finalized) before measuring.
async fn twins_of(node: &TestNode, patient: &Keypair, count: usize) -> Vec<[u8; 32]> {
	let mut batch = Batch::new(node).await;
	for index in 0..count {
		batch.add(&format!("twin {index}"), &create_twin(), patient).await;
	}
	batch
		.finish()
		.await
		.iter()
		.map(|outcome| created_did(outcome.succeeded()))
		.collect()
}

/// Runs every workload on `node`, one after another.
async fn run_workloads(node: &TestNode, count: usize) -> Vec<Measured> {
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let (alice, charlie, dave) = (dev::alice(), dev::charlie(), dev::dave());
	let recipient = [0x42; 32];

	let twins = twins_of(node, &dave, count.div_ceil(GRANTS_PER_TWIN)).await;
	let transfers: Vec<_> = (0..count).map(|_| transfer(&recipient)).collect();
	let creates: Vec<_> = (0..count).map(|_| create_twin()).collect();
	let grants: Vec<_> = (0..count)
		.map(|index| grant(&twins[index / GRANTS_PER_TWIN], &[(index % 251) as u8; 32]))
		.collect();

	let mut results = Vec::new();
	let signed = presign(node, &alice, &transfers).await;
	results.push(measure(node, "balances.transfer_keep_alive", signed).await);
	let signed = presign(node, &charlie, &creates).await;
	results.push(measure(node, "twins.create", signed).await);
	let signed = presign(node, &dave, &grants).await;
	results.push(measure(node, "consent.grant", signed).await);
	results
}

/// The report's rows for one runtime, each rate also as a ratio of the
/// transfer rate on that runtime.
fn rows(runtime: &str, results: &[Measured]) -> String {
	let baseline = results.first().map_or(f64::NAN, Measured::rate);
	results
		.iter()
		.map(|measured| {
			format!(
				"| {runtime} | `{}` | {} of {} | {} | {} | {:.0} | {:.2} | {:.1?} |\n",
				measured.name,
				measured.included(),
				measured.submitted,
				measured.per_block.len(),
				measured.per_block.iter().max().copied().unwrap_or(0),
				measured.rate(),
				measured.rate() / baseline,
				measured.submitted_in,
			)
		})
		.collect()
}

/// With `TPS_BASELINE_SPEC` (a raw chain spec: the development genesis with
/// another runtime's code, as scripts/bench-tps builds it), the workloads
/// run first on a node of that chain, then on `--dev` with this build's
/// runtime: the same node binary in the same run.
#[tokio::test]
#[ignore = "a benchmark: scripts/bench-tps runs it"]
async fn twinnet_extrinsics_per_block_against_transfers() {
	let count = count();
	let mut report = format!(
		"{count} pre-signed extrinsics per workload, one signer each; {} s slots\n\
		 | runtime | extrinsic | included | blocks | most in a block | per second | × transfer | submitted in |\n\
		 |---|---|---|---|---|---|---|---|\n",
		SLOT.as_secs()
	);
	let mut failed = 0;
	if let Ok(spec) = std::env::var("TPS_BASELINE_SPEC") {
		let node = TestNode::start_with_args(&["--chain", &spec]).await.expect("node starts");
		let results = run_workloads(&node, count).await;
		failed += results.iter().map(|measured| measured.failed).sum::<usize>();
		report.push_str(&rows("baseline", &results));
	}
	let node = TestNode::start().await.expect("node starts");
	let results = run_workloads(&node, count).await;
	failed += results.iter().map(|measured| measured.failed).sum::<usize>();
	report.push_str(&rows("this build", &results));
	println!("{report}");
	// Failed dispatches would be counted as throughput: the report is void.
	assert_eq!(failed, 0, "dispatches failed");
}
