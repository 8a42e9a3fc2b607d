//! End to end: DID lifecycle on a dev node, resolved over `twin_resolveDid`.

use crate::common::{auth_method, did_string};
use serde_json::Value;
use twinnet_test_support::{
	subxt::{
		self,
		dynamic::Value as Dyn,
		ext::scale_decode::{self, DecodeAsType},
		rpcs::rpc_params,
	},
	subxt_signer::sr25519::dev,
	TestNode,
};

/// The `DidCreated` event's identifier.
#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct DidCreated {
	did: [u8; 32],
}

fn multibase(prefix: [u8; 2], key: &[u8]) -> String {
	let mut bytes = prefix.to_vec();
	bytes.extend_from_slice(key);
	format!("z{}", bs58::encode(bytes).into_string())
}

async fn resolve(node: &TestNode, did: &str) -> Value {
	node.rpc("twin_resolveDid", rpc_params![did])
		.await
		.expect("twin_resolveDid answers")
}

#[tokio::test]
async fn a_twin_did_is_created_resolved_rotated_and_deactivated() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let alice = dev::alice();
	let first_key = [7u8; 32];

	let create = subxt::dynamic::tx(
		"Twins",
		"create",
		(
			Dyn::unnamed_variant("PatientTwin", []),
			Dyn::unnamed_variant("None", []),
			Dyn::unnamed_composite([auth_method("key-1", "Sr25519", &first_key)]),
		),
	);
	let events = node.submit(&create, &alice).await.expect("create succeeds");
	let created = events
		.iter()
		.filter_map(Result::ok)
		.find(|e| e.pallet_name() == "Twins" && e.event_name() == "DidCreated")
		.expect("a DidCreated event")
		.decode_fields_unchecked_as::<DidCreated>()
		.expect("DidCreated decodes");
	let did = did_string(&created.did);

	// Resolve: the document names the key, its relationship and the controller.
	let result = resolve(&node, &did).await;
	let document = &result["didDocument"];
	assert_eq!(document["id"], did.as_str(), "{result}");
	let alice_ss58 = alice.public_key().to_account_id().to_string();
	let controller = document["controller"].as_str().expect("a controller");
	assert!(controller.starts_with("did:pkh:polkadot:") && controller.ends_with(&alice_ss58));
	assert_eq!(document["verificationMethod"][0]["id"], format!("{did}#key-1").as_str());
	assert_eq!(
		document["verificationMethod"][0]["publicKeyMultibase"],
		multibase([0xef, 0x01], &first_key).as_str()
	);
	assert_eq!(document["authentication"], serde_json::json!([format!("{did}#key-1")]));
	assert!(result["didDocumentMetadata"].get("deactivated").is_none(), "{result}");
	// `resolve` gives the document as a map; `resolveRepresentation` the stream.
	assert_eq!(result["didResolutionMetadata"], serde_json::json!({}));
	let represented: Value = node
		.rpc("twin_resolveRepresentation", rpc_params![did.as_str(), "application/did+json"])
		.await
		.expect("twin_resolveRepresentation answers");
	assert_eq!(represented["didResolutionMetadata"]["contentType"], "application/did+json");
	let stream = represented["didDocumentStream"].as_str().expect("a stream");
	let plain: Value = serde_json::from_str(stream).expect("the stream is JSON");
	assert_eq!(plain["id"], did.as_str());
	assert!(plain.get("@context").is_none(), "{plain}");
	// Dereferencing the key's DID URL gives the verification method.
	let key_url = format!("{did}#key-1");
	let dereferenced: Value = node
		.rpc("twin_dereference", rpc_params![key_url.as_str()])
		.await
		.expect("twin_dereference answers");
	assert_eq!(dereferenced["contentStream"]["id"], key_url.as_str(), "{dereferenced}");
	let unknown_key = format!("{did}#key-9");
	let dereferenced: Value = node
		.rpc("twin_dereference", rpc_params![unknown_key.as_str()])
		.await
		.expect("twin_dereference answers");
	assert_eq!(dereferenced["dereferencingMetadata"]["error"], "notFound", "{dereferenced}");
	let listed: Value = node
		.rpc("twin_listByController", rpc_params![alice_ss58.as_str()])
		.await
		.expect("twin_listByController answers");
	assert!(listed.as_array().expect("a list").contains(&Value::from(did.as_str())));

	// Rotate the key: the new one replaces the old in the document.
	let second_key = [8u8; 32];
	let rotate = subxt::dynamic::tx(
		"Twins",
		"rotate_key",
		(
			Dyn::from_bytes(created.did),
			Dyn::from_bytes("key-1"),
			auth_method("key-2", "Ed25519", &second_key),
		),
	);
	node.submit(&rotate, &alice).await.expect("rotate_key succeeds");
	let result = resolve(&node, &did).await;
	let methods = result["didDocument"]["verificationMethod"].as_array().expect("methods").clone();
	assert_eq!(methods.len(), 1, "{result}");
	assert_eq!(methods[0]["id"], format!("{did}#key-2").as_str());
	assert_eq!(methods[0]["publicKeyMultibase"], multibase([0xed, 0x01], &second_key).as_str());
	assert_eq!(
		result["didDocument"]["authentication"],
		serde_json::json!([format!("{did}#key-2")])
	);
	// Created and updated are XML datetimes of their blocks, the version the
	// block of the latest change.
	let metadata = &result["didDocumentMetadata"];
	let created_at = metadata["created"].as_str().expect("created");
	let updated_at = metadata["updated"].as_str().expect("updated");
	assert!(
		created_at.len() == 20 && created_at.ends_with('Z') && created_at.contains('T'),
		"{result}"
	);
	assert!(updated_at > created_at, "{result}");
	let version: u64 = metadata["versionId"]
		.as_str()
		.expect("a versionId")
		.parse()
		.expect("a block number");
	assert!(version > 0, "{result}");

	// Deactivate: resolution reports it deactivated, for good.
	let deactivate = subxt::dynamic::tx("Twins", "deactivate", (Dyn::from_bytes(created.did),));
	node.submit(&deactivate, &alice).await.expect("deactivate succeeds");
	let result = resolve(&node, &did).await;
	assert_eq!(result["didDocumentMetadata"]["deactivated"], true, "{result}");
	assert_eq!(result["didDocument"]["id"], did.as_str());
	assert!(result["didResolutionMetadata"].get("error").is_none());
}

#[tokio::test]
async fn malformed_and_unknown_dids_resolve_with_errors_not_failures() {
	let node = TestNode::start().await.expect("node starts");
	let unknown = did_string(&[0xab; 32]);
	for (did, error) in [
		("did:twin:not-base58!", "invalidDid"),
		("did:example:123456", "methodNotSupported"),
		("", "invalidDid"),
		(&format!("{unknown}#key-1"), "invalidDid"),
		(unknown.as_str(), "notFound"),
	] {
		let result = resolve(&node, did).await;
		assert_eq!(result["didResolutionMetadata"]["error"], error, "{did:?}: {result}");
		assert!(result["didDocument"].is_null(), "{did:?}: {result}");
	}
}
