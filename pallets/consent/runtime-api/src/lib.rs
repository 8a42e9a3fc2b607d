//! Runtime API of pallet-consent, which the `consent_*` RPC methods call.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use twinnet_primitives::{
	consent::{AuditRecord, GrantView},
	did::DidId,
};

sp_api::decl_runtime_apis! {
	/// Reads the consent registry. Version 2: grants carry their use counts,
	/// and the usage is the decision trail followed by the spend trail.
	#[api_version(2)]
	pub trait ConsentApi<AccountId, BlockNumber>
	where
		AccountId: Codec,
		BlockNumber: Codec,
	{
		/// The grants of `twin` (live, revoked and expired until pruned), by id.
		fn grants_of(twin: DidId) -> Vec<GrantView<AccountId, BlockNumber>>;

		/// The audit trail of `twin`: its latest grants, uses, spends and
		/// revocations, oldest first.
		fn usage_of(twin: DidId) -> Vec<AuditRecord<AccountId, BlockNumber>>;
	}
}
