//! Unit tests of pallet-twins: every call's success and each of its errors.

#![allow(clippy::arithmetic_side_effects)]

use codec::Encode;
use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec};
use sp_core::H256;
use sp_runtime::{AccountId32, BuildStorage, DispatchError};
use twinnet_primitives::{
	did::{
		Controller, DidId, DidResolution, DidSignature, PublicKey, Relationship, Relationships,
		SubjectKind,
	},
	traits::DidRegistry,
};

use crate::{mock::*, *};

// ---- helpers ---------------------------------------------------------------

fn fragment(name: &str) -> Fragment<Test> {
	BoundedVec::truncate_from(name.as_bytes().to_vec())
}

fn auth() -> Relationships {
	Relationships { authentication: true, ..Default::default() }
}

fn method(name: &str, key: PublicKey) -> VerificationMethodOf<Test> {
	VerificationMethod { fragment: fragment(name), key, relationships: auth() }
}

fn sr(byte: u8) -> PublicKey {
	PublicKey::Sr25519([byte; 32])
}

fn service(name: &str, service_type: &str, url: &str) -> ServiceOf<Test> {
	Service {
		fragment: fragment(name),
		service_type: BoundedVec::truncate_from(service_type.as_bytes().to_vec()),
		endpoint: BoundedVec::truncate_from(url.as_bytes().to_vec()),
	}
}

fn schema(tag: &str) -> SchemaTag<Test> {
	BoundedVec::truncate_from(tag.as_bytes().to_vec())
}

fn origin(who: &AccountId32) -> RuntimeOrigin {
	RuntimeOrigin::signed(who.clone())
}

/// Creates a DID of `kind` signed by `who`, with `controller` and one
/// authentication key `[key_byte; 32]`, and returns its identifier.
fn create_with(
	who: &AccountId32,
	kind: SubjectKind,
	controller: Option<Controller<AccountId32>>,
	key_byte: u8,
) -> DidId {
	let methods = BoundedVec::truncate_from(vec![method("key-1", sr(key_byte))]);
	assert_ok!(Twins::create(origin(who), kind, controller, methods));
	last_created()
}

/// A patient twin controlled by Alice, with key `[100; 32]`.
fn alice_twin() -> DidId {
	create_with(&alice(), SubjectKind::PatientTwin, None, 100)
}

/// An institution controlled by Bob, with key `[101; 32]`.
fn bob_institution() -> DidId {
	create_with(&bob(), SubjectKind::Institution, None, 101)
}

fn last_created() -> DidId {
	System::events()
		.into_iter()
		.rev()
		.find_map(|record| match record.event {
			RuntimeEvent::Twins(Event::DidCreated { did, .. }) => Some(did),
			_ => None,
		})
		.expect("a DidCreated event")
}

fn details(did: DidId) -> DidDetails<Test> {
	Dids::<Test>::get(did).expect("an active DID")
}

fn did_hold(who: &AccountId32) -> u64 {
	Balances::balance_on_hold(&HoldReason::DidDeposit.into(), who)
}

fn custody_hold(who: &AccountId32) -> u64 {
	Balances::balance_on_hold(&HoldReason::CustodyDeposit.into(), who)
}

/// The deposit a record must hold: base + per byte of record and index entry.
fn expected_deposit(details: &DidDetails<Test>) -> u64 {
	use codec::MaxEncodedLen;
	let bytes = details.encoded_size()
		+ Controller::<AccountId32>::max_encoded_len()
		+ DidId::max_encoded_len();
	DEPOSIT_BASE + DEPOSIT_PER_BYTE * bytes as u64
}

fn unknown_did() -> DidId {
	H256::repeat_byte(0xee)
}

// ---- create ----------------------------------------------------------------

#[test]
fn create_registers_a_did_controlled_by_the_signer() {
	run_test(|| {
		let did = alice_twin();
		let record = details(did);
		assert_eq!(record.kind, SubjectKind::PatientTwin);
		assert_eq!(record.controller, Controller::Account(alice()));
		assert_eq!(record.verification_methods.len(), 1);
		assert_eq!((record.created, record.updated), (1, 1));
		assert_eq!(record.depositor, alice());
		assert_eq!(record.deposit, expected_deposit(&record));
		assert_eq!(did_hold(&alice()), record.deposit);
		assert!(DidsByController::<Test>::contains_key(Controller::Account(alice()), did));
		assert_eq!(did, Twins::derive_did(&alice(), 0));
		assert_eq!(DidCounter::<Test>::get(), 1);
		System::assert_has_event(
			Event::DidCreated {
				did,
				kind: SubjectKind::PatientTwin,
				controller: Controller::Account(alice()),
				depositor: alice(),
			}
			.into(),
		);
	});
}

#[test]
fn create_gives_each_did_its_own_identifier() {
	run_test(|| {
		let first = alice_twin();
		let second = create_with(&alice(), SubjectKind::PatientTwin, None, 102);
		assert_ne!(first, second);
	});
}

#[test]
fn create_for_another_controller_only_offers_it() {
	run_test(|| {
		let for_bob =
			create_with(&alice(), SubjectKind::Dataset, Some(Controller::Account(bob())), 100);
		let record = details(for_bob);
		assert_eq!(record.controller, Controller::Account(alice()));
		assert_eq!(record.pending_controller, Some(Controller::Account(bob())));
		assert_eq!((record.patient, record.pending_patient), (None, None));
		assert_eq!(record.depositor, alice());
		assert!(!Twins::is_controlled_by(&for_bob, &bob()));
		System::assert_has_event(
			Event::ControllerOffered { did: for_bob, controller: Controller::Account(bob()) }
				.into(),
		);
	});
}

#[test]
fn create_with_a_did_the_signer_acts_for_sets_it_at_once() {
	run_test(|| {
		let guardian = create_with(&charlie(), SubjectKind::Institution, None, 101);
		let ward =
			create_with(&charlie(), SubjectKind::PatientTwin, Some(Controller::Did(guardian)), 102);
		let record = details(ward);
		assert_eq!(record.controller, Controller::Did(guardian));
		assert_eq!(record.pending_controller, None);
		// A guardian's ward has no patient until one accepts the position.
		assert_eq!(record.patient, None);
		assert_eq!(Twins::dids_controlled_by(&Controller::Did(guardian), None, 10), vec![ward]);
	});
}

#[test]
fn a_twin_the_signer_controls_has_the_signer_as_patient() {
	run_test(|| {
		let twin = alice_twin();
		assert_eq!(details(twin).patient, Some(alice()));
		assert!(Twins::is_patient(&twin, &alice()));
		let institution = bob_institution();
		assert_eq!(details(institution).patient, None);
	});
}

/// The attack of issue 8: a stranger creates a twin naming someone else's
/// account as controller and adds their own authentication key. Before the
/// fix the twin was Alice's at once and the stranger's key counted as the
/// patient's; now the stranger only holds an offer Alice never accepted.
#[test]
fn attack_stranger_names_another_account_controller_of_a_twin() {
	run_test(|| {
		let stranger = charlie();
		let methods = BoundedVec::truncate_from(vec![method("key-1", PublicKey::Sr25519([3; 32]))]);
		assert_ok!(Twins::create(
			origin(&stranger),
			SubjectKind::PatientTwin,
			Some(Controller::Account(alice())),
			methods
		));
		let twin = last_created();
		assert!(!Twins::is_patient(&twin, &alice()));
		assert!(!Twins::is_patient(&twin, &stranger));
		assert!(!Twins::is_controlled_by(&twin, &alice()));
		assert_eq!(details(twin).pending_patient, Some(alice()));
		assert_eq!(
			Twins::access(&twin, &stranger).and_then(|a| a.role),
			Some(twinnet_primitives::traits::DidRole::Controller)
		);
		assert!(Twins::dids_controlled_by(&Controller::Account(alice()), None, 10).is_empty());
	});
}

