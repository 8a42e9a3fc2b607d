//! # pallet-federated: federated training jobs with a per-patient privacy ledger
//!
//! A researcher trains a model on data that never leaves the institutions
//! holding it. Each institution's node hands a round to its compute agent,
//! which trains on the rows of the twins the chain admitted for that round
//! only, clips and noises the update (DP-SGD), and reports it; the chain
//! charges every admitted twin's privacy budget, averages the reports and
//! keeps a proof record of each round.
//!
//! ## Flows
//!
//! - **Post**: [`Pallet::create_job`], signed by the researcher: the model
//!   (logistic regression or a one-hidden-layer MLP, at most
//!   [`Config::MaxParameters`] fixed-point parameters), the datasets
//!   (each under one of the researcher's compute licences, each of a
//!   different institution: the participants), the training code's hash
//!   (on every dataset's allow-list), the purpose, the rounds, the quorum
//!   (`min_participants`), the round timeout, how many rounds in a row may
//!   fail, the DP-SGD settings and the per-round (ε, δ) they cost each twin,
//!   and the reward per accepted update. The rewards of every round are
//!   held in escrow, and a deposit for the job's records
//!   ([`HoldReason::JobEscrow`], [`HoldReason::JobDeposit`]).
//! - **Open a round** (in `on_initialize`, the block after the job was
//!   posted or its last round ended): for each participant, the datasets
//!   pallet says which twins' rows may be used now
//!   ([`DatasetAccess::can_compute`]: licence, allow-list, custody, consent,
//!   one twin per patient, the k-anonymity floor); those whose consent to
//!   the institution can pay the round's budget now, for this job round,
//!   model and code ([`ConsentLedger::check_spend`]), are *offered* to the
//!   institution ([`CohortStatus::Offered`]): nothing is reserved yet. Twins
//!   whose consent refuses (revoked, expired, out of budget, bound to
//!   another job) are excluded from this round with the reason (event
//!   `TwinsExcluded`, and in the cohort record); a cohort left below its
//!   dataset's floor sits the round out and is charged nothing. A
//!   revocation thus excludes a twin from the very next round.
//! - **Accept**: [`Pallet::accept_cohort`], an authorized transaction from
//!   the institution's node once its agent trained on the offered cohort,
//!   signed as a report is: reserves the round's budget on every twin of
//!   the cohort through [`ConsentLedger::reserve`], all or none (the update
//!   used every offered row): if one twin can no longer pay, the cohort
//!   lapses ([`CohortStatus::Lapsed`]), nothing is reserved and its update
//!   is never published. Budgets are thus held only between an acceptance
//!   and the round's close, for rounds an agent trained: a job no agent
//!   trains (a model the agents refuse, no agent) holds nobody's budget.
//! - **Report**: [`Pallet::submit_update`], an authorized (unsigned, fee-less)
//!   transaction from the institution's node: one report per accepted
//!   cohort per round, with the locally trained parameters and the
//!   records used (at most the admitted cohort, its weight in the average),
//!   signed by a `capabilityInvocation` key of the institution's DID over
//!   the genesis hash, job, round, institution, records and update hash.
//!   Stale, early, duplicate, oversized or badly signed reports are refused
//!   by the transaction pool, and again at dispatch.
//! - **Close a round** (in `on_initialize`, after its deadline or once every
//!   admitted institution reported): with at least `min_participants`
//!   reports, the aggregate is the records-weighted average of the reports
//!   in fixed point ([`fed_avg`]), stored as the job's model that the next
//!   round starts from; reporters' cohorts are charged for good
//!   ([`Settlement::Spend`]), stragglers are dropped and their cohorts'
//!   reservations returned; each reporter's institution is paid its reward
//!   from escrow. With fewer, no aggregate is released and no reward paid;
//!   every reservation is returned but the reporters' (their noised updates
//!   are public in their transactions: a reporter's cohort is always
//!   charged); after more than `max_retries` such rounds in a row the job
//!   fails. When all its rounds are aggregated the job completes and the
//!   rest of the escrow returns to the researcher.
//! - **Cancel a job** ([`Pallet::cancel_job`], its researcher): a job with
//!   no open round ends at once. One whose round is open ends when that
//!   round closes, as usual (at its deadline, or once every admitted
//!   institution reported; a masked one after its recovery): reports are
//!   gossiped before they are included, so one the researcher may have read
//!   is still taken, its cohort charged and its institution paid. The job
//!   then ends as cancelled instead of opening its next round
//!   ([`CancelRequested`]), and the rest of the escrow returns.
//!
//! ## Proof record
//!
//! Each round's record ([`Rounds`]) holds the model it started from (hash),
//! the expected institutions, the reporters, the twins admitted and
//! excluded, and the outcome: the aggregate's hash, the `twinnet-merkle`
//! root of the reports' update hashes and the records weighted over. With
//! the job's DP settings and per-round (ε, δ), an auditor can recompute
//! what each twin was charged; with the cohorts ([`Cohorts`]) whether a
//! twin's rows were used in a round.
//!
//! ## Bounded work
//!
//! At most [`Config::MaxActiveJobs`] jobs run at once, each with one entry
//! in the [`Agenda`]; `on_initialize` reads the agenda and takes at most
//! [`Config::MaxStepsPerBlock`] due steps (an opening or a closing, each
//! bounded by the job's participants, [`Config::MaxCohort`] and
//! [`Config::MaxParameters`]); later steps wait for the next block.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
pub mod offchain;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use weights::WeightInfo;

/// The root of the Merkle tree (`twinnet-merkle`) whose leaves are a round's
/// update hashes in reporting order: the round's `update_root`, and the root
/// of its `AggregatedModel` commitment, which stores the same leaves (zero
/// for no update).
pub fn update_root(updates: &[sp_core::H256]) -> sp_core::H256 {
	let leaves: alloc::vec::Vec<[u8; 32]> = updates
		.iter()
		.map(|update| twinnet_merkle::leaf_hash(update.as_bytes()))
		.collect();
	twinnet_merkle::root_of_hashes(&leaves).map(sp_core::H256).unwrap_or_default()
}

/// Creates what the benchmarks need from the pallets this one relies on.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// A dataset of a new institution, with `contributors` consenting twins
	/// and the code `code_hash` allowed, and a compute licence of it for
	/// `researcher` for `ModelTraining`: (dataset, licence, institution).
	fn licensed_dataset(
		researcher: &AccountId,
		seed: u32,
		contributors: u32,
		code_hash: sp_core::H256,
	) -> (
		twinnet_primitives::did::DidId,
		twinnet_primitives::datasets::LicenceId,
		twinnet_primitives::did::DidId,
	);

	/// Registers the sr25519 key of `seed` as a `capabilityInvocation` key
	/// of `institution` and signs `message` with it.
	fn sign_as(
		institution: &twinnet_primitives::did::DidId,
		seed: u32,
		message: &[u8],
	) -> twinnet_primitives::did::DidSignature;
}

