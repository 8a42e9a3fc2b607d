//! Runtime API of pallet-consent, which the `consent_*` RPC methods call.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use twinnet_primitives::{
	commitments::JobId,
	consent::{AuditRecord, GrantId, GrantView, Grantee, JobSpend},
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
	/// Version 4: what each job spent under each grant (`job_spends`).
	#[api_version(4)]
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

		/// Up to `limit` (at most [`MAX_PAGE`]) of what each job spent under
		/// each grant of `twin`, as (grant, job, totals), in storage order
		/// after `start_after`: records no other spender can push out, kept
		/// after the grant is pruned.
		#[api_version(4)]
		fn job_spends(
			twin: DidId,
			start_after: Option<(GrantId, JobId)>,
			limit: u32,
		) -> Vec<(GrantId, JobId, JobSpend<BlockNumber>)>;
	}
}