/// Before the fix: while the patient position of a twin created for Alice
/// was on offer to her, its creator could bind it to itself
/// (`offer_patient(twin, creator)`), and Alice's acceptance of control then
/// made her a mere guardian of a twin whose patient was the creator.
#[test]
fn attack_creator_front_runs_the_patient_it_named() {
	run_test(|| {
		let creator = charlie();
		let methods = BoundedVec::truncate_from(vec![method("key-1", PublicKey::Sr25519([3; 32]))]);
		assert_ok!(Twins::create(
			origin(&creator),
			SubjectKind::PatientTwin,
			Some(Controller::Account(alice())),
			methods
		));
		let twin = last_created();
		assert_noop!(
			Twins::offer_patient(origin(&creator), twin, creator.clone()),
			Error::<Test>::PatientOffered
		);
		assert_noop!(
			Twins::offer_patient(origin(&creator), twin, bob()),
			Error::<Test>::PatientOffered
		);
		assert_ok!(Twins::accept_controller(origin(&alice()), twin));
		assert!(Twins::is_patient(&twin, &alice()));
		// Withdrawn first, the creator may name someone else.
		assert_ok!(Twins::create(
			origin(&creator),
			SubjectKind::PatientTwin,
			Some(Controller::Account(alice())),
			BoundedVec::truncate_from(vec![method("key-1", PublicKey::Sr25519([4; 32]))])
		));
		let second = last_created();
		assert_ok!(Twins::cancel_handover(origin(&creator), second));
		assert_ok!(Twins::offer_patient(origin(&creator), second, bob()));
	});
}

#[test]
fn create_rejects_unsigned_origins() {
	run_test(|| {
		assert_noop!(
			Twins::create(RuntimeOrigin::none(), SubjectKind::Model, None, BoundedVec::new()),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn every_call_needs_a_signed_origin() {
	run_test(|| {
		let did = alice_twin();
		let none = || RuntimeOrigin::none();
		let root = || RuntimeOrigin::root();
		for origin in [none(), root()] {
			let o = || origin.clone();
			assert_noop!(
				Twins::add_verification_method(o(), did, method("k", sr(5))),
				DispatchError::BadOrigin
			);
			assert_noop!(
				Twins::remove_verification_method(o(), did, fragment("key-1")),
				DispatchError::BadOrigin
			);
			assert_noop!(
				Twins::rotate_key(o(), did, fragment("key-1"), method("k", sr(5))),
				DispatchError::BadOrigin
			);
			assert_noop!(
				Twins::rotate_controller(o(), did, Controller::Account(bob())),
				DispatchError::BadOrigin
			);
			assert_noop!(
				Twins::add_service(o(), did, service("s", "T", "https://a")),
				DispatchError::BadOrigin
			);
			assert_noop!(Twins::remove_service(o(), did, fragment("s")), DispatchError::BadOrigin);
			assert_noop!(Twins::set_metadata(o(), did, None, None), DispatchError::BadOrigin);
			assert_noop!(Twins::deactivate(o(), did), DispatchError::BadOrigin);
			assert_noop!(Twins::offer_custody(o(), did, did), DispatchError::BadOrigin);
			assert_noop!(Twins::accept_custody(o(), did, did), DispatchError::BadOrigin);
			assert_noop!(Twins::cancel_custody_offer(o(), did, did), DispatchError::BadOrigin);
			assert_noop!(Twins::end_custody(o(), did), DispatchError::BadOrigin);
			assert_noop!(Twins::accept_controller(o(), did), DispatchError::BadOrigin);
			assert_noop!(Twins::offer_patient(o(), did, bob()), DispatchError::BadOrigin);
			assert_noop!(Twins::accept_patient(o(), did), DispatchError::BadOrigin);
			assert_noop!(Twins::cancel_handover(o(), did), DispatchError::BadOrigin);
		}
	});
}

#[test]
fn create_rejects_a_missing_or_deactivated_controller_did() {
	run_test(|| {
		let controller = Some(Controller::Did(unknown_did()));
		assert_noop!(
			Twins::create(
				origin(&alice()),
				SubjectKind::PatientTwin,
				controller,
				BoundedVec::new()
			),
			Error::<Test>::ControllerNotFound
		);
		let gone = bob_institution();
		assert_ok!(Twins::deactivate(origin(&bob()), gone));
		let controller = Some(Controller::Did(gone));
		assert_noop!(
			Twins::create(
				origin(&alice()),
				SubjectKind::PatientTwin,
				controller,
				BoundedVec::new()
			),
			Error::<Test>::ControllerNotFound
		);
	});
}

#[test]
fn create_rejects_duplicate_fragments_and_keys() {
	run_test(|| {
		let same_fragment =
			BoundedVec::truncate_from(vec![method("k", sr(100)), method("k", sr(101))]);
		assert_noop!(
			Twins::create(origin(&alice()), SubjectKind::PatientTwin, None, same_fragment),
			Error::<Test>::DuplicateFragment
		);
		let same_key = BoundedVec::truncate_from(vec![method("a", sr(100)), method("b", sr(100))]);
		assert_noop!(
			Twins::create(origin(&alice()), SubjectKind::PatientTwin, None, same_key),
			Error::<Test>::DuplicateKey
		);
	});
}

#[test]
fn create_rejects_invalid_fragments_and_keys() {
	run_test(|| {
		for bad in ["", "key 1", "key#1", "kéy"] {
			let methods = BoundedVec::truncate_from(vec![method(bad, sr(100))]);
			assert_noop!(
				Twins::create(origin(&alice()), SubjectKind::PatientTwin, None, methods),
				Error::<Test>::InvalidFragment
			);
		}
		let uncompressed = BoundedVec::truncate_from(vec![method("k", PublicKey::Ecdsa([4; 33]))]);
		assert_noop!(
			Twins::create(origin(&alice()), SubjectKind::PatientTwin, None, uncompressed),
			Error::<Test>::InvalidKey
		);
		let compressed = BoundedVec::truncate_from(vec![method("k", PublicKey::Ecdsa([2; 33]))]);
		assert_ok!(Twins::create(origin(&alice()), SubjectKind::PatientTwin, None, compressed));
	});
}

#[test]
fn create_fails_when_the_deposit_cannot_be_paid() {
	run_test(|| {
		assert_noop!(
			Twins::create(origin(&poor()), SubjectKind::PatientTwin, None, BoundedVec::new()),
			Error::<Test>::CannotPayDeposit
		);
	});
}

// ---- verification methods ------------------------------------------------------

#[test]
fn add_verification_method_stores_it_and_charges_its_bytes() {
	run_test(|| {
		let did = alice_twin();
		let before = details(did).deposit;
		System::set_block_number(5);
		let new = VerificationMethod {
			fragment: fragment("assert-1"),
			key: PublicKey::Ed25519([7; 32]),
			relationships: Relationships { assertion_method: true, ..Default::default() },
		};
		assert_ok!(Twins::add_verification_method(origin(&alice()), did, new.clone()));
		let record = details(did);
		assert_eq!(record.verification_methods.last(), Some(&new));
		assert_eq!(record.updated, 5);
		assert_eq!(record.deposit, expected_deposit(&record));
		assert_eq!(record.deposit - before, DEPOSIT_PER_BYTE * new.encoded_size() as u64);
		assert_eq!(did_hold(&alice()), record.deposit);
		System::assert_last_event(
			Event::VerificationMethodAdded { did, fragment: fragment("assert-1") }.into(),
		);
	});
}

#[test]
fn add_verification_method_errors() {
	run_test(|| {
		let did = alice_twin();
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), unknown_did(), method("k", sr(5))),
			Error::<Test>::NotFound
		);
		assert_noop!(
			Twins::add_verification_method(origin(&bob()), did, method("k", sr(5))),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, method("key-1", sr(5))),
			Error::<Test>::DuplicateFragment
		);
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, method("k", sr(100))),
			Error::<Test>::DuplicateKey
		);
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, method("a b", sr(5))),
			Error::<Test>::InvalidFragment
		);
		assert_noop!(
			Twins::add_verification_method(
				origin(&alice()),
				did,
				method("k", PublicKey::Ecdsa([0; 33]))
			),
			Error::<Test>::InvalidKey
		);
		assert_ok!(Twins::add_service(origin(&alice()), did, service("svc", "T", "https://a")));
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, method("svc", sr(5))),
			Error::<Test>::DuplicateFragment
		);
		for n in 2..=MAX_METHODS as u8 {
			let name = alloc::format!("key-{n}");
			assert_ok!(Twins::add_verification_method(origin(&alice()), did, method(&name, sr(n))));
		}
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, method("extra", sr(50))),
			Error::<Test>::MaxKeysExceeded
		);
	});
}

