//! # pallet-datasets: dataset tokens, licences and payment to contributors
//!
//! An institution publishes what it holds without moving it: a dataset is
//! registered by the hash of its encrypted bundle, its schema, where the
//! bundle lives and where it comes from; researchers buy licences to view
//! or compute on it; the patients whose records are in it are paid for
//! each licence while they consent, and can pull out at any time.
//!
//! ## Flows
//!
//! - **Register**: [`Pallet::register`], signed by the controller of an
//!   active Institution DID who also controls an active Dataset DID (made
//!   with `twins.create`): the descriptor, the licence terms, the
//!   k-anonymity floor (at least [`Config::MinContributors`]) and the
//!   lineage (registered parent datasets and the hash of the transformation
//!   that derived it). Parents must be registered before their children and
//!   never change, so the lineage graph is acyclic by construction; a
//!   dataset naming itself is refused. The dataset gets an NFT collection
//!   (`pallet-nfts`, through `nonfungibles_v2`) whose items are its licences.
//! - **Contributors**: [`Pallet::add_contributors`] lists patient twins, a
//!   page at a time, each in the institution's custody and with a live
//!   consent to the institution that covers this dataset for every scope
//!   and purpose its terms offer. A contributor counts while that consent
//!   holds: revoking a grant to the institution excludes it at once
//!   ([`OnGrantRevoked`]), and
//!   [`Pallet::refresh_contributors`] (anyone) re-checks listed twins, for
//!   consents that expired, ran out of budget, or were given again. The
//!   patient, or the publisher, can [`Pallet::remove_contributor`].
//! - **States** (after Ocean Protocol): the publisher sets `Active`,
//!   `Unlisted`, `OrderingDisabled`, `Deprecated`, `EndOfLife` (final but
//!   for revocation) and `Revoked`; [`Config::GovernanceOrigin`] may also
//!   revoke. `Revoked` is final. Licences are sold only in `Active` or
//!   `Unlisted` and while at least `min_contributors` count: below that
//!   floor ordering is suspended automatically (event `OrderingSuspended`)
//!   and resumes when enough count again (`OrderingResumed`).
//! - **Licences**: [`Pallet::buy_licence`] pays the price and mints the
//!   licence as an NFT item to the buyer (transferable only if the terms
//!   say so). The price is split at the time of sale: the contributors'
//!   part ([`Config::ContributorShare`] of the price, rounded down) is
//!   divided equally among the contributors whose consent covers the
//!   licence's scope and purpose at that moment, each paid to its twin's
//!   patient; the publisher receives the rest, which includes the
//!   remainder of the division and the part of any contributor that cannot
//!   be paid (no patient bound, or a payment below the existential deposit
//!   to an account that does not exist). No planck is lost or created.
//!   Expired licences are burnt by anyone with [`Pallet::prune_licence`].
//! - **Access**: [`DatasetAccess::can_compute`] tells another pallet
//!   (federated compute) whether a researcher holds a live compute licence
//!   for a purpose, whether the code is on the dataset's allow-list
//!   ([`Pallet::set_algorithms`]), and which twins' rows may be used now.
//!
//! ## Deposits
//!
//! The publisher holds [`Config::DepositBase`] plus [`Config::DepositPerByte`]
//! for each byte of the dataset record, and [`Config::ContributorDeposit`]
//! for each contributor listed ([`HoldReason::DatasetDeposit`]). A Dataset
//! DID cannot be deactivated while licences of it are outstanding.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use weights::WeightInfo;

/// Creates what the benchmarks need from the pallets this one relies on.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// An active DID of `kind` controlled by `controller`.
	fn create_did(
		controller: &AccountId,
		kind: twinnet_primitives::did::SubjectKind,
	) -> twinnet_primitives::did::DidId;

	/// A patient twin in the custody of `institution` (controlled by
	/// `controller`), whose patient gave the institution a compute and view
	/// consent for every purpose, on any dataset.
	fn consenting_twin(
		controller: &AccountId,
		institution: &twinnet_primitives::did::DidId,
		seed: u32,
	) -> twinnet_primitives::did::DidId;
}

