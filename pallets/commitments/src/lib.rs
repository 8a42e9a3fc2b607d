//! # pallet-commitments: result commitments that auditors can check
//!
//! Institutions (and the models they run) commit on chain to what they
//! computed: the hash of a dataset snapshot, a model update, an aggregated
//! model, an evaluation, an inference result or a reproduction of someone
//! else's result, with an optional Merkle root over its parts
//! (`twinnet-merkle`) and typed links to its inputs. Other institutions
//! attest commitments with a signature of their DID, anyone may dispute a
//! commitment for a bond, and auditors read it all over the
//! `commitments_*` RPC (docs/auditing.md).
//!
//! ## Flows
//!
//! - **Commit**: [`Pallet::commit`], signed by the controller of an active
//!   Institution or Model DID. Inputs must exist (active Dataset DIDs,
//!   earlier commitments, a job round known to [`Config::Jobs`]). A job
//!   round's model updates and aggregates are the chain's to commit: the
//!   federated pallet commits each released aggregate through
//!   [`RoundCommitments`](twinnet_primitives::commitments::RoundCommitments),
//!   paid for by the job, and records its id, which is how a view tells
//!   that the chain made it; a signed one naming a job round is refused.
//!   Ids grow
//!   and a commitment links only to lower ids, so the provenance graph is
//!   acyclic by construction. Leaves given with the commitment are stored,
//!   so proofs can be served from the chain; the chain computes their root.
//! - **Attest**: [`Pallet::attest`] records another institution's statement
//!   ("reproduced", "verified") about a commitment. The statement is signed
//!   with an `assertionMethod` key of the institution's DID over
//!   [`attestation_message`] (genesis hash, commitment id and hash,
//!   attester, statement); the extrinsic's signer only submits it and holds
//!   its deposit. Neither the committer DID nor a DID controlled by the
//!   account that made the commitment may attest it. (Institution DIDs are
//!   permissionless: one party with two accounts can still vouch for
//!   itself; telling institutions apart is a matter for an accreditation
//!   registry, not for this pallet.) A commitment takes any number of
//!   attestations, each paid for by its deposit, so throwaway DIDs cannot
//!   fill it up to keep a genuine attester out; an auditor looks up the
//!   institutions it trusts by DID ([`Pallet::attestation`]) and pages
//!   through the rest ([`Pallet::attestations`]); a view lists the first
//!   [`ATTESTATIONS_IN_VIEW`].
//! - **Dispute**: within [`Config::DisputeWindow`] blocks of a commitment
//!   anyone may [`Pallet::dispute`] it, holding [`Config::DisputeBond`]; one
//!   dispute is open per commitment at a time. The committer may
//!   [`Pallet::answer`] with a counter-commitment that links the disputed
//!   one. [`Config::ResolveOrigin`] [`Pallet::resolve`]s it: upheld, the bond
//!   returns and the commitment is marked refuted; rejected, the bond is
//!   burnt, the commitment stands and its dispute window starts again from
//!   the resolution (so a sham dispute, opened to let the window run out
//!   while it blocks others, buys nothing). A committer DID with an open
//!   dispute cannot be deactivated.
//! - **Prune**: leaves of a `ModelUpdate` (an update's parts) are needed
//!   while it is audited; after [`Config::LeafRetention`] blocks anyone may
//!   [`Pallet::prune_leaves`] them, unless the commitment is under dispute,
//!   and their deposit returns. Roots, and leaves of every other kind, are
//!   kept forever.
//!
//! ## Deposits
//!
//! The signer of a commitment holds [`Config::DepositBase`] plus
//! [`Config::DepositPerByte`] for each byte of its record (for ever, as the
//! record is), and the per-byte deposit of its stored leaves until they are
//! pruned ([`HoldReason::CommitmentDeposit`]); an attestation's submitter
//! holds [`Config::AttestationDeposit`] ([`HoldReason::AttestationDeposit`]);
//! a disputer holds the bond until resolution ([`HoldReason::DisputeBond`]).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use alloc::vec::Vec;
use frame_support::traits::fungible;
use twinnet_primitives::commitments::{
	attestation_message, AttestationView, CommitmentId, CommitmentKind, CommitmentStatus,
	CommitmentView, DisputeId, DisputeView, Input, JobId, JobRound, MerkleRoot, ProvenanceNode,
	Statement,
};
use twinnet_primitives::did::{DidId, DidSignature, SubjectKind};

/// A balance of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Creates what the benchmarks need that other pallets own.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// An active DID of `kind` controlled by `controller`; for an
	/// institution, with an `assertionMethod` key that [`Self::sign`] uses.
	fn create_did(controller: &AccountId, kind: SubjectKind) -> DidId;
	/// A signature of `message` by the assertion key of a DID made by
	/// [`Self::create_did`] for `controller`.
	fn sign(controller: &AccountId, message: &[u8]) -> DidSignature;
	/// Makes round `round` of a job exist.
	fn create_job_round(round: &JobRound);
}

/// Who makes a new commitment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MadeBy {
	/// Its committer's controller, who holds the deposit
	/// ([`HoldReason::CommitmentDeposit`]); its dataset inputs must be active.
	Signer,
	/// The chain, for a federated round
	/// ([`twinnet_primitives::commitments::RoundCommitments`]): the job's
	/// round deposit pays for it, so it cannot fail for want of funds, and
	/// it names the datasets the job was posted with, active or not since.
	Chain,
}

