#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

//! Unit tests of pallet-datasets: each call's success and every error,
//! storage unchanged on error, invariants after each test.

use frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
	BoundedVec,
};
use proptest::prelude::*;
use sp_core::H256;
use sp_runtime::{traits::BadOrigin, Perbill};
use twinnet_primitives::{
	consent::{Computation, ConsentDenied, JobRound, Purpose, Scope},
	datasets::{AccessDenied, AssetState, DatasetAccess, Exclusion, Schema},
	did::{DidId, SubjectKind},
	traits::DidDependents,
};

/// A job round running `code` (on no Model DID).
fn computation(code: H256) -> Computation {
	Computation { round: JobRound { job: 0, round: 0 }, model: None, code_hash: code }
}

use crate::{
	mock::*, split_price, Children, ContributionCount, DatasetOf, DatasetOfCollection, Descriptor,
	DescriptorOf, Error, Event, HoldReason, LicenceTerms, Lineage, LineageOf, Scopes, Split,
	TermsOf,
};

const PRICE: u64 = 1_000;
const DURATION: u64 = 100;
const CODE: H256 = H256::repeat_byte(0xc0);

fn descriptor(location: &[u8]) -> DescriptorOf<Test> {
	Descriptor {
		content_hash: H256::repeat_byte(1),
		location: BoundedVec::truncate_from(location.to_vec()),
		schema: Schema::Nwb2,
		size_bytes: 1 << 30,
		record_count: 120,
		metadata_hash: H256::repeat_byte(2),
	}
}

fn terms() -> TermsOf<Test> {
	LicenceTerms {
		price: PRICE,
		scopes: Scopes { view: false, compute: true },
		purposes: BoundedVec::truncate_from(vec![Purpose::Research, Purpose::ModelTraining]),
		duration: DURATION,
		max_licences: 3,
		transferable: false,
	}
}

fn no_lineage() -> LineageOf<Test> {
	Lineage { parents: BoundedVec::new(), transformation: None }
}

fn derived_from(parents: &[DidId]) -> LineageOf<Test> {
	Lineage {
		parents: BoundedVec::truncate_from(parents.to_vec()),
		transformation: Some(H256::repeat_byte(7)),
	}
}

/// An institution controlled by the publisher, and a Dataset DID of it.
struct Fixture {
	institution: DidId,
	dataset: DidId,
}

impl Fixture {
	fn new() -> Self {
		Self {
			institution: create_did(&publisher(), SubjectKind::Institution),
			dataset: create_did(&publisher(), SubjectKind::Dataset),
		}
	}

	fn register_with(&self, terms: TermsOf<Test>, lineage: LineageOf<Test>) -> DispatchResult {
		Datasets::register(
			RuntimeOrigin::signed(publisher()),
			self.dataset,
			self.institution,
			Box::new(descriptor(b"s3://bucket/cohort.nwb.enc")),
			Box::new(terms),
			lineage,
			2,
		)
	}

	fn register(&self) {
		assert_ok!(self.register_with(terms(), no_lineage()));
	}

	/// Patients `ns`' twins, consenting, in the institution's custody.
	fn twins(&self, ns: &[u8]) -> Vec<DidId> {
		ns.iter()
			.map(|n| consenting_twin(&patient(*n), &publisher(), &self.institution))
			.collect()
	}

	fn add(&self, twins: &[DidId]) -> DispatchResult {
		Datasets::add_contributors(
			RuntimeOrigin::signed(publisher()),
			self.dataset,
			BoundedVec::truncate_from(twins.to_vec()),
		)
	}

	/// Registered, with patients 1 and 2 contributing and the code allowed.
	fn open() -> (Self, Vec<DidId>) {
		let fixture = Self::new();
		fixture.register();
		let twins = fixture.twins(&[1, 2]);
		assert_ok!(fixture.add(&twins));
		assert_ok!(Datasets::set_algorithms(
			RuntimeOrigin::signed(publisher()),
			fixture.dataset,
			BoundedVec::truncate_from(vec![CODE]),
			false,
		));
		(fixture, twins)
	}

	fn record(&self) -> DatasetOf<Test> {
		crate::Datasets::<Test>::get(self.dataset).expect("registered")
	}

	fn buy(&self, who: AccountId32) -> DispatchResultWithPostInfo {
		Datasets::buy_licence(
			RuntimeOrigin::signed(who),
			self.dataset,
			Scope::Compute,
			Purpose::Research,
			PRICE,
		)
	}
}

use frame_support::{dispatch::DispatchResultWithPostInfo, pallet_prelude::DispatchResult};
use sp_runtime::AccountId32;

