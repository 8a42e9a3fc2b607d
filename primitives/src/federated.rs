//! Federated training: what pallet-federated stores and its runtime API
//! returns, and what a compute agent, the pallet and an auditor must
//! compute alike (the report a node signs, the update hash, the average).

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::{FixedU64, Perbill};

use crate::{
	consent::{ConsentDenied, PrivacyBudget, Purpose},
	datasets::AccessDenied,
	did::DidId,
};

pub use crate::commitments::JobId;

/// How many of a model parameter's 32 bits are fraction: parameters are
/// `i32` in units of 2⁻¹⁶ (about 1.5 × 10⁻⁵), from −32768 to 32768.
pub const FRACTION_BITS: u32 = 16;

/// The keystore key type of an institution's report key: the sr25519 key,
/// registered as `capabilityInvocation` on the institution's DID, with
/// which its node's off-chain worker signs acceptances and reports.
pub const REPORT_KEY_TYPE: [u8; 4] = *b"twfd";

/// The persistent offchain-storage key of a node's compute agent's base
/// URL, and the prefix of an institution's own ([`institution_setting`]).
pub const AGENT_URL_KEY: &[u8] = b"twinnet/federated/agent-url";
/// The persistent offchain-storage key of the token of the agent at
/// [`AGENT_URL_KEY`], and the prefix of an institution's own agent's token.
pub const AGENT_TOKEN_KEY: &[u8] = b"twinnet/federated/agent-token";

/// The offchain-storage key of `institution`'s own value of the node
/// setting `prefix` ([`AGENT_URL_KEY`] or [`AGENT_TOKEN_KEY`]): the prefix,
/// `/` and the institution's DID. It comes before the node's own.
pub fn institution_setting(prefix: &[u8], institution: &DidId) -> Vec<u8> {
	let mut key = prefix.to_vec();
	key.push(b'/');
	key.extend_from_slice(crate::did::format_did(institution).as_bytes());
	key
}

/// The domain tag of the message a node signs to report an update.
pub const REPORT_CONTEXT: &[u8; 15] = b"twinnet/report:";

/// The most local DP-SGD steps one round of a job may ask for: TwinNet's
/// runtime's `MaxLocalSteps`, and the most its compute agent trains. Each
/// step draws every record, while under a huge noise multiplier the steps
/// barely add to the privacy cost: without a bound a job could ask agents
/// for hours of work a round for almost no ε.
pub const MAX_LOCAL_STEPS: u32 = 1_000;

/// The model a job trains; its parameters are a flat vector of fixed-point
/// numbers in the order the compute agent documents (weights row by row,
/// then biases, layer by layer).
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
pub enum ModelKind {
	/// Binary logistic regression on `features` inputs: `features` weights
	/// and one bias.
	LogisticRegression {
		/// Input features.
		features: u32,
	},
	/// A binary classifier with one hidden layer of `hidden` ReLU units:
	/// `features × hidden + hidden` parameters in, `hidden + 1` out.
	Mlp {
		/// Input features.
		features: u32,
		/// Hidden units.
		hidden: u32,
	},
}

impl ModelKind {
	/// How many parameters the model has, or `None` if that overflows.
	pub fn parameters(&self) -> Option<u32> {
		match *self {
			Self::LogisticRegression { features } => features.checked_add(1),
			Self::Mlp { features, hidden } => {
				features.checked_add(2)?.checked_mul(hidden)?.checked_add(1)
			},
		}
	}
}

/// The DP-SGD settings every institution's agent trains with in each round.
/// The per-round privacy cost of a job follows from them (with the
/// agent's accountant); the chain stores them so that an auditor can
/// recompute it.
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
pub struct Training {
	/// The SGD step size.
	pub learning_rate: FixedU64,
	/// SGD steps per round.
	pub local_steps: u32,
	/// The L2 norm each example's gradient is clipped to.
	pub clip_norm: FixedU64,
	/// The Gaussian noise's standard deviation, as a multiple of the clip norm.
	pub noise_multiplier: FixedU64,
	/// The probability with which each record is in a step's batch (Poisson sampling).
	pub sampling_rate: Perbill,
}