// FRAME's pallet macros expand to `expect` on values they build themselves
// (storage prefixes, error and constant metadata); hand-written code here uses
// neither `expect` nor `unwrap`.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use alloc::{boxed::Box, vec::Vec};
	use codec::{Decode, Encode};
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{self, InspectHold as _, MutateHold as _},
			tokens::{Fortitude, Precision, Restriction},
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::traits::{CheckedMul, One, Saturating, UniqueSaturatedInto, Zero};
	use twinnet_primitives::{
		commitments::{CommitmentId, Input, RoundAggregate, RoundCommitments},
		consent::{Access, Computation, ConsentLedger, Grantee, JobRound, Scope, Settlement},
		datasets::{AccessDenied, DatasetAccess},
		deposit::release,
		did::{DidId, DidSignature, PublicKey, Relationship, SubjectKind},
		repeats_earlier,
		traits::DidRegistry,
	};

	/// The balance type of the currency.
	pub type BalanceOf<T> = <<T as Config>::Currency as fungible::Inspect<
		<T as frame_system::Config>::AccountId,
	>>::Balance;

	/// A job specification of this runtime.
	pub type JobSpecOf<T> = JobSpec<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::MaxDatasets>;

	/// A job record of this runtime.
	pub type JobOf<T> = Job<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxDatasets,
	>;

	/// A round record of this runtime.
	pub type RoundOf<T> = Round<BlockNumberFor<T>, <T as Config>::MaxDatasets>;

	/// A cohort record of this runtime.
	pub type CohortOf<T> = Cohort<<T as Config>::MaxCohort>;

	/// A report of this runtime.
	pub type ReportOf<T> = Report<<T as Config>::MaxParameters>;

	/// A stored update of this runtime.
	pub type UpdateOf<T> = Update<<T as Config>::MaxParameters>;

	/// A seed reveal of this runtime.
	pub type RevealOf<T> = Reveal<<T as Config>::MaxDatasets>;

	/// A masked round's record of this runtime.
	pub type MaskedRoundOf<T> = MaskedRound<BlockNumberFor<T>, <T as Config>::MaxDatasets>;

	/// The pair seeds one survivor revealed, of this runtime.
	pub type SeedsOf<T> = BoundedVec<(DidId, [u8; 32]), <T as Config>::MaxDatasets>;

	/// The model parameters of this runtime.
	pub type ParametersOf<T> = BoundedVec<i32, <T as Config>::MaxParameters>;

	/// The storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config:
		frame_system::Config + frame_system::offchain::CreateAuthorizedTransaction<Call<Self>>
	{
		/// The currency rewards are paid and deposits held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The DID registry: model DIDs and the institutions' report keys.
		type Dids: DidRegistry<Self::AccountId>;

		/// The consent registry each round charges.
		type Consent: ConsentLedger<Self::AccountId>;

		/// The dataset registry: licences, allow-lists and usable twins.
		type Datasets: DatasetAccess<Self::AccountId>;

		/// Where each released aggregate of a job with a Model DID is
		/// committed (`AggregatedModel`, linked to the job's datasets and
		/// the model's previous aggregate).
		type Commitments: RoundCommitments<Self::AccountId, BalanceOf<Self>>;

		/// The most datasets (participating institutions) of a job.
		#[pallet::constant]
		type MaxDatasets: Get<u32>;

		/// The most parameters of a model.
		#[pallet::constant]
		type MaxParameters: Get<u32>;

		/// The most twins of one institution admitted to a round (at least
		/// the datasets pallet's most contributors of a dataset).
		#[pallet::constant]
		type MaxCohort: Get<u32>;

		/// The most rounds of a job.
		#[pallet::constant]
		type MaxRounds: Get<u32>;

		/// The most local DP-SGD steps of a round. Each step draws every
		/// record of the institution, and the steps barely move the privacy
		/// cost when the noise is huge: without a bound a job could ask an
		/// agent for hours of work per round for almost no ε.
		#[pallet::constant]
		type MaxLocalSteps: Get<u32>;

		/// The most rounds in a row a job may let release nothing.
		#[pallet::constant]
		type MaxRetries: Get<u32>;

		/// The shortest a round may stay open, in blocks.
		#[pallet::constant]
		type MinRoundTimeout: Get<BlockNumberFor<Self>>;

		/// The longest a round may stay open, in blocks.
		#[pallet::constant]
		type MaxRoundTimeout: Get<BlockNumberFor<Self>>;

		/// The most jobs running at once.
		#[pallet::constant]
		type MaxActiveJobs: Get<u32>;

		/// The most round openings and closings in one block.
		#[pallet::constant]
		type MaxStepsPerBlock: Get<u32>;

		/// The most participants' cohorts admitted in one step of opening a
		/// round (the rest in the next blocks).
		#[pallet::constant]
		type MaxCohortsPerStep: Get<u32>;

		/// The fixed part of a job's deposit.
		#[pallet::constant]
		type DepositBase: Get<BalanceOf<Self>>;

		/// The deposit per byte of a job's records (job, model, rounds, cohorts).
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// The priority of a report in the transaction pool.
		#[pallet::constant]
		type ReportPriority: Get<TransactionPriority>;

		/// Weights of this pallet's calls and steps.
		type WeightInfo: WeightInfo;

		/// Creates datasets, licences and report keys for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The rewards a job may still pay.
		#[codec(index = 0)]
		JobEscrow,
		/// The deposit of a job's records.
		#[codec(index = 1)]
		JobDeposit,
	}

	/// The next job's identifier.
	#[pallet::storage]
	pub type NextJobId<T: Config> = StorageValue<_, JobId, ValueQuery>;

	/// Posted jobs.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Twox64Concat, JobId, JobOf<T>>;

	/// The proof record of each round of each job.
	#[pallet::storage]
	pub type Rounds<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, u32, RoundOf<T>>;

	/// Each participant's cohort in each round: the twins charged and the
	/// twins excluded.
	#[pallet::storage]
	pub type Cohorts<T: Config> = StorageNMap<
		_,
		(
			NMapKey<Twox64Concat, JobId>,
			NMapKey<Twox64Concat, u32>,
			NMapKey<Blake2_128Concat, DidId>,
		),
		CohortOf<T>,
	>;

	/// The updates reported in open rounds, until the round closes.
	#[pallet::storage]
	pub type Updates<T: Config> = StorageNMap<
		_,
		(
			NMapKey<Twox64Concat, JobId>,
			NMapKey<Twox64Concat, u32>,
			NMapKey<Blake2_128Concat, DidId>,
		),
		UpdateOf<T>,
	>;

	/// The pair seeds each survivor of a masked round in recovery revealed
	/// (dropped institution, seed), until the round closes.
	#[pallet::storage]
	pub type Reveals<T: Config> = StorageNMap<
		_,
		(
			NMapKey<Twox64Concat, JobId>,
			NMapKey<Twox64Concat, u32>,
			NMapKey<Blake2_128Concat, DidId>,
		),
		SeedsOf<T>,
	>;

	/// Each job's latest aggregate: the model its next round starts from.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Twox64Concat, JobId, ParametersOf<T>>;

	/// The jobs whose researcher cancelled them while a round was open,
	/// with the block they did: the round closes as usual, then the job ends
	/// as cancelled. Only jobs that have not ended.
	#[pallet::storage]
	pub type CancelRequested<T: Config> = StorageMap<_, Twox64Concat, JobId, BlockNumberFor<T>>;

	/// When each running job's next step is due, (block, job) in that
	/// order; one entry per job that has not ended.
	#[pallet::storage]
	pub type Agenda<T: Config> =
		StorageValue<_, BoundedVec<(BlockNumberFor<T>, JobId), T::MaxActiveJobs>, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was posted.
		JobCreated {
			job: JobId,
			researcher: T::AccountId,
			institutions: Vec<DidId>,
			rounds: u32,
			per_round: twinnet_primitives::consent::PrivacyBudget,
			escrow: BalanceOf<T>,
			deposit: BalanceOf<T>,
		},
		/// A round opened: the institutions expected to report by `deadline`.
		RoundOpened {
			job: JobId,
			round: u32,
			deadline: BlockNumberFor<T>,
			expected: Vec<DidId>,
			admitted_twins: u32,
		},
		/// Consent refused these twins of `institution` for the round: they
		/// are not in it, and nothing was charged to them.
		TwinsExcluded {
			job: JobId,
			round: u32,
			institution: DidId,
			twins: Vec<(DidId, twinnet_primitives::consent::ConsentDenied)>,
		},
		/// `institution` sits the round out (`status` says why).
		CohortSatOut { job: JobId, round: u32, institution: DidId, status: CohortStatus },
		/// An institution reported its update for a round.
		UpdateReported {
			job: JobId,
			round: u32,
			institution: DidId,
			records: u32,
			update_hash: H256,
		},
		/// A round released its aggregate.
		RoundAggregated {
			job: JobId,
			round: u32,
			aggregate_hash: H256,
			update_root: H256,
			reporters: Vec<DidId>,
			stragglers: Vec<DidId>,
			records: u64,
			/// Its `AggregatedModel` commitment, if the job names a Model DID.
			commitment: Option<CommitmentId>,
			/// The hash of the sum of the masked reports, if the job is masked.
			masked_sum_hash: Option<H256>,
		},
		/// A masked round closed for reports without `dropped`: its
		/// `survivors` reveal the seeds they share with them by `deadline`.
		RecoveryStarted {
			job: JobId,
			round: u32,
			survivors: Vec<DidId>,
			dropped: Vec<DidId>,
			deadline: BlockNumberFor<T>,
		},
		/// A survivor revealed its seeds with a masked round's dropped institutions.
		SeedsRevealed { job: JobId, round: u32, institution: DidId },
		/// A masked round released nothing: these survivors did not reveal
		/// their seeds by the recovery deadline.
		RecoveryFailed { job: JobId, round: u32, missing: Vec<DidId> },
		/// A round released nothing: too few reports (or admitted cohorts).
		RoundFailed { job: JobId, round: u32, reporters: Vec<DidId>, quorum: u32 },
		/// An institution was paid for an aggregated update (`paid` is zero
		/// if the payment failed; the reward then stays in escrow).
		RewardPaid {
			job: JobId,
			round: u32,
			institution: DidId,
			payee: T::AccountId,
			paid: BalanceOf<T>,
		},
		/// A job ended: completed, failed or cancelled.
		JobEnded { job: JobId, state: JobState<BlockNumberFor<T>>, refunded: BalanceOf<T> },
		/// The researcher cancelled a job while its round `round` was open:
		/// the round closes as usual, then the job ends as cancelled.
		CancellationRequested { job: JobId, round: u32 },
		/// `institution` accepted the cohort the round offered it: the
		/// budgets of its `twins` are reserved, and it may report.
		CohortAccepted { job: JobId, round: u32, institution: DidId, twins: u32 },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No job has this id.
		JobNotFound,
		/// Only the job's researcher may do this.
		NotResearcher,
		/// The job has ended.
		JobEnded,
		/// The model has no parameters, too many, or a size that overflows.
		InvalidModel,
		/// The model DID is not an active `Model` DID the researcher controls.
		ModelNotControlled,
		/// A job needs at least one dataset.
		NoDatasets,
		/// A dataset is named twice.
		DuplicateDataset,
		/// Two datasets are of the same institution.
		DuplicateInstitution,
		/// A dataset is not registered.
		UnknownDataset,
		/// A dataset was revoked.
		DatasetRevoked,
		/// The researcher holds no live compute licence of a dataset for the purpose.
		NoLicence,
		/// The code is not on a dataset's allow-list.
		AlgorithmNotAllowed,
		/// A dataset has fewer consenting contributors than its floor now.
		TooFewContributors,
		/// The quorum must be between one and the number of datasets.
		InvalidQuorum,
		/// The rounds must be between one and the most allowed.
		InvalidRounds,
		/// More retries than allowed.
		TooManyRetries,
		/// The round timeout is outside the allowed range.
		InvalidTimeout,
		/// The learning rate, clip norm, noise multiplier, sampling rate and
		/// local steps must all be positive.
		InvalidTraining,
		/// The per-round privacy cost must be positive.
		ZeroBudget,
		/// The rewards of every round do not fit in a balance.
		EscrowOverflow,
		/// The researcher cannot pay the escrow and the deposit.
		CannotPay,
		/// As many jobs as allowed are running.
		TooManyActiveJobs,
		/// The job has no open round of this number (stale or early report).
		RoundNotOpen,
		/// The institution is not expected to report in this round.
		NotExpected,
		/// The institution already reported in this round.
		AlreadyReported,
		/// The record count is zero or above the admitted cohort.
		InvalidRecordCount,
		/// The update has another number of parameters than the model.
		WrongParameterCount,
		/// The report is not signed by a `capabilityInvocation` key of the institution.
		BadSignature,
		/// The update bound is zero, or so large that a round's sum could overflow.
		InvalidMasking,
		/// A masked job needs a quorum of at least two (one report's "sum" is
		/// the report).
		MaskedQuorumTooSmall,
		/// An institution of a masked job has no X25519 `keyAgreement` key.
		NoAgreementKey,
		/// A model was reported for a masked job, or a masked update for a plain one.
		WrongContribution,
		/// The job has no round of this number in recovery (stale or early reveal).
		NotRecovering,
		/// The institution did not report in the round: it has no seeds to reveal.
		NotSurvivor,
		/// The institution already revealed its seeds in this round.
		AlreadyRevealed,
		/// The seeds do not name the round's dropped institutions, in order.
		WrongSeeds,
		/// The report or reveal was made for the round as it opened on
		/// another fork: its opening block is not the round record's.
		WrongFork,
		/// The job asks for more local steps a round than `MaxLocalSteps`.
		TooManyLocalSteps,
		/// The job is cancelled already: it ends when its open round closes.
		CancellationPending,
		/// The round offers the institution no cohort awaiting acceptance
		/// (none, or accepted already, or one that sat out).
		NotOffered,
		/// The institution's cohort is offered but not accepted yet: it may
		/// report once its acceptance is on chain.
		NotAccepted,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let mut agenda = Agenda::<T>::get();
			let due = agenda
				.iter()
				.take_while(|(at, _)| *at <= now)
				.take(T::MaxStepsPerBlock::get() as usize)
				.count();
			let mut weight = T::WeightInfo::on_initialize_idle();
			if due == 0 {
				return weight;
			}
			let steps: Vec<JobId> = agenda.drain(..due).map(|(_, job)| job).collect();
			Agenda::<T>::put(agenda);
			for job in steps {
				weight.saturating_accrue(Self::step(job, now));
			}
			weight
		}

		fn offchain_worker(now: BlockNumberFor<T>) {
			Self::run_offchain_worker(now);
		}

		fn integrity_test() {
			assert!(
				T::MaxLocalSteps::get() > 0,
				"MaxLocalSteps must allow a job at least one step"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Posts a training job (see the module docs): checks every dataset's
		/// licence, allow-list and floor now, holds the rewards of every
		/// round in escrow and the deposit of the job's records, and opens
		/// its first round in the next block.
		#[pallet::call_index(0)]
		#[pallet::weight(Pallet::<T>::create_job_weight(spec.datasets.len() as u32))]
		pub fn create_job(origin: OriginFor<T>, spec: Box<JobSpecOf<T>>) -> DispatchResult {
			let researcher = ensure_signed(origin)?;
			let participants = Self::check_spec(&researcher, &spec)?;
			ensure!(!Agenda::<T>::get().is_full(), Error::<T>::TooManyActiveJobs);
			let escrow = Self::escrow_of(&spec)?;
			let parameters = spec.model.parameters().ok_or(Error::<T>::InvalidModel)?;
			let job_id = NextJobId::<T>::get();
			let now = frame_system::Pallet::<T>::block_number();
			let mut job = JobOf::<T> {
				researcher: researcher.clone(),
				spec: *spec,
				participants,
				state: JobState::Pending,
				next_round: 0,
				completed_rounds: 0,
				failed_in_a_row: 0,
				escrow,
				deposit: Zero::zero(),
				created_at: now,
				last_commitment: None,
			};
			let model_bytes = (parameters as usize).saturating_mul(4).saturating_add(8);
			job.deposit = T::DepositBase::get()
				.saturating_add(Self::deposit_for(job.encoded_size().saturating_add(model_bytes)));
			T::Currency::hold(&HoldReason::JobEscrow.into(), &researcher, escrow)
				.map_err(|_| Error::<T>::CannotPay)?;
			T::Currency::hold(&HoldReason::JobDeposit.into(), &researcher, job.deposit)
				.map_err(|_| Error::<T>::CannotPay)?;

			NextJobId::<T>::put(job_id.saturating_add(1));
			Self::schedule(job_id, now.saturating_add(One::one()));
			Self::deposit_event(Event::JobCreated {
				job: job_id,
				researcher,
				institutions: job.participants.iter().map(|p| p.institution).collect(),
				rounds: job.spec.rounds,
				per_round: job.spec.per_round,
				escrow,
				deposit: job.deposit,
			});
			Jobs::<T>::insert(job_id, job);
			Ok(())
		}

		/// Cancels a job that has not ended. With a round open (running or
		/// recovering) the round closes as usual and the job then ends
		/// ([`CancelRequested`]): every report included until then is taken
		/// and its cohort charged, and its institution is paid, with an
		/// aggregate or without (its update is public). A round still
		/// opening is dropped at once (its cohorts were only offered). Once
		/// cancelled, no institution may accept its cohort: a trained update
		/// not yet accepted is never published. The rest
		/// of the escrow returns to the researcher; the job's records (and
		/// their deposit) stay.
		#[pallet::call_index(1)]
		#[pallet::weight(Pallet::<T>::cancel_job_weight(T::MaxDatasets::get()))]
		pub fn cancel_job(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut record = Jobs::<T>::get(job).ok_or(Error::<T>::JobNotFound)?;
			ensure!(record.researcher == who, Error::<T>::NotResearcher);
			ensure!(!record.state.is_final(), Error::<T>::JobEnded);
			ensure!(!CancelRequested::<T>::contains_key(job), Error::<T>::CancellationPending);
			match record.state {
				// A report gossiped before the cancel may be included after
				// it, read all the same: the round closes as usual, and
				// charges and pays every report it takes.
				JobState::Running { round, .. } | JobState::Recovering { round, .. } => {
					CancelRequested::<T>::insert(job, frame_system::Pallet::<T>::block_number());
					Self::deposit_event(Event::CancellationRequested { job, round });
					return Ok(());
				},
				JobState::Opening { round, .. } => {
					// No round record and no report yet: nothing to keep as evidence.
					Self::abandon_round(job, round, &mut record);
					for participant in &record.participants {
						Cohorts::<T>::remove((job, round, participant.institution));
					}
				},
				_ => {},
			}
			Self::unschedule(job);
			Self::finish(job, &mut record, JobState::Cancelled);
			Ok(())
		}

		/// Reports an institution's update for an open round: an authorized
		/// transaction from the institution's node (see
		/// [`Pallet::authorize_report`]). Once every admitted institution
		/// reported, the round closes in the next block.
		#[pallet::call_index(2)]
		#[pallet::weight(
			T::WeightInfo::submit_update(T::MaxParameters::get()).saturating_add(Pallet::<T>::round_read())
		)]
		#[pallet::authorize(Pallet::<T>::authorize_report)]
		#[pallet::weight_of_authorize(
			T::WeightInfo::authorize_submit_update(T::MaxParameters::get())
				.saturating_add(Pallet::<T>::round_read())
		)]
		pub fn submit_update(
			origin: OriginFor<T>,
			report: Box<ReportOf<T>>,
			signature: DidSignature,
		) -> DispatchResult {
			frame_system::ensure_authorized(origin)?;
			Self::check_report(&report, &signature)?;
			let key = (report.job, report.round, report.institution);
			let update_hash = report.update_hash();
			Updates::<T>::insert(
				key,
				UpdateOf::<T> { records: report.records, update: report.update },
			);
			Self::deposit_event(Event::UpdateReported {
				job: report.job,
				round: report.round,
				institution: report.institution,
				records: report.records,
				update_hash,
			});
			if Self::all_reported(report.job, report.round) {
				let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
				Self::schedule(report.job, next);
			}
			Ok(())
		}

		/// Accepts the cohort a round offers an institution: an authorized
		/// transaction from the institution's node once its agent trained
		/// on the cohort (see [`Pallet::authorize_accept`]). Reserves the
		/// round's budget on each of its twins, all or none; with all, the
		/// institution may report, with none its cohort lapses. Until a
		/// cohort is accepted nothing of it is reserved, so a job that no
		/// institution's agent trains (a model it refuses, no agent) holds
		/// nobody's budget.
		#[pallet::call_index(4)]
		#[pallet::weight(Pallet::<T>::accept_cohort_weight())]
		#[pallet::authorize(Pallet::<T>::authorize_accept)]
		#[pallet::weight_of_authorize(Pallet::<T>::authorize_accept_weight())]
		pub fn accept_cohort(
			origin: OriginFor<T>,
			acceptance: Acceptance,
			signature: DidSignature,
		) -> DispatchResultWithPostInfo {
			frame_system::ensure_authorized(origin)?;
			let (_, job, cohort) = Self::check_acceptance(&acceptance, &signature)?;
			let twins = cohort.admitted.len() as u32;
			let lapsed = !Self::accept(&acceptance, &job, cohort);
			Ok(Some(Self::accept_weight(twins, lapsed)).into())
		}

		/// Reveals, in a masked round's recovery, the pair seeds a survivor
		/// shares with the round's dropped institutions: an authorized
		/// transaction from the survivor's node (see
		/// [`Pallet::authorize_reveal`]). Once every survivor revealed, the
		/// round closes in the next block.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::reveal_seeds(reveal.seeds.len() as u32))]
		#[pallet::authorize(Pallet::<T>::authorize_reveal)]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_reveal_seeds(
			reveal.seeds.len() as u32
		))]
		pub fn reveal_seeds(
			origin: OriginFor<T>,
			reveal: Box<RevealOf<T>>,
			signature: DidSignature,
		) -> DispatchResult {
			frame_system::ensure_authorized(origin)?;
			let (_, mut record) = Self::check_reveal(&reveal, &signature)?;
			let (job, round) = (reveal.job, reveal.round);
			let survivors = record.reporters.clone();
			if let Some(masking) = record.masking.as_mut() {
				// At most one reveal per survivor, and survivors ⊆ participants.
				let _ = masking.revealed.try_push(reveal.institution);
			}
			Rounds::<T>::insert(job, round, record);
			Reveals::<T>::insert((job, round, reveal.institution), reveal.seeds);
			Self::deposit_event(Event::SeedsRevealed {
				job,
				round,
				institution: reveal.institution,
			});
			if survivors
				.iter()
				.all(|survivor| Reveals::<T>::contains_key((job, round, survivor)))
			{
				let next = frame_system::Pallet::<T>::block_number().saturating_add(One::one());
				Self::schedule(job, next);
			}
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Validates an acceptance for the transaction pool: the same checks
		/// as its dispatch but the reservations (which may still fail: the
		/// cohort then lapses). One acceptance per job, round and
		/// institution is provided; it lives until the round's deadline.
		pub fn authorize_accept(
			_source: TransactionSource,
			acceptance: &Acceptance,
			signature: &DidSignature,
		) -> TransactionValidityWithRefund {
			let (deadline, ..) =
				Self::check_acceptance(acceptance, signature).map_err(Self::invalid)?;
			Self::validity(
				"twinnet-federated-accept",
				(acceptance.job, acceptance.round, acceptance.institution),
				deadline,
			)
		}

		/// Checks an acceptance against the open round: the round is open on
		/// this fork and offers the institution a cohort, and a
		/// `capabilityInvocation` key of the institution signed it. Returns
		/// the round's deadline, the job and the cohort.
		fn check_acceptance(
			acceptance: &Acceptance,
			signature: &DidSignature,
		) -> Result<(BlockNumberFor<T>, JobOf<T>, CohortOf<T>), Error<T>> {
			let job = Jobs::<T>::get(acceptance.job).ok_or(Error::<T>::JobNotFound)?;
			let now = frame_system::Pallet::<T>::block_number();
			let deadline = match job.state {
				JobState::Running { round, deadline }
					if round == acceptance.round && now <= deadline =>
				{
					deadline
				},
				_ => return Err(Error::<T>::RoundNotOpen),
			};
			ensure!(
				!CancelRequested::<T>::contains_key(acceptance.job),
				Error::<T>::CancellationPending
			);
			let opened = Rounds::<T>::get(acceptance.job, acceptance.round)
				.map(|record| record.opening_block)
				.ok_or(Error::<T>::RoundNotOpen)?;
			ensure!(opened == acceptance.opening_block, Error::<T>::WrongFork);
			let cohort =
				Cohorts::<T>::get((acceptance.job, acceptance.round, acceptance.institution))
					.filter(|cohort| cohort.status == CohortStatus::Offered)
					.ok_or(Error::<T>::NotOffered)?;
			let message = acceptance.message(Self::genesis_hash());
			ensure!(
				T::Dids::verify_signature(
					&acceptance.institution,
					Relationship::CapabilityInvocation,
					&message,
					signature
				),
				Error::<T>::BadSignature
			);
			Ok((deadline, job, cohort))
		}

		/// Reserves the round's budget on every twin of an accepted cohort,
		/// all or none: the agent trained on them all, so a cohort of which
		/// one twin can no longer pay lapses (nothing reserved, the refused
		/// twins excluded with why) and its institution does not report.
		/// Returns whether the cohort was admitted.
		pub(crate) fn accept(
			acceptance: &Acceptance,
			job: &JobOf<T>,
			mut cohort: CohortOf<T>,
		) -> bool {
			let Acceptance { job: job_id, round, institution, .. } = *acceptance;
			let Some(participant) = job.participants.iter().find(|p| p.institution == institution)
			else {
				return false;
			};
			let job_round = JobRound { job: job_id, round };
			let consent = Self::compute_access(job, job_round, participant);
			let outcomes = T::Consent::reserve(&cohort.admitted, &consent, job.spec.per_round);
			let mut reserved = Vec::new();
			let mut refused = Vec::new();
			for (twin, outcome) in cohort.admitted.iter().zip(outcomes) {
				match outcome {
					Ok(_) => reserved.push(*twin),
					Err(denied) => refused.push((*twin, denied)),
				}
			}
			let key = (job_id, round, institution);
			if refused.is_empty() {
				cohort.status = CohortStatus::Admitted;
				Cohorts::<T>::insert(key, &cohort);
				Self::deposit_event(Event::CohortAccepted {
					job: job_id,
					round,
					institution,
					twins: cohort.admitted.len() as u32,
				});
				return true;
			}
			T::Consent::settle(job_round, &reserved, Settlement::Release);
			cohort.status = CohortStatus::Lapsed;
			// The twins that could pay stay listed (offered, never used);
			// those that could not move to the excluded ones.
			cohort.admitted.retain(|twin| reserved.contains(twin));
			for excluded in &refused {
				// Offered and excluded twins together are at most `MaxCohort`.
				let _ = cohort.excluded.try_push(*excluded);
			}
			Cohorts::<T>::insert(key, &cohort);
			Self::deposit_event(Event::TwinsExcluded {
				job: job_id,
				round,
				institution,
				twins: refused,
			});
			Self::deposit_event(Event::CohortSatOut {
				job: job_id,
				round,
				institution,
				status: CohortStatus::Lapsed,
			});
			false
		}

		/// What a round's computation on `participant`'s dataset asks of
		/// each twin's consent.
		fn compute_access(
			job: &JobOf<T>,
			job_round: JobRound,
			participant: &Participant<T::AccountId>,
		) -> Access<T::AccountId> {
			let spec = &job.spec;
			Access {
				grantee: Grantee::Institution(participant.institution),
				scope: Scope::Compute,
				purpose: spec.purpose,
				dataset: Some(participant.dataset),
				computation: Some(Computation {
					round: job_round,
					model: spec.model_did,
					code_hash: spec.code_hash,
				}),
			}
		}

		/// Validates a report for the transaction pool: the same checks as
		/// its dispatch, so that nothing stale, duplicate or forged is ever
		/// included. One report per job, round and institution is provided;
		/// it lives until the round's deadline.
		#[allow(clippy::borrowed_box)]
		pub fn authorize_report(
			_source: TransactionSource,
			report: &Box<ReportOf<T>>,
			signature: &DidSignature,
		) -> TransactionValidityWithRefund {
			let deadline = Self::check_report(report, signature).map_err(Self::invalid)?;
			Self::validity(
				"twinnet-federated-report",
				(report.job, report.round, report.institution),
				deadline,
			)
		}

		/// Validates a seed reveal for the transaction pool: the same checks
		/// as its dispatch. One reveal per job, round and survivor is
		/// provided; it lives until the recovery deadline.
		#[allow(clippy::borrowed_box)]
		pub fn authorize_reveal(
			_source: TransactionSource,
			reveal: &Box<RevealOf<T>>,
			signature: &DidSignature,
		) -> TransactionValidityWithRefund {
			let deadline = Self::check_reveal(reveal, signature).map_err(Self::invalid)?.0;
			Self::validity(
				"twinnet-federated-reveal",
				(reveal.job, reveal.round, reveal.institution),
				deadline,
			)
		}

		/// How the pool sees a refused report or reveal: stale, forged, or bad.
		fn invalid(error: Error<T>) -> TransactionValidityError {
			let invalid = match error {
				Error::<T>::RoundNotOpen
				| Error::<T>::WrongFork
				| Error::<T>::AlreadyReported
				| Error::<T>::NotRecovering
				| Error::<T>::AlreadyRevealed
				| Error::<T>::NotOffered
				| Error::<T>::CancellationPending => InvalidTransaction::Stale,
				Error::<T>::BadSignature => InvalidTransaction::BadProof,
				_ => InvalidTransaction::Call,
			};
			TransactionValidityError::Invalid(invalid)
		}

		/// The pool validity of a report or reveal that `provides` its key
		/// and lives until `deadline`.
		fn validity(
			prefix: &'static str,
			provides: (JobId, u32, DidId),
			deadline: BlockNumberFor<T>,
		) -> TransactionValidityWithRefund {
			let now = frame_system::Pallet::<T>::block_number();
			let longevity: u64 =
				deadline.saturating_sub(now).saturating_add(One::one()).unique_saturated_into();
			let validity = ValidTransaction::with_tag_prefix(prefix)
				.priority(T::ReportPriority::get())
				.and_provides(provides)
				.longevity(longevity)
				.propagate(true)
				.build()?;
			Ok((validity, Weight::zero()))
		}

		/// Checks a reveal against the round in recovery; returns the
		/// recovery deadline and the round's record.
		fn check_reveal(
			reveal: &RevealOf<T>,
			signature: &DidSignature,
		) -> Result<(BlockNumberFor<T>, RoundOf<T>), Error<T>> {
			let job = Jobs::<T>::get(reveal.job).ok_or(Error::<T>::JobNotFound)?;
			let now = frame_system::Pallet::<T>::block_number();
			let deadline = match job.state {
				JobState::Recovering { round, deadline }
					if round == reveal.round && now <= deadline =>
				{
					deadline
				},
				_ => return Err(Error::<T>::NotRecovering),
			};
			let record = Rounds::<T>::get(reveal.job, reveal.round)
				.filter(|record| record.masking.is_some())
				.ok_or(Error::<T>::NotRecovering)?;
			ensure!(record.opening_block == reveal.opening_block, Error::<T>::WrongFork);
			ensure!(record.reporters.contains(&reveal.institution), Error::<T>::NotSurvivor);
			let key = (reveal.job, reveal.round, reveal.institution);
			ensure!(!Reveals::<T>::contains_key(key), Error::<T>::AlreadyRevealed);
			let dropped = record.masking.as_ref().map(|masking| masking.dropped.as_slice());
			ensure!(
				reveal
					.seeds
					.iter()
					.map(|(institution, _)| institution)
					.eq(dropped.unwrap_or_default()),
				Error::<T>::WrongSeeds
			);
			let message = reveal.message(Self::genesis_hash());
			ensure!(
				T::Dids::verify_signature(
					&reveal.institution,
					Relationship::CapabilityInvocation,
					&message,
					signature
				),
				Error::<T>::BadSignature
			);
			Ok((deadline, record))
		}

		/// Checks a report against the open round; returns the round's deadline.
		fn check_report(
			report: &ReportOf<T>,
			signature: &DidSignature,
		) -> Result<BlockNumberFor<T>, Error<T>> {
			let job = Jobs::<T>::get(report.job).ok_or(Error::<T>::JobNotFound)?;
			let now = frame_system::Pallet::<T>::block_number();
			let deadline = match job.state {
				JobState::Running { round, deadline }
					if round == report.round && now <= deadline =>
				{
					deadline
				},
				_ => return Err(Error::<T>::RoundNotOpen),
			};
			let opened = Rounds::<T>::get(report.job, report.round)
				.map(|record| record.opening_block)
				.ok_or(Error::<T>::RoundNotOpen)?;
			ensure!(opened == report.opening_block, Error::<T>::WrongFork);
			let key = (report.job, report.round, report.institution);
			let cohort = Cohorts::<T>::get(key).ok_or(Error::<T>::NotExpected)?;
			match cohort.status {
				CohortStatus::Admitted => {},
				CohortStatus::Offered => return Err(Error::<T>::NotAccepted),
				_ => return Err(Error::<T>::NotExpected),
			}
			ensure!(!Updates::<T>::contains_key(key), Error::<T>::AlreadyReported);
			ensure!(
				report.records > 0 && report.records as usize <= cohort.admitted.len(),
				Error::<T>::InvalidRecordCount
			);
			ensure!(
				job.spec.masking.is_some() == report.update.is_masked(),
				Error::<T>::WrongContribution
			);
			ensure!(
				job.spec.model.parameters() == Some(report.update.len() as u32),
				Error::<T>::WrongParameterCount
			);
			let message = report.message(Self::genesis_hash());
			ensure!(
				T::Dids::verify_signature(
					&report.institution,
					Relationship::CapabilityInvocation,
					&message,
					signature
				),
				Error::<T>::BadSignature
			);
			Ok(deadline)
		}

		/// Checks a job specification against the bounds and every dataset
		/// now; returns its participants.
		fn check_spec(
			researcher: &T::AccountId,
			spec: &JobSpecOf<T>,
		) -> Result<BoundedVec<Participant<T::AccountId>, T::MaxDatasets>, DispatchError> {
			let parameters = spec.model.parameters().ok_or(Error::<T>::InvalidModel)?;
			ensure!(
				parameters > 0 && parameters <= T::MaxParameters::get(),
				Error::<T>::InvalidModel
			);
			if let Some(model) = spec.model_did {
				let controls = T::Dids::active_kind(&model) == Some(SubjectKind::Model)
					&& T::Dids::is_controlled_by(&model, researcher);
				ensure!(controls, Error::<T>::ModelNotControlled);
			}
			ensure!(!spec.datasets.is_empty(), Error::<T>::NoDatasets);
			ensure!(
				spec.min_participants > 0 && spec.min_participants as usize <= spec.datasets.len(),
				Error::<T>::InvalidQuorum
			);
			ensure!(
				spec.rounds > 0 && spec.rounds <= T::MaxRounds::get(),
				Error::<T>::InvalidRounds
			);
			ensure!(spec.max_retries <= T::MaxRetries::get(), Error::<T>::TooManyRetries);
			ensure!(
				spec.round_timeout >= T::MinRoundTimeout::get()
					&& spec.round_timeout <= T::MaxRoundTimeout::get(),
				Error::<T>::InvalidTimeout
			);
			let training = &spec.training;
			ensure!(
				!training.learning_rate.is_zero()
					&& !training.clip_norm.is_zero()
					&& !training.noise_multiplier.is_zero()
					&& !training.sampling_rate.is_zero()
					&& training.local_steps > 0,
				Error::<T>::InvalidTraining
			);
			ensure!(training.local_steps <= T::MaxLocalSteps::get(), Error::<T>::TooManyLocalSteps);
			ensure!(
				!spec.per_round.epsilon.is_zero() && !spec.per_round.delta.is_zero(),
				Error::<T>::ZeroBudget
			);
			if let Some(masking) = spec.masking {
				ensure!(spec.min_participants >= 2, Error::<T>::MaskedQuorumTooSmall);
				ensure!(
					masking.update_bound > 0
						&& twinnet_secagg::fits_in_ring(
							spec.datasets.len() as u32,
							T::MaxCohort::get(),
							masking.update_bound
						),
					Error::<T>::InvalidMasking
				);
			}
			let mut participants = BoundedVec::new();
			for (index, licensed) in spec.datasets.iter().enumerate() {
				ensure!(!repeats_earlier(&spec.datasets, index), Error::<T>::DuplicateDataset);
				// The job's first round, as it will ask.
				let first_round = Computation {
					round: JobRound { job: NextJobId::<T>::get(), round: 0 },
					model: spec.model_did,
					code_hash: spec.code_hash,
				};
				let access = T::Datasets::can_compute(
					researcher,
					&licensed.dataset,
					licensed.licence,
					spec.purpose,
					&first_round,
				)
				.map_err(Error::<T>::from_access)?;
				ensure!(
					participants
						.iter()
						.all(|p: &Participant<T::AccountId>| p.institution != access.institution),
					Error::<T>::DuplicateInstitution
				);
				ensure!(
					spec.masking.is_none() || Self::agreement_key(&access.institution).is_some(),
					Error::<T>::NoAgreementKey
				);
				participants
					.try_push(Participant {
						institution: access.institution,
						dataset: licensed.dataset,
						licence: licensed.licence,
						payee: access.publisher,
					})
					.map_err(|_| Error::<T>::NoDatasets)?;
			}
			Ok(participants)
		}

		/// The rewards of every round: reward × institutions × rounds.
		fn escrow_of(spec: &JobSpecOf<T>) -> Result<BalanceOf<T>, Error<T>> {
			let updates = (spec.datasets.len() as u32)
				.checked_mul(spec.rounds)
				.ok_or(Error::<T>::EscrowOverflow)?;
			spec.reward_per_update
				.checked_mul(&updates.into())
				.ok_or(Error::<T>::EscrowOverflow)
		}

		/// The deposit for `bytes` of records.
		fn deposit_for(bytes: usize) -> BalanceOf<T> {
			let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
			T::DepositPerByte::get().saturating_mul(bytes.into())
		}

		/// The weights below add, per participant, the worst cases the
		/// datasets and consent pallets export for the calls made into them
		/// (a dataset's most contributors, a twin's most grants): the
		/// benchmarks measured those calls at a cheaper case, so that part
		/// is counted twice, an overestimate.
		fn per_participant(twins: u32, reserve: bool) -> Weight {
			let settle = T::Consent::settle_weight(twins);
			if reserve {
				settle
					.saturating_add(T::Datasets::can_compute_weight())
					.saturating_add(T::Consent::reserve_weight(twins))
			} else {
				settle
			}
		}

		/// The most [`Pallet::create_job`] of `datasets` datasets weighs.
		pub fn create_job_weight(datasets: u32) -> Weight {
			T::WeightInfo::create_job(datasets)
				.saturating_add(T::Datasets::can_compute_weight().saturating_mul(datasets.into()))
		}

		/// The most [`Pallet::cancel_job`] of a job of `participants` weighs:
		/// dropping a round that opens with every cohort admitted. (The
		/// benchmark once measured an open round with every report, paid:
		/// heavier, and kept as the bound until it is run again.)
		pub fn cancel_job_weight(participants: u32) -> Weight {
			T::WeightInfo::cancel_job(participants)
				.saturating_add(
					Self::per_participant(T::MaxCohort::get(), false)
						.saturating_mul(participants.into()),
				)
				.saturating_add(T::DbWeight::get().writes(participants.into()))
		}

		/// The most one step (an opening or a closing) of any job may weigh.
		pub fn max_step_weight() -> Weight {
			let participants = T::MaxDatasets::get();
			let parameters = T::MaxParameters::get();
			Self::open_masked_round_weight(participants)
				.max(Self::close_round_weight(participants, parameters))
				.max(Self::close_masked_round_weight(participants, parameters))
		}

		/// The most closing a masked round of `participants` institutions and
		/// `parameters` parameters weighs: as a plain one, but the sum is
		/// unmasked with up to ⌊p/2⌋·⌈p/2⌉ revealed pair seeds (survivors
		/// times dropped), each a mask of `parameters` words to remove.
		/// Each survivor's reveal is read and every participant's removed.
		fn close_masked_round_weight(participants: u32, parameters: u32) -> Weight {
			let half = participants / 2;
			let pairs = half.saturating_mul(participants.saturating_sub(half));
			Self::close_round_weight(participants, parameters)
				.saturating_add(
					T::WeightInfo::unmask_sum(pairs, parameters)
						.saturating_sub(T::WeightInfo::unmask_sum(0, 0)),
				)
				.saturating_add(
					T::DbWeight::get().reads_writes(participants.into(), participants.into()),
				)
		}

		/// The most a step of opening a masked round of `participants`
		/// weighs: as a plain one, and in its last step each participant's
		/// key agreement key read and, for each without one, its cohort
		/// rewritten (nothing of it is reserved).
		fn open_masked_round_weight(participants: u32) -> Weight {
			Self::open_round_weight(participants).saturating_add(
				T::DbWeight::get().reads_writes(participants.into(), participants.into()),
			)
		}

		/// The most a step of opening a round of `participants` weighs: the
		/// cohorts of at most [`Config::MaxCohortsPerStep`] admitted, and the
		/// round opened.
		fn open_round_weight(participants: u32) -> Weight {
			let batch = participants.min(T::MaxCohortsPerStep::get().max(1));
			T::WeightInfo::open_round(participants).saturating_add(
				Self::per_participant(T::MaxCohort::get(), true).saturating_mul(batch.into()),
			)
		}

		/// The most closing a round of `participants` reports of
		/// `parameters` parameters weighs.
		fn close_round_weight(participants: u32, parameters: u32) -> Weight {
			// The commitment links every dataset and the previous aggregate,
			// and stores one leaf per update.
			let commitment = T::Commitments::commit_aggregate_weight(
				participants.saturating_add(1),
				participants,
			);
			T::WeightInfo::close_round(participants, parameters)
				.saturating_add(
					Self::per_participant(T::MaxCohort::get(), false)
						.saturating_mul(participants.into()),
				)
				.saturating_add(commitment)
		}

		/// Takes a job's due step: opens its next round or closes its open
		/// one. Returns the weight used (benchmarked with the most twins per
		/// cohort, [`Config::MaxCohort`]).
		fn step(job_id: JobId, now: BlockNumberFor<T>) -> Weight {
			let Some(mut job) = Jobs::<T>::get(job_id) else {
				return T::DbWeight::get().reads(1);
			};
			let participants = job.participants.len() as u32;
			match job.state {
				JobState::Pending | JobState::Opening { .. } => {
					let masked = job.spec.masking.is_some();
					Self::open_round(job_id, &mut job, now);
					if masked {
						Self::open_masked_round_weight(participants)
					} else {
						Self::open_round_weight(participants)
					}
				},
				JobState::Running { round, .. } | JobState::Recovering { round, .. } => {
					let masked = job.spec.masking.is_some();
					Self::close_round(job_id, round, &mut job, now);
					let parameters = job.spec.model.parameters().unwrap_or(0);
					// Whether a cancellation is pending, and its removal.
					let cancel = T::DbWeight::get().reads_writes(1, 1);
					if masked {
						Self::close_masked_round_weight(participants, parameters)
							.saturating_add(cancel)
					} else {
						Self::close_round_weight(participants, parameters).saturating_add(cancel)
					}
				},
				_ => T::DbWeight::get().reads(1),
			}
		}

		/// Takes a step in opening `job`'s next round: admits the cohorts of
		/// the next [`Config::MaxCohortsPerStep`] participants (the usable
		/// twins whose consent pays the round's budget), and once every
		/// participant's is in, opens the round.
		pub(crate) fn open_round(job_id: JobId, job: &mut JobOf<T>, now: BlockNumberFor<T>) {
			let (round, mut admitted) = match job.state {
				JobState::Pending => {
					let round = job.next_round;
					job.next_round = round.saturating_add(1);
					(round, 0u32)
				},
				JobState::Opening { round, admitted } => (round, admitted),
				_ => return,
			};
			let job_round = JobRound { job: job_id, round };
			let batch = job
				.participants
				.iter()
				.skip(admitted as usize)
				.take(T::MaxCohortsPerStep::get().max(1) as usize);
			for participant in batch {
				let cohort = Self::admit(job, job_round, participant);
				if !cohort.status.takes_part() {
					Self::deposit_event(Event::CohortSatOut {
						job: job_id,
						round,
						institution: participant.institution,
						status: cohort.status,
					});
				}
				if !cohort.excluded.is_empty() {
					Self::deposit_event(Event::TwinsExcluded {
						job: job_id,
						round,
						institution: participant.institution,
						twins: cohort.excluded.to_vec(),
					});
				}
				Cohorts::<T>::insert((job_id, round, participant.institution), cohort);
				admitted.saturating_inc();
			}
			if (admitted as usize) < job.participants.len() {
				job.state = JobState::Opening { round, admitted };
				Self::schedule(job_id, now.saturating_add(One::one()));
				Jobs::<T>::insert(job_id, &*job);
				return;
			}
			Self::finish_opening(job_id, job, round, now);
		}

		/// Opens round `round` once every participant's cohort is in: its
		/// record, the deposit for its records, and its deadline, or its
		/// failure if too few cohorts were admitted.
		fn finish_opening(job_id: JobId, job: &mut JobOf<T>, round: u32, now: BlockNumberFor<T>) {
			let job_round = JobRound { job: job_id, round };
			let mut record = RoundOf::<T> {
				opened_at: now,
				opening_block: Self::parent_hash(),
				deadline: now.saturating_add(job.spec.round_timeout),
				start_model: Models::<T>::get(job_id)
					.map(|model| update_hash(&model))
					.unwrap_or_default(),
				expected: BoundedVec::new(),
				reporters: BoundedVec::new(),
				admitted_twins: 0,
				excluded_twins: 0,
				outcome: RoundOutcome::Open,
				commitment: None,
				masking: None,
			};
			let mut keys = BoundedVec::<(DidId, [u8; 32]), T::MaxDatasets>::new();
			let mut bytes = 0usize;
			for participant in &job.participants {
				let key = (job_id, round, participant.institution);
				let Some(mut cohort) = Cohorts::<T>::get(key) else { continue };
				if cohort.status.takes_part() && job.spec.masking.is_some() {
					match Self::agreement_key(&participant.institution) {
						// As many keys as participants: the push cannot fail.
						Some(agreement) => {
							let _ = keys.try_push((participant.institution, agreement));
						},
						None => {
							Self::sit_out(job_round, participant, &mut cohort);
							Cohorts::<T>::insert(key, &cohort);
						},
					}
				}
				record.excluded_twins.saturating_accrue(cohort.excluded.len() as u32);
				if cohort.status.takes_part() {
					record.admitted_twins.saturating_accrue(cohort.admitted.len() as u32);
					// As many cohorts as participants: the push cannot fail.
					let _ = record.expected.try_push(participant.institution);
				}
				bytes.saturating_accrue(cohort.encoded_size());
			}
			// Each offered twin's consent keeps what the job spent on it
			// under its grant (at most one record per twin and grant).
			let spend_records = (record.admitted_twins as usize)
				.saturating_mul(T::Consent::job_spend_bytes() as usize);
			bytes.saturating_accrue(spend_records);
			if job.spec.masking.is_some() {
				record.masking = Some(MaskedRoundOf::<T> {
					agreement_keys: keys,
					dropped: BoundedVec::new(),
					revealed: BoundedVec::new(),
					recovery_deadline: None,
					masked_sum_hash: None,
				});
			}
			// A masked record grows by its dropped list during recovery: it
			// is paid for at its largest.
			let growth = record.masking.as_ref().map_or(0, |masking| {
				MaskedRoundOf::<T>::max_encoded_len().saturating_sub(masking.encoded_size())
			});
			bytes.saturating_accrue(record.encoded_size().saturating_add(growth));
			let mut deposit = Self::deposit_for(bytes);
			if job.spec.model_did.is_some() {
				// The commitment of the round's aggregate is paid for now,
				// so it cannot fail for want of funds when the round closes.
				let updates = record.expected.len() as u32;
				deposit.saturating_accrue(T::Commitments::aggregate_deposit(updates));
			}
			if T::Currency::hold(&HoldReason::JobDeposit.into(), &job.researcher, deposit).is_err()
			{
				// The records cannot stay unpaid: return every reservation,
				// drop the cohorts, and end the job.
				Self::settle_cohorts(job_round, job, |_| Settlement::Release);
				for participant in &job.participants {
					Cohorts::<T>::remove((job_id, round, participant.institution));
				}
				Self::finish(job_id, job, JobState::Failed(FailureReason::DepositUnavailable));
				return;
			}
			job.deposit.saturating_accrue(deposit);
			if record.expected.len() < job.spec.min_participants as usize {
				// Nothing can be released: return every reservation now and
				// keep the round and its cohorts as the record of why.
				Self::settle_cohorts(job_round, job, |_| Settlement::Release);
				record.outcome = RoundOutcome::NoQuorum;
				Rounds::<T>::insert(job_id, round, record);
				Self::deposit_event(Event::RoundFailed {
					job: job_id,
					round,
					reporters: Vec::new(),
					quorum: job.spec.min_participants,
				});
				Self::after_failed_round(job_id, job, now);
				return;
			}
			job.state = JobState::Running { round, deadline: record.deadline };
			Self::schedule(job_id, record.deadline.saturating_add(One::one()));
			Self::deposit_event(Event::RoundOpened {
				job: job_id,
				round,
				deadline: record.deadline,
				expected: record.expected.to_vec(),
				admitted_twins: record.admitted_twins,
			});
			Rounds::<T>::insert(job_id, round, record);
			Jobs::<T>::insert(job_id, &*job);
		}

		/// One participant's cohort for a round, offered to its institution:
		/// the twins the dataset may use now whose consent to the
		/// institution pays the round's budget now (nothing is reserved
		/// until the institution accepts), or none if fewer than the
		/// dataset's floor do.
		fn admit(
			job: &JobOf<T>,
			job_round: JobRound,
			participant: &Participant<T::AccountId>,
		) -> CohortOf<T> {
			let spec = &job.spec;
			let computation =
				Computation { round: job_round, model: spec.model_did, code_hash: spec.code_hash };
			let access = match T::Datasets::can_compute(
				&job.researcher,
				&participant.dataset,
				participant.licence,
				spec.purpose,
				&computation,
			) {
				Ok(access) => access,
				Err(denied) => {
					return CohortOf::<T> {
						status: CohortStatus::AccessDenied(denied),
						admitted: BoundedVec::new(),
						excluded: BoundedVec::new(),
					}
				},
			};
			let usable: Vec<DidId> =
				access.twins.into_iter().take(T::MaxCohort::get() as usize).collect();
			let consent = Self::compute_access(job, job_round, participant);
			let mut admitted = Vec::new();
			let mut excluded = Vec::new();
			for twin in &usable {
				match T::Consent::check_spend(twin, &consent, spec.per_round) {
					Ok(_) => admitted.push(*twin),
					Err(denied) => excluded.push((*twin, denied)),
				}
			}
			admitted.sort();
			let status = if (admitted.len() as u32) < access.min_contributors.max(1) {
				admitted.clear();
				CohortStatus::BelowFloor
			} else {
				CohortStatus::Offered
			};
			// Both lists come from at most `MaxCohort` twins.
			CohortOf::<T> {
				status,
				admitted: BoundedVec::truncate_from(admitted),
				excluded: BoundedVec::truncate_from(excluded),
			}
		}

		/// An offered cohort of a masked job whose institution has no X25519
		/// key now sits the round out: it is not expected to report, and
		/// nothing of it was reserved.
		fn sit_out(
			job_round: JobRound,
			participant: &Participant<T::AccountId>,
			cohort: &mut CohortOf<T>,
		) {
			// Nothing of it is reserved. (Cohorts that sat out so in rounds
			// opened before offers held reservations, which `settle_cohorts`
			// returns when their round ends.)
			cohort.status = CohortStatus::NoAgreementKey;
			Self::deposit_event(Event::CohortSatOut {
				job: job_round.job,
				round: job_round.round,
				institution: participant.institution,
				status: cohort.status,
			});
		}

		/// The X25519 `keyAgreement` key of `institution`'s DID (its first
		/// one not of small order).
		fn agreement_key(institution: &DidId) -> Option<[u8; 32]> {
			T::Dids::keys_for(institution, Relationship::KeyAgreement)
				.into_iter()
				.find_map(|key| match key {
					// A small-order key would make every seed with it public
					// (and the agents refuse it): it counts as no key.
					PublicKey::X25519(key) if !twinnet_secagg::is_small_order_key(&key) => {
						Some(key)
					},
					_ => None,
				})
		}

		/// Closes `job`'s round `round` for reports, or ends its recovery:
		/// aggregates it if enough institutions reported (for a masked round
		/// with institutions missing, once its survivors revealed their
		/// seeds with them), or releases nothing.
		pub(crate) fn close_round(
			job_id: JobId,
			round: u32,
			job: &mut JobOf<T>,
			now: BlockNumberFor<T>,
		) {
			let job_round = JobRound { job: job_id, round };
			let Some(mut record) = Rounds::<T>::get(job_id, round) else { return };
			if matches!(job.state, JobState::Running { .. })
				&& Self::start_recovery(job_id, round, job, &mut record, now)
			{
				return;
			}
			let reports = Self::take_reports(job_id, round, job);
			let reporters: Vec<DidId> =
				reports.iter().map(|(institution, _)| *institution).collect();
			record.reporters = BoundedVec::truncate_from(reporters.clone());
			let aggregate = Self::aggregate(job_id, round, job, &mut record, &reports)
				.map(BoundedVec::<i32, T::MaxParameters>::truncate_from);
			// With an aggregate or without, the reporters' updates went out
			// (a masked one is unmasked by any peer it shares a seed with).
			Self::settle_cohorts(job_round, job, |institution| {
				Self::settlement_of(&reporters, institution)
			});
			let aggregate = match aggregate {
				Ok(aggregate) => aggregate,
				Err(outcome) => {
					if outcome == RoundOutcome::RecoveryFailed {
						let missing = reporters
							.iter()
							.filter(|survivor| {
								!Reveals::<T>::contains_key((job_id, round, **survivor))
							})
							.copied()
							.collect();
						Self::deposit_event(Event::RecoveryFailed { job: job_id, round, missing });
					} else {
						Self::deposit_event(Event::RoundFailed {
							job: job_id,
							round,
							reporters: reporters.clone(),
							quorum: job.spec.min_participants,
						});
					}
					Self::take_reveals(job_id, round, job);
					record.outcome = outcome;
					Rounds::<T>::insert(job_id, round, record);
					if CancelRequested::<T>::contains_key(job_id) {
						// Cancelled: no retry. The reporters' updates are
						// public, so they are paid as for an aggregate; the
						// researcher reads nothing for free.
						Self::pay_rewards(job_id, round, job, &reporters);
						Self::finish(job_id, job, JobState::Cancelled);
					} else {
						Self::after_failed_round(job_id, job, now);
					}
					return;
				},
			};
			Self::take_reveals(job_id, round, job);
			let update_hashes: Vec<H256> = reports.iter().map(|(_, u)| u.update.hash()).collect();
			let records = reports.iter().map(|(_, u)| u64::from(u.records)).sum::<u64>();
			let aggregate_hash = update_hash(&aggregate);
			let update_root = update_root(&update_hashes);
			// The expected institutions are the admitted cohorts, in participant order.
			let stragglers =
				record.expected.iter().filter(|i| !reporters.contains(i)).copied().collect();
			record.outcome = RoundOutcome::Aggregated { aggregate_hash, update_root, records };
			record.commitment =
				Self::commit_aggregate(job_round, job, aggregate_hash, update_hashes);
			Rounds::<T>::insert(job_id, round, &record);
			Models::<T>::insert(job_id, aggregate);
			Self::deposit_event(Event::RoundAggregated {
				job: job_id,
				round,
				aggregate_hash,
				update_root,
				reporters: reporters.clone(),
				stragglers,
				records,
				commitment: record.commitment,
				masked_sum_hash: record.masking.as_ref().and_then(|m| m.masked_sum_hash),
			});
			Self::pay_rewards(job_id, round, job, &reporters);
			job.completed_rounds.saturating_inc();
			job.failed_in_a_row = 0;
			Self::return_unearned(job);
			if job.completed_rounds >= job.spec.rounds {
				Self::finish(job_id, job, JobState::Completed);
			} else if CancelRequested::<T>::contains_key(job_id) {
				Self::finish(job_id, job, JobState::Cancelled);
			} else {
				job.state = JobState::Pending;
				Self::schedule(job_id, now.saturating_add(One::one()));
				Jobs::<T>::insert(job_id, &*job);
			}
		}

		/// At the deadline of a masked round that some expected institutions
		/// missed while enough reported: records the survivors and the
		/// dropped, and gives the survivors one more timeout to reveal their
		/// seeds with the dropped (a dropped institution's report is refused
		/// from now on). Whether recovery started.
		fn start_recovery(
			job_id: JobId,
			round: u32,
			job: &mut JobOf<T>,
			record: &mut RoundOf<T>,
			now: BlockNumberFor<T>,
		) -> bool {
			let Some(masking) = record.masking.as_mut() else { return false };
			let (survivors, dropped): (Vec<DidId>, Vec<DidId>) =
				record.expected.iter().partition(|institution| {
					Updates::<T>::contains_key((job_id, round, **institution))
				});
			if dropped.is_empty() || survivors.len() < job.spec.min_participants as usize {
				return false;
			}
			let deadline = now.saturating_add(job.spec.round_timeout);
			// Both lists are parts of the expected institutions.
			masking.dropped = BoundedVec::truncate_from(dropped.clone());
			masking.recovery_deadline = Some(deadline);
			record.reporters = BoundedVec::truncate_from(survivors.clone());
			Rounds::<T>::insert(job_id, round, &*record);
			job.state = JobState::Recovering { round, deadline };
			Jobs::<T>::insert(job_id, &*job);
			Self::schedule(job_id, deadline.saturating_add(One::one()));
			Self::deposit_event(Event::RecoveryStarted {
				job: job_id,
				round,
				survivors,
				dropped,
				deadline,
			});
			true
		}

		/// The aggregate of a closing round's reports: their FedAvg, or for a
		/// masked round, the FedAvg of their unmasked sum (whose masked hash
		/// it records); else why there is none.
		fn aggregate(
			job_id: JobId,
			round: u32,
			job: &JobOf<T>,
			record: &mut RoundOf<T>,
			reports: &[(DidId, UpdateOf<T>)],
		) -> Result<Vec<i32>, RoundOutcome> {
			if reports.len() < job.spec.min_participants as usize {
				return Err(RoundOutcome::NoQuorum);
			}
			let Some(masking) = record.masking.as_mut() else {
				let models = reports.iter().filter_map(|(_, u)| match &u.update {
					Contribution::Model(parameters) => Some((u.records, parameters.as_slice())),
					Contribution::Masked(_) => None,
				});
				return fed_avg(models).ok_or(RoundOutcome::NoQuorum);
			};
			let length = job.spec.model.parameters().unwrap_or(0) as usize;
			let mut sum = alloc::vec![0u32; length];
			for (_, update) in reports {
				// Reports are checked to be masked and of the model's length.
				if let Contribution::Masked(masked) = &update.update {
					twinnet_secagg::add_into(&mut sum, masked);
				}
			}
			masking.masked_sum_hash = Some(masked_hash(&sum));
			for (survivor, _) in reports {
				let seeds = match masking.dropped.is_empty() {
					true => BoundedVec::new(),
					false => Reveals::<T>::get((job_id, round, *survivor))
						.ok_or(RoundOutcome::RecoveryFailed)?,
				};
				// A reveal names the dropped institutions, in order (checked).
				for (dropped, seed) in &seeds {
					twinnet_secagg::remove_pair_mask(
						&mut sum,
						seed,
						survivor.as_fixed_bytes(),
						dropped.as_fixed_bytes(),
					);
				}
			}
			let start = Models::<T>::get(job_id)
				.map(BoundedVec::into_inner)
				.unwrap_or_else(|| alloc::vec![0; length]);
			let records = reports.iter().map(|(_, u)| u64::from(u.records)).sum::<u64>();
			fed_avg_of_sum(&start, &twinnet_secagg::sum_to_integers(&sum), records)
				.ok_or(RoundOutcome::NoQuorum)
		}

		/// Removes the seeds revealed in `round` of `job` (a masked job's).
		fn take_reveals(job_id: JobId, round: u32, job: &JobOf<T>) {
			if job.spec.masking.is_none() {
				return;
			}
			for participant in &job.participants {
				Reveals::<T>::remove((job_id, round, participant.institution));
			}
		}

		/// Commits the aggregate of `round` as the job's Model DID, linked to
		/// the job's datasets and the model's previous aggregate, paid for by
		/// the round's deposit; the commitment, or none if the job names no
		/// Model DID or the commitment cannot be made (the Model DID was
		/// deactivated: the round stands).
		fn commit_aggregate(
			round: JobRound,
			job: &mut JobOf<T>,
			aggregate: H256,
			updates: Vec<H256>,
		) -> Option<CommitmentId> {
			let model = job.spec.model_did?;
			let inputs = job
				.participants
				.iter()
				.map(|p| Input::Dataset(p.dataset))
				.chain(job.last_commitment.map(Input::Commitment))
				.collect();
			let aggregate = RoundAggregate { round, model, aggregate, updates, inputs };
			match T::Commitments::commit_aggregate(&job.researcher, aggregate) {
				Ok(id) => {
					job.last_commitment = Some(id);
					Some(id)
				},
				Err(error) => {
					log::warn!(
						target: "federated",
						"job {} round {}: aggregate not committed: {error:?}", round.job, round.round
					);
					None
				},
			}
		}

		/// Pays each reporter's institution its reward from escrow.
		fn pay_rewards(job_id: JobId, round: u32, job: &mut JobOf<T>, reporters: &[DidId]) {
			let reward = job.spec.reward_per_update;
			for participant in
				job.participants.iter().filter(|p| reporters.contains(&p.institution))
			{
				let paid = T::Currency::transfer_on_hold(
					&HoldReason::JobEscrow.into(),
					&job.researcher,
					&participant.payee,
					reward.min(job.escrow),
					Precision::Exact,
					Restriction::Free,
					Fortitude::Polite,
				)
				.unwrap_or_else(|_| Zero::zero());
				job.escrow.saturating_reduce(paid);
				Self::deposit_event(Event::RewardPaid {
					job: job_id,
					round,
					institution: participant.institution,
					payee: participant.payee.clone(),
					paid,
				});
			}
		}

		/// Returns to the researcher what the rounds left can no longer pay:
		/// the rewards of stragglers and of payments that failed.
		fn return_unearned(job: &mut JobOf<T>) {
			let rounds_left = job.spec.rounds.saturating_sub(job.completed_rounds);
			let updates_left = (job.participants.len() as u32).saturating_mul(rounds_left);
			let needed = job.spec.reward_per_update.saturating_mul(updates_left.into());
			let unearned = job.escrow.saturating_sub(needed);
			// The escrow is held exactly as recorded (try_state checks it).
			if release::<_, T::Currency>(&HoldReason::JobEscrow.into(), &job.researcher, unearned)
				.is_ok()
			{
				job.escrow.saturating_reduce(unearned);
			}
		}

		/// After a round released nothing: the job fails once more rounds in
		/// a row than its `max_retries` did, or tries again next block.
		fn after_failed_round(job_id: JobId, job: &mut JobOf<T>, now: BlockNumberFor<T>) {
			job.failed_in_a_row.saturating_inc();
			if job.failed_in_a_row > job.spec.max_retries {
				Self::finish(job_id, job, JobState::Failed(FailureReason::QuorumNotReached));
			} else {
				job.state = JobState::Pending;
				Self::schedule(job_id, now.saturating_add(One::one()));
				Jobs::<T>::insert(job_id, &*job);
			}
		}

		/// Ends a round that was opening when its job was cancelled: every
		/// reservation returns. (Were a report or reveal stored, its cohort
		/// would be charged and its institution paid, as in an aggregated
		/// round; none can be before the round opens.)
		fn abandon_round(job_id: JobId, round: u32, job: &mut JobOf<T>) {
			let reporters: Vec<DidId> = Self::take_reports(job_id, round, job)
				.into_iter()
				.map(|(institution, _)| institution)
				.collect();
			Self::take_reveals(job_id, round, job);
			Self::settle_cohorts(JobRound { job: job_id, round }, job, |institution| {
				Self::settlement_of(&reporters, institution)
			});
			Rounds::<T>::mutate(job_id, round, |record| {
				if let Some(record) = record {
					record.reporters = BoundedVec::truncate_from(reporters.clone());
					record.outcome = RoundOutcome::Cancelled;
				}
			});
			Self::pay_rewards(job_id, round, job, &reporters);
		}

		/// Takes the updates reported in `round` of `job` out of storage, in
		/// participant order.
		fn take_reports(job_id: JobId, round: u32, job: &JobOf<T>) -> Vec<(DidId, UpdateOf<T>)> {
			job.participants
				.iter()
				.filter_map(|p| {
					Updates::<T>::take((job_id, round, p.institution)).map(|u| (p.institution, u))
				})
				.collect()
		}

		/// How a closed round settles `institution`'s cohort: its update was
		/// published in its report transaction (whether or not an aggregate
		/// followed) if it reported, so its twins' budget is spent; otherwise
		/// their reservations return.
		fn settlement_of(reporters: &[DidId], institution: &DidId) -> Settlement {
			if reporters.contains(institution) {
				Settlement::Spend
			} else {
				Settlement::Release
			}
		}

		/// Settles each accepted cohort of a round as `outcome` says for its
		/// institution, then returns what cohorts that sat out for want of a
		/// key agreement key hold (reservations only in rounds opened before
		/// offers). Offered cohorts never accepted reserved nothing: they
		/// are left alone. Accepted cohorts go first: a twin whose custody
		/// moved while the round opened may be listed in two cohorts, and
		/// only the accepted one's reservation is settled.
		fn settle_cohorts(
			job_round: JobRound,
			job: &JobOf<T>,
			outcome: impl Fn(&DidId) -> Settlement,
		) {
			let cohorts: Vec<(DidId, CohortOf<T>)> = job
				.participants
				.iter()
				.filter_map(|participant| {
					let key = (job_round.job, job_round.round, participant.institution);
					Cohorts::<T>::get(key).map(|cohort| (participant.institution, cohort))
				})
				.collect();
			for pass in [CohortStatus::Admitted, CohortStatus::NoAgreementKey] {
				for (institution, cohort) in cohorts.iter().filter(|(_, c)| c.status == pass) {
					T::Consent::settle(job_round, &cohort.admitted, outcome(institution));
				}
			}
		}

		/// Ends a job in `state`: returns the escrow left to the researcher.
		fn finish(job_id: JobId, job: &mut JobOf<T>, state: JobState<BlockNumberFor<T>>) {
			let refunded = job.escrow;
			// The escrow is held exactly as recorded (try_state checks it).
			let _ =
				release::<_, T::Currency>(&HoldReason::JobEscrow.into(), &job.researcher, refunded);
			job.escrow = Zero::zero();
			job.state = state;
			Jobs::<T>::insert(job_id, &*job);
			CancelRequested::<T>::remove(job_id);
			Self::deposit_event(Event::JobEnded { job: job_id, state, refunded });
		}

		/// Whether every institution expected in `round` has reported.
		fn all_reported(job: JobId, round: u32) -> bool {
			Rounds::<T>::get(job, round).is_some_and(|record| {
				record
					.expected
					.iter()
					.all(|institution| Updates::<T>::contains_key((job, round, *institution)))
			})
		}

		/// Makes `at` the block of `job`'s next step (its only agenda entry).
		fn schedule(job: JobId, at: BlockNumberFor<T>) {
			Agenda::<T>::mutate(|agenda| {
				agenda.retain(|(_, entry)| *entry != job);
				let position = agenda.partition_point(|entry| *entry <= (at, job));
				// A job is added only while the agenda has room, and keeps
				// one entry: the insert cannot fail.
				let _ = agenda.try_insert(position, (at, job));
			});
		}

		/// Removes `job` from the agenda.
		fn unschedule(job: JobId) {
			Agenda::<T>::mutate(|agenda| agenda.retain(|(_, entry)| *entry != job));
		}

		/// The chain's genesis hash, which reports sign.
		pub fn genesis_hash() -> H256 {
			let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			H256::decode(&mut genesis.encode().as_slice()).unwrap_or_default()
		}

		/// What checking a report or reveal against its round record adds
		/// to the benchmarked weights (the record's read; not yet in
		/// `weights.rs`).
		pub fn round_read() -> Weight {
			T::DbWeight::get().reads(1)
		}

		/// The most validating an acceptance weighs: as a reveal's check (the
		/// job and round records read, a signature verified), and the
		/// cohort read.
		pub fn authorize_accept_weight() -> Weight {
			T::WeightInfo::authorize_reveal_seeds(0)
				.saturating_add(Self::round_read())
				.saturating_add(T::DbWeight::get().reads(1))
		}

		/// The most [`Pallet::accept_cohort`] weighs: a full cohort's, which
		/// lapses (the actual weight is returned).
		pub fn accept_cohort_weight() -> Weight {
			Self::accept_weight(T::MaxCohort::get(), true)
		}

		/// What accepting a cohort of `twins` weighs: its checks, each
		/// twin's reservation (and, if it `lapsed`, their release), and the
		/// cohort written.
		fn accept_weight(twins: u32, lapsed: bool) -> Weight {
			let weight = Self::authorize_accept_weight()
				.saturating_add(T::Consent::reserve_weight(twins))
				.saturating_add(T::DbWeight::get().writes(1));
			if lapsed {
				weight.saturating_add(T::Consent::settle_weight(twins))
			} else {
				weight
			}
		}

		/// The hash of the current block's parent: a round opened now binds
		/// its reports, reveals and pair seeds to it.
		fn parent_hash() -> H256 {
			let parent = frame_system::Pallet::<T>::parent_hash();
			H256::decode(&mut parent.encode().as_slice()).unwrap_or_default()
		}

		/// Job `id` as the runtime API shows it.
		pub fn job_view(
			id: JobId,
		) -> Option<JobView<T::AccountId, BalanceOf<T>, BlockNumberFor<T>>> {
			let job = Jobs::<T>::get(id)?;
			let spec = job.spec;
			Some(JobView {
				id,
				researcher: job.researcher,
				model: spec.model,
				model_did: spec.model_did,
				code_hash: spec.code_hash,
				purpose: spec.purpose,
				participants: job
					.participants
					.into_iter()
					.map(|p| ParticipantView {
						institution: p.institution,
						dataset: p.dataset,
						payee: p.payee,
					})
					.collect(),
				rounds: spec.rounds,
				min_participants: spec.min_participants,
				round_timeout: spec.round_timeout,
				max_retries: spec.max_retries,
				training: spec.training,
				per_round: spec.per_round,
				reward_per_update: spec.reward_per_update,
				masking: spec.masking,
				state: job.state,
				next_round: job.next_round,
				completed_rounds: job.completed_rounds,
				escrow: job.escrow,
				deposit: job.deposit,
				created_at: job.created_at,
			})
		}

		/// Round `round` of job `job`, with its cohorts, as the runtime API
		/// shows it.
		pub fn round_view(job: JobId, round: u32) -> Option<RoundView<BlockNumberFor<T>>> {
			let participants = Jobs::<T>::get(job)?.participants;
			let record = Rounds::<T>::get(job, round)?;
			let open = record.outcome == RoundOutcome::Open;
			let cohorts = participants
				.iter()
				.filter_map(|p| {
					let cohort = Cohorts::<T>::get((job, round, p.institution))?;
					let reported = if open {
						Updates::<T>::contains_key((job, round, p.institution))
					} else {
						record.reporters.contains(&p.institution)
					};
					Some(CohortView {
						institution: p.institution,
						status: cohort.status,
						admitted: cohort.admitted.into_inner(),
						excluded: cohort.excluded.into_inner(),
						reported,
					})
				})
				.collect();
			Some(RoundView {
				job,
				round,
				opened_at: record.opened_at,
				opening_block: record.opening_block,
				deadline: record.deadline,
				start_model: record.start_model,
				expected: record.expected.into_inner(),
				reporters: record.reporters.into_inner(),
				admitted_twins: record.admitted_twins,
				excluded_twins: record.excluded_twins,
				outcome: record.outcome,
				cohorts,
				commitment: record.commitment,
				masking: record.masking.map(|masking| MaskedRoundView {
					agreement_keys: masking.agreement_keys.into_inner(),
					dropped: masking.dropped.into_inner(),
					revealed: masking.revealed.into_inner(),
					recovery_deadline: masking.recovery_deadline,
					masked_sum_hash: masking.masked_sum_hash,
				}),
			})
		}

		/// Whether `twin`'s rows were used in round `round` of job `job`,
		/// with the evidence: its cohort, what it was charged, the aggregate.
		pub fn twin_usage(job: JobId, round: u32, twin: &DidId) -> TwinUsage {
			let (Some(record), Some(view)) = (Self::job_view(job), Self::round_view(job, round))
			else {
				return TwinUsage::NotInRound;
			};
			// A twin whose custody moved while the round opened may be in two
			// cohorts: the accepted one (which alone charged it) comes first.
			let mut cohorts = view.cohorts;
			cohorts.sort_by_key(|cohort| cohort.status != CohortStatus::Admitted);
			let running = matches!(record.state, JobState::Running { round: r, .. } if r == round);
			for cohort in cohorts {
				let institution = cohort.institution;
				if cohort.admitted.binary_search(twin).is_ok() {
					// An offer not accepted reserved nothing (and can be
					// accepted only while the round runs); a cohort that sat
					// out or lapsed used nothing.
					if cohort.status == CohortStatus::Offered && running {
						return TwinUsage::Offered { institution };
					}
					if cohort.status != CohortStatus::Admitted {
						return TwinUsage::NotUsed { institution };
					}
					// A reporter's update was published (and its cohort
					// charged) even if no aggregate followed: zero hash then.
					let aggregate_hash = match view.outcome {
						RoundOutcome::Aggregated { aggregate_hash, .. } => aggregate_hash,
						_ => H256::zero(),
					};
					return match view.outcome {
						RoundOutcome::Open => TwinUsage::Admitted { institution },
						_ if cohort.reported => TwinUsage::Used {
							institution,
							charged: record.per_round,
							aggregate_hash,
						},
						_ => TwinUsage::NotUsed { institution },
					};
				}
				if let Some((_, reason)) = cohort.excluded.iter().find(|(t, _)| t == twin) {
					return TwinUsage::Excluded { institution, reason: *reason };
				}
			}
			TwinUsage::NotInRound
		}

		/// The invariants of a masked round's record: the dropped are
		/// expected institutions that are not reporters, whoever revealed is
		/// a reporter, and a round in recovery has someone dropped and its
		/// job's deadline as its recovery deadline.
		fn check_masked_round(
			state: &JobState<BlockNumberFor<T>>,
			round: u32,
			record: &RoundOf<T>,
			masking: &MaskedRoundOf<T>,
		) -> Result<(), sp_runtime::TryRuntimeError> {
			ensure!(
				masking
					.dropped
					.iter()
					.all(|d| record.expected.contains(d) && !record.reporters.contains(d)),
				"a dropped institution was not expected, or reported"
			);
			ensure!(
				masking.revealed.iter().all(|survivor| record.reporters.contains(survivor)),
				"a reveal recorded from a non-survivor"
			);
			if let JobState::Recovering { round: r, deadline } = state {
				if *r == round {
					ensure!(!masking.dropped.is_empty(), "a recovery with nobody dropped");
					ensure!(
						masking.recovery_deadline.as_ref() == Some(deadline),
						"a recovery deadline that is not its job's"
					);
				}
			}
			Ok(())
		}

		/// Checks the pallet's invariants: one agenda entry per job that has
		/// not ended, sorted; a running (or recovering) job's round open and
		/// no other, masked exactly if the job is; updates only of open
		/// rounds, from admitted institutions; reveals only of rounds in
		/// recovery, from survivors, naming the dropped; a running job's
		/// escrow exactly the rewards of the rounds left, an ended job's
		/// none; each researcher's holds the sums of their jobs' escrows and
		/// deposits.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let agenda = Agenda::<T>::get();
			ensure!(
				agenda.windows(2).all(|pair| matches!(pair, [a, b] if a < b)),
				"the agenda is not sorted"
			);
			let next = NextJobId::<T>::get();
			for (id, _) in CancelRequested::<T>::iter() {
				let state = Jobs::<T>::get(id).map(|job| job.state);
				ensure!(
					matches!(state, Some(JobState::Running { .. } | JobState::Recovering { .. })),
					"a cancellation is pending for a job with no round open"
				);
			}
			let mut holds =
				alloc::collections::BTreeMap::<T::AccountId, (BalanceOf<T>, BalanceOf<T>)>::new();
			for (id, job) in Jobs::<T>::iter() {
				ensure!(id < next, "a job id is not below the counter");
				let entries = agenda.iter().filter(|(_, entry)| *entry == id).count();
				ensure!(
					entries == usize::from(!job.state.is_final()),
					"a job that has not ended is not on the agenda exactly once"
				);
				ensure!(
					job.completed_rounds <= job.spec.rounds,
					"more rounds completed than posted"
				);
				let rounds_left = job.spec.rounds.saturating_sub(job.completed_rounds);
				let held = holds.entry(job.researcher.clone()).or_default();
				held.0.saturating_accrue(job.escrow);
				held.1.saturating_accrue(job.deposit);
				let most = job.spec.reward_per_update.saturating_mul(
					(job.participants.len() as u32).saturating_mul(rounds_left).into(),
				);
				ensure!(
					job.escrow == most || job.state.is_final(),
					"the escrow is not the rewards left"
				);
				if job.state.is_final() {
					ensure!(job.escrow.is_zero(), "an ended job holds escrow");
				}
				for (round, record) in Rounds::<T>::iter_prefix(id) {
					let open = matches!(job.state,
						JobState::Running { round: r, .. } | JobState::Recovering { round: r, .. }
							if r == round);
					ensure!(
						open == (record.outcome == RoundOutcome::Open),
						"a round is open but not its job's running or recovering round, or the other way"
					);
					ensure!(
						record.masking.is_some() == job.spec.masking.is_some(),
						"a round's masking is not its job's"
					);
					if let Some(masking) = &record.masking {
						Self::check_masked_round(&job.state, round, &record, masking)?;
					}
				}
			}
			for (researcher, (escrow, deposit)) in holds {
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::JobEscrow.into(), &researcher)
						== escrow,
					"a researcher's escrow hold is not the sum of their jobs' escrows"
				);
				ensure!(
					T::Currency::balance_on_hold(&HoldReason::JobDeposit.into(), &researcher)
						== deposit,
					"a researcher's deposit hold is not the sum of their jobs' deposits"
				);
			}
			for ((job, round, institution), update) in Updates::<T>::iter() {
				let open = Rounds::<T>::get(job, round)
					.is_some_and(|record| record.outcome == RoundOutcome::Open);
				ensure!(open, "an update of a round that is not open");
				let masked = Jobs::<T>::get(job).is_some_and(|job| job.spec.masking.is_some());
				ensure!(update.update.is_masked() == masked, "an update is not of its job's kind");
				let admitted = Cohorts::<T>::get((job, round, institution))
					.is_some_and(|cohort| cohort.status == CohortStatus::Admitted);
				ensure!(admitted, "an update from an institution not admitted");
			}
			for ((job, round, survivor), seeds) in Reveals::<T>::iter() {
				let recovering = Jobs::<T>::get(job).is_some_and(
					|record| matches!(record.state, JobState::Recovering { round: r, .. } if r == round),
				);
				ensure!(recovering, "seeds revealed for a round not in recovery");
				let record =
					Rounds::<T>::get(job, round).ok_or("seeds of a round with no record")?;
				ensure!(record.reporters.contains(&survivor), "seeds revealed by a non-survivor");
				ensure!(
					record.masking.as_ref().is_some_and(|m| m.revealed.contains(&survivor)),
					"seeds stored but the round does not record their reveal"
				);
				let dropped = record.masking.map(|masking| masking.dropped).unwrap_or_default();
				ensure!(
					seeds.iter().map(|(institution, _)| institution).eq(dropped.iter()),
					"revealed seeds do not name the dropped institutions"
				);
			}
			Ok(())
		}
	}

	impl<T: Config> Error<T> {
		/// The error for why a dataset may not be computed on.
		fn from_access(denied: AccessDenied) -> Self {
			match denied {
				AccessDenied::UnknownDataset => Error::<T>::UnknownDataset,
				AccessDenied::Revoked => Error::<T>::DatasetRevoked,
				AccessDenied::NoLicence => Error::<T>::NoLicence,
				AccessDenied::AlgorithmNotAllowed => Error::<T>::AlgorithmNotAllowed,
				AccessDenied::TooFewContributors => Error::<T>::TooFewContributors,
			}
		}
	}

	impl<T: Config> twinnet_primitives::commitments::JobRounds for Pallet<T> {
		/// Jobs are never removed and ids never reused: every id below the
		/// next was posted (one 8-byte read, not a job record's proof).
		fn job_exists(job: JobId) -> bool {
			job < NextJobId::<T>::get()
		}

		fn exists(round: &JobRound) -> bool {
			Rounds::<T>::contains_key(round.job, round.round)
		}

		fn aggregate_commitment(round: &JobRound) -> Option<CommitmentId> {
			Rounds::<T>::get(round.job, round.round).and_then(|record| record.commitment)
		}
	}
}
