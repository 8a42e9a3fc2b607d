//! End to end: the `federated_*` RPC of the real node answers for jobs that
//! do not exist with the federated RPC's error codes (3001 not found, -32602
//! malformed input) and empty pages. Creating a job needs licensed datasets
//! of consenting twins and report keys: not covered here yet.

use crate::common::*;
use serde_json::{json, Value};
use twinnet_test_support::TestNode;

/// A job id no job has on a fresh dev chain.
const UNKNOWN_JOB: u64 = 999_999;

/// The JSON-RPC error code of `method(params)`, which must fail.
fn error_code(node: &TestNode, method: &str, params: Value) -> i64 {
	let answer = json_rpc(node, method, params);
	answer["error"]["code"]
		.as_i64()
		.unwrap_or_else(|| panic!("{method} should fail: {answer}"))
}

/// The result of `method(params)`, which must succeed.
fn result(node: &TestNode, method: &str, params: Value) -> Value {
	let answer = json_rpc(node, method, params);
	assert!(answer.get("error").is_none(), "{method} should succeed: {answer}");
	answer["result"].clone()
}

#[tokio::test]
async fn federated_rpc_answers_unknown_jobs_with_not_found_and_empty_pages() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");

	// An unknown job, round or model: not found, with what was asked.
	let answer = json_rpc(&node, "federated_job", json!([UNKNOWN_JOB]));
	assert_eq!(answer["error"]["code"], 3001, "{answer}");
	assert_eq!(answer["error"]["data"], json!({ "job": UNKNOWN_JOB }), "{answer}");
	assert_eq!(error_code(&node, "federated_round", json!([UNKNOWN_JOB, 0])), 3001);
	assert_eq!(error_code(&node, "federated_model", json!([UNKNOWN_JOB])), 3001);

	// Malformed input: a DID that is not did:twin base58, a job that is
	// not a number, a page limit outside 1 to 100.
	for bad in ["did:twin:0OIl", "did:web:example.com", ""] {
		assert_eq!(
			error_code(&node, "federated_twinUsage", json!([UNKNOWN_JOB, 0, bad])),
			-32602,
			"{bad}"
		);
	}
	assert_eq!(error_code(&node, "federated_job", json!(["one"])), -32602);
	assert_eq!(error_code(&node, "federated_rounds", json!([UNKNOWN_JOB, null, 0])), -32602);
	assert_eq!(error_code(&node, "federated_rounds", json!([UNKNOWN_JOB, null, 101])), -32602);

	// An unknown job has no rounds, and no twin is in one.
	assert_eq!(
		result(&node, "federated_rounds", json!([UNKNOWN_JOB])),
		json!({ "job": UNKNOWN_JOB, "rounds": [], "next": null })
	);
	assert_eq!(result(&node, "federated_rounds", json!([UNKNOWN_JOB, 5, 10]))["rounds"], json!([]));
	let twin = did_string(&[7; 32]);
	assert_eq!(
		result(&node, "federated_twinUsage", json!([UNKNOWN_JOB, 0, twin])),
		json!({ "job": UNKNOWN_JOB, "round": 0, "twin": twin, "status": "notInRound" })
	);
}
