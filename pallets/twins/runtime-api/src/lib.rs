//! Runtime API of pallet-twins, which the `twin_*` RPC methods call.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
use twinnet_primitives::did::{Controller, DidId, DidResolution};

sp_api::decl_runtime_apis! {
	/// Reads the DID registry.
	pub trait TwinsApi<AccountId, BlockNumber>
	where
		AccountId: Codec,
		BlockNumber: Codec,
	{
		/// Resolves `did`: its view if active, its tombstone if deactivated,
		/// `None` if it never existed.
		fn resolve(did: DidId) -> Option<DidResolution<AccountId, BlockNumber>>;

		/// The active DIDs that `controller` controls.
		fn list_by_controller(controller: Controller<AccountId>) -> Vec<DidId>;
	}
}