/// What the verdict of a dispute is.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	codec::Encode,
	codec::Decode,
	codec::DecodeWithMemTracking,
	scale_info::TypeInfo,
	codec::MaxEncodedLen,
	Debug,
)]
pub enum Verdict {
	/// The disputer is right: the commitment is refuted and the bond returns.
	Upheld,
	/// The dispute fails: the commitment stands and the bond is burnt.
	Rejected,
}

// FRAME's pallet macros expand to `expect` on values they build themselves
// (storage prefixes, error and constant metadata); hand-written code here uses
// neither `expect` nor `unwrap`.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use codec::Encode;
	use frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::MutateHold,
			tokens::{Fortitude, Precision},
		},
	};
	use frame_system::pallet_prelude::*;
	use sp_core::H256;
	use sp_runtime::traits::{Saturating, Zero};
	use twinnet_primitives::{
		commitments::JobRounds,
		deposit::release,
		did::Relationship,
		traits::{DidRegistry, DidRole},
	};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency deposits and bonds are held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The DID registry: who controls committers, which datasets exist,
		/// and attesters' assertion keys.
		type Dids: DidRegistry<Self::AccountId>;

		/// Which federated job rounds exist.
		type Jobs: JobRounds;

		/// Who resolves disputes (sudo or a council).
		type ResolveOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The fixed part of a commitment's deposit.
		#[pallet::constant]
		type DepositBase: Get<BalanceOf<Self>>;

		/// The deposit per byte of a commitment's record and stored leaves.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// The deposit of an attestation.
		#[pallet::constant]
		type AttestationDeposit: Get<BalanceOf<Self>>;

		/// The bond a disputer holds until the dispute is resolved.
		#[pallet::constant]
		type DisputeBond: Get<BalanceOf<Self>>;

		/// For how many blocks after a commitment it may be disputed.
		#[pallet::constant]
		type DisputeWindow: Get<BlockNumberFor<Self>>;

		/// For how many blocks a `ModelUpdate`'s stored leaves are kept
		/// before anyone may prune them.
		#[pallet::constant]
		type LeafRetention: Get<BlockNumberFor<Self>>;

		/// The most inputs a commitment links.
		#[pallet::constant]
		type MaxInputs: Get<u32>;

		/// The most leaves a commitment stores on chain.
		#[pallet::constant]
		type MaxStoredLeaves: Get<u32>;

		/// The longest schema tag in bytes.
		#[pallet::constant]
		type MaxSchemaLength: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;

		/// Creates DIDs and job rounds for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a commitment and its stored leaves.
		#[codec(index = 0)]
		CommitmentDeposit,
		/// The deposit of an attestation.
		#[codec(index = 1)]
		AttestationDeposit,
		/// A disputer's bond.
		#[codec(index = 2)]
		DisputeBond,
	}

	/// Commitments by id.
	#[pallet::storage]
	pub type Commitments<T: Config> = StorageMap<_, Twox64Concat, CommitmentId, Commitment<T>>;

	/// The id the next commitment gets.
	#[pallet::storage]
	pub type NextCommitmentId<T: Config> = StorageValue<_, CommitmentId, ValueQuery>;

	/// Leaves stored on chain for a commitment's Merkle root.
	#[pallet::storage]
	pub type Leaves<T: Config> = StorageMap<_, Twox64Concat, CommitmentId, LeafRecord<T>>;

	/// Commitments by committer DID.
	#[pallet::storage]
	pub type ByCommitter<T: Config> =
		StorageDoubleMap<_, Twox64Concat, DidId, Twox64Concat, CommitmentId, ()>;

	/// Commitments by federated job, keyed by (round, commitment).
	#[pallet::storage]
	pub type ByJob<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobId, Twox64Concat, (u32, CommitmentId), ()>;

	/// Attestations by commitment and attesting institution.
	#[pallet::storage]
	pub type Attestations<T: Config> =
		StorageDoubleMap<_, Twox64Concat, CommitmentId, Twox64Concat, DidId, Attestation<T>>;

	/// Open disputes by id.
	#[pallet::storage]
	pub type Disputes<T: Config> = StorageMap<_, Twox64Concat, DisputeId, Dispute<T>>;

	/// The id the next dispute gets.
	#[pallet::storage]
	pub type NextDisputeId<T: Config> = StorageValue<_, DisputeId, ValueQuery>;

	/// How many open disputes concern each committer DID's commitments.
	#[pallet::storage]
	pub type OpenDisputesAgainst<T: Config> = StorageMap<_, Twox64Concat, DidId, u32, ValueQuery>;

	/// The block from which the dispute window of a commitment runs again,
	/// after a dispute of it was rejected (otherwise from its own block).
	#[pallet::storage]
	pub type WindowRestartedAt<T: Config> =
		StorageMap<_, Twox64Concat, CommitmentId, BlockNumberFor<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A commitment was made.
		Committed {
			id: CommitmentId,
			kind: CommitmentKind,
			committer: DidId,
			account: T::AccountId,
			hash: H256,
			merkle: Option<MerkleRoot>,
			job_round: Option<JobRound>,
			leaves_stored: u32,
		},
		/// An institution attested a commitment.
		Attested {
			id: CommitmentId,
			attester: DidId,
			statement: Statement,
			submitter: T::AccountId,
		},
		/// A commitment was disputed.
		Disputed { dispute: DisputeId, id: CommitmentId, disputer: T::AccountId, reason: H256 },
		/// The committer answered a dispute with a counter-commitment.
		Answered { dispute: DisputeId, id: CommitmentId, counter: CommitmentId },
		/// A dispute was resolved: upheld (bond returned, commitment refuted)
		/// or rejected (bond burnt).
		DisputeResolved {
			dispute: DisputeId,
			id: CommitmentId,
			verdict: Verdict,
			disputer: T::AccountId,
			bond: BalanceOf<T>,
		},
		/// A commitment's stored leaves were pruned; its root stays.
		LeavesPruned { id: CommitmentId, refunded: BalanceOf<T> },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No commitment has this id.
		NotFound,
		/// The committer DID does not exist or was deactivated.
		CommitterNotFound,
		/// Only Institution and Model DIDs commit.
		InvalidCommitter,
		/// The signer does not control the DID.
		NotAuthorized,
		/// The committed hash is zero.
		ZeroHash,
		/// A schema tag must be 1 or more printable ASCII characters without
		/// surrounding spaces.
		InvalidSchema,
		/// A commitment needs at least one input.
		NoInputs,
		/// The same input is linked twice.
		DuplicateInput,
		/// A dataset input is not an active Dataset DID.
		UnknownDataset,
		/// An input commitment does not exist.
		UnknownInput,
		/// The job round does not exist.
		UnknownJobRound,
		/// A dataset snapshot links datasets only.
		SnapshotOfNonDataset,
		/// A reproduction links the commitment it reproduces.
		ReproductionWithoutOriginal,
		/// A Merkle tree has at least one leaf.
		EmptyMerkleTree,
		/// Ids are exhausted (never expected).
		IdsExhausted,
		/// The signer cannot pay the deposit.
		CannotPayDeposit,
		/// Only institutions attest.
		AttesterNotInstitution,
		/// A committer does not attest its own commitment, nor does a DID
		/// of the account that made it.
		SelfAttestation,
		/// This institution already attested the commitment.
		AlreadyAttested,
		/// Not returned since attestations are unbounded (each holds its
		/// deposit, and they are read by page or by attester); kept so the
		/// errors after it keep their indices.
		MaxAttestationsExceeded,
		/// The signature does not verify against an `assertionMethod` key of
		/// the attester's DID.
		BadSignature,
		/// The commitment was refuted.
		Refuted,
		/// A dispute of the commitment is open.
		AlreadyDisputed,
		/// The commitment is older than the dispute window.
		DisputeWindowClosed,
		/// The disputer cannot pay the bond.
		CannotPayBond,
		/// No open dispute has this id.
		DisputeNotFound,
		/// The dispute was already answered.
		AlreadyAnswered,
		/// The counter-commitment is not by the disputed commitment's committer.
		CounterNotByCommitter,
		/// The counter-commitment does not link the disputed commitment.
		CounterDoesNotLink,
		/// The commitment has no stored leaves.
		NoStoredLeaves,
		/// Only a `ModelUpdate`'s leaves are pruned.
		LeavesKeptForever,
		/// A disputed commitment's leaves are kept until the dispute is resolved.
		UnderDispute,
		/// The leaves' retention period is not over.
		RetentionNotOver,
		/// Commitments of this DID are disputed; it cannot be deactivated
		/// until the disputes are resolved.
		OpenDisputes,
		/// A released aggregate has more updates than a commitment stores leaves.
		MaxLeavesExceeded,
		/// A released aggregate has more inputs than a commitment links.
		MaxInputsExceeded,
		/// A job round's model updates and aggregates are committed by the
		/// chain alone; a signed commitment may name a job round only for an
		/// evaluation, inference or reproduction.
		RoundModelByChainOnly,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			for (name, bound) in [
				("MaxInputs", T::MaxInputs::get()),
				("MaxStoredLeaves", T::MaxStoredLeaves::get()),
				("MaxSchemaLength", T::MaxSchemaLength::get()),
			] {
				assert!(bound > 0, "pallet-commitments: {name} must be positive");
			}
			assert!(
				!T::DisputeWindow::get().is_zero(),
				"pallet-commitments: DisputeWindow must be positive"
			);
			assert!(
				!T::DisputeBond::get().is_zero(),
				"pallet-commitments: a dispute must cost a bond"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Commits, as (the controller of) the Institution or Model DID
		/// `committer`, to `hash` of a `kind` artefact in `schema`, computed
		/// from `inputs` (and in `job_round`, if any), with an optional
		/// Merkle tree given by its root or by its leaves (stored on chain).
		/// The id is in [`Event::Committed`].
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::commit(
			inputs.len() as u32,
			merkle.as_ref().map_or(0, |m| match m { MerkleInput::Leaves(l) => l.len() as u32, _ => 0 }),
		))]
		pub fn commit(
			origin: OriginFor<T>,
			committer: DidId,
			kind: CommitmentKind,
			hash: H256,
			merkle: Option<MerkleInputOf<T>>,
			schema: SchemaTag<T>,
			inputs: Inputs<T>,
			job_round: Option<JobRound>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_controls_committer(&committer, &who)?;
			ensure!(
				job_round.is_none() || !Self::made_by_chain_only(kind),
				Error::<T>::RoundModelByChainOnly
			);
			Self::do_commit(
				who,
				committer,
				kind,
				hash,
				merkle,
				schema,
				inputs,
				job_round,
				MadeBy::Signer,
			)
			.map(|_| ())
		}

		/// Records that the institution `attester` states `statement` about
		/// commitment `id`, with `signature` of [`attestation_message`] by an
		/// `assertionMethod` key of the attester's DID. Anyone may submit it;
		/// the signer holds [`Config::AttestationDeposit`].
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::attest())]
		pub fn attest(
			origin: OriginFor<T>,
			id: CommitmentId,
			attester: DidId,
			statement: Statement,
			signature: DidSignature,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut commitment = Commitments::<T>::get(id).ok_or(Error::<T>::NotFound)?;
			ensure!(commitment.status != CommitmentStatus::Refuted, Error::<T>::Refuted);
			ensure!(
				T::Dids::active_kind(&attester) == Some(SubjectKind::Institution),
				Error::<T>::AttesterNotInstitution
			);
			ensure!(
				attester != commitment.committer
					&& !T::Dids::is_controlled_by(&attester, &commitment.account),
				Error::<T>::SelfAttestation
			);
			ensure!(!Attestations::<T>::contains_key(id, attester), Error::<T>::AlreadyAttested);
			let message = attestation_message(
				Self::genesis_hash(),
				id,
				commitment.hash,
				&attester,
				statement,
			);
			ensure!(
				T::Dids::verify_signature(
					&attester,
					Relationship::AssertionMethod,
					&message,
					&signature
				),
				Error::<T>::BadSignature
			);

			let deposit = T::AttestationDeposit::get();
			T::Currency::hold(&HoldReason::AttestationDeposit.into(), &who, deposit)
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			commitment.attestations = commitment.attestations.saturating_add(1);
			Commitments::<T>::insert(id, commitment);
			Attestations::<T>::insert(
				id,
				attester,
				Attestation {
					statement,
					submitter: who.clone(),
					block: frame_system::Pallet::<T>::block_number(),
					deposit,
				},
			);
			Self::deposit_event(Event::Attested { id, attester, statement, submitter: who });
			Ok(())
		}

		/// Disputes commitment `id` for the reasons whose hash is `reason`,
		/// holding [`Config::DisputeBond`] until the dispute is resolved.
		/// Open to anyone within [`Config::DisputeWindow`] blocks of the
		/// commitment (or of the rejection of its last dispute), while no
		/// other dispute of it is open.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::dispute())]
		pub fn dispute(origin: OriginFor<T>, id: CommitmentId, reason: H256) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut commitment = Commitments::<T>::get(id).ok_or(Error::<T>::NotFound)?;
			match commitment.status {
				CommitmentStatus::Standing => {},
				CommitmentStatus::Disputed(_) => return Err(Error::<T>::AlreadyDisputed.into()),
				CommitmentStatus::Refuted => return Err(Error::<T>::Refuted.into()),
			}
			let now = frame_system::Pallet::<T>::block_number();
			let window_start = WindowRestartedAt::<T>::get(id).unwrap_or(commitment.block);
			ensure!(
				now <= window_start.saturating_add(T::DisputeWindow::get()),
				Error::<T>::DisputeWindowClosed
			);
			let dispute = NextDisputeId::<T>::get();
			let next = dispute.checked_add(1).ok_or(Error::<T>::IdsExhausted)?;

			let bond = T::DisputeBond::get();
			T::Currency::hold(&HoldReason::DisputeBond.into(), &who, bond)
				.map_err(|_| Error::<T>::CannotPayBond)?;
			NextDisputeId::<T>::put(next);
			OpenDisputesAgainst::<T>::mutate(commitment.committer, |open| {
				*open = open.saturating_add(1)
			});
			commitment.status = CommitmentStatus::Disputed(dispute);
			Commitments::<T>::insert(id, commitment);
			Disputes::<T>::insert(
				dispute,
				Dispute {
					commitment: id,
					disputer: who.clone(),
					bond,
					reason,
					opened: now,
					state: DisputeState::Open,
				},
			);
			Self::deposit_event(Event::Disputed { dispute, id, disputer: who, reason });
			Ok(())
		}

		/// Answers, as the disputed commitment's committer, dispute `dispute`
		/// with the counter-commitment `counter`: a later commitment of the
		/// same committer that links the disputed one.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::answer())]
		pub fn answer(
			origin: OriginFor<T>,
			dispute: DisputeId,
			counter: CommitmentId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut record = Disputes::<T>::get(dispute).ok_or(Error::<T>::DisputeNotFound)?;
			ensure!(record.state == DisputeState::Open, Error::<T>::AlreadyAnswered);
			let disputed = Commitments::<T>::get(record.commitment).ok_or(Error::<T>::NotFound)?;
			ensure!(
				T::Dids::is_controlled_by(&disputed.committer, &who),
				Error::<T>::NotAuthorized
			);
			let answer = Commitments::<T>::get(counter).ok_or(Error::<T>::NotFound)?;
			ensure!(answer.committer == disputed.committer, Error::<T>::CounterNotByCommitter);
			ensure!(
				answer.inputs.contains(&Input::Commitment(record.commitment)),
				Error::<T>::CounterDoesNotLink
			);

			record.state = DisputeState::Answered(counter);
			let id = record.commitment;
			Disputes::<T>::insert(dispute, record);
			Self::deposit_event(Event::Answered { dispute, id, counter });
			Ok(())
		}

		/// Resolves dispute `dispute` (as [`Config::ResolveOrigin`]): upheld,
		/// the disputer's bond returns and the commitment is refuted;
		/// rejected, the bond is burnt, the commitment stands and its dispute
		/// window starts again.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::resolve())]
		pub fn resolve(
			origin: OriginFor<T>,
			dispute: DisputeId,
			verdict: Verdict,
		) -> DispatchResult {
			T::ResolveOrigin::ensure_origin(origin)?;
			let record = Disputes::<T>::get(dispute).ok_or(Error::<T>::DisputeNotFound)?;
			let mut commitment =
				Commitments::<T>::get(record.commitment).ok_or(Error::<T>::NotFound)?;

			let reason = HoldReason::DisputeBond.into();
			match verdict {
				Verdict::Upheld => {
					release::<_, T::Currency>(&reason, &record.disputer, record.bond)
						.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayBond))?;
					commitment.status = CommitmentStatus::Refuted;
					WindowRestartedAt::<T>::remove(record.commitment);
				},
				Verdict::Rejected => {
					T::Currency::burn_held(
						&reason,
						&record.disputer,
						record.bond,
						Precision::Exact,
						Fortitude::Force,
					)?;
					commitment.status = CommitmentStatus::Standing;
					WindowRestartedAt::<T>::insert(
						record.commitment,
						frame_system::Pallet::<T>::block_number(),
					);
				},
			}
			OpenDisputesAgainst::<T>::mutate_exists(commitment.committer, |open| {
				*open = open.map(|n| n.saturating_sub(1)).filter(|n| *n > 0);
			});
			let id = record.commitment;
			Commitments::<T>::insert(id, commitment);
			Disputes::<T>::remove(dispute);
			Self::deposit_event(Event::DisputeResolved {
				dispute,
				id,
				verdict,
				disputer: record.disputer,
				bond: record.bond,
			});
			Ok(())
		}

		/// Prunes the stored leaves of the `ModelUpdate` commitment `id`
		/// once [`Config::LeafRetention`] blocks have passed and while it is
		/// not under dispute; anyone may call it. The root stays; the leaves'
		/// deposit returns to the committer's account.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::prune_leaves(T::MaxStoredLeaves::get()))]
		pub fn prune_leaves(origin: OriginFor<T>, id: CommitmentId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let commitment = Commitments::<T>::get(id).ok_or(Error::<T>::NotFound)?;
			let record = Leaves::<T>::get(id).ok_or(Error::<T>::NoStoredLeaves)?;
			ensure!(commitment.kind == CommitmentKind::ModelUpdate, Error::<T>::LeavesKeptForever);
			ensure!(
				!matches!(commitment.status, CommitmentStatus::Disputed(_)),
				Error::<T>::UnderDispute
			);
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				now >= commitment.block.saturating_add(T::LeafRetention::get()),
				Error::<T>::RetentionNotOver
			);

			release::<_, T::Currency>(
				&HoldReason::CommitmentDeposit.into(),
				&commitment.account,
				record.deposit,
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			Leaves::<T>::remove(id);
			Self::deposit_event(Event::LeavesPruned { id, refunded: record.deposit });
			Ok(Some(T::WeightInfo::prune_leaves(record.leaves.len() as u32)).into())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Records the commitment of `committer` made for `who`: every check
		/// but the committer's control, then the writes of
		/// [`Pallet::commit`] (for a signer, the deposit held from `who`);
		/// the new commitment's id.
		#[allow(clippy::too_many_arguments)]
		pub(crate) fn do_commit(
			who: T::AccountId,
			committer: DidId,
			kind: CommitmentKind,
			hash: H256,
			merkle: Option<MerkleInputOf<T>>,
			schema: SchemaTag<T>,
			inputs: Inputs<T>,
			job_round: Option<JobRound>,
			made_by: MadeBy,
		) -> Result<CommitmentId, DispatchError> {
			ensure!(hash != H256::zero(), Error::<T>::ZeroHash);
			ensure_valid_schema::<T>(&schema)?;
			Self::ensure_valid_inputs(kind, &inputs, made_by)?;
			if let Some(round) = &job_round {
				ensure!(T::Jobs::exists(round), Error::<T>::UnknownJobRound);
			}
			let (root, leaves) = Self::merkle_root(merkle)?;
			let id = NextCommitmentId::<T>::get();
			let next = id.checked_add(1).ok_or(Error::<T>::IdsExhausted)?;

			let mut record = Commitment::<T> {
				kind,
				hash,
				merkle: root,
				committer,
				account: who.clone(),
				schema,
				inputs,
				job_round,
				block: frame_system::Pallet::<T>::block_number(),
				status: CommitmentStatus::Standing,
				attestations: 0,
				deposit: Zero::zero(),
			};
			let mut leaf_deposit = Zero::zero();
			if made_by == MadeBy::Signer {
				record.deposit = Self::deposit_for(record.encoded_size());
				leaf_deposit = Self::leaf_deposit(leaves.len());
				T::Currency::hold(
					&HoldReason::CommitmentDeposit.into(),
					&who,
					record.deposit.saturating_add(leaf_deposit),
				)
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			}

			let leaves_stored = leaves.len() as u32;
			if !leaves.is_empty() {
				Leaves::<T>::insert(id, LeafRecord { leaves, deposit: leaf_deposit });
			}
			NextCommitmentId::<T>::put(next);
			ByCommitter::<T>::insert(committer, id, ());
			if let Some(round) = job_round {
				ByJob::<T>::insert(round.job, (round.round, id), ());
			}
			Commitments::<T>::insert(id, record);
			Self::deposit_event(Event::Committed {
				id,
				kind,
				committer,
				account: who,
				hash,
				merkle: root,
				job_round,
				leaves_stored,
			});
			Ok(id)
		}

		/// Whether a commitment of `kind` that names a job round is the
		/// chain's to make: a round's updates and aggregate are recorded by
		/// the federated pallet, so a signed one could only pass for them.
		fn made_by_chain_only(kind: CommitmentKind) -> bool {
			matches!(kind, CommitmentKind::ModelUpdate | CommitmentKind::AggregatedModel)
		}

		/// Fails unless `who` controls the active Institution or Model DID `committer`.
		fn ensure_controls_committer(committer: &DidId, who: &T::AccountId) -> DispatchResult {
			let access = T::Dids::access(committer, who).ok_or(Error::<T>::CommitterNotFound)?;
			ensure!(
				matches!(access.kind, SubjectKind::Institution | SubjectKind::Model),
				Error::<T>::InvalidCommitter
			);
			ensure!(access.role == Some(DidRole::Controller), Error::<T>::NotAuthorized);
			Ok(())
		}

		/// Fails unless every input exists (a signer's datasets active), none
		/// repeats, and they suit `kind`.
		fn ensure_valid_inputs(
			kind: CommitmentKind,
			inputs: &[Input],
			made_by: MadeBy,
		) -> DispatchResult {
			ensure!(!inputs.is_empty(), Error::<T>::NoInputs);
			let next = NextCommitmentId::<T>::get();
			for (position, input) in inputs.iter().enumerate() {
				ensure!(
					!inputs.iter().take(position).any(|earlier| earlier == input),
					Error::<T>::DuplicateInput
				);
				match input {
					Input::Dataset(did) => ensure!(
						made_by == MadeBy::Chain
							|| T::Dids::active_kind(did) == Some(SubjectKind::Dataset),
						Error::<T>::UnknownDataset
					),
					// Ids below the next one were all taken: no read needed.
					Input::Commitment(id) => ensure!(*id < next, Error::<T>::UnknownInput),
				}
			}
			let links_commitment = inputs.iter().any(|i| matches!(i, Input::Commitment(_)));
			match kind {
				CommitmentKind::DatasetSnapshot => {
					ensure!(!links_commitment, Error::<T>::SnapshotOfNonDataset)
				},
				CommitmentKind::Reproduction => {
					ensure!(links_commitment, Error::<T>::ReproductionWithoutOriginal)
				},
				_ => {},
			}
			Ok(())
		}

		/// The Merkle root of `merkle`, and the leaves to store.
		fn merkle_root(
			merkle: Option<MerkleInputOf<T>>,
		) -> Result<(Option<MerkleRoot>, StoredLeaves<T>), Error<T>> {
			match merkle {
				None => Ok((None, Default::default())),
				Some(MerkleInput::Root(root)) => {
					ensure!(root.leaf_count > 0, Error::<T>::EmptyMerkleTree);
					Ok((Some(root), Default::default()))
				},
				Some(MerkleInput::Leaves(leaves)) => {
					let hashes: Vec<_> = leaves
						.iter()
						.map(|leaf| twinnet_merkle::leaf_hash(leaf.as_bytes()))
						.collect();
					let root = twinnet_merkle::root_of_hashes(&hashes)
						.ok_or(Error::<T>::EmptyMerkleTree)?;
					let root = MerkleRoot { root: H256(root), leaf_count: leaves.len() as u32 };
					Ok((Some(root), leaves))
				},
			}
		}

		/// The deposit of a record of `bytes` bytes.
		pub(crate) fn deposit_for(bytes: usize) -> BalanceOf<T> {
			T::DepositBase::get().saturating_add(Self::per_byte(bytes))
		}

		/// The deposit of `count` stored leaves.
		pub(crate) fn leaf_deposit(count: usize) -> BalanceOf<T> {
			Self::per_byte(count.saturating_mul(32))
		}

		fn per_byte(bytes: usize) -> BalanceOf<T> {
			let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
			T::DepositPerByte::get().saturating_mul(bytes.into())
		}

		/// The chain's genesis hash, which attestations sign.
		pub fn genesis_hash() -> H256 {
			let genesis = frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero());
			H256::from_slice(genesis.as_ref())
		}

		/// Commitment `id` as the runtime API shows it.
		pub fn view(
			id: CommitmentId,
		) -> Option<CommitmentView<T::AccountId, BlockNumberFor<T>, BalanceOf<T>>> {
			let commitment = Commitments::<T>::get(id)?;
			let attestations = Self::attestations(id, None, ATTESTATIONS_IN_VIEW);
			let dispute = match commitment.status {
				CommitmentStatus::Disputed(dispute) => {
					Disputes::<T>::get(dispute).map(|d| DisputeView {
						id: dispute,
						disputer: d.disputer,
						bond: d.bond,
						reason: d.reason,
						opened: d.opened,
						answer: match d.state {
							DisputeState::Open => None,
							DisputeState::Answered(counter) => Some(counter),
						},
					})
				},
				_ => None,
			};
			Some(CommitmentView {
				id,
				kind: commitment.kind,
				hash: commitment.hash,
				merkle: commitment.merkle,
				leaves_stored: Leaves::<T>::contains_key(id),
				committer: commitment.committer,
				account: commitment.account,
				schema: commitment.schema.into_inner(),
				inputs: commitment.inputs.into_inner(),
				job_round: commitment.job_round,
				block: commitment.block,
				status: commitment.status,
				attestations,
				dispute,
			})
		}

		/// Up to `limit` attestations of commitment `id`, in storage order
		/// after the attester `start_after`.
		pub fn attestations(
			id: CommitmentId,
			start_after: Option<DidId>,
			limit: u32,
		) -> Vec<AttestationView<T::AccountId, BlockNumberFor<T>>> {
			let entries = match start_after {
				Some(after) => Attestations::<T>::iter_prefix_from(
					id,
					Attestations::<T>::hashed_key_for(id, after),
				),
				None => Attestations::<T>::iter_prefix(id),
			};
			entries.take(limit as usize).map(|(attester, a)| a.view(attester)).collect()
		}

		/// `attester`'s attestation of commitment `id`, if it made one.
		pub fn attestation(
			id: CommitmentId,
			attester: DidId,
		) -> Option<AttestationView<T::AccountId, BlockNumberFor<T>>> {
			Attestations::<T>::get(id, attester).map(|a| a.view(attester))
		}

		/// Whether the chain made commitment `id`: it is the commitment the
		/// federated pallet recorded for its job round's released aggregate.
		pub fn made_by_chain(id: CommitmentId) -> bool {
			Commitments::<T>::get(id)
				.and_then(|commitment| commitment.job_round)
				.is_some_and(|round| T::Jobs::aggregate_commitment(&round) == Some(id))
		}

		/// Up to `limit` commitments of `committer`, in storage order after `start_after`.
		pub fn by_committer(
			committer: DidId,
			start_after: Option<CommitmentId>,
			limit: u32,
		) -> Vec<CommitmentId> {
			let keys = match start_after {
				Some(after) => ByCommitter::<T>::iter_key_prefix_from(
					committer,
					ByCommitter::<T>::hashed_key_for(committer, after),
				),
				None => ByCommitter::<T>::iter_key_prefix(committer),
			};
			keys.take(limit as usize).collect()
		}

		/// Up to `limit` (round, commitment) of `job`, in storage order after `start_after`.
		pub fn by_job(
			job: JobId,
			start_after: Option<(u32, CommitmentId)>,
			limit: u32,
		) -> Vec<(u32, CommitmentId)> {
			let keys = match start_after {
				Some(after) => {
					ByJob::<T>::iter_key_prefix_from(job, ByJob::<T>::hashed_key_for(job, after))
				},
				None => ByJob::<T>::iter_key_prefix(job),
			};
			keys.take(limit as usize).collect()
		}

		/// The provenance of commitment `id`: it and what it was computed
		/// from, breadth first, at most `max_depth` links away and at most
		/// `max_nodes` nodes (`truncated` tells whether more exist). Each
		/// commitment node comes with its summary (kind, status, number of
		/// attestations) from the one read of its record the walk makes; a
		/// node without a summary is a dataset, or (only the first) a
		/// commitment that does not exist. Full views are [`Pallet::view`]'s.
		pub fn provenance(
			id: CommitmentId,
			max_depth: u32,
			max_nodes: u32,
		) -> (Vec<ProvenanceEntry>, bool) {
			let mut nodes = Vec::new();
			let mut frontier = alloc::collections::VecDeque::from([(Input::Commitment(id), 0u32)]);
			let mut seen = alloc::collections::BTreeSet::from([Input::Commitment(id)]);
			let mut truncated = false;
			while let Some((input, depth)) = frontier.pop_front() {
				if nodes.len() >= max_nodes as usize {
					truncated = true;
					break;
				}
				let (inputs, summary) = match input {
					Input::Commitment(id) => Commitments::<T>::get(id)
						.map(|c| {
							(Some(c.inputs.into_inner()), Some((c.kind, c.status, c.attestations)))
						})
						.unwrap_or_default(),
					Input::Dataset(_) => (None, None),
				};
				if let Some(inputs) = &inputs {
					if depth >= max_depth {
						truncated |= !inputs.is_empty();
					} else {
						for next in inputs {
							if seen.insert(*next) {
								frontier.push_back((*next, depth.saturating_add(1)));
							}
						}
					}
				}
				nodes.push((
					ProvenanceNode { node: input, depth, inputs: inputs.unwrap_or_default() },
					summary,
				));
			}
			(nodes, truncated)
		}

		/// The stored leaves of commitment `id`.
		pub fn stored_leaves(id: CommitmentId) -> Option<Vec<H256>> {
			Leaves::<T>::get(id).map(|record| record.leaves.into_inner())
		}

		/// Checks the pallet's invariants: ids below the counters, links to
		/// lower ids, indexes and counts matching the records, roots matching
		/// stored leaves, disputes matching statuses, and restarted dispute
		/// windows only of standing commitments.
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			let next = NextCommitmentId::<T>::get();
			let mut open_by_committer = alloc::collections::BTreeMap::<DidId, u32>::new();
			for (id, commitment) in Commitments::<T>::iter() {
				ensure!(id < next, "a commitment id is not below the counter");
				ensure!(
					commitment.inputs.iter().all(|input| match input {
						Input::Commitment(input) => *input < id,
						Input::Dataset(_) => true,
					}),
					"a commitment links a later commitment"
				);
				ensure!(
					ByCommitter::<T>::contains_key(commitment.committer, id),
					"a commitment is missing from its committer's index"
				);
				if let Some(round) = commitment.job_round {
					ensure!(
						ByJob::<T>::contains_key(round.job, (round.round, id)),
						"a commitment is missing from its job's index"
					);
				}
				let attestations = Attestations::<T>::iter_prefix(id).count();
				ensure!(
					attestations == commitment.attestations as usize,
					"a commitment's attestation count is wrong"
				);
				if let CommitmentStatus::Disputed(dispute) = commitment.status {
					let record = Disputes::<T>::get(dispute)
						.ok_or("a disputed commitment has no dispute")?;
					ensure!(record.commitment == id, "a dispute names another commitment");
					let open = open_by_committer.entry(commitment.committer).or_default();
					*open = open.saturating_add(1);
				}
			}
			for (id, record) in Leaves::<T>::iter() {
				let commitment = Commitments::<T>::get(id).ok_or("leaves of no commitment")?;
				let hashes: Vec<_> = record
					.leaves
					.iter()
					.map(|leaf| twinnet_merkle::leaf_hash(leaf.as_bytes()))
					.collect();
				let root = twinnet_merkle::root_of_hashes(&hashes).map(H256);
				ensure!(
					commitment.merkle.map(|m| (m.root, m.leaf_count))
						== root.map(|root| (root, record.leaves.len() as u32)),
					"stored leaves do not match the commitment's root"
				);
			}
			for (dispute, record) in Disputes::<T>::iter() {
				ensure!(
					dispute < NextDisputeId::<T>::get(),
					"a dispute id is not below the counter"
				);
				let status = Commitments::<T>::get(record.commitment).map(|c| c.status);
				ensure!(
					status == Some(CommitmentStatus::Disputed(dispute)),
					"an open dispute's commitment is not disputed by it"
				);
			}
			for (id, restarted) in WindowRestartedAt::<T>::iter() {
				let commitment = Commitments::<T>::get(id).ok_or("a window of no commitment")?;
				ensure!(
					commitment.status != CommitmentStatus::Refuted && restarted >= commitment.block,
					"a dispute window restarts for a refuted commitment or before it"
				);
			}
			for (committer, open) in OpenDisputesAgainst::<T>::iter() {
				ensure!(
					open_by_committer.get(&committer) == Some(&open),
					"a committer's open dispute count is wrong"
				);
			}
			ensure!(
				OpenDisputesAgainst::<T>::iter().count() == open_by_committer.len(),
				"a committer with open disputes has no count"
			);
			for (committer, id) in ByCommitter::<T>::iter_keys() {
				ensure!(
					Commitments::<T>::get(id).map(|c| c.committer) == Some(committer),
					"a committer index entry names no commitment of it"
				);
			}
			Ok(())
		}
	}

	/// A schema tag is printable ASCII without surrounding spaces.
	fn ensure_valid_schema<T: Config>(schema: &[u8]) -> DispatchResult {
		let printable = schema.iter().all(|b| (0x20..=0x7e).contains(b));
		let trimmed = schema.first() != Some(&b' ') && schema.last() != Some(&b' ');
		ensure!(!schema.is_empty() && printable && trimmed, Error::<T>::InvalidSchema);
		Ok(())
	}
}

