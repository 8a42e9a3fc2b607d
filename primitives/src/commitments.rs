//! Result commitments: what `pallet-commitments` stores, its runtime API
//! returns and other pallets link to.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

use alloc::vec::Vec;

pub use crate::consent::JobRound;
use crate::did::DidId;

/// A commitment's identifier: commitments are numbered from 0 in the order
/// they are made, and a commitment links only to lower numbers, so the
/// provenance graph is acyclic by construction.
pub type CommitmentId = u64;
/// A dispute's identifier.
pub type DisputeId = u64;
/// A federated job's identifier (as in `Grantee::Job`).
pub type JobId = u64;

/// How many attestations a commitment's view lists (the first, in storage
/// order): a commitment takes any number of attestations, which the
/// runtime API pages through and finds by attester.
pub const ATTESTATIONS_IN_VIEW: u32 = 16;

/// What a commitment commits to.
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
pub enum CommitmentKind {
	/// The state of a dataset at a point in time (its encrypted bundle's hash).
	DatasetSnapshot,
	/// One participant's (masked, noised) model update in a training round.
	ModelUpdate,
	/// The aggregate of a round's updates: the model after the round.
	AggregatedModel,
	/// A model's evaluation: metrics on a named test set.
	EvaluationMetric,
	/// The result of running a model on some input.
	InferenceResult,
	/// A re-run of an earlier computation by someone else, with its result.
	Reproduction,
}

/// What a commitment was computed from.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub enum Input {
	/// A registered dataset, by its active `Dataset` DID.
	Dataset(DidId),
	/// An earlier commitment.
	Commitment(CommitmentId),
}

/// The root of a Merkle tree (`twinnet-merkle`) and how many leaves it has.
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
pub struct MerkleRoot {
	/// The root hash.
	pub root: H256,
	/// The number of leaves, at least 1.
	pub leaf_count: u32,
}

/// Whether a commitment stands.
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
pub enum CommitmentStatus {
	/// Nobody disputes it.
	Standing,
	/// The dispute with this id is open.
	Disputed(DisputeId),
	/// A dispute was upheld: the commitment is not to be trusted.
	Refuted,
}

/// What an attesting institution states about a commitment.
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
pub enum Statement {
	/// It re-ran the computation and obtained the same result.
	Reproduced,
	/// It checked the artefact against the committed hash and inputs.
	Verified,
}

/// A commitment as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct CommitmentView<AccountId, BlockNumber, Balance> {
	/// Its id.
	pub id: CommitmentId,
	/// What it commits to.
	pub kind: CommitmentKind,
	/// The committed hash.
	pub hash: H256,
	/// Its Merkle root, if any.
	pub merkle: Option<MerkleRoot>,
	/// Whether the leaves are stored on chain (so proofs can be served).
	pub leaves_stored: bool,
	/// The committing Institution or Model DID.
	pub committer: DidId,
	/// The account that signed it.
	pub account: AccountId,
	/// Its schema or format tag.
	pub schema: Vec<u8>,
	/// What it was computed from.
	pub inputs: Vec<Input>,
	/// Its federated job round, if any.
	pub job_round: Option<JobRound>,
	/// The block it was committed in.
	pub block: BlockNumber,
	/// Whether it stands.
	pub status: CommitmentStatus,
	/// Who attested it: the first attestations in storage order (all of
	/// them before attestations were unbounded; see the runtime API).
	pub attestations: Vec<AttestationView<AccountId, BlockNumber>>,
	/// Its open dispute, if any.
	pub dispute: Option<DisputeView<AccountId, BlockNumber, Balance>>,
}

/// An attestation as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct AttestationView<AccountId, BlockNumber> {
	/// The attesting institution.
	pub attester: DidId,
	/// What it states.
	pub statement: Statement,
	/// Who submitted it.
	pub submitter: AccountId,
	/// The block it was recorded in.
	pub block: BlockNumber,
}

/// An open dispute as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct DisputeView<AccountId, BlockNumber, Balance> {
	/// Its id.
	pub id: DisputeId,
	/// Who disputes.
	pub disputer: AccountId,
	/// The bond held.
	pub bond: Balance,
	/// The hash of the reasons.
	pub reason: H256,
	/// The block it was opened in.
	pub opened: BlockNumber,
	/// The committer's counter-commitment, if it answered.
	pub answer: Option<CommitmentId>,
}