/// Why a job failed.
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
pub enum FailureReason {
	/// More rounds in a row than its `max_retries` released nothing.
	QuorumNotReached,
	/// The researcher could not pay the deposit of a round's records.
	DepositUnavailable,
}

/// Where a job is in its life.
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
pub enum JobState<BlockNumber> {
	/// Waiting for its next round to open (at the next block).
	Pending,
	/// Round `round` is opening: the cohorts of its first `admitted`
	/// participants are in; more follow each block.
	Opening {
		/// The round.
		round: u32,
		/// How many participants' cohorts are in.
		admitted: u32,
	},
	/// Round `round` is open for reports until `deadline` (inclusive).
	Running {
		/// The open round.
		round: u32,
		/// The last block a report is accepted in.
		deadline: BlockNumber,
	},
	/// All its rounds released an aggregate.
	Completed,
	/// It ended without completing.
	Failed(FailureReason),
	/// Its researcher cancelled it.
	Cancelled,
	/// Masked round `round` closed for reports with some expected
	/// institutions missing: its survivors reveal the pair seeds they share
	/// with the dropped ones until `deadline` (inclusive). (Last, so that
	/// the states before it keep their storage encoding.)
	Recovering {
		/// The round.
		round: u32,
		/// The last block a reveal is accepted in.
		deadline: BlockNumber,
	},
}

impl<BlockNumber> JobState<BlockNumber> {
	/// Whether the job has ended.
	pub fn is_final(&self) -> bool {
		matches!(self, Self::Completed | Self::Failed(_) | Self::Cancelled)
	}
}

/// How one institution's cohort stood when a round opened.
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
pub enum CohortStatus {
	/// Its institution accepted the round: its admitted twins' budgets are
	/// reserved, and it is expected to report.
	Admitted,
	/// The dataset may not be used now (licence, allow-list, floor, state).
	AccessDenied(AccessDenied),
	/// Fewer twins than the dataset's k-anonymity floor could be charged:
	/// it sits the round out and nothing is charged.
	BelowFloor,
	/// The job is masked and the institution's DID had no X25519
	/// `keyAgreement` key when the round opened: it sits the round out and
	/// nothing is charged.
	NoAgreementKey,
	/// The round offers it the twins whose consent pays the round's budget
	/// now, none of them reserved yet: its institution's node accepts it
	/// (`accept_cohort`) once its agent has trained, which reserves them,
	/// and only then may report. A round nobody accepts holds no budget.
	Offered,
	/// When its institution accepted the round, a twin's consent no longer
	/// paid for it (revoked, expired, or its budget taken by another round
	/// since the offer): it sits the round out, nothing is charged, and the
	/// refused twins are in its `excluded` list.
	Lapsed,
}

impl CohortStatus {
	/// Whether the cohort takes part in the round: offered or admitted.
	pub fn takes_part(&self) -> bool {
		matches!(self, Self::Offered | Self::Admitted)
	}
}

/// How a round ended.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub enum RoundOutcome {
	/// It is open.
	Open,
	/// It released an aggregate: the next global model.
	Aggregated {
		/// The blake2-256 hash of the SCALE-encoded aggregate parameters.
		aggregate_hash: H256,
		/// The `twinnet-merkle` root of the reports' update hashes, in
		/// participant order.
		update_root: H256,
		/// The records the aggregate is weighted over.
		records: u64,
	},
	/// Too few reports came (or too few cohorts were admitted): no
	/// aggregate was released; the reporters' cohorts were charged (their
	/// updates are public) and every other reservation was returned.
	NoQuorum,
	/// The job was cancelled while the round was open: the reporters'
	/// cohorts were charged and the reporters paid, every other reservation
	/// returned. Only in records from before a cancel let the open round
	/// close as usual; kept so that they decode.
	Cancelled,
	/// A masked round's survivors did not all reveal their seeds with the
	/// dropped institutions by the recovery deadline: no aggregate; the
	/// reporters' cohorts were charged, every other reservation returned.
	RecoveryFailed,
}

