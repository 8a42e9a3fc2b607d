//! # pallet-consent: patients' consent to the use of their twin's data
//!
//! Patients decide, from their own wallets, who may see or compute on their
//! twin's data; every other pallet checks that decision, through
//! [`ConsentLedger`], before any access.
//!
//! ## Grants
//!
//! A grant ([`Grant`]) ties together a patient twin (`pallet-twins` DID), a
//! grantee (a researcher's account, an institution DID, or a federated job),
//! a [`Scope`] (`View`: read and decrypt; `Compute`: approved computations
//! whose results leave only in aggregate), a set of [`Purpose`]s, optionally
//! the only datasets it covers, a period (start and expiry blocks) and, for
//! compute grants, a differential-privacy budget that computations spend.
//!
//! - [`Pallet::grant`] makes one; [`Pallet::revoke`] ends it in the same
//!   block; [`Pallet::narrow`] only ever reduces it (fewer purposes or
//!   datasets, earlier expiry, smaller budget).
//! - A researcher asks with [`Pallet::request_access`]; the patient
//!   [`Pallet::approve_request`]s (which makes the grant) or
//!   [`Pallet::reject_request`]s. Open requests expire after
//!   [`Config::RequestLifetime`]; [`Pallet::close_request`] withdraws one or
//!   clears an expired one.
//! - A grantee records a use of a view grant with [`Pallet::record_use`];
//!   pallets record uses and spend budget through [`ConsentLedger`]. A spend
//!   is bound to its spender: the grantee's own live compute grant covering
//!   the purpose and dataset, with budget left for the amount.
//! - A compute grant may be bound ([`Binding`]) to one job, one model, one
//!   algorithm (code hash) and a per-round epsilon cap. A grant names a
//!   job (as its grantee or binding) only once the job is posted
//!   ([`Config::Jobs`]): job ids are sequential, so a grant naming an id
//!   not yet taken would go to whoever posted that id first, whereas a
//!   posted job's researcher and spec never change.
//!
//! ## Training rounds
//!
//! A federated job admits a cohort round by round, in two steps:
//! [`ConsentLedger::reserve`] reserves the round's cost on every twin's grant
//! (each twin admitted or excluded on its own, with the reason), and
//! [`ConsentLedger::settle`] spends it when the round's aggregate is released
//! or returns it when the round released nothing. At most one reservation
//! per twin and round; reserved budget counts against the grant until
//! settled, and a grant with a reservation cannot be pruned. The job finds
//! its cohort through the grants-by-grantee index
//! ([`ConsentLedger::grants_held_by`]) and hears of revocations through
//! [`Config::OnRevoke`], so a revoked twin is out of the very next round.
//! - [`Pallet::prune_grant`] deletes a revoked or expired grant, or any grant
//!   of a deactivated twin, and returns its deposit.
//! - While a twin has live grants, it cannot be deactivated
//!   ([`DidDependents`]).
//!
//! ## Who decides
//!
//! The patient: the account `pallet-twins` records as the twin's patient
//! ([`DidRegistry::is_patient`]). A guardian: whoever else controls the twin
//! (its controlling account, or through its controlling DID). Both may
//! grant; a guardian cannot revoke or narrow what the patient granted, while
//! the patient may override any grant, so the patient has the last word.
//!
//! ## Audit trail
//!
//! Every action emits an event. Decisions append to the twin's decision
//! trail ([`AuditTrail`], the latest [`Config::MaxAuditRecords`]): grants,
//! narrowings and revocations; every request the patient's side approved or
//! rejected, with who asked (the requester), for whom (the grantee), the
//! scope and the purposes asked for; and prunes. Only the patient's side
//! writes it, and prunes, which only delete grants the patient's side made
//! and which have ended. A request merely opened or withdrawn is not in the
//! trail, only in events ([`Event::AccessRequested`],
//! [`Event::RequestClosed`]): anyone may ask, so strangers could otherwise
//! push the patient's decisions out of it.
//!
//! Budget spends append to the spend trail of the grant they were made under
//! ([`SpendTrail`], by twin and grant, the latest [`Config::MaxSpendRecords`]
//! of that grant), with the job round; only pallets spending under that
//! grant write it, so a grantee spending in many tiny rounds pushes out only
//! its own older spends, never another grantee's. The grant's `spent` and
//! `uses` are the never-erased totals. Uses are counted on the grant only.
//! So no grantee can push another's records out of a trail. Many jobs may
//! spend under one grant (an institution's, say, whose jobs come from many
//! researchers): each job's total under the grant is a record of its own
//! ([`JobSpends`]: spent, rounds, first and last block), which only that
//! job's spends write, paid for by the job's deposit and kept after the
//! grant is pruned ([`Pallet::job_spends`], RPC `consent_jobSpendsOf`).
//!
//! A prune deletes the grant's spend trail with the grant, so a twin's
//! trails stay bounded by [`Config::MaxGrantsPerTwin`] ×
//! [`Config::MaxSpendRecords`] and their storage is freed with the grant
//! whose deposit goes back (the deposit is priced on the grant's own bytes,
//! not on its trail), and records [`AuditEvent::Pruned`] in the decision
//! trail with the grant's grantee and final totals (all the budget spent,
//! all the uses counted), so the history stays auditable after the prune.
//! [`Pallet::audit_trail`] returns the decision trail, then every spend of
//! the twin's grants by block.
//!
//! Records written before storage version 3 keep their encoding as the
//! `Legacy…` variants of [`AuditEvent`] (without requester or totals, which
//! were never stored); see [`migrations::MigrateV2ToV3`].
//!
//! ## Deposits
//!
//! Whoever stores pays: a grant holds [`Config::GrantDepositBase`] plus
//! [`Config::DepositPerByte`] per byte from its signer; a request holds
//! [`Config::RequestDeposit`] from the requester until it is closed. Open
//! requests are capped per requester, not per twin, so strangers cannot fill
//! a patient's queue.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod migrations;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use frame_support::traits::fungible;
use twinnet_primitives::commitments::{JobId, JobRounds};
use twinnet_primitives::{
	consent::{
		Access, AuditEvent, AuditRecord, Authority, Binding, ConsentDenied, ConsentLedger, GrantId,
		GrantView, Grantee, JobRound, JobSpend, OnGrantRevoked, PrivacyBudget, Purpose, Purposes,
		Scope, Settlement,
	},
	did::{DidId, SubjectKind},
	traits::{DidDependents, DidRegistry, DidRole},
};

/// The weight of reading whether a bound job was posted, beyond the
/// benchmarked calls (their benchmarks bind no job).
fn job_read<T: frame_system::Config>() -> frame_support::weights::Weight {
	use frame_support::traits::Get;
	T::DbWeight::get().reads(1)
}

/// A balance of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// The identifier of an access request.
pub type RequestId = u64;

/// Creates the DIDs benchmarks need (the runtime does so through pallet-twins).
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// A DID of `kind`, created by `creator` (who pays its deposit) and
	/// controlled by `controller`.
	fn create_did(
		creator: &AccountId,
		kind: SubjectKind,
		controller: twinnet_primitives::did::Controller<AccountId>,
	) -> DidId;

	/// Makes `patient` the patient of `twin`, offered by `controller`.
	fn bind_patient(twin: &DidId, controller: &AccountId, patient: &AccountId);
}

