//! End to end: who may act on a DID, on a dev node.
//!
//! - Control passes in two steps: the named controller must accept, and
//!   until it does nothing changes hands; afterwards the old controller is
//!   out and the new one holds the deposit.
//! - A guardian (a controller who is not the twin's patient) cannot take a
//!   patient's twin over: not its authentication keys, not the patient
//!   position, not the patient's consent grants, and not by deactivating it.
//!
//! Calls that must fail are checked by their dispatch error's name
//! (`Pallet::Error`), and by the state they must have left alone.

use crate::common::*;
use serde_json::Value;
use twinnet_test_support::{
	subxt::{self, dynamic::Value as Dyn},
	subxt_signer::sr25519::dev,
	TestNode,
};

/// The `did:pkh` controller a resolved document names must be `ss58`'s.
fn assert_controller_is(result: &Value, ss58: &str) {
	let controller = result["didDocument"]["controller"].as_str().expect("a controller");
	assert!(
		controller.starts_with("did:pkh:polkadot:") && controller.ends_with(&format!(":{ss58}")),
		"the controller should be {ss58}: {result}"
	);
}

#[tokio::test]
async fn controller_handover_waits_for_acceptance_and_moves_the_deposit() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let (alice, bob, charlie) = (dev::alice(), dev::bob(), dev::charlie());

	// Alice registers an institution DID; she controls it.
	let create = subxt::dynamic::tx(
		"Twins",
		"create",
		(
			Dyn::unnamed_variant("Institution", []),
			Dyn::unnamed_variant("None", []),
			Dyn::unnamed_composite([auth_method("key-1", "Sr25519", &[21u8; 32])]),
		),
	);
	let created = submit(&node, "Alice's create", &create, &alice).await;
	let id = created_did(created.succeeded());
	let did = did_string(&id);
	let did_arg = || Dyn::from_bytes(id);

	// Alice names Bob as controller: only an offer.
	let offer = subxt::dynamic::tx(
		"Twins",
		"rotate_controller",
		(did_arg(), account_controller(&account(&bob))),
	);
	let offered = submit(&node, "Alice's rotate_controller to Bob", &offer, &alice).await;
	assert!(has_event(offered.succeeded(), "Twins::ControllerOffered"));
	assert!(!has_event(offered.succeeded(), "Twins::ControllerRotated"));
	let (record, offered_bytes) =
		did_record(&node, offered.block, &id).await.expect("the DID is active");
	assert_eq!(record.controller, Controller::Account(account(&alice).0));
	assert_eq!(record.pending_controller, Some(Controller::Account(account(&bob).0)));
	assert_eq!(record.depositor, account(&alice).0, "Alice still holds the deposit");

	// Until Bob accepts, the DID is Alice's: Bob cannot act on it, and nobody
	// but Bob can accept.
	let bobs_service = || {
		subxt::dynamic::tx(
			"Twins",
			"add_service",
			(did_arg(), service("bob-data", "TwinDataEndpoint", "https://bob.example/data")),
		)
	};
	let bob_takes = subxt::dynamic::tx(
		"Twins",
		"rotate_controller",
		(did_arg(), account_controller(&account(&bob))),
	);
	let charlie_accepts = subxt::dynamic::tx("Twins", "accept_controller", (did_arg(),));
	let mut batch = Batch::new(&node).await;
	batch.add("Bob's add_service before accepting", &bobs_service(), &bob).await;
	batch
		.add("Bob's rotate_controller to himself before accepting", &bob_takes, &bob)
		.await;
	batch
		.add("Charlie's accept_controller of an offer to Bob", &charlie_accepts, &charlie)
		.await;
	let early = batch.finish().await;
	for outcome in &early {
		assert_eq!(outcome.failed(), "Twins::NotAuthorized", "{}", outcome.label);
	}
	// The finalized block now includes all three.
	let before_accept = node.client().at_current_block().await.expect("finalized").block_hash();
	let (record, bytes) = did_record(&node, before_accept, &id).await.expect("the DID is active");
	assert_eq!(bytes, offered_bytes, "the refused calls changed the DID: {record:?}");
	let offered_deposit = record.deposit;
	let result = resolve(&node, &did).await;
	assert_controller_is(&result, &ss58(&alice));
	assert!(result["didDocument"].get("service").is_none(), "{result}");
	assert!(listed_by(&node, &ss58(&alice)).await.contains(&did));
	assert!(!listed_by(&node, &ss58(&bob)).await.contains(&did));
	let alice_reserved = reserved(&node, before_accept, &account(&alice)).await;
	let bob_reserved = reserved(&node, before_accept, &account(&bob)).await;

	// Bob accepts: the DID is his, and so is its deposit.
	let accept = subxt::dynamic::tx("Twins", "accept_controller", (did_arg(),));
	let accepted = submit(&node, "Bob's accept_controller", &accept, &bob).await;
	assert!(has_event(accepted.succeeded(), "Twins::ControllerRotated"));
	let (record, _) = did_record(&node, accepted.block, &id).await.expect("the DID is active");
	assert_eq!(record.controller, Controller::Account(account(&bob).0));
	assert_eq!(record.pending_controller, None);
	assert_eq!(record.depositor, account(&bob).0, "Bob holds the deposit");
	assert_eq!(
		alice_reserved - reserved(&node, accepted.block, &account(&alice)).await,
		offered_deposit,
		"Alice's deposit is released"
	);
	assert_eq!(
		reserved(&node, accepted.block, &account(&bob)).await - bob_reserved,
		record.deposit,
		"Bob holds the DID's deposit"
	);
	let result = resolve(&node, &did).await;
	assert_controller_is(&result, &ss58(&bob));
	assert!(listed_by(&node, &ss58(&bob)).await.contains(&did));
	assert!(!listed_by(&node, &ss58(&alice)).await.contains(&did));

	// Now Alice cannot act on it, and Bob can.
	let alices_service = subxt::dynamic::tx(
		"Twins",
		"add_service",
		(did_arg(), service("alice-data", "TwinDataEndpoint", "https://alice.example/data")),
	);
	let alice_takes_back = subxt::dynamic::tx(
		"Twins",
		"rotate_controller",
		(did_arg(), account_controller(&account(&alice))),
	);
	let mut batch = Batch::new(&node).await;
	batch
		.add("Alice's add_service after the handover", &alices_service, &alice)
		.await;
	batch
		.add("Alice's rotate_controller back to herself", &alice_takes_back, &alice)
		.await;
	batch.add("Bob's add_service after accepting", &bobs_service(), &bob).await;
	let late = batch.finish().await;
	assert_eq!(late[0].failed(), "Twins::NotAuthorized", "{}", late[0].label);
	assert_eq!(late[1].failed(), "Twins::NotAuthorized", "{}", late[1].label);
	assert!(has_event(late[2].succeeded(), "Twins::ServiceAdded"));
	let result = resolve(&node, &did).await;
	assert_controller_is(&result, &ss58(&bob));
	let services = result["didDocument"]["service"].as_array().expect("services");
	assert_eq!(services.len(), 1, "{result}");
	assert_eq!(services[0]["id"], format!("{did}#bob-data").as_str());
}

