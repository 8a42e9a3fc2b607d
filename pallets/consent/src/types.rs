//! The records pallet-consent stores.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	traits::Get, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use twinnet_primitives::{
	consent::{
		AuditEvent, AuditRecord, Authority, Binding, Computation, ConsentDenied, GrantId,
		GrantStatus, GrantView, Grantee, JobRound, PrivacyBudget, Purpose, Scope, Settlement,
	},
	did::DidId,
};

use crate::{BalanceOf, Config};

/// What a grant allows, or a request asks for.
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
#[scale_info(skip_type_params(MaxPurposes, MaxDatasets))]
#[codec(mel_bound(AccountId: MaxEncodedLen, BlockNumber: MaxEncodedLen))]
pub struct Terms<AccountId, BlockNumber, MaxPurposes: Get<u32>, MaxDatasets: Get<u32>>
where
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
{
	/// Who may act.
	pub grantee: Grantee<AccountId>,
	/// View or compute.
	pub scope: Scope,
	/// The purposes allowed: at least one, in ascending order, each once.
	pub purposes: BoundedVec<Purpose, MaxPurposes>,
	/// If set, the only datasets (by DID) the grant covers.
	pub datasets: Option<BoundedVec<DidId, MaxDatasets>>,
	/// The first block in which the grant applies.
	pub starts_at: BlockNumber,
	/// The first block in which it no longer applies.
	pub expires_at: BlockNumber,
	/// For compute grants: the privacy budget computations may spend.
	pub budget: Option<PrivacyBudget>,
	/// For compute grants: the only job, model or code it allows, and the
	/// most epsilon a round may spend (unbound by default).
	pub binding: Binding,
}

/// Terms in a runtime's configuration.
pub type TermsOf<T> = Terms<
	<T as frame_system::Config>::AccountId,
	frame_system::pallet_prelude::BlockNumberFor<T>,
	<T as Config>::MaxPurposes,
	<T as Config>::MaxDatasets,
>;

/// A consent grant.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Grant<T: Config> {
	/// What it allows.
	pub terms: TermsOf<T>,
	/// The privacy budget spent so far.
	pub spent: PrivacyBudget,
	/// The privacy budget reserved by job rounds that have not ended.
	pub reserved: PrivacyBudget,
	/// The block that revoked it.
	pub revoked_at: Option<frame_system::pallet_prelude::BlockNumberFor<T>>,
	/// Who granted it; a guardian cannot change a patient's decision.
	pub granted_by: Authority,
	/// How many uses were recorded under it.
	pub uses: u32,
	/// The block of the latest recorded use.
	pub last_used: Option<frame_system::pallet_prelude::BlockNumberFor<T>>,
	/// Who holds its deposit.
	pub depositor: T::AccountId,
	/// The deposit held.
	pub deposit: BalanceOf<T>,
}

impl<T: Config> Grant<T> {
	/// Whether the grant applies at block `now`, or why not.
	pub fn ensure_live(
		&self,
		now: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> Result<(), ConsentDenied> {
		if self.revoked_at.is_some() {
			Err(ConsentDenied::Revoked)
		} else if now < self.terms.starts_at {
			Err(ConsentDenied::NotStarted)
		} else if now >= self.terms.expires_at {
			Err(ConsentDenied::Expired)
		} else {
			Ok(())
		}
	}

	/// Whether the grant, if live, covers `scope`, `purpose`, `dataset`
	/// and `computation`.
	pub fn ensure_covers(
		&self,
		scope: Scope,
		purpose: Purpose,
		dataset: Option<&DidId>,
		computation: Option<&Computation>,
	) -> Result<(), ConsentDenied> {
		if self.terms.scope != scope {
			return Err(ConsentDenied::ScopeMismatch);
		}
		if !self.terms.purposes.contains(&purpose) {
			return Err(ConsentDenied::PurposeNotGranted);
		}
		match (&self.terms.datasets, dataset) {
			(Some(allowed), Some(dataset)) if !allowed.contains(dataset) => {
				return Err(ConsentDenied::DatasetNotCovered)
			},
			// A restricted grant covers only named datasets.
			(Some(_), None) => return Err(ConsentDenied::DatasetNotCovered),
			_ => {},
		}
		self.terms.binding.covers(computation)
	}

	/// The budget `amount` would leave unspent and unreserved, if the grant
	/// has a budget, `amount` fits in it and in its per-round cap.
	pub fn remaining_after(&self, amount: &PrivacyBudget) -> Result<PrivacyBudget, ConsentDenied> {
		let budget = self.terms.budget.ok_or(ConsentDenied::ScopeMismatch)?;
		self.terms.binding.allows_round_spend(amount)?;
		self.spent
			.checked_add(&self.reserved)
			.and_then(|committed| committed.checked_add(amount))
			.and_then(|committed| budget.checked_sub(&committed))
			.ok_or(ConsentDenied::BudgetExceeded)
	}

	/// Reserves `amount` for a round (checked by [`Self::remaining_after`]).
	pub fn reserve(&mut self, amount: &PrivacyBudget) -> Result<(), ConsentDenied> {
		self.remaining_after(amount)?;
		self.reserved = self.reserved.checked_add(amount).ok_or(ConsentDenied::BudgetExceeded)?;
		Ok(())
	}

	/// Ends a reservation of `amount`: spent or returned. A grant whose
	/// records disagree (never, by the try-state invariants) settles what it holds.
	pub fn settle(&mut self, amount: &PrivacyBudget, outcome: Settlement) {
		let settled = PrivacyBudget {
			epsilon: amount.epsilon.min(self.reserved.epsilon),
			delta: amount.delta.min(self.reserved.delta),
		};
		self.reserved = self.reserved.checked_sub(&settled).unwrap_or_default();
		if outcome == Settlement::Spend {
			self.spent = self.spent.checked_add(&settled).unwrap_or(self.spent);
		}
	}
}

/// Budget reserved on a twin's grant for a job round.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct Reservation<T: Config> {
	/// The grant it is reserved on.
	pub grant: GrantId,
	/// Who reserved it (the grant's grantee).
	pub grantee: Grantee<T::AccountId>,
	/// How much.
	pub amount: PrivacyBudget,
}