// FRAME's pallet macros expand to `expect` on values they build themselves
// (storage prefixes, error and constant metadata); hand-written code here uses
// neither `expect` nor `unwrap`.
#[allow(clippy::expect_used)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use codec::Encode;
	use frame_support::{pallet_prelude::*, traits::fungible::MutateHold};
	use frame_system::pallet_prelude::*;
	use sp_runtime::{
		traits::{Saturating, Zero},
		FixedU64, Perquintill,
	};
	use twinnet_primitives::deposit::{move_deposit, release};

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(3);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// The currency deposits are held in.
		type Currency: fungible::Mutate<Self::AccountId>
			+ fungible::InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ fungible::MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The runtime's hold reasons, which include this pallet's.
		type RuntimeHoldReason: From<HoldReason>;

		/// The DID registry: which twins exist and who controls them.
		type Dids: DidRegistry<Self::AccountId>;

		/// Told of every revocation, so that jobs stop using the twin.
		type OnRevoke: OnGrantRevoked<Self::AccountId>;

		/// Which federated jobs were posted: a grant binds only to a job
		/// that exists, so nobody can take the id it names by posting first.
		type Jobs: JobRounds;

		/// The fixed part of a grant's deposit.
		#[pallet::constant]
		type GrantDepositBase: Get<BalanceOf<Self>>;

		/// The deposit per byte a grant stores.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;

		/// The deposit of an access request.
		#[pallet::constant]
		type RequestDeposit: Get<BalanceOf<Self>>;

		/// How long a request stays open for the patient to decide.
		#[pallet::constant]
		type RequestLifetime: Get<BlockNumberFor<Self>>;

		/// The longest period a grant may cover, in blocks.
		#[pallet::constant]
		type MaxGrantDuration: Get<BlockNumberFor<Self>>;

		/// The largest epsilon a compute grant may allow.
		#[pallet::constant]
		type MaxEpsilon: Get<FixedU64>;

		/// The largest delta a compute grant may allow (below 1).
		#[pallet::constant]
		type MaxDelta: Get<Perquintill>;

		/// The most grants (live or not yet pruned) a twin may have.
		#[pallet::constant]
		type MaxGrantsPerTwin: Get<u32>;

		/// The most open requests one requester may have, over all twins.
		#[pallet::constant]
		type MaxOpenRequestsPerRequester: Get<u32>;

		/// The most purposes a grant may list.
		#[pallet::constant]
		type MaxPurposes: Get<u32>;

		/// The most datasets a grant may be restricted to.
		#[pallet::constant]
		type MaxDatasets: Get<u32>;

		/// How many decisions each twin's decision trail keeps (the latest).
		#[pallet::constant]
		type MaxAuditRecords: Get<u32>;

		/// How many spends each grant's spend trail keeps (the latest).
		#[pallet::constant]
		type MaxSpendRecords: Get<u32>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;

		/// Creates the DIDs benchmarks need.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The deposit of a consent grant.
		#[codec(index = 0)]
		GrantDeposit,
		/// The deposit of an access request.
		#[codec(index = 1)]
		RequestDeposit,
	}

	/// Grants by twin.
	#[pallet::storage]
	pub type Grants<T: Config> =
		StorageDoubleMap<_, Twox64Concat, DidId, Twox64Concat, GrantId, Grant<T>>;

	/// Every grant by its grantee, as (twin, grant): how a grantee (a job,
	/// an institution, a researcher) finds the twins it may use.
	#[pallet::storage]
	pub type GrantsByGrantee<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		Grantee<T::AccountId>,
		Twox64Concat,
		(DidId, GrantId),
		(),
		OptionQuery,
	>;

	/// Budget reserved for job rounds that have not ended, by round and twin.
	#[pallet::storage]
	pub type Reservations<T: Config> =
		StorageDoubleMap<_, Twox64Concat, JobRound, Twox64Concat, DidId, Reservation<T>>;

	/// How many grants each twin has.
	#[pallet::storage]
	pub type GrantCount<T: Config> = StorageMap<_, Twox64Concat, DidId, u32, ValueQuery>;

	/// The identifier of the next grant.
	#[pallet::storage]
	pub type NextGrantId<T: Config> = StorageValue<_, GrantId, ValueQuery>;

	/// Open access requests by twin.
	#[pallet::storage]
	pub type Requests<T: Config> =
		StorageDoubleMap<_, Twox64Concat, DidId, Twox64Concat, RequestId, AccessRequest<T>>;

	/// How many open requests each requester has.
	#[pallet::storage]
	pub type OpenRequests<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// The identifier of the next request.
	#[pallet::storage]
	pub type NextRequestId<T: Config> = StorageValue<_, RequestId, ValueQuery>;

	/// Each twin's decision trail: the latest [`Config::MaxAuditRecords`]
	/// grants, narrowings, revocations, request decisions and prunes.
	#[pallet::storage]
	pub type AuditTrail<T: Config> = StorageMap<
		_,
		Twox64Concat,
		DidId,
		BoundedVec<AuditRecordOf<T>, T::MaxAuditRecords>,
		ValueQuery,
	>;

	/// What each job spent under each grant of a twin, by twin, grant and
	/// job: totals over the job's rounds, written only by that job's spends,
	/// so no other spender pushes them out (a grant's spend trail keeps
	/// only its latest spends, whoever made them). Paid for by the job's
	/// deposit ([`ConsentLedger::job_spend_bytes`]) and kept, as the job's
	/// own records are, after the grant is pruned.
	#[pallet::storage]
	pub type JobSpends<T: Config> = StorageNMap<
		_,
		(
			NMapKey<Twox64Concat, DidId>,
			NMapKey<Twox64Concat, GrantId>,
			NMapKey<Twox64Concat, JobId>,
		),
		JobSpendOf<T>,
	>;

	/// Each grant's spend trail, by twin and grant: the latest
	/// [`Config::MaxSpendRecords`] budget spends under the grant. Only spends
	/// under the grant write it; it is deleted with the grant.
	#[pallet::storage]
	pub type SpendTrail<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		DidId,
		Twox64Concat,
		GrantId,
		BoundedVec<SpendRecordOf<T>, T::MaxSpendRecords>,
		ValueQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// Consent was granted.
		Granted {
			twin: DidId,
			grant: GrantId,
			grantee: Grantee<T::AccountId>,
			scope: Scope,
			expires_at: BlockNumberFor<T>,
			budget: Option<PrivacyBudget>,
			by: Authority,
		},
		/// A grant was narrowed.
		Narrowed { twin: DidId, grant: GrantId, by: Authority },
		/// A grant was revoked; it no longer applies from this block on.
		Revoked { twin: DidId, grant: GrantId, by: Authority },
		/// A grant was used.
		Used { twin: DidId, grant: GrantId, grantee: Grantee<T::AccountId>, purpose: Purpose },
		/// Privacy budget was reserved under a compute grant for a job round.
		BudgetReserved {
			twin: DidId,
			grant: GrantId,
			grantee: Grantee<T::AccountId>,
			round: JobRound,
			amount: PrivacyBudget,
		},
		/// A round's reserved budget was spent: the round used the twin's data.
		BudgetSpent {
			twin: DidId,
			grant: GrantId,
			grantee: Grantee<T::AccountId>,
			round: JobRound,
			amount: PrivacyBudget,
		},
		/// A round's reserved budget was returned: the round released nothing.
		BudgetReleased { twin: DidId, grant: GrantId, round: JobRound, amount: PrivacyBudget },
		/// A revoked or expired grant was deleted and its deposit returned.
		Pruned { twin: DidId, grant: GrantId },
		/// A researcher asked for access.
		AccessRequested {
			twin: DidId,
			request: RequestId,
			requester: T::AccountId,
			grantee: Grantee<T::AccountId>,
			scope: Scope,
		},
		/// The patient or a guardian approved a request: it became `grant`.
		RequestApproved { twin: DidId, request: RequestId, grant: GrantId, by: Authority },
		/// The patient or a guardian rejected a request.
		RequestRejected { twin: DidId, request: RequestId, by: Authority },
		/// A request was withdrawn, or cleared after it expired.
		RequestClosed { twin: DidId, request: RequestId },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The twin is unknown or deactivated.
		TwinNotFound,
		/// The DID is not a patient twin.
		NotATwin,
		/// The signer is neither the patient nor a guardian of the twin.
		NotAuthorized,
		/// A guardian cannot change what the patient decided.
		PatientDecision,
		/// No such grant on this twin.
		GrantNotFound,
		/// No such open request on this twin.
		RequestNotFound,
		/// The grant was already revoked.
		AlreadyRevoked,
		/// The grant was revoked or has expired.
		GrantNotLive,
		/// The grant is still live: revoke it, or wait for its expiry.
		GrantStillLive,
		/// Purposes must be 1 or more, ascending, each once.
		InvalidPurposes,
		/// A dataset list must be non-empty, each dataset once.
		InvalidDatasets,
		/// A named dataset is not an active dataset DID.
		UnknownDataset,
		/// The grantee institution is not an active institution DID.
		InvalidGrantee,
		/// The period must end after it starts and after this block.
		InvalidPeriod,
		/// A compute grant needs a privacy budget with a positive epsilon.
		MissingBudget,
		/// A view grant has no privacy budget.
		BudgetOnViewGrant,
		/// A view grant cannot be bound to a job, model, code or round cap.
		BindingOnViewGrant,
		/// A per-round epsilon cap must be positive and at most the budget's epsilon.
		InvalidRoundCap,
		/// Budget is reserved on the grant for a round that has not ended.
		BudgetReserved,
		/// Narrowing must not widen anything and must change something.
		NotNarrower,
		/// The narrowed budget is below what was already spent.
		BudgetBelowSpent,
		/// The twin has as many grants as allowed; prune revoked or expired ones.
		TooManyGrants,
		/// The requester has as many open requests as allowed.
		TooManyOpenRequests,
		/// The period is longer than [`Config::MaxGrantDuration`].
		PeriodTooLong,
		/// Epsilon or delta is above [`Config::MaxEpsilon`] or [`Config::MaxDelta`].
		BudgetTooLarge,
		/// The twin has live grants; revoke them before deactivating it.
		LiveGrants,
		/// The request expired.
		RequestExpired,
		/// Only the requester may close a request before it expires.
		RequestStillOpen,
		/// The signer cannot pay the deposit.
		CannotPayDeposit,
		/// The grantee has no grant on this twin.
		NoGrant,
		/// The grant was revoked.
		Revoked,
		/// The grant's period has not begun.
		NotStarted,
		/// The grant expired.
		Expired,
		/// The grant is for another scope.
		ScopeMismatch,
		/// The grant does not cover this purpose.
		PurposeNotGranted,
		/// The grant is restricted to other datasets.
		DatasetNotCovered,
		/// The spend would exceed the grant's privacy budget.
		BudgetExceeded,
		/// A spend must be of a positive amount.
		ZeroSpend,
		/// The grant is bound to another job, model or code.
		ComputationNotCovered,
		/// The amount is above the grant's per-round epsilon cap.
		RoundCapExceeded,
		/// A reservation needs the job round it is for.
		MissingComputation,
		/// Budget of this twin is already reserved for this round.
		AlreadyReserved,
		/// A grant names (as grantee or binding) only a job already posted:
		/// a job id not yet taken would go to whoever posts it first.
		UnknownJob,
	}

	impl<T> From<ConsentDenied> for Error<T> {
		fn from(denied: ConsentDenied) -> Self {
			match denied {
				ConsentDenied::TwinNotFound => Error::TwinNotFound,
				ConsentDenied::NoGrant => Error::NoGrant,
				ConsentDenied::Revoked => Error::Revoked,
				ConsentDenied::NotStarted => Error::NotStarted,
				ConsentDenied::Expired => Error::Expired,
				ConsentDenied::ScopeMismatch => Error::ScopeMismatch,
				ConsentDenied::PurposeNotGranted => Error::PurposeNotGranted,
				ConsentDenied::DatasetNotCovered => Error::DatasetNotCovered,
				ConsentDenied::BudgetExceeded => Error::BudgetExceeded,
				ConsentDenied::ZeroSpend => Error::ZeroSpend,
				ConsentDenied::ComputationNotCovered => Error::ComputationNotCovered,
				ConsentDenied::RoundCapExceeded => Error::RoundCapExceeded,
				ConsentDenied::MissingComputation => Error::MissingComputation,
				ConsentDenied::AlreadyReserved => Error::AlreadyReserved,
			}
		}
	}

	/// Compute grants that exist from genesis, such as a test chain's cohort.
	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The grants to make, in order.
		pub grants: alloc::vec::Vec<GenesisGrant<T::AccountId>>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			for entry in &self.grants {
				if let Err(error) = Pallet::<T>::grant_at_genesis(entry) {
					panic!("genesis grant on {:?} is invalid: {error:?}", entry.twin);
				}
			}
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			for (name, bound) in [
				("MaxGrantsPerTwin", T::MaxGrantsPerTwin::get()),
				("MaxOpenRequestsPerRequester", T::MaxOpenRequestsPerRequester::get()),
				("MaxPurposes", T::MaxPurposes::get()),
				("MaxDatasets", T::MaxDatasets::get()),
				("MaxAuditRecords", T::MaxAuditRecords::get()),
				("MaxSpendRecords", T::MaxSpendRecords::get()),
			] {
				assert!(bound > 0, "pallet-consent: {name} must be positive");
			}
			assert!(
				!T::MaxGrantDuration::get().is_zero(),
				"pallet-consent: MaxGrantDuration must be positive"
			);
			assert!(
				!T::RequestLifetime::get().is_zero(),
				"pallet-consent: RequestLifetime must be positive"
			);
			assert!(!T::MaxEpsilon::get().is_zero(), "pallet-consent: MaxEpsilon must be positive");
			assert!(
				T::MaxDelta::get() < Perquintill::one(),
				"pallet-consent: MaxDelta must be below 1"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Grants, as the twin's patient or guardian, `terms` on `twin`. The
		/// signer holds the grant's deposit.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::grant().saturating_add(job_read::<T>()))]
		pub fn grant(origin: OriginFor<T>, twin: DidId, terms: TermsOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let by = Self::authority(&twin, &who)?;
			Self::do_grant(twin, terms, by, who).map(|_| ())
		}

		/// Revokes `grant`: it no longer applies, from this block on, and
		/// [`Config::OnRevoke`] is told (budget already reserved for a running
		/// round is settled by that round).
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::revoke().saturating_add(T::OnRevoke::weight()))]
		pub fn revoke(origin: OriginFor<T>, twin: DidId, grant: GrantId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let by = Self::authority(&twin, &who)?;
			let mut record = Grants::<T>::get(twin, grant).ok_or(Error::<T>::GrantNotFound)?;
			ensure!(record.revoked_at.is_none(), Error::<T>::AlreadyRevoked);
			Self::ensure_may_change(by, &record)?;

			record.revoked_at = Some(frame_system::Pallet::<T>::block_number());
			let grantee = record.terms.grantee.clone();
			Grants::<T>::insert(twin, grant, record);
			Self::audit(&twin, AuditEvent::Revoked { grant, by });
			Self::deposit_event(Event::Revoked { twin, grant, by });
			T::OnRevoke::on_revoked(&twin, grant, &grantee);
			Ok(())
		}

		/// Narrows `grant` to `narrower` terms: the same grantee and scope,
		/// and purposes, datasets, expiry and budget that are each no wider
		/// (a budget no lower than what was spent).
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::narrow().saturating_add(job_read::<T>()))]
		pub fn narrow(
			origin: OriginFor<T>,
			twin: DidId,
			grant: GrantId,
			narrower: TermsOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let by = Self::authority(&twin, &who)?;
			let mut record = Grants::<T>::get(twin, grant).ok_or(Error::<T>::GrantNotFound)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				record.revoked_at.is_none() && now < record.terms.expires_at,
				Error::<T>::GrantNotLive
			);
			Self::ensure_may_change(by, &record)?;
			Self::ensure_valid_terms(&narrower)?;
			Self::ensure_narrower(&record, &narrower)?;

			let new_deposit = Self::deposit_for(&narrower, &record);
			move_deposit::<_, T::Currency>(
				&HoldReason::GrantDeposit.into(),
				&record.depositor,
				record.deposit,
				&who,
				new_deposit,
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			record.terms = narrower;
			record.depositor = who;
			record.deposit = new_deposit;
			Grants::<T>::insert(twin, grant, record);
			Self::audit(&twin, AuditEvent::Narrowed { grant, by });
			Self::deposit_event(Event::Narrowed { twin, grant, by });
			Ok(())
		}

		/// Asks for access to `twin` on `terms`, as the grantee (its account,
		/// or the controller of its institution DID). The request stays open
		/// for [`Config::RequestLifetime`] blocks; the signer holds
		/// [`Config::RequestDeposit`] until it is closed.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::request_access().saturating_add(job_read::<T>()))]
		pub fn request_access(
			origin: OriginFor<T>,
			twin: DidId,
			terms: TermsOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::ensure_twin(&twin)?;
			ensure!(Self::acts_as(&who, &terms.grantee), Error::<T>::NotAuthorized);
			Self::ensure_valid_terms(&terms)?;
			let open = OpenRequests::<T>::get(&who);
			ensure!(open < T::MaxOpenRequestsPerRequester::get(), Error::<T>::TooManyOpenRequests);

			T::Currency::hold(&HoldReason::RequestDeposit.into(), &who, T::RequestDeposit::get())
				.map_err(|_| Error::<T>::CannotPayDeposit)?;
			let request = NextRequestId::<T>::get();
			NextRequestId::<T>::put(request.saturating_add(1));
			OpenRequests::<T>::insert(&who, open.saturating_add(1));
			let expires_at =
				frame_system::Pallet::<T>::block_number().saturating_add(T::RequestLifetime::get());
			let (grantee, scope) = (terms.grantee.clone(), terms.scope);
			Requests::<T>::insert(
				twin,
				request,
				AccessRequest { terms, requester: who.clone(), expires_at },
			);
			Self::deposit_event(Event::AccessRequested {
				twin,
				request,
				requester: who,
				grantee,
				scope,
			});
			Ok(())
		}

		/// Approves, as the patient or a guardian, an open request: it becomes
		/// a grant on its terms, whose deposit the signer holds.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::approve_request().saturating_add(job_read::<T>()))]
		pub fn approve_request(
			origin: OriginFor<T>,
			twin: DidId,
			request: RequestId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let by = Self::authority(&twin, &who)?;
			let open = Requests::<T>::get(twin, request).ok_or(Error::<T>::RequestNotFound)?;
			ensure!(
				frame_system::Pallet::<T>::block_number() < open.expires_at,
				Error::<T>::RequestExpired
			);
			Self::close(twin, request, &open)?;
			let (requester, purposes) = (open.requester, requested_purposes(&open.terms.purposes));
			let (grantee, scope) = (open.terms.grantee.clone(), open.terms.scope);
			let grant = Self::do_grant(twin, open.terms, by, who)?;
			let approved = AuditEvent::RequestApproved {
				request,
				grant,
				requester,
				grantee,
				scope,
				purposes,
				by,
			};
			Self::audit(&twin, approved);
			Self::deposit_event(Event::RequestApproved { twin, request, grant, by });
			Ok(())
		}

		/// Rejects, as the patient or a guardian, an open request.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::reject_request())]
		pub fn reject_request(
			origin: OriginFor<T>,
			twin: DidId,
			request: RequestId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let by = Self::authority(&twin, &who)?;
			let open = Requests::<T>::get(twin, request).ok_or(Error::<T>::RequestNotFound)?;
			Self::close(twin, request, &open)?;
			let purposes = requested_purposes(&open.terms.purposes);
			let rejected = AuditEvent::RequestRejected {
				request,
				requester: open.requester,
				grantee: open.terms.grantee,
				scope: open.terms.scope,
				purposes,
				by,
			};
			Self::audit(&twin, rejected);
			Self::deposit_event(Event::RequestRejected { twin, request, by });
			Ok(())
		}

		/// Withdraws a request (its requester, at any time), or clears an
		/// expired one or one on a deactivated twin (anyone); the deposit goes
		/// back to the requester.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::close_request())]
		pub fn close_request(
			origin: OriginFor<T>,
			twin: DidId,
			request: RequestId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let open = Requests::<T>::get(twin, request).ok_or(Error::<T>::RequestNotFound)?;
			ensure!(
				who == open.requester
					|| frame_system::Pallet::<T>::block_number() >= open.expires_at
					|| T::Dids::active_kind(&twin).is_none(),
				Error::<T>::RequestStillOpen
			);
			Self::close(twin, request, &open)?;
			Self::deposit_event(Event::RequestClosed { twin, request });
			Ok(())
		}

		/// Records, as `grantee` (its account, or its institution's
		/// controller), a use of `twin`'s data under a live grant with
		/// `scope` and `purpose` (and `dataset`, if named): the grant counts it.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::record_use())]
		pub fn record_use(
			origin: OriginFor<T>,
			twin: DidId,
			grantee: Grantee<T::AccountId>,
			scope: Scope,
			purpose: Purpose,
			dataset: Option<DidId>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(Self::acts_as(&who, &grantee), Error::<T>::NotAuthorized);
			let access = Access { grantee, scope, purpose, dataset, computation: None };
			<Self as ConsentLedger<T::AccountId>>::use_grant(&twin, &access)
				.map_err(Error::<T>::from)?;
			Ok(())
		}

		/// Deletes a revoked or expired grant, or any grant of a deactivated
		/// twin, with its spend trail, and returns its deposit (anyone may
		/// call this), once no round holds budget reserved on it. The
		/// decision trail keeps the grant's grantee and final totals.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::prune_grant())]
		pub fn prune_grant(origin: OriginFor<T>, twin: DidId, grant: GrantId) -> DispatchResult {
			ensure_signed(origin)?;
			let record = Grants::<T>::get(twin, grant).ok_or(Error::<T>::GrantNotFound)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				record.revoked_at.is_some()
					|| now >= record.terms.expires_at
					|| T::Dids::active_kind(&twin).is_none(),
				Error::<T>::GrantStillLive
			);
			ensure!(record.reserved == PrivacyBudget::default(), Error::<T>::BudgetReserved);
			release::<_, T::Currency>(
				&HoldReason::GrantDeposit.into(),
				&record.depositor,
				record.deposit,
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			Grants::<T>::remove(twin, grant);
			SpendTrail::<T>::remove(twin, grant);
			GrantsByGrantee::<T>::remove(&record.terms.grantee, (twin, grant));
			GrantCount::<T>::mutate_exists(twin, decrement);
			let Grant { terms, spent, uses, .. } = record;
			Self::audit(&twin, AuditEvent::Pruned { grant, grantee: terms.grantee, spent, uses });
			Self::deposit_event(Event::Pruned { twin, grant });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// The active patient twin `twin`, or why it is not one.
		fn ensure_twin(twin: &DidId) -> DispatchResult {
			match T::Dids::active_kind(twin) {
				Some(SubjectKind::PatientTwin) => Ok(()),
				Some(_) => Err(Error::<T>::NotATwin.into()),
				None => Err(Error::<T>::TwinNotFound.into()),
			}
		}

		/// Who `who` is for `twin`: its patient, or a guardian (whoever else
		/// controls it). One read of the twin.
		pub fn authority(twin: &DidId, who: &T::AccountId) -> Result<Authority, DispatchError> {
			let access = T::Dids::access(twin, who).ok_or(Error::<T>::TwinNotFound)?;
			ensure!(access.kind == SubjectKind::PatientTwin, Error::<T>::NotATwin);
			match access.role {
				Some(DidRole::Patient) => Ok(Authority::Patient),
				Some(DidRole::Controller) => Ok(Authority::Guardian),
				None => Err(Error::<T>::NotAuthorized.into()),
			}
		}

		/// A guardian may not change a grant the patient made.
		fn ensure_may_change(by: Authority, grant: &Grant<T>) -> DispatchResult {
			ensure!(
				!(by == Authority::Guardian && grant.granted_by == Authority::Patient),
				Error::<T>::PatientDecision
			);
			Ok(())
		}

		/// Whether `who` may act as `grantee`.
		fn acts_as(who: &T::AccountId, grantee: &Grantee<T::AccountId>) -> bool {
			match grantee {
				Grantee::Account(account) => account == who,
				Grantee::Institution(did) => T::Dids::is_controlled_by(did, who),
				Grantee::Job(_) => false,
			}
		}

		/// Terms are well formed and name things that exist.
		fn ensure_valid_terms(terms: &TermsOf<T>) -> DispatchResult {
			let ascending = terms.purposes.windows(2).all(|pair| matches!(pair, [a, b] if a < b));
			ensure!(!terms.purposes.is_empty() && ascending, Error::<T>::InvalidPurposes);
			if let Some(datasets) = &terms.datasets {
				ensure!(!datasets.is_empty(), Error::<T>::InvalidDatasets);
				for (index, dataset) in datasets.iter().enumerate() {
					ensure!(
						!twinnet_primitives::repeats_earlier(datasets, index),
						Error::<T>::InvalidDatasets
					);
					ensure!(
						T::Dids::active_kind(dataset) == Some(SubjectKind::Dataset),
						Error::<T>::UnknownDataset
					);
				}
			}
			match &terms.grantee {
				Grantee::Institution(did) => ensure!(
					T::Dids::active_kind(did) == Some(SubjectKind::Institution),
					Error::<T>::InvalidGrantee
				),
				Grantee::Job(job) => ensure!(T::Jobs::job_exists(*job), Error::<T>::UnknownJob),
				Grantee::Account(_) => {},
			}
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				terms.starts_at < terms.expires_at && now < terms.expires_at,
				Error::<T>::InvalidPeriod
			);
			let longest_end = terms.starts_at.max(now).saturating_add(T::MaxGrantDuration::get());
			ensure!(terms.expires_at <= longest_end, Error::<T>::PeriodTooLong);
			if let Some(budget) = &terms.budget {
				ensure!(
					budget.epsilon <= T::MaxEpsilon::get() && budget.delta <= T::MaxDelta::get(),
					Error::<T>::BudgetTooLarge
				);
			}
			match (terms.scope, &terms.budget) {
				(Scope::Compute, Some(budget)) if !budget.epsilon.is_zero() => {
					Self::ensure_valid_binding(&terms.binding, budget)
				},
				(Scope::Compute, _) => Err(Error::<T>::MissingBudget.into()),
				(Scope::View, Some(_)) => Err(Error::<T>::BudgetOnViewGrant.into()),
				(Scope::View, None) => {
					ensure!(terms.binding.is_unbound(), Error::<T>::BindingOnViewGrant);
					Ok(())
				},
			}
		}

		/// A compute grant's per-round cap is positive and within its budget,
		/// and the job it binds to (if any) was posted.
		fn ensure_valid_binding(binding: &Binding, budget: &PrivacyBudget) -> DispatchResult {
			if let Some(job) = binding.job {
				ensure!(T::Jobs::job_exists(job), Error::<T>::UnknownJob);
			}
			if let Some(cap) = binding.max_epsilon_per_round {
				ensure!(!cap.is_zero() && cap <= budget.epsilon, Error::<T>::InvalidRoundCap);
			}
			Ok(())
		}

		/// `narrower` keeps the grantee and scope of `grant` and widens nothing.
		fn ensure_narrower(grant: &Grant<T>, narrower: &TermsOf<T>) -> DispatchResult {
			let current = &grant.terms;
			let purposes_ok = narrower.purposes.iter().all(|p| current.purposes.contains(p));
			let datasets_ok = match (&current.datasets, &narrower.datasets) {
				(None, _) => true,
				(Some(_), None) => false,
				(Some(allowed), Some(named)) => named.iter().all(|d| allowed.contains(d)),
			};
			let period_ok = narrower.starts_at >= current.starts_at
				&& narrower.expires_at <= current.expires_at;
			let budget_ok = match (&current.budget, &narrower.budget) {
				(Some(budget), Some(smaller)) => smaller.fits_within(budget),
				(None, None) => true,
				_ => false,
			};
			ensure!(
				narrower.grantee == current.grantee
					&& narrower.scope == current.scope
					&& purposes_ok && datasets_ok
					&& period_ok && budget_ok
					&& narrower.binding.is_within(&current.binding)
					&& narrower != current,
				Error::<T>::NotNarrower
			);
			if let Some(budget) = &narrower.budget {
				let committed = grant.spent.checked_add(&grant.reserved);
				ensure!(
					committed.is_some_and(|committed| committed.fits_within(budget)),
					Error::<T>::BudgetBelowSpent
				);
			}
			Ok(())
		}

		/// The deposit of a grant with `terms` (and the rest of `grant`).
		fn deposit_for(terms: &TermsOf<T>, grant: &Grant<T>) -> BalanceOf<T> {
			let bytes = grant
				.encoded_size()
				.saturating_sub(grant.terms.encoded_size())
				.saturating_add(terms.encoded_size());
			let bytes = BalanceOf::<T>::from(u32::try_from(bytes).unwrap_or(u32::MAX));
			T::GrantDepositBase::get()
				.saturating_add(T::DepositPerByte::get().saturating_mul(bytes))
		}

		/// Makes `entry`'s grant, which its patient decides.
		fn grant_at_genesis(entry: &GenesisGrant<T::AccountId>) -> DispatchResult {
			ensure!(
				Self::authority(&entry.twin, &entry.patient)? == Authority::Patient,
				Error::<T>::NotAuthorized
			);
			let terms = TermsOf::<T> {
				grantee: Grantee::Institution(entry.institution),
				scope: Scope::Compute,
				purposes: BoundedVec::truncate_from(alloc::vec![entry.purpose]),
				datasets: Some(BoundedVec::truncate_from(alloc::vec![entry.dataset])),
				starts_at: Zero::zero(),
				expires_at: entry.expires_at.into(),
				budget: Some(PrivacyBudget {
					epsilon: FixedU64::from_inner(entry.epsilon),
					delta: Perquintill::from_parts(entry.delta),
				}),
				binding: Binding::default(),
			};
			Self::do_grant(entry.twin, terms, Authority::Patient, entry.patient.clone()).map(|_| ())
		}

		/// Makes a grant on `terms`, decided by `by` and signed by `who`, who
		/// holds its deposit.
		fn do_grant(
			twin: DidId,
			terms: TermsOf<T>,
			by: Authority,
			who: T::AccountId,
		) -> Result<GrantId, DispatchError> {
			Self::ensure_valid_terms(&terms)?;
			let count = GrantCount::<T>::get(twin);
			ensure!(count < T::MaxGrantsPerTwin::get(), Error::<T>::TooManyGrants);

			let mut record = Grant {
				terms,
				spent: PrivacyBudget::default(),
				reserved: PrivacyBudget::default(),
				revoked_at: None,
				granted_by: by,
				uses: 0,
				last_used: None,
				depositor: who.clone(),
				deposit: Default::default(),
			};
			record.deposit = Self::deposit_for(&record.terms, &record);
			T::Currency::hold(&HoldReason::GrantDeposit.into(), &who, record.deposit)
				.map_err(|_| Error::<T>::CannotPayDeposit)?;

			let grant = NextGrantId::<T>::get();
			NextGrantId::<T>::put(grant.saturating_add(1));
			GrantCount::<T>::insert(twin, count.saturating_add(1));
			let event = Event::Granted {
				twin,
				grant,
				grantee: record.terms.grantee.clone(),
				scope: record.terms.scope,
				expires_at: record.terms.expires_at,
				budget: record.terms.budget,
				by,
			};
			GrantsByGrantee::<T>::insert(&record.terms.grantee, (twin, grant), ());
			Grants::<T>::insert(twin, grant, record);
			Self::audit(&twin, AuditEvent::Granted { grant, by });
			Self::deposit_event(event);
			Ok(grant)
		}

		/// Removes an open request and returns its deposit.
		fn close(twin: DidId, request: RequestId, open: &AccessRequest<T>) -> DispatchResult {
			release::<_, T::Currency>(
				&HoldReason::RequestDeposit.into(),
				&open.requester,
				T::RequestDeposit::get(),
			)
			.map_err(|e| e.into_dispatch_error(Error::<T>::CannotPayDeposit))?;
			Requests::<T>::remove(twin, request);
			OpenRequests::<T>::mutate_exists(&open.requester, decrement);
			Ok(())
		}

		/// Appends a decision to the decision trail of `twin`.
		pub(crate) fn audit(twin: &DidId, event: AuditEvent<T::AccountId>) {
			AuditTrail::<T>::mutate(twin, |trail| append_latest(trail, Self::record(event)));
		}

		/// Appends a spend of `amount` by `job` to the spend trail of `grant`.
		pub(crate) fn audit_spend(
			twin: &DidId,
			grant: GrantId,
			amount: PrivacyBudget,
			job: Option<JobRound>,
		) {
			let block = frame_system::Pallet::<T>::block_number();
			SpendTrail::<T>::mutate(twin, grant, |trail| {
				append_latest(trail, SpendRecord { block, amount, job })
			});
		}

		/// Adds a spend of `amount` by `job` to its total under `grant`.
		fn add_job_spend(twin: &DidId, grant: GrantId, job: JobId, amount: PrivacyBudget) {
			let block = frame_system::Pallet::<T>::block_number();
			JobSpends::<T>::mutate((twin, grant, job), |total| match total {
				Some(total) => {
					total.spent = total.spent.checked_add(&amount).unwrap_or(total.spent);
					total.rounds.saturating_inc();
					total.last = block;
				},
				None => {
					*total = Some(JobSpend { spent: amount, rounds: 1, first: block, last: block })
				},
			});
		}

		/// What each job spent under each grant of `twin`, by grant and job,
		/// after `start_after`, at most `limit` of them: for the runtime API.
		pub fn job_spends(
			twin: &DidId,
			start_after: Option<(GrantId, JobId)>,
			limit: u32,
		) -> alloc::vec::Vec<(GrantId, JobId, JobSpendOf<T>)> {
			let page = match start_after {
				Some((grant, job)) => JobSpends::<T>::iter_prefix_from(
					(twin,),
					JobSpends::<T>::hashed_key_for((twin, grant, job)),
				),
				None => JobSpends::<T>::iter_prefix((twin,)),
			};
			page.take(limit as usize)
				.map(|((grant, job), spend)| (grant, job, spend))
				.collect()
		}

		/// `event` as of this block.
		fn record(event: AuditEvent<T::AccountId>) -> AuditRecordOf<T> {
			AuditRecord { block: frame_system::Pallet::<T>::block_number(), event }
		}

		/// The live grant on `twin` under which `access` is allowed (and, with
		/// an `amount`, whose remaining budget covers it), with the grant
		/// itself, or the reason of the grant that came closest.
		pub(crate) fn find_grant(
			twin: &DidId,
			access: &Access<T::AccountId>,
			amount: Option<&PrivacyBudget>,
		) -> Result<(GrantId, Grant<T>), ConsentDenied> {
			if T::Dids::active_kind(twin) != Some(SubjectKind::PatientTwin) {
				return Err(ConsentDenied::TwinNotFound);
			}
			let now = frame_system::Pallet::<T>::block_number();
			let mut closest = ConsentDenied::NoGrant;
			for (id, grant) in Grants::<T>::iter_prefix(twin) {
				if grant.terms.grantee != access.grantee {
					continue;
				}
				let allowed = grant
					.ensure_live(now)
					.and_then(|()| {
						grant.ensure_covers(
							access.scope,
							access.purpose,
							access.dataset.as_ref(),
							access.computation.as_ref(),
						)
					})
					.and_then(|()| {
						amount.map_or(Ok(()), |amount| grant.remaining_after(amount).map(|_| ()))
					});
				match allowed {
					Ok(()) => return Ok((id, grant)),
					Err(reason) if rank(reason) > rank(closest) => closest = reason,
					Err(_) => {},
				}
			}
			Err(closest)
		}

		/// Reserves `amount` on `twin` for the round of `access`, or says why not.
		pub(crate) fn reserve_one(
			twin: &DidId,
			access: &Access<T::AccountId>,
			amount: &PrivacyBudget,
		) -> Result<GrantId, ConsentDenied> {
			ensure_positive(amount)?;
			let round = access.computation.ok_or(ConsentDenied::MissingComputation)?.round;
			if Reservations::<T>::contains_key(round, twin) {
				return Err(ConsentDenied::AlreadyReserved);
			}
			let (grant, mut record) = Self::find_grant(twin, access, Some(amount))?;
			record.reserve(amount)?;
			Grants::<T>::insert(twin, grant, record);
			let grantee = access.grantee.clone();
			Reservations::<T>::insert(
				round,
				twin,
				Reservation { grant, grantee: grantee.clone(), amount: *amount },
			);
			Self::deposit_event(Event::BudgetReserved {
				twin: *twin,
				grant,
				grantee,
				round,
				amount: *amount,
			});
			Ok(grant)
		}

		/// Ends the reservation of `round` on `twin`, if there is one.
		pub(crate) fn settle_one(
			round: JobRound,
			twin: &DidId,
			outcome: Settlement,
		) -> Option<GrantId> {
			let Reservation { grant, grantee, amount } = Reservations::<T>::take(round, twin)?;
			let settled = Grants::<T>::mutate(twin, grant, |record| {
				record.as_mut().map(|record| record.settle(&amount, outcome)).is_some()
			});
			match outcome {
				Settlement::Spend => {
					// A trail only ever belongs to an existing grant (a grant
					// with a reservation is never pruned, see `do_try_state`).
					if settled {
						Self::audit_spend(twin, grant, amount, Some(round));
						Self::add_job_spend(twin, grant, round.job, amount);
					}
					Self::deposit_event(Event::BudgetSpent {
						twin: *twin,
						grant,
						grantee,
						round,
						amount,
					});
				},
				Settlement::Release => {
					Self::deposit_event(Event::BudgetReleased { twin: *twin, grant, round, amount })
				},
			}
			Some(grant)
		}

		/// All grants of `twin` as of this block, for the runtime API.
		pub fn grants_of(
			twin: &DidId,
		) -> alloc::vec::Vec<GrantView<T::AccountId, BlockNumberFor<T>>> {
			let now = frame_system::Pallet::<T>::block_number();
			let mut grants: alloc::vec::Vec<_> =
				Grants::<T>::iter_prefix(twin).map(|(id, grant)| grant.view(id, now)).collect();
			grants.sort_by_key(|grant| grant.id);
			grants
		}

		/// The grants `grantee` holds, with their views as of this block, for
		/// the runtime API (a page of [`ConsentLedger::grants_held_by`]).
		pub fn grant_views_held_by(
			grantee: &Grantee<T::AccountId>,
			start_after: Option<(DidId, GrantId)>,
			limit: u32,
		) -> alloc::vec::Vec<(DidId, GrantView<T::AccountId, BlockNumberFor<T>>)> {
			let now = frame_system::Pallet::<T>::block_number();
			<Self as ConsentLedger<T::AccountId>>::grants_held_by(grantee, start_after, limit)
				.into_iter()
				.filter_map(|(twin, id)| Some((twin, Grants::<T>::get(twin, id)?.view(id, now))))
				.collect()
		}

		/// The decision trail of `twin`, then the spend trails of all its
		/// grants, each spend with its grant and grantee, by block (and by
		/// grant within a block), for the runtime API. Bounded: at most
		/// [`Config::MaxGrantsPerTwin`] trails of [`Config::MaxSpendRecords`].
		pub fn audit_trail(twin: &DidId) -> alloc::vec::Vec<AuditRecordOf<T>> {
			let mut spends = alloc::vec::Vec::new();
			for (grant, record) in Grants::<T>::iter_prefix(twin) {
				let trail = SpendTrail::<T>::get(twin, grant);
				spends.extend(
					trail.into_iter().map(|spend| {
						(grant, spend.audit_record(grant, record.terms.grantee.clone()))
					}),
				);
			}
			// Stable: a grant's spends keep their order within a block.
			spends.sort_by(|(a, first), (b, second)| first.block.cmp(&second.block).then(a.cmp(b)));
			let mut records = AuditTrail::<T>::get(twin).into_inner();
			records.extend(spends.into_iter().map(|(_, record)| record));
			records
		}

		/// Checks the pallet's invariants:
		/// - no grant has spent and reserved more than its budget, and only
		///   compute grants have budgets or bindings;
		/// - each grant's reserved budget is the sum of its reservations, and
		///   each reservation is on an existing grant of its grantee;
		/// - the grants-by-grantee index lists exactly the grants;
		/// - every spend trail belongs to an existing grant, is not empty, is
		///   in block order up to this block, and records no more than the
		///   grant spent;
		/// - the grant and open-request counts match the records, within bounds;
		/// - each account's holds equal the deposits the records say it holds.
		#[cfg(any(feature = "try-runtime", test))]
		pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
			use alloc::collections::btree_map::BTreeMap;
			use frame_support::traits::fungible::InspectHold;

			let mut reserved = BTreeMap::<(DidId, GrantId), PrivacyBudget>::new();
			for (_, twin, reservation) in Reservations::<T>::iter() {
				let grant = Grants::<T>::get(twin, reservation.grant)
					.ok_or("a reservation without its grant")?;
				ensure!(
					grant.terms.grantee == reservation.grantee,
					"a reservation by another grantee"
				);
				let sum = reserved.entry((twin, reservation.grant)).or_default();
				*sum = sum.checked_add(&reservation.amount).ok_or("reservations overflow")?;
			}
			ensure!(
				GrantsByGrantee::<T>::iter_keys()
					.all(|(grantee, (twin, id))| Grants::<T>::get(twin, id)
						.is_some_and(|grant| grant.terms.grantee == grantee)),
				"a grantee index entry without its grant"
			);

			let now = frame_system::Pallet::<T>::block_number();
			for (twin, id, trail) in SpendTrail::<T>::iter() {
				let grant = Grants::<T>::get(twin, id).ok_or("a spend trail without its grant")?;
				ensure!(!trail.is_empty(), "an empty spend trail is stored");
				ensure!(
					trail.windows(2).all(|pair| matches!(pair, [a, b] if a.block <= b.block))
						&& trail.last().is_some_and(|last| last.block <= now),
					"a spend trail out of block order"
				);
				let mut recorded = PrivacyBudget::default();
				for spend in trail.iter() {
					recorded = recorded.checked_add(&spend.amount).ok_or("spends overflow")?;
				}
				ensure!(recorded.fits_within(&grant.spent), "a spend trail exceeds what was spent");
			}

			for ((twin, grant, _), spend) in JobSpends::<T>::iter() {
				ensure!(
					spend.rounds > 0 && spend.first <= spend.last && spend.last <= now,
					"a job's spend record counts no round or is out of block order"
				);
				// A live grant has spent at least what each job spent under it.
				if let Some(record) = Grants::<T>::get(twin, grant) {
					ensure!(
						spend.spent.fits_within(&record.spent),
						"a job spent more under a grant than the grant spent"
					);
				}
			}

			let mut grant_deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			let mut grants_per_twin = BTreeMap::<DidId, u32>::new();
			for (twin, id, grant) in Grants::<T>::iter() {
				let committed =
					grant.spent.checked_add(&grant.reserved).ok_or("commitments overflow")?;
				match (grant.terms.scope, &grant.terms.budget) {
					(Scope::Compute, Some(budget)) => {
						ensure!(committed.fits_within(budget), "a grant overspent its budget")
					},
					(Scope::View, None) => ensure!(
						committed == PrivacyBudget::default() && grant.terms.binding.is_unbound(),
						"a view grant spent budget or is bound"
					),
					_ => return Err("a grant's scope and budget disagree".into()),
				}
				ensure!(
					reserved.remove(&(twin, id)).unwrap_or_default() == grant.reserved,
					"a grant's reserved budget differs from its reservations"
				);
				ensure!(
					GrantsByGrantee::<T>::contains_key(&grant.terms.grantee, (twin, id)),
					"a grant missing from the grantee index"
				);
				let held = grant_deposits.entry(grant.depositor.clone()).or_default();
				*held = held.saturating_add(grant.deposit);
				let count = grants_per_twin.entry(twin).or_default();
				*count = count.saturating_add(1);
			}
			for (twin, count) in GrantCount::<T>::iter() {
				ensure!(
					grants_per_twin.remove(&twin) == Some(count),
					"grant count differs from grants"
				);
				ensure!(count <= T::MaxGrantsPerTwin::get(), "too many grants");
			}
			ensure!(grants_per_twin.is_empty(), "grants without a count");

			let mut request_deposits = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
			let mut requests_per_requester = BTreeMap::<T::AccountId, u32>::new();
			for (_, _, request) in Requests::<T>::iter() {
				let held = request_deposits.entry(request.requester.clone()).or_default();
				*held = held.saturating_add(T::RequestDeposit::get());
				let count = requests_per_requester.entry(request.requester).or_default();
				*count = count.saturating_add(1);
			}
			for (requester, count) in OpenRequests::<T>::iter() {
				ensure!(
					requests_per_requester.remove(&requester) == Some(count),
					"request count differs"
				);
				ensure!(count <= T::MaxOpenRequestsPerRequester::get(), "too many requests");
			}
			ensure!(requests_per_requester.is_empty(), "requests without a count");

			for (reason, deposits) in [
				(HoldReason::GrantDeposit, grant_deposits),
				(HoldReason::RequestDeposit, request_deposits),
			] {
				for (account, deposit) in deposits {
					ensure!(
						T::Currency::balance_on_hold(&reason.into(), &account) == deposit,
						"deposits on hold differ from the records"
					);
				}
			}
			Ok(())
		}
	}

	/// Counts down a count, removing it at zero.
	fn decrement(count: &mut Option<u32>) {
		*count = count.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
	}

	/// Purposes of terms as audit records name them (ascending, each once,
	/// as `ensure_valid_terms` requires, so all of them fit).
	fn requested_purposes(purposes: &[Purpose]) -> Purposes {
		Purposes::truncate_from(purposes.to_vec())
	}

	/// Appends `record` to `trail`, dropping the oldest record when it is full.
	fn append_latest<R, S: Get<u32>>(trail: &mut BoundedVec<R, S>, record: R) {
		if trail.is_full() {
			trail.remove(0);
		}
		// Cannot fail: there is room now (the bound is positive, see `integrity_test`).
		let _ = trail.try_push(record);
	}

	/// How close a denied request came to being allowed.
	fn rank(reason: ConsentDenied) -> u8 {
		match reason {
			ConsentDenied::TwinNotFound | ConsentDenied::NoGrant => 0,
			ConsentDenied::Revoked => 1,
			ConsentDenied::Expired => 2,
			ConsentDenied::NotStarted => 3,
			ConsentDenied::ScopeMismatch => 4,
			ConsentDenied::PurposeNotGranted => 5,
			ConsentDenied::DatasetNotCovered => 6,
			ConsentDenied::ComputationNotCovered => 7,
			ConsentDenied::RoundCapExceeded => 8,
			ConsentDenied::BudgetExceeded => 9,
			ConsentDenied::MissingComputation
			| ConsentDenied::AlreadyReserved
			| ConsentDenied::ZeroSpend => 10,
		}
	}
}