impl<T: Config> twinnet_primitives::traits::DidDependents for Pallet<T> {
	fn ensure_can_deactivate(did: &DidId, _kind: SubjectKind) -> sp_runtime::DispatchResult {
		frame_support::ensure!(OpenDisputesAgainst::<T>::get(did) == 0, Error::<T>::OpenDisputes);
		Ok(())
	}

	fn on_deactivated(_did: &DidId, _kind: SubjectKind) {}

	fn weight() -> frame_support::weights::Weight {
		use frame_support::traits::Get;
		T::DbWeight::get().reads(1)
	}
}

pub use twinnet_primitives::commitments::ATTESTATIONS_IN_VIEW;

/// The schema tag of the commitments made for released training aggregates:
/// FedAvg of fixed-point parameters with 16 fraction bits.
pub const AGGREGATE_SCHEMA: &[u8] = b"fedavg-q15.16";

impl<T: Config> twinnet_primitives::commitments::RoundCommitments<T::AccountId, BalanceOf<T>>
	for Pallet<T>
{
	/// An `AggregatedModel` commitment of the round's Model DID, with the
	/// update hashes as stored leaves (so `commitments_prove` proves an
	/// update's inclusion) and the round as its job round; no deposit is
	/// held, and a Model DID or dataset deactivated since the job was
	/// posted does not stop it ([`MadeBy::Chain`]).
	fn commit_aggregate(
		account: &T::AccountId,
		aggregate: twinnet_primitives::commitments::RoundAggregate,
	) -> Result<CommitmentId, sp_runtime::DispatchError> {
		use frame_support::BoundedVec;
		use twinnet_primitives::traits::DidRegistry;
		// The job's Model DID was checked when it was posted; if it is
		// still active it must be a model.
		frame_support::ensure!(
			T::Dids::active_kind(&aggregate.model).is_none_or(|kind| kind == SubjectKind::Model),
			Error::<T>::InvalidCommitter
		);
		let leaves =
			BoundedVec::try_from(aggregate.updates).map_err(|_| Error::<T>::MaxLeavesExceeded)?;
		let inputs =
			BoundedVec::try_from(aggregate.inputs).map_err(|_| Error::<T>::MaxInputsExceeded)?;
		let schema = BoundedVec::try_from(AGGREGATE_SCHEMA.to_vec())
			.map_err(|_| Error::<T>::InvalidSchema)?;
		Self::do_commit(
			account.clone(),
			aggregate.model,
			CommitmentKind::AggregatedModel,
			aggregate.aggregate,
			Some(MerkleInput::Leaves(leaves)),
			schema,
			inputs,
			Some(aggregate.round),
			MadeBy::Chain,
		)
	}

	/// What a signed commitment of the record at its largest and of
	/// `updates` leaves would hold.
	fn aggregate_deposit(updates: u32) -> BalanceOf<T> {
		use codec::MaxEncodedLen;
		use sp_runtime::traits::Saturating;
		Self::deposit_for(Commitment::<T>::max_encoded_len())
			.saturating_add(Self::leaf_deposit(updates as usize))
	}

	fn commit_aggregate_weight(inputs: u32, updates: u32) -> frame_support::weights::Weight {
		use frame_support::traits::Get;
		T::WeightInfo::commit(inputs, updates)
			.saturating_add(<T as frame_system::Config>::DbWeight::get().reads(1))
	}
}