/// View terms for `grantee`, for `purposes` (named in ascending order),
/// until block 100 000, unbound.
fn view_terms(grantee: &subxt::utils::AccountId32, purposes: &[&str]) -> Dyn {
	let none = || Dyn::unnamed_variant("None", []);
	Dyn::named_composite([
		("grantee", Dyn::unnamed_variant("Account", [Dyn::from_bytes(grantee.0)])),
		("scope", Dyn::unnamed_variant("View", [])),
		("purposes", Dyn::unnamed_composite(purposes.iter().map(|p| Dyn::unnamed_variant(*p, [])))),
		("datasets", none()),
		("starts_at", Dyn::u128(0)),
		("expires_at", Dyn::u128(100_000)),
		("budget", none()),
		("binding", unbound()),
	])
}

#[tokio::test]
async fn a_guardian_cannot_take_over_a_patients_twin() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");
	let (alice, bob, charlie) = (dev::alice(), dev::bob(), dev::charlie());

	// Alice runs an institution; the institution controls a twin it onboards
	// for Bob, who accepts the patient position and grants Charlie access.
	let institution = subxt::dynamic::tx(
		"Twins",
		"create",
		(
			Dyn::unnamed_variant("Institution", []),
			Dyn::unnamed_variant("None", []),
			Dyn::unnamed_composite([auth_method("key-1", "Sr25519", &[31u8; 32])]),
		),
	);
	let institution = created_did(
		submit(&node, "the institution's create", &institution, &alice)
			.await
			.succeeded(),
	);
	let create_twin = subxt::dynamic::tx(
		"Twins",
		"create",
		(
			Dyn::unnamed_variant("PatientTwin", []),
			Dyn::unnamed_variant("Some", [did_controller(&institution)]),
			Dyn::unnamed_composite([auth_method("key-1", "Sr25519", &account(&bob).0)]),
		),
	);
	let created = submit(&node, "the twin's create", &create_twin, &alice).await;
	let id = created_did(created.succeeded());
	let twin = did_string(&id);
	let twin_arg = || Dyn::from_bytes(id);
	let (record, _) = did_record(&node, created.block, &id).await.expect("the twin is active");
	assert_eq!(
		record.controller,
		Controller::Did(institution),
		"the institution controls the twin at once"
	);
	assert_eq!(record.patient, None);

	let offer = subxt::dynamic::tx(
		"Twins",
		"offer_patient",
		(twin_arg(), Dyn::from_bytes(account(&bob).0)),
	);
	let offered = submit(&node, "the guardian's offer_patient to Bob", &offer, &alice).await;
	assert!(has_event(offered.succeeded(), "Twins::PatientOffered"));
	let accept = subxt::dynamic::tx("Twins", "accept_patient", (twin_arg(),));
	let grant = subxt::dynamic::tx(
		"Consent",
		"grant",
		(twin_arg(), view_terms(&account(&charlie), &["Research", "ModelTraining"])),
	);
	let mut batch = Batch::new(&node).await;
	batch.add("Bob's accept_patient", &accept, &bob).await;
	batch.add("Bob's grant to Charlie", &grant, &bob).await;
	let bound = batch.finish().await;
	assert!(has_event(bound[0].succeeded(), "Twins::PatientBound"));
	assert!(has_event(bound[1].succeeded(), "Consent::Granted"));

	let at = node.client().at_current_block().await.expect("finalized").block_hash();
	let (record, record_bytes) = did_record(&node, at, &id).await.expect("the twin is active");
	assert_eq!(record.patient, Some(account(&bob).0), "Bob is the patient");
	assert_eq!(record.controller, Controller::Did(institution), "the institution is the guardian");
	let document = resolve(&node, &twin).await;
	let patient = document["didDocumentMetadata"]["patient"].as_str().expect("a patient");
	assert!(patient.ends_with(&format!(":{}", ss58(&bob))), "{document}");
	assert_eq!(
		document["didDocument"]["authentication"],
		serde_json::json!([format!("{twin}#key-1")])
	);
	let grants = grants_of(&node, &twin).await;
	assert_eq!(grants.as_array().expect("grants").len(), 1, "{grants}");
	assert_eq!(grants[0]["grantedBy"], "patient", "{grants}");
	assert_eq!(grants[0]["status"], "active", "{grants}");
	let grant_id = grants[0]["id"].as_u64().expect("a grant id");
	let usage = usage_of(&node, &twin).await;

	// The guardian tries every way to take the twin over.
	let new_key = || auth_method("key-2", "Ed25519", &[32u8; 32]);
	let narrower = || view_terms(&account(&charlie), &["Research"]);
	let grant_arg = || Dyn::u128(grant_id.into());
	let attempts = [
		(
			"remove the patient's authentication key",
			subxt::dynamic::tx(
				"Twins",
				"remove_verification_method",
				vec![twin_arg(), Dyn::from_bytes("key-1")],
			),
			"Twins::PatientProtected",
		),
		(
			"rotate the patient's authentication key",
			subxt::dynamic::tx(
				"Twins",
				"rotate_key",
				vec![twin_arg(), Dyn::from_bytes("key-1"), new_key()],
			),
			"Twins::PatientProtected",
		),
		(
			"add an authentication key of its own",
			subxt::dynamic::tx("Twins", "add_verification_method", vec![twin_arg(), new_key()]),
			"Twins::PatientProtected",
		),
		(
			"offer itself the patient position",
			subxt::dynamic::tx(
				"Twins",
				"offer_patient",
				vec![twin_arg(), Dyn::from_bytes(account(&alice).0)],
			),
			"Twins::PatientProtected",
		),
		(
			"accept a patient position nobody offered",
			subxt::dynamic::tx("Twins", "accept_patient", vec![twin_arg()]),
			"Twins::NoPendingHandover",
		),
		(
			"revoke the patient's grant",
			subxt::dynamic::tx("Consent", "revoke", vec![twin_arg(), grant_arg()]),
			"Consent::PatientDecision",
		),
		(
			"narrow the patient's grant",
			subxt::dynamic::tx("Consent", "narrow", vec![twin_arg(), grant_arg(), narrower()]),
			"Consent::PatientDecision",
		),
		(
			"deactivate the twin while it has a live grant",
			subxt::dynamic::tx("Twins", "deactivate", vec![twin_arg()]),
			"Consent::LiveGrants",
		),
	];
	let mut batch = Batch::new(&node).await;
	for (label, call, _) in &attempts {
		batch.add(&format!("the guardian's attempt to {label}"), call, &alice).await;
	}
	let outcomes = batch.finish().await;
	for ((_, _, expected), outcome) in attempts.iter().zip(&outcomes) {
		assert_eq!(outcome.failed(), *expected, "{}", outcome.label);
	}

	// Nothing changed: not the twin's record, document or patient, not the
	// grant, not the decision trail.
	let after = node.client().at_current_block().await.expect("finalized").block_hash();
	let (record_after, record_bytes_after) =
		did_record(&node, after, &id).await.expect("the twin is active");
	assert_eq!(record_bytes_after, record_bytes, "the twin's record changed: {record_after:?}");
	assert_eq!(resolve(&node, &twin).await, document);
	assert_eq!(grants_of(&node, &twin).await, grants);
	assert_eq!(usage_of(&node, &twin).await, usage);

	// The same changes are the patient's to make: the guardian's calls were
	// well formed and refused only for who signed them.
	let rotate = subxt::dynamic::tx(
		"Twins",
		"rotate_key",
		(twin_arg(), Dyn::from_bytes("key-1"), new_key()),
	);
	let narrow = subxt::dynamic::tx("Consent", "narrow", (twin_arg(), grant_arg(), narrower()));
	let mut batch = Batch::new(&node).await;
	batch.add("Bob's rotate_key", &rotate, &bob).await;
	batch.add("Bob's narrow", &narrow, &bob).await;
	let patients = batch.finish().await;
	assert!(has_event(patients[0].succeeded(), "Twins::KeyRotated"));
	assert!(has_event(patients[1].succeeded(), "Consent::Narrowed"));
	let document = resolve(&node, &twin).await;
	assert_eq!(
		document["didDocument"]["authentication"],
		serde_json::json!([format!("{twin}#key-2")])
	);
	let grants = grants_of(&node, &twin).await;
	assert_eq!(grants[0]["purposes"], serde_json::json!(["research"]), "{grants}");
	assert_eq!(grants[0]["status"], "active", "{grants}");
}