impl<T: Config> ConsentLedger<T::AccountId> for Pallet<T> {
	fn check(twin: &DidId, access: &Access<T::AccountId>) -> Result<GrantId, ConsentDenied> {
		Self::find_grant(twin, access, None).map(|(id, _)| id)
	}

	fn use_grant(twin: &DidId, access: &Access<T::AccountId>) -> Result<GrantId, ConsentDenied> {
		let (grant, mut record) = Self::find_grant(twin, access, None)?;
		record.uses = record.uses.saturating_add(1);
		record.last_used = Some(frame_system::Pallet::<T>::block_number());
		Grants::<T>::insert(twin, grant, record);
		Self::deposit_event(Event::Used {
			twin: *twin,
			grant,
			grantee: access.grantee.clone(),
			purpose: access.purpose,
		});
		Ok(grant)
	}

	fn check_spend(
		twin: &DidId,
		access: &Access<T::AccountId>,
		amount: PrivacyBudget,
	) -> Result<GrantId, ConsentDenied> {
		ensure_positive(&amount)?;
		Self::find_grant(twin, access, Some(&amount)).map(|(id, _)| id)
	}

	fn reserve(
		twins: &[DidId],
		access: &Access<T::AccountId>,
		amount: PrivacyBudget,
	) -> alloc::vec::Vec<Result<GrantId, ConsentDenied>> {
		twins.iter().map(|twin| Self::reserve_one(twin, access, &amount)).collect()
	}

