//! Benchmarks of pallet-consent (frame-benchmarking v2), each in its worst
//! case: a guardian acts through the twin's controlling DID, terms name the
//! most purposes and datasets and an institution grantee, deposits move
//! between accounts and the decision trail is full.

use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_runtime::{traits::One, Saturating};
use twinnet_primitives::{
	consent::{AuditEvent, AuditRecord, Authority, GrantId, Grantee, PrivacyBudget, Purpose, Scope},
	did::{Controller, DidId, SubjectKind},
	traits::DidDependents,
};

use crate::*;

const PURPOSES: [Purpose; 7] = [
	Purpose::ClinicalCare,
	Purpose::Research,
	Purpose::ModelTraining,
	Purpose::QualityImprovement,
	Purpose::PublicHealth,
	Purpose::Education,
	Purpose::Commercial,
];

fn funded<T: Config>(name: &'static str) -> T::AccountId {
	let who: T::AccountId = account(name, 0, 0);
	// Ample for every deposit, and small enough that total issuance cannot overflow.
	let amount = BalanceOf::<T>::from(u32::MAX).saturating_mul(BalanceOf::<T>::from(1_000_000u32));
	T::Currency::set_balance(&who, amount);
	who
}

/// A patient twin under a guardian DID, an institution grantee and the most
/// datasets, all created by `guardian`.
struct Setup<T: Config> {
	guardian: T::AccountId,
	researcher: T::AccountId,
	twin: DidId,
	institution: DidId,
	datasets: Vec<DidId>,
}

impl<T: Config> Setup<T> {
	fn new() -> Self {
		let guardian = funded::<T>("guardian");
		let researcher = funded::<T>("researcher");
		let own = || Controller::Account(guardian.clone());
		let guardian_did = T::BenchmarkHelper::create_did(&guardian, SubjectKind::Institution, own());
		let twin = T::BenchmarkHelper::create_did(
			&guardian,
			SubjectKind::PatientTwin,
			Controller::Did(guardian_did),
		);
		let institution = T::BenchmarkHelper::create_did(
			&researcher,
			SubjectKind::Institution,
			Controller::Account(researcher.clone()),
		);
		let datasets = (0..T::MaxDatasets::get())
			.map(|_| T::BenchmarkHelper::create_did(&guardian, SubjectKind::Dataset, own()))
			.collect();
		Self { guardian, researcher, twin, institution, datasets }
	}

	/// Compute terms for the institution, with the most purposes and datasets.
	fn terms(&self) -> TermsOf<T> {
		let purposes = PURPOSES.iter().copied().take(T::MaxPurposes::get() as usize).collect();
		Terms {
			grantee: Grantee::Institution(self.institution),
			scope: Scope::Compute,
			purposes: BoundedVec::truncate_from(purposes),
			datasets: Some(BoundedVec::truncate_from(self.datasets.clone())),
			starts_at: frame_system::Pallet::<T>::block_number(),
			expires_at: frame_system::Pallet::<T>::block_number()
				.saturating_add(1_000u32.into()),
			budget: Some(PrivacyBudget { epsilon: T::MaxEpsilon::get(), delta: T::MaxDelta::get() }),
		}
	}

	fn make_grant(&self, terms: TermsOf<T>) -> GrantId {
		let origin = RawOrigin::Signed(self.guardian.clone()).into();
		assert!(Pallet::<T>::grant(origin, self.twin, terms).is_ok(), "benchmark setup: grant");
		NextGrantId::<T>::get().saturating_sub(1)
	}

	/// Fills the twin's decision trail, so each new record drops the oldest.
	fn fill_decision_trail(&self, id: GrantId) {
		let record = AuditRecord {
			block: frame_system::Pallet::<T>::block_number(),
			event: AuditEvent::Narrowed { grant: id, by: Authority::Guardian },
		};
		let full = (0..T::MaxAuditRecords::get()).map(|_| record.clone()).collect::<Vec<_>>();
		AuditTrail::<T>::insert(self.twin, BoundedVec::truncate_from(full));
	}

