//! Benchmark: the auditor's RPC under load, against a baseline on the same
//! node in the same run.
//!
//! Bob's institution commits a dataset snapshot and a chain of 31 results,
//! each computed from the one before (a provenance of 33 nodes, one short
//! of the RPC's depth limit). Then `WORKERS` clients, each on its own
//! WebSocket connection, send `REQUESTS` requests each, cycling through
//! `system_health` (the baseline: no state read), `commitments_get` of the
//! last result, and `commitments_provenance` of it, so the three share the
//! same moments of machine noise. Reported: p50 and p99 latency of each; the
//! test fails if a commitments method's p99 exceeds `GOAL` times the
//! baseline's p99. `scripts/bench-rpc` runs it and prints the table.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use twinnet_test_support::{
	subxt::{
		self,
		dynamic::Value as Dyn,
		ext::futures::future::join_all,
		rpcs::{rpc_params, RpcClient},
	},
	subxt_signer::sr25519::dev,
	TestNode,
};

/// Concurrent clients.
const WORKERS: usize = 4;
/// Requests per client (a third to each method).
const REQUESTS: usize = 900;
/// Commitments in the chain after the snapshot.
const CHAIN: u64 = 31;
/// The most a commitments method's p99 may be, as a multiple of the baseline's.
const GOAL: f64 = 2.0;

const METHODS: [&str; 3] = ["system_health", "commitments_get", "commitments_provenance"];

fn commit(
	committer: &[u8; 32],
	kind: &str,
	hash: [u8; 32],
	input: Dyn,
) -> impl subxt::transactions::Payload {
	subxt::dynamic::tx(
		"Commitments",
		"commit",
		(
			Dyn::from_bytes(committer),
			Dyn::unnamed_variant(kind, []),
			Dyn::from_bytes(hash),
			Dyn::unnamed_variant("None", []),
			Dyn::from_bytes("json"),
			Dyn::unnamed_composite([input]),
			Dyn::unnamed_variant("None", []),
		),
	)
}

fn percentile(sorted: &[Duration], per_mille: usize) -> Duration {
	sorted[(sorted.len() * per_mille / 1000).min(sorted.len() - 1)]
}

/// One client's latencies, per method.
async fn worker(url: String, last: u64) -> [Vec<Duration>; 3] {
	let rpc = RpcClient::from_insecure_url(url).await.expect("a WebSocket connection");
	let mut times: [Vec<Duration>; 3] = Default::default();
	for request in 0..REQUESTS {
		let method = request % METHODS.len();
		let params = match method {
			0 => rpc_params![],
			_ => rpc_params![last],
		};
		let start = Instant::now();
		let answer: Value = rpc.request(METHODS[method], params).await.expect("the method answers");
		times[method].push(start.elapsed());
		assert!(answer.is_object(), "{}: {answer}", METHODS[method]);
	}
	times
}

#[tokio::test]
#[ignore = "a benchmark: scripts/bench-rpc runs it"]
async fn commitments_rpc_latency_against_system_health() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let bob = dev::bob();
	let institution = controlled_of_kind(&node, &ss58(&bob), "Institution").await;
	let create = subxt::dynamic::tx(
		"Twins",
		"create",
		(
			Dyn::unnamed_variant("Dataset", []),
			Dyn::unnamed_variant("None", []),
			Dyn::unnamed_composite([auth_method("key-1", "Sr25519", &[41; 32])]),
		),
	);
	let dataset = created_did(submit(&node, "the dataset DID", &create, &bob).await.succeeded());

	// Ids start at 0 on a fresh chain: the snapshot is 0, result i links i - 1.
	let mut batch = Batch::new(&node).await;
	let snapshot = commit(
		&institution,
		"DatasetSnapshot",
		[1; 32],
		Dyn::unnamed_variant("Dataset", [Dyn::from_bytes(dataset)]),
	);
	batch.add("the snapshot", &snapshot, &bob).await;
	for id in 1..=CHAIN {
		let input = Dyn::unnamed_variant("Commitment", [Dyn::u128(u128::from(id - 1))]);
		batch
			.add(
				&format!("result {id}"),
				&commit(&institution, "EvaluationMetric", [2; 32], input),
				&bob,
			)
			.await;
	}
	for outcome in batch.finish().await {
		outcome.succeeded();
	}
	let provenance: Value = node
		.rpc("commitments_provenance", rpc_params![CHAIN])
		.await
		.expect("commitments_provenance answers");
	assert_eq!(
		provenance["nodes"].as_array().map(Vec::len),
		Some(CHAIN as usize + 2),
		"{provenance}"
	);

	let runs = join_all((0..WORKERS).map(|_| worker(node.ws_url(), CHAIN))).await;
	let mut report = format!(
		"{WORKERS} clients × {REQUESTS} requests, methods interleaved; provenance of {} nodes\n\
		 | method | p50 | p99 | p99 / baseline p99 |\n|---|---|---|---|\n",
		CHAIN + 2
	);
	let mut p99s = Vec::new();
	for (method, name) in METHODS.iter().enumerate() {
		let mut times: Vec<Duration> =
			runs.iter().flat_map(|run| run[method].iter().copied()).collect();
		times.sort_unstable();
		let (p50, p99) = (percentile(&times, 500), percentile(&times, 990));
		p99s.push(p99);
		let ratio = p99.as_secs_f64() / p99s[0].as_secs_f64();
		report.push_str(&format!("| `{name}` | {p50:.2?} | {p99:.2?} | {ratio:.2} |\n"));
	}
	println!("{report}");
	for (name, p99) in METHODS.iter().zip(&p99s).skip(1) {
		assert!(
			p99.as_secs_f64() <= GOAL * p99s[0].as_secs_f64(),
			"{name}: p99 {p99:?} is over {GOAL}× the baseline's\n{report}"
		);
	}
}
