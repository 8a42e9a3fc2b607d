//! Benchmarks of pallet-consent (frame-benchmarking v2), each in its worst
//! case: a guardian acts through the twin's controlling DID, terms name the
//! most purposes and datasets and an institution grantee, deposits move
//! between accounts and the decision and spend trails are full.

use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_runtime::{traits::One, Saturating};
use twinnet_primitives::{
	consent::{
		Access, AuditEvent, AuditRecord, Authority, Binding, Computation, ConsentLedger, GrantId,
		Grantee, JobRound, PrivacyBudget, Purpose, Purposes, Scope, Settlement,
	},
	did::{Controller, DidId, SubjectKind},
	traits::DidDependents,
};

use crate::*;

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
		let guardian_did =
			T::BenchmarkHelper::create_did(&guardian, SubjectKind::Institution, own());
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
		let purposes = Purpose::ALL.iter().copied().take(T::MaxPurposes::get() as usize).collect();
		Terms {
			grantee: Grantee::Institution(self.institution),
			scope: Scope::Compute,
			purposes: BoundedVec::truncate_from(purposes),
			datasets: Some(BoundedVec::truncate_from(self.datasets.clone())),
			starts_at: frame_system::Pallet::<T>::block_number(),
			expires_at: frame_system::Pallet::<T>::block_number().saturating_add(1_000u32.into()),
			budget: Some(PrivacyBudget {
				epsilon: T::MaxEpsilon::get(),
				delta: T::MaxDelta::get(),
			}),
			binding: Binding::default(),
		}
	}

	fn make_grant(&self, terms: TermsOf<T>) -> GrantId {
		let origin = RawOrigin::Signed(self.guardian.clone()).into();
		assert!(Pallet::<T>::grant(origin, self.twin, terms).is_ok(), "benchmark setup: grant");
		NextGrantId::<T>::get().saturating_sub(1)
	}

	/// Fills the twin's decision trail with the largest records, so each
	/// new record drops the oldest.
	fn fill_decision_trail(&self, id: GrantId) {
		let record = AuditRecord {
			block: frame_system::Pallet::<T>::block_number(),
			event: AuditEvent::RequestApproved {
				request: 0,
				grant: id,
				requester: self.researcher.clone(),
				grantee: Grantee::Institution(self.institution),
				scope: Scope::Compute,
				purposes: Purposes::truncate_from(Purpose::ALL.to_vec()),
				by: Authority::Guardian,
			},
		};
		let full = (0..T::MaxAuditRecords::get()).map(|_| record.clone()).collect::<Vec<_>>();
		AuditTrail::<T>::insert(self.twin, BoundedVec::truncate_from(full));
	}

	/// Fills the spend trail of grant `id` on `twin`.
	fn fill_spend_trail(twin: &DidId, id: GrantId) {
		let spend = SpendRecord {
			block: frame_system::Pallet::<T>::block_number(),
			amount: round_cost(),
			job: Some(ROUND),
		};
		let full = (0..T::MaxSpendRecords::get()).map(|_| spend.clone()).collect::<Vec<_>>();
		SpendTrail::<T>::insert(twin, id, BoundedVec::truncate_from(full));
	}

	/// `size` twins under a guardian DID, each as [`Self::cohort_twin`] makes it.
	fn cohort(&self, size: u32) -> Vec<DidId> {
		let guardian_did = T::BenchmarkHelper::create_did(
			&self.guardian,
			SubjectKind::Institution,
			Controller::Account(self.guardian.clone()),
		);
		(0..size).map(|_| self.cohort_twin(guardian_did)).collect()
	}

	/// A twin under `guardian_did`, with the most grants for the
	/// institution, each bound to round [`ROUND`]'s computation; only the
	/// grant visited last covers [`ROUND_PURPOSE`], so every grant is read.
	fn cohort_twin(&self, guardian_did: DidId) -> DidId {
		let twin = T::BenchmarkHelper::create_did(
			&self.guardian,
			SubjectKind::PatientTwin,
			Controller::Did(guardian_did),
		);
		let bound = Binding {
			job: Some(ROUND.job),
			model: None,
			code_hash: Some(computation().code_hash),
			max_epsilon_per_round: Some(T::MaxEpsilon::get()),
		};
		let mut record = Grant::<T> {
			terms: TermsOf::<T> { binding: bound, datasets: None, ..self.terms() },
			spent: PrivacyBudget::default(),
			reserved: PrivacyBudget::default(),
			revoked_at: None,
			granted_by: Authority::Guardian,
			uses: 0,
			last_used: None,
			depositor: self.guardian.clone(),
			deposit: Default::default(),
		};
		let count = T::MaxGrantsPerTwin::get();
		for _ in 0..count {
			let id = NextGrantId::<T>::get();
			NextGrantId::<T>::put(id.saturating_add(1));
			Grants::<T>::insert(twin, id, record.clone());
			GrantsByGrantee::<T>::insert(&record.terms.grantee, (twin, id), ());
		}
		GrantCount::<T>::insert(twin, count);
		let last = Grants::<T>::iter_prefix(twin).map(|(id, _)| id).last().unwrap_or_default();
		record.terms.purposes.retain(|p| *p != ROUND_PURPOSE);
		for id in Grants::<T>::iter_prefix(twin)
			.map(|(id, _)| id)
			.filter(|id| *id != last)
			.collect::<Vec<_>>()
		{
			Grants::<T>::insert(twin, id, record.clone());
		}
		twin
	}

	/// The institution's access for round [`ROUND`].
	fn round_access(&self) -> Access<T::AccountId> {
		Access {
			grantee: Grantee::Institution(self.institution),
			scope: Scope::Compute,
			purpose: ROUND_PURPOSE,
			dataset: None,
			computation: Some(computation()),
		}
	}

	fn request(&self) -> RequestId {
		let origin = RawOrigin::Signed(self.researcher.clone()).into();
		let requested = Pallet::<T>::request_access(origin, self.twin, self.terms());
		assert!(requested.is_ok(), "benchmark setup: request_access: {requested:?}");
		NextRequestId::<T>::get().saturating_sub(1)
	}
}

