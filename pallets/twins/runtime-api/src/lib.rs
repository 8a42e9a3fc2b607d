//! Runtime API of pallet-twins, which the `twin_*` RPC methods call.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use twinnet_primitives::did::{Controller, DidId, DidResolution};

/// The most DIDs one page of [`TwinsApi::list_by_controller`] returns.
pub const MAX_PAGE: u32 = 100;

sp_api::decl_runtime_apis! {
	/// Reads the DID registry. Version 2: `list_by_controller` is paged.
	#[api_version(2)]
	pub trait TwinsApi<AccountId, BlockNumber>
	where
		AccountId: Codec,
		BlockNumber: Codec,
	{
		/// Resolves `did`: its view if active, its tombstone if deactivated,
		/// `None` if it never existed.
		fn resolve(did: DidId) -> Option<DidResolution<AccountId, BlockNumber>>;

		/// Up to `limit` (at most [`MAX_PAGE`]) active DIDs that `controller`
		/// controls, in storage order, after `start_after` (the last DID of
		/// the previous page).
		fn list_by_controller(controller: Controller<AccountId>, start_after: Option<DidId>, limit: u32) -> Vec<DidId>;
	}
}
