//! The records of pallet-commitments.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_core::H256;
use twinnet_primitives::{
	commitments::{
		AttestationView, CommitmentId, CommitmentKind, CommitmentStatus, Input, JobRound,
		MerkleRoot, ProvenanceNode, Statement,
	},
	did::DidId,
};

use crate::{BalanceOf, Config};

/// A commitment's schema or format tag (for example `onnx`, `safetensors`,
/// `metrics/v1`), printable ASCII.
pub type SchemaTag<T> = BoundedVec<u8, <T as Config>::MaxSchemaLength>;
/// A commitment's inputs.
pub type Inputs<T> = BoundedVec<Input, <T as Config>::MaxInputs>;
/// Leaves stored on chain for a commitment's Merkle root.
pub type StoredLeaves<T> = BoundedVec<H256, <T as Config>::MaxStoredLeaves>;
/// A commitment in brief, as a provenance walk returns it from the one read
/// of its record: its kind, whether it stands, and how many institutions
/// attested it (`pallet_commitments_runtime_api::CommitmentSummary`).
pub type CommitmentSummary = (CommitmentKind, CommitmentStatus, u32);
/// One node of a provenance walk: the node and, for a commitment, its summary.
pub type ProvenanceEntry = (ProvenanceNode, Option<CommitmentSummary>);

/// How a commitment states its Merkle tree, if it has one.
#[derive(
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	DebugNoBound,
)]
#[scale_info(skip_type_params(MaxLeaves))]
pub enum MerkleInput<MaxLeaves: Get<u32>> {
	/// The root and leaf count only; the leaves stay off chain.
	Root(MerkleRoot),
	/// The leaves (each a 32-byte value, hashed with `twinnet_merkle::leaf_hash`),
	/// stored on chain so `commitments_prove` can serve proofs; the chain
	/// computes the root.
	Leaves(BoundedVec<H256, MaxLeaves>),
}

/// A commitment's Merkle input in a runtime's terms.
pub type MerkleInputOf<T> = MerkleInput<<T as Config>::MaxStoredLeaves>;

/// A commitment, as stored.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen, Debug)]
#[scale_info(skip_type_params(T))]
pub struct Commitment<T: Config> {
	/// What it commits to.
	pub kind: CommitmentKind,
	/// The 32-byte hash of the committed artefact.
	pub hash: H256,
	/// The root of a Merkle tree over its parts, if any.
	pub merkle: Option<MerkleRoot>,
	/// The Institution or Model DID that commits.
	pub committer: DidId,
	/// The account that signed, and holds the deposit.
	pub account: T::AccountId,
	/// Its schema or format tag.
	pub schema: SchemaTag<T>,
	/// What it was computed from.
	pub inputs: Inputs<T>,
	/// The federated job round it belongs to, if any.
	pub job_round: Option<JobRound>,
	/// The block it was committed in.
	pub block: frame_system::pallet_prelude::BlockNumberFor<T>,
	/// Whether it stands, is disputed or was refuted.
	pub status: CommitmentStatus,
	/// How many institutions attested it.
	pub attestations: u32,
	/// The deposit held for the record (leaves are held separately).
	pub deposit: BalanceOf<T>,
}

/// The leaves of a commitment stored on chain, and their deposit.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen, Debug)]
#[scale_info(skip_type_params(T))]
pub struct LeafRecord<T: Config> {
	/// The leaves, in tree order.
	pub leaves: StoredLeaves<T>,
	/// The deposit held for them, by the commitment's account.
	pub deposit: BalanceOf<T>,
}

/// An institution's co-signature of a commitment.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen, Debug)]
#[scale_info(skip_type_params(T))]
pub struct Attestation<T: Config> {
	/// What the institution states.
	pub statement: Statement,
	/// The account that submitted it and holds its deposit.
	pub submitter: T::AccountId,
	/// The block it was recorded in.
	pub block: frame_system::pallet_prelude::BlockNumberFor<T>,
	/// The deposit held for it.
	pub deposit: BalanceOf<T>,
}

impl<T: Config> Attestation<T> {
	/// The attestation of `attester` as the runtime API shows it.
	pub fn view(
		self,
		attester: DidId,
	) -> AttestationView<T::AccountId, frame_system::pallet_prelude::BlockNumberFor<T>> {
		AttestationView {
			attester,
			statement: self.statement,
			submitter: self.submitter,
			block: self.block,
		}
	}
}

/// Where a dispute stands.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
	Debug,
)]
pub enum DisputeState {
	/// Waiting for the committer's answer or a resolution.
	Open,
	/// The committer answered with a counter-commitment.
	Answered(CommitmentId),
}

/// An open dispute of a commitment.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen, Debug)]
#[scale_info(skip_type_params(T))]
pub struct Dispute<T: Config> {
	/// The disputed commitment.
	pub commitment: CommitmentId,
	/// Who disputes it, and holds the bond.
	pub disputer: T::AccountId,
	/// The bond held.
	pub bond: BalanceOf<T>,
	/// The hash of the disputer's reasons (published off chain).
	pub reason: H256,
	/// The block it was opened in.
	pub opened: frame_system::pallet_prelude::BlockNumberFor<T>,
	/// Whether the committer answered.
	pub state: DisputeState,
}
