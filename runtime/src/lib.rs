//! # TwinNet runtime
//!
//! The state transition function of the TwinNet chain. It composes FRAME's
//! consensus and accounting pallets (Aura block production, GRANDPA finality,
//! balances, transaction payment, sudo) with TwinNet's own pallets as they land.
//!
//! - Token: `TWIN`, [`TOKEN_DECIMALS`] decimals; one `TWIN` is [`UNITS`] planck.
//! - Addresses: SS58 prefix [`SS58_PREFIX`] (the generic Substrate prefix, so
//!   every wallet formats TwinNet addresses out of the box).
//! - Blocks: one every [`MILLISECS_PER_BLOCK`] ms.
//!
//! Genesis presets (`development`, `local_testnet`) live in
//! [`genesis_config_presets`]; runtime APIs in `apis`.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime`-style macros expand to code with arithmetic and indexing
// we do not control; the workspace lints apply to hand-written pallet code.
#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

mod apis;
pub use apis::RuntimeApi;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
mod configs;
#[cfg(all(test, feature = "try-runtime"))]
mod fuzz;
pub mod genesis_config_presets;
#[cfg(test)]
mod tests;

use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, IdentifyAccount, Verify},
	MultiAddress, MultiSignature,
};
use sp_version::{runtime_version, RuntimeVersion};

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

/// Opaque types: what the node needs to know of blocks without knowing the runtime.
pub mod opaque {
	use super::*;
	use sp_runtime::traits::Hash as HashT;

	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header type.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block type.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	/// Opaque block identifier type.
	pub type BlockId = generic::BlockId<Block>;
	/// Opaque block hash type.
	pub type Hash = <BlakeTwo256 as HashT>::Output;

	impl_opaque_keys! {
		/// The keys a validator registers: Aura for authoring, GRANDPA for finality.
		pub struct SessionKeys {
			pub aura: Aura,
			pub grandpa: Grandpa,
		}
	}
}

/// Declares the runtime's [`VERSION`] with `spec_version` `$spec` (a literal:
/// `#[runtime_version]` writes it into the WASM's `runtime_version` section).
macro_rules! declare_version {
	($spec:tt) => {
		/// The runtime's version. `spec_version` must rise with every runtime upgrade.
		#[runtime_version]
		pub const VERSION: RuntimeVersion = RuntimeVersion {
			spec_name: alloc::borrow::Cow::Borrowed("twinnet"),
			impl_name: alloc::borrow::Cow::Borrowed("twinnet"),
			authoring_version: 1,
			spec_version: $spec,
			impl_version: 1,
			apis: apis::RUNTIME_API_VERSIONS,
			transaction_version: 2,
			system_version: 1,
		};
	};
}

// Raise both together: the second is this runtime with `spec_version` one
// higher, which the runtime upgrade test installs (`scripts/upgrade-wasm`
// builds it with the `spec-version-bump` feature; no chain runs it).
#[cfg(not(feature = "spec-version-bump"))]
declare_version!(107);
#[cfg(feature = "spec-version-bump")]
declare_version!(108);

/// The average block time: Aura produces one block per slot of this length.
pub const MILLISECS_PER_BLOCK: u64 = 6000;
/// The Aura slot duration. It cannot change once the chain has started.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;
/// Blocks per minute.
pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
/// Blocks per hour.
pub const HOURS: BlockNumber = MINUTES * 60;
/// Blocks per day.
pub const DAYS: BlockNumber = HOURS * 24;

/// The token's symbol, as wallets show it.
pub const TOKEN_SYMBOL: &str = "TWIN";
/// The token's decimals: one `TWIN` is `10^TOKEN_DECIMALS` planck.
pub const TOKEN_DECIMALS: u8 = 12;
/// The SS58 address prefix (42: generic Substrate).
pub const SS58_PREFIX: u16 = 42;

/// One `TWIN`, in planck.
pub const UNITS: Balance = 1_000_000_000_000;
/// A thousandth of a `TWIN`.
pub const MILLI_UNITS: Balance = UNITS / 1_000;
/// A millionth of a `TWIN`.
pub const MICRO_UNITS: Balance = UNITS / 1_000_000;
/// The least balance an account must hold to exist.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNITS;

/// A block number.
pub type BlockNumber = u32;
/// A transaction signature: sr25519, ed25519 or ecdsa.
pub type Signature = MultiSignature;
/// An account: the public key of the signature scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// A balance, in planck.
pub type Balance = u128;
/// An account's transaction counter.
pub type Nonce = u32;
/// A hash of some data used by the chain.
pub type Hash = sp_core::H256;
/// The address format for describing accounts.
pub type Address = MultiAddress<AccountId, ()>;
/// The block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// The block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// The transaction extensions every signed transaction carries, in order.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// An extrinsic as it arrives from outside.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload a signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Storage migrations to run at the next runtime upgrade, each guarded by
/// its pallet's storage version so it runs once.
type Migrations = (
	pallet_twins::migrations::MigrateToV2<Runtime>,
	pallet_consent::migrations::MigrateToV2<Runtime>,
	pallet_consent::migrations::MigrateToV3<Runtime>,
	pallet_federated::migrations::MigrateToV1<Runtime>,
);

/// Dispatches extrinsics and drives block execution.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// The runtime: pallets with fixed indexes. Never reorder or reuse an index.
#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;

	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;

	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;

	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;

	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;

	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;

	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	/// Licences of datasets are its items (pallet-datasets mints them).
	#[runtime::pallet_index(7)]
	pub type Nfts = pallet_nfts;

	// TwinNet's own pallets start at index 10.
	#[runtime::pallet_index(10)]
	pub type Twins = pallet_twins;

	#[runtime::pallet_index(11)]
	pub type Consent = pallet_consent;

	#[runtime::pallet_index(12)]
	pub type Datasets = pallet_datasets;

	#[runtime::pallet_index(13)]
	pub type Commitments = pallet_commitments;

	#[runtime::pallet_index(14)]
	pub type Federated = pallet_federated;
}