fn held(who: &AccountId32) -> u64 {
	Balances::balance_on_hold(&HoldReason::DatasetDeposit.into(), who)
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

fn revoke(twin: &DidId, n: u8, scope: Scope) {
	let grants: Vec<_> = pallet_consent::Grants::<Test>::iter_prefix(twin)
		.filter(|(_, grant)| grant.terms.scope == scope && grant.revoked_at.is_none())
		.map(|(id, _)| id)
		.collect();
	for grant in grants {
		assert_ok!(Consent::revoke(RuntimeOrigin::signed(patient(n)), *twin, grant));
	}
}

// ---- register ----

#[test]
fn register_stores_the_dataset_and_holds_its_deposit() {
	run_test(|| {
		let fixture = Fixture::new();
		fixture.register();
		let record = fixture.record();
		assert_eq!(record.institution, fixture.institution);
		assert_eq!(record.state, AssetState::Active);
		assert!(!record.meets_floor(), "no contributors yet: ordering suspended");
		assert_eq!(held(&publisher()), record.deposit);
		assert!(record.deposit > DEPOSIT_BASE);
		assert_eq!(DatasetOfCollection::<Test>::get(record.collection), Some(fixture.dataset));
		assert_eq!(
			pallet_nfts::Collection::<Test>::get(record.collection).map(|c| c.owner),
			Some(Datasets::account_id())
		);
		assert!(matches!(last_event(), RuntimeEvent::Datasets(Event::Registered { .. })));
	});
}

#[test]
fn register_refuses_bad_origins_and_dids() {
	run_test(|| {
		let fixture = Fixture::new();
		let foreign_institution = create_did(&other_publisher(), SubjectKind::Institution);
		let register = |who: AccountId32, dataset: DidId, institution: DidId| {
			Datasets::register(
				RuntimeOrigin::signed(who),
				dataset,
				institution,
				Box::new(descriptor(b"s3://x")),
				Box::new(terms()),
				no_lineage(),
				2,
			)
		};
		assert_noop!(
			Datasets::register(
				RuntimeOrigin::none(),
				fixture.dataset,
				fixture.institution,
				Box::new(descriptor(b"s3://x")),
				Box::new(terms()),
				no_lineage(),
				2
			),
			BadOrigin
		);
		assert_noop!(
			register(publisher(), fixture.dataset, foreign_institution),
			Error::<Test>::NotAnInstitution
		);
		assert_noop!(
			register(publisher(), fixture.dataset, fixture.dataset),
			Error::<Test>::NotAnInstitution
		);
		assert_noop!(
			register(publisher(), fixture.institution, fixture.institution),
			Error::<Test>::NotADatasetDid
		);
		assert_noop!(
			register(stranger(), fixture.dataset, fixture.institution),
			Error::<Test>::NotAnInstitution
		);
		fixture.register();
		assert_noop!(
			register(publisher(), fixture.dataset, fixture.institution),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn register_refuses_bad_descriptors_and_terms() {
	run_test(|| {
		let fixture = Fixture::new();
		for location in [&b""[..], b"no-scheme", b"s3:", b"1s3://x", b"s3://a b", b"s3://\x7f"] {
			assert_noop!(
				Datasets::register(
					RuntimeOrigin::signed(publisher()),
					fixture.dataset,
					fixture.institution,
					Box::new(descriptor(location)),
					Box::new(terms()),
					no_lineage(),
					2
				),
				Error::<Test>::InvalidLocation
			);
		}
		let cases: [(fn(&mut TermsOf<Test>), Error<Test>); 6] = [
			(|t| t.scopes = Scopes { view: false, compute: false }, Error::<Test>::NoScopes),
			(|t| t.purposes = BoundedVec::new(), Error::<Test>::NoPurposes),
			(
				|t| {
					t.purposes =
						BoundedVec::truncate_from(vec![Purpose::ModelTraining, Purpose::Research])
				},
				Error::<Test>::UnsortedPurposes,
			),
			(
				|t| {
					t.purposes =
						BoundedVec::truncate_from(vec![Purpose::Research, Purpose::Research])
				},
				Error::<Test>::UnsortedPurposes,
			),
			(|t| t.duration = 0, Error::<Test>::ZeroDuration),
			(|t| t.max_licences = 0, Error::<Test>::ZeroMaxLicences),
		];
		for (spoil, error) in cases {
			let mut bad = terms();
			spoil(&mut bad);
			assert_noop!(fixture.register_with(bad, no_lineage()), error);
		}
		assert_noop!(
			Datasets::register(
				RuntimeOrigin::signed(publisher()),
				fixture.dataset,
				fixture.institution,
				Box::new(descriptor(b"s3://x")),
				Box::new(terms()),
				no_lineage(),
				1
			),
			Error::<Test>::FloorTooLow
		);
	});
}

#[test]
fn register_checks_lineage() {
	run_test(|| {
		let parent = Fixture::new();
		parent.register();
		let child = Fixture {
			institution: parent.institution,
			dataset: create_did(&publisher(), SubjectKind::Dataset),
		};
		let unknown = create_did(&publisher(), SubjectKind::Dataset);
		assert_noop!(
			child.register_with(terms(), derived_from(&[unknown])),
			Error::<Test>::UnknownParent
		);
		assert_noop!(
			child.register_with(terms(), derived_from(&[child.dataset])),
			Error::<Test>::LineageCycle
		);
		assert_noop!(
			child.register_with(terms(), derived_from(&[parent.dataset, parent.dataset])),
			Error::<Test>::DuplicateParent
		);
		let untransformed = Lineage {
			parents: BoundedVec::truncate_from(vec![parent.dataset]),
			transformation: None,
		};
		assert_noop!(
			child.register_with(terms(), untransformed),
			Error::<Test>::TransformationMismatch
		);
		let transformation_only =
			Lineage { parents: BoundedVec::new(), transformation: Some(H256::zero()) };
		assert_noop!(
			child.register_with(terms(), transformation_only),
			Error::<Test>::TransformationMismatch
		);
		assert_ok!(child.register_with(terms(), derived_from(&[parent.dataset])));
		assert!(Children::<Test>::contains_key(parent.dataset, child.dataset));
	});
}

#[test]
fn register_needs_the_deposit() {
	run_test(|| {
		let institution = create_did(&poor(), SubjectKind::Institution);
		let dataset = create_did(&poor(), SubjectKind::Dataset);
		assert_noop!(
			Datasets::register(
				RuntimeOrigin::signed(poor()),
				dataset,
				institution,
				Box::new(descriptor(b"s3://x")),
				Box::new(terms()),
				no_lineage(),
				2
			),
			Error::<Test>::CannotPayDeposit
		);
	});
}

// ---- contributors ----

#[test]
fn contributors_open_ordering_at_the_floor() {
	run_test(|| {
		let fixture = Fixture::new();
		fixture.register();
		let twins = fixture.twins(&[1, 2]);
		let before = held(&publisher());
		assert_ok!(fixture.add(&twins[..1]));
		assert!(!fixture.record().meets_floor());
		assert_ok!(fixture.add(&twins[1..]));
		let record = fixture.record();
		assert_eq!((record.contributors, record.counted), (2, 2));
		assert!(record.meets_floor());
		assert_eq!(held(&publisher()), before + 2 * CONTRIBUTOR_DEPOSIT);
		assert_eq!(
			last_event(),
			RuntimeEvent::Datasets(Event::OrderingResumed { dataset: fixture.dataset, counted: 2 })
		);
	});
}

#[test]
fn add_contributors_refuses_what_it_must() {
	run_test(|| {
		let fixture = Fixture::new();
		fixture.register();
		let twins = fixture.twins(&[1, 2]);
		assert_noop!(
			Datasets::add_contributors(
				RuntimeOrigin::signed(stranger()),
				fixture.dataset,
				BoundedVec::truncate_from(twins.clone())
			),
			Error::<Test>::NotAuthorized
		);
		let unregistered = create_did(&publisher(), SubjectKind::Dataset);
		assert_noop!(
			Datasets::add_contributors(
				RuntimeOrigin::signed(publisher()),
				unregistered,
				BoundedVec::truncate_from(twins.clone())
			),
			Error::<Test>::NotFound
		);
		assert_noop!(fixture.add(&[]), Error::<Test>::NothingToDo);
		assert_noop!(fixture.add(&[twins[0], twins[0]]), Error::<Test>::DuplicateTwin);
		assert_noop!(fixture.add(&[fixture.institution]), Error::<Test>::NotAPatientTwin);

		// Not in custody: a twin of a patient who never handed it over.
		let outside = create_did(&patient(3), SubjectKind::PatientTwin);
		assert_noop!(fixture.add(&[twins[0], outside]), Error::<Test>::NotInCustody);

		// In custody, without consent.
		let silent = create_did(&patient(4), SubjectKind::PatientTwin);
		assert_ok!(Twins::offer_custody(
			RuntimeOrigin::signed(publisher()),
			fixture.institution,
			silent
		));
		assert_ok!(Twins::accept_custody(
			RuntimeOrigin::signed(patient(4)),
			silent,
			fixture.institution
		));
		assert_noop!(fixture.add(&[silent]), Error::<Test>::ConsentMissing);

		assert_ok!(fixture.add(&twins));
		assert_noop!(fixture.add(&twins[..1]), Error::<Test>::AlreadyContributor);
	});
}

#[test]
fn contributors_are_bounded_per_dataset_and_per_twin() {
	run_test(|| {
		let fixture = Fixture::new();
		fixture.register();
		let twins = fixture.twins(&[1, 2, 3, 4, 5, 6, 7]);
		assert_ok!(fixture.add(&twins[..4]));
		assert_ok!(fixture.add(&twins[4..6]));
		assert_noop!(fixture.add(&twins[6..]), Error::<Test>::TooManyContributors);

		let second = Fixture {
			institution: fixture.institution,
			dataset: create_did(&publisher(), SubjectKind::Dataset),
		};
		second.register();
		let third = Fixture {
			institution: fixture.institution,
			dataset: create_did(&publisher(), SubjectKind::Dataset),
		};
		third.register();
		assert_ok!(second.add(&twins[..1]));
		assert_eq!(ContributionCount::<Test>::get(twins[0]), MAX_DATASETS_PER_TWIN);
		assert_noop!(third.add(&twins[..1]), Error::<Test>::TooManyContributions);
	});
}

#[test]
fn a_patient_pulls_out_and_the_deposit_returns() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		let before = held(&publisher());
		assert_noop!(
			Datasets::remove_contributor(
				RuntimeOrigin::signed(stranger()),
				fixture.dataset,
				twins[0]
			),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Datasets::remove_contributor(
				RuntimeOrigin::signed(patient(2)),
				fixture.dataset,
				twins[0]
			),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Datasets::remove_contributor(
				RuntimeOrigin::signed(patient(1)),
				fixture.dataset,
				fixture.institution
			),
			Error::<Test>::NotContributor
		);
		assert_ok!(Datasets::remove_contributor(
			RuntimeOrigin::signed(patient(1)),
			fixture.dataset,
			twins[0]
		));
		assert_eq!(held(&publisher()), before - CONTRIBUTOR_DEPOSIT);
		assert!(!fixture.record().meets_floor());
		assert!(System::events().iter().any(|r| r.event
			== RuntimeEvent::Datasets(Event::ContributorRemoved {
				dataset: fixture.dataset,
				twin: twins[0],
				by_patient: true
			})));
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Datasets(Event::OrderingSuspended { counted: 1, floor: 2, .. })
		)));
		assert_eq!(ContributionCount::<Test>::get(twins[0]), 0);
		// The publisher may remove one too.
		assert_ok!(Datasets::remove_contributor(
			RuntimeOrigin::signed(publisher()),
			fixture.dataset,
			twins[1]
		));
	});
}