// FRAME's pallet macros expand to `expect` on values they build themselves
// (storage prefixes, error and constant metadata); hand-written code here uses
// neither `expect` nor `unwrap`.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::{boxed::Box, vec::Vec};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, Inspect as _, InspectHold as _, Mutate as _, MutateHold as _},
			tokens::{
				nonfungibles_v2::{self, Create as _, Inspect as _, Mutate as _},
				DepositConsequence, Preservation, Provenance,
			},
		},
		PalletId,
	};
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::{
		traits::{AccountIdConversion, Convert, Saturating, Zero},
		Perbill,
	};
	use twinnet_primitives::{
		consent::{
			Access, Computation, ConsentDenied, ConsentLedger, GrantId, Grantee, OnGrantRevoked,
			Purpose, Scope,
		},
		datasets::{
			AccessDenied, AssetState, ComputeAccess, DatasetAccess, Exclusion, LicenceId,
			LicenceView,
		},
		did::{DidId, SubjectKind},
		traits::{DidDependents, DidRegistry},
	};

	/// The balance type of the currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;

	/// A dataset record of this runtime.
	pub type DatasetOf<T> = Dataset<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::CollectionId,
		<T as Config>::MaxUriLength,
		<T as Config>::MaxParents,
		<T as Config>::MaxAlgorithms,
	>;

	/// The descriptor of a dataset of this runtime.
	pub type DescriptorOf<T> = Descriptor<<T as Config>::MaxUriLength>;

	/// The lineage of a dataset of this runtime.
	pub type LineageOf<T> = Lineage<<T as Config>::MaxParents>;

	/// The licence terms of this runtime.
	pub type TermsOf<T> = LicenceTerms<BalanceOf<T>, BlockNumberFor<T>>;

	/// A licence record of this runtime.
	pub type LicenceOf<T> = Licence<BalanceOf<T>, BlockNumberFor<T>>;

	/// The storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(0);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency prices are paid and deposits held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The DID registry: institutions, datasets, twins, custody, patients.
		type Dids: DidRegistry<Self::AccountId>;

		/// The consent registry contributors' consent is checked against.
		type Consent: ConsentLedger<Self::AccountId>;

		/// The identifier of an NFT collection.
		type CollectionId: Member + Parameter + MaxEncodedLen + Copy;

		/// The NFT pallet licences are items of (`pallet-nfts`): one
		/// collection per dataset, owned by this pallet's account.
		type Nfts: nonfungibles_v2::Create<
				Self::AccountId,
				Self::CollectionConfig,
				CollectionId = Self::CollectionId,
			> + nonfungibles_v2::Mutate<Self::AccountId, Self::ItemConfig>
			+ nonfungibles_v2::Inspect<
				Self::AccountId,
				CollectionId = Self::CollectionId,
				ItemId = LicenceId,
			>;

		/// The NFT pallet's collection configuration.
		type CollectionConfig;

		/// The NFT pallet's item configuration.
		type ItemConfig;

		/// The configuration of a dataset's licence collection (mints by
		/// this pallet only), whose items are transferable or not.
		type LicenceCollection: Convert<bool, Self::CollectionConfig>;

		/// The configuration of a licence item.
		type LicenceItem: Get<Self::ItemConfig>;

		/// Who may revoke any dataset (sudo or a council).
		type GovernanceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// This pallet's account: owner of the licence collections.
		#[pallet::constant]
		type PalletId: Get<PalletId>;

		/// The contributors' part of a licence's price.
		#[pallet::constant]
		type ContributorShare: Get<Perbill>;

		/// The lowest k-anonymity floor a dataset may set.
		#[pallet::constant]
		type MinContributors: Get<u32>;

		/// The most contributors of one dataset.
		#[pallet::constant]
		type MaxContributors: Get<u32>;

		/// The most contributors added or refreshed in one call.
		#[pallet::constant]
		type MaxContributorsPerCall: Get<u32>;

		/// The most datasets one twin contributes to.
		#[pallet::constant]
		type MaxDatasetsPerTwin: Get<u32>;

		/// The most parents of a dataset.
		#[pallet::constant]
		type MaxParents: Get<u32>;

		/// The most code hashes on a dataset's allow-list.
		#[pallet::constant]
		type MaxAlgorithms: Get<u32>;

		/// The longest a licence may last, in blocks.
		#[pallet::constant]
		type MaxLicenceDuration: Get<BlockNumberFor<Self>>;

		/// The longest location URI in bytes.
		#[pallet::constant]
		type MaxUriLength: Get<u32>;

		/// The fixed part of a dataset's deposit.
		#[pallet::constant]
		type DepositBase: Get<BalanceOf<Self>>;

		/// The deposit per byte of a dataset record.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// The deposit per contributor listed.
		#[pallet::constant]
		type ContributorDeposit: Get<BalanceOf<Self>>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;

		/// Creates DIDs and consenting twins for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a dataset record and its contributor list.
		#[codec(index = 0)]
		DatasetDeposit,
	}

	/// Registered datasets, by their Dataset DID.
	#[pallet::storage]
	pub type Datasets<T: Config> = StorageMap<_, Blake2_128Concat, DidId, DatasetOf<T>>;

	/// The contributors of each dataset, and whether each counted at the
	/// last check.
	#[pallet::storage]
	pub type Contributors<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		DidId,
		Blake2_128Concat,
		DidId,
		Contributor<T::AccountId, BalanceOf<T>>,
	>;

	/// The datasets each twin contributes to (the reverse of [`Contributors`]).
	#[pallet::storage]
	pub type ContributionsOf<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, DidId, Blake2_128Concat, DidId, ()>;

	/// How many datasets each twin contributes to.
	#[pallet::storage]
	pub type ContributionCount<T: Config> = StorageMap<_, Blake2_128Concat, DidId, u32, ValueQuery>;

	/// The datasets derived from each dataset (the reverse of the parents).
	#[pallet::storage]
	pub type Children<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, DidId, Blake2_128Concat, DidId, ()>;

	/// The licences sold, by dataset and serial number; each one's holder
	/// is the owner of its NFT item.
	#[pallet::storage]
	pub type Licences<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, DidId, Twox64Concat, LicenceId, LicenceOf<T>>;

	/// The dataset of each licence collection.
	#[pallet::storage]
	pub type DatasetOfCollection<T: Config> =
		StorageMap<_, Blake2_128Concat, T::CollectionId, DidId>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A dataset was registered.
		Registered {
			dataset: DidId,
			institution: DidId,
			publisher: T::AccountId,
			content_hash: H256,
			parents: Vec<DidId>,
			collection: T::CollectionId,
			deposit: BalanceOf<T>,
		},
		/// Contributors were listed; `counted` of the dataset's contributors count now.
		ContributorsAdded { dataset: DidId, twins: Vec<DidId>, counted: u32 },
		/// A contributor was removed (by its patient if `by_patient`).
		ContributorRemoved { dataset: DidId, twin: DidId, by_patient: bool },
		/// A contributor stopped counting.
		ContributorExcluded { dataset: DidId, twin: DidId, reason: Exclusion },
		/// A contributor counts again.
		ContributorReinstated { dataset: DidId, twin: DidId },
		/// Fewer contributors count than the dataset's floor: no licences are sold.
		OrderingSuspended { dataset: DidId, counted: u32, floor: u32 },
		/// Enough contributors count again: licences are sold.
		OrderingResumed { dataset: DidId, counted: u32 },
		/// A dataset's state was set.
		StateChanged { dataset: DidId, from: AssetState, to: AssetState },
		/// A dataset's algorithm allow-list was replaced; `publisher` holds
		/// its deposit and receives its revenue now.
		AlgorithmsSet { dataset: DidId, algorithms: Vec<H256>, publisher: T::AccountId },
		/// A licence was bought and its price split.
		LicenceBought {
			dataset: DidId,
			licence: LicenceId,
			buyer: T::AccountId,
			scope: Scope,
			purpose: Purpose,
			price: BalanceOf<T>,
			split: Split<BalanceOf<T>>,
			expires_at: BlockNumberFor<T>,
		},
		/// An expired licence was burnt.
		LicencePruned { dataset: DidId, licence: LicenceId },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No dataset is registered under this DID.
		NotFound,
		/// A dataset is already registered under this DID.
		AlreadyRegistered,
		/// The signer does not control the dataset's institution.
		NotAuthorized,
		/// The DID is not an active Institution DID controlled by the signer.
		NotAnInstitution,
		/// The DID is not an active Dataset DID controlled by the signer.
		NotADatasetDid,
		/// The location is not a URI (`scheme:rest`, printable ASCII, no spaces).
		InvalidLocation,
		/// The terms offer neither View nor Compute licences.
		NoScopes,
		/// The terms name no purpose.
		NoPurposes,
		/// The terms' purposes are not sorted or repeat one.
		UnsortedPurposes,
		/// A licence must last at least one block.
		ZeroDuration,
		/// The terms must allow at least one licence.
		ZeroMaxLicences,
		/// The k-anonymity floor is below the runtime's minimum.
		FloorTooLow,
		/// A parent is not a registered dataset.
		UnknownParent,
		/// A dataset cannot be its own parent.
		LineageCycle,
		/// A parent is named twice.
		DuplicateParent,
		/// A derived dataset must name the transformation that derived it,
		/// and only a derived one may.
		TransformationMismatch,
		/// The list is empty.
		NothingToDo,
		/// The dataset would have more contributors than allowed.
		TooManyContributors,
		/// The twin is already a contributor of this dataset.
		AlreadyContributor,
		/// The twin is not a contributor of this dataset.
		NotContributor,
		/// The twin contributes to as many datasets as allowed.
		TooManyContributions,
		/// The DID is not an active patient twin.
		NotAPatientTwin,
		/// The twin's data is not in the institution's custody.
		NotInCustody,
		/// The twin has no live consent to the institution covering this
		/// dataset for every scope and purpose of its terms.
		ConsentMissing,
		/// The signer cannot pay the deposit.
		CannotPayDeposit,
		/// The dataset's state cannot change to this one (or not by this origin).
		StateTransitionNotAllowed,
		/// The dataset's state does not allow new licences.
		NotOrderable,
		/// Fewer contributors count than the dataset's k-anonymity floor.
		TooFewContributors,
		/// The terms offer no licence of this scope and purpose.
		TermsNotOffered,
		/// The price is above what the buyer accepted.
		PriceAboveLimit,
		/// Every licence the terms allow has been sold.
		SoldOut,
		/// The buyer cannot pay the price.
		CannotPay,
		/// No such licence.
		LicenceNotFound,
		/// The licence has not expired.
		LicenceLive,
		/// The dataset has outstanding licences.
		LicencesOutstanding,
		/// A code hash is listed twice.
		DuplicateAlgorithm,
		/// A twin is named twice.
		DuplicateTwin,
		/// The twin has no patient bound, or its patient acts for the
		/// institution: it cannot stand for an independent contributor.
		NotAnIndependentPatient,
		/// A licence may not last that long.
		DurationTooLong,
	}

	/// Datasets that exist from genesis, such as the dev chain's sample.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The datasets to register, in order.
		pub datasets: Vec<GenesisDataset<T::AccountId>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for entry in &self.datasets {
				let registered = Self::register_genesis(entry);
				if let Err(error) = registered {
					panic!("genesis dataset {:?} is invalid: {error:?}", entry.dataset);
				}
			}
		}
	}

	impl<T: Config> GenesisConfig<T> {
		/// Registers `entry` and lists its contributors, each counting if its
		/// consent covers the dataset already.
		fn register_genesis(entry: &GenesisDataset<T::AccountId>) -> DispatchResult {
			use sp_runtime::SaturatedConversion;
			let terms = LicenceTerms {
				price: entry.price.saturated_into(),
				scopes: Scopes { view: false, compute: true },
				purposes: BoundedVec::truncate_from(alloc::vec![
					Purpose::Research,
					Purpose::ModelTraining
				]),
				duration: entry.licence_blocks.into(),
				max_licences: u32::MAX,
				transferable: false,
			};
			let descriptor = Descriptor {
				content_hash: entry.content_hash,
				location: BoundedVec::try_from(entry.location.clone())
					.map_err(|_| Error::<T>::InvalidLocation)?,
				schema: entry.schema,
				size_bytes: entry.size_bytes,
				record_count: entry.record_count,
				metadata_hash: entry.metadata_hash,
			};
			let lineage = Lineage { parents: BoundedVec::new(), transformation: None };
			Pallet::<T>::do_register(
				entry.publisher.clone(),
				entry.dataset,
				entry.institution,
				descriptor,
				terms,
				lineage,
				T::MinContributors::get(),
			)?;
			let Some(mut record) = Datasets::<T>::get(entry.dataset) else {
				return Err(Error::<T>::NotFound.into());
			};
			ensure!(
				entry.contributors.len() as u32 <= T::MaxContributors::get(),
				Error::<T>::TooManyContributors
			);
			for twin in &entry.contributors {
				Pallet::<T>::ensure_listable(&entry.dataset, &record, twin)?;
				let counted = Pallet::<T>::coverage(&entry.dataset, &record, twin).is_ok();
				Pallet::<T>::list_contributor(
					&entry.dataset,
					&mut record,
					twin,
					&entry.publisher,
					counted,
				)?;
			}
			Datasets::<T>::insert(entry.dataset, record);
			Ok(())
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the Dataset DID `dataset` as a dataset of `institution`.
		///
		/// The signer must control both DIDs. Holds the record's deposit and
		/// creates the dataset's licence collection. No licence is sold until
		/// `min_contributors` contributors count.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register(lineage.parents.len() as u32))]
		pub fn register(
			origin: OriginFor<T>,
			dataset: DidId,
			institution: DidId,
			descriptor: Box<DescriptorOf<T>>,
			terms: Box<TermsOf<T>>,
			lineage: LineageOf<T>,
			min_contributors: u32,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register(
				who,
				dataset,
				institution,
				*descriptor,
				*terms,
				lineage,
				min_contributors,
			)
		}

		/// Lists `twins` as contributors of `dataset`, signed by a controller
		/// of its institution. Each twin must be an active patient twin in
		/// the institution's custody whose consent to the institution covers
		/// this dataset for every scope and purpose of its terms; all or
		/// none are added. Each twin's patient must be bound and must not act
		/// for the institution (no one pads the cohort with twins of their
		/// own). The signer holds [`Config::ContributorDeposit`] for each.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::add_contributors(twins.len() as u32)
			.saturating_add(Pallet::<T>::coverage_weight(twins.len() as u32)))]
		pub fn add_contributors(
			origin: OriginFor<T>,
			dataset: DidId,
			twins: BoundedVec<DidId, T::MaxContributorsPerCall>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut record = Datasets::<T>::get(dataset).ok_or(Error::<T>::NotFound)?;
			ensure!(
				T::Dids::is_controlled_by(&record.institution, &who),
				Error::<T>::NotAuthorized
			);
			ensure!(!twins.is_empty(), Error::<T>::NothingToDo);
			ensure!(
				record.contributors.saturating_add(twins.len() as u32) <= T::MaxContributors::get(),
				Error::<T>::TooManyContributors
			);
			for (index, twin) in twins.iter().enumerate() {
				ensure!(
					!twinnet_primitives::repeats_earlier(&twins, index),
					Error::<T>::DuplicateTwin
				);
				Self::ensure_listable(&dataset, &record, twin)?;
				Self::coverage(&dataset, &record, twin).map_err(|exclusion| match exclusion {
					Exclusion::NotInCustody => Error::<T>::NotInCustody,
					Exclusion::Consent(_) => Error::<T>::ConsentMissing,
				})?;
			}
			let deposit = T::ContributorDeposit::get().saturating_mul((twins.len() as u32).into());
			ensure!(
				T::Currency::can_hold(&HoldReason::DatasetDeposit.into(), &who, deposit),
				Error::<T>::CannotPayDeposit
			);

			let was_open = record.meets_floor();
			for twin in &twins {
				Self::list_contributor(&dataset, &mut record, twin, &who, true)?;
			}
			Self::deposit_event(Event::ContributorsAdded {
				dataset,
				twins: twins.to_vec(),
				counted: record.counted,
			});
			Self::note_floor(&dataset, &record, was_open);
			Datasets::<T>::insert(dataset, record);
			Ok(())
		}

		/// Removes `twin` from the contributors of `dataset`: by the twin's
		/// patient (pulling out), or by a controller of the institution.
		/// The contributor's deposit returns to whoever listed it.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::remove_contributor())]
		pub fn remove_contributor(
			origin: OriginFor<T>,
			dataset: DidId,
			twin: DidId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut record = Datasets::<T>::get(dataset).ok_or(Error::<T>::NotFound)?;
			let contributor =
				Contributors::<T>::get(dataset, twin).ok_or(Error::<T>::NotContributor)?;
			let by_patient = T::Dids::is_patient(&twin, &who);
			ensure!(
				by_patient || T::Dids::is_controlled_by(&record.institution, &who),
				Error::<T>::NotAuthorized
			);
			let was_open = record.meets_floor();
			Self::unlist_contributor(&dataset, &mut record, &twin, contributor)?;
			Self::deposit_event(Event::ContributorRemoved { dataset, twin, by_patient });
			Self::note_floor(&dataset, &record, was_open);
			Datasets::<T>::insert(dataset, record);
			Ok(())
		}

		/// Re-checks the consent and custody of the listed contributors of
		/// `dataset` now (anyone may call it): a twin whose consent expired
		/// or ran out stops counting, one whose consent was given again
		/// counts again. Fails if a twin is not a contributor.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::refresh_contributors(twins.len() as u32)
			.saturating_add(Pallet::<T>::coverage_weight(twins.len() as u32)))]
		pub fn refresh_contributors(
			origin: OriginFor<T>,
			dataset: DidId,
			twins: BoundedVec<DidId, T::MaxContributorsPerCall>,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let mut record = Datasets::<T>::get(dataset).ok_or(Error::<T>::NotFound)?;
			ensure!(!twins.is_empty(), Error::<T>::NothingToDo);
			let mut listed = Vec::with_capacity(twins.len());
			for (index, twin) in twins.iter().enumerate() {
				ensure!(
					!twinnet_primitives::repeats_earlier(&twins, index),
					Error::<T>::DuplicateTwin
				);
				let contributor =
					Contributors::<T>::get(dataset, twin).ok_or(Error::<T>::NotContributor)?;
				listed.push((*twin, contributor));
			}
			let was_open = record.meets_floor();
			for (twin, mut contributor) in listed {
				let now = Self::coverage(&dataset, &record, &twin);
				match (contributor.counted, now) {
					(true, Err(reason)) => {
						record.counted = record.counted.saturating_sub(1);
						contributor.counted = false;
						Contributors::<T>::insert(dataset, twin, contributor);
						Self::deposit_event(Event::ContributorExcluded { dataset, twin, reason });
					},
					(false, Ok(())) => {
						record.counted = record.counted.saturating_add(1);
						contributor.counted = true;
						Contributors::<T>::insert(dataset, twin, contributor);
						Self::deposit_event(Event::ContributorReinstated { dataset, twin });
					},
					_ => {},
				}
			}
			Self::note_floor(&dataset, &record, was_open);
			Datasets::<T>::insert(dataset, record);
			Ok(())
		}

		/// Sets the state of `dataset`: a controller of its institution may
		/// set any state but leave `EndOfLife` (except to revoke) or
		/// `Revoked`; [`Config::GovernanceOrigin`] may revoke.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_state())]
		pub fn set_state(
			origin: OriginFor<T>,
			dataset: DidId,
			state: AssetState,
		) -> DispatchResult {
			let mut record = Datasets::<T>::get(dataset).ok_or(Error::<T>::NotFound)?;
			let by_governance = T::GovernanceOrigin::try_origin(origin.clone()).is_ok();
			if !by_governance {
				let who = ensure_signed(origin)?;
				ensure!(
					T::Dids::is_controlled_by(&record.institution, &who),
					Error::<T>::NotAuthorized
				);
			}
			let from = record.state;
			let allowed = match (from, state) {
				(AssetState::Revoked, _) => false,
				(_, AssetState::Revoked) => true,
				_ if by_governance => false,
				(AssetState::EndOfLife, _) => false,
				(from, to) => from != to,
			};
			ensure!(allowed, Error::<T>::StateTransitionNotAllowed);
			record.state = state;
			Datasets::<T>::insert(dataset, record);
			Self::deposit_event(Event::StateChanged { dataset, from, to: state });
			Ok(())
		}

		/// Replaces the allow-list of code hashes that may run on `dataset`,
		/// and whether View licences may download the raw data; signed by a
		/// controller of its institution, who becomes the publisher: it holds
		/// the record's deposit (resized to the record) from now on and
		/// receives the institution's part of later sales.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::set_algorithms(algorithms.len() as u32))]
		pub fn set_algorithms(
			origin: OriginFor<T>,
			dataset: DidId,
			algorithms: BoundedVec<H256, T::MaxAlgorithms>,
			raw_download: bool,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut record = Datasets::<T>::get(dataset).ok_or(Error::<T>::NotFound)?;
			ensure!(
				T::Dids::is_controlled_by(&record.institution, &who),
				Error::<T>::NotAuthorized
			);
			for index in 0..algorithms.len() {
				ensure!(
					!twinnet_primitives::repeats_earlier(&algorithms, index),
					Error::<T>::DuplicateAlgorithm
				);
			}
			record.algorithms = algorithms;
			record.raw_download = raw_download;
			let deposit = Self::record_deposit(&record);
			twinnet_primitives::deposit::move_deposit::<_, T::Currency>(
				&HoldReason::DatasetDeposit.into(),
				&record.publisher,
				record.deposit,
				&who,
				deposit,
			)
			.map_err(|error| error.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			record.deposit = deposit;
			record.publisher = who.clone();
			Self::deposit_event(Event::AlgorithmsSet {
				dataset,
				algorithms: record.algorithms.to_vec(),
				publisher: who,
			});
			Datasets::<T>::insert(dataset, record);
			Ok(())
		}

		/// Buys a licence of `dataset` for `scope` and `purpose`, paying the
		/// terms' price (at most `max_price`) split between the publisher and
		/// the contributors whose consent covers it now; mints the licence
		/// as an NFT item to the buyer.
		#[pallet::call_index(6)]
		#[pallet::weight(Pallet::<T>::buy_weight(T::MaxContributors::get()))]
		pub fn buy_licence(
			origin: OriginFor<T>,
			dataset: DidId,
			scope: Scope,
			purpose: Purpose,
			max_price: BalanceOf<T>,
		) -> DispatchResultWithPostInfo {
			let buyer = ensure_signed(origin)?;
			let mut record = Datasets::<T>::get(dataset).ok_or(Error::<T>::NotFound)?;
			ensure!(
				record.state.is_orderable()
					&& T::Dids::active_kind(&dataset) == Some(SubjectKind::Dataset),
				Error::<T>::NotOrderable
			);
			ensure!(record.terms.offers(scope, purpose), Error::<T>::TermsNotOffered);
			ensure!(record.terms.price <= max_price, Error::<T>::PriceAboveLimit);
			ensure!(record.licences_sold < record.terms.max_licences, Error::<T>::SoldOut);
			let covered = Self::covered(&dataset, &record, scope, purpose, None)
				.ok_or(Error::<T>::TooFewContributors)?;
			let price = record.terms.price;
			ensure!(
				T::Currency::reducible_balance(
					&buyer,
					Preservation::Preserve,
					frame_support::traits::tokens::Fortitude::Polite
				) >= price,
				Error::<T>::CannotPay
			);

			let split = Self::pay(&buyer, &record, &covered, price)?;
			let licence = record.licences_sold;
			T::Nfts::mint_into(
				&record.collection,
				&licence,
				&buyer,
				&T::LicenceItem::get(),
				false,
			)?;
			let now = frame_system::Pallet::<T>::block_number();
			let expires_at = now.saturating_add(record.terms.duration);
			Licences::<T>::insert(dataset, licence, Licence { scope, purpose, expires_at, price });
			record.licences_sold = record.licences_sold.saturating_add(1);
			record.licences_outstanding = record.licences_outstanding.saturating_add(1);
			let contributors = record.contributors;
			Datasets::<T>::insert(dataset, record);
			Self::deposit_event(Event::LicenceBought {
				dataset,
				licence,
				buyer,
				scope,
				purpose,
				price,
				split,
				expires_at,
			});
			Ok(Some(Self::buy_weight(contributors)).into())
		}

		/// Burns the licence `licence` of `dataset` once it expired or the
		/// dataset was revoked (anyone may); the NFT item's deposit returns
		/// to whoever paid it.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::prune_licence())]
		pub fn prune_licence(
			origin: OriginFor<T>,
			dataset: DidId,
			licence: LicenceId,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let mut record = Datasets::<T>::get(dataset).ok_or(Error::<T>::NotFound)?;
			let sold = Licences::<T>::get(dataset, licence).ok_or(Error::<T>::LicenceNotFound)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				sold.expires_at < now || !record.state.honours_licences(),
				Error::<T>::LicenceLive
			);
			// The holder may have burnt the item through pallet-nfts already.
			if T::Nfts::owner(&record.collection, &licence).is_some() {
				T::Nfts::burn(&record.collection, &licence, None)?;
			}
			Licences::<T>::remove(dataset, licence);
			record.licences_outstanding = record.licences_outstanding.saturating_sub(1);
			Datasets::<T>::insert(dataset, record);
			Self::deposit_event(Event::LicencePruned { dataset, licence });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Registers `dataset` of `institution` for `who`, as
		/// [`Pallet::register`] describes.
		pub fn do_register(
			who: T::AccountId,
			dataset: DidId,
			institution: DidId,
			descriptor: DescriptorOf<T>,
			terms: TermsOf<T>,
			lineage: LineageOf<T>,
			min_contributors: u32,
		) -> DispatchResult {
			ensure!(!Datasets::<T>::contains_key(dataset), Error::<T>::AlreadyRegistered);
			Self::ensure_controls(&institution, SubjectKind::Institution, &who)
				.map_err(|()| Error::<T>::NotAnInstitution)?;
			Self::ensure_controls(&dataset, SubjectKind::Dataset, &who)
				.map_err(|()| Error::<T>::NotADatasetDid)?;
			ensure!(is_uri(&descriptor.location), Error::<T>::InvalidLocation);
			Self::ensure_valid_terms(&terms)?;
			ensure!(min_contributors >= T::MinContributors::get(), Error::<T>::FloorTooLow);
			Self::ensure_valid_lineage(&dataset, &lineage)?;

			let now = frame_system::Pallet::<T>::block_number();
			let collection = T::Nfts::create_collection(
				&Self::account_id(),
				&Self::account_id(),
				&T::LicenceCollection::convert(terms.transferable),
			)?;
			let mut record = DatasetOf::<T> {
				institution,
				publisher: who.clone(),
				descriptor,
				terms,
				lineage,
				algorithms: BoundedVec::new(),
				raw_download: false,
				state: AssetState::Active,
				min_contributors,
				contributors: 0,
				counted: 0,
				collection,
				licences_sold: 0,
				licences_outstanding: 0,
				deposit: Zero::zero(),
				registered_at: now,
			};
			record.deposit = Self::record_deposit(&record);
			T::Currency::hold(&HoldReason::DatasetDeposit.into(), &who, record.deposit)
				.map_err(|_| Error::<T>::CannotPayDeposit)?;

			for parent in &record.lineage.parents {
				Children::<T>::insert(parent, dataset, ());
			}
			DatasetOfCollection::<T>::insert(collection, dataset);
			Self::deposit_event(Event::Registered {
				dataset,
				institution,
				publisher: who,
				content_hash: record.descriptor.content_hash,
				parents: record.lineage.parents.to_vec(),
				collection,
				deposit: record.deposit,
			});
			Datasets::<T>::insert(dataset, record);
			Ok(())
		}

		/// Whether `twin` may be listed in `dataset`: an active patient twin,
		/// not listed yet, below its limit of datasets, with a bound patient
		/// who does not act for the institution (so no one pads a cohort
		/// with twins of their own to meet its floor or take its payments).
		fn ensure_listable(dataset: &DidId, record: &DatasetOf<T>, twin: &DidId) -> DispatchResult {
			ensure!(
				!Contributors::<T>::contains_key(dataset, twin),
				Error::<T>::AlreadyContributor
			);
			ensure!(
				ContributionCount::<T>::get(twin) < T::MaxDatasetsPerTwin::get(),
				Error::<T>::TooManyContributions
			);
			ensure!(
				T::Dids::active_kind(twin) == Some(SubjectKind::PatientTwin),
				Error::<T>::NotAPatientTwin
			);
			let independent = T::Dids::patient(twin).is_some_and(|patient| {
				patient != record.publisher
					&& !T::Dids::is_controlled_by(&record.institution, &patient)
			});
			ensure!(independent, Error::<T>::NotAnIndependentPatient);
			Ok(())
		}

		/// Lists `twin` as a contributor of `dataset` (whose `record` the
		/// caller stores), holding its deposit from `depositor`.
		fn list_contributor(
			dataset: &DidId,
			record: &mut DatasetOf<T>,
			twin: &DidId,
			depositor: &T::AccountId,
			counted: bool,
		) -> DispatchResult {
			let deposit = T::ContributorDeposit::get();
			T::Currency::hold(&HoldReason::DatasetDeposit.into(), depositor, deposit)
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			let contributor = Contributor { counted, depositor: depositor.clone(), deposit };
			Contributors::<T>::insert(dataset, twin, contributor);
			ContributionsOf::<T>::insert(twin, dataset, ());
			ContributionCount::<T>::mutate(twin, |count| *count = count.saturating_add(1));
			record.contributors = record.contributors.saturating_add(1);
			if counted {
				record.counted = record.counted.saturating_add(1);
			}
			Ok(())
		}

		/// Removes `contributor` (`twin`) from `dataset` (whose `record` the
		/// caller stores) and returns its deposit to its depositor.
		fn unlist_contributor(
			dataset: &DidId,
			record: &mut DatasetOf<T>,
			twin: &DidId,
			contributor: Contributor<T::AccountId, BalanceOf<T>>,
		) -> DispatchResult {
			twinnet_primitives::deposit::release::<_, T::Currency>(
				&HoldReason::DatasetDeposit.into(),
				&contributor.depositor,
				contributor.deposit,
			)
			.map_err(|error| error.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			Contributors::<T>::remove(dataset, twin);
			ContributionsOf::<T>::remove(twin, dataset);
			ContributionCount::<T>::mutate_exists(twin, |count| {
				*count = count.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
			});
			record.contributors = record.contributors.saturating_sub(1);
			if contributor.counted {
				record.counted = record.counted.saturating_sub(1);
			}
			Ok(())
		}

		/// The contributors of `dataset` whose rows may be used for `scope`
		/// and `purpose` now, if they are of at least `min_contributors`
		/// distinct patients (the k-anonymity floor); one twin per patient.
		fn covered(
			dataset: &DidId,
			record: &DatasetOf<T>,
			scope: Scope,
			purpose: Purpose,
			computation: Option<Computation>,
		) -> Option<Vec<DidId>> {
			let mut access = Self::institution_access(dataset, record, scope, purpose);
			access.computation = computation;
			let mut patients = alloc::collections::BTreeSet::new();
			let covered: Vec<DidId> = Contributors::<T>::iter_key_prefix(dataset)
				.filter(|twin| Self::covers(record, twin, &access).is_ok())
				.filter(|twin| T::Dids::patient(twin).is_some_and(|p| patients.insert(p)))
				.collect();
			(covered.len() as u32 >= record.min_contributors).then_some(covered)
		}

		/// This pallet's account, owner of the licence collections.
		pub fn account_id() -> T::AccountId {
			T::PalletId::get().into_account_truncating()
		}

		/// Whether `did` is an active DID of `kind` that `who` controls.
		fn ensure_controls(did: &DidId, kind: SubjectKind, who: &T::AccountId) -> Result<(), ()> {
			let controls = T::Dids::access(did, who)
				.is_some_and(|access| access.kind == kind && access.role.is_some());
			controls.then_some(()).ok_or(())
		}

		fn ensure_valid_terms(terms: &TermsOf<T>) -> DispatchResult {
			ensure!(terms.scopes.view || terms.scopes.compute, Error::<T>::NoScopes);
			ensure!(!terms.purposes.is_empty(), Error::<T>::NoPurposes);
			ensure!(
				terms.purposes.windows(2).all(|pair| matches!(pair, [a, b] if a < b)),
				Error::<T>::UnsortedPurposes
			);
			ensure!(!terms.duration.is_zero(), Error::<T>::ZeroDuration);
			ensure!(terms.duration <= T::MaxLicenceDuration::get(), Error::<T>::DurationTooLong);
			ensure!(terms.max_licences > 0, Error::<T>::ZeroMaxLicences);
			Ok(())
		}

		fn ensure_valid_lineage(dataset: &DidId, lineage: &LineageOf<T>) -> DispatchResult {
			ensure!(
				lineage.parents.is_empty() == lineage.transformation.is_none(),
				Error::<T>::TransformationMismatch
			);
			for (index, parent) in lineage.parents.iter().enumerate() {
				ensure!(parent != dataset, Error::<T>::LineageCycle);
				ensure!(
					!twinnet_primitives::repeats_earlier(&lineage.parents, index),
					Error::<T>::DuplicateParent
				);
				ensure!(Datasets::<T>::contains_key(parent), Error::<T>::UnknownParent);
			}
			Ok(())
		}

		/// The deposit of a dataset's record alone (not its contributors).
		fn record_deposit(record: &DatasetOf<T>) -> BalanceOf<T> {
			let bytes = record.encoded_size() as u32;
			T::DepositBase::get()
				.saturating_add(T::DepositPerByte::get().saturating_mul(bytes.into()))
		}

		/// The access a contributor's consent must allow: the institution
		/// using the twin's rows in this dataset for `scope` and `purpose`.
		fn institution_access(
			dataset: &DidId,
			record: &DatasetOf<T>,
			scope: Scope,
			purpose: Purpose,
		) -> Access<T::AccountId> {
			Access {
				grantee: Grantee::Institution(record.institution),
				scope,
				purpose,
				dataset: Some(*dataset),
				computation: None,
			}
		}

		/// Whether `twin`'s rows may be used for `access` now: in custody
		/// and under a live consent.
		fn covers(
			record: &DatasetOf<T>,
			twin: &DidId,
			access: &Access<T::AccountId>,
		) -> Result<GrantId, Exclusion> {
			ensure!(T::Dids::custodian(twin) == Some(record.institution), Exclusion::NotInCustody);
			T::Consent::check(twin, access).map_err(Exclusion::Consent)
		}

		/// Whether `twin` may contribute to `dataset`: covered for every
		/// scope and purpose the terms offer.
		pub fn coverage(
			dataset: &DidId,
			record: &DatasetOf<T>,
			twin: &DidId,
		) -> Result<(), Exclusion> {
			for scope in record.terms.scopes.offered() {
				for purpose in &record.terms.purposes {
					let access = Self::institution_access(dataset, record, scope, *purpose);
					Self::covers(record, twin, &access)?;
				}
			}
			Ok(())
		}

		/// The most the consent checks of [`Self::coverage`] of `twins`
		/// twins weigh: one check per scope and purpose each.
		fn coverage_weight(twins: u32) -> Weight {
			let per_twin = 2u32.saturating_mul(<MaxPurposes as Get<u32>>::get());
			T::Consent::check_weight(twins.saturating_mul(per_twin))
		}

		/// The weight of buying a licence of a dataset with `contributors`
		/// contributors: one consent check each.
		fn buy_weight(contributors: u32) -> Weight {
			T::WeightInfo::buy_licence(contributors)
				.saturating_add(T::Consent::check_weight(contributors))
		}

		/// Emits `OrderingSuspended`/`OrderingResumed` when `record` crossed
		/// its floor from `was_open`.
		fn note_floor(dataset: &DidId, record: &DatasetOf<T>, was_open: bool) {
			match (was_open, record.meets_floor()) {
				(true, false) => Self::deposit_event(Event::OrderingSuspended {
					dataset: *dataset,
					counted: record.counted,
					floor: record.min_contributors,
				}),
				(false, true) => Self::deposit_event(Event::OrderingResumed {
					dataset: *dataset,
					counted: record.counted,
				}),
				_ => {},
			}
		}

		/// Divides `price` between the publisher and the `covered`
		/// contributors' patients and pays it from `buyer`.
		fn pay(
			buyer: &T::AccountId,
			record: &DatasetOf<T>,
			covered: &[DidId],
			price: BalanceOf<T>,
		) -> Result<Split<BalanceOf<T>>, DispatchError> {
			let (per_contributor, _) =
				split_price(price, T::ContributorShare::get(), covered.len() as u32);
			let mut paid: u32 = 0;
			for twin in covered {
				let payable = T::Dids::patient(twin).filter(|patient| {
					!per_contributor.is_zero()
						&& T::Currency::can_deposit(patient, per_contributor, Provenance::Extant)
							== DepositConsequence::Success
				});
				if let Some(patient) = payable {
					T::Currency::transfer(
						buyer,
						&patient,
						per_contributor,
						Preservation::Preserve,
					)?;
					paid = paid.saturating_add(1);
				}
			}
			let publisher = price.saturating_sub(per_contributor.saturating_mul(paid.into()));
			if !publisher.is_zero() {
				T::Currency::transfer(buyer, &record.publisher, publisher, Preservation::Preserve)?;
			}
			Ok(Split { per_contributor, contributors_paid: paid, publisher })
		}

		/// The contributors of `dataset` after `start_after`, at most
		/// `limit`, each with why its rows do not count now (`None`: they do).
		pub fn contributors_of(
			dataset: &DidId,
			start_after: Option<DidId>,
			limit: u32,
		) -> Vec<(DidId, Option<Exclusion>)> {
			let Some(record) = Datasets::<T>::get(dataset) else { return Vec::new() };
			let keys = match start_after {
				Some(after) => Contributors::<T>::iter_key_prefix_from(
					dataset,
					Contributors::<T>::hashed_key_for(dataset, after),
				),
				None => Contributors::<T>::iter_key_prefix(dataset),
			};
			keys.take(limit as usize)
				.map(|twin| (twin, Self::coverage(dataset, &record, &twin).err()))
				.collect()
		}

		/// The licence `licence` of `dataset` as the runtime API shows it.
		pub fn licence_view(
			dataset: &DidId,
			licence: LicenceId,
		) -> Option<LicenceView<T::AccountId, BlockNumberFor<T>, BalanceOf<T>>> {
			let record = Datasets::<T>::get(dataset)?;
			let sold = Licences::<T>::get(dataset, licence)?;
			let holder = T::Nfts::owner(&record.collection, &licence)?;
			Some(LicenceView {
				dataset: *dataset,
				id: licence,
				holder,
				scope: sold.scope,
				purpose: sold.purpose,
				expires_at: sold.expires_at,
				price: sold.price,
				transferable: record.terms.transferable,
			})
		}

		/// Checks the pallet's invariants: every dataset's counters agree
		/// with its contributors and licences, and the reverse indexes with
		/// the forward ones.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			for (dataset, record) in Datasets::<T>::iter() {
				let listed: Vec<_> = Contributors::<T>::iter_prefix(dataset).collect();
				ensure!(listed.len() as u32 == record.contributors, "contributor count");
				let counted = listed.iter().filter(|(_, c)| c.counted).count() as u32;
				ensure!(counted == record.counted, "counted contributors");
				ensure!(record.contributors <= T::MaxContributors::get(), "too many contributors");
				for (twin, _) in &listed {
					ensure!(ContributionsOf::<T>::contains_key(twin, dataset), "reverse index");
				}
				let outstanding = Licences::<T>::iter_prefix(dataset).count() as u32;
				ensure!(outstanding == record.licences_outstanding, "outstanding licences");
				ensure!(record.licences_outstanding <= record.licences_sold, "licences sold");
				ensure!(
					DatasetOfCollection::<T>::get(record.collection) == Some(dataset),
					"collection index"
				);
				ensure!(!record.deposit.is_zero(), "record deposit");
				ensure!(listed.iter().all(|(_, c)| !c.deposit.is_zero()), "contributor deposits");
				for parent in &record.lineage.parents {
					ensure!(Children::<T>::contains_key(parent, dataset), "children index");
				}
			}
			for (twin, dataset, ()) in ContributionsOf::<T>::iter() {
				ensure!(Contributors::<T>::contains_key(dataset, twin), "contribution index");
			}
			for (twin, count) in ContributionCount::<T>::iter() {
				let listed = ContributionsOf::<T>::iter_prefix(twin).count() as u32;
				ensure!(listed == count && count > 0, "contribution count");
				ensure!(count <= T::MaxDatasetsPerTwin::get(), "too many contributions");
			}
			Ok(())
		}
	}

	/// A revoked grant to an institution excludes the twin at once from
	/// every dataset of that institution it counts in, without looking for
	/// another grant that might still cover it: revoking stays cheap for
	/// the patient, and the exclusion errs on the patient's side. A
	/// [`Pallet::refresh_contributors`] reinstates a twin that is still
	/// covered; [`Pallet::buy_licence`] and [`DatasetAccess::can_compute`]
	/// check every contributor afresh anyway.
	impl<T: Config> OnGrantRevoked<T::AccountId> for Pallet<T> {
		fn on_revoked(twin: &DidId, _grant: GrantId, grantee: &Grantee<T::AccountId>) {
			let Grantee::Institution(institution) = grantee else { return };
			for dataset in ContributionsOf::<T>::iter_key_prefix(twin) {
				let Some(mut record) = Datasets::<T>::get(dataset) else { continue };
				let Some(mut contributor) = Contributors::<T>::get(dataset, twin) else { continue };
				if record.institution != *institution || !contributor.counted {
					continue;
				}
				let was_open = record.meets_floor();
				record.counted = record.counted.saturating_sub(1);
				contributor.counted = false;
				Contributors::<T>::insert(dataset, twin, contributor);
				Self::deposit_event(Event::ContributorExcluded {
					dataset,
					twin: *twin,
					reason: Exclusion::Consent(ConsentDenied::Revoked),
				});
				Self::note_floor(&dataset, &record, was_open);
				Datasets::<T>::insert(dataset, record);
			}
		}

		fn weight() -> Weight {
			T::WeightInfo::on_revoked(T::MaxDatasetsPerTwin::get())
		}
	}

	/// A Dataset DID cannot be deactivated while licences of it are
	/// outstanding; once deactivated, its dataset is revoked. A deactivated
	/// patient twin leaves every dataset at once, its deposits returned.
	impl<T: Config> DidDependents for Pallet<T> {
		fn ensure_can_deactivate(did: &DidId, kind: SubjectKind) -> DispatchResult {
			if kind != SubjectKind::Dataset {
				return Ok(());
			}
			let outstanding = Datasets::<T>::get(did).is_some_and(|d| d.licences_outstanding > 0);
			ensure!(!outstanding, Error::<T>::LicencesOutstanding);
			Ok(())
		}

		fn on_deactivated(did: &DidId, kind: SubjectKind) {
			match kind {
				SubjectKind::Dataset => Datasets::<T>::mutate(did, |record| {
					if let Some(record) = record {
						record.state = AssetState::Revoked;
					}
				}),
				SubjectKind::PatientTwin => Self::withdraw_twin(did),
				SubjectKind::Institution | SubjectKind::Model => {},
			}
		}

		fn weight() -> Weight {
			T::WeightInfo::withdraw_twin(T::MaxDatasetsPerTwin::get())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Removes the deactivated `twin` from every dataset it contributes to.
		fn withdraw_twin(twin: &DidId) {
			let datasets: Vec<DidId> = ContributionsOf::<T>::iter_key_prefix(twin).collect();
			for dataset in datasets {
				let Some(mut record) = Datasets::<T>::get(dataset) else { continue };
				let Some(contributor) = Contributors::<T>::get(dataset, twin) else { continue };
				let was_open = record.meets_floor();
				if Self::unlist_contributor(&dataset, &mut record, twin, contributor).is_ok() {
					Self::deposit_event(Event::ContributorRemoved {
						dataset,
						twin: *twin,
						by_patient: true,
					});
					Self::note_floor(&dataset, &record, was_open);
					Datasets::<T>::insert(dataset, record);
				}
			}
		}
	}

	impl<T: Config> DatasetAccess<T::AccountId> for Pallet<T> {
		fn can_compute(
			researcher: &T::AccountId,
			dataset: &DidId,
			licence: LicenceId,
			purpose: Purpose,
			computation: &Computation,
		) -> Result<ComputeAccess<T::AccountId>, AccessDenied> {
			let record = Datasets::<T>::get(dataset).ok_or(AccessDenied::UnknownDataset)?;
			ensure!(
				record.state.honours_licences()
					&& T::Dids::active_kind(dataset) == Some(SubjectKind::Dataset),
				AccessDenied::Revoked
			);
			let now = frame_system::Pallet::<T>::block_number();
			let held = Licences::<T>::get(dataset, licence).is_some_and(|sold| {
				sold.scope == Scope::Compute
					&& sold.purpose == purpose
					&& sold.expires_at >= now
					&& T::Nfts::owner(&record.collection, &licence).as_ref() == Some(researcher)
			});
			ensure!(held, AccessDenied::NoLicence);
			ensure!(
				record.algorithms.contains(&computation.code_hash),
				AccessDenied::AlgorithmNotAllowed
			);
			let twins =
				Self::covered(dataset, &record, Scope::Compute, purpose, Some(*computation))
					.ok_or(AccessDenied::TooFewContributors)?;
			Ok(ComputeAccess {
				licence,
				institution: record.institution,
				publisher: record.publisher,
				min_contributors: record.min_contributors,
				twins,
			})
		}

		fn can_compute_weight() -> Weight {
			T::WeightInfo::can_compute(T::MaxContributors::get())
				.saturating_add(T::Consent::check_weight(T::MaxContributors::get()))
		}
	}
}