/// A researcher's open request for access.
#[derive(
	CloneNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, MaxEncodedLen, TypeInfo, DebugNoBound,
)]
#[scale_info(skip_type_params(T))]
pub struct AccessRequest<T: Config> {
	/// What is asked for.
	pub terms: TermsOf<T>,
	/// Who asked, and holds the request's deposit.
	pub requester: T::AccountId,
	/// The first block in which the request can no longer be approved.
	pub expires_at: frame_system::pallet_prelude::BlockNumberFor<T>,
}

/// An audit record in a runtime's configuration.
pub type AuditRecordOf<T> = AuditRecord<
	<T as frame_system::Config>::AccountId,
	frame_system::pallet_prelude::BlockNumberFor<T>,
>;

/// One spend in a grant's spend trail (the trail's key names the twin and
/// grant, and the grant its grantee).
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct SpendRecord<BlockNumber> {
	/// The block the spend was settled in.
	pub block: BlockNumber,
	/// How much budget was spent.
	pub amount: PrivacyBudget,
	/// The job round that spent it (spends from before rounds were tracked
	/// have none).
	pub job: Option<JobRound>,
}

/// A spend record in a runtime's configuration.
pub type SpendRecordOf<T> = SpendRecord<frame_system::pallet_prelude::BlockNumberFor<T>>;

/// A job's spend record in a runtime's configuration.
pub type JobSpendOf<T> =
	twinnet_primitives::consent::JobSpend<frame_system::pallet_prelude::BlockNumberFor<T>>;

impl<BlockNumber> SpendRecord<BlockNumber> {
	/// The spend as an audit record of `grant`, held by `grantee`.
	pub fn audit_record<AccountId>(
		self,
		grant: GrantId,
		grantee: Grantee<AccountId>,
	) -> AuditRecord<AccountId, BlockNumber> {
		AuditRecord {
			block: self.block,
			event: AuditEvent::BudgetSpent { grant, grantee, amount: self.amount, job: self.job },
		}
	}
}

impl<T: Config> Grant<T> {
	/// The view of grant `id` at block `now` that runtime APIs return.
	pub fn view(
		&self,
		id: GrantId,
		now: frame_system::pallet_prelude::BlockNumberFor<T>,
	) -> GrantView<T::AccountId, frame_system::pallet_prelude::BlockNumberFor<T>> {
		let status = match self.ensure_live(now) {
			Ok(()) => GrantStatus::Active,
			Err(ConsentDenied::NotStarted) => GrantStatus::NotStarted,
			Err(ConsentDenied::Revoked) => GrantStatus::Revoked,
			Err(_) => GrantStatus::Expired,
		};
		GrantView {
			id,
			grantee: self.terms.grantee.clone(),
			scope: self.terms.scope,
			purposes: self.terms.purposes.to_vec(),
			datasets: self.terms.datasets.as_ref().map(|d| d.to_vec()),
			starts_at: self.terms.starts_at,
			expires_at: self.terms.expires_at,
			budget: self.terms.budget,
			binding: self.terms.binding,
			spent: self.spent,
			reserved: self.reserved,
			revoked_at: self.revoked_at,
			granted_by: self.granted_by,
			uses: self.uses,
			last_used: self.last_used,
			status,
		}
	}
}

/// A compute grant made at genesis, as if the twin's patient had signed
/// `grant`: `institution` may compute on the twin's rows in `dataset` for
/// `purpose` until `expires_at`, within `epsilon` (nine decimals: 1.5 is
/// 1_500_000_000) and `delta` (parts per 10^18). The patient holds its
/// deposit. Test and demonstration chains use it to start with a cohort.
#[derive(Clone, PartialEq, Eq, Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenesisGrant<AccountId> {
	/// The twin.
	pub twin: DidId,
	/// Its patient: who grants and holds the deposit.
	pub patient: AccountId,
	/// The institution that may compute.
	pub institution: DidId,
	/// The only dataset the grant covers.
	pub dataset: DidId,
	/// The only purpose it allows.
	pub purpose: Purpose,
	/// The first block in which it no longer applies.
	pub expires_at: u32,
	/// The epsilon budget, in billionths.
	pub epsilon: u64,
	/// The delta budget, in parts per 10^18.
	pub delta: u64,
}