#[test]
fn a_signer_who_cannot_pay_the_deposit_changes_nothing() {
	run_test(|| {
		let did =
			create_with(&alice(), SubjectKind::PatientTwin, Some(Controller::Account(poor())), 100);
		assert_noop!(
			Twins::accept_controller(origin(&poor()), did),
			Error::<Test>::CannotPayDeposit
		);
	});
}

#[test]
fn the_signer_of_a_change_takes_over_the_deposit() {
	run_test(|| {
		let did =
			create_with(&alice(), SubjectKind::PatientTwin, Some(Controller::Account(bob())), 100);
		assert_eq!(did_hold(&alice()), details(did).deposit);
		assert_ok!(Twins::accept_controller(origin(&bob()), did));
		assert_ok!(Twins::add_verification_method(origin(&bob()), did, method("k", sr(5))));
		let record = details(did);
		assert_eq!(record.depositor, bob());
		assert_eq!(did_hold(&alice()), 0);
		assert_eq!(did_hold(&bob()), record.deposit);
		assert_eq!(Balances::free_balance(alice()), INITIAL_BALANCE);
	});
}

#[test]
fn remove_verification_method_removes_it_and_refunds_its_bytes() {
	run_test(|| {
		let did = alice_twin();
		let with_one = details(did).deposit;
		assert_ok!(Twins::add_verification_method(origin(&alice()), did, method("k2", sr(5))));
		assert_ok!(Twins::remove_verification_method(origin(&alice()), did, fragment("k2")));
		assert_eq!(details(did).deposit, with_one);
		assert_eq!(did_hold(&alice()), with_one);
		System::assert_last_event(
			Event::VerificationMethodRemoved { did, fragment: fragment("k2") }.into(),
		);
	});
}

#[test]
fn remove_verification_method_errors() {
	run_test(|| {
		let did = alice_twin();
		assert_noop!(
			Twins::remove_verification_method(origin(&alice()), did, fragment("nope")),
			Error::<Test>::MethodNotFound
		);
		assert_noop!(
			Twins::remove_verification_method(origin(&bob()), did, fragment("key-1")),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Twins::remove_verification_method(origin(&alice()), unknown_did(), fragment("key-1")),
			Error::<Test>::NotFound
		);
	});
}

#[test]
fn rotate_key_replaces_a_method_in_place() {
	run_test(|| {
		let did = alice_twin();
		assert_ok!(Twins::add_verification_method(origin(&alice()), did, method("other", sr(5))));
		let new = method("key-2", PublicKey::Ed25519([9; 32]));
		assert_ok!(Twins::rotate_key(origin(&alice()), did, fragment("key-1"), new.clone()));
		let record = details(did);
		assert_eq!(record.verification_methods.first(), Some(&new));
		assert_eq!(record.verification_methods.len(), 2);
		assert_eq!(did_hold(&alice()), expected_deposit(&record));
		System::assert_last_event(
			Event::KeyRotated {
				did,
				old_fragment: fragment("key-1"),
				new_fragment: fragment("key-2"),
			}
			.into(),
		);
		// The rotated-out fragment may be reused.
		assert_ok!(Twins::rotate_key(
			origin(&alice()),
			did,
			fragment("key-2"),
			method("key-1", sr(6))
		));
	});
}

#[test]
fn rotate_key_errors() {
	run_test(|| {
		let did = alice_twin();
		assert_ok!(Twins::add_verification_method(origin(&alice()), did, method("other", sr(5))));
		assert_noop!(
			Twins::rotate_key(origin(&alice()), did, fragment("nope"), method("n", sr(6))),
			Error::<Test>::MethodNotFound
		);
		assert_noop!(
			Twins::rotate_key(origin(&alice()), did, fragment("key-1"), method("n", sr(5))),
			Error::<Test>::DuplicateKey
		);
		assert_noop!(
			Twins::rotate_key(origin(&alice()), did, fragment("key-1"), method("other", sr(6))),
			Error::<Test>::DuplicateFragment
		);
		assert_noop!(
			Twins::rotate_key(origin(&bob()), did, fragment("key-1"), method("n", sr(6))),
			Error::<Test>::NotAuthorized
		);
	});
}

// ---- controllers ---------------------------------------------------------------

#[test]
fn rotate_controller_offers_control_and_the_offered_party_accepts() {
	run_test(|| {
		let did = create_with(&alice(), SubjectKind::Model, None, 100);
		let deposit_before = details(did).deposit;
		assert_ok!(Twins::rotate_controller(origin(&alice()), did, Controller::Account(bob())));
		assert_eq!(details(did).controller, Controller::Account(alice()));
		assert_eq!(details(did).pending_controller, Some(Controller::Account(bob())));
		System::assert_last_event(
			Event::ControllerOffered { did, controller: Controller::Account(bob()) }.into(),
		);
		// Only the offered party accepts.
		assert_noop!(
			Twins::accept_controller(origin(&charlie()), did),
			Error::<Test>::NotAuthorized
		);
		assert_ok!(Twins::accept_controller(origin(&bob()), did));
		let record = details(did);
		assert_eq!(record.controller, Controller::Account(bob()));
		assert_eq!(record.pending_controller, None);
		// The deposit moved to whoever accepted.
		assert_eq!(record.depositor, bob());
		assert_eq!(did_hold(&alice()), 0);
		assert_eq!(did_hold(&bob()), record.deposit);
		assert!(record.deposit < deposit_before + 10, "the offer's bytes are no longer charged");
		assert!(!DidsByController::<Test>::contains_key(Controller::Account(alice()), did));
		assert_eq!(Twins::dids_controlled_by(&Controller::Account(bob()), None, 10), vec![did]);
		System::assert_last_event(
			Event::ControllerRotated {
				did,
				old_controller: Controller::Account(alice()),
				new_controller: Controller::Account(bob()),
			}
			.into(),
		);
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, method("k", sr(5))),
			Error::<Test>::NotAuthorized
		);
		assert_ok!(Twins::add_verification_method(origin(&bob()), did, method("k", sr(5))));
	});
}

