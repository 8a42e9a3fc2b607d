//! The records of pallet-federated: job specifications, jobs, rounds,
//! cohorts and reports, and the fixed-point arithmetic of aggregation.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound};
use scale_info::TypeInfo;
use sp_core::{Get, H256};
pub use twinnet_primitives::federated::*;
use twinnet_primitives::{
	commitments::CommitmentId,
	consent::{ConsentDenied, PrivacyBudget, Purpose},
	datasets::LicenceId,
	did::DidId,
};

/// A dataset a job trains on, under one of the researcher's compute licences.
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
pub struct DatasetLicence {
	/// The dataset's DID.
	pub dataset: DidId,
	/// The researcher's compute licence of it.
	pub licence: LicenceId,
}

/// What a researcher posts: the computation, the data, the rounds, the
/// privacy cost and the pay.
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
#[scale_info(skip_type_params(MaxDatasets))]
pub struct JobSpec<Balance, BlockNumber, MaxDatasets: Get<u32>>
where
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// The model trained.
	pub model: ModelKind,
	/// The model's `Model` DID, controlled by the researcher, if it has
	/// one (grants bound to a model cover only its jobs).
	pub model_did: Option<DidId>,
	/// The datasets, each of another institution: the institutions that
	/// take part.
	pub datasets: BoundedVec<DatasetLicence, MaxDatasets>,
	/// The hash of the training code (the compute agent's job code); on
	/// every dataset's allow-list.
	pub code_hash: H256,
	/// Why the data is used; every licence is for it.
	pub purpose: Purpose,
	/// The rounds whose aggregate is released.
	pub rounds: u32,
	/// The fewest reports a round needs to release an aggregate.
	pub min_participants: u32,
	/// How many blocks a round stays open for reports.
	pub round_timeout: BlockNumber,
	/// How many rounds in a row may release nothing before the job fails.
	pub max_retries: u32,
	/// The DP-SGD settings.
	pub training: Training,
	/// The privacy cost of one round to each twin whose rows it uses,
	/// charged to the twin's consent budget when the round opens.
	pub per_round: PrivacyBudget,
	/// What each accepted (aggregated) update earns its institution.
	pub reward_per_update: Balance,
	/// Secure aggregation: if set, reports are masked and the chain learns
	/// only each round's sum.
	pub masking: Option<Masking>,
}

/// An institution taking part in a job.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Participant<AccountId> {
	/// The institution's DID: its nodes sign its reports.
	pub institution: DidId,
	/// Its dataset the job trains on.
	pub dataset: DidId,
	/// The researcher's licence of that dataset.
	pub licence: LicenceId,
	/// Who is paid its rewards (the dataset's publisher).
	pub payee: AccountId,
}

/// A posted job.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxDatasets))]
pub struct Job<AccountId, Balance, BlockNumber, MaxDatasets: Get<u32>>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Who posted it (holds its escrow and deposit, holds the licences).
	pub researcher: AccountId,
	/// What it computes.
	pub spec: JobSpec<Balance, BlockNumber, MaxDatasets>,
	/// The institutions taking part, one per dataset, in the spec's order.
	pub participants: BoundedVec<Participant<AccountId>, MaxDatasets>,
	/// Where it is in its life.
	pub state: JobState<BlockNumber>,
	/// The next round's number (rounds that released nothing count too).
	pub next_round: u32,
	/// Rounds that released an aggregate.
	pub completed_rounds: u32,
	/// Rounds in a row that released nothing.
	pub failed_in_a_row: u32,
	/// The rewards still held in escrow.
	pub escrow: Balance,
	/// The deposit held for its records.
	pub deposit: Balance,
	/// The block it was posted in.
	pub created_at: BlockNumber,
	/// The commitment of the latest released aggregate, which the next
	/// one links to (none without a Model DID or before any).
	pub last_commitment: Option<CommitmentId>,
}