/// A job's secure aggregation: each report carries the records-weighted
/// update, clamped to `±update_bound` per parameter (fixed point, as the
/// parameters), masked with the pairwise masks of the round's institutions
/// (`twinnet-secagg`), so the chain learns only the round's sum.
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
pub struct Masking {
	/// The largest change of one parameter in one round that a report
	/// carries (larger ones are clamped), in units of 2⁻¹⁶.
	pub update_bound: u32,
}

/// A masked round's secure-aggregation record, as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct MaskedRoundView<BlockNumber> {
	/// Each expected institution's X25519 `keyAgreement` key when the
	/// round opened, in participant order: the keys the seeds come from.
	pub agreement_keys: Vec<(DidId, [u8; 32])>,
	/// The expected institutions that did not report by the deadline.
	pub dropped: Vec<DidId>,
	/// The survivors that revealed their seeds with the dropped ones.
	pub revealed: Vec<DidId>,
	/// The last block a reveal is accepted in, once recovery started.
	pub recovery_deadline: Option<BlockNumber>,
	/// The blake2-256 hash of the SCALE-encoded sum of the masked reports
	/// (`Vec<u32>`), once the round closed with reports.
	pub masked_sum_hash: Option<H256>,
}

/// The blake2-256 hash of the SCALE encoding of `parameters`: an update's
/// leaf in its round's update root, and an aggregate's hash.
pub fn update_hash(parameters: &[i32]) -> H256 {
	H256(sp_io::hashing::blake2_256(&parameters.encode()))
}

/// The blake2-256 hash of the SCALE encoding of a masked update (ring
/// elements): its leaf in its round's update root; of a masked sum, the
/// round's `masked_sum_hash`.
pub fn masked_hash(masked: &[u32]) -> H256 {
	H256(sp_io::hashing::blake2_256(&masked.encode()))
}

/// The domain tag of the message a node signs to accept a round's cohort.
pub const ACCEPT_CONTEXT: &[u8; 15] = b"twinnet/accept:";

/// The message an institution's node signs, with a `capabilityInvocation`
/// key of the institution's DID, to accept the cohort a round offers it
/// (its agent trained on it and will report): [`ACCEPT_CONTEXT`] followed
/// by the SCALE encoding of (genesis hash, job, round, opening block,
/// institution). The opening block binds it to the cohort as offered on
/// this fork.
pub fn accept_message(
	genesis: H256,
	job: JobId,
	round: u32,
	opening_block: H256,
	institution: &DidId,
) -> Vec<u8> {
	let mut message = ACCEPT_CONTEXT.to_vec();
	(genesis, job, round, opening_block, institution).encode_to(&mut message);
	message
}

/// The domain tag of the message a node signs to reveal pair seeds.
pub const REVEAL_CONTEXT: &[u8; 15] = b"twinnet/reveal:";

/// The message a survivor's node signs, with a `capabilityInvocation` key
/// of its institution's DID, to reveal the seeds it shares with a masked
/// round's dropped institutions: [`REVEAL_CONTEXT`] followed by the SCALE
/// encoding of (genesis hash, job, round, opening block, institution,
/// seeds), the seeds as (dropped institution, seed) pairs in the round's
/// `dropped` order.
pub fn reveal_message(
	genesis: H256,
	job: JobId,
	round: u32,
	opening_block: H256,
	institution: &DidId,
	seeds: &[(DidId, [u8; 32])],
) -> Vec<u8> {
	let mut message = REVEAL_CONTEXT.to_vec();
	(genesis, job, round, opening_block, institution, seeds).encode_to(&mut message);
	message
}

/// The message an institution's node signs, with a `capabilityInvocation`
/// key of the institution's DID, to report an update: [`REPORT_CONTEXT`]
/// followed by the SCALE encoding of (genesis hash, job, round, opening
/// block, institution, records, update hash). The genesis hash stops a
/// replay on another chain, the job and round one into another round, and
/// the opening block (the round record's `opening_block`) one into the
/// same round as it opened on another fork, with other cohorts.
pub fn report_message(
	genesis: H256,
	job: JobId,
	round: u32,
	opening_block: H256,
	institution: &DidId,
	records: u32,
	update: H256,
) -> Vec<u8> {
	let mut message = REPORT_CONTEXT.to_vec();
	(genesis, job, round, opening_block, institution, records, update).encode_to(&mut message);
	message
}

