//! # pallet-twins: DID-registered digital twins
//!
//! Every patient twin, institution, dataset and model in TwinNet is identified
//! by a DID of the `did:twin` method (see `docs/did-method.md`). This pallet is
//! that method's registry: it creates DIDs, keeps their verification methods,
//! service endpoints and metadata, hands them over, and deactivates them.
//!
//! ## Flows
//!
//! - **Create**: [`Pallet::create`] registers a DID of a [`SubjectKind`] with
//!   its first verification methods. The identifier is derived from the
//!   signer and a counter, and announced in [`Event::DidCreated`].
//! - **Handover**: naming a controller needs its agreement. A DID created
//!   for, or [`Pallet::rotate_controller`]ed to, a controller the signer does
//!   not act for stays with the signer and records an offer; the offered
//!   party takes it with [`Pallet::accept_controller`] and holds the deposit
//!   from then on. [`Pallet::cancel_handover`] withdraws or rejects an offer.
//!   Controller cycles are rejected.
//! - **Patient**: a twin's patient is the account it was created for
//!   (the signer of a twin it controls itself, or the account a twin was
//!   offered to at creation), or the account that later accepts the position
//!   ([`Pallet::offer_patient`], [`Pallet::accept_patient`]). The patient may
//!   do everything on their twin; a guardian (any other controller) may not
//!   change the patient, the twin's authentication methods, or deactivate a
//!   twin something depends on.
//! - **Update**: verification methods ([`Pallet::add_verification_method`],
//!   [`Pallet::remove_verification_method`], [`Pallet::rotate_key`]), service
//!   endpoints ([`Pallet::add_service`], [`Pallet::remove_service`]) and the
//!   metadata hash and schema tag ([`Pallet::set_metadata`]).
//! - **Deactivate**: [`Pallet::deactivate`] is irreversible, and vetoed while
//!   another pallet depends on the DID ([`Config::Dependents`]) or an
//!   institution holds custody or has offers pending. The record is deleted
//!   and its deposit returned; a tombstone keeps the identifier from reuse.
//! - **Custody**: institutions offer to hold a twin's data
//!   ([`Pallet::offer_custody`], one offer per institution, so no offer
//!   blocks another); the twin's side accepts one ([`Pallet::accept_custody`]).
//!   Either side withdraws or rejects an offer ([`Pallet::cancel_custody_offer`],
//!   anyone once the twin is gone) or ends custody ([`Pallet::end_custody`]).
//!
//! ## Authorisation
//!
//! A DID is controlled by its [`Controller`]: an account signs directly; a
//! controlling DID acts through its own controlling account or through one of
//! its authentication keys (one level deep, so checks stay bounded). A DID
//! that controls others must keep someone able to act through it. A twin's
//! patient acts on the twin whoever controls it.
//!
//! ## Deposits
//!
//! Whoever signs a change of a DID holds its deposit: [`Config::DepositBase`]
//! plus [`Config::DepositPerByte`] for each byte of the record and its index
//! entry (a fungible hold, [`HoldReason::DidDeposit`]). Each change recomputes
//! it: the signer takes it over and the previous holder gets theirs back. The
//! signer of a custody offer holds [`Config::CustodyDeposit`]
//! ([`HoldReason::CustodyDeposit`]) while the offer is pending and while the
//! institution holds custody.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use frame_support::traits::fungible;
use twinnet_primitives::{
	did::{Controller, DidId, DidResolution, DidSignature, PublicKey, Relationship, SubjectKind},
	traits::{DidAccess, DidRegistry, DidRole},
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
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::{traits::Saturating, AccountId32};
	use twinnet_primitives::{
		deposit::{move_deposit, release},
		traits::DidDependents,
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(2);

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

		/// Pallets that may veto a DID's deactivation while something of
		/// theirs depends on it, and that learn of it afterwards.
		type Dependents: DidDependents;

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

		/// The longest chain of controlling DIDs above a DID (checked for
		/// cycles when a DID controller is named).
		#[pallet::constant]
		type MaxControllerDepth: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The storage deposit of a DID.
		#[codec(index = 0)]
		DidDeposit,
		/// The deposit of a custody offer or custody record.
		#[codec(index = 1)]
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
	pub type DidsByController<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, Controller<T::AccountId>, Twox64Concat, DidId, ()>;

	/// Pending custody offers by twin and institution, with the account that
	/// holds each offer's deposit.
	#[pallet::storage]
	pub type CustodyOffers<T: Config> =
		StorageDoubleMap<_, Twox64Concat, DidId, Twox64Concat, DidId, T::AccountId>;

	/// The institution that holds each twin's data.
	#[pallet::storage]
	pub type Custodians<T: Config> = StorageMap<_, Twox64Concat, DidId, Custody<T::AccountId>>;

	/// Each institution's pending offers and custodies.
	#[pallet::storage]
	pub type CustodyLoads<T: Config> = StorageMap<_, Twox64Concat, DidId, CustodyLoad, ValueQuery>;

	/// How many DIDs have been created: a salt of the next identifier.
	#[pallet::storage]
	pub type DidCounter<T: Config> = StorageValue<_, u64, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A DID was created, controlled by `controller` (its signer, until an
		/// offered controller accepts).
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
		/// Control of a DID was offered to `controller`, who must accept.
		ControllerOffered { did: DidId, controller: Controller<T::AccountId> },
		/// Control of a DID passed to someone else.
		ControllerRotated {
			did: DidId,
			old_controller: Controller<T::AccountId>,
			new_controller: Controller<T::AccountId>,
		},
		/// A twin's patient position was offered to `patient`, who must accept.
		PatientOffered { twin: DidId, patient: T::AccountId },
		/// `patient` became the twin's patient.
		PatientBound { twin: DidId, patient: T::AccountId },
		/// The pending controller and patient offers of a DID were withdrawn
		/// or rejected by `by`.
		HandoverCancelled { did: DidId, by: T::AccountId },
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
		/// The twin's side accepted an institution as custodian.
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
		/// The named controller is, through its own controllers, controlled by this DID.
		ControllerCycle,
		/// The chain of controlling DIDs above the named controller is longer
		/// than [`Config::MaxControllerDepth`].
		ControllerChainTooDeep,
		/// Nobody can act through the named controlling DID: it has neither an
		/// account controller nor an authentication key.
		ControllerCannotAct,
		/// The change would leave the DIDs this DID controls without anyone
		/// able to act for them (its last authentication path).
		LastAuthenticationPath,
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
		/// `keyAgreement` needs an X25519 key, and an X25519 key serves
		/// `keyAgreement` only.
		InvalidRelationships,
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
		/// Only the patient changes the patient position or a patient twin's
		/// authentication methods.
		PatientProtected,
		/// The account already is the twin's patient.
		AlreadyPatient,
		/// The DID has no pending controller or patient offer for the signer.
		NoPendingHandover,
		/// This concerns patient twins only.
		NotATwin,
		/// Only institutions can hold custody.
		NotAnInstitution,
		/// This institution already has a pending custody offer for the twin.
		CustodyOfferPending,
		/// The institution has no pending custody offer for the twin.
		NoCustodyOffer,
		/// The institution already holds custody of this twin.
		AlreadyCustodian,
		/// The twin has no custodian.
		NoCustodian,
		/// The institution holds custody or has custody offers pending.
		InstitutionInCustody,
		/// The signer cannot pay the deposit.
		CannotPayDeposit,
		/// The patient position is on offer to an account: only that account
		/// accepts it, unless the offer is withdrawn first.
		PatientOffered,
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
					key: PublicKey::Sr25519(entry.sr25519_key),
					relationships: twinnet_primitives::did::Relationships {
						authentication: true,
						assertion_method: true,
						..Default::default()
					},
				};
				let methods = BoundedVec::truncate_from(alloc::vec![key]);
				let did = match Pallet::<T>::do_create(
					entry.creator.clone(),
					entry.kind,
					None,
					methods,
				) {
					Ok(did) => did,
					Err(error) => {
						panic!("genesis DID of {:?} is invalid: {error:?}", entry.creator)
					},
				};
				if let Some(index) = entry.custodian {
					let institution = created.get(index as usize).copied();
					let depositor = self.dids.get(index as usize).map(|d| d.creator.clone());
					let (Some(institution), Some(depositor)) = (institution, depositor) else {
						panic!("genesis custodian {index} is not an earlier DID");
					};
					assert!(
						entry.kind == SubjectKind::PatientTwin
							&& Pallet::<T>::active_kind(&institution)
								== Some(SubjectKind::Institution),
						"genesis custody must be of a twin by an institution"
					);
					if let Err(error) = Pallet::<T>::start_custody(did, institution, depositor) {
						panic!("genesis custody deposit cannot be paid: {error:?}");
					}
				}
				created.push(did);
			}
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			for (name, bound) in [
				("MaxVerificationMethods", T::MaxVerificationMethods::get()),
				("MaxServices", T::MaxServices::get()),
				("MaxFragmentLength", T::MaxFragmentLength::get()),
				("MaxServiceTypeLength", T::MaxServiceTypeLength::get()),
				("MaxUrlLength", T::MaxUrlLength::get()),
				("MaxSchemaLength", T::MaxSchemaLength::get()),
				("MaxControllerDepth", T::MaxControllerDepth::get()),
			] {
				assert!(bound > 0, "pallet-twins: {name} must be positive");
			}
			assert!(
				T::MaxFragmentLength::get() as usize
					<= twinnet_primitives::did::MAX_FRAGMENT_LENGTH,
				"pallet-twins: fragments must fit the DID URLs resolvers accept"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Creates a DID of `kind` with its first verification methods. With
		/// no `controller`, or one the signer acts for, it is controlled so at
		/// once; any other controller is offered the DID and controls it once
		/// it accepts ([`Pallet::accept_controller`]). A twin the signer
		/// controls itself has the signer as patient; a twin offered to an
		/// account has that account as patient once it accepts. The signer
		/// holds the deposit until then. The identifier is in
		/// [`Event::DidCreated`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create(verification_methods.len() as u32))]
		pub fn create(
			origin: OriginFor<T>,
			kind: SubjectKind,
			controller: Option<Controller<T::AccountId>>,
			verification_methods: BoundedVec<VerificationMethodOf<T>, T::MaxVerificationMethods>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_create(who, kind, controller, verification_methods).map(|_| ())
		}

		/// Adds a verification method to `did`. On a twin with a patient, only
		/// the patient adds authentication methods.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::add_verification_method())]
		pub fn add_verification_method(
			origin: OriginFor<T>,
			did: DidId,
			method: VerificationMethodOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (mut details, role) = Self::authorized(&did, &who)?;
			Self::ensure_may_touch(&details, role, &method)?;
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

		/// Removes the verification method `fragment` from `did`. On a twin
		/// with a patient, only the patient removes authentication methods.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::remove_verification_method())]
		pub fn remove_verification_method(
			origin: OriginFor<T>,
			did: DidId,
			fragment: Fragment<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (mut details, role) = Self::authorized(&did, &who)?;
			let index = Self::method_index(&details, &fragment)?;
			let removed = details.verification_methods.remove(index);
			Self::ensure_may_touch(&details, role, &removed)?;
			Self::ensure_dependents_can_act(&did, &details)?;
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::VerificationMethodRemoved { did, fragment });
			Ok(())
		}

		/// Replaces the verification method `old_fragment` of `did` by
		/// `new_method` in one step, so the DID is never without a key. On a
		/// twin with a patient, only the patient rotates authentication methods.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::rotate_key())]
		pub fn rotate_key(
			origin: OriginFor<T>,
			did: DidId,
			old_fragment: Fragment<T>,
			new_method: VerificationMethodOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (mut details, role) = Self::authorized(&did, &who)?;
			let index = Self::method_index(&details, &old_fragment)?;
			let removed = details.verification_methods.remove(index);
			Self::ensure_may_touch(&details, role, &removed)?;
			Self::ensure_may_touch(&details, role, &new_method)?;
			Self::ensure_can_add_method(&details, &new_method)?;
			let new_fragment = new_method.fragment.clone();
			details
				.verification_methods
				.try_insert(index, new_method)
				.map_err(|_| Error::<T>::MaxKeysExceeded)?;
			Self::ensure_dependents_can_act(&did, &details)?;
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::KeyRotated { did, old_fragment, new_fragment });
			Ok(())
		}

		/// Hands control of `did` to `new_controller`: at once if the signer
		/// acts for it, else as an offer that `new_controller` accepts with
		/// [`Pallet::accept_controller`] (replacing any earlier offer).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::rotate_controller())]
		pub fn rotate_controller(
			origin: OriginFor<T>,
			did: DidId,
			new_controller: Controller<T::AccountId>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (mut details, _) = Self::authorized(&did, &who)?;
			ensure!(details.controller != new_controller, Error::<T>::SameController);
			Self::ensure_valid_controller(&did, &new_controller)?;

			if Self::acts_through(&new_controller, &who) {
				let old_controller =
					Self::set_controller(did, &mut details, new_controller.clone())?;
				details.pending_controller = None;
				Self::store_change(did, details, &who)?;
				Self::deposit_event(Event::ControllerRotated {
					did,
					old_controller,
					new_controller,
				});
			} else {
				details.pending_controller = Some(new_controller.clone());
				Self::store_change(did, details, &who)?;
				Self::deposit_event(Event::ControllerOffered { did, controller: new_controller });
			}
			Ok(())
		}

		/// Adds a service endpoint to `did`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::add_service())]
		pub fn add_service(
			origin: OriginFor<T>,
			did: DidId,
			service: ServiceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (mut details, _) = Self::authorized(&did, &who)?;
			ensure_valid_service::<T>(&service)?;
			ensure!(!details.has_fragment(&service.fragment), Error::<T>::DuplicateFragment);
			let fragment = service.fragment.clone();
			details
				.services
				.try_push(service)
				.map_err(|_| Error::<T>::MaxServicesExceeded)?;
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
			let (mut details, _) = Self::authorized(&did, &who)?;
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
			let (mut details, _) = Self::authorized(&did, &who)?;
			if let Some(schema) = &schema {
				ensure_valid_schema::<T>(schema)?;
			}
			details.metadata_hash = metadata_hash;
			details.schema = schema.clone();
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::MetadataSet { did, metadata_hash, schema });
			Ok(())
		}

		/// Deactivates `did` for good. Refused while another pallet depends on
		/// it (for a twin: live consent grants), while it controls other DIDs,
		/// or, for an institution, while it holds custody or has offers
		/// pending. The record is deleted and the deposit returned; a twin's
		/// custody ends with it.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::deactivate().saturating_add(T::Dependents::weight()))]
		pub fn deactivate(origin: OriginFor<T>, did: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (details, _) = Self::authorized(&did, &who)?;
			ensure!(!Self::controls_others(&did), Error::<T>::StillControlsDids);
			ensure!(CustodyLoads::<T>::get(did).is_empty(), Error::<T>::InstitutionInCustody);
			T::Dependents::ensure_can_deactivate(&did, details.kind)?;

			if let Some(custody) = Custodians::<T>::take(did) {
				Self::finish_custody(&custody)?;
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
			T::Dependents::on_deactivated(&did, details.kind);
			Self::deposit_event(Event::DidDeactivated {
				did,
				depositor: details.depositor,
				refunded,
			});
			Ok(())
		}

		/// Offers, as (the controller of) `institution`, to hold the data of
		/// `twin`. Each institution has its own offer, so none blocks another.
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
			let (institution_details, _) = Self::authorized(&institution, &who)?;
			ensure!(
				institution_details.kind == SubjectKind::Institution,
				Error::<T>::NotAnInstitution
			);
			ensure!(
				Self::active_did(&twin)?.kind == SubjectKind::PatientTwin,
				Error::<T>::NotATwin
			);
			ensure!(
				Custodians::<T>::get(twin).map(|c| c.institution) != Some(institution),
				Error::<T>::AlreadyCustodian
			);
			ensure!(
				!CustodyOffers::<T>::contains_key(twin, institution),
				Error::<T>::CustodyOfferPending
			);

			T::Currency::hold(&HoldReason::CustodyDeposit.into(), &who, T::CustodyDeposit::get())
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			CustodyOffers::<T>::insert(twin, institution, who);
			CustodyLoads::<T>::mutate(institution, |load| {
				load.offers = load.offers.saturating_add(1)
			});
			Self::deposit_event(Event::CustodyOffered { twin, institution });
			Ok(())
		}

		/// Accepts, as the twin's patient or controller, the custody offer of
		/// `institution`: it becomes the twin's custodian, replacing any other.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::accept_custody())]
		pub fn accept_custody(
			origin: OriginFor<T>,
			twin: DidId,
			institution: DidId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::authorized(&twin, &who)?;
			let depositor =
				CustodyOffers::<T>::get(twin, institution).ok_or(Error::<T>::NoCustodyOffer)?;
			ensure!(
				Self::active_kind(&institution) == Some(SubjectKind::Institution),
				Error::<T>::NotAnInstitution
			);

			CustodyOffers::<T>::remove(twin, institution);
			CustodyLoads::<T>::mutate(institution, |load| {
				load.offers = load.offers.saturating_sub(1);
				load.custodies = load.custodies.saturating_add(1);
			});
			if let Some(previous) =
				Custodians::<T>::mutate(twin, |c| c.replace(Custody { institution, depositor }))
			{
				Self::finish_custody(&previous)?;
				Self::deposit_event(Event::CustodyEnded {
					twin,
					institution: previous.institution,
				});
			}
			Self::deposit_event(Event::CustodyAccepted { twin, institution });
			Ok(())
		}

		/// Withdraws (as the institution's controller) or rejects (as the
		/// twin's patient or controller) the custody offer of `institution`
		/// for `twin`; anyone may clear it once the twin is deactivated.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::cancel_custody_offer())]
		pub fn cancel_custody_offer(
			origin: OriginFor<T>,
			twin: DidId,
			institution: DidId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let depositor =
				CustodyOffers::<T>::get(twin, institution).ok_or(Error::<T>::NoCustodyOffer)?;
			let twin_gone = !Dids::<T>::contains_key(twin);
			ensure!(
				twin_gone || Self::is_custody_party(&twin, &institution, &who),
				Error::<T>::NotAuthorized
			);

			Self::release_custody_deposit(&depositor)?;
			CustodyOffers::<T>::remove(twin, institution);
			Self::update_load(institution, |load| load.offers = load.offers.saturating_sub(1));
			Self::deposit_event(Event::CustodyOfferCancelled { twin, institution });
			Ok(())
		}

		/// Ends custody of `twin`: callable by the twin's patient or
		/// controller, or the custodian institution's controller.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::end_custody())]
		pub fn end_custody(origin: OriginFor<T>, twin: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::active_did(&twin)?;
			let custody = Custodians::<T>::get(twin).ok_or(Error::<T>::NoCustodian)?;
			ensure!(
				Self::is_custody_party(&twin, &custody.institution, &who),
				Error::<T>::NotAuthorized
			);
			Custodians::<T>::remove(twin);
			Self::finish_custody(&custody)?;
			Self::deposit_event(Event::CustodyEnded { twin, institution: custody.institution });
			Ok(())
		}

		/// Takes control of `did` as the controller it was offered to (its
		/// account, or someone acting for its DID). The signer takes over the
		/// deposit; if the signer was also offered the patient position, it
		/// becomes the patient.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::accept_controller())]
		pub fn accept_controller(origin: OriginFor<T>, did: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::active_did(&did)?;
			let offered =
				details.pending_controller.clone().ok_or(Error::<T>::NoPendingHandover)?;
			ensure!(Self::acts_through(&offered, &who), Error::<T>::NotAuthorized);
			// The chain above the controller may have changed since the offer.
			Self::ensure_valid_controller(&did, &offered)?;

			let old_controller = Self::set_controller(did, &mut details, offered.clone())?;
			details.pending_controller = None;
			let binds_patient = details.pending_patient.as_ref() == Some(&who);
			if binds_patient {
				details.patient = details.pending_patient.take();
			}
			Self::store_change(did, details, &who)?;
			Self::deposit_event(Event::ControllerRotated {
				did,
				old_controller,
				new_controller: offered,
			});
			if binds_patient {
				Self::deposit_event(Event::PatientBound { twin: did, patient: who });
			}
			Ok(())
		}

		/// Offers the patient position of `twin` to `patient`: by the patient
		/// (to move to a new account), or by the controller of a twin that has
		/// no patient yet. Naming oneself binds at once; anyone else accepts
		/// with [`Pallet::accept_patient`].
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::offer_patient())]
		pub fn offer_patient(
			origin: OriginFor<T>,
			twin: DidId,
			patient: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let (mut details, role) = Self::authorized(&twin, &who)?;
			ensure!(details.kind == SubjectKind::PatientTwin, Error::<T>::NotATwin);
			ensure!(
				details.patient.is_none() || role == DidRole::Patient,
				Error::<T>::PatientProtected
			);
			ensure!(!details.is_patient(&patient), Error::<T>::AlreadyPatient);
			// The account a twin was created for is protected before it
			// accepts, too: its controller-to-be cannot be overtaken.
			ensure!(
				role == DidRole::Patient || details.pending_patient.is_none(),
				Error::<T>::PatientOffered
			);

			if patient == who {
				details.patient = Some(patient.clone());
				details.pending_patient = None;
				Self::store_change(twin, details, &who)?;
				Self::deposit_event(Event::PatientBound { twin, patient });
			} else {
				details.pending_patient = Some(patient.clone());
				Self::store_change(twin, details, &who)?;
				Self::deposit_event(Event::PatientOffered { twin, patient });
			}
			Ok(())
		}

		/// Takes the patient position of `twin` as the account it was offered
		/// to; the signer takes over the deposit.
		#[pallet::call_index(15)]
		#[pallet::weight(T::WeightInfo::accept_patient())]
		pub fn accept_patient(origin: OriginFor<T>, twin: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::active_did(&twin)?;
			ensure!(details.pending_patient.as_ref() == Some(&who), Error::<T>::NoPendingHandover);
			details.patient = details.pending_patient.take();
			Self::store_change(twin, details, &who)?;
			Self::deposit_event(Event::PatientBound { twin, patient: who });
			Ok(())
		}

		/// Withdraws (as the DID's patient or controller) or rejects (as an
		/// offered party) the pending controller and patient offers of `did`.
		/// The deposit stays with its holder, shrunk to the smaller record.
		#[pallet::call_index(16)]
		#[pallet::weight(T::WeightInfo::cancel_handover())]
		pub fn cancel_handover(origin: OriginFor<T>, did: DidId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut details = Self::active_did(&did)?;
			let offered_controller =
				details.pending_controller.as_ref().is_some_and(|c| Self::acts_through(c, &who));
			let offered_patient = details.pending_patient.as_ref() == Some(&who);
			ensure!(
				details.pending_controller.is_some() || details.pending_patient.is_some(),
				Error::<T>::NoPendingHandover
			);
			ensure!(
				offered_controller || offered_patient || Self::role(&details, &who).is_some(),
				Error::<T>::NotAuthorized
			);
			details.pending_controller = None;
			details.pending_patient = None;
			let depositor = details.depositor.clone();
			Self::store_change(did, details, &depositor)?;
			Self::deposit_event(Event::HandoverCancelled { did, by: who });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Creates a DID (see [`Pallet::create`]) and returns its identifier.
		pub fn do_create(
			who: T::AccountId,
			kind: SubjectKind,
			controller: Option<Controller<T::AccountId>>,
			verification_methods: BoundedVec<VerificationMethodOf<T>, T::MaxVerificationMethods>,
		) -> Result<DidId, DispatchError> {
			for (index, method) in verification_methods.iter().enumerate() {
				ensure_valid_method::<T>(method)?;
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
			let signer = Controller::Account(who.clone());
			let (controller, pending_controller) = match controller {
				None => (signer, None),
				Some(named) => {
					Self::ensure_valid_controller(&did, &named)?;
					if Self::acts_through(&named, &who) {
						(named, None)
					} else {
						(signer, Some(named))
					}
				},
			};
			let is_twin = kind == SubjectKind::PatientTwin;
			let patient = (is_twin
				&& pending_controller.is_none()
				&& controller == Controller::Account(who.clone()))
			.then(|| who.clone());
			let pending_patient = match &pending_controller {
				Some(Controller::Account(account)) if is_twin => Some(account.clone()),
				_ => None,
			};

			let now = frame_system::Pallet::<T>::block_number();
			let mut details = DidDetails {
				kind,
				controller: controller.clone(),
				pending_controller: pending_controller.clone(),
				patient,
				pending_patient,
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
			if let Some(offered) = pending_controller {
				Self::deposit_event(Event::ControllerOffered { did, controller: offered });
			}
			Ok(did)
		}

		/// Makes `institution` the custodian of `twin` on the offer of
		/// `depositor`, who holds the custody deposit.
		fn start_custody(
			twin: DidId,
			institution: DidId,
			depositor: T::AccountId,
		) -> DispatchResult {
			T::Currency::hold(
				&HoldReason::CustodyDeposit.into(),
				&depositor,
				T::CustodyDeposit::get(),
			)
			.map_err(|_| Error::<T>::CannotPayDeposit)?;
			Custodians::<T>::insert(twin, Custody { institution, depositor });
			CustodyLoads::<T>::mutate(institution, |load| {
				load.custodies = load.custodies.saturating_add(1)
			});
			Ok(())
		}

		/// Returns the deposit of ended custody and counts it off its institution.
		fn finish_custody(custody: &Custody<T::AccountId>) -> DispatchResult {
			Self::release_custody_deposit(&custody.depositor)?;
			Self::update_load(custody.institution, |load| {
				load.custodies = load.custodies.saturating_sub(1)
			});
			Ok(())
		}

		/// Returns a custody offer's or custody's deposit to `depositor`.
		fn release_custody_deposit(depositor: &T::AccountId) -> DispatchResult {
			release::<_, T::Currency>(
				&HoldReason::CustodyDeposit.into(),
				depositor,
				T::CustodyDeposit::get(),
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))
		}

		/// Changes an institution's load, deleting it once empty.
		fn update_load(institution: DidId, change: impl FnOnce(&mut CustodyLoad)) {
			CustodyLoads::<T>::mutate_exists(institution, |entry| {
				let mut load = entry.unwrap_or_default();
				change(&mut load);
				*entry = (!load.is_empty()).then_some(load);
			});
		}

		/// The identifier of the `counter`-th DID, created by `creator`.
		pub fn derive_did(creator: &T::AccountId, counter: u64) -> DidId {
			twinnet_primitives::did::derive_did(creator, counter)
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

		/// The active DID `did` and how `who` may act for it, if at all.
		fn authorized(
			did: &DidId,
			who: &T::AccountId,
		) -> Result<(DidDetails<T>, DidRole), Error<T>> {
			let details = Self::active_did(did)?;
			let role = Self::role(&details, who).ok_or(Error::<T>::NotAuthorized)?;
			Ok((details, role))
		}

		/// How `who` may act for the DID `details`: as its patient, or as (one
		/// acting for) its controller.
		pub fn role(details: &DidDetails<T>, who: &T::AccountId) -> Option<DidRole> {
			if details.is_patient(who) {
				Some(DidRole::Patient)
			} else if Self::acts_through(&details.controller, who) {
				Some(DidRole::Controller)
			} else {
				None
			}
		}

		/// Whether `who` acts for `controller`: it is the account, or the
		/// controlling DID's account, or signs with one of that DID's
		/// authentication keys.
		pub fn acts_through(controller: &Controller<T::AccountId>, who: &T::AccountId) -> bool {
			match controller {
				Controller::Account(account) => account == who,
				Controller::Did(controller) => Dids::<T>::get(controller).is_some_and(|c| {
					c.controller == Controller::Account(who.clone())
						|| c.has_authentication_key_of(who)
				}),
			}
		}

		/// A guardian (a controller who is not the twin's patient) may not
		/// touch the authentication methods of a twin with a patient.
		fn ensure_may_touch(
			details: &DidDetails<T>,
			role: DidRole,
			method: &VerificationMethodOf<T>,
		) -> DispatchResult {
			let protected = details.patient.is_some() && method.relationships.authentication;
			ensure!(!protected || role == DidRole::Patient, Error::<T>::PatientProtected);
			Ok(())
		}

		/// `who` acts for `twin` or controls `institution`.
		fn is_custody_party(twin: &DidId, institution: &DidId, who: &T::AccountId) -> bool {
			Dids::<T>::get(twin).is_some_and(|details| Self::role(&details, who).is_some())
				|| Self::is_controlled_by(institution, who)
		}

		/// `controller` may control `did`: an account, or an active DID other
		/// than `did` through which someone can act, whose chain of
		/// controllers is acyclic, does not pass through `did`, and is at most
		/// [`Config::MaxControllerDepth`] long.
		fn ensure_valid_controller(
			did: &DidId,
			controller: &Controller<T::AccountId>,
		) -> DispatchResult {
			let Controller::Did(first) = controller else { return Ok(()) };
			ensure!(first != did, Error::<T>::SelfControl);
			let first_details = Dids::<T>::get(first).ok_or(Error::<T>::ControllerNotFound)?;
			ensure!(first_details.can_act_for_dependents(), Error::<T>::ControllerCannotAct);
			let mut next = first_details.controller;
			for _ in 0..T::MaxControllerDepth::get() {
				match next {
					Controller::Account(_) => return Ok(()),
					Controller::Did(above) => {
						ensure!(above != *did, Error::<T>::ControllerCycle);
						next =
							Dids::<T>::get(above).ok_or(Error::<T>::ControllerNotFound)?.controller;
					},
				}
			}
			Err(Error::<T>::ControllerChainTooDeep.into())
		}

		/// If `did` controls other DIDs, someone must still be able to act
		/// through it once it looks like `details`.
		fn ensure_dependents_can_act(did: &DidId, details: &DidDetails<T>) -> DispatchResult {
			ensure!(
				!Self::controls_others(did) || details.can_act_for_dependents(),
				Error::<T>::LastAuthenticationPath
			);
			Ok(())
		}

		/// Whether `did` is the controller of any active DID.
		fn controls_others(did: &DidId) -> bool {
			DidsByController::<T>::iter_key_prefix(Controller::<T::AccountId>::Did(*did))
				.next()
				.is_some()
		}

		/// Makes `controller` the controller of `did` (`details`), moving its
		/// index entry, and returns the previous controller.
		fn set_controller(
			did: DidId,
			details: &mut DidDetails<T>,
			controller: Controller<T::AccountId>,
		) -> Result<Controller<T::AccountId>, DispatchError> {
			let old_controller = core::mem::replace(&mut details.controller, controller.clone());
			Self::ensure_dependents_can_act(&did, details)?;
			DidsByController::<T>::remove(&old_controller, did);
			DidsByController::<T>::insert(&controller, did, ());
			Ok(old_controller)
		}

		/// `method` may join `details`: valid, with a fresh fragment and key.
		fn ensure_can_add_method(
			details: &DidDetails<T>,
			method: &VerificationMethodOf<T>,
		) -> DispatchResult {
			ensure_valid_method::<T>(method)?;
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

		/// Stores the changed `details` of `did`, with `payer` taking over the
		/// (recomputed) deposit.
		fn store_change(
			did: DidId,
			mut details: DidDetails<T>,
			payer: &T::AccountId,
		) -> DispatchResult {
			details.updated = frame_system::Pallet::<T>::block_number();
			let new_deposit = Self::deposit_for(&details);
			move_deposit::<_, T::Currency>(
				&HoldReason::DidDeposit.into(),
				&details.depositor,
				details.deposit,
				payer,
				new_deposit,
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			details.depositor = payer.clone();
			details.deposit = new_deposit;
			Dids::<T>::insert(did, details);
			Ok(())
		}

		/// Returns the deposit of `details` to its depositor.
		fn release_did_deposit(details: &DidDetails<T>) -> Result<BalanceOf<T>, DispatchError> {
			release::<_, T::Currency>(
				&HoldReason::DidDeposit.into(),
				&details.depositor,
				details.deposit,
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			Ok(details.deposit)
		}

		/// Resolves `did` for the runtime API.
		pub fn resolve(did: &DidId) -> Option<DidResolution<T::AccountId, BlockNumberFor<T>>> {
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

		/// Up to `limit` active DIDs `controller` controls, in storage order,
		/// starting after `start_after` (a DID of an earlier page).
		pub fn dids_controlled_by(
			controller: &Controller<T::AccountId>,
			start_after: Option<DidId>,
			limit: u32,
		) -> alloc::vec::Vec<DidId> {
			let page = match start_after {
				Some(after) => DidsByController::<T>::iter_key_prefix_from(
					controller,
					DidsByController::<T>::hashed_key_for(controller, after),
				),
				None => DidsByController::<T>::iter_key_prefix(controller),
			};
			page.take(limit as usize).collect()
		}

		/// Checks the pallet's invariants:
		/// - each DID's fragments are unique, its methods valid;
		/// - each active DID is indexed under its controller, and each index
		///   entry points to an active DID with that controller;
		/// - a controlling DID is active, is not the DID itself, and someone
		///   can act through it;
		/// - only twins have patients or pending patients;
		/// - no identifier is both active and deactivated;
		/// - each account's DID and custody holds equal the deposits the
		///   records say it holds;
		/// - custody records concern active twins, and each institution's
		///   load counts its offers and custodies.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;
			let mut did_deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			let mut custody_deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			let mut loads = BTreeMap::<DidId, CustodyLoad>::new();

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
					details
						.verification_methods
						.iter()
						.all(|m| ensure_valid_method::<T>(m).is_ok()),
					"a DID has an invalid verification method"
				);
				ensure!(
					DidsByController::<T>::contains_key(&details.controller, did),
					"an active DID is missing from the controller index"
				);
				if let Controller::Did(controller) = &details.controller {
					ensure!(*controller != did, "a DID controls itself");
					ensure!(
						Dids::<T>::get(controller).is_some_and(|c| c.can_act_for_dependents()),
						"nobody can act through a DID's controller"
					);
				}
				ensure!(
					details.kind == SubjectKind::PatientTwin
						|| (details.patient.is_none() && details.pending_patient.is_none()),
					"a DID that is not a twin has a patient"
				);
				ensure!(
					!DeactivatedDids::<T>::contains_key(did),
					"a DID is both active and deactivated"
				);
				let held = did_deposits.entry(details.depositor.clone()).or_default();
				*held = held.saturating_add(details.deposit);
			}
			for (_, institution, depositor) in CustodyOffers::<T>::iter() {
				let held = custody_deposits.entry(depositor).or_default();
				*held = held.saturating_add(T::CustodyDeposit::get());
				let load = loads.entry(institution).or_default();
				load.offers = load.offers.saturating_add(1);
			}
			for (twin, custody) in Custodians::<T>::iter() {
				ensure!(
					Self::active_kind(&twin) == Some(SubjectKind::PatientTwin),
					"custody of something that is not an active twin"
				);
				let held = custody_deposits.entry(custody.depositor).or_default();
				*held = held.saturating_add(T::CustodyDeposit::get());
				let load = loads.entry(custody.institution).or_default();
				load.custodies = load.custodies.saturating_add(1);
			}
			for (institution, load) in CustodyLoads::<T>::iter() {
				ensure!(
					loads.remove(&institution) == Some(load),
					"an institution's custody load differs from its offers and custodies"
				);
			}
			ensure!(loads.is_empty(), "offers or custodies without a load");
			for (controller, did, ()) in DidsByController::<T>::iter() {
				ensure!(
					Dids::<T>::get(did).is_some_and(|d| d.controller == controller),
					"an index entry points to a DID with another controller"
				);
			}
			for (account, deposit) in did_deposits {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::DidDeposit.into(), &account)
						== deposit,
					"DID deposits on hold differ from the records"
				);
			}
			for (account, deposit) in custody_deposits {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::CustodyDeposit.into(), &account)
						== deposit,
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

	fn access(did: &DidId, who: &T::AccountId) -> Option<DidAccess> {
		Dids::<T>::get(did)
			.map(|details| DidAccess { kind: details.kind, role: Self::role(&details, who) })
	}

	fn is_controlled_by(did: &DidId, who: &T::AccountId) -> bool {
		Dids::<T>::get(did).is_some_and(|d| Self::acts_through(&d.controller, who))
	}

	fn is_patient(twin: &DidId, who: &T::AccountId) -> bool {
		Dids::<T>::get(twin).is_some_and(|d| d.is_patient(who))
	}

	fn patient(twin: &DidId) -> Option<T::AccountId> {
		Dids::<T>::get(twin).and_then(|d| d.patient)
	}

	fn custodian(twin: &DidId) -> Option<DidId> {
		Custodians::<T>::get(twin)
			.map(|custody| custody.institution)
			.filter(|institution| Dids::<T>::contains_key(institution))
	}

	fn keys_for(did: &DidId, relationship: Relationship) -> alloc::vec::Vec<PublicKey> {
		Dids::<T>::get(did)
			.map(|details| {
				details
					.verification_methods
					.iter()
					.filter(|m| m.relationships.serves(relationship))
					.map(|m| m.key)
					.collect()
			})
			.unwrap_or_default()
	}

	fn verify_signature(
		did: &DidId,
		relationship: Relationship,
		message: &[u8],
		signature: &DidSignature,
	) -> bool {
		Dids::<T>::get(did).is_some_and(|details| {
			details
				.verification_methods
				.iter()
				.any(|m| m.relationships.serves(relationship) && m.key.verifies(message, signature))
		})
	}
}