/// The twins of one institution in one round.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxCohort))]
pub struct Cohort<MaxCohort: Get<u32>> {
	/// Whether it takes part.
	pub status: CohortStatus,
	/// The twins whose rows the round may use (their budgets charged), sorted.
	pub admitted: BoundedVec<DidId, MaxCohort>,
	/// The twins the dataset lists as usable that consent refused, and why.
	pub excluded: BoundedVec<(DidId, ConsentDenied), MaxCohort>,
}

/// The proof record of one round: what an auditor needs to check it.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxDatasets))]
pub struct Round<BlockNumber, MaxDatasets: Get<u32>>
where
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// The block it opened in.
	pub opened_at: BlockNumber,
	/// The hash of the block before the one it opened in. Reports, reveals
	/// and a masked round's pair seeds are bound to it: nothing made for
	/// the round as it opened on another fork (with other cohorts, or
	/// other seeds) is accepted.
	pub opening_block: H256,
	/// The last block a report is accepted in.
	pub deadline: BlockNumber,
	/// The hash of the global model it starts from (of the previous
	/// aggregate; zero for the first round).
	pub start_model: H256,
	/// The institutions expected to report (admitted cohorts).
	pub expected: BoundedVec<DidId, MaxDatasets>,
	/// The institutions that reported, in participant order.
	pub reporters: BoundedVec<DidId, MaxDatasets>,
	/// The twins whose budgets were charged, over all cohorts.
	pub admitted_twins: u32,
	/// The twins consent refused, over all cohorts.
	pub excluded_twins: u32,
	/// How it ended.
	pub outcome: RoundOutcome,
	/// The `AggregatedModel` commitment of its aggregate, if the job names
	/// a Model DID and the commitment could be made.
	pub commitment: Option<CommitmentId>,
	/// Its secure-aggregation record, if the job's reports are masked.
	pub masking: Option<MaskedRound<BlockNumber, MaxDatasets>>,
}

/// The secure-aggregation record of a masked round.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxDatasets))]
pub struct MaskedRound<BlockNumber, MaxDatasets: Get<u32>>
where
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Each expected institution's X25519 `keyAgreement` key when the
	/// round opened, in participant order.
	pub agreement_keys: BoundedVec<(DidId, [u8; 32]), MaxDatasets>,
	/// The expected institutions that did not report by the deadline.
	pub dropped: BoundedVec<DidId, MaxDatasets>,
	/// The survivors that revealed their seeds with the dropped ones, in
	/// the order they did.
	pub revealed: BoundedVec<DidId, MaxDatasets>,
	/// The last block a survivor's reveal is accepted in, once recovery
	/// started.
	pub recovery_deadline: Option<BlockNumber>,
	/// The hash of the sum of the masked reports, once the round closed
	/// with reports ([`masked_hash`]).
	pub masked_sum_hash: Option<H256>,
}

impl<BlockNumber, MaxDatasets: Get<u32>> MaskedRound<BlockNumber, MaxDatasets>
where
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// The X25519 key `institution` had when the round opened.
	pub fn agreement_key(&self, institution: &DidId) -> Option<[u8; 32]> {
		self.agreement_keys
			.iter()
			.find(|(did, _)| did == institution)
			.map(|(_, key)| *key)
	}
}

/// What a report carries: the local model (plain jobs) or the masked,
/// records-weighted update (masked jobs).
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
#[scale_info(skip_type_params(MaxParameters))]
pub enum Contribution<MaxParameters: Get<u32>> {
	/// The locally trained model's parameters after the round (the round's
	/// starting model plus its clipped, noised update), fixed point.
	Model(BoundedVec<i32, MaxParameters>),
	/// `records × clamp(model − start, ±update_bound)` per parameter, in
	/// the ring ℤ/2³², plus the institution's pairwise masks of the round.
	Masked(BoundedVec<u32, MaxParameters>),
}

