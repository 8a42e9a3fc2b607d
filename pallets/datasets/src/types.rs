//! The records pallet-datasets stores, and the arguments of its calls.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	pallet_prelude::ConstU32, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_core::H256;
use twinnet_primitives::{
	consent::{Purpose, Scope},
	datasets::{AssetState, Schema},
	did::DidId,
};

/// The most purposes a dataset's terms name (one of each [`Purpose`]).
pub type MaxPurposes = ConstU32<7>;

/// What a dataset is and where its encrypted bundle lives.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxUri))]
pub struct Descriptor<MaxUri: frame_support::traits::Get<u32>> {
	/// The blake2-256 hash of the encrypted bundle.
	pub content_hash: H256,
	/// Where the encrypted bundle is (a URI: `scheme:rest`, printable ASCII).
	pub location: BoundedVec<u8, MaxUri>,
	/// Its data format.
	pub schema: Schema,
	/// The bundle's size in bytes.
	pub size_bytes: u64,
	/// How many records (rows, recordings, sessions) it holds.
	pub record_count: u64,
	/// The hash of its off-chain metadata document.
	pub metadata_hash: H256,
}

/// Which scopes licences of a dataset may have.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub struct Scopes {
	/// Licences that let the holder read the decrypted data.
	pub view: bool,
	/// Licences that let the holder run allowed code on it.
	pub compute: bool,
}

impl Scopes {
	/// Whether `scope` is offered.
	pub fn offers(&self, scope: Scope) -> bool {
		match scope {
			Scope::View => self.view,
			Scope::Compute => self.compute,
		}
	}

	/// The scopes offered.
	pub fn offered(&self) -> impl Iterator<Item = Scope> + '_ {
		[Scope::View, Scope::Compute].into_iter().filter(|scope| self.offers(*scope))
	}
}

/// What a licence of a dataset costs and allows.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct LicenceTerms<Balance, BlockNumber> {
	/// The price of one licence.
	pub price: Balance,
	/// The scopes licences may have.
	pub scopes: Scopes,
	/// The purposes licences may be for (sorted, no repeats).
	pub purposes: BoundedVec<Purpose, MaxPurposes>,
	/// For how many blocks a licence is valid.
	pub duration: BlockNumber,
	/// The most licences that may ever be sold.
	pub max_licences: u32,
	/// Whether a licence's holder may transfer it.
	pub transferable: bool,
}

impl<Balance, BlockNumber> LicenceTerms<Balance, BlockNumber> {
	/// Whether licences for `scope` and `purpose` are offered.
	pub fn offers(&self, scope: Scope, purpose: Purpose) -> bool {
		self.scopes.offers(scope) && self.purposes.contains(&purpose)
	}
}

/// Where a dataset comes from: the datasets it was derived from and the
/// transformation that derived it.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxParents))]
pub struct Lineage<MaxParents: frame_support::traits::Get<u32>> {
	/// The registered datasets it was derived from (no repeats).
	pub parents: BoundedVec<DidId, MaxParents>,
	/// The hash of the transformation (code and parameters) applied to
	/// them; required exactly when there are parents.
	pub transformation: Option<H256>,
}

/// A registered dataset.
#[derive(Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxUri, MaxParents, MaxAlgorithms))]
pub struct Dataset<
	AccountId,
	Balance,
	BlockNumber,
	CollectionId,
	MaxUri: frame_support::traits::Get<u32>,
	MaxParents: frame_support::traits::Get<u32>,
	MaxAlgorithms: frame_support::traits::Get<u32>,
> {
	/// The institution that holds the data and publishes it.
	pub institution: DidId,
	/// The controller of the institution who registered it or last changed
	/// it: holds the record's deposit and receives the institution's part of
	/// each licence's price.
	pub publisher: AccountId,
	/// What it is and where it lives.
	pub descriptor: Descriptor<MaxUri>,
	/// Its licence terms.
	pub terms: LicenceTerms<Balance, BlockNumber>,
	/// Where it comes from.
	pub lineage: Lineage<MaxParents>,
	/// The code hashes its publisher accepts for computations on it.
	pub algorithms: BoundedVec<H256, MaxAlgorithms>,
	/// Whether a View licence lets its holder download the raw data (off
	/// by default: compute-to-data only).
	pub raw_download: bool,
	/// Its state, as last set.
	pub state: AssetState,
	/// The fewest contributors with live consent for which licences are sold.
	pub min_contributors: u32,
	/// How many twins are listed as contributors.
	pub contributors: u32,
	/// How many of them counted at the last check.
	pub counted: u32,
	/// Its NFT collection, whose items are its licences.
	pub collection: CollectionId,
	/// Licences sold so far (the next licence's serial number).
	pub licences_sold: u32,
	/// Licences not yet pruned.
	pub licences_outstanding: u32,
	/// The deposit of the record (not its contributors), held from the publisher.
	pub deposit: Balance,
	/// The block it was registered in.
	pub registered_at: BlockNumber,
}

impl<AccountId, Balance, BlockNumber, CollectionId, MaxUri, MaxParents, MaxAlgorithms>
	Dataset<AccountId, Balance, BlockNumber, CollectionId, MaxUri, MaxParents, MaxAlgorithms>
where
	MaxUri: frame_support::traits::Get<u32>,
	MaxParents: frame_support::traits::Get<u32>,
	MaxAlgorithms: frame_support::traits::Get<u32>,
{
	/// Whether enough contributors counted at the last check for licences
	/// to be sold (the k-anonymity floor).
	pub fn meets_floor(&self) -> bool {
		self.counted >= self.min_contributors
	}
}

/// A contributor of a dataset: whether its rows counted at the last check,
/// and who holds its deposit.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct Contributor<AccountId, Balance> {
	/// Whether it counted at the last check.
	pub counted: bool,
	/// Who listed it and holds its deposit.
	pub depositor: AccountId,
	/// The deposit held.
	pub deposit: Balance,
}

/// A licence sold.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct Licence<Balance, BlockNumber> {
	/// What it allows.
	pub scope: Scope,
	/// For what.
	pub purpose: Purpose,
	/// The last block it is valid in.
	pub expires_at: BlockNumber,
	/// What was paid for it.
	pub price: Balance,
}

/// How a licence's price was divided.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
	Default,
)]
pub struct Split<Balance> {
	/// What each paid contributor's patient received.
	pub per_contributor: Balance,
	/// How many contributors were paid.
	pub contributors_paid: u32,
	/// What the publisher received: its share, the remainder of the
	/// division, and the parts of contributors that could not be paid.
	pub publisher: Balance,
}

/// A dataset registered at genesis, with its contributors: a compute-only
/// dataset for research and model training, at `price` planck a licence.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisDataset<AccountId> {
	/// Its Dataset DID (controlled by the publisher).
	pub dataset: DidId,
	/// The publishing institution (controlled by the publisher).
	pub institution: DidId,
	/// Who registers it and holds its deposits.
	pub publisher: AccountId,
	/// The hash of the encrypted bundle.
	pub content_hash: H256,
	/// Where the bundle lives.
	pub location: alloc::vec::Vec<u8>,
	/// Its format.
	pub schema: Schema,
	/// Its size in bytes.
	pub size_bytes: u64,
	/// Its records.
	pub record_count: u64,
	/// The hash of its metadata.
	pub metadata_hash: H256,
	/// The price of a licence, in planck.
	pub price: u64,
	/// How many blocks a licence lasts.
	pub licence_blocks: u32,
	/// Its contributing twins.
	pub contributors: alloc::vec::Vec<DidId>,
}
