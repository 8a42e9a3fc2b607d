//! Storage migrations of pallet-twins.
//!
//! Pattern for the next storage change: keep the old layout in a `vN` module
//! (`#[frame_support::storage_alias]` for moved or retyped items), write an
//! `UncheckedOnRuntimeUpgrade` that translates it, wrap it in
//! `VersionedMigration<N, N+1, …>` so it runs once, and test it by writing
//! old-layout records and checking `do_try_state` after the upgrade.

use codec::{Decode, Encode, MaxEncodedLen};
use frame_support::{
	migrations::VersionedMigration, pallet_prelude::*, traits::UncheckedOnRuntimeUpgrade,
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use twinnet_primitives::did::{Controller, DidId, PublicKey, Relationships, SubjectKind};

use crate::{
	BalanceOf, Config, Custody, CustodyLoads, CustodyOffers, DidDetails, Dids, Pallet, SchemaTag,
	ServiceOf, VerificationMethod,
};

/// The layout of storage version 1.
pub mod v1 {
	use super::*;

	/// Verification relationships before `capabilityInvocation` existed.
	#[derive(Clone, Copy, Encode, Decode, MaxEncodedLen, TypeInfo)]
	pub struct Relationships {
		pub authentication: bool,
		pub assertion_method: bool,
		pub capability_delegation: bool,
		pub key_agreement: bool,
	}

	/// A verification method of version 1.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct VerificationMethod<T: Config> {
		pub fragment: BoundedVec<u8, T::MaxFragmentLength>,
		pub key: PublicKey,
		pub relationships: Relationships,
	}

	/// A DID record of version 1: no handover offers, no patient.
	#[derive(Encode, Decode, TypeInfo)]
	#[scale_info(skip_type_params(T))]
	pub struct DidDetails<T: Config> {
		pub kind: SubjectKind,
		pub controller: Controller<T::AccountId>,
		pub verification_methods: BoundedVec<VerificationMethod<T>, T::MaxVerificationMethods>,
		pub services: BoundedVec<ServiceOf<T>, T::MaxServices>,
		pub metadata_hash: Option<sp_core::H256>,
		pub schema: Option<SchemaTag<T>>,
		pub depositor: T::AccountId,
		pub deposit: BalanceOf<T>,
		pub created: BlockNumberFor<T>,
		pub updated: BlockNumberFor<T>,
	}

	/// One pending custody offer per twin.
	#[frame_support::storage_alias]
	pub type CustodyOffers<T: Config> =
		StorageMap<Pallet<T>, Twox64Concat, DidId, Custody<<T as frame_system::Config>::AccountId>>;
}

/// Version 1 to 2: DID records gain handover offers and the patient position
/// (a twin controlled by an account has that account as patient), signing
/// keys stop serving `keyAgreement`, and custody offers are keyed by twin and
/// institution, with each institution's load counted.
pub struct MigrateV1ToV2<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for MigrateV1ToV2<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut reads_writes = 0u64;
		Dids::<T>::translate::<v1::DidDetails<T>, _>(|_, old| {
			reads_writes = reads_writes.saturating_add(1);
			Some(upgrade_did::<T>(old))
		});
		let offers: alloc::vec::Vec<_> = v1::CustodyOffers::<T>::drain().collect();
		for (twin, offer) in offers {
			reads_writes = reads_writes.saturating_add(2);
			CustodyOffers::<T>::insert(twin, offer.institution, offer.depositor);
			CustodyLoads::<T>::mutate(offer.institution, |load| {
				load.offers = load.offers.saturating_add(1)
			});
		}
		for (_, custody) in crate::Custodians::<T>::iter() {
			reads_writes = reads_writes.saturating_add(2);
			CustodyLoads::<T>::mutate(custody.institution, |load| {
				load.custodies = load.custodies.saturating_add(1)
			});
		}
		T::DbWeight::get().reads_writes(reads_writes, reads_writes)
	}
}

/// The version-2 record of a version-1 DID.
fn upgrade_did<T: Config>(old: v1::DidDetails<T>) -> DidDetails<T> {
	let methods = old.verification_methods.into_iter().map(|m| VerificationMethod {
		fragment: m.fragment,
		key: m.key,
		relationships: Relationships {
			authentication: m.relationships.authentication,
			assertion_method: m.relationships.assertion_method,
			capability_delegation: m.relationships.capability_delegation,
			// Version 1 had no X25519 keys: no key may serve keyAgreement.
			key_agreement: false,
			capability_invocation: false,
		},
	});
	let patient = match (&old.kind, &old.controller) {
		(SubjectKind::PatientTwin, Controller::Account(account)) => Some(account.clone()),
		_ => None,
	};
	DidDetails {
		kind: old.kind,
		controller: old.controller,
		pending_controller: None,
		patient,
		pending_patient: None,
		verification_methods: BoundedVec::truncate_from(methods.collect()),
		services: old.services,
		metadata_hash: old.metadata_hash,
		schema: old.schema,
		depositor: old.depositor,
		deposit: old.deposit,
		created: old.created,
		updated: old.updated,
	}
}

/// [`MigrateV1ToV2`], run once: only while the on-chain version is 1.
pub type MigrateToV2<T> =
	VersionedMigration<1, 2, MigrateV1ToV2<T>, Pallet<T>, <T as frame_system::Config>::DbWeight>;