#[test]
fn a_revocation_excludes_the_twin_at_once_and_a_new_consent_reinstates_it() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		revoke(&twins[0], 1, Scope::View);
		let record = fixture.record();
		assert_eq!((record.contributors, record.counted), (2, 1));
		assert!(!record.meets_floor());
		let excluded: Vec<_> = System::events()
			.into_iter()
			.filter_map(|r| match r.event {
				RuntimeEvent::Datasets(Event::ContributorExcluded { twin, reason, .. }) => {
					Some((twin, reason))
				},
				_ => None,
			})
			.collect();
		assert_eq!(excluded, vec![(twins[0], Exclusion::Consent(ConsentDenied::Revoked))]);
		let listed = Datasets::contributors_of(&fixture.dataset, None, 10);
		// The dataset offers Compute licences only: its View grant gone, the
		// twin is still covered, and a refresh would count it again.
		assert!(listed.contains(&(twins[0], None)));
		revoke(&twins[0], 1, Scope::Compute);
		let listed = Datasets::contributors_of(&fixture.dataset, None, 10);
		assert!(listed.contains(&(twins[0], Some(Exclusion::Consent(ConsentDenied::Revoked)))));
		assert!(listed.contains(&(twins[1], None)));
		assert_noop!(fixture.buy(researcher()), Error::<Test>::TooFewContributors);

		// Given again: counts after a refresh.
		assert_ok!(Consent::grant(
			RuntimeOrigin::signed(patient(1)),
			twins[0],
			institution_terms(&fixture.institution, Scope::Compute)
		));
		assert_ok!(Datasets::refresh_contributors(
			RuntimeOrigin::signed(stranger()),
			fixture.dataset,
			BoundedVec::truncate_from(vec![twins[0]])
		));
		assert!(fixture.record().meets_floor());
		assert_ok!(fixture.buy(researcher()));
	});
}