/// Federated averaging in fixed point: the mean of `updates`' parameters
/// weighted by their record counts, each parameter rounded to the nearest
/// unit (halves away from zero). `None` if there is no update, no record,
/// or the updates differ in length. Exact in integers: no intermediate can
/// overflow `i128` (≤ 2³² records × 2³¹ per parameter × 2⁸ updates).
pub fn fed_avg<'a>(updates: impl IntoIterator<Item = (u32, &'a [i32])>) -> Option<Vec<i32>> {
	let mut sums: Option<Vec<i128>> = None;
	let mut total: i128 = 0;
	for (records, parameters) in updates {
		let sums = sums.get_or_insert_with(|| alloc::vec![0; parameters.len()]);
		if parameters.len() != sums.len() {
			return None;
		}
		let weight = i128::from(records);
		total = total.checked_add(weight)?;
		for (sum, parameter) in sums.iter_mut().zip(parameters) {
			*sum = sum.checked_add(weight.checked_mul(i128::from(*parameter))?)?;
		}
	}
	if total == 0 {
		return None;
	}
	sums?.into_iter().map(|sum| rounded_div(sum, total)).collect()
}

/// Federated averaging from what secure aggregation reveals, the sum of
/// the reports' weighted updates: per parameter `(R·s + Σ nₖ·Δₖ) / R`, with
/// `s` the round's starting model, `Δₖ` report k's update (its model minus
/// `s`), `nₖ` its records and `R = Σ nₖ`, rounded as [`fed_avg`] rounds.
/// When every report's model is `s + Δₖ`, this is [`fed_avg`] of the
/// models to the bit. `None` if there is no record or the lengths differ.
pub fn fed_avg_of_sum(start: &[i32], weighted_sum: &[i32], records: u64) -> Option<Vec<i32>> {
	if start.len() != weighted_sum.len() || records == 0 {
		return None;
	}
	let total = i128::from(records);
	start
		.iter()
		.zip(weighted_sum)
		.map(|(start, sum)| {
			rounded_div(
				i128::from(*start).checked_mul(total)?.checked_add(i128::from(*sum))?,
				total,
			)
		})
		.collect()
}

/// `numerator / denominator` (positive) rounded to the nearest integer,
/// halves away from zero, as an `i32` (saturating).
fn rounded_div(numerator: i128, denominator: i128) -> Option<i32> {
	let half = denominator.checked_div(2)?;
	let biased =
		if numerator < 0 { numerator.checked_sub(half)? } else { numerator.checked_add(half)? };
	let quotient = biased.checked_div(denominator)?;
	Some(i32::try_from(quotient).unwrap_or(if quotient < 0 { i32::MIN } else { i32::MAX }))
}

/// A job as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct JobView<AccountId, Balance, BlockNumber> {
	/// Its id.
	pub id: JobId,
	/// Who posted it.
	pub researcher: AccountId,
	/// The model trained.
	pub model: ModelKind,
	/// The model's `Model` DID, if any.
	pub model_did: Option<DidId>,
	/// The hash of the training code.
	pub code_hash: H256,
	/// Why the data is used.
	pub purpose: Purpose,
	/// The participating institutions and their datasets, in order.
	pub participants: Vec<ParticipantView<AccountId>>,
	/// The rounds whose aggregate is released.
	pub rounds: u32,
	/// The fewest reports a round needs.
	pub min_participants: u32,
	/// How many blocks a round stays open.
	pub round_timeout: BlockNumber,
	/// How many rounds in a row may release nothing.
	pub max_retries: u32,
	/// The DP-SGD settings.
	pub training: Training,
	/// The privacy cost of one round to each twin used.
	pub per_round: PrivacyBudget,
	/// The reward per accepted update.
	pub reward_per_update: Balance,
	/// Its secure aggregation, if its reports are masked.
	pub masking: Option<Masking>,
	/// Where it is in its life.
	pub state: JobState<BlockNumber>,
	/// The next round's number.
	pub next_round: u32,
	/// Rounds that released an aggregate.
	pub completed_rounds: u32,
	/// The rewards still in escrow.
	pub escrow: Balance,
	/// The deposit held for its records.
	pub deposit: Balance,
	/// The block it was posted in.
	pub created_at: BlockNumber,
}

