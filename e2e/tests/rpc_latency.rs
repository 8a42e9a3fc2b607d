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
//! baseline's p99. Then, on the same node, one request at a time: each
//! call as a raw `state_call` and as its RPC method, the provenance walk at
//! growing depths, and a page of full views, with their answers' sizes
//! (where the time goes: docs/performance.md). `scripts/bench-rpc` runs it
//! and prints both tables.

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

/// A fresh dev node with Bob's institution's snapshot (id 0) and `CHAIN`
/// results each computed from the one before; returns the node and the
/// institution.
async fn node_with_chain() -> (TestNode, [u8; 32]) {
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
	(node, institution)
}

#[tokio::test]
#[ignore = "a benchmark: scripts/bench-rpc runs it"]
async fn commitments_rpc_latency_against_system_health() {
	let (node, institution) = node_with_chain().await;

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
	println!("{}", breakdown(&node, institution).await);
	for (name, p99) in METHODS.iter().zip(&p99s).skip(1) {
		assert!(
			p99.as_secs_f64() <= GOAL * p99s[0].as_secs_f64(),
			"{name}: p99 {p99:?} is over {GOAL}× the baseline's\n{report}"
		);
	}
}

fn hex(bytes: &[u8]) -> String {
	let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
	format!("0x{digits}")
}

/// One request `n` times in a row: its p50 and the length of its answer (the
/// JSON-RPC `result`, without the envelope).
async fn time_of(rpc: &RpcClient, method: &str, params: Vec<Value>, n: usize) -> (Duration, usize) {
	let mut times = Vec::with_capacity(n);
	let mut size = 0;
	for _ in 0..n {
		let mut p = rpc_params![];
		for v in &params {
			p.push(v.clone()).expect("a parameter");
		}
		let start = Instant::now();
		let answer: Value = rpc.request(method, p).await.expect("the method answers");
		times.push(start.elapsed());
		size = answer.to_string().len();
	}
	times.sort_unstable();
	(percentile(&times, 500), size)
}

/// Where a request's time goes, one request at a time on one connection:
/// the same call as a raw `state_call` (the runtime call alone, SCALE in
/// hex, no JSON building) and as the RPC method, and the provenance walk at
/// growing depths, each with its answer's size. Returns a table of p50s.
async fn breakdown(node: &TestNode, institution: [u8; 32]) -> String {
	let rpc = RpcClient::from_insecure_url(node.ws_url())
		.await
		.expect("a WebSocket connection");
	let n = 100;
	let state_call = |name: &str, data: Vec<u8>| vec![Value::from(name), Value::from(hex(&data))];
	let last = CHAIN.to_le_bytes().to_vec();
	let mut by_committer = institution.to_vec();
	by_committer.push(0);
	by_committer.extend(100u32.to_le_bytes());
	let mut rows: Vec<(String, &str, Vec<Value>)> = vec![
		("system_health".into(), "system_health", vec![]),
		(
			"`state_getStorage` of `System.Number` (one read, no runtime)".into(),
			"state_getStorage",
			// twox128("System") ++ twox128("Number")
			vec![Value::from("0x26aa394eea5630e07c48ae0c9558cef702a5c1b19ab7a04f536c519aca4983ac")],
		),
		(
			"`state_call` `Core_version` (a runtime call, no read)".into(),
			"state_call",
			state_call("Core_version", vec![]),
		),
		(
			"`state_call` `CommitmentsApi_leaves` (one read of nothing)".into(),
			"state_call",
			state_call("CommitmentsApi_leaves", last.clone()),
		),
		(
			"`state_call` `CommitmentsApi_commitment`".into(),
			"state_call",
			state_call("CommitmentsApi_commitment", last.clone()),
		),
		("`commitments_get`".into(), "commitments_get", vec![Value::from(CHAIN)]),
		(
			format!("`state_call` `CommitmentsApi_by_committer` ({} ids)", CHAIN + 1),
			"state_call",
			state_call("CommitmentsApi_by_committer", by_committer),
		),
		(
			format!("`commitments_byCommitter` ({} full views)", CHAIN + 1),
			"commitments_byCommitter",
			vec![Value::from(did_string(&institution))],
		),
	];
	for depth in [0u32, 1, 2, 4, 8, 16, 32] {
		let mut data = last.clone();
		data.extend(depth.to_le_bytes());
		rows.push((
			format!("`state_call` `CommitmentsApi_provenance`, depth {depth}"),
			"state_call",
			state_call("CommitmentsApi_provenance", data),
		));
		rows.push((
			format!("`commitments_provenance`, depth {depth}"),
			"commitments_provenance",
			vec![Value::from(CHAIN), Value::from(depth)],
		));
	}
	let mut report = format!(
		"one client, {n} requests each, one at a time\n| request | p50 | answer bytes |\n|---|---|---|\n"
	);
	for (label, method, params) in rows {
		let (p50, size) = time_of(&rpc, method, params, n).await;
		report.push_str(&format!("| {label} | {p50:.2?} | {size} |\n"));
	}
	report
}