#[test]
fn refresh_excludes_expired_consent_and_refuses_strangers_to_the_list() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		assert_noop!(
			Datasets::refresh_contributors(
				RuntimeOrigin::signed(stranger()),
				fixture.dataset,
				BoundedVec::new()
			),
			Error::<Test>::NothingToDo
		);
		assert_noop!(
			Datasets::refresh_contributors(
				RuntimeOrigin::signed(stranger()),
				fixture.dataset,
				BoundedVec::truncate_from(vec![fixture.institution])
			),
			Error::<Test>::NotContributor
		);
		System::set_block_number(1_000);
		assert_ok!(Datasets::refresh_contributors(
			RuntimeOrigin::signed(stranger()),
			fixture.dataset,
			BoundedVec::truncate_from(twins.clone())
		));
		assert_eq!(fixture.record().counted, 0);
		assert!(System::events().iter().any(|r| matches!(
			r.event,
			RuntimeEvent::Datasets(Event::ContributorExcluded {
				reason: Exclusion::Consent(ConsentDenied::Expired),
				..
			})
		)));
	});
}

// ---- states ----

#[test]
fn states_follow_who_may_set_them() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		let set =
			|origin: RuntimeOrigin, state| Datasets::set_state(origin, fixture.dataset, state);
		assert_noop!(
			set(RuntimeOrigin::signed(stranger()), AssetState::Deprecated),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			set(RuntimeOrigin::signed(publisher()), AssetState::Active),
			Error::<Test>::StateTransitionNotAllowed
		);
		assert_noop!(
			set(RuntimeOrigin::root(), AssetState::Deprecated),
			Error::<Test>::StateTransitionNotAllowed
		);
		assert_ok!(set(RuntimeOrigin::signed(publisher()), AssetState::OrderingDisabled));
		assert_noop!(fixture.buy(researcher()), Error::<Test>::NotOrderable);
		assert_ok!(set(RuntimeOrigin::signed(publisher()), AssetState::Unlisted));
		assert_ok!(fixture.buy(researcher()));
		assert_ok!(set(RuntimeOrigin::signed(publisher()), AssetState::EndOfLife));
		assert_noop!(
			set(RuntimeOrigin::signed(publisher()), AssetState::Active),
			Error::<Test>::StateTransitionNotAllowed
		);
		assert_noop!(fixture.buy(researcher()), Error::<Test>::NotOrderable);
		// A licence bought before end of life still grants access.
		assert!(Datasets::can_compute(
			&researcher(),
			&fixture.dataset,
			0,
			Purpose::Research,
			&computation(CODE)
		)
		.is_ok());
		assert_ok!(set(RuntimeOrigin::root(), AssetState::Revoked));
		assert_eq!(
			Datasets::can_compute(
				&researcher(),
				&fixture.dataset,
				0,
				Purpose::Research,
				&computation(CODE)
			),
			Err(AccessDenied::Revoked)
		);
		assert_noop!(
			set(RuntimeOrigin::root(), AssetState::Active),
			Error::<Test>::StateTransitionNotAllowed
		);
		assert_eq!(
			last_event(),
			RuntimeEvent::Datasets(Event::StateChanged {
				dataset: fixture.dataset,
				from: AssetState::EndOfLife,
				to: AssetState::Revoked
			})
		);
	});
}

