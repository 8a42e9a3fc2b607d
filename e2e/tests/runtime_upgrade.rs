//! A runtime upgrade of a running chain: the runtime with `spec_version`
//! one higher (the runtime's `spec-version-bump` feature;
//! `scripts/upgrade-wasm` builds it from this tree, in
//! `$TWINNET_UPGRADE_WASM`) goes in through `sudo.sudo_unchecked_weight(
//! system.set_code(…))`, and afterwards every DID, grant, dataset,
//! commitment and job record and every balance not touched by the upgrade
//! is what it was, the chain goes on finalizing, and the new runtime takes
//! TwinNet's calls.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use common::{account_grantee, compute_terms, did_bytes, has_event, ss58, submit};
use serde_json::{json, Value};
use twinnet_test_support::{
	subxt::{
		self,
		dynamic::Value as Dyn,
		rpcs::rpc_params,
		utils::{AccountId32, H256},
	},
	subxt_signer::sr25519::dev,
	TestNode,
};

/// The pallets whose whole storage must survive the upgrade unchanged.
const TWINNET_PALLETS: [&str; 5] = ["Twins", "Consent", "Datasets", "Commitments", "Federated"];

/// The spec version of a runtime, as the node reports it at `at`.
async fn spec_version(node: &TestNode, at: Option<H256>) -> u64 {
	let version: Value = node.rpc("state_getRuntimeVersion", rpc_params![at]).await.unwrap();
	version["specVersion"].as_u64().expect("a spec version")
}

/// Every key and value under `prefix` in the state of block `at`.
async fn storage_under(node: &TestNode, prefix: &[u8], at: H256) -> Vec<(String, Value)> {
	let prefix = hex(prefix);
	let mut entries = Vec::new();
	let mut start: Option<String> = None;
	loop {
		let keys = node
			.rpc("state_getKeysPaged", rpc_params![&prefix, 1000, &start, at])
			.await
			.unwrap();
		let keys: Vec<String> = serde_json::from_value(keys).unwrap();
		for key in &keys {
			let value: Value = node.rpc("state_getStorage", rpc_params![key, at]).await.unwrap();
			entries.push((key.clone(), value));
		}
		match keys.last() {
			Some(last) if keys.len() == 1000 => start = Some(last.clone()),
			_ => return entries,
		}
	}
}

/// The state of TwinNet's pallets and the free balances of `accounts` at `at`.
async fn snapshot(
	node: &TestNode,
	accounts: &[AccountId32],
	at: H256,
) -> (Vec<(String, Value)>, Vec<u128>) {
	let mut pallets = Vec::new();
	for pallet in TWINNET_PALLETS {
		pallets
			.extend(storage_under(node, &sp_crypto_hashing::twox_128(pallet.as_bytes()), at).await);
	}
	let mut balances = Vec::new();
	for account in accounts {
		balances
			.push(twinnet_test_support::free_balance(&node.client(), at, account).await.unwrap());
	}
	(pallets, balances)
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// The dev chain's sample twin (Alice's, the one DID she controls at genesis).
async fn alices_twin(node: &TestNode) -> String {
	let listed: Value = node
		.rpc("twin_listByController", rpc_params![ss58(&dev::alice())])
		.await
		.unwrap();
	listed[0].as_str().expect("Alice's twin").to_string()
}

#[tokio::test]
async fn an_upgrade_through_sudo_set_code_keeps_dids_grants_and_balances() {
	let path = std::env::var("TWINNET_UPGRADE_WASM")
		.expect("TWINNET_UPGRADE_WASM: the upgraded runtime (scripts/upgrade-wasm builds it)");
	let code = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let (alice, bob) = (dev::alice(), dev::bob());
	let version = spec_version(&node, None).await;

	// State worth keeping: the genesis DIDs and dataset, and a grant.
	let twin = alices_twin(&node).await;
	let terms = compute_terms(account_grantee(&bob.public_key().0), 1_500_000_000, 1_000_000);
	let grant = subxt::dynamic::tx("Consent", "grant", (Dyn::from_bytes(did_bytes(&twin)), terms));
	let granted = submit(&node, "Alice's grant", &grant, &alice).await;
	assert!(has_event(granted.succeeded(), "Consent::Granted"));
	let document = did_document(&node, &twin).await;
	let grants: Value = node.rpc("consent_grantsOf", rpc_params![&twin]).await.unwrap();
	// Alice signs the upgrade and pays for it; the others' balances must not move.
	let others: Vec<AccountId32> = [dev::bob(), dev::charlie(), dev::dave(), dev::eve()]
		.iter()
		.map(|keypair| keypair.public_key().to_account_id())
		.collect();
	let before = snapshot(&node, &others, granted.block).await;
	assert!(before.0.len() > 5, "the pallets hold state: {:?}", before.0);

	// The upgrade.
	let set_code = Dyn::unnamed_variant(
		"System",
		[Dyn::named_variant("set_code", [("code", Dyn::from_bytes(&code))])],
	);
	let weight = Dyn::named_composite([("ref_time", Dyn::u128(0)), ("proof_size", Dyn::u128(0))]);
	let sudo = subxt::dynamic::tx("Sudo", "sudo_unchecked_weight", (set_code, weight));
	let upgraded = submit(&node, "sudo set_code", &sudo, &alice).await;
	let events = upgraded.succeeded();
	assert!(has_event(events, "System::CodeUpdated"), "{:?}", common::event_names(events));
	assert!(has_event(events, "Sudo::Sudid"));

	// The next block runs the new runtime; nothing it should keep has moved.
	node.wait_for_finalized_block(upgraded_number(&node, upgraded.block).await + 2)
		.await
		.expect("the upgraded chain finalizes");
	let now = node.client().at_current_block().await.unwrap().block_hash();
	assert_eq!(spec_version(&node, Some(now)).await, version + 1);
	assert_eq!(snapshot(&node, &others, now).await, before, "state changed in the upgrade");
	assert_eq!(did_document(&node, &twin).await, document);
	let grants_after: Value = node.rpc("consent_grantsOf", rpc_params![&twin]).await.unwrap();
	assert_eq!(grants_after, grants);

	// The new runtime takes TwinNet's calls.
	let revoke = subxt::dynamic::tx(
		"Consent",
		"revoke",
		(Dyn::from_bytes(did_bytes(&twin)), Dyn::u128(grant_id(&grants))),
	);
	let revoked = submit(&node, "Alice's revoke after the upgrade", &revoke, &alice).await;
	assert!(has_event(revoked.succeeded(), "Consent::Revoked"));
	let revoked: Value = node.rpc("consent_grantsOf", rpc_params![&twin]).await.unwrap();
	assert_eq!(revoked[0]["status"], json!("revoked"));
}

/// The DID document `did` resolves to.
async fn did_document(node: &TestNode, did: &str) -> Value {
	let resolved: Value = node.rpc("twin_resolveDid", rpc_params![did]).await.unwrap();
	resolved["didDocument"].clone()
}

/// The number of block `hash`.
async fn upgraded_number(node: &TestNode, hash: H256) -> u64 {
	let header: Value = node.rpc("chain_getHeader", rpc_params![hash]).await.unwrap();
	u64::from_str_radix(header["number"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// The identifier of the only grant in a `consent_grantsOf` list.
fn grant_id(grants: &Value) -> u128 {
	grants[0]["id"].as_u64().expect("a grant id").into()
}
