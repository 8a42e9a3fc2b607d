//! Runtime API of pallet-consent, which the `consent_*` RPC methods call.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use twinnet_primitives::{
	consent::{AuditRecord, GrantId, GrantView, Grantee},
	did::DidId,
};

/// The most grants one call of [`ConsentApi::grants_held_by`] returns.
pub const MAX_PAGE: u32 = 100;

sp_api::decl_runtime_apis! {
	/// Reads the consent registry. Version 2: grants carry their use counts,
	/// bindings and reserved budget, the usage is the decision trail followed
	/// by the spend trail, and grants can be listed by grantee. Version 3:
	/// the usage's spends come from each grant's own spend trail, request
	/// decisions name the requester, grantee, scope and purposes, and prunes
	/// the grant's totals (new `AuditEvent` variants; records from version 2
	/// decode as the `Legacy…` ones, so a version-3 client reads both).
	#[api_version(3)]
	pub trait ConsentApi<AccountId, BlockNumber>
	where
		AccountId: Codec,
		BlockNumber: Codec,
	{
		/// The grants of `twin` (live, revoked and expired until pruned), by id.
		fn grants_of(twin: DidId) -> Vec<GrantView<AccountId, BlockNumber>>;

		/// The audit trail of `twin`: its decision trail (the latest grants,
		/// narrowings, revocations, request decisions and prunes, oldest
		/// first), then the spends in its grants' spend trails, by block.
		fn usage_of(twin: DidId) -> Vec<AuditRecord<AccountId, BlockNumber>>;

		/// Up to `limit` (at most [`MAX_PAGE`]) grants `grantee` holds, as
		/// (twin, grant), in storage order after `start_after`.
		fn grants_held_by(
			grantee: Grantee<AccountId>,
			start_after: Option<(DidId, GrantId)>,
			limit: u32,
		) -> Vec<(DidId, GrantView<AccountId, BlockNumber>)>;
	}
}