// ---- licences ----

#[test]
fn buying_a_licence_splits_the_price_exactly_and_mints_the_item() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		let issuance = Balances::total_issuance();
		let publisher_before = Balances::balance(&publisher());
		let patient_before = Balances::balance(&patient(1));
		let researcher_before = Balances::balance(&researcher());
		assert_ok!(fixture.buy(researcher()));

		let pool = CONTRIBUTOR_SHARE.mul_floor(PRICE);
		let each = pool / 2;
		assert_eq!(Balances::balance(&patient(1)), patient_before + each);
		assert_eq!(Balances::balance(&patient(2)), patient_before + each);
		assert_eq!(Balances::balance(&publisher()), publisher_before + PRICE - 2 * each);
		assert_eq!(Balances::balance(&researcher()), researcher_before - PRICE - ITEM_DEPOSIT);
		assert_eq!(Balances::total_issuance(), issuance);

		let record = fixture.record();
		assert_eq!((record.licences_sold, record.licences_outstanding), (1, 1));
		assert_eq!(Nfts::owner(record.collection, 0), Some(researcher()));
		let view = Datasets::licence_view(&fixture.dataset, 0).expect("the licence");
		assert_eq!(
			(view.holder, view.expires_at, view.transferable),
			(researcher(), 1 + DURATION, false)
		);
		assert_eq!(
			last_event(),
			RuntimeEvent::Datasets(Event::LicenceBought {
				dataset: fixture.dataset,
				licence: 0,
				buyer: researcher(),
				scope: Scope::Compute,
				purpose: Purpose::Research,
				price: PRICE,
				split: Split {
					per_contributor: each,
					contributors_paid: 2,
					publisher: PRICE - 2 * each
				},
				expires_at: 1 + DURATION,
			})
		);
		let access = Datasets::can_compute(
			&researcher(),
			&fixture.dataset,
			0,
			Purpose::Research,
			&computation(CODE),
		)
		.expect("access");
		assert_eq!((access.licence, access.institution), (0, fixture.institution));
		assert_eq!(access.twins.len(), 2);
		assert!(twins.iter().all(|twin| access.twins.contains(twin)));
	});
}

#[test]
fn buy_licence_refuses_what_it_must() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		let buy = |scope, purpose, max_price| {
			Datasets::buy_licence(
				RuntimeOrigin::signed(researcher()),
				fixture.dataset,
				scope,
				purpose,
				max_price,
			)
		};
		assert_noop!(
			Datasets::buy_licence(
				RuntimeOrigin::none(),
				fixture.dataset,
				Scope::Compute,
				Purpose::Research,
				PRICE
			),
			BadOrigin
		);
		assert_noop!(buy(Scope::View, Purpose::Research, PRICE), Error::<Test>::TermsNotOffered);
		assert_noop!(
			buy(Scope::Compute, Purpose::Commercial, PRICE),
			Error::<Test>::TermsNotOffered
		);
		assert_noop!(
			buy(Scope::Compute, Purpose::Research, PRICE - 1),
			Error::<Test>::PriceAboveLimit
		);
		assert_noop!(fixture.buy(poor()), Error::<Test>::CannotPay);
		for _ in 0..3 {
			assert_ok!(fixture.buy(researcher()));
		}
		assert_noop!(fixture.buy(researcher()), Error::<Test>::SoldOut);
		let unregistered = create_did(&publisher(), SubjectKind::Dataset);
		assert_noop!(
			Datasets::buy_licence(
				RuntimeOrigin::signed(researcher()),
				unregistered,
				Scope::Compute,
				Purpose::Research,
				PRICE
			),
			Error::<Test>::NotFound
		);
	});
}

#[test]
fn a_contributor_whose_consent_lapsed_is_not_paid_before_any_refresh() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		let third = fixture.twins(&[3]);
		assert_ok!(fixture.add(&third));
		// Patient 3's twin leaves the institution's custody: no refresh yet.
		assert_ok!(Twins::end_custody(RuntimeOrigin::signed(patient(3)), third[0]));
		let third_before = Balances::balance(&patient(3));
		let first_before = Balances::balance(&patient(1));
		assert_ok!(fixture.buy(researcher()));
		assert_eq!(Balances::balance(&patient(3)), third_before, "not in custody: not paid");
		let each = CONTRIBUTOR_SHARE.mul_floor(PRICE) / 2;
		assert_eq!(Balances::balance(&patient(1)), first_before + each);
		let access = Datasets::can_compute(
			&researcher(),
			&fixture.dataset,
			0,
			Purpose::Research,
			&computation(CODE),
		)
		.expect("access");
		assert_eq!(access.twins.len(), 2);
		assert!(twins.iter().all(|twin| access.twins.contains(twin)));
		assert_eq!(
			Datasets::contributors_of(&fixture.dataset, None, 10)
				.into_iter()
				.find(|(twin, _)| *twin == third[0]),
			Some((third[0], Some(Exclusion::NotInCustody)))
		);
	});
}

