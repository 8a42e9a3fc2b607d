#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use sp_runtime::AccountId32;
use std::time::{Duration, Instant};
use twinnet_primitives::commitments::{AttestationView, DisputeView, JobRound, MerkleRoot};

#[test]
fn hashes_parse_only_as_0x_and_64_hex_digits() {
	let hash = H256::repeat_byte(0xab);
	assert_eq!(parse_hash(&format!("{hash:?}")).unwrap(), hash);
	let ten_mib = "0".repeat(10 * 1024 * 1024);
	for bad in [
		"",
		"0x",
		"ab".repeat(32).as_str(),
		&format!("0x{}", "g".repeat(64)),
		&format!("0x{}", "a".repeat(63)),
		&format!("0x{}é", "a".repeat(62)),
		&ten_mib,
	] {
		let started = Instant::now();
		let error = parse_hash(bad).unwrap_err();
		assert!(started.elapsed() < Duration::from_millis(10), "{:.20} took too long", bad);
		assert_eq!(error.code(), INVALID_PARAMS);
		assert!(error.data().map_or(0, |d| d.get().len()) < 200, "the error echoes the input");
	}
}

#[test]
fn proofs_round_trip_and_malformed_ones_are_invalid_params() {
	let leaves = twinnet_merkle::leaf_hashes(&[[1u8; 32], [2; 32], [3; 32]]);
	let proof = twinnet_merkle::prove(&leaves, 2).unwrap();
	let param: ProofParam = serde_json::from_value(proof_json(&proof)).unwrap();
	assert_eq!(parse_proof(&param, 3).unwrap(), proof);

	let step = |side: &str| StepParam { sibling: format!("{:?}", H256::zero()), side: side.into() };
	let too_long = ProofParam { leaf_index: 0, leaf_count: None, steps: vec![step("left"); 33] };
	assert_eq!(parse_proof(&too_long, 3).unwrap_err().code(), INVALID_PARAMS);
	let bad_side = ProofParam { leaf_index: 0, leaf_count: None, steps: vec![step("up")] };
	assert_eq!(parse_proof(&bad_side, 3).unwrap_err().code(), INVALID_PARAMS);
	let bad_hash = ProofParam {
		leaf_index: 0,
		leaf_count: None,
		steps: vec![StepParam { sibling: "0x12".into(), side: "left".into() }],
	};
	assert_eq!(parse_proof(&bad_hash, 3).unwrap_err().code(), INVALID_PARAMS);
	assert!(serde_json::from_value::<ProofParam>(
		json!({ "leafIndex": 0, "steps": [], "extra": 1 })
	)
	.is_err());
}

#[test]
fn page_limits_above_the_maximum_are_refused() {
	assert_eq!(page_limit(None).unwrap(), MAX_PAGE);
	assert_eq!(page_limit(Some(5)).unwrap(), 5);
	for bad in [0, MAX_PAGE + 1, u32::MAX] {
		assert_eq!(page_limit(Some(bad)).unwrap_err().code(), INVALID_PARAMS);
	}
}

#[test]
fn commitments_render_with_links_attestations_and_disputes() {
	let account = AccountId32::new([1; 32]);
	let did = DidId::repeat_byte(2);
	let view = CommitmentView::<AccountId32, u32, u128> {
		id: 4,
		kind: CommitmentKind::EvaluationMetric,
		hash: H256::repeat_byte(3),
		merkle: Some(MerkleRoot { root: H256::repeat_byte(4), leaf_count: 2 }),
		leaves_stored: true,
		committer: did,
		account: account.clone(),
		schema: b"metrics/v1".to_vec(),
		inputs: vec![Input::Commitment(1), Input::Dataset(did)],
		job_round: Some(JobRound { job: 7, round: 1 }),
		block: 12,
		status: CommitmentStatus::Disputed(0),
		attestations: vec![AttestationView {
			attester: did,
			statement: Statement::Reproduced,
			submitter: account.clone(),
			block: 13,
		}],
		dispute: Some(DisputeView {
			id: 0,
			disputer: account,
			bond: 10u128.pow(13),
			reason: H256::zero(),
			opened: 14,
			answer: None,
		}),
	};
	let value = commitment_json(&view, Some(1), Some(false));
	assert_eq!(value["kind"], "evaluationMetric");
	assert_eq!(value["hash"], format!("0x{}", "03".repeat(32)));
	assert_eq!(value["merkle"]["leafCount"], 2);
	assert_eq!(value["inputs"], json!([{ "commitment": 1 }, { "dataset": format_did(&did) }]));
	assert_eq!(value["jobRound"], json!({ "job": 7, "round": 1 }));
	assert_eq!(value["madeByChain"], false);
	// A runtime that cannot tell (before API version 3): left out.
	let unknown = commitment_json(&view, None, None);
	assert!(unknown.get("madeByChain").is_none() && unknown.get("attestationCount").is_none());
	assert_eq!(value["attestationCount"], 1);
	assert_eq!(value["status"], "disputed");
	assert_eq!(value["attestations"][0]["statement"], "reproduced");
	assert_eq!(value["dispute"]["bond"], "10000000000000");
	assert!(value["dispute"].get("answer").is_none());
	assert!(value["account"].as_str().unwrap().starts_with('5'));
}

#[test]
fn provenance_nodes_render_commitments_in_brief_and_datasets_by_did() {
	let did = DidId::repeat_byte(2);
	let node = |node, depth, inputs| ProvenanceNode { node, depth, inputs };
	let commitment = (
		node(Input::Commitment(4), 1, vec![Input::Commitment(1), Input::Dataset(did)]),
		Some((CommitmentKind::AggregatedModel, CommitmentStatus::Refuted, 2)),
	);
	assert_eq!(
		provenance_node(&commitment),
		json!({
			"depth": 1,
			"commitment": {
				"id": 4,
				"kind": "aggregatedModel",
				"status": "refuted",
				"attestationCount": 2,
			},
			"inputs": [{ "commitment": 1 }, { "dataset": format_did(&did) }],
		})
	);
	let dataset = (node(Input::Dataset(did), 2, vec![]), None);
	assert_eq!(provenance_node(&dataset), json!({ "depth": 2, "dataset": format_did(&did) }));
}