/// One node of a commitment's provenance graph.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct ProvenanceNode {
	/// The commitment or dataset.
	pub node: Input,
	/// How many links from the commitment asked about.
	pub depth: u32,
	/// What it was computed from (none for a dataset); for a commitment at
	/// the depth limit, listed but not followed.
	pub inputs: Vec<Input>,
}

/// The domain tag of the message an attester signs.
pub const ATTESTATION_CONTEXT: &[u8; 20] = b"twinnet/attestation:";

/// The message an institution signs, with an `assertionMethod` key of its
/// DID, to attest a commitment: [`ATTESTATION_CONTEXT`] followed by the
/// SCALE encoding of (genesis hash, commitment id, commitment hash,
/// attester DID, statement). The genesis hash keeps a signature from being
/// replayed on another chain; the id and hash from being moved to another
/// commitment.
pub fn attestation_message(
	genesis: H256,
	commitment: CommitmentId,
	hash: H256,
	attester: &DidId,
	statement: Statement,
) -> Vec<u8> {
	let mut message = ATTESTATION_CONTEXT.to_vec();
	(genesis, commitment, hash, attester, statement).encode_to(&mut message);
	message
}

/// Which jobs and job rounds exist, and which commitment the chain made of
/// each released aggregate (implemented by the federated-compute pallet; a
/// runtime without one has none).
pub trait JobRounds {
	/// Whether job `job` was posted (jobs are never removed, and their ids
	/// never reused).
	fn job_exists(job: JobId) -> bool;

	/// Whether round `round.round` of job `round.job` exists.
	fn exists(round: &JobRound) -> bool;

	/// The `AggregatedModel` commitment the chain made of the round's
	/// released aggregate, if it made one: what an auditor trusts as the
	/// round's model.
	fn aggregate_commitment(round: &JobRound) -> Option<CommitmentId>;
}

impl JobRounds for () {
	fn job_exists(_: JobId) -> bool {
		false
	}

	fn exists(_: &JobRound) -> bool {
		false
	}

	fn aggregate_commitment(_: &JobRound) -> Option<CommitmentId> {
		None
	}
}

/// A training round's released aggregate, as its pallet asks the
/// commitments pallet to record it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RoundAggregate {
	/// The round.
	pub round: JobRound,
	/// The job's Model DID: the commitment's committer.
	pub model: DidId,
	/// The hash of the aggregate ([`crate::federated::update_hash`]).
	pub aggregate: H256,
	/// The hashes of the updates averaged, in reporting order: the leaves
	/// of the commitment's Merkle tree.
	pub updates: Vec<H256>,
	/// The datasets trained on and the model's previous commitment.
	pub inputs: Vec<Input>,
}

/// Records each released training aggregate as an `AggregatedModel`
/// commitment (implemented by the commitments pallet; a runtime without
/// one records none). The job pays for the commitment's storage with the
/// round's records (its pallet holds [`Self::aggregate_deposit`] in the
/// round's deposit when the round opens), so the chain's own commitment
/// never fails for want of funds; the commitment holds no deposit itself.
/// Nor does it fail when a DID it names was deactivated since the job was
/// posted: it records what the job was computed from.
pub trait RoundCommitments<AccountId, Balance> {
	/// Commits to `aggregate` as its Model DID, naming `account` (the job's
	/// researcher) as the account it was made for; the commitment's id, or
	/// why it could not be made.
	fn commit_aggregate(
		account: &AccountId,
		aggregate: RoundAggregate,
	) -> Result<CommitmentId, sp_runtime::DispatchError>;

	/// The deposit for the storage of the commitment of an aggregate of
	/// `updates` updates, at most, priced as a signed commitment's: what
	/// its job pays for.
	fn aggregate_deposit(updates: u32) -> Balance;

	/// The most weight [`Self::commit_aggregate`] takes, for `inputs`
	/// inputs and `updates` leaves.
	fn commit_aggregate_weight(inputs: u32, updates: u32) -> frame_support::weights::Weight;
}

impl<AccountId, Balance: Default> RoundCommitments<AccountId, Balance> for () {
	fn commit_aggregate(
		_: &AccountId,
		_: RoundAggregate,
	) -> Result<CommitmentId, sp_runtime::DispatchError> {
		Err(sp_runtime::DispatchError::Other("no commitments pallet"))
	}

	fn aggregate_deposit(_: u32) -> Balance {
		Balance::default()
	}

	fn commit_aggregate_weight(_: u32, _: u32) -> frame_support::weights::Weight {
		frame_support::weights::Weight::zero()
	}
}
