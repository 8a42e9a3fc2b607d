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
	/// The reporting institution.
	pub institution: DidId,
	/// How many records the update was trained on (at most the admitted
	/// cohort): its weight in the average.
	pub records: u32,
	/// The locally trained model's parameters after the round (the round's
	/// starting model plus its clipped, noised update), fixed point.
	pub parameters: BoundedVec<i32, MaxParameters>,
}

impl<MaxParameters: Get<u32>> Report<MaxParameters> {
	/// The blake2-256 hash of the SCALE-encoded parameters: the leaf of the
	/// round's update root.
	pub fn update_hash(&self) -> H256 {
		update_hash(&self.parameters)
	}

	/// The message the reporting node signs ([`report_message`]).
	pub fn message(&self, genesis: H256) -> Vec<u8> {
		report_message(
			genesis,
			self.job,
			self.round,
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
	/// The parameters.
	pub parameters: BoundedVec<i32, MaxParameters>,
}
