//! # pallet-twins: DID-registered digital twins
//!
//! Every patient twin, institution, dataset and model in TwinNet is identified
//! by a DID of the `did:twin` method (see `docs/did-method.md`). This pallet is
//! that method's registry: it creates DIDs, keeps their verification methods,
//! service endpoints and metadata, and deactivates them.
//!
//! ## Flows
//!
//! - **Create**: [`Pallet::create`] registers a DID of a [`SubjectKind`] with a
//!   controller (the signer, another account, or another DID such as a
//!   guardian's) and its first verification methods. The identifier is
//!   derived from the signer and a counter, and announced in
//!   [`Event::DidCreated`].
//! - **Update**: the controller adds and removes verification methods
//!   ([`Pallet::add_verification_method`], [`Pallet::remove_verification_method`]),
//!   rotates a key in one step ([`Pallet::rotate_key`]), hands control to
//!   someone else ([`Pallet::rotate_controller`]), manages service endpoints
//!   ([`Pallet::add_service`], [`Pallet::remove_service`]) and sets the
//!   metadata hash and schema tag ([`Pallet::set_metadata`]).
//! - **Deactivate**: [`Pallet::deactivate`] is irreversible. The record is
//!   deleted and its deposit returned; a tombstone keeps the identifier from
//!   reuse and lets resolvers report it as deactivated.
//! - **Custody**: an institution offers to hold a twin's data
//!   ([`Pallet::offer_custody`]); the twin's controller accepts
//!   ([`Pallet::accept_custody`]). Either side may withdraw a pending offer
//!   ([`Pallet::cancel_custody_offer`]) or end custody ([`Pallet::end_custody`]).
//!   Other pallets read the custodian through [`DidRegistry`].
//!
//! ## Authorisation
//!
//! A DID is controlled by its [`Controller`]: an account signs directly; a
//! controlling DID acts through its own controlling account or through one of
//! its authentication keys (one level deep, so checks stay bounded).
//!
//! ## Deposits
//!
//! Whoever signs a change of a DID holds its deposit: [`Config::DepositBase`]
//! plus [`Config::DepositPerByte`] for each byte of the record and its index
//! entry (a fungible hold, [`HoldReason::DidDeposit`]). Each change recomputes
//! it: the signer takes it over and the previous holder gets theirs back. The
//! institution that offers custody holds [`Config::CustodyDeposit`]
//! ([`HoldReason::CustodyDeposit`]) while the offer is pending and while it
//! holds custody.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use frame_support::traits::fungible;
use twinnet_primitives::{
	did::{Controller, DidId, DidResolution, SubjectKind},
	traits::DidRegistry,
};

/// A balance of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