	fn settle(
		round: JobRound,
		twins: &[DidId],
		outcome: Settlement,
	) -> alloc::vec::Vec<Option<GrantId>> {
		twins.iter().map(|twin| Self::settle_one(round, twin, outcome)).collect()
	}

	fn grants_held_by(
		grantee: &Grantee<T::AccountId>,
		start_after: Option<(DidId, GrantId)>,
		limit: u32,
	) -> alloc::vec::Vec<(DidId, GrantId)> {
		let page = match start_after {
			Some(after) => GrantsByGrantee::<T>::iter_key_prefix_from(
				grantee,
				GrantsByGrantee::<T>::hashed_key_for(grantee, after),
			),
			None => GrantsByGrantee::<T>::iter_key_prefix(grantee),
		};
		page.take(limit as usize).collect()
	}

	fn job_spend_bytes() -> u32 {
		use codec::MaxEncodedLen;
		// The storage prefix, then 8 bytes of hash before each key part.
		let key = [DidId::max_encoded_len(), GrantId::max_encoded_len(), JobId::max_encoded_len()]
			.into_iter()
			.fold(32usize, |key, part| key.saturating_add(8).saturating_add(part));
		u32::try_from(key.saturating_add(JobSpendOf::<T>::max_encoded_len())).unwrap_or(u32::MAX)
	}