#[test]
fn rotate_controller_errors() {
	run_test(|| {
		let did = alice_twin();
		assert_noop!(
			Twins::rotate_controller(origin(&alice()), did, Controller::Account(alice())),
			Error::<Test>::SameController
		);
		assert_noop!(
			Twins::rotate_controller(origin(&alice()), did, Controller::Did(did)),
			Error::<Test>::SelfControl
		);
		assert_noop!(
			Twins::rotate_controller(origin(&alice()), did, Controller::Did(unknown_did())),
			Error::<Test>::ControllerNotFound
		);
		assert_noop!(
			Twins::rotate_controller(origin(&bob()), did, Controller::Account(bob())),
			Error::<Test>::NotAuthorized
		);
	});
}

#[test]
fn a_controlling_did_acts_through_its_account_or_authentication_keys() {
	run_test(|| {
		// The guardian DID is controlled by Charlie, with authentication key [2; 32]
		// (Bob's account) and an assertion-only key [1; 32] (Alice's account).
		let guardian = create_with(&charlie(), SubjectKind::Institution, None, 2);
		let assertion_only = VerificationMethod {
			fragment: fragment("assert"),
			key: sr(1),
			relationships: Relationships { assertion_method: true, ..Default::default() },
		};
		assert_ok!(Twins::add_verification_method(origin(&charlie()), guardian, assertion_only));
		let ward =
			create_with(&charlie(), SubjectKind::PatientTwin, Some(Controller::Did(guardian)), 50);

		assert_ok!(Twins::add_service(origin(&charlie()), ward, service("a", "T", "https://a")));
		assert_ok!(Twins::add_service(origin(&bob()), ward, service("b", "T", "https://b")));
		assert_noop!(
			Twins::add_service(origin(&alice()), ward, service("c", "T", "https://c")),
			Error::<Test>::NotAuthorized
		);
		assert!(Twins::is_controlled_by(&ward, &bob()));
		assert!(!Twins::is_controlled_by(&ward, &alice()));
	});
}

// ---- services ------------------------------------------------------------------

#[test]
fn add_and_remove_service() {
	run_test(|| {
		let did = alice_twin();
		let svc = service("data", "TwinDataEndpoint", "https://hospital.example/twins/1");
		assert_ok!(Twins::add_service(origin(&alice()), did, svc.clone()));
		assert_eq!(details(did).services.first(), Some(&svc));
		assert_eq!(did_hold(&alice()), expected_deposit(&details(did)));
		System::assert_last_event(Event::ServiceAdded { did, fragment: fragment("data") }.into());

		assert_ok!(Twins::remove_service(origin(&alice()), did, fragment("data")));
		assert!(details(did).services.is_empty());
		System::assert_last_event(Event::ServiceRemoved { did, fragment: fragment("data") }.into());
	});
}

#[test]
fn add_service_errors() {
	run_test(|| {
		let did = alice_twin();
		assert_noop!(
			Twins::add_service(origin(&alice()), did, service("s", "has space", "https://a")),
			Error::<Test>::InvalidServiceType
		);
		assert_noop!(
			Twins::add_service(origin(&alice()), did, service("s", "", "https://a")),
			Error::<Test>::InvalidServiceType
		);
		for url in ["no-scheme", "https://a b", "https:", "1http://a", ":rest", "ht tp://a"] {
			assert_noop!(
				Twins::add_service(origin(&alice()), did, service("s", "T", url)),
				Error::<Test>::InvalidServiceEndpoint
			);
		}
		assert_noop!(
			Twins::add_service(origin(&alice()), did, service("key-1", "T", "https://a")),
			Error::<Test>::DuplicateFragment
		);
		assert_noop!(
			Twins::add_service(origin(&alice()), did, service("", "T", "https://a")),
			Error::<Test>::InvalidFragment
		);
		assert_noop!(
			Twins::add_service(origin(&bob()), did, service("s", "T", "https://a")),
			Error::<Test>::NotAuthorized
		);
		for n in 0..MAX_METHODS {
			let name = alloc::format!("s{n}");
			assert_ok!(Twins::add_service(origin(&alice()), did, service(&name, "T", "urn:x")));
		}
		assert_noop!(
			Twins::add_service(origin(&alice()), did, service("more", "T", "urn:x")),
			Error::<Test>::MaxServicesExceeded
		);
	});
}

#[test]
fn remove_service_errors() {
	run_test(|| {
		let did = alice_twin();
		assert_noop!(
			Twins::remove_service(origin(&alice()), did, fragment("nope")),
			Error::<Test>::ServiceNotFound
		);
		assert_ok!(Twins::add_service(origin(&alice()), did, service("s", "T", "https://a")));
		assert_noop!(
			Twins::remove_service(origin(&bob()), did, fragment("s")),
			Error::<Test>::NotAuthorized
		);
	});
}

// ---- metadata ------------------------------------------------------------------

#[test]
fn set_metadata_sets_and_clears_hash_and_schema() {
	run_test(|| {
		let did = alice_twin();
		let hash = H256::repeat_byte(7);
		assert_ok!(Twins::set_metadata(origin(&alice()), did, Some(hash), Some(schema("NWB 2.x"))));
		let record = details(did);
		assert_eq!((record.metadata_hash, record.schema), (Some(hash), Some(schema("NWB 2.x"))));
		assert_eq!(did_hold(&alice()), expected_deposit(&details(did)));
		System::assert_last_event(
			Event::MetadataSet { did, metadata_hash: Some(hash), schema: Some(schema("NWB 2.x")) }
				.into(),
		);
		assert_ok!(Twins::set_metadata(origin(&alice()), did, None, None));
		assert_eq!((details(did).metadata_hash, details(did).schema), (None, None));
	});
}

#[test]
fn set_metadata_errors() {
	run_test(|| {
		let did = alice_twin();
		for bad in [" BIDS", "BIDS ", "", "FH\tIR"] {
			assert_noop!(
				Twins::set_metadata(origin(&alice()), did, None, Some(schema(bad))),
				Error::<Test>::InvalidSchema
			);
		}
		assert_noop!(
			Twins::set_metadata(origin(&bob()), did, None, Some(schema("FHIR"))),
			Error::<Test>::NotAuthorized
		);
	});
}

// ---- deactivation ----------------------------------------------------------------

#[test]
fn deactivate_deletes_the_record_refunds_and_leaves_a_tombstone() {
	run_test(|| {
		let did = alice_twin();
		let deposit = details(did).deposit;
		System::set_block_number(7);
		assert_ok!(Twins::deactivate(origin(&alice()), did));
		assert!(Dids::<Test>::get(did).is_none());
		assert_eq!(did_hold(&alice()), 0);
		assert_eq!(Balances::free_balance(alice()), INITIAL_BALANCE);
		assert!(Twins::dids_controlled_by(&Controller::Account(alice()), None, 10).is_empty());
		assert_eq!(
			Twins::resolve(&did),
			Some(DidResolution::Deactivated {
				kind: SubjectKind::PatientTwin,
				created: 1,
				deactivated: 7
			})
		);
		System::assert_last_event(
			Event::DidDeactivated { did, depositor: alice(), refunded: deposit }.into(),
		);
	});
}

