//! Interfaces TwinNet's pallets offer one another.

use crate::did::{Controller, DidId, SubjectKind};

/// Read access to the DID registry (implemented by `pallet-twins`).
pub trait DidRegistry<AccountId> {
	/// The kind of the active DID `did`, or `None` if it is unknown or deactivated.
	fn active_kind(did: &DidId) -> Option<SubjectKind>;

	/// The controller of the active DID `did`.
	fn controller(did: &DidId) -> Option<Controller<AccountId>>;

	/// Whether `who` may act as the controller of the active DID `did`.
	fn is_controlled_by(did: &DidId, who: &AccountId) -> bool;

	/// Whether `who` signs with an authentication key of the active DID `did`.
	fn authenticates_as(did: &DidId, who: &AccountId) -> bool;

	/// The institution that holds the data of the active twin `twin`.
	fn custodian(twin: &DidId) -> Option<DidId>;
}