// FRAME's pallet macros expand to `expect` on values they build themselves
// (storage prefixes, error and constant metadata); hand-written code here uses
// neither `expect` nor `unwrap`.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use codec::{Encode, MaxEncodedLen};
	use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
	use twinnet_primitives::deposit::{move_deposit, release};
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::{traits::Saturating, AccountId32};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config<AccountId: From<AccountId32>> {
		/// The currency deposits are held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The fixed part of a DID's deposit.
		#[pallet::constant]
		type DepositBase: Get<BalanceOf<Self>>;

		/// The deposit per byte a DID stores.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// The deposit of a custody offer or custody record.
		#[pallet::constant]
		type CustodyDeposit: Get<BalanceOf<Self>>;

		/// The most verification methods a DID may have.
		#[pallet::constant]
		type MaxVerificationMethods: Get<u32>;

		/// The most service endpoints a DID may have.
		#[pallet::constant]
		type MaxServices: Get<u32>;

		/// The longest fragment (name of a method or service) in bytes.
		#[pallet::constant]
		type MaxFragmentLength: Get<u32>;

		/// The longest service type in bytes.
		#[pallet::constant]
		type MaxServiceTypeLength: Get<u32>;

		/// The longest service endpoint URL in bytes.
		#[pallet::constant]
		type MaxUrlLength: Get<u32>;

		/// The longest data schema tag in bytes.
		#[pallet::constant]
		type MaxSchemaLength: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The storage deposit of a DID.
		DidDeposit,
		/// The deposit of a custody offer or custody record.
		CustodyDeposit,
	}

	/// Active DIDs.
	#[pallet::storage]
	pub type Dids<T: Config> = StorageMap<_, Twox64Concat, DidId, DidDetails<T>>;

	/// Deactivated DIDs: their identifiers are never reused.
	#[pallet::storage]
	pub type DeactivatedDids<T: Config> =
		StorageMap<_, Twox64Concat, DidId, Tombstone<BlockNumberFor<T>>>;

	/// Active DIDs by controller, for listing what an account or DID controls.
	#[pallet::storage]
	pub type DidsByController<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		Controller<T::AccountId>,
		Twox64Concat,
		DidId,
		(),
	>;

	/// Pending custody offers, one per twin.
	#[pallet::storage]
	pub type CustodyOffers<T: Config> =
		StorageMap<_, Twox64Concat, DidId, Custody<T::AccountId>>;

	/// The institution that holds each twin's data.
	#[pallet::storage]
	pub type Custodians<T: Config> = StorageMap<_, Twox64Concat, DidId, Custody<T::AccountId>>;

	/// How many DIDs have been created: a salt of the next identifier.
	#[pallet::storage]
	pub type DidCounter<T: Config> = StorageValue<_, u64, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A DID was created.
		DidCreated {
			did: DidId,
			kind: SubjectKind,
			controller: Controller<T::AccountId>,
			depositor: T::AccountId,
		},
		/// A verification method was added.
		VerificationMethodAdded { did: DidId, fragment: Fragment<T> },
		/// A verification method was removed.
		VerificationMethodRemoved { did: DidId, fragment: Fragment<T> },
		/// A key was replaced by another in one step.
		KeyRotated { did: DidId, old_fragment: Fragment<T>, new_fragment: Fragment<T> },
		/// Control of a DID passed to someone else.
		ControllerRotated {
			did: DidId,
			old_controller: Controller<T::AccountId>,
			new_controller: Controller<T::AccountId>,
		},
		/// A service endpoint was added.
		ServiceAdded { did: DidId, fragment: Fragment<T> },
		/// A service endpoint was removed.
		ServiceRemoved { did: DidId, fragment: Fragment<T> },
		/// The metadata hash or schema tag changed.
		MetadataSet { did: DidId, metadata_hash: Option<H256>, schema: Option<SchemaTag<T>> },
		/// A DID was deactivated, for good; its deposit went back to `depositor`.
		DidDeactivated { did: DidId, depositor: T::AccountId, refunded: BalanceOf<T> },
		/// An institution offered to hold a twin's data.
		CustodyOffered { twin: DidId, institution: DidId },
		/// The twin's controller accepted an institution as custodian.
		CustodyAccepted { twin: DidId, institution: DidId },
		/// A pending custody offer was withdrawn or rejected.
		CustodyOfferCancelled { twin: DidId, institution: DidId },
		/// An institution no longer holds a twin's data.
		CustodyEnded { twin: DidId, institution: DidId },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No active DID has this identifier.
		NotFound,
		/// The derived identifier is taken (a hash collision: never expected).
		AlreadyExists,
		/// The DID was deactivated; it can no longer change.
		Deactivated,
		/// The signer does not control this DID.
		NotAuthorized,
		/// The controlling DID does not exist or was deactivated.
		ControllerNotFound,
		/// A DID cannot control itself.
		SelfControl,
		/// The DID still controls other DIDs; rotate their controller first.
		StillControlsDids,
		/// The DID has as many verification methods as allowed.
		MaxKeysExceeded,
		/// The DID has as many service endpoints as allowed.
		MaxServicesExceeded,
		/// Another method or service of the DID already uses this fragment.
		DuplicateFragment,
		/// The DID already has this public key.
		DuplicateKey,
		/// A fragment must be 1 or more of `A-Z a-z 0-9 - . _ ~`.
		InvalidFragment,
		/// The public key is malformed (an ECDSA key must be compressed).
		InvalidKey,
		/// A service type must be 1 or more of `A-Z a-z 0-9 - . _ ~`.
		InvalidServiceType,
		/// A service endpoint must be an absolute URI (`scheme:rest`) of visible ASCII.
		InvalidServiceEndpoint,
		/// A schema tag must be printable ASCII without surrounding spaces.
		InvalidSchema,
		/// The DID has no verification method with this fragment.
		MethodNotFound,
		/// The DID has no service with this fragment.
		ServiceNotFound,
		/// The new controller is the current one.
		SameController,
		/// Custody concerns patient twins only.
		NotATwin,
		/// Only institutions can hold custody.
		NotAnInstitution,
		/// The twin already has a pending custody offer.
		CustodyOfferPending,
		/// The twin has no pending custody offer.
		NoCustodyOffer,
		/// The institution already holds custody of this twin.
		AlreadyCustodian,
		/// The twin has no custodian.
		NoCustodian,
		/// The signer cannot pay the deposit.
		CannotPayDeposit,
	}

	/// DIDs that exist from genesis, such as the dev chain's sample
	/// institution and patient twin.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The DIDs to create, in order.
		pub dids: alloc::vec::Vec<GenesisDid<T::AccountId>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let mut created = alloc::vec::Vec::<DidId>::new();
			for entry in &self.dids {
				let key = VerificationMethod {
					fragment: BoundedVec::truncate_from(b"key-1".to_vec()),
					key: twinnet_primitives::did::PublicKey::Sr25519(entry.sr25519_key),
					relationships: twinnet_primitives::did::Relationships {
						authentication: true,
						assertion_method: true,
						..Default::default()
					},
				};
				let controller = Controller::Account(entry.creator.clone());
				let methods = BoundedVec::truncate_from(alloc::vec![key]);
				let did = match Pallet::<T>::do_create(entry.creator.clone(), entry.kind, controller, methods)
				{
					Ok(did) => did,
					Err(error) => panic!("genesis DID of {:?} is invalid: {error:?}", entry.creator),
				};
				if let Some(index) = entry.custodian {
					let institution = created.get(index as usize).copied();
					let depositor = self.dids.get(index as usize).map(|d| d.creator.clone());
					let (Some(institution), Some(depositor)) = (institution, depositor) else {
						panic!("genesis custodian {index} is not an earlier DID");
					};
					assert!(
						entry.kind == SubjectKind::PatientTwin &&
							Pallet::<T>::active_kind(&institution) == Some(SubjectKind::Institution),
						"genesis custody must be of a twin by an institution"
					);
					if let Err(error) = Pallet::<T>::do_grant_custody(did, institution, depositor) {
						panic!("genesis custody deposit cannot be paid: {error:?}");
					}
				}
				created.push(did);
			}
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
		/// Creates a DID of `kind`, controlled by `controller` (the signer if
		/// `None`), with its first verification methods. The signer holds the
		/// deposit. The new identifier is in [`Event::DidCreated`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create(verification_methods.len() as u32))]
		pub fn create(
			origin: OriginFor<T>,
			kind: SubjectKind,
			controller: Option<Controller<T::AccountId>>,
			verification_methods: BoundedVec<VerificationMethodOf<T>, T::MaxVerificationMethods>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let controller = controller.unwrap_or_else(|| Controller::Account(who.clone()));
			Self::do_create(who, kind, controller, verification_methods).map(|_| ())
		}

		/// Adds a verification method to `did`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::add_verification_method())]
		pub fn add_verification_method(
			origin: OriginFor<T>,
			did: DidId,
			method: VerificationMethodOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::controlled_did(&did, &who)?;
			Self::ensure_can_add_method(&details, &method)?;
			let fragment = method.fragment.clone();
			details
				.verification_methods
				.try_push(method)
				.map_err(|_| Error::<T>::MaxKeysExceeded)?;
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::VerificationMethodAdded { did, fragment });
			Ok(())
		}

		/// Removes the verification method `fragment` from `did`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::remove_verification_method())]
		pub fn remove_verification_method(
			origin: OriginFor<T>,
			did: DidId,
			fragment: Fragment<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::controlled_did(&did, &who)?;
			let index = Self::method_index(&details, &fragment)?;
			details.verification_methods.remove(index);
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::VerificationMethodRemoved { did, fragment });
			Ok(())
		}

		/// Replaces the verification method `old_fragment` of `did` by
		/// `new_method` in one step, so the DID is never without a key.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::rotate_key())]
		pub fn rotate_key(
			origin: OriginFor<T>,
			did: DidId,
			old_fragment: Fragment<T>,
			new_method: VerificationMethodOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::controlled_did(&did, &who)?;
			let index = Self::method_index(&details, &old_fragment)?;
			details.verification_methods.remove(index);
			Self::ensure_can_add_method(&details, &new_method)?;
			let new_fragment = new_method.fragment.clone();
			details
				.verification_methods
				.try_insert(index, new_method)
				.map_err(|_| Error::<T>::MaxKeysExceeded)?;
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::KeyRotated { did, old_fragment, new_fragment });
			Ok(())
		}

		/// Hands control of `did` to `new_controller`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::rotate_controller())]
		pub fn rotate_controller(
			origin: OriginFor<T>,
			did: DidId,
			new_controller: Controller<T::AccountId>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::controlled_did(&did, &who)?;
			ensure!(details.controller != new_controller, Error::<T>::SameController);
			ensure!(new_controller != Controller::Did(did), Error::<T>::SelfControl);
			Self::ensure_valid_controller(&new_controller)?;

			let old_controller = core::mem::replace(&mut details.controller, new_controller.clone());
			DidsByController::<T>::remove(&old_controller, did);
			DidsByController::<T>::insert(&new_controller, did, ());
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::ControllerRotated { did, old_controller, new_controller });
			Ok(())
		}

		/// Adds a service endpoint to `did`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::add_service())]
		pub fn add_service(origin: OriginFor<T>, did: DidId, service: ServiceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::controlled_did(&did, &who)?;
			ensure_valid_service::<T>(&service)?;
			ensure!(!details.has_fragment(&service.fragment), Error::<T>::DuplicateFragment);
			let fragment = service.fragment.clone();
			details.services.try_push(service).map_err(|_| Error::<T>::MaxServicesExceeded)?;
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::ServiceAdded { did, fragment });
			Ok(())
		}

		/// Removes the service endpoint `fragment` from `did`.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::remove_service())]
		pub fn remove_service(
			origin: OriginFor<T>,
			did: DidId,
			fragment: Fragment<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::controlled_did(&did, &who)?;
			let index = details
				.services
				.iter()
				.position(|s| s.fragment == fragment)
				.ok_or(Error::<T>::ServiceNotFound)?;
			details.services.remove(index);
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::ServiceRemoved { did, fragment });
			Ok(())
		}

		/// Sets (or clears, with `None`) the metadata hash and data schema tag of `did`.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::set_metadata())]
		pub fn set_metadata(
			origin: OriginFor<T>,
			did: DidId,
			metadata_hash: Option<H256>,
			schema: Option<SchemaTag<T>>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::controlled_did(&did, &who)?;
			if let Some(schema) = &schema {
				ensure_valid_schema::<T>(schema)?;
			}
			details.metadata_hash = metadata_hash;
			details.schema = schema.clone();
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::MetadataSet { did, metadata_hash, schema });
			Ok(())
		}

		/// Deactivates `did` for good. Its record is deleted and the deposit
		/// returned; a twin's pending custody offer and custody end with it.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::deactivate())]
		pub fn deactivate(origin: OriginFor<T>, did: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let details = Self::controlled_did(&did, &who)?;
			let controls_others =
				DidsByController::<T>::iter_key_prefix(Controller::<T::AccountId>::Did(did))
					.next()
					.is_some();
			ensure!(!controls_others, Error::<T>::StillControlsDids);

			if let Some(offer) = CustodyOffers::<T>::take(did) {
				Self::release_custody_deposit(&offer)?;
			}
			if let Some(custody) = Custodians::<T>::take(did) {
				Self::release_custody_deposit(&custody)?;
			}
			let refunded = Self::release_did_deposit(&details)?;
			DidsByController::<T>::remove(&details.controller, did);
			Dids::<T>::remove(did);
			DeactivatedDids::<T>::insert(
				did,
				Tombstone {
					kind: details.kind,
					created: details.created,
					deactivated: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::DidDeactivated { did, depositor: details.depositor, refunded });
			Ok(())
		}

		/// Offers, as (the controller of) `institution`, to hold the data of `twin`.
		/// The signer holds [`Config::CustodyDeposit`] until the offer is
		/// withdrawn or, once accepted, until custody ends.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::offer_custody())]
		pub fn offer_custody(
			origin: OriginFor<T>,
			institution: DidId,
			twin: DidId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let institution_details = Self::controlled_did(&institution, &who)?;
			ensure!(
				institution_details.kind == SubjectKind::Institution,
				Error::<T>::NotAnInstitution
			);
			ensure!(Self::active_did(&twin)?.kind == SubjectKind::PatientTwin, Error::<T>::NotATwin);
			ensure!(
				Custodians::<T>::get(twin).map(|c| c.institution) != Some(institution),
				Error::<T>::AlreadyCustodian
			);
			ensure!(!CustodyOffers::<T>::contains_key(twin), Error::<T>::CustodyOfferPending);

			T::Currency::hold(&HoldReason::CustodyDeposit.into(), &who, T::CustodyDeposit::get())
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			CustodyOffers::<T>::insert(twin, Custody { institution, depositor: who });
			Self::deposit_event(Event::CustodyOffered { twin, institution });
			Ok(())
		}

		/// Accepts, as the controller of `twin`, the pending custody offer: the
		/// offering institution becomes the twin's custodian.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::accept_custody())]
		pub fn accept_custody(origin: OriginFor<T>, twin: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::controlled_did(&twin, &who)?;
			let offer = CustodyOffers::<T>::get(twin).ok_or(Error::<T>::NoCustodyOffer)?;
			ensure!(
				Self::active_kind(&offer.institution) == Some(SubjectKind::Institution),
				Error::<T>::NotAnInstitution
			);

			CustodyOffers::<T>::remove(twin);
			let institution = offer.institution;
			if let Some(previous) = Custodians::<T>::mutate(twin, |c| c.replace(offer)) {
				Self::release_custody_deposit(&previous)?;
				Self::deposit_event(Event::CustodyEnded { twin, institution: previous.institution });
			}
			Self::deposit_event(Event::CustodyAccepted { twin, institution });
			Ok(())
		}

		/// Withdraws (as the offering institution's controller) or rejects (as
		/// the twin's controller) the pending custody offer for `twin`.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::cancel_custody_offer())]
		pub fn cancel_custody_offer(origin: OriginFor<T>, twin: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let details = Self::active_did(&twin)?;
			let offer = CustodyOffers::<T>::get(twin).ok_or(Error::<T>::NoCustodyOffer)?;
			Self::ensure_custody_party(&details, &offer, &who)?;
			CustodyOffers::<T>::remove(twin);
			Self::release_custody_deposit(&offer)?;
			Self::deposit_event(Event::CustodyOfferCancelled { twin, institution: offer.institution });
			Ok(())
		}

		/// Ends custody of `twin`: callable by the twin's controller or the
		/// custodian institution's controller.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::end_custody())]
		pub fn end_custody(origin: OriginFor<T>, twin: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let details = Self::active_did(&twin)?;
			let custody = Custodians::<T>::get(twin).ok_or(Error::<T>::NoCustodian)?;
			Self::ensure_custody_party(&details, &custody, &who)?;
			Custodians::<T>::remove(twin);
			Self::release_custody_deposit(&custody)?;
			Self::deposit_event(Event::CustodyEnded { twin, institution: custody.institution });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Creates a DID (see [`Pallet::create`]) and returns its identifier.
		pub fn do_create(
			who: T::AccountId,
			kind: SubjectKind,
			controller: Controller<T::AccountId>,
			verification_methods: BoundedVec<VerificationMethodOf<T>, T::MaxVerificationMethods>,
		) -> Result<DidId, DispatchError> {
			Self::ensure_valid_controller(&controller)?;
			for (index, method) in verification_methods.iter().enumerate() {
				ensure_valid_fragment::<T>(&method.fragment)?;
				ensure_valid_key::<T>(&method.key)?;
				for earlier in verification_methods.iter().take(index) {
					ensure!(earlier.fragment != method.fragment, Error::<T>::DuplicateFragment);
					ensure!(earlier.key != method.key, Error::<T>::DuplicateKey);
				}
			}
			let counter = DidCounter::<T>::get();
			let did = Self::derive_did(&who, counter);
			ensure!(
				!Dids::<T>::contains_key(did) && !DeactivatedDids::<T>::contains_key(did),
				Error::<T>::AlreadyExists
			);

			let now = frame_system::Pallet::<T>::block_number();
			let mut details = DidDetails {
				kind,
				controller: controller.clone(),
				verification_methods,
				services: BoundedVec::new(),
				metadata_hash: None,
				schema: None,
				depositor: who.clone(),
				deposit: Default::default(),
				created: now,
				updated: now,
			};
			details.deposit = Self::deposit_for(&details);
			T::Currency::hold(&HoldReason::DidDeposit.into(), &who, details.deposit)
				.map_err(|_| Error::<T>::CannotPayDeposit)?;

			DidCounter::<T>::put(counter.saturating_add(1));
			DidsByController::<T>::insert(&controller, did, ());
			Dids::<T>::insert(did, details);
			Self::deposit_event(Event::DidCreated { did, kind, controller, depositor: who });
			Ok(did)
		}

		/// Makes `institution` the custodian of `twin` on the offer of
		/// `depositor`, who holds the custody deposit.
		fn do_grant_custody(
			twin: DidId,
			institution: DidId,
			depositor: T::AccountId,
		) -> DispatchResult {
			T::Currency::hold(&HoldReason::CustodyDeposit.into(), &depositor, T::CustodyDeposit::get())
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			Custodians::<T>::insert(twin, Custody { institution, depositor });
			Ok(())
		}

		/// The identifier of the `counter`-th DID, created by `creator`.
		pub fn derive_did(creator: &T::AccountId, counter: u64) -> DidId {
			DidId::from(sp_io::hashing::blake2_256(&(b"did:twin", creator, counter).encode()))
		}

		/// The active DID `did`, or why there is none.
		pub fn active_did(did: &DidId) -> Result<DidDetails<T>, Error<T>> {
			Dids::<T>::get(did).ok_or_else(|| {
				if DeactivatedDids::<T>::contains_key(did) {
					Error::<T>::Deactivated
				} else {
					Error::<T>::NotFound
				}
			})
		}

		/// The active DID `did`, if `who` controls it.
		fn controlled_did(did: &DidId, who: &T::AccountId) -> Result<DidDetails<T>, Error<T>> {
			let details = Self::active_did(did)?;
			ensure!(Self::is_controller(&details, who), Error::<T>::NotAuthorized);
			Ok(details)
		}

		/// Whether `who` controls the DID `details`: it is the controlling
		/// account, or the controlling DID's account, or signs with one of the
		/// controlling DID's authentication keys.
		pub fn is_controller(details: &DidDetails<T>, who: &T::AccountId) -> bool {
			match &details.controller {
				Controller::Account(account) => account == who,
				Controller::Did(controller) => Dids::<T>::get(controller).is_some_and(|c| {
					c.controller == Controller::Account(who.clone()) ||
						c.has_authentication_key_of(who)
				}),
			}
		}

		/// `who` controls the twin (`details`) or the institution of `custody`.
		fn ensure_custody_party(
			details: &DidDetails<T>,
			custody: &Custody<T::AccountId>,
			who: &T::AccountId,
		) -> DispatchResult {
			ensure!(
				Self::is_controller(details, who) || Self::is_controlled_by(&custody.institution, who),
				Error::<T>::NotAuthorized
			);
			Ok(())
		}

		/// A controller must be an account or an active DID.
		fn ensure_valid_controller(controller: &Controller<T::AccountId>) -> DispatchResult {
			if let Controller::Did(did) = controller {
				ensure!(Dids::<T>::contains_key(did), Error::<T>::ControllerNotFound);
			}
			Ok(())
		}

		/// `method` may join `details`: valid, with a fresh fragment and key.
		fn ensure_can_add_method(
			details: &DidDetails<T>,
			method: &VerificationMethodOf<T>,
		) -> DispatchResult {
			ensure_valid_fragment::<T>(&method.fragment)?;
			ensure_valid_key::<T>(&method.key)?;
			ensure!(!details.has_fragment(&method.fragment), Error::<T>::DuplicateFragment);
			ensure!(
				!details.verification_methods.iter().any(|m| m.key == method.key),
				Error::<T>::DuplicateKey
			);
			Ok(())
		}

		/// The position of the verification method `fragment` in `details`.
		fn method_index(details: &DidDetails<T>, fragment: &[u8]) -> Result<usize, Error<T>> {
			details
				.verification_methods
				.iter()
				.position(|m| m.fragment.as_slice() == fragment)
				.ok_or(Error::<T>::MethodNotFound)
		}

		/// The deposit `details` requires: a base plus a price per stored byte
		/// of the record and its index entry.
		pub fn deposit_for(details: &DidDetails<T>) -> BalanceOf<T> {
			let index_entry = Controller::<T::AccountId>::max_encoded_len()
				.saturating_add(DidId::max_encoded_len());
			let bytes = details.encoded_size().saturating_add(index_entry);
			let bytes = BalanceOf::<T>::from(u32::try_from(bytes).unwrap_or(u32::MAX));
			T::DepositBase::get().saturating_add(T::DepositPerByte::get().saturating_mul(bytes))
		}

		/// Stores the changed `details` of `did`, signed by `signer`, who takes
		/// over the (recomputed) deposit.
		fn store_change(
			did: DidId,
			mut details: DidDetails<T>,
			signer: &T::AccountId,
		) -> DispatchResult {
			details.updated = frame_system::Pallet::<T>::block_number();
			let new_deposit = Self::deposit_for(&details);
			move_deposit::<_, T::Currency>(
				&HoldReason::DidDeposit.into(),
				&details.depositor,
				details.deposit,
				signer,
				new_deposit,
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			details.depositor = signer.clone();
			details.deposit = new_deposit;
			Dids::<T>::insert(did, details);
			Ok(())
		}

		/// Returns the deposit of `details` to its depositor.
		fn release_did_deposit(details: &DidDetails<T>) -> Result<BalanceOf<T>, DispatchError> {
			release::<_, T::Currency>(&HoldReason::DidDeposit.into(), &details.depositor, details.deposit)
				.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			Ok(details.deposit)
		}

		/// Returns the deposit of a custody offer or record to whoever made the offer.
		fn release_custody_deposit(custody: &Custody<T::AccountId>) -> DispatchResult {
			release::<_, T::Currency>(
				&HoldReason::CustodyDeposit.into(),
				&custody.depositor,
				T::CustodyDeposit::get(),
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))
		}

		/// Resolves `did` for the runtime API.
		pub fn resolve(
			did: &DidId,
		) -> Option<DidResolution<T::AccountId, BlockNumberFor<T>>> {
			if let Some(details) = Dids::<T>::get(did) {
				let custodian = Custodians::<T>::get(did).map(|c| c.institution);
				return Some(DidResolution::Active(details.view(custodian)));
			}
			DeactivatedDids::<T>::get(did).map(|t| DidResolution::Deactivated {
				kind: t.kind,
				created: t.created,
				deactivated: t.deactivated,
			})
		}

		/// The active DIDs `controller` controls, for the runtime API.
		pub fn dids_controlled_by(controller: &Controller<T::AccountId>) -> alloc::vec::Vec<DidId> {
			DidsByController::<T>::iter_key_prefix(controller).collect()
		}

		/// Checks the pallet's invariants:
		/// - each DID's fragments are unique and valid, its keys unique;
		/// - each active DID is indexed under its controller, and each index
		///   entry points to an active DID with that controller;
		/// - no identifier is both active and deactivated;
		/// - each account's DID and custody-offer holds equal the deposits
		///   the records say it holds;
		/// - custody offers and records concern active twins.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;
			let mut did_deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			let mut custody_deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();

			for (did, details) in Dids::<T>::iter() {
				let mut fragments: alloc::vec::Vec<&[u8]> = details
					.verification_methods
					.iter()
					.map(|m| m.fragment.as_slice())
					.chain(details.services.iter().map(|s| s.fragment.as_slice()))
					.collect();
				let count = fragments.len();
				fragments.sort_unstable();
				fragments.dedup();
				ensure!(fragments.len() == count, "a DID has duplicate fragments");
				ensure!(
					DidsByController::<T>::contains_key(&details.controller, did),
					"an active DID is missing from the controller index"
				);
				ensure!(
					!DeactivatedDids::<T>::contains_key(did),
					"a DID is both active and deactivated"
				);
				let held = did_deposits.entry(details.depositor.clone()).or_default();
				*held = held.saturating_add(details.deposit);
			}
			for (twin, custody) in CustodyOffers::<T>::iter().chain(Custodians::<T>::iter()) {
				ensure!(
					Self::active_kind(&twin) == Some(SubjectKind::PatientTwin),
					"custody of something that is not an active twin"
				);
				let held = custody_deposits.entry(custody.depositor).or_default();
				*held = held.saturating_add(T::CustodyDeposit::get());
			}
			for (controller, did, ()) in DidsByController::<T>::iter() {
				ensure!(
					Dids::<T>::get(did).is_some_and(|d| d.controller == controller),
					"an index entry points to a DID with another controller"
				);
			}
			for (account, deposit) in did_deposits {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::DidDeposit.into(), &account) == deposit,
					"DID deposits on hold differ from the records"
				);
			}
			for (account, deposit) in custody_deposits {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::CustodyDeposit.into(), &account) ==
						deposit,
					"custody deposits on hold differ from the records"
				);
			}
			Ok(())
		}
	}
}

impl<T: Config> DidRegistry<T::AccountId> for Pallet<T> {
	fn active_kind(did: &DidId) -> Option<SubjectKind> {
		Dids::<T>::get(did).map(|d| d.kind)
	}

	fn controller(did: &DidId) -> Option<Controller<T::AccountId>> {
		Dids::<T>::get(did).map(|d| d.controller)
	}

	fn is_controlled_by(did: &DidId, who: &T::AccountId) -> bool {
		Dids::<T>::get(did).is_some_and(|d| Self::is_controller(&d, who))
	}

	fn authenticates_as(did: &DidId, who: &T::AccountId) -> bool {
		Dids::<T>::get(did).is_some_and(|d| d.has_authentication_key_of(who))
	}

	fn custodian(twin: &DidId) -> Option<DidId> {
		Custodians::<T>::get(twin)
			.map(|custody| custody.institution)
			.filter(|institution| Dids::<T>::contains_key(institution))
	}
}