#[test]
fn a_deactivated_did_cannot_change_again() {
	run_test(|| {
		let did = alice_twin();
		assert_ok!(Twins::deactivate(origin(&alice()), did));
		let o = || origin(&alice());
		assert_noop!(Twins::deactivate(o(), did), Error::<Test>::Deactivated);
		assert_noop!(
			Twins::add_verification_method(o(), did, method("k", sr(5))),
			Error::<Test>::Deactivated
		);
		assert_noop!(
			Twins::remove_verification_method(o(), did, fragment("key-1")),
			Error::<Test>::Deactivated
		);
		assert_noop!(
			Twins::rotate_key(o(), did, fragment("key-1"), method("k", sr(5))),
			Error::<Test>::Deactivated
		);
		assert_noop!(
			Twins::rotate_controller(o(), did, Controller::Account(bob())),
			Error::<Test>::Deactivated
		);
		assert_noop!(
			Twins::add_service(o(), did, service("s", "T", "https://a")),
			Error::<Test>::Deactivated
		);
		assert_noop!(Twins::remove_service(o(), did, fragment("s")), Error::<Test>::Deactivated);
		assert_noop!(Twins::set_metadata(o(), did, None, None), Error::<Test>::Deactivated);
		let institution = bob_institution();
		assert_noop!(
			Twins::offer_custody(origin(&bob()), institution, did),
			Error::<Test>::Deactivated
		);
		assert_noop!(Twins::accept_custody(o(), did, institution), Error::<Test>::Deactivated);
		assert_noop!(Twins::offer_patient(o(), did, bob()), Error::<Test>::Deactivated);
		assert_noop!(Twins::accept_controller(o(), did), Error::<Test>::Deactivated);
	});
}

#[test]
fn deactivate_errors() {
	run_test(|| {
		let guardian = bob_institution();
		let ward =
			create_with(&alice(), SubjectKind::PatientTwin, Some(Controller::Did(guardian)), 100);
		assert_ok!(Twins::accept_controller(origin(&bob()), ward));
		assert_noop!(Twins::deactivate(origin(&bob()), guardian), Error::<Test>::StillControlsDids);
		assert_noop!(Twins::deactivate(origin(&alice()), guardian), Error::<Test>::NotAuthorized);
		assert_noop!(Twins::deactivate(origin(&alice()), unknown_did()), Error::<Test>::NotFound);
	});
}

#[test]
fn deactivating_a_twin_ends_its_custody_and_leaves_offers_to_clear() {
	run_test(|| {
		let twin = alice_twin();
		let first = bob_institution();
		let second = create_with(&charlie(), SubjectKind::Institution, None, 102);
		assert_ok!(Twins::offer_custody(origin(&bob()), first, twin));
		assert_ok!(Twins::accept_custody(origin(&alice()), twin, first));
		assert_ok!(Twins::offer_custody(origin(&charlie()), second, twin));
		assert_ok!(Twins::deactivate(origin(&alice()), twin));
		assert_eq!((custody_hold(&bob()), custody_hold(&charlie())), (0, CUSTODY_DEPOSIT));
		assert!(Custodians::<Test>::get(twin).is_none());
		assert!(CustodyLoads::<Test>::get(first).is_empty());
		// Anyone may clear an offer for a twin that is gone; the deposit goes home.
		assert_ok!(Twins::cancel_custody_offer(origin(&alice()), twin, second));
		assert_eq!(custody_hold(&charlie()), 0);
		assert!(CustodyLoads::<Test>::get(second).is_empty());
	});
}

#[test]
fn an_institution_in_custody_or_with_offers_cannot_be_deactivated() {
	run_test(|| {
		let twin = alice_twin();
		let institution = bob_institution();
		assert_ok!(Twins::offer_custody(origin(&bob()), institution, twin));
		assert_noop!(
			Twins::deactivate(origin(&bob()), institution),
			Error::<Test>::InstitutionInCustody
		);
		assert_ok!(Twins::accept_custody(origin(&alice()), twin, institution));
		assert_noop!(
			Twins::deactivate(origin(&bob()), institution),
			Error::<Test>::InstitutionInCustody
		);
		// Its deposit is always recoverable: it can end custody itself.
		assert_ok!(Twins::end_custody(origin(&bob()), twin));
		assert_ok!(Twins::deactivate(origin(&bob()), institution));
		assert_eq!(custody_hold(&bob()), 0);
	});
}

// ---- custody -------------------------------------------------------------------

#[test]
fn custody_is_offered_then_accepted() {
	run_test(|| {
		let twin = alice_twin();
		let institution = bob_institution();
		assert_ok!(Twins::offer_custody(origin(&bob()), institution, twin));
		assert_eq!(custody_hold(&bob()), CUSTODY_DEPOSIT);
		assert_eq!(Twins::custodian(&twin), None);
		assert_eq!(CustodyLoads::<Test>::get(institution), CustodyLoad { offers: 1, custodies: 0 });
		System::assert_last_event(Event::CustodyOffered { twin, institution }.into());

		assert_ok!(Twins::accept_custody(origin(&alice()), twin, institution));
		assert_eq!(Twins::custodian(&twin), Some(institution));
		assert!(CustodyOffers::<Test>::get(twin, institution).is_none());
		assert_eq!(CustodyLoads::<Test>::get(institution), CustodyLoad { offers: 0, custodies: 1 });
		assert_eq!(custody_hold(&bob()), CUSTODY_DEPOSIT);
		System::assert_last_event(Event::CustodyAccepted { twin, institution }.into());
		match Twins::resolve(&twin) {
			Some(DidResolution::Active(view)) => assert_eq!(view.custodian, Some(institution)),
			other => panic!("unexpected resolution {other:?}"),
		}
	});
}

/// Before the fix one pending offer blocked every other institution: a
/// squatter's offer kept the twin from custody by anyone else.
#[test]
fn attack_custody_offer_squatting() {
	run_test(|| {
		let twin = alice_twin();
		let squatter = create_with(&charlie(), SubjectKind::Institution, None, 102);
		let hospital = bob_institution();
		assert_ok!(Twins::offer_custody(origin(&charlie()), squatter, twin));
		assert_ok!(Twins::offer_custody(origin(&bob()), hospital, twin));
		assert_ok!(Twins::accept_custody(origin(&alice()), twin, hospital));
		assert_eq!(Twins::custodian(&twin), Some(hospital));
		// The squatter's offer stays its own affair, and the patient can reject it.
		assert_ok!(Twins::cancel_custody_offer(origin(&alice()), twin, squatter));
		assert_eq!(custody_hold(&charlie()), 0);
	});
}

#[test]
fn accepting_a_new_custodian_ends_the_old_custody() {
	run_test(|| {
		let twin = alice_twin();
		let first = bob_institution();
		let second = create_with(&charlie(), SubjectKind::Institution, None, 102);
		assert_ok!(Twins::offer_custody(origin(&bob()), first, twin));
		assert_ok!(Twins::accept_custody(origin(&alice()), twin, first));
		assert_ok!(Twins::offer_custody(origin(&charlie()), second, twin));
		assert_ok!(Twins::accept_custody(origin(&alice()), twin, second));
		assert_eq!(Twins::custodian(&twin), Some(second));
		assert_eq!((custody_hold(&bob()), custody_hold(&charlie())), (0, CUSTODY_DEPOSIT));
		assert!(CustodyLoads::<Test>::get(first).is_empty());
		System::assert_has_event(Event::CustodyEnded { twin, institution: first }.into());
	});
}