	/// Bounded by [`Self::reserve_weight`]: a check is the search a
	/// reservation makes (the same worst case of grants visited), without
	/// its writes.
	fn check_weight(twins: u32) -> frame_support::weights::Weight {
		T::WeightInfo::reserve(twins)
	}

	fn reserve_weight(twins: u32) -> frame_support::weights::Weight {
		T::WeightInfo::reserve(twins)
	}

	/// The benchmark's, and for each twin its job's spend record read and
	/// written (added since the benchmark last ran).
	fn settle_weight(twins: u32) -> frame_support::weights::Weight {
		T::WeightInfo::settle(twins).saturating_add(
			<T::DbWeight as frame_support::traits::Get<_>>::get()
				.reads_writes(twins.into(), twins.into()),
		)
	}

	fn grants_held_by_weight(limit: u32) -> frame_support::weights::Weight {
		T::WeightInfo::grants_held_by(limit)
	}
}

/// A spend must be of a positive amount: zero spends would fill trails for free.
fn ensure_positive(amount: &PrivacyBudget) -> Result<(), ConsentDenied> {
	use sp_runtime::traits::Zero;
	if amount.epsilon.is_zero() && amount.delta.is_zero() {
		Err(ConsentDenied::ZeroSpend)
	} else {
		Ok(())
	}
}

impl<T: Config> DidDependents for Pallet<T> {
	/// A twin with a live (or not yet started) grant cannot be deactivated.
	fn ensure_can_deactivate(did: &DidId, kind: SubjectKind) -> sp_runtime::DispatchResult {
		if kind != SubjectKind::PatientTwin {
			return Ok(());
		}
		let now = frame_system::Pallet::<T>::block_number();
		let live = Grants::<T>::iter_prefix_values(did)
			.any(|grant| grant.revoked_at.is_none() && now < grant.terms.expires_at);
		frame_support::ensure!(!live, Error::<T>::LiveGrants);
		Ok(())
	}

	fn on_deactivated(_did: &DidId, _kind: SubjectKind) {}

	fn weight() -> frame_support::weights::Weight {
		T::WeightInfo::ensure_can_deactivate()
	}
}
