//! End to end: an institution publishes a dataset of two consenting twins
//! (floor k = 2), a researcher buys a licence and the price reaches the
//! institution and both patients; one patient revokes, the twin stops
//! counting at once, ordering is suspended and the RPC says why; malformed
//! locations, cyclic and unknown lineage get precise errors.

use crate::common::*;
use serde_json::Value;
use twinnet_test_support::{
	free_balance,
	subxt::{self, dynamic::Value as Dyn, rpcs::rpc_params, utils::AccountId32},
	subxt_signer::sr25519::{dev, Keypair},
	TestNode,
};

/// One TWIN in planck.
const UNITS: u128 = 1_000_000_000_000;
/// The price of a licence of the test's dataset.
const PRICE: u128 = 10 * UNITS;
/// The code the researcher is allowed to run.
const CODE: [u8; 32] = [0xc0; 32];

fn twin_create(kind: &str, key: u8) -> impl subxt::transactions::Payload {
	subxt::dynamic::tx(
		"Twins",
		"create",
		(
			Dyn::unnamed_variant(kind, []),
			Dyn::unnamed_variant("None", []),
			Dyn::unnamed_composite([auth_method("key-1", "Sr25519", &[key; 32])]),
		),
	)
}

fn descriptor(location: &str) -> Dyn {
	Dyn::named_composite([
		("content_hash", Dyn::from_bytes([0x11; 32])),
		("location", Dyn::from_bytes(location)),
		("schema", Dyn::unnamed_variant("Nwb2", [])),
		("size_bytes", Dyn::u128(1 << 30)),
		("record_count", Dyn::u128(2)),
		("metadata_hash", Dyn::from_bytes([0x22; 32])),
	])
}

fn terms() -> Dyn {
	Dyn::named_composite([
		("price", Dyn::u128(PRICE)),
		(
			"scopes",
			Dyn::named_composite([("view", Dyn::bool(false)), ("compute", Dyn::bool(true))]),
		),
		(
			"purposes",
			Dyn::unnamed_composite([
				Dyn::unnamed_variant("Research", []),
				Dyn::unnamed_variant("ModelTraining", []),
			]),
		),
		("duration", Dyn::u128(10_000)),
		("max_licences", Dyn::u128(10)),
		("transferable", Dyn::bool(false)),
	])
}

fn lineage(parents: &[[u8; 32]]) -> Dyn {
	let transformation = match parents.is_empty() {
		true => Dyn::unnamed_variant("None", []),
		false => Dyn::unnamed_variant("Some", [Dyn::from_bytes([0x77; 32])]),
	};
	Dyn::named_composite([
		("parents", Dyn::unnamed_composite(parents.iter().map(Dyn::from_bytes))),
		("transformation", transformation),
	])
}

fn register(
	dataset: &[u8; 32],
	institution: &[u8; 32],
	location: &str,
	parents: &[[u8; 32]],
) -> impl subxt::transactions::Payload {
	subxt::dynamic::tx(
		"Datasets",
		"register",
		(
			Dyn::from_bytes(dataset),
			Dyn::from_bytes(institution),
			descriptor(location),
			terms(),
			lineage(parents),
			Dyn::u128(2),
		),
	)
}

fn buy(dataset: &[u8; 32]) -> impl subxt::transactions::Payload {
	subxt::dynamic::tx(
		"Datasets",
		"buy_licence",
		(
			Dyn::from_bytes(dataset),
			Dyn::unnamed_variant("Compute", []),
			Dyn::unnamed_variant("Research", []),
			Dyn::u128(PRICE),
		),
	)
}

async fn balances(node: &TestNode, at: subxt::utils::H256, who: &[&Keypair]) -> Vec<u128> {
	let mut found = Vec::new();
	for keypair in who {
		let account: AccountId32 = account(keypair);
		found.push(free_balance(&node.client(), at, &account).await.expect("a balance"));
	}
	found
}