/// Divides `price`: the contributors' part (`share` of it, rounded down)
/// equally among `contributors`, rounded down; returns (each contributor's
/// amount, the publisher's amount), which add up to `price` exactly.
pub fn split_price<Balance>(
	price: Balance,
	share: sp_runtime::Perbill,
	contributors: u32,
) -> (Balance, Balance)
where
	Balance: sp_runtime::traits::AtLeast32BitUnsigned + Copy,
{
	use sp_runtime::traits::Zero;
	let pool = share.mul_floor(price);
	let per_contributor = pool.checked_div(&Balance::from(contributors)).unwrap_or_else(Zero::zero);
	let publisher = price.saturating_sub(per_contributor.saturating_mul(contributors.into()));
	(per_contributor, publisher)
}

/// Whether `location` is a URI: a scheme (a letter, then letters, digits,
/// `+`, `-` or `.`), a colon, and a non-empty rest of printable ASCII
/// without spaces.
pub fn is_uri(location: &[u8]) -> bool {
	let Some(colon) = location.iter().position(|b| *b == b':') else { return false };
	let (scheme, rest) = location.split_at(colon);
	let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
		&& scheme
			.iter()
			.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
	let rest = rest.get(1..).unwrap_or_default();
	scheme_ok && !rest.is_empty() && rest.iter().all(|b| b.is_ascii_graphic())
}
