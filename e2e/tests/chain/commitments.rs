//! End to end: result commitments and the auditor's RPC, on a dev node.
//!
//! Bob's genesis institution commits a snapshot of a dataset (with its
//! Merkle leaves on chain) and an evaluation metric computed from it; a
//! second institution (Charlie's) attests the snapshot with a signature of
//! its DID's assertion key; Eve disputes the metric, Bob answers with a
//! reproduction, and sudo rejects the dispute (Eve's bond is burnt). An
//! auditor then follows the metric's provenance back to the dataset, checks
//! a leaf's inclusion proof both over RPC and locally with `twinnet-merkle`,
//! and gets JSON-RPC errors, not crashes, for malformed requests.

use crate::common::*;
use serde_json::{json, Value};
use twinnet_test_support::{
	free_balance,
	subxt::{self, dynamic::Value as Dyn, ext::scale_decode::DecodeAsType, rpcs::rpc_params},
	subxt_signer::sr25519::{dev, Keypair},
	TestNode,
};

/// The runtime's dispute bond: 100 TWIN.
const DISPUTE_BOND: u128 = 100 * 1_000_000_000_000;
/// The leaves of the snapshot's Merkle tree: five records' hashes.
const LEAVES: [[u8; 32]; 5] = [[1; 32], [2; 32], [3; 32], [4; 32], [5; 32]];

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct Committed {
	id: u64,
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct Disputed {
	dispute: u64,
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn some(value: Dyn) -> Dyn {
	Dyn::unnamed_variant("Some", [value])
}

fn none() -> Dyn {
	Dyn::unnamed_variant("None", [])
}

fn dataset_input(did: &[u8; 32]) -> Dyn {
	Dyn::unnamed_variant("Dataset", [Dyn::from_bytes(did)])
}

fn commitment_input(id: u64) -> Dyn {
	Dyn::unnamed_variant("Commitment", [Dyn::u128(id.into())])
}

/// `Commitments.commit` as `committer`, without a job round.
fn commit(
	committer: &[u8; 32],
	kind: &str,
	hash: [u8; 32],
	merkle: Dyn,
	schema: &str,
	inputs: Vec<Dyn>,
) -> impl subxt::transactions::Payload {
	subxt::dynamic::tx(
		"Commitments",
		"commit",
		(
			Dyn::from_bytes(committer),
			Dyn::unnamed_variant(kind, []),
			Dyn::from_bytes(hash),
			merkle,
			Dyn::from_bytes(schema),
			Dyn::unnamed_composite(inputs),
			none(),
		),
	)
}

/// The message an attester signs, encoded here from its documented layout
/// (`twinnet/attestation:` ‖ SCALE(genesis, id, hash, attester, statement)),
/// not with the runtime's code.
fn attestation_message(
	genesis: &[u8; 32],
	id: u64,
	hash: &[u8; 32],
	attester: &[u8; 32],
) -> Vec<u8> {
	let reproduced = 0u8;
	[b"twinnet/attestation:".as_slice(), genesis, &id.to_le_bytes(), hash, attester, &[reproduced]]
		.concat()
}

fn attest(
	id: u64,
	attester: &[u8; 32],
	signer: &Keypair,
	message: &[u8],
) -> impl subxt::transactions::Payload {
	subxt::dynamic::tx(
		"Commitments",
		"attest",
		(
			Dyn::u128(id.into()),
			Dyn::from_bytes(attester),
			Dyn::unnamed_variant("Reproduced", []),
			Dyn::unnamed_variant("Sr25519", [Dyn::from_bytes(signer.sign(message).0)]),
		),
	)
}

fn decode_hash(value: &Value) -> [u8; 32] {
	let text = value.as_str().and_then(|h| h.strip_prefix("0x")).expect("a 0x hash");
	let bytes: Vec<u8> = (0..text.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
		.collect();
	bytes.try_into().expect("32 bytes")
}

async fn commitment(node: &TestNode, id: u64) -> Value {
	node.rpc("commitments_get", rpc_params![id])
		.await
		.expect("commitments_get answers")
}

/// The JSON-RPC error code of `method(params)`, which must fail.
fn error_code(node: &TestNode, method: &str, params: Value) -> i64 {
	let answer = json_rpc(node, method, params);
	answer["error"]["code"]
		.as_i64()
		.unwrap_or_else(|| panic!("{method} should fail: {answer}"))
}

#[tokio::test]
async fn an_auditor_follows_a_metric_to_its_dataset_and_checks_a_leaf() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let (alice, bob, charlie, dave, eve) =
		(dev::alice(), dev::bob(), dev::charlie(), dev::dave(), dev::eve());
	let institution = controlled_of_kind(&node, &ss58(&bob), "Institution").await;

	// Bob registers a dataset DID; Charlie registers an institution whose
	// key-1 (his sr25519 key) may make assertions.
	let charlie_method = Dyn::named_composite([
		("fragment", Dyn::from_bytes("key-1")),
		("key", Dyn::unnamed_variant("Sr25519", [Dyn::from_bytes(charlie.public_key().0)])),
		(
			"relationships",
			Dyn::named_composite([
				("authentication", Dyn::bool(true)),
				("assertion_method", Dyn::bool(true)),
				("capability_delegation", Dyn::bool(false)),
				("key_agreement", Dyn::bool(false)),
				("capability_invocation", Dyn::bool(false)),
			]),
		),
	]);
	let create = |kind: &str, method: Dyn| {
		subxt::dynamic::tx(
			"Twins",
			"create",
			(Dyn::unnamed_variant(kind, []), none(), Dyn::unnamed_composite([method])),
		)
	};
	let mut batch = Batch::new(&node).await;
	batch
		.add(
			"Bob's dataset DID",
			&create("Dataset", auth_method("key-1", "Sr25519", &[31; 32])),
			&bob,
		)
		.await;
	batch
		.add("Charlie's institution", &create("Institution", charlie_method), &charlie)
		.await;
	let created = batch.finish().await;
	let dataset = created_did(created[0].succeeded());
	let attester = created_did(created[1].succeeded());

	// The snapshot of the dataset, with its leaves stored on chain.
	let snapshot_hash = [0x5a; 32];
	let leaves = Dyn::unnamed_composite(LEAVES.iter().map(Dyn::from_bytes));
	let snapshot = commit(
		&institution,
		"DatasetSnapshot",
		snapshot_hash,
		some(Dyn::unnamed_variant("Leaves", [leaves])),
		"nwb-2.7",
		vec![dataset_input(&dataset)],
	);
	let committed = submit(&node, "Bob's snapshot", &snapshot, &bob).await;
	let snapshot_id = event_fields::<Committed>(committed.succeeded(), "Commitments::Committed").id;

	// The metric, computed from the snapshot; a snapshot may not be of a
	// commitment, and links must exist.
	let metric_hash = [0xe7; 32];
	let metric = commit(
		&institution,
		"EvaluationMetric",
		metric_hash,
		none(),
		"json",
		vec![commitment_input(snapshot_id)],
	);
	let bad_snapshot = commit(
		&institution,
		"DatasetSnapshot",
		[9; 32],
		none(),
		"nwb-2.7",
		vec![commitment_input(snapshot_id)],
	);
	let dangling = commit(
		&institution,
		"EvaluationMetric",
		[8; 32],
		none(),
		"json",
		vec![commitment_input(1_000)],
	);
	let strangers = commit(
		&institution,
		"EvaluationMetric",
		[7; 32],
		none(),
		"json",
		vec![commitment_input(snapshot_id)],
	);
	let mut batch = Batch::new(&node).await;
	batch.add("Bob's metric", &metric, &bob).await;
	batch.add("a snapshot of a commitment", &bad_snapshot, &bob).await;
	batch.add("a link to nothing", &dangling, &bob).await;
	batch.add("Dave commits as Bob's institution", &strangers, &dave).await;
	let outcomes = batch.finish().await;
	let metric_id = event_fields::<Committed>(outcomes[0].succeeded(), "Commitments::Committed").id;
	assert_eq!(outcomes[1].failed(), "Commitments::SnapshotOfNonDataset");
	assert_eq!(outcomes[2].failed(), "Commitments::UnknownInput");
	assert_eq!(outcomes[3].failed(), "Commitments::NotAuthorized");

	// Charlie's institution attests the snapshot; Dave submits the signed
	// statement. A signature by another key, or Bob attesting his own
	// commitment, is refused. Eve disputes the metric.
	let genesis_hex: Value =
		node.rpc("chain_getBlockHash", rpc_params![0]).await.expect("the genesis hash");
	let genesis = decode_hash(&genesis_hex);
	let message = attestation_message(&genesis, snapshot_id, &snapshot_hash, &attester);
	let own_message = attestation_message(&genesis, snapshot_id, &snapshot_hash, &institution);
	let reason = [0xd1; 32];
	let dispute = subxt::dynamic::tx(
		"Commitments",
		"dispute",
		(Dyn::u128(metric_id.into()), Dyn::from_bytes(reason)),
	);
	let eve_before = free_balance(&node.client(), outcomes[0].block, &account(&eve))
		.await
		.expect("Eve's balance");
	let mut batch = Batch::new(&node).await;
	batch
		.add("Charlie's attestation", &attest(snapshot_id, &attester, &charlie, &message), &dave)
		.await;
	batch
		.add("an attestation signed by Eve", &attest(metric_id, &attester, &eve, &message), &dave)
		.await;
	batch
		.add("Bob attests himself", &attest(snapshot_id, &institution, &bob, &own_message), &bob)
		.await;
	batch.add("Eve's dispute", &dispute, &eve).await;
	let outcomes = batch.finish().await;
	assert!(has_event(outcomes[0].succeeded(), "Commitments::Attested"));
	assert_eq!(outcomes[1].failed(), "Commitments::BadSignature");
	assert_eq!(outcomes[2].failed(), "Commitments::SelfAttestation");
	let dispute_id =
		event_fields::<Disputed>(outcomes[3].succeeded(), "Commitments::Disputed").dispute;
	let attested = commitment(&node, snapshot_id).await;
	assert_eq!(
		attested["attestations"],
		json!([{
			"attester": did_string(&attester),
			"statement": "reproduced",
			"submitter": ss58(&dave),
			"block": attested["attestations"][0]["block"],
		}]),
		"{attested}"
	);
	assert_eq!(attested["attestationCount"], 1, "{attested}");
	// An auditor looks up the institution it trusts by DID, or pages.
	let lookup = |attester: &[u8; 32]| {
		node.rpc("commitments_attestation", rpc_params![snapshot_id, did_string(attester)])
	};
	assert_eq!(lookup(&attester).await.expect("an attestation"), attested["attestations"][0]);
	assert_eq!(lookup(&institution).await.expect("no attestation"), Value::Null);
	let page: Value = node
		.rpc("commitments_attestations", rpc_params![snapshot_id, None::<String>, 1])
		.await
		.expect("a page");
	assert_eq!(page["attestations"], attested["attestations"], "{page}");
	assert_eq!(page["next"], did_string(&attester).as_str(), "{page}");
	let rest: Value = node
		.rpc("commitments_attestations", rpc_params![snapshot_id, did_string(&attester), 1])
		.await
		.expect("the next page");
	assert_eq!(rest, json!({ "commitment": snapshot_id, "attestations": [], "next": null }));
	let disputed = commitment(&node, metric_id).await;
	assert_eq!(disputed["status"], "disputed", "{disputed}");
	assert_eq!(disputed["dispute"]["disputer"], ss58(&eve).as_str());
	assert_eq!(disputed["dispute"]["bond"], DISPUTE_BOND.to_string().as_str());
	assert_eq!(disputed["dispute"]["reason"], hex(&reason).as_str());

	// Bob answers with a reproduction of the metric; only root resolves.
	let reproduction = commit(
		&institution,
		"Reproduction",
		metric_hash,
		none(),
		"json",
		vec![commitment_input(metric_id)],
	);
	let committed = submit(&node, "Bob's reproduction", &reproduction, &bob).await;
	let counter = event_fields::<Committed>(committed.succeeded(), "Commitments::Committed").id;
	let answer = subxt::dynamic::tx(
		"Commitments",
		"answer",
		(Dyn::u128(dispute_id.into()), Dyn::u128(counter.into())),
	);
	assert!(has_event(
		submit(&node, "Bob's answer", &answer, &bob).await.succeeded(),
		"Commitments::Answered"
	));
	let resolve = || {
		Dyn::named_variant(
			"resolve",
			[
				("dispute", Dyn::u128(dispute_id.into())),
				("verdict", Dyn::unnamed_variant("Rejected", [])),
			],
		)
	};
	let direct = subxt::dynamic::tx(
		"Commitments",
		"resolve",
		(Dyn::u128(dispute_id.into()), Dyn::unnamed_variant("Rejected", [])),
	);
	let as_root =
		subxt::dynamic::tx("Sudo", "sudo", (Dyn::unnamed_variant("Commitments", [resolve()]),));
	let mut batch = Batch::new(&node).await;
	batch.add("Eve resolves her own dispute", &direct, &eve).await;
	batch.add("sudo rejects the dispute", &as_root, &alice).await;
	let outcomes = batch.finish().await;
	assert_eq!(outcomes[0].failed(), "Bad origin.");
	assert!(has_event(outcomes[1].succeeded(), "Commitments::DisputeResolved"));
	let resolved = commitment(&node, metric_id).await;
	assert_eq!(resolved["status"], "standing", "{resolved}");
	assert!(resolved.get("dispute").is_none(), "{resolved}");
	let eve_after = free_balance(&node.client(), outcomes[1].block, &account(&eve))
		.await
		.expect("Eve's balance");
	assert!(
		eve_before - eve_after >= DISPUTE_BOND,
		"the bond is burnt: {eve_before} → {eve_after}"
	);
	assert_eq!(
		reserved(&node, outcomes[1].block, &account(&eve)).await,
		0,
		"nothing of Eve's stays held"
	);

	// Provenance: the reproduction, the metric, the snapshot, the dataset.
	let provenance: Value = node
		.rpc("commitments_provenance", rpc_params![counter])
		.await
		.expect("commitments_provenance answers");
	let nodes = provenance["nodes"].as_array().expect("nodes");
	let path: Vec<(u64, Value)> = nodes
		.iter()
		.map(|n| {
			let what = if n["commitment"].is_object() {
				n["commitment"]["id"].clone()
			} else {
				n["dataset"].clone()
			};
			(n["depth"].as_u64().expect("a depth"), what)
		})
		.collect();
	assert_eq!(
		path,
		vec![
			(0, json!(counter)),
			(1, json!(metric_id)),
			(2, json!(snapshot_id)),
			(3, json!(did_string(&dataset))),
		],
		"{provenance}"
	);
	assert_eq!(provenance["truncated"], false);
	// Each commitment in brief; the auditor opens the ones to check with commitments_get.
	assert_eq!(
		nodes[2],
		json!({
			"depth": 2,
			"commitment": {
				"id": snapshot_id,
				"kind": "datasetSnapshot",
				"status": "standing",
				"attestationCount": 1,
			},
			"inputs": [{ "dataset": did_string(&dataset) }],
		}),
		"{provenance}"
	);
	assert_eq!(nodes[1]["commitment"]["kind"], "evaluationMetric", "{provenance}");
	assert_eq!(nodes[1]["commitment"]["status"], "standing", "the dispute was rejected");
	assert_eq!(nodes[0]["inputs"], json!([{ "commitment": metric_id }]), "{provenance}");
	let opened = nodes[2]["commitment"]["id"].as_u64().expect("an id");
	assert_eq!(commitment(&node, opened).await["hash"], hex(&snapshot_hash).as_str());
	let shallow: Value = node
		.rpc("commitments_provenance", rpc_params![counter, 1])
		.await
		.expect("commitments_provenance answers");
	assert_eq!(shallow["nodes"].as_array().map(Vec::len), Some(2), "{shallow}");

	// Inclusion: the chain's root is the one the auditor computes from the
	// leaves, and the served proof of leaf 3 verifies locally and over RPC.
	let root = decode_hash(&commitment(&node, snapshot_id).await["merkle"]["root"]);
	assert_eq!(Some(root), twinnet_merkle::root(&LEAVES));
	let proved: Value = node
		.rpc("commitments_prove", rpc_params![snapshot_id, 3])
		.await
		.expect("commitments_prove");
	assert_eq!(proved["leaf"], hex(&LEAVES[3]).as_str());
	let proof = &proved["proof"];
	let local_proof =
		twinnet_merkle::prove(&twinnet_merkle::leaf_hashes(&LEAVES), 3).expect("a proof of leaf 3");
	assert_eq!(proof["steps"].as_array().map(Vec::len), Some(local_proof.steps.len()), "{proved}");
	for (served, local) in proof["steps"].as_array().unwrap().iter().zip(&local_proof.steps) {
		assert_eq!(decode_hash(&served["sibling"]), local.sibling, "{proved}");
	}
	assert_eq!(
		twinnet_merkle::verify(&root, &twinnet_merkle::leaf_hash(&LEAVES[3]), &local_proof),
		Ok(())
	);
	let verified: Value = node
		.rpc(
			"commitments_verifyInclusion",
			rpc_params![snapshot_id, hex(&LEAVES[3]), proof.clone()],
		)
		.await
		.expect("commitments_verifyInclusion");
	assert_eq!(verified["valid"], true, "{verified}");
	let forged: Value = node
		.rpc("commitments_verifyInclusion", rpc_params![snapshot_id, hex(&[6; 32]), proof.clone()])
		.await
		.expect("commitments_verifyInclusion");
	assert_eq!(forged["valid"], false, "{forged}");

	// Malformed or impossible requests are JSON-RPC errors, and the node
	// keeps serving.
	assert_eq!(error_code(&node, "commitments_get", json!([999_999])), 1001);
	assert_eq!(error_code(&node, "commitments_get", json!(["zero"])), -32602);
	assert_eq!(error_code(&node, "commitments_prove", json!([metric_id, 0])), 1002);
	assert_eq!(error_code(&node, "commitments_prove", json!([snapshot_id, 5])), 1004);
	assert_eq!(error_code(&node, "commitments_provenance", json!([counter, 33])), -32602);
	assert_eq!(
		error_code(&node, "commitments_verifyInclusion", json!([snapshot_id, "0x12", proof])),
		-32602
	);
	let no_steps = json!({ "leafIndex": 3, "steps": "none" });
	assert_eq!(
		error_code(
			&node,
			"commitments_verifyInclusion",
			json!([snapshot_id, hex(&LEAVES[3]), no_steps])
		),
		-32602
	);
	assert_eq!(
		error_code(&node, "commitments_byCommitter", json!(["did:twin:0OIl", null, 10])),
		-32602
	);
	let listed = json_rpc(&node, "commitments_byCommitter", json!([did_string(&institution)]));
	// A page in storage order (hashed keys), not by id.
	let mut ids: Vec<u64> = listed["result"]
		.as_array()
		.expect("the node still answers")
		.iter()
		.map(|c| c["id"].as_u64().expect("an id"))
		.collect();
	ids.sort_unstable();
	assert_eq!(ids, [snapshot_id, metric_id, counter], "{listed}");
}
