//! Dataset tokens: what a registered dataset is, the states it passes
//! through, the licences researchers buy for it, and the
//! [`DatasetAccess`] check other pallets (federated compute) make before a
//! computation touches its rows.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

use crate::{
	consent::{Computation, ConsentDenied, Purpose, Scope},
	did::DidId,
};

/// A licence's serial number within its dataset (its item in the dataset's
/// NFT collection).
pub type LicenceId = u32;

/// The data format of a dataset.
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Schema {
	/// Neurodata Without Borders 2.x.
	Nwb2,
	/// Brain Imaging Data Structure.
	Bids,
	/// Comma-separated values with a published header.
	Csv,
	/// HL7 FHIR R4 resources.
	FhirR4,
	/// The OMOP common data model.
	Omop,
	/// DICOM images.
	Dicom,
	/// Another format, described by the dataset's metadata.
	Other,
}

/// The lifecycle state of a dataset, after Ocean Protocol's asset states.
/// Who may set which is in the datasets pallet's documentation.
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
pub enum AssetState {
	/// Listed and orderable.
	Active,
	/// Replaced by a newer dataset: no new licences, existing ones run on.
	Deprecated,
	/// Retired for good: no new licences, existing ones run on; final
	/// except for revocation.
	EndOfLife,
	/// The publisher paused new licences; existing ones run on.
	OrderingDisabled,
	/// Orderable by those who know it, but not listed.
	Unlisted,
	/// Withdrawn (by the publisher or governance): no licence grants access
	/// any more. Final.
	Revoked,
}

impl AssetState {
	/// Whether new licences may be bought in this state.
	pub fn is_orderable(self) -> bool {
		matches!(self, Self::Active | Self::Unlisted)
	}

	/// Whether licences already bought grant access in this state.
	pub fn honours_licences(self) -> bool {
		self != Self::Revoked
	}
}

/// Why a twin's rows do not count in a dataset now.
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
pub enum Exclusion {
	/// The twin's data is no longer in the publishing institution's custody.
	NotInCustody,
	/// No live consent of the twin covers the dataset: why not.
	Consent(ConsentDenied),
}

/// A licence, as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct LicenceView<AccountId, BlockNumber, Balance> {
	/// The dataset it is for.
	pub dataset: DidId,
	/// Its serial number in the dataset.
	pub id: LicenceId,
	/// Who holds it now (the owner of its NFT item).
	pub holder: AccountId,
	/// What it allows.
	pub scope: Scope,
	/// For what.
	pub purpose: Purpose,
	/// The last block it is valid in.
	pub expires_at: BlockNumber,
	/// What was paid for it.
	pub price: Balance,
	/// Whether its holder may transfer it.
	pub transferable: bool,
}

/// A dataset a researcher may compute on now, and on whose rows.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ComputeAccess<AccountId> {
	/// The licence that allows it.
	pub licence: LicenceId,
	/// The institution that holds the data (whose compute agent runs it).
	pub institution: DidId,
	/// The dataset's publisher: the account paid for work on it.
	pub publisher: AccountId,
	/// The dataset's k-anonymity floor: the fewest distinct patients whose
	/// rows may be used together.
	pub min_contributors: u32,
	/// The contributing twins whose rows may be used now.
	pub twins: Vec<DidId>,
}

/// Why a researcher may not compute on a dataset now.
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
pub enum AccessDenied {
	/// The dataset is not registered.
	UnknownDataset,
	/// The dataset was revoked.
	Revoked,
	/// The researcher holds no live compute licence for this purpose.
	NoLicence,
	/// The code is not on the dataset's algorithm allow-list.
	AlgorithmNotAllowed,
	/// Fewer distinct patients than the dataset's k-anonymity floor are
	/// covered now: no row may be used.
	TooFewContributors,
}

/// The dataset registry, as other pallets use it (implemented by
/// `pallet-datasets`).
pub trait DatasetAccess<AccountId> {
	/// Whether `researcher` may run `computation` (a job round's code, on
	/// its model) on `dataset` for `purpose` now, under its compute licence
	/// `licence`: through which institution, on which twins' rows (those in
	/// the institution's custody whose live consent covers the computation
	/// now, a grant bound to this job, model or code included; one per
	/// patient, at least the dataset's floor of them), or why not. Reads
	/// only.
	fn can_compute(
		researcher: &AccountId,
		dataset: &DidId,
		licence: LicenceId,
		purpose: Purpose,
		computation: &Computation,
	) -> Result<ComputeAccess<AccountId>, AccessDenied>;

	/// The most [`Self::can_compute`] may weigh.
	fn can_compute_weight() -> frame_support::weights::Weight;
}

/// A registered dataset, as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct DatasetView<AccountId, BlockNumber, Balance> {
	/// Its Dataset DID.
	pub id: DidId,
	/// The institution that holds the data and publishes it.
	pub institution: DidId,
	/// The account that registered it (holds its deposit, receives the
	/// publisher's part of each licence's price).
	pub publisher: AccountId,
	/// The blake2-256 hash of the encrypted bundle.
	pub content_hash: H256,
	/// Where the encrypted bundle is (a URI, printable ASCII).
	pub location: Vec<u8>,
	/// Its data format.
	pub schema: Schema,
	/// The bundle's size in bytes.
	pub size_bytes: u64,
	/// How many records it holds.
	pub record_count: u64,
	/// The hash of its off-chain metadata document.
	pub metadata_hash: H256,
	/// The price of one licence.
	pub price: Balance,
	/// Whether View licences are offered.
	pub offers_view: bool,
	/// Whether Compute licences are offered.
	pub offers_compute: bool,
	/// The purposes licences may be for (sorted).
	pub purposes: Vec<Purpose>,
	/// For how many blocks a licence is valid.
	pub duration: BlockNumber,
	/// The most licences that may ever be sold.
	pub max_licences: u32,
	/// Whether a licence's holder may transfer it.
	pub transferable: bool,
	/// The registered datasets it was derived from.
	pub parents: Vec<DidId>,
	/// The hash of the transformation that derived it from its parents.
	pub transformation: Option<H256>,
	/// The code hashes its publisher accepts for computations on it.
	pub algorithms: Vec<H256>,
	/// Whether a View licence lets its holder download the raw data.
	pub raw_download: bool,
	/// Its state, as last set.
	pub state: AssetState,
	/// The fewest contributors with live consent for which licences are sold.
	pub min_contributors: u32,
	/// How many twins are listed as contributors.
	pub contributors: u32,
	/// How many of them counted at the last check.
	pub counted: u32,
	/// Licences sold so far (the next licence's serial number).
	pub licences_sold: u32,
	/// Licences not yet pruned.
	pub licences_outstanding: u32,
	/// The deposit held from the publisher.
	pub deposit: Balance,
	/// The block it was registered in.
	pub registered_at: BlockNumber,
	/// Whether licences may be bought now: its state is orderable and at
	/// least `min_contributors` counted at the last check.
	pub orderable: bool,
}