	fn request(&self) -> RequestId {
		let origin = RawOrigin::Signed(self.researcher.clone()).into();
		let requested = Pallet::<T>::request_access(origin, self.twin, self.terms());
		assert!(requested.is_ok(), "benchmark setup: request_access: {requested:?}");
		NextRequestId::<T>::get().saturating_sub(1)
	}
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn grant() {
		let setup = Setup::<T>::new();
		let first = setup.make_grant(setup.terms());
		setup.fill_decision_trail(first);
		let terms = setup.terms();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.guardian.clone()), setup.twin, terms);

		assert_eq!(GrantCount::<T>::get(setup.twin), 2);
	}

	#[benchmark]
	fn revoke() {
		let setup = Setup::<T>::new();
		let id = setup.make_grant(setup.terms());
		setup.fill_decision_trail(id);

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.guardian.clone()), setup.twin, id);

		assert!(Grants::<T>::get(setup.twin, id).is_some_and(|g| g.revoked_at.is_some()));
	}

	#[benchmark]
	fn narrow() {
		let setup = Setup::<T>::new();
		let id = setup.make_grant(setup.terms());
		setup.fill_decision_trail(id);
		let mut narrower = setup.terms();
		narrower.expires_at = narrower.expires_at.saturating_sub(One::one());

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.guardian.clone()), setup.twin, id, narrower.clone());

		assert_eq!(Grants::<T>::get(setup.twin, id).map(|g| g.terms), Some(narrower));
	}

	#[benchmark]
	fn request_access() {
		let setup = Setup::<T>::new();
		let terms = setup.terms();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.researcher.clone()), setup.twin, terms);

		assert_eq!(OpenRequests::<T>::get(&setup.researcher), 1);
	}

	#[benchmark]
	fn approve_request() {
		let setup = Setup::<T>::new();
		let first = setup.make_grant(setup.terms());
		setup.fill_decision_trail(first);
		let request = setup.request();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.guardian.clone()), setup.twin, request);

		assert_eq!(GrantCount::<T>::get(setup.twin), 2);
	}

	#[benchmark]
	fn reject_request() {
		let setup = Setup::<T>::new();
		let request = setup.request();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.guardian.clone()), setup.twin, request);

		assert_eq!(OpenRequests::<T>::get(&setup.researcher), 0);
	}

	#[benchmark]
	fn close_request() {
		let setup = Setup::<T>::new();
		let request = setup.request();

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.researcher.clone()), setup.twin, request);

		assert_eq!(OpenRequests::<T>::get(&setup.researcher), 0);
	}

	/// The twin has the most grants, all for the grantee; only the one
	/// visited last covers the use, so every grant is read and checked.
	#[benchmark]
	fn record_use() {
		let setup = Setup::<T>::new();
		for _ in 0..T::MaxGrantsPerTwin::get() {
			setup.make_grant(setup.terms());
		}
		let last = Grants::<T>::iter_prefix(setup.twin).map(|(id, _)| id).last().unwrap_or_default();
		let mut without_research = setup.terms();
		without_research.purposes.retain(|p| *p != Purpose::Research);
		let others: Vec<GrantId> =
			Grants::<T>::iter_prefix(setup.twin).map(|(id, _)| id).filter(|id| *id != last).collect();
		for id in others {
			let origin = RawOrigin::Signed(setup.guardian.clone()).into();
			assert!(Pallet::<T>::narrow(origin, setup.twin, id, without_research.clone()).is_ok());
		}
		let dataset = setup.datasets.last().copied();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(setup.researcher.clone()),
			setup.twin,
			Grantee::Institution(setup.institution),
			Scope::Compute,
			Purpose::Research,
			dataset,
		);

		assert_eq!(Grants::<T>::get(setup.twin, last).map(|g| g.uses), Some(1));
	}

	#[benchmark]
	fn prune_grant() {
		let setup = Setup::<T>::new();
		let id = setup.make_grant(setup.terms());
		let origin = RawOrigin::Signed(setup.guardian.clone()).into();
		assert!(Pallet::<T>::revoke(origin, setup.twin, id).is_ok());
		setup.fill_decision_trail(id);

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.researcher.clone()), setup.twin, id);

		assert!(Grants::<T>::get(setup.twin, id).is_none());
	}

	/// The deactivation check of a twin with the most grants, none live, so
	/// every grant is read.
	#[benchmark]
	fn ensure_can_deactivate() {
		let setup = Setup::<T>::new();
		for _ in 0..T::MaxGrantsPerTwin::get() {
			let id = setup.make_grant(setup.terms());
			let origin = RawOrigin::Signed(setup.guardian.clone()).into();
			assert!(Pallet::<T>::revoke(origin, setup.twin, id).is_ok());
		}
		let allowed;

		#[block]
		{
			allowed = <Pallet<T> as DidDependents>::ensure_can_deactivate(&setup.twin, SubjectKind::PatientTwin);
		}

		assert!(allowed.is_ok());
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