#[test]
fn offer_custody_errors() {
	run_test(|| {
		let twin = alice_twin();
		let institution = bob_institution();
		let dataset = create_with(&alice(), SubjectKind::Dataset, None, 102);
		assert_noop!(
			Twins::offer_custody(origin(&alice()), twin, twin),
			Error::<Test>::NotAnInstitution
		);
		assert_noop!(
			Twins::offer_custody(origin(&bob()), institution, dataset),
			Error::<Test>::NotATwin
		);
		assert_noop!(
			Twins::offer_custody(origin(&alice()), institution, twin),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Twins::offer_custody(origin(&bob()), institution, unknown_did()),
			Error::<Test>::NotFound
		);
		assert_ok!(Twins::offer_custody(origin(&bob()), institution, twin));
		assert_noop!(
			Twins::offer_custody(origin(&bob()), institution, twin),
			Error::<Test>::CustodyOfferPending
		);
		assert_ok!(Twins::accept_custody(origin(&alice()), twin, institution));
		assert_noop!(
			Twins::offer_custody(origin(&bob()), institution, twin),
			Error::<Test>::AlreadyCustodian
		);
	});
}

#[test]
fn offer_custody_fails_when_the_deposit_cannot_be_paid() {
	run_test(|| {
		let twin = alice_twin();
		// Poor acts for the institution through its guardian's authentication key.
		let guardian = create_with(&alice(), SubjectKind::Institution, None, 9);
		let poor_institution =
			create_with(&alice(), SubjectKind::Institution, Some(Controller::Did(guardian)), 103);
		assert_noop!(
			Twins::offer_custody(origin(&poor()), poor_institution, twin),
			Error::<Test>::CannotPayDeposit
		);
	});
}

#[test]
fn accept_custody_errors() {
	run_test(|| {
		let twin = alice_twin();
		let institution = bob_institution();
		assert_noop!(
			Twins::accept_custody(origin(&alice()), twin, institution),
			Error::<Test>::NoCustodyOffer
		);
		assert_ok!(Twins::offer_custody(origin(&bob()), institution, twin));
		assert_noop!(
			Twins::accept_custody(origin(&bob()), twin, institution),
			Error::<Test>::NotAuthorized
		);
	});
}

#[test]
fn either_side_may_cancel_an_offer() {
	run_test(|| {
		let twin = alice_twin();
		let institution = bob_institution();
		for canceller in [alice(), bob()] {
			assert_ok!(Twins::offer_custody(origin(&bob()), institution, twin));
			assert_noop!(
				Twins::cancel_custody_offer(origin(&charlie()), twin, institution),
				Error::<Test>::NotAuthorized
			);
			assert_ok!(Twins::cancel_custody_offer(origin(&canceller), twin, institution));
			assert_eq!(custody_hold(&bob()), 0);
			System::assert_last_event(Event::CustodyOfferCancelled { twin, institution }.into());
		}
		assert_noop!(
			Twins::cancel_custody_offer(origin(&alice()), twin, institution),
			Error::<Test>::NoCustodyOffer
		);
	});
}

#[test]
fn either_side_may_end_custody() {
	run_test(|| {
		let twin = alice_twin();
		let institution = bob_institution();
		assert_noop!(Twins::end_custody(origin(&alice()), twin), Error::<Test>::NoCustodian);
		for ender in [alice(), bob()] {
			assert_ok!(Twins::offer_custody(origin(&bob()), institution, twin));
			assert_ok!(Twins::accept_custody(origin(&alice()), twin, institution));
			assert_noop!(
				Twins::end_custody(origin(&charlie()), twin),
				Error::<Test>::NotAuthorized
			);
			assert_ok!(Twins::end_custody(origin(&ender), twin));
			assert_eq!(Twins::custodian(&twin), None);
			assert_eq!(custody_hold(&bob()), 0);
			System::assert_last_event(Event::CustodyEnded { twin, institution }.into());
		}
	});
}

// ---- resolution --------------------------------------------------------------------

#[test]
fn resolve_returns_the_view_or_nothing() {
	run_test(|| {
		assert_eq!(Twins::resolve(&unknown_did()), None);
		let did = alice_twin();
		assert_ok!(Twins::add_service(origin(&alice()), did, service("s", "T", "https://a")));
		match Twins::resolve(&did) {
			Some(DidResolution::Active(view)) => {
				assert_eq!(view.kind, SubjectKind::PatientTwin);
				assert_eq!(view.controller, Controller::Account(alice()));
				assert_eq!(view.verification_methods.len(), 1);
				assert_eq!(
					view.services.first().map(|s| s.endpoint.clone()),
					Some(b"https://a".to_vec())
				);
				assert_eq!((view.created, view.updated), (1, 1));
			},
			other => panic!("unexpected resolution {other:?}"),
		}
	});
}

// ---- genesis -------------------------------------------------------------------

#[test]
fn genesis_creates_dids_and_custody() {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(alice(), INITIAL_BALANCE), (bob(), INITIAL_BALANCE)],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	crate::GenesisConfig::<Test> {
		dids: vec![
			GenesisDid {
				creator: bob(),
				kind: SubjectKind::Institution,
				sr25519_key: [2; 32],
				custodian: None,
			},
			GenesisDid {
				creator: alice(),
				kind: SubjectKind::PatientTwin,
				sr25519_key: [1; 32],
				custodian: Some(0),
			},
		],
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	sp_io::TestExternalities::new(storage).execute_with(|| {
		let institution = Twins::derive_did(&bob(), 0);
		let twin = Twins::derive_did(&alice(), 1);
		assert_eq!(Twins::active_kind(&institution), Some(SubjectKind::Institution));
		assert_eq!(Twins::custodian(&twin), Some(institution));
		assert!(Twins::is_patient(&twin, &alice()));
		assert_eq!(custody_hold(&bob()), CUSTODY_DEPOSIT);
		assert_eq!(CustodyLoads::<Test>::get(institution), CustodyLoad { offers: 0, custodies: 1 });
		Twins::do_try_state().expect("genesis state is consistent");
	});
}

// ---- handovers -------------------------------------------------------------------

#[test]
fn accepting_a_twin_created_for_you_makes_you_its_controller_and_patient() {
	run_test(|| {
		let twin = create_with(
			&charlie(),
			SubjectKind::PatientTwin,
			Some(Controller::Account(alice())),
			100,
		);
		assert_ok!(Twins::accept_controller(origin(&alice()), twin));
		let record = details(twin);
		assert_eq!(record.controller, Controller::Account(alice()));
		assert_eq!(record.patient, Some(alice()));
		assert_eq!((record.pending_controller, record.pending_patient), (None, None));
		assert_eq!((record.depositor, did_hold(&charlie())), (alice(), 0));
		System::assert_last_event(Event::PatientBound { twin, patient: alice() }.into());
	});
}

#[test]
fn accept_controller_errors() {
	run_test(|| {
		let did = alice_twin();
		assert_noop!(
			Twins::accept_controller(origin(&bob()), did),
			Error::<Test>::NoPendingHandover
		);
		assert_noop!(
			Twins::accept_controller(origin(&bob()), unknown_did()),
			Error::<Test>::NotFound
		);
		assert_ok!(Twins::rotate_controller(origin(&alice()), did, Controller::Account(bob())));
		assert_noop!(Twins::accept_controller(origin(&alice()), did), Error::<Test>::NotAuthorized);
	});
}

#[test]
fn an_offered_did_controller_is_accepted_by_one_acting_for_it() {
	run_test(|| {
		let guardian = bob_institution();
		let twin = alice_twin();
		assert_ok!(Twins::rotate_controller(origin(&alice()), twin, Controller::Did(guardian)));
		// Bob controls the guardian by account, so he acts for it.
		assert_ok!(Twins::accept_controller(origin(&bob()), twin));
		assert_eq!(details(twin).controller, Controller::Did(guardian));
		// Alice stays the patient of her twin.
		assert!(Twins::is_patient(&twin, &alice()));
	});
}

