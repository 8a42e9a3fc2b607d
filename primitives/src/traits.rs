//! Interfaces TwinNet's pallets offer one another.

use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_support::weights::Weight;
use scale_info::TypeInfo;
use sp_runtime::DispatchResult;

use crate::did::{DidId, DidSignature, PublicKey, Relationship, SubjectKind};

/// How an account may act for a DID.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum DidRole {
	/// The patient a twin was created for (or who later accepted that
	/// position): the last word on the twin.
	Patient,
	/// The DID's controller, or for a twin whose patient is someone else, a
	/// guardian acting through the twin's controller.
	Controller,
}

/// An active DID, as seen by one account.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DidAccess {
	/// What the DID identifies.
	pub kind: SubjectKind,
	/// How the account may act for it, if at all.
	pub role: Option<DidRole>,
}

/// Read access to the DID registry (implemented by `pallet-twins`).
pub trait DidRegistry<AccountId> {
	/// The kind of the active DID `did`, or `None` if it is unknown or deactivated.
	fn active_kind(did: &DidId) -> Option<SubjectKind>;

	/// The active DID `did` and how `who` may act for it, in one read of the
	/// DID (and one of its controlling DID); `None` if `did` is not active.
	fn access(did: &DidId, who: &AccountId) -> Option<DidAccess>;

	/// Whether `who` may act as the controller of the active DID `did`.
	fn is_controlled_by(did: &DidId, who: &AccountId) -> bool;

	/// Whether `who` is the patient of the active twin `twin`.
	fn is_patient(twin: &DidId, who: &AccountId) -> bool;

	/// The patient account of the active twin `twin`, once one is bound.
	fn patient(twin: &DidId) -> Option<AccountId>;

	/// The institution that holds the data of the active twin `twin`.
	fn custodian(twin: &DidId) -> Option<DidId>;

	/// The keys of the active DID `did` that serve `relationship`.
	fn keys_for(did: &DidId, relationship: Relationship) -> Vec<PublicKey>;

	/// Whether `signature` of `message` verifies against one of the keys of
	/// the active DID `did` that serve `relationship` (`assertionMethod` for
	/// attestations, `capabilityInvocation` for a node's federated reports).
	fn verify_signature(
		did: &DidId,
		relationship: Relationship,
		message: &[u8],
		signature: &DidSignature,
	) -> bool;
}

/// What other pallets say about a DID's deactivation: they may veto it while
/// something of theirs depends on the DID, and learn of it afterwards to
/// clean up. Implemented for tuples, so a runtime lists every dependent.
pub trait DidDependents {
	/// Fails, with the dependent's own error, while something depends on `did`.
	fn ensure_can_deactivate(did: &DidId, kind: SubjectKind) -> DispatchResult;

	/// `did` was deactivated.
	fn on_deactivated(did: &DidId, kind: SubjectKind);

	/// The most both hooks together may weigh.
	fn weight() -> Weight;
}

#[impl_trait_for_tuples::impl_for_tuples(8)]
impl DidDependents for Tuple {
	fn ensure_can_deactivate(did: &DidId, kind: SubjectKind) -> DispatchResult {
		for_tuples!( #( Tuple::ensure_can_deactivate(did, kind)?; )* );
		Ok(())
	}

	fn on_deactivated(did: &DidId, kind: SubjectKind) {
		for_tuples!( #( Tuple::on_deactivated(did, kind); )* );
	}

	fn weight() -> Weight {
		let mut weight = Weight::zero();
		for_tuples!( #( weight = weight.saturating_add(Tuple::weight()); )* );
		weight
	}
}