/// The job round the round benchmarks reserve for, and its purpose.
const ROUND: JobRound = JobRound { job: 1, round: 1 };
const ROUND_PURPOSE: Purpose = Purpose::ModelTraining;

fn computation() -> Computation {
	Computation { round: ROUND, model: None, code_hash: sp_core::H256::repeat_byte(0xc0) }
}

/// The cost of one round for each twin.
fn round_cost() -> PrivacyBudget {
	PrivacyBudget { epsilon: sp_runtime::FixedU64::from_inner(1_000), delta: Default::default() }
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

	/// The patient narrows a grant the guardian made, so the deposit moves
	/// from the guardian to the patient.
	#[benchmark]
	fn narrow() {
		let setup = Setup::<T>::new();
		let patient = funded::<T>("patient");
		T::BenchmarkHelper::bind_patient(&setup.twin, &setup.guardian, &patient);
		let id = setup.make_grant(setup.terms());
		setup.fill_decision_trail(id);
		let mut narrower = setup.terms();
		narrower.expires_at = narrower.expires_at.saturating_sub(One::one());

		#[extrinsic_call]
		_(RawOrigin::Signed(patient.clone()), setup.twin, id, narrower.clone());

		let narrowed = Grants::<T>::get(setup.twin, id);
		assert_eq!(narrowed.as_ref().map(|g| &g.terms), Some(&narrower));
		assert_eq!(narrowed.map(|g| g.depositor), Some(patient));
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
		let first = setup.make_grant(setup.terms());
		setup.fill_decision_trail(first);
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
		let last = Grants::<T>::iter_prefix(setup.twin)
			.map(|(id, _)| id)
			.last()
			.unwrap_or_default();
		let mut without_research = setup.terms();
		without_research.purposes.retain(|p| *p != Purpose::Research);
		let others: Vec<GrantId> = Grants::<T>::iter_prefix(setup.twin)
			.map(|(id, _)| id)
			.filter(|id| *id != last)
			.collect();
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
		Setup::<T>::fill_spend_trail(&setup.twin, id);

		#[extrinsic_call]
		_(RawOrigin::Signed(setup.researcher.clone()), setup.twin, id);

		assert!(Grants::<T>::get(setup.twin, id).is_none());
		assert!(!SpendTrail::<T>::contains_key(setup.twin, id));
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
			allowed = <Pallet<T> as DidDependents>::ensure_can_deactivate(
				&setup.twin,
				SubjectKind::PatientTwin,
			);
		}

		assert!(allowed.is_ok());
	}

	/// A round admits `n` twins, each with the most grants of which only the
	/// one visited last covers the round.
	#[benchmark]
	fn reserve(n: Linear<1, 50>) {
		let setup = Setup::<T>::new();
		let twins = setup.cohort(n);
		let access = setup.round_access();
		let results;

		#[block]
		{
			results =
				<Pallet<T> as ConsentLedger<T::AccountId>>::reserve(&twins, &access, round_cost());
		}

		assert!(results.iter().all(|result| result.is_ok()), "every twin admitted: {results:?}");
	}

	/// A round's aggregate is released: the budget of `n` twins is spent and
	/// recorded in their grants' full spend trails.
	#[benchmark]
	fn settle(n: Linear<1, 50>) {
		let setup = Setup::<T>::new();
		let twins = setup.cohort(n);
		let reserved = <Pallet<T> as ConsentLedger<T::AccountId>>::reserve(
			&twins,
			&setup.round_access(),
			round_cost(),
		);
		assert!(reserved.iter().all(|result| result.is_ok()), "benchmark setup: reserve");
		for (twin, reservation) in twins.iter().zip(&reserved) {
			if let Ok(id) = reservation {
				Setup::<T>::fill_spend_trail(twin, *id);
			}
		}
		let settled;

		#[block]
		{
			settled = <Pallet<T> as ConsentLedger<T::AccountId>>::settle(
				ROUND,
				&twins,
				Settlement::Spend,
			);
		}

		assert!(settled.iter().all(Option::is_some));
	}

	/// A page of `n` grants held by one grantee.
	#[benchmark]
	fn grants_held_by(n: Linear<1, 100>) {
		let grantee = Grantee::<T::AccountId>::Job(ROUND.job);
		for id in 0..n {
			GrantsByGrantee::<T>::insert(
				&grantee,
				(sp_core::H256::repeat_byte(1), GrantId::from(id)),
				(),
			);
		}
		let page;

		#[block]
		{
			page = <Pallet<T> as ConsentLedger<T::AccountId>>::grants_held_by(&grantee, None, n);
		}

		assert_eq!(page.len(), n as usize);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