#[test]
fn a_licence_is_transferable_only_if_the_terms_say_so() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		assert_ok!(fixture.buy(researcher()));
		let collection = fixture.record().collection;
		assert!(
			Nfts::transfer(RuntimeOrigin::signed(researcher()), collection, 0, stranger()).is_err()
		);
		assert_eq!(Nfts::owner(collection, 0), Some(researcher()));

		let open = Fixture {
			institution: fixture.institution,
			dataset: create_did(&publisher(), SubjectKind::Dataset),
		};
		assert_ok!(open.register_with(LicenceTerms { transferable: true, ..terms() }, no_lineage()));
		let twins = fixture.twins(&[3, 4]);
		assert_ok!(open.add(&twins));
		assert_ok!(open.buy(researcher()));
		let collection = open.record().collection;
		assert_ok!(Nfts::transfer(RuntimeOrigin::signed(researcher()), collection, 0, stranger()));
		assert_eq!(Datasets::licence_view(&open.dataset, 0).map(|l| l.holder), Some(stranger()));
	});
}

#[test]
fn expired_licences_are_pruned_and_their_item_burnt() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		assert_ok!(fixture.buy(researcher()));
		let collection = fixture.record().collection;
		assert_noop!(
			Datasets::prune_licence(RuntimeOrigin::signed(stranger()), fixture.dataset, 0),
			Error::<Test>::LicenceLive
		);
		assert_noop!(
			Datasets::prune_licence(RuntimeOrigin::signed(stranger()), fixture.dataset, 1),
			Error::<Test>::LicenceNotFound
		);
		assert_eq!(
			Datasets::ensure_can_deactivate(&fixture.dataset, SubjectKind::Dataset),
			Err(Error::<Test>::LicencesOutstanding.into())
		);
		System::set_block_number(2 + DURATION);
		assert_eq!(
			Datasets::can_compute(
				&researcher(),
				&fixture.dataset,
				0,
				Purpose::Research,
				&computation(CODE)
			),
			Err(AccessDenied::NoLicence)
		);
		let before = Balances::balance(&researcher());
		assert_ok!(Datasets::prune_licence(RuntimeOrigin::signed(stranger()), fixture.dataset, 0));
		assert_eq!(Nfts::owner(collection, 0), None);
		assert_eq!(Balances::balance(&researcher()), before + ITEM_DEPOSIT);
		assert_eq!(fixture.record().licences_outstanding, 0);
		assert_ok!(Datasets::ensure_can_deactivate(&fixture.dataset, SubjectKind::Dataset));
	});
}

#[test]
fn the_access_check_needs_an_allowed_algorithm_and_a_compute_licence() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		let check = |who: &AccountId32, code: &H256| {
			Datasets::can_compute(who, &fixture.dataset, 0, Purpose::Research, &computation(*code))
		};
		assert_eq!(check(&researcher(), &CODE), Err(AccessDenied::NoLicence));
		assert_ok!(fixture.buy(researcher()));
		assert_eq!(check(&researcher(), &H256::zero()), Err(AccessDenied::AlgorithmNotAllowed));
		assert_eq!(check(&stranger(), &CODE), Err(AccessDenied::NoLicence));
		assert_eq!(
			Datasets::can_compute(
				&researcher(),
				&fixture.dataset,
				0,
				Purpose::ModelTraining,
				&computation(CODE)
			),
			Err(AccessDenied::NoLicence)
		);
		assert_eq!(
			Datasets::can_compute(
				&researcher(),
				&fixture.institution,
				0,
				Purpose::Research,
				&computation(CODE)
			),
			Err(AccessDenied::UnknownDataset)
		);
		assert!(check(&researcher(), &CODE).is_ok());
	});
}

#[test]
fn set_algorithms_resizes_the_deposit_and_refuses_what_it_must() {
	run_test(|| {
		let fixture = Fixture::new();
		fixture.register();
		let before = held(&publisher());
		let two = BoundedVec::truncate_from(vec![CODE, H256::zero()]);
		assert_noop!(
			Datasets::set_algorithms(
				RuntimeOrigin::signed(stranger()),
				fixture.dataset,
				two.clone(),
				false
			),
			Error::<Test>::NotAuthorized
		);
		assert_noop!(
			Datasets::set_algorithms(
				RuntimeOrigin::signed(publisher()),
				fixture.dataset,
				BoundedVec::truncate_from(vec![CODE, CODE]),
				false
			),
			Error::<Test>::DuplicateAlgorithm
		);
		assert_ok!(Datasets::set_algorithms(
			RuntimeOrigin::signed(publisher()),
			fixture.dataset,
			two,
			true
		));
		assert_eq!(held(&publisher()), before + 2 * 32);
		assert!(fixture.record().raw_download);
		assert_ok!(Datasets::set_algorithms(
			RuntimeOrigin::signed(publisher()),
			fixture.dataset,
			BoundedVec::new(),
			false
		));
		assert_eq!(held(&publisher()), before);
	});
}