impl<MaxParameters: Get<u32>> Contribution<MaxParameters> {
	/// How many parameters it covers.
	pub fn len(&self) -> usize {
		match self {
			Self::Model(parameters) => parameters.len(),
			Self::Masked(masked) => masked.len(),
		}
	}

	/// Whether it covers no parameter.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Whether it is masked.
	pub fn is_masked(&self) -> bool {
		matches!(self, Self::Masked(_))
	}

	/// Its leaf in the round's update root: [`update_hash`] of a model,
	/// [`masked_hash`] of a masked update.
	pub fn hash(&self) -> H256 {
		match self {
			Self::Model(parameters) => update_hash(parameters),
			Self::Masked(masked) => masked_hash(masked),
		}
	}
}

/// One institution's update in one round.
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
#[scale_info(skip_type_params(MaxParameters))]
pub struct Report<MaxParameters: Get<u32>> {
	/// The job.
	pub job: JobId,
	/// The round.
	pub round: u32,
	/// The round record's `opening_block` as the reporting node saw it,
	/// which the agent trained for.
	pub opening_block: H256,
	/// The reporting institution.
	pub institution: DidId,
	/// How many records the update was trained on (at most the admitted
	/// cohort): its weight in the average.
	pub records: u32,
	/// The update: a model, or a masked update if the job is masked.
	pub update: Contribution<MaxParameters>,
}

impl<MaxParameters: Get<u32>> Report<MaxParameters> {
	/// The hash of the update ([`Contribution::hash`]): the leaf of the
	/// round's update root.
	pub fn update_hash(&self) -> H256 {
		self.update.hash()
	}

	/// The message the reporting node signs ([`report_message`]).
	pub fn message(&self, genesis: H256) -> Vec<u8> {
		report_message(
			genesis,
			self.job,
			self.round,
			self.opening_block,
			&self.institution,
			self.records,
			self.update_hash(),
		)
	}
}

/// A stored update, until its round ends.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(MaxParameters))]
pub struct Update<MaxParameters: Get<u32>> {
	/// Its weight in the average.
	pub records: u32,
	/// The update.
	pub update: Contribution<MaxParameters>,
}

/// A survivor's reveal, in a masked round's recovery, of the pair seeds it
/// shares with the round's dropped institutions.
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
#[scale_info(skip_type_params(MaxDatasets))]
pub struct Reveal<MaxDatasets: Get<u32>> {
	/// The job.
	pub job: JobId,
	/// The round.
	pub round: u32,
	/// The round record's `opening_block`, from which the seeds were derived.
	pub opening_block: H256,
	/// The survivor.
	pub institution: DidId,
	/// (dropped institution, the seed the survivor shares with it for the
	/// round), in the round's `dropped` order.
	pub seeds: BoundedVec<(DidId, [u8; 32]), MaxDatasets>,
}

impl<MaxDatasets: Get<u32>> Reveal<MaxDatasets> {
	/// The message the survivor's node signs ([`reveal_message`]).
	pub fn message(&self, genesis: H256) -> Vec<u8> {
		reveal_message(
			genesis,
			self.job,
			self.round,
			self.opening_block,
			&self.institution,
			&self.seeds,
		)
	}
}

/// An institution's acceptance of the cohort a round offers it: its node
/// sends it once its agent has trained on the cohort and is ready to
/// report; the chain then reserves the cohort's budgets.
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
pub struct Acceptance {
	/// The job.
	pub job: JobId,
	/// The round.
	pub round: u32,
	/// The round record's `opening_block`: the cohort as offered on this fork.
	pub opening_block: H256,
	/// The accepting institution.
	pub institution: DidId,
}

impl Acceptance {
	/// The message the accepting node signs ([`accept_message`]).
	pub fn message(&self, genesis: H256) -> Vec<u8> {
		accept_message(genesis, self.job, self.round, self.opening_block, &self.institution)
	}
}
