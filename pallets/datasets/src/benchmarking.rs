//! Benchmarks of pallet-datasets, each in its worst case: the longest
//! location and the most parents; contributors each checked for every
//! scope and purpose of the terms; a licence paid out to the most
//! contributors; a revocation that excludes a twin from the most datasets.

use super::*;
use alloc::{boxed::Box, vec::Vec};
use frame_benchmarking::v2::*;
use frame_support::{
	traits::{fungible::Mutate, Get},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::traits::{Bounded, Saturating};
use twinnet_primitives::{
	consent::{GrantId, Grantee, OnGrantRevoked, Purpose, Scope},
	datasets::{AssetState, DatasetAccess, Schema},
	did::{DidId, SubjectKind},
	traits::DidDependents,
};

/// Funds `who` richly, but so that the issuance of many funded accounts
/// does not overflow.
fn funded<T: Config>(who: &T::AccountId) {
	T::Currency::set_balance(who, BalanceOf::<T>::max_value() / 1024u32.into());
}

/// Every purpose, sorted: the most consent checks per contributor.
fn all_purposes() -> BoundedVec<Purpose, MaxPurposes> {
	BoundedVec::truncate_from(alloc::vec![
		Purpose::ClinicalCare,
		Purpose::Research,
		Purpose::ModelTraining,
		Purpose::QualityImprovement,
		Purpose::PublicHealth,
		Purpose::Education,
		Purpose::Commercial,
	])
}

/// A publisher, its institution, and what it registers.
struct Publisher<T: Config> {
	controller: T::AccountId,
	institution: DidId,
}

impl<T: Config> Publisher<T> {
	fn new() -> Self {
		let controller: T::AccountId = account("publisher", 0, 0);
		funded::<T>(&controller);
		let institution = T::BenchmarkHelper::create_did(&controller, SubjectKind::Institution);
		Self { controller, institution }
	}

	fn origin(&self) -> RawOrigin<T::AccountId> {
		RawOrigin::Signed(self.controller.clone())
	}

	fn descriptor() -> DescriptorOf<T> {
		let mut location = b"s3://".to_vec();
		location.resize(T::MaxUriLength::get() as usize, b'a');
		Descriptor {
			content_hash: H256::repeat_byte(1),
			location: BoundedVec::truncate_from(location),
			schema: Schema::Nwb2,
			size_bytes: u64::MAX,
			record_count: u64::MAX,
			metadata_hash: H256::repeat_byte(2),
		}
	}

	fn terms() -> TermsOf<T> {
		LicenceTerms {
			price: 1_000_000u32.into(),
			scopes: Scopes { view: true, compute: true },
			purposes: all_purposes(),
			duration: 100u32.into(),
			max_licences: u32::MAX,
			transferable: true,
		}
	}

	/// A registered dataset derived from `parents`.
	fn dataset(&self, parents: &[DidId]) -> DidId {
		let dataset = T::BenchmarkHelper::create_did(&self.controller, SubjectKind::Dataset);
		let lineage = Lineage {
			parents: BoundedVec::truncate_from(parents.to_vec()),
			transformation: (!parents.is_empty()).then(|| H256::repeat_byte(7)),
		};
		let result = Pallet::<T>::register(
			self.origin().into(),
			dataset,
			self.institution,
			Box::new(Self::descriptor()),
			Box::new(Self::terms()),
			lineage,
			T::MinContributors::get(),
		);
		assert!(result.is_ok(), "benchmark setup: register {result:?}");
		dataset
	}

	/// `count` consenting twins in the institution's custody.
	fn twins(&self, from: u32, count: u32) -> Vec<DidId> {
		(from..from.saturating_add(count))
			.map(|seed| {
				T::BenchmarkHelper::consenting_twin(&self.controller, &self.institution, seed)
			})
			.collect()
	}

	/// Lists `twins` as contributors of `dataset`, a page at a time.
	fn add(&self, dataset: DidId, twins: &[DidId]) {
		for page in twins.chunks(T::MaxContributorsPerCall::get() as usize) {
			let result = Pallet::<T>::add_contributors(
				self.origin().into(),
				dataset,
				BoundedVec::truncate_from(page.to_vec()),
			);
			assert!(result.is_ok(), "benchmark setup: add_contributors {result:?}");
		}
	}
}

/// The account that buys licences, funded.
fn buyer<T: Config>() -> T::AccountId {
	let buyer: T::AccountId = account("buyer", 0, 0);
	funded::<T>(&buyer);
	buyer
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// Register with the longest location and `p` parents to look up.
	#[benchmark]
	fn register(p: Linear<0, { T::MaxParents::get() }>) {
		let publisher = Publisher::<T>::new();
		let parents: Vec<DidId> = (0..p).map(|_| publisher.dataset(&[])).collect();
		let dataset = T::BenchmarkHelper::create_did(&publisher.controller, SubjectKind::Dataset);
		let lineage = Lineage {
			parents: BoundedVec::truncate_from(parents),
			transformation: (p > 0).then(|| H256::repeat_byte(7)),
		};

		#[extrinsic_call]
		_(
			publisher.origin(),
			dataset,
			publisher.institution,
			Box::new(Publisher::<T>::descriptor()),
			Box::new(Publisher::<T>::terms()),
			lineage,
			T::MinContributors::get(),
		);

		assert!(Datasets::<T>::contains_key(dataset));
	}

	/// `n` twins checked and listed.
	#[benchmark]
	fn add_contributors(n: Linear<1, { T::MaxContributorsPerCall::get() }>) {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);
		let twins = publisher.twins(0, n);

		#[extrinsic_call]
		_(publisher.origin(), dataset, BoundedVec::truncate_from(twins));

		assert_eq!(Datasets::<T>::get(dataset).map(|d| d.contributors), Some(n));
	}

	/// The patient pulls out, crossing the floor.
	#[benchmark]
	fn remove_contributor() {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);
		let twins = publisher.twins(0, T::MinContributors::get());
		publisher.add(dataset, &twins);
		let twin = twins[0];

		#[extrinsic_call]
		_(publisher.origin(), dataset, twin);

		assert!(!Contributors::<T>::contains_key(dataset, twin));
	}

	/// `n` contributors excluded earlier, each checked and reinstated.
	#[benchmark]
	fn refresh_contributors(n: Linear<1, { T::MaxContributorsPerCall::get() }>) {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);
		let twins = publisher.twins(0, n);
		publisher.add(dataset, &twins);
		for twin in &twins {
			Contributors::<T>::mutate(dataset, twin, |contributor| {
				if let Some(contributor) = contributor {
					contributor.counted = false;
				}
			});
		}
		Datasets::<T>::mutate(dataset, |record| {
			if let Some(record) = record {
				record.counted = 0;
			}
		});
		let caller: T::AccountId = whitelisted_caller();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), dataset, BoundedVec::truncate_from(twins));

		assert_eq!(Datasets::<T>::get(dataset).map(|d| d.counted), Some(n));
	}

	#[benchmark]
	fn set_state() {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);

		#[extrinsic_call]
		_(publisher.origin(), dataset, AssetState::Deprecated);

		assert_eq!(Datasets::<T>::get(dataset).map(|d| d.state), Some(AssetState::Deprecated));
	}

	/// An allow-list of `a` code hashes, checked for repeats, with the
	/// deposit resized.
	#[benchmark]
	fn set_algorithms(a: Linear<0, { T::MaxAlgorithms::get() }>) {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);
		let algorithms: Vec<H256> =
			(0..a).map(|i| H256(sp_io::hashing::blake2_256(&i.to_le_bytes()))).collect();

		#[extrinsic_call]
		_(publisher.origin(), dataset, BoundedVec::truncate_from(algorithms), true);

		assert_eq!(Datasets::<T>::get(dataset).map(|d| d.algorithms.len() as u32), Some(a));
	}

	/// A licence paid out to `c` contributors, each checked and paid.
	#[benchmark]
	fn buy_licence(c: Linear<{ T::MinContributors::get() }, { T::MaxContributors::get() }>) {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);
		let twins = publisher.twins(0, c);
		publisher.add(dataset, &twins);
		let buyer = buyer::<T>();

		#[extrinsic_call]
		_(
			RawOrigin::Signed(buyer.clone()),
			dataset,
			Scope::Compute,
			Purpose::Research,
			BalanceOf::<T>::max_value(),
		);

		assert_eq!(Datasets::<T>::get(dataset).map(|d| d.licences_sold), Some(1));
	}

	#[benchmark]
	fn prune_licence() {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);
		let twins = publisher.twins(0, T::MinContributors::get());
		publisher.add(dataset, &twins);
		let buyer = buyer::<T>();
		let bought = Pallet::<T>::buy_licence(
			RawOrigin::Signed(buyer).into(),
			dataset,
			Scope::Compute,
			Purpose::Research,
			BalanceOf::<T>::max_value(),
		);
		assert!(bought.is_ok(), "benchmark setup: buy_licence {bought:?}");
		let expired = frame_system::Pallet::<T>::block_number().saturating_add(1_000u32.into());
		frame_system::Pallet::<T>::set_block_number(expired);
		let caller: T::AccountId = whitelisted_caller();

		#[extrinsic_call]
		_(RawOrigin::Signed(caller), dataset, 0);

		assert!(!Licences::<T>::contains_key(dataset, 0));
	}

	/// A revocation that excludes a twin from `d` datasets of the institution.
	#[benchmark]
	fn on_revoked(d: Linear<1, { T::MaxDatasetsPerTwin::get() }>) {
		let publisher = Publisher::<T>::new();
		let twins = publisher.twins(0, 1);
		let datasets: Vec<DidId> = (0..d).map(|_| publisher.dataset(&[])).collect();
		for dataset in &datasets {
			publisher.add(*dataset, &twins);
		}
		let grantee = Grantee::Institution(publisher.institution);
		let grant: GrantId = 0;

		#[block]
		{
			<Pallet<T> as OnGrantRevoked<T::AccountId>>::on_revoked(&twins[0], grant, &grantee);
		}

		for dataset in &datasets {
			assert_eq!(Contributors::<T>::get(dataset, twins[0]).map(|c| c.counted), Some(false));
		}
	}

	/// A deactivated twin leaving `d` datasets, each deposit returned.
	#[benchmark]
	fn withdraw_twin(d: Linear<1, { T::MaxDatasetsPerTwin::get() }>) {
		let publisher = Publisher::<T>::new();
		let twins = publisher.twins(0, 1);
		let datasets: Vec<DidId> = (0..d).map(|_| publisher.dataset(&[])).collect();
		for dataset in &datasets {
			publisher.add(*dataset, &twins);
		}

		#[block]
		{
			<Pallet<T> as DidDependents>::on_deactivated(&twins[0], SubjectKind::PatientTwin);
		}

		assert_eq!(ContributionCount::<T>::get(twins[0]), 0);
	}

	/// The access check of a dataset with `c` contributors, each checked.
	#[benchmark]
	fn can_compute(c: Linear<{ T::MinContributors::get() }, { T::MaxContributors::get() }>) {
		let publisher = Publisher::<T>::new();
		let dataset = publisher.dataset(&[]);
		let twins = publisher.twins(0, c);
		publisher.add(dataset, &twins);
		let code = H256::repeat_byte(0xc0);
		let allowed = Pallet::<T>::set_algorithms(
			publisher.origin().into(),
			dataset,
			BoundedVec::truncate_from(alloc::vec![code]),
			false,
		);
		assert!(allowed.is_ok(), "benchmark setup: set_algorithms {allowed:?}");
		let buyer = buyer::<T>();
		let bought = Pallet::<T>::buy_licence(
			RawOrigin::Signed(buyer.clone()).into(),
			dataset,
			Scope::Compute,
			Purpose::Research,
			BalanceOf::<T>::max_value(),
		);
		assert!(bought.is_ok(), "benchmark setup: buy_licence {bought:?}");
		let access;

		#[block]
		{
			access = <Pallet<T> as DatasetAccess<T::AccountId>>::can_compute(
				&buyer,
				&dataset,
				0,
				Purpose::Research,
				&twinnet_primitives::consent::Computation {
					round: twinnet_primitives::consent::JobRound { job: 0, round: 0 },
					model: None,
					code_hash: code,
				},
			);
		}

		assert_eq!(access.map(|access| access.twins.len() as u32), Ok(c));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