/// A controls B controls A: before the fix only self-control was rejected.
#[test]
fn attack_controller_cycle() {
	run_test(|| {
		// Each DID's authentication key is Alice's account key, so she acts through it.
		let a = create_with(&alice(), SubjectKind::Institution, None, 1);
		let b = create_with(&alice(), SubjectKind::Institution, Some(Controller::Did(a)), 1);
		assert_eq!(details(b).controller, Controller::Did(a));
		assert_noop!(
			Twins::rotate_controller(origin(&alice()), a, Controller::Did(b)),
			Error::<Test>::ControllerCycle
		);
		// Longer cycles too: A <- B <- C, then A under C.
		let c = create_with(&alice(), SubjectKind::Institution, Some(Controller::Did(b)), 1);
		assert_eq!(details(c).controller, Controller::Did(b));
		assert_noop!(
			Twins::rotate_controller(origin(&alice()), a, Controller::Did(c)),
			Error::<Test>::ControllerCycle
		);
	});
}

#[test]
fn a_controller_chain_longer_than_the_bound_is_rejected() {
	run_test(|| {
		let mut above = create_with(&alice(), SubjectKind::Institution, None, 1);
		for _ in 0..MAX_CONTROLLER_DEPTH {
			above =
				create_with(&alice(), SubjectKind::Institution, Some(Controller::Did(above)), 1);
			assert!(matches!(details(above).controller, Controller::Did(_)));
		}
		let methods = BoundedVec::truncate_from(vec![method("key-1", sr(120))]);
		assert_noop!(
			Twins::create(
				origin(&alice()),
				SubjectKind::Model,
				Some(Controller::Did(above)),
				methods
			),
			Error::<Test>::ControllerChainTooDeep
		);
	});
}

#[test]
fn a_controller_nobody_can_act_through_is_rejected() {
	run_test(|| {
		let top = create_with(&alice(), SubjectKind::Institution, None, 100);
		let keyless = {
			assert_ok!(Twins::create(
				origin(&alice()),
				SubjectKind::Institution,
				Some(Controller::Did(top)),
				BoundedVec::new()
			));
			last_created()
		};
		assert_noop!(
			Twins::create(
				origin(&alice()),
				SubjectKind::Model,
				Some(Controller::Did(keyless)),
				BoundedVec::new()
			),
			Error::<Test>::ControllerCannotAct
		);
	});
}

#[test]
fn the_last_authentication_path_of_a_controlling_did_stays() {
	run_test(|| {
		let top = create_with(&alice(), SubjectKind::Institution, None, 100);
		let middle = create_with(&alice(), SubjectKind::Institution, Some(Controller::Did(top)), 1);
		let ward = create_with(&alice(), SubjectKind::Model, Some(Controller::Did(middle)), 102);
		assert_eq!(details(ward).controller, Controller::Did(middle));
		// Middle's only authentication key is how anyone acts for the ward.
		assert_noop!(
			Twins::remove_verification_method(origin(&alice()), middle, fragment("key-1")),
			Error::<Test>::LastAuthenticationPath
		);
		let assertion_only = VerificationMethod {
			fragment: fragment("k2"),
			key: sr(103),
			relationships: Relationships { assertion_method: true, ..Default::default() },
		};
		assert_noop!(
			Twins::rotate_key(origin(&alice()), middle, fragment("key-1"), assertion_only),
			Error::<Test>::LastAuthenticationPath
		);
		// Rotating to another authentication key keeps the path.
		assert_ok!(Twins::rotate_key(
			origin(&alice()),
			middle,
			fragment("key-1"),
			method("k3", sr(104))
		));
	});
}

// ---- patient position ------------------------------------------------------------

/// A guardian-held twin with a patient bound.
fn guarded_twin() -> (DidId, DidId) {
	let guardian = bob_institution();
	let twin = create_with(&bob(), SubjectKind::PatientTwin, Some(Controller::Did(guardian)), 100);
	assert_eq!(details(twin).patient, None);
	assert_ok!(Twins::offer_patient(origin(&bob()), twin, alice()));
	System::assert_last_event(Event::PatientOffered { twin, patient: alice() }.into());
	assert_ok!(Twins::accept_patient(origin(&alice()), twin));
	System::assert_last_event(Event::PatientBound { twin, patient: alice() }.into());
	(twin, guardian)
}

#[test]
fn a_patient_accepts_the_position_a_guardian_offers() {
	run_test(|| {
		let (twin, _) = guarded_twin();
		let record = details(twin);
		assert_eq!((record.patient, record.pending_patient), (Some(alice()), None));
		assert_eq!(record.depositor, alice());
		assert_eq!(
			Twins::access(&twin, &bob()).and_then(|a| a.role),
			Some(twinnet_primitives::traits::DidRole::Controller)
		);
		assert_eq!(
			Twins::access(&twin, &alice()).and_then(|a| a.role),
			Some(twinnet_primitives::traits::DidRole::Patient)
		);
	});
}

/// A guardian tries to become the patient: add its own authentication key,
/// remove or rotate the patient's, or hand the patient position to itself.
#[test]
fn attack_guardian_takes_over_the_patient_position() {
	run_test(|| {
		let (twin, _) = guarded_twin();
		assert_ok!(Twins::add_verification_method(
			origin(&alice()),
			twin,
			method("patient-key", sr(1))
		));
		let guardian = || origin(&bob());
		assert_noop!(
			Twins::add_verification_method(guardian(), twin, method("mine", sr(2))),
			Error::<Test>::PatientProtected
		);
		assert_noop!(
			Twins::remove_verification_method(guardian(), twin, fragment("patient-key")),
			Error::<Test>::PatientProtected
		);
		assert_noop!(
			Twins::rotate_key(guardian(), twin, fragment("patient-key"), method("mine", sr(2))),
			Error::<Test>::PatientProtected
		);
		assert_noop!(
			Twins::offer_patient(guardian(), twin, bob()),
			Error::<Test>::PatientProtected
		);
		// What a guardian may still do: services, non-authentication keys.
		let assertion_only = VerificationMethod {
			fragment: fragment("assert"),
			key: sr(5),
			relationships: Relationships { assertion_method: true, ..Default::default() },
		};
		assert_ok!(Twins::add_verification_method(guardian(), twin, assertion_only));
		assert!(Twins::is_patient(&twin, &alice()) && !Twins::is_patient(&twin, &bob()));
	});
}

#[test]
fn the_patient_may_move_to_a_new_account_and_take_control() {
	run_test(|| {
		let (twin, _) = guarded_twin();
		assert_ok!(Twins::offer_patient(origin(&alice()), twin, charlie()));
		assert_ok!(Twins::accept_patient(origin(&charlie()), twin));
		assert!(Twins::is_patient(&twin, &charlie()));
		// The patient may also take control from the guardian, at once.
		assert_ok!(Twins::rotate_controller(
			origin(&charlie()),
			twin,
			Controller::Account(charlie())
		));
		assert_eq!(details(twin).controller, Controller::Account(charlie()));
	});
}