#[test]
fn small_prices_round_to_the_publisher() {
	run_test(|| {
		let fixture = Fixture::new();
		// 60 % of 3 is 1 (rounded down): 0 each for two contributors.
		assert_ok!(fixture.register_with(LicenceTerms { price: 3, ..terms() }, no_lineage()));
		let twins = fixture.twins(&[1, 2]);
		assert_ok!(fixture.add(&twins));
		let publisher_before = Balances::balance(&publisher());
		let patient_before = Balances::balance(&patient(1));
		assert_ok!(Datasets::buy_licence(
			RuntimeOrigin::signed(researcher()),
			fixture.dataset,
			Scope::Compute,
			Purpose::Research,
			3
		));
		assert_eq!(Balances::balance(&publisher()), publisher_before + 3);
		assert_eq!(Balances::balance(&patient(1)), patient_before);
	});
}

proptest! {
	#[test]
	fn the_split_conserves_value(price in 0u64..u64::MAX / 2, share in 0u32..=1_000_000_000, n in 0u32..10_000) {
		let share = Perbill::from_parts(share);
		let (each, publisher) = split_price(price, share, n);
		prop_assert_eq!(each.checked_mul(u64::from(n)).and_then(|c| c.checked_add(publisher)), Some(price));
		prop_assert!(each.saturating_mul(u64::from(n)) <= share.mul_floor(price));
		if n > 0 {
			prop_assert!(share.mul_floor(price) - each * u64::from(n) < u64::from(n), "remainder below one planck each");
		}
	}
}

#[test]
fn a_stranger_cannot_register_or_fill_another_institutions_dataset() {
	run_test(|| {
		let fixture = Fixture::new();
		let own_institution = create_did(&stranger(), SubjectKind::Institution);
		assert_noop!(
			Datasets::register(
				RuntimeOrigin::signed(stranger()),
				fixture.dataset,
				own_institution,
				Box::new(descriptor(b"s3://x")),
				Box::new(terms()),
				no_lineage(),
				2
			),
			Error::<Test>::NotADatasetDid
		);
		fixture.register();
		// Twins in the custody of another institution do not count here.
		let other = create_did(&other_publisher(), SubjectKind::Institution);
		let foreign = consenting_twin(&patient(5), &other_publisher(), &other);
		assert_noop!(fixture.add(&[foreign]), Error::<Test>::NotInCustody);
	});
}

#[test]
fn genesis_registers_datasets_and_counts_only_consenting_contributors() {
	let mut ext = new_test_ext();
	let (dataset, consenting, silent) = ext.execute_with(|| {
		let fixture = Fixture::new();
		let consenting = fixture.twins(&[1]).remove(0);
		let silent = create_did(&patient(2), SubjectKind::PatientTwin);
		assert_ok!(Twins::offer_custody(
			RuntimeOrigin::signed(publisher()),
			fixture.institution,
			silent
		));
		assert_ok!(Twins::accept_custody(
			RuntimeOrigin::signed(patient(2)),
			silent,
			fixture.institution
		));
		let entry = crate::GenesisDataset {
			dataset: fixture.dataset,
			institution: fixture.institution,
			publisher: publisher(),
			content_hash: H256::repeat_byte(1),
			location: b"ipfs://bafy".to_vec(),
			schema: Schema::Bids,
			size_bytes: 1,
			record_count: 2,
			metadata_hash: H256::repeat_byte(2),
			price: 500,
			licence_blocks: 10,
			contributors: vec![consenting, silent],
		};
		frame_support::traits::BuildGenesisConfig::build(&crate::GenesisConfig::<Test> {
			datasets: vec![entry],
		});
		(fixture.dataset, consenting, silent)
	});
	ext.execute_with(|| {
		let record = crate::Datasets::<Test>::get(dataset).expect("registered at genesis");
		assert_eq!((record.contributors, record.counted), (2, 1));
		assert_eq!(
			crate::Contributors::<Test>::get(dataset, consenting).map(|c| c.counted),
			Some(true)
		);
		assert_eq!(
			crate::Contributors::<Test>::get(dataset, silent).map(|c| c.counted),
			Some(false)
		);
		assert_eq!(record.terms.price, 500);
		Datasets::do_try_state().expect("invariants hold");
	});
}

#[test]
fn the_floor_holds_for_computing_not_only_for_buying() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		assert_ok!(fixture.buy(researcher()));
		assert_ok!(Datasets::remove_contributor(
			RuntimeOrigin::signed(patient(2)),
			fixture.dataset,
			twins[1]
		));
		assert_eq!(
			Datasets::can_compute(
				&researcher(),
				&fixture.dataset,
				0,
				Purpose::Research,
				&computation(CODE)
			),
			Err(AccessDenied::TooFewContributors)
		);
	});
}

#[test]
fn a_cohort_cannot_be_padded_with_twins_of_the_institution_or_of_one_patient() {
	run_test(|| {
		let fixture = Fixture::new();
		fixture.register();
		// The publisher's own twin, in its own custody, consenting.
		let own = consenting_twin(&publisher(), &publisher(), &fixture.institution);
		assert_noop!(fixture.add(&[own]), Error::<Test>::NotAnIndependentPatient);
		// Two twins of one patient count once towards the floor.
		let first = consenting_twin(&patient(1), &publisher(), &fixture.institution);
		let second = consenting_twin(&patient(1), &publisher(), &fixture.institution);
		assert_ok!(fixture.add(&[first, second]));
		assert_noop!(fixture.buy(researcher()), Error::<Test>::TooFewContributors);
		let third = fixture.twins(&[2]);
		assert_ok!(fixture.add(&third));
		let before = Balances::balance(&patient(1));
		assert_ok!(fixture.buy(researcher()));
		let each = CONTRIBUTOR_SHARE.mul_floor(PRICE) / 2;
		assert_eq!(Balances::balance(&patient(1)), before + each, "paid once, not twice");
	});
}

