//! End to end: a patient grants compute consent with a privacy budget,
//! the grant shows over `consent_grantsOf`, the patient revokes it, and the
//! RPC shows it revoked.

use crate::common::{account_grantee, compute_terms, did_bytes};
use serde_json::Value;
use twinnet_test_support::{
	subxt::{self, dynamic::Value as Dyn, rpcs::rpc_params},
	subxt_signer::sr25519::dev,
	TestNode,
};

/// The dev chain's sample twin: created at genesis by Alice, as the second
/// DID (`blake2_256(SCALE("did:twin", Alice, 1))`); its DID is listed by
/// `twin_listByController(Alice)`.
async fn alices_twin(node: &TestNode) -> String {
	let alice = dev::alice().public_key().to_account_id().to_string();
	let listed: Value = node
		.rpc("twin_listByController", rpc_params![alice])
		.await
		.expect("twin_listByController");
	let dids = listed.as_array().expect("a list");
	assert_eq!(dids.len(), 1, "Alice controls one DID at genesis: {listed}");
	dids[0].as_str().expect("a DID").to_string()
}

async fn grants_of(node: &TestNode, twin: &str) -> Vec<Value> {
	let grants: Value =
		node.rpc("consent_grantsOf", rpc_params![twin]).await.expect("consent_grantsOf");
	grants.as_array().expect("a list").clone()
}

#[tokio::test]
async fn a_patient_grants_compute_consent_and_revokes_it() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let twin = alices_twin(&node).await;
	let bob = dev::bob().public_key().to_account_id();

	// Epsilon 1.5 (nine decimals), delta 1e-6 (eighteen decimals; the runtime's cap).
	let terms = compute_terms(account_grantee(&bob.0), 1_500_000_000, 1_000_000_000_000);
	let grant = subxt::dynamic::tx("Consent", "grant", (Dyn::from_bytes(did_bytes(&twin)), terms));
	node.submit(&grant, &dev::alice()).await.expect("the grant succeeds");

	let grants = grants_of(&node, &twin).await;
	assert_eq!(grants.len(), 1, "{grants:?}");
	let shown = &grants[0];
	assert_eq!(shown["status"], "active", "{shown}");
	assert_eq!(shown["scope"], "compute");
	assert_eq!(shown["grantee"]["account"], bob.to_string().as_str());
	assert_eq!(shown["purposes"], serde_json::json!(["research", "modelTraining"]));
	assert_eq!(shown["budget"], serde_json::json!({ "epsilon": "1.5", "delta": "0.000001" }));
	assert_eq!(shown["remaining"], shown["budget"]);
	assert_eq!(shown["grantedBy"], "patient");
	let id = shown["id"].as_u64().expect("an id");

	let revoke = subxt::dynamic::tx(
		"Consent",
		"revoke",
		(Dyn::from_bytes(did_bytes(&twin)), Dyn::u128(id.into())),
	);
	node.submit(&revoke, &dev::alice()).await.expect("the revocation succeeds");

	let grants = grants_of(&node, &twin).await;
	assert_eq!(grants[0]["status"], "revoked", "{grants:?}");
	assert!(grants[0]["revokedAt"].as_u64().is_some());

	let usage: Value = node
		.rpc("consent_usageOf", rpc_params![twin.as_str()])
		.await
		.expect("consent_usageOf");
	let events: Vec<&str> = usage["trail"]
		.as_array()
		.expect("trail")
		.iter()
		.filter_map(|u| u["event"].as_str())
		.collect();
	assert_eq!(events, ["granted", "revoked"], "{usage}");
	assert_eq!(usage["budgets"][0]["remaining"]["epsilon"], "1.5");

	let bad: Result<Value, _> = node.rpc("consent_grantsOf", rpc_params!["not-a-did"]).await;
	assert!(bad.is_err(), "a malformed twin is an invalid-params error");
}
