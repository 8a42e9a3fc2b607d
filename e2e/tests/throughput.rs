//! Benchmark: how many of TwinNet's own extrinsics a block carries compared
//! with a plain transfer, on the same node in the same run.
//!
//! For each workload, `COUNT` extrinsics are signed in advance by one
//! account (nonces counted up, immortal), then submitted as fast as the
//! node takes them; the blocks that follow are read until all of them are
//! in, and each block's signed extrinsics and failed dispatches are counted
//! from its body and events. Reported per workload: blocks used, the most in
//! one block, and extrinsics per second over the blocks used (at the
//! runtime's 6 s slot), with each rate as a ratio of the transfer rate,
//! and what ended the fullest block's authoring (from the node's log: the
//! block weight limit, the authoring deadline, or an empty pool) and how
//! long it took. `scripts/bench-tps` runs it and prints the table; `COUNT`
//! is overridden by `TPS_COUNT`.

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
	/// (block number, signed extrinsics in it), from the first block that
	/// held one of the workload's.
	per_block: Vec<(u64, usize)>,
	failed: usize,
	submitted_in: Duration,
	/// How the node authored the fullest block.
	fullest: Option<Authored>,
}

/// How the node authored a block, from its `Prepared block for proposing`
/// log line.
#[derive(Debug, PartialEq)]
struct Authored {
	/// Milliseconds spent building it.
	took_ms: u64,
	/// Why authoring stopped: `HitBlockWeightLimit`, `HitDeadline`,
	/// `HitBlockSizeLimit` or `NoMoreTransactions`.
	end: String,
}

/// How block `number` was authored, if `log` says.
fn authored(log: &str, number: u64) -> Option<Authored> {
	let prefix = format!("Prepared block for proposing at {number} (");
	let line = log.lines().find_map(|line| line.split_once(&prefix))?.1;
	let took_ms = line.split_once(" ms)")?.0.parse().ok()?;
	let end = line.split_once("end: ")?.1.split(';').next()?.trim().to_string();
	Some(Authored { took_ms, end })
}

impl Measured {
	fn included(&self) -> usize {
		self.per_block.iter().map(|(_, count)| count).sum()
	}

	fn most_in_a_block(&self) -> usize {
		self.per_block.iter().map(|(_, count)| *count).max().unwrap_or(0)
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

	let mut measured = Measured {
		name,
		submitted: total,
		per_block: Vec::new(),
		failed: 0,
		submitted_in,
		fullest: None,
	};
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
			measured.per_block.push((next, signed));
		}
		next += 1;
	}
	let fullest = measured.per_block.iter().max_by_key(|(_, count)| *count).map(|(n, _)| *n);
	measured.fullest = fullest.and_then(|number| authored(&node.log(), number));
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

/// A dataset snapshot commitment of `dataset` by `institution`, of `hash`.
fn snapshot(institution: &[u8; 32], dataset: &[u8; 32], hash: [u8; 32]) -> impl Payload {
	let input = Dyn::unnamed_variant("Dataset", [Dyn::from_bytes(dataset)]);
	commit(institution, "DatasetSnapshot", hash, input)
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
	let (alice, bob, charlie, dave) = (dev::alice(), dev::bob(), dev::charlie(), dev::dave());
	let recipient = [0x42; 32];
	// The development genesis: Bob controls the sample institution and dataset.
	let institution = controlled_of_kind(node, &ss58(&bob), "Institution").await;
	let dataset = controlled_of_kind(node, &ss58(&bob), "Dataset").await;

	let twins = twins_of(node, &dave, count.div_ceil(GRANTS_PER_TWIN)).await;
	let transfers: Vec<_> = (0..count).map(|_| transfer(&recipient)).collect();
	let creates: Vec<_> = (0..count).map(|_| create_twin()).collect();
	let grants: Vec<_> = (0..count)
		.map(|index| grant(&twins[index / GRANTS_PER_TWIN], &[(index % 251) as u8; 32]))
		.collect();
	let commits: Vec<_> = (0..count as u64)
		.map(|index| {
			let mut hash = [0xc0; 32];
			hash[..8].copy_from_slice(&index.to_le_bytes());
			snapshot(&institution, &dataset, hash)
		})
		.collect();

	let mut results = Vec::new();
	let signed = presign(node, &alice, &transfers).await;
	results.push(measure(node, "balances.transfer_keep_alive", signed).await);
	let signed = presign(node, &charlie, &creates).await;
	results.push(measure(node, "twins.create", signed).await);
	let signed = presign(node, &dave, &grants).await;
	results.push(measure(node, "consent.grant", signed).await);
	let signed = presign(node, &bob, &commits).await;
	results.push(measure(node, "commitments.commit", signed).await);
	results
}

/// The report's rows for one runtime, each rate also as a ratio of the
/// transfer rate on that runtime.
fn rows(runtime: &str, results: &[Measured]) -> String {
	let baseline = results.first().map_or(f64::NAN, Measured::rate);
	results
		.iter()
		.map(|measured| {
			let (took, end) = measured
				.fullest
				.as_ref()
				.map_or(("?".to_string(), "?"), |a| (a.took_ms.to_string(), a.end.as_str()));
			format!(
				"| {runtime} | `{}` | {} of {} | {} | {} | {:.0} | {:.2} | {:.1?} | {took} ms, {end} |\n",
				measured.name,
				measured.included(),
				measured.submitted,
				measured.per_block.len(),
				measured.most_in_a_block(),
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
		 | runtime | extrinsic | included | blocks | most in a block | per second | × transfer | submitted in | fullest block authored in |\n\
		 |---|---|---|---|---|---|---|---|---|\n",
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

#[test]
fn the_authoring_of_a_block_is_read_from_the_log() {
	let log = "2026-12-05 01:02:03 🎁 Prepared block for proposing at 7 (1234 ms) hash: 0xab; \
	           parent_hash: 0xcd; end: HitBlockWeightLimit; extrinsics_count: 1500\n\
	           2026-12-05 01:02:09 🎁 Prepared block for proposing at 8 (3 ms) hash: 0xef; \
	           parent_hash: 0xab; end: NoMoreTransactions; extrinsics_count: 1";
	assert_eq!(
		authored(log, 7),
		Some(Authored { took_ms: 1234, end: "HitBlockWeightLimit".into() })
	);
	assert_eq!(authored(log, 8), Some(Authored { took_ms: 3, end: "NoMoreTransactions".into() }));
	assert_eq!(authored(log, 70), None);
}