/// A participant of a job, as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct ParticipantView<AccountId> {
	/// The institution.
	pub institution: DidId,
	/// Its dataset.
	pub dataset: DidId,
	/// Who is paid its rewards.
	pub payee: AccountId,
}

/// A round's proof record as the runtime API returns it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct RoundView<BlockNumber> {
	/// The job.
	pub job: JobId,
	/// The round.
	pub round: u32,
	/// The block it opened in.
	pub opened_at: BlockNumber,
	/// The hash of the block before the one it opened in: reports, reveals
	/// and a masked round's pair seeds are bound to it, so nothing made for
	/// the round as it opened on another fork is accepted.
	pub opening_block: H256,
	/// The last block a report is accepted in.
	pub deadline: BlockNumber,
	/// The hash of the model it started from (zero for the first round).
	pub start_model: H256,
	/// The institutions expected to report.
	pub expected: Vec<DidId>,
	/// The institutions that reported (filled when the round closes).
	pub reporters: Vec<DidId>,
	/// The twins charged, over all cohorts.
	pub admitted_twins: u32,
	/// The twins consent refused, over all cohorts.
	pub excluded_twins: u32,
	/// How it ended, or that it is open.
	pub outcome: RoundOutcome,
	/// Each participant's cohort.
	pub cohorts: Vec<CohortView>,
	/// The `AggregatedModel` commitment of its aggregate, if there is one.
	pub commitment: Option<u64>,
	/// Its secure-aggregation record, if the job's reports are masked.
	pub masking: Option<MaskedRoundView<BlockNumber>>,
}

/// One participant's cohort in a round, as the runtime API returns it:
/// what its compute agent may train on.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct CohortView {
	/// The institution.
	pub institution: DidId,
	/// Whether it takes part.
	pub status: CohortStatus,
	/// The twins whose rows the round may use (budgets charged), sorted.
	pub admitted: Vec<DidId>,
	/// The twins consent refused, and why.
	pub excluded: Vec<(DidId, ConsentDenied)>,
	/// Whether it has reported (while the round is open), or reported
	/// before the round closed: its update was published and its admitted
	/// twins charged, whether or not an aggregate followed.
	pub reported: bool,
}

/// Whether a twin's rows were used in a job round, and the evidence.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum TwinUsage {
	/// Its rows were used: its institution reported, so its noised update
	/// was published, and `charged` was spent from its consent budget. The
	/// round released `aggregate_hash`, or zero if it released no
	/// aggregate (no quorum, or the job was cancelled).
	Used {
		/// The institution whose cohort it was in.
		institution: DidId,
		/// The privacy budget spent.
		charged: PrivacyBudget,
		/// The hash of the aggregate it contributed to (zero: none).
		aggregate_hash: H256,
	},
	/// It is admitted to the open round (its budget reserved).
	Admitted {
		/// The institution whose cohort it is in.
		institution: DidId,
	},
	/// It was admitted, but its institution did not report: nothing of its
	/// cohort was released and its budget returned.
	NotUsed {
		/// The institution whose cohort it was in.
		institution: DidId,
	},
	/// Consent refused it for the round: nothing was charged.
	Excluded {
		/// The institution whose dataset lists it.
		institution: DidId,
		/// Why.
		reason: ConsentDenied,
	},
	/// It is in no cohort of the round (or the round does not exist).
	NotInRound,
	/// The open round offers it to its institution, which has not accepted
	/// yet: nothing is reserved.
	Offered {
		/// The institution whose cohort it is in.
		institution: DidId,
	},
}