#[test]
fn offer_and_accept_patient_errors() {
	run_test(|| {
		let institution = bob_institution();
		assert_noop!(
			Twins::offer_patient(origin(&bob()), institution, alice()),
			Error::<Test>::NotATwin
		);
		let twin = alice_twin();
		assert_noop!(
			Twins::offer_patient(origin(&alice()), twin, alice()),
			Error::<Test>::AlreadyPatient
		);
		assert_noop!(
			Twins::offer_patient(origin(&bob()), twin, bob()),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(Twins::accept_patient(origin(&bob()), twin), Error::<Test>::NoPendingHandover);
		assert_ok!(Twins::offer_patient(origin(&alice()), twin, bob()));
		assert_noop!(
			Twins::accept_patient(origin(&charlie()), twin),
			Error::<Test>::NoPendingHandover
		);
	});
}

#[test]
fn cancel_handover_by_either_party() {
	run_test(|| {
		let did = alice_twin();
		assert_noop!(
			Twins::cancel_handover(origin(&alice()), did),
			Error::<Test>::NoPendingHandover
		);
		for canceller in [alice(), bob()] {
			assert_ok!(Twins::rotate_controller(origin(&alice()), did, Controller::Account(bob())));
			assert_noop!(
				Twins::cancel_handover(origin(&charlie()), did),
				Error::<Test>::NotAuthorized
			);
			assert_ok!(Twins::cancel_handover(origin(&canceller), did));
			let record = details(did);
			assert_eq!(record.pending_controller, None);
			// The deposit stays with Alice, shrunk to the record without the offer.
			assert_eq!((record.depositor.clone(), did_hold(&bob())), (alice(), 0));
			assert_eq!(record.deposit, expected_deposit(&record));
			System::assert_last_event(Event::HandoverCancelled { did, by: canceller }.into());
		}
	});
}

// ---- keys ----------------------------------------------------------------------

#[test]
fn key_agreement_takes_x25519_keys_only() {
	run_test(|| {
		let did = alice_twin();
		let agreement = Relationships { key_agreement: true, ..Default::default() };
		let signing_agreement =
			VerificationMethod { fragment: fragment("ka"), key: sr(5), relationships: agreement };
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, signing_agreement),
			Error::<Test>::InvalidRelationships
		);
		let x25519_auth = method("ka", PublicKey::X25519([5; 32]));
		assert_noop!(
			Twins::add_verification_method(origin(&alice()), did, x25519_auth),
			Error::<Test>::InvalidRelationships
		);
		let x25519 = VerificationMethod {
			fragment: fragment("ka"),
			key: PublicKey::X25519([5; 32]),
			relationships: agreement,
		};
		assert_ok!(Twins::add_verification_method(origin(&alice()), did, x25519));
		assert_eq!(
			Twins::keys_for(&did, Relationship::KeyAgreement),
			vec![PublicKey::X25519([5; 32])]
		);
		assert_eq!(Twins::keys_for(&did, Relationship::Authentication), vec![sr(100)]);
	});
}

#[test]
fn verify_signature_checks_the_keys_of_the_relationship() {
	use sp_core::{sr25519, Pair};
	run_test(|| {
		let pair = sr25519::Pair::from_seed(&[7; 32]);
		let did = alice_twin();
		let message = b"commitment 0xabc";
		let signature = DidSignature::Sr25519(pair.sign(message).0);
		// Not yet an assertion key: an authentication key does not attest.
		assert_ok!(Twins::add_verification_method(
			origin(&alice()),
			did,
			method("auth", PublicKey::Sr25519(pair.public().0))
		));
		assert!(!Twins::verify_signature(&did, Relationship::AssertionMethod, message, &signature));
		let assertion = VerificationMethod {
			fragment: fragment("assert"),
			key: PublicKey::Sr25519(pair.public().0),
			relationships: Relationships { assertion_method: true, ..Default::default() },
		};
		assert_ok!(Twins::remove_verification_method(origin(&alice()), did, fragment("auth")));
		assert_ok!(Twins::add_verification_method(origin(&alice()), did, assertion));
		assert!(Twins::verify_signature(&did, Relationship::AssertionMethod, message, &signature));
		assert!(!Twins::verify_signature(
			&did,
			Relationship::AssertionMethod,
			b"another message",
			&signature
		));
		// The same bytes as an ed25519 signature never verify against an sr25519 key.
		let DidSignature::Sr25519(raw) = signature else { unreachable!() };
		assert!(!Twins::verify_signature(
			&did,
			Relationship::AssertionMethod,
			message,
			&DidSignature::Ed25519(raw)
		));
	});
}

// ---- listing, bounds, migration --------------------------------------------------

#[test]
fn dids_controlled_by_pages() {
	run_test(|| {
		let dids: Vec<DidId> = (0..3)
			.map(|k| create_with(&alice(), SubjectKind::Model, None, 100 + k))
			.collect();
		let controller = Controller::Account(alice());
		let first = Twins::dids_controlled_by(&controller, None, 2);
		assert_eq!(first.len(), 2);
		let rest = Twins::dids_controlled_by(&controller, first.last().copied(), 2);
		assert_eq!(rest.len(), 1);
		let mut all: Vec<DidId> = first.into_iter().chain(rest).collect();
		all.sort();
		let mut expected = dids;
		expected.sort();
		assert_eq!(all, expected);
	});
}

#[test]
fn the_test_configuration_passes_the_integrity_test() {
	use frame_support::traits::Hooks;
	run_test(<Twins as Hooks<u64>>::integrity_test);
}

#[test]
fn migration_to_v2_upgrades_records_and_custody_offers() {
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	new_test_ext().execute_with(|| {
		StorageVersion::new(1).put::<Twins>();
		let twin = H256::repeat_byte(1);
		let institution_did = H256::repeat_byte(2);
		let old_method = || crate::migrations::v1::VerificationMethod::<Test> {
			fragment: fragment("key-1"),
			key: sr(100),
			relationships: crate::migrations::v1::Relationships {
				authentication: true,
				assertion_method: false,
				capability_delegation: false,
				key_agreement: true,
			},
		};
		let old = |kind, controller| crate::migrations::v1::DidDetails::<Test> {
			kind,
			controller,
			verification_methods: BoundedVec::truncate_from(vec![old_method()]),
			services: BoundedVec::new(),
			metadata_hash: None,
			schema: None,
			depositor: alice(),
			deposit: 10,
			created: 1,
			updated: 1,
		};
		let records = [
			(twin, old(SubjectKind::PatientTwin, Controller::Account(alice()))),
			(institution_did, old(SubjectKind::Institution, Controller::Account(alice()))),
		];
		for (did, record) in &records {
			frame_support::storage::unhashed::put(&Dids::<Test>::hashed_key_for(did), record);
			DidsByController::<Test>::insert(Controller::Account(alice()), did, ());
		}
		assert_ok!(<Balances as frame_support::traits::fungible::MutateHold<_>>::hold(
			&HoldReason::DidDeposit.into(),
			&alice(),
			20
		));
		assert_ok!(<Balances as frame_support::traits::fungible::MutateHold<_>>::hold(
			&HoldReason::CustodyDeposit.into(),
			&bob(),
			CUSTODY_DEPOSIT
		));
		crate::migrations::v1::CustodyOffers::<Test>::insert(
			twin,
			Custody { institution: institution_did, depositor: bob() },
		);

		crate::migrations::MigrateToV2::<Test>::on_runtime_upgrade();

		assert_eq!(Twins::on_chain_storage_version(), 2);
		let upgraded = details(twin);
		assert_eq!(upgraded.patient, Some(alice()));
		let relationships = upgraded.verification_methods.first().map(|m| m.relationships);
		assert_eq!(relationships, Some(auth()), "signing keys no longer serve keyAgreement");
		assert_eq!(details(institution_did).patient, None);
		assert_eq!(CustodyOffers::<Test>::get(twin, institution_did), Some(bob()));
		assert_eq!(
			CustodyLoads::<Test>::get(institution_did),
			CustodyLoad { offers: 1, custodies: 0 }
		);
		Twins::do_try_state().expect("migrated state is consistent");
	});
}