async fn rpc(node: &TestNode, method: &str, dataset: &[u8; 32]) -> Value {
	node.rpc(method, rpc_params![did_string(dataset)])
		.await
		.unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// The exclusion of `twin` in `datasets_contributors`' answer, if listed.
fn exclusion_of(contributors: &Value, twin: &[u8; 32]) -> Option<Value> {
	let twin = did_string(twin);
	contributors["contributors"]
		.as_array()
		.expect("a list of contributors")
		.iter()
		.find(|entry| entry["twin"] == twin.as_str())
		.map(|entry| entry["excluded"].clone())
}

#[tokio::test]
async fn an_institution_sells_licences_of_consenting_twins_until_one_revokes() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let (alice, bob, charlie, dave, eve) =
		(dev::alice(), dev::bob(), dev::charlie(), dev::dave(), dev::eve());
	let institution = controlled_of_kind(&node, &ss58(&bob), "Institution").await;

	// The dev genesis: Bob's sample dataset lists Alice's twin, who has not
	// consented, so it does not count.
	let sample = controlled_of_kind(&node, &ss58(&bob), "Dataset").await;
	let alices_twin = controlled_of_kind(&node, &ss58(&alice), "PatientTwin").await;
	let shown = rpc(&node, "datasets_get", &sample).await;
	assert_eq!(shown["orderable"], false, "{shown}");
	let listed = rpc(&node, "datasets_contributors", &sample).await;
	assert!(exclusion_of(&listed, &alices_twin).is_some_and(|e| !e.is_null()), "{listed}");

	// DIDs: Bob's dataset and a spare one for the refusals; the patients' twins.
	let mut batch = Batch::new(&node).await;
	batch.add("Bob's dataset DID", &twin_create("Dataset", 51), &bob).await;
	batch.add("Bob's spare dataset DID", &twin_create("Dataset", 52), &bob).await;
	batch.add("Charlie's twin", &twin_create("PatientTwin", 53), &charlie).await;
	batch.add("Dave's twin", &twin_create("PatientTwin", 54), &dave).await;
	let created = batch.finish().await;
	let [dataset, spare, charlies, daves] =
		[0, 1, 2, 3].map(|i| created_did(created[i].succeeded()));

	// Custody offered by Bob's institution, accepted with consent by each patient.
	let offer = |twin: &[u8; 32]| {
		subxt::dynamic::tx(
			"Twins",
			"offer_custody",
			(Dyn::from_bytes(institution), Dyn::from_bytes(twin)),
		)
	};
	let mut batch = Batch::new(&node).await;
	batch.add("custody of Charlie's twin", &offer(&charlies), &bob).await;
	batch.add("custody of Dave's twin", &offer(&daves), &bob).await;
	for outcome in batch.finish().await {
		outcome.succeeded();
	}
	let mut batch = Batch::new(&node).await;
	for (twin, patient) in [(&charlies, &charlie), (&daves, &dave)] {
		let accept = subxt::dynamic::tx(
			"Twins",
			"accept_custody",
			(Dyn::from_bytes(twin), Dyn::from_bytes(institution)),
		);
		let terms = compute_terms(institution_grantee(&institution), 2_000_000_000, 0);
		let grant = subxt::dynamic::tx("Consent", "grant", (Dyn::from_bytes(twin), terms));
		batch.add("accept custody", &accept, patient).await;
		batch.add("consent to the institution", &grant, patient).await;
	}
	for outcome in batch.finish().await {
		outcome.succeeded();
	}

	// Bob registers with k = 2, lists both twins and allows one algorithm;
	// a malformed location, a dataset that is its own parent and an
	// unknown parent are refused.
	let add = subxt::dynamic::tx(
		"Datasets",
		"add_contributors",
		(
			Dyn::from_bytes(dataset),
			Dyn::unnamed_composite([charlies, daves].iter().map(Dyn::from_bytes)),
		),
	);
	let allow = subxt::dynamic::tx(
		"Datasets",
		"set_algorithms",
		(
			Dyn::from_bytes(dataset),
			Dyn::unnamed_composite([Dyn::from_bytes(CODE)]),
			Dyn::bool(false),
		),
	);
	let mut batch = Batch::new(&node).await;
	batch
		.add("register", &register(&dataset, &institution, "s3://bucket/cohort.nwb.enc", &[]), &bob)
		.await;
	batch.add("add contributors", &add, &bob).await;
	batch.add("allow the code", &allow, &bob).await;
	batch
		.add("a location with a space", &register(&spare, &institution, "s3://a b", &[]), &bob)
		.await;
	batch
		.add("its own parent", &register(&spare, &institution, "s3://x", &[spare]), &bob)
		.await;
	batch
		.add("an unknown parent", &register(&spare, &institution, "s3://x", &[charlies]), &bob)
		.await;
	let outcomes = batch.finish().await;
	for outcome in &outcomes[..3] {
		outcome.succeeded();
	}
	assert_eq!(outcomes[3].failed(), "Datasets::InvalidLocation");
	assert_eq!(outcomes[4].failed(), "Datasets::LineageCycle");
	assert_eq!(outcomes[5].failed(), "Datasets::UnknownParent");
	let shown = rpc(&node, "datasets_get", &dataset).await;
	assert_eq!(
		(shown["orderable"].clone(), shown["counted"].clone()),
		(true.into(), 2.into()),
		"{shown}"
	);

	// Eve buys a licence: 50 % of the price to the two patients, the rest to Bob.
	let before = outcomes[2].block;
	let bought = submit(&node, "Eve's licence", &buy(&dataset), &eve).await;
	bought.succeeded();
	let [bob_before, charlie_before, dave_before] =
		balances(&node, before, &[&bob, &charlie, &dave])
			.await
			.try_into()
			.expect("three");
	let [bob_after, charlie_after, dave_after] =
		balances(&node, bought.block, &[&bob, &charlie, &dave])
			.await
			.try_into()
			.expect("three");
	assert_eq!(charlie_after - charlie_before, PRICE / 4);
	assert_eq!(dave_after - dave_before, PRICE / 4);
	assert_eq!(bob_after - bob_before, PRICE / 2);
	let licences = rpc(&node, "datasets_licencesOf", &dataset).await;
	assert_eq!(licences["licences"][0]["holder"], ss58(&eve).as_str(), "{licences}");

	// Charlie revokes: the twin stops counting at once and ordering stops.
	let grants = grants_of(&node, &did_string(&charlies)).await;
	let grant = grants[0]["id"].as_u64().expect("the grant's id");
	let revoke = subxt::dynamic::tx(
		"Consent",
		"revoke",
		(Dyn::from_bytes(charlies), Dyn::u128(grant.into())),
	);
	submit(&node, "Charlie revokes", &revoke, &charlie).await.succeeded();
	let shown = rpc(&node, "datasets_get", &dataset).await;
	assert_eq!(
		(shown["orderable"].clone(), shown["counted"].clone()),
		(false.into(), 1.into()),
		"{shown}"
	);
	let listed = rpc(&node, "datasets_contributors", &dataset).await;
	assert_eq!(exclusion_of(&listed, &charlies), Some(Value::from("consent:revoked")), "{listed}");
	assert_eq!(exclusion_of(&listed, &daves), Some(Value::Null), "{listed}");
	let refused = submit(&node, "a second licence", &buy(&dataset), &eve).await;
	assert_eq!(refused.failed(), "Datasets::TooFewContributors");

	// Malformed input over RPC is an error, not a crash.
	let bad = json_rpc(&node, "datasets_get", serde_json::json!(["did:twin:0OIl"]));
	assert!(bad["error"]["code"].is_i64(), "{bad}");
}