#[test]
fn refresh_refuses_a_twin_named_twice() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		revoke(&twins[0], 1, Scope::View);
		assert_noop!(
			Datasets::refresh_contributors(
				RuntimeOrigin::signed(stranger()),
				fixture.dataset,
				BoundedVec::truncate_from(vec![twins[0]; 4])
			),
			Error::<Test>::DuplicateTwin
		);
	});
}

#[test]
fn a_pruned_non_transferable_licence_leaves_no_item_config() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		assert_ok!(fixture.buy(researcher()));
		let collection = fixture.record().collection;
		System::set_block_number(2 + DURATION);
		assert_ok!(Datasets::prune_licence(RuntimeOrigin::signed(stranger()), fixture.dataset, 0));
		assert!(!pallet_nfts::ItemConfigOf::<Test>::contains_key(collection, 0));
	});
}

#[test]
fn licences_of_a_revoked_dataset_can_be_pruned_at_once() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		assert_ok!(fixture.buy(researcher()));
		assert_ok!(Datasets::set_state(
			RuntimeOrigin::root(),
			fixture.dataset,
			AssetState::Revoked
		));
		assert_ok!(Datasets::prune_licence(RuntimeOrigin::signed(stranger()), fixture.dataset, 0));
	});
}

#[test]
fn licences_cannot_outlast_the_runtimes_limit() {
	run_test(|| {
		let fixture = Fixture::new();
		assert_noop!(
			fixture.register_with(LicenceTerms { duration: 1_001, ..terms() }, no_lineage()),
			Error::<Test>::DurationTooLong
		);
	});
}

#[test]
fn deactivating_the_dataset_did_revokes_the_dataset() {
	run_test(|| {
		let (fixture, _) = Fixture::open();
		assert_ok!(Twins::deactivate(RuntimeOrigin::signed(publisher()), fixture.dataset));
		assert_eq!(fixture.record().state, AssetState::Revoked);
		assert_noop!(fixture.buy(researcher()), Error::<Test>::NotOrderable);
	});
}

#[test]
fn a_deactivated_twin_leaves_every_dataset_and_its_deposit_returns() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		let before = held(&publisher());
		revoke(&twins[0], 1, Scope::View);
		revoke(&twins[0], 1, Scope::Compute);
		assert_ok!(Twins::end_custody(RuntimeOrigin::signed(patient(1)), twins[0]));
		assert_ok!(Twins::deactivate(RuntimeOrigin::signed(patient(1)), twins[0]));
		assert!(!crate::Contributors::<Test>::contains_key(fixture.dataset, twins[0]));
		assert_eq!(ContributionCount::<Test>::get(twins[0]), 0);
		assert_eq!(held(&publisher()), before - CONTRIBUTOR_DEPOSIT);
		assert_eq!(fixture.record().contributors, 1);
	});
}

#[test]
fn every_call_needs_a_signed_origin() {
	run_test(|| {
		let (fixture, twins) = Fixture::open();
		let none = RuntimeOrigin::none;
		let page = || BoundedVec::truncate_from(twins.clone());
		assert_noop!(Datasets::add_contributors(none(), fixture.dataset, page()), BadOrigin);
		assert_noop!(Datasets::remove_contributor(none(), fixture.dataset, twins[0]), BadOrigin);
		assert_noop!(Datasets::refresh_contributors(none(), fixture.dataset, page()), BadOrigin);
		assert_noop!(
			Datasets::set_state(none(), fixture.dataset, AssetState::Deprecated),
			BadOrigin
		);
		assert_noop!(
			Datasets::set_algorithms(none(), fixture.dataset, BoundedVec::new(), false),
			BadOrigin
		);
		assert_noop!(Datasets::prune_licence(none(), fixture.dataset, 0), BadOrigin);
	});
}

#[test]
fn listing_contributors_needs_the_signers_deposit() {
	run_test(|| {
		let fixture = Fixture::new();
		fixture.register();
		let twins = fixture.twins(&[1, 2]);
		assert_ok!(Balances::force_set_balance(
			RuntimeOrigin::root(),
			publisher(),
			EXISTENTIAL_DEPOSIT + 1
		));
		assert_noop!(fixture.add(&twins), Error::<Test>::CannotPayDeposit);
	});
}

#[test]
fn calls_on_an_unregistered_dataset_say_so() {
	run_test(|| {
		let unregistered = create_did(&publisher(), SubjectKind::Dataset);
		let signed = || RuntimeOrigin::signed(publisher());
		assert_noop!(
			Datasets::remove_contributor(signed(), unregistered, unregistered),
			Error::<Test>::NotFound
		);
		assert_noop!(
			Datasets::refresh_contributors(signed(), unregistered, BoundedVec::new()),
			Error::<Test>::NotFound
		);
		assert_noop!(
			Datasets::set_state(signed(), unregistered, AssetState::Deprecated),
			Error::<Test>::NotFound
		);
		assert_noop!(
			Datasets::set_algorithms(signed(), unregistered, BoundedVec::new(), false),
			Error::<Test>::NotFound
		);
		assert_noop!(Datasets::prune_licence(signed(), unregistered, 0), Error::<Test>::NotFound);
	});
}
