//! Consent: who may act on a patient twin's data, for what, and how much
//! differential-privacy budget their computations may spend.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{traits::ConstU32, weights::Weight, BoundedVec};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::{
	traits::{CheckedAdd, CheckedSub},
	FixedPointNumber, FixedU64, PerThing, Perquintill, Rounding,
};

use crate::did::DidId;

/// The identifier of a consent grant.
pub type GrantId = u64;

/// Who a grant is for.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub enum Grantee<AccountId> {
	/// A researcher's account.
	Account(AccountId),
	/// An institution, by its DID; its controller acts for it.
	Institution(DidId),
	/// A federated training job, by its identifier.
	Job(u64),
}

/// What a grant allows.
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
pub enum Scope {
	/// Read and decrypt the data.
	View,
	/// Run approved computations whose results leave only in aggregate,
	/// spending the grant's privacy budget.
	Compute,
}

impl Scope {
	/// Both scopes.
	pub const ALL: [Scope; 2] = [Scope::View, Scope::Compute];

	/// The scope's name in RPC answers and on the command line (`view`).
	pub const fn name(self) -> &'static str {
		match self {
			Scope::View => "view",
			Scope::Compute => "compute",
		}
	}

	/// The scope [`Scope::name`] names `name`.
	pub fn from_name(name: &str) -> Option<Self> {
		Self::ALL.into_iter().find(|scope| scope.name() == name)
	}
}

/// Why data is used (a bounded set of codes, after common research-ethics
/// and data-protection categories).
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Purpose {
	/// The patient's own care.
	ClinicalCare,
	/// Academic or clinical research.
	Research,
	/// Training machine-learning models.
	ModelTraining,
	/// Quality improvement of care.
	QualityImprovement,
	/// Public-health surveillance.
	PublicHealth,
	/// Teaching.
	Education,
	/// Commercial research and development.
	Commercial,
}

/// How many purposes there are: the most a grant or request can name (each once).
pub const PURPOSE_COUNT: u32 = 7;

impl Purpose {
	/// Every purpose, in order.
	pub const ALL: [Purpose; PURPOSE_COUNT as usize] = [
		Purpose::ClinicalCare,
		Purpose::Research,
		Purpose::ModelTraining,
		Purpose::QualityImprovement,
		Purpose::PublicHealth,
		Purpose::Education,
		Purpose::Commercial,
	];

	/// The purpose's name in RPC answers and on the command line
	/// (`modelTraining`).
	pub const fn name(self) -> &'static str {
		match self {
			Purpose::ClinicalCare => "clinicalCare",
			Purpose::Research => "research",
			Purpose::ModelTraining => "modelTraining",
			Purpose::QualityImprovement => "qualityImprovement",
			Purpose::PublicHealth => "publicHealth",
			Purpose::Education => "education",
			Purpose::Commercial => "commercial",
		}
	}

	/// The purpose [`Purpose::name`] names `name`.
	pub fn from_name(name: &str) -> Option<Self> {
		Self::ALL.into_iter().find(|purpose| purpose.name() == name)
	}
}

/// Purposes as an audit record names them: ascending, each once, so never
/// more than there are purposes.
pub type Purposes = BoundedVec<Purpose, ConstU32<PURPOSE_COUNT>>;

/// A differential-privacy budget, or an amount of one: epsilon in fixed point
/// (nine decimals), delta as a fraction (eighteen decimals).
#[derive(
	Clone,
	Copy,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub struct PrivacyBudget {
	/// The privacy-loss parameter epsilon.
	pub epsilon: FixedU64,
	/// The failure probability delta.
	pub delta: Perquintill,
}

/// The decimals of an epsilon (`FixedU64`): nine.
pub const EPSILON_DECIMALS: usize = 9;
/// The decimals of a delta (`Perquintill`): eighteen.
pub const DELTA_DECIMALS: usize = 18;

impl PrivacyBudget {
	/// Epsilon as an exact decimal string (`"1.5"`), as every RPC shows it.
	pub fn epsilon_decimal(&self) -> alloc::string::String {
		crate::format_decimal(self.epsilon.into_inner(), EPSILON_DECIMALS)
	}

	/// Delta as an exact decimal string (`"0.000001"`), as every RPC shows it.
	pub fn delta_decimal(&self) -> alloc::string::String {
		crate::format_decimal(self.delta.deconstruct(), DELTA_DECIMALS)
	}

	/// `self + other`, or `None` if that does not fit.
	pub fn checked_add(&self, other: &Self) -> Option<Self> {
		let epsilon = self.epsilon.checked_add(&other.epsilon)?;
		let delta = self.delta.deconstruct().checked_add(other.delta.deconstruct())?;
		(delta <= Perquintill::one().deconstruct())
			.then(|| Self { epsilon, delta: Perquintill::from_parts(delta) })
	}

	/// `self - other`, or `None` if `other` is larger in either part.
	pub fn checked_sub(&self, other: &Self) -> Option<Self> {
		let epsilon = self.epsilon.checked_sub(&other.epsilon)?;
		let delta = self.delta.deconstruct().checked_sub(other.delta.deconstruct())?;
		Some(Self { epsilon, delta: Perquintill::from_parts(delta) })
	}

	/// Whether neither part exceeds `other`'s.
	pub fn fits_within(&self, other: &Self) -> bool {
		self.epsilon <= other.epsilon && self.delta <= other.delta
	}

	/// The budget `epsilon_numerator / epsilon_denominator`,
	/// `delta_numerator / delta_denominator`, each rounded up to the next
	/// representable value: an accountant's exact cost is never charged short.
	/// `None` for a zero denominator, an epsilon that does not fit, or a
	/// delta above 1.
	pub fn from_rational_ceil(
		epsilon_numerator: u128,
		epsilon_denominator: u128,
		delta_numerator: u64,
		delta_denominator: u64,
	) -> Option<Self> {
		let scaled = epsilon_numerator.checked_mul(u128::from(FixedU64::DIV))?;
		let whole = scaled.checked_div(epsilon_denominator)?;
		let rounded_up = if scaled.checked_rem(epsilon_denominator)? == 0 {
			whole
		} else {
			whole.checked_add(1)?
		};
		let epsilon = FixedU64::from_inner(u64::try_from(rounded_up).ok()?);
		if delta_denominator == 0 || delta_numerator > delta_denominator {
			return None;
		}
		let delta = Perquintill::from_rational_with_rounding(
			delta_numerator,
			delta_denominator,
			Rounding::Up,
		)
		.ok()?;
		Some(Self { epsilon, delta })
	}
}

/// Who made a decision about a twin's data.
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
pub enum Authority {
	/// The patient: the twin's controlling account, or the twin's own key.
	Patient,
	/// A guardian: acting through the twin's controlling DID.
	Guardian,
}

/// A round of a federated training job.
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
pub struct JobRound {
	/// The job.
	pub job: u64,
	/// The round within it.
	pub round: u32,
}

/// The computation a compute access is for: the job round it belongs to,
/// the model it trains (a `Model` DID) and the hash of the code that runs.
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
pub struct Computation {
	/// The job round.
	pub round: JobRound,
	/// The model it trains, if it has a DID.
	pub model: Option<DidId>,
	/// The hash of the algorithm's code (the compute agent's job code).
	pub code_hash: H256,
}

/// What a compute grant is limited to beyond its scope and purposes: one
/// job, one model, one algorithm, and the most epsilon one round may spend.
/// Unset parts do not limit; a view grant has no binding.
#[derive(
	Clone,
	Copy,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Debug,
)]
pub struct Binding {
	/// The only job whose rounds may spend under the grant.
	pub job: Option<u64>,
	/// The only model that may be trained under it.
	pub model: Option<DidId>,
	/// The only code (by hash) that may run under it.
	pub code_hash: Option<H256>,
	/// The most epsilon one job round may spend under it.
	pub max_epsilon_per_round: Option<FixedU64>,
}

impl Binding {
	/// Whether the binding limits anything.
	pub fn is_unbound(&self) -> bool {
		*self == Self::default()
	}

	/// Whether `computation` is one the binding allows (any access, if it
	/// binds no job, model or code).
	pub fn covers(&self, computation: Option<&Computation>) -> Result<(), ConsentDenied> {
		let binds_computation =
			self.job.is_some() || self.model.is_some() || self.code_hash.is_some();
		if !binds_computation {
			return Ok(());
		}
		let computation = computation.ok_or(ConsentDenied::ComputationNotCovered)?;
		let covered = allows(self.job, Some(computation.round.job))
			&& allows(self.model, computation.model)
			&& allows(self.code_hash, Some(computation.code_hash));
		covered.then_some(()).ok_or(ConsentDenied::ComputationNotCovered)
	}

	/// Whether one round may spend `amount` under the binding.
	pub fn allows_round_spend(&self, amount: &PrivacyBudget) -> Result<(), ConsentDenied> {
		match self.max_epsilon_per_round {
			Some(cap) if amount.epsilon > cap => Err(ConsentDenied::RoundCapExceeded),
			_ => Ok(()),
		}
	}

	/// Whether `self` limits at least as much as `wider` in every part.
	pub fn is_within(&self, wider: &Self) -> bool {
		let cap_kept = match (wider.max_epsilon_per_round, self.max_epsilon_per_round) {
			(None, _) => true,
			(Some(_), None) => false,
			(Some(wide), Some(narrow)) => narrow <= wide,
		};
		allows(wider.job, self.job)
			&& allows(wider.model, self.model)
			&& allows(wider.code_hash, self.code_hash)
			&& cap_kept
	}
}

/// Whether a limit `bound` (unset: no limit) allows `actual`.
fn allows<V: PartialEq>(bound: Option<V>, actual: Option<V>) -> bool {
	bound.is_none() || bound == actual
}

/// What becomes of budget reserved for a job round when the round ends.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum Settlement {
	/// The round used the data (its aggregate was released): the reserved
	/// budget is spent.
	Spend,
	/// The round released nothing: the reserved budget returns to the grant.
	Release,
}

/// What one job spent under one grant of a twin, over all its rounds: a
/// record only that job's spends write, so no other spender can push it out
/// (a grant's spend trail keeps the latest spends under the grant, whoever
/// made them).
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct JobSpend<BlockNumber> {
	/// The budget the job's rounds spent, in all.
	pub spent: PrivacyBudget,
	/// How many of its rounds spent it.
	pub rounds: u32,
	/// The block of its first spend.
	pub first: BlockNumber,
	/// The block of its latest spend.
	pub last: BlockNumber,
}

/// What happened to a twin's data, as its audit trails record it: decisions
/// in the twin's decision trail (written only by the patient's side and by
/// prunes), budget spends in each grant's spend trail (written only by
/// pallets spending under that grant). Uses are counted on each grant, so no
/// grantee can push records out of the decision trail nor out of another
/// grant's spend trail.
///
/// Codec indexes are fixed: records stored under earlier layouts decode as
/// the `Legacy…` variants, which later records never use.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum AuditEvent<AccountId> {
	/// A grant was made.
	#[codec(index = 0)]
	Granted { grant: GrantId, by: Authority },
	/// A grant was narrowed.
	#[codec(index = 1)]
	Narrowed { grant: GrantId, by: Authority },
	/// A grant was revoked.
	#[codec(index = 2)]
	Revoked { grant: GrantId, by: Authority },
	/// An access request was approved: it became `grant`. Recorded before
	/// requests named their requester (storage version 2 of
	/// pallet-consent); later approvals are [`Self::RequestApproved`].
	#[codec(index = 3)]
	LegacyRequestApproved { request: u64, grant: GrantId, by: Authority },
	/// An access request was rejected. Recorded before requests named their
	/// requester; later rejections are [`Self::RequestRejected`].
	#[codec(index = 4)]
	LegacyRequestRejected { request: u64, by: Authority },
	/// A grant was deleted. Recorded before prunes kept the grant's totals;
	/// later prunes are [`Self::Pruned`].
	#[codec(index = 5)]
	LegacyPruned { grant: GrantId },
	/// Privacy budget was spent under a grant, by `grantee`, for a job round
	/// (records from before rounds were tracked have none).
	#[codec(index = 6)]
	BudgetSpent {
		grant: GrantId,
		grantee: Grantee<AccountId>,
		amount: PrivacyBudget,
		job: Option<JobRound>,
	},
	/// `requester` asked for `scope` access for `grantee` and `purposes`;
	/// the patient or a guardian (`by`) approved: the request became `grant`.
	#[codec(index = 7)]
	RequestApproved {
		request: u64,
		grant: GrantId,
		requester: AccountId,
		grantee: Grantee<AccountId>,
		scope: Scope,
		purposes: Purposes,
		by: Authority,
	},
	/// `requester` asked for `scope` access for `grantee` and `purposes`;
	/// the patient or a guardian (`by`) rejected it.
	#[codec(index = 8)]
	RequestRejected {
		request: u64,
		requester: AccountId,
		grantee: Grantee<AccountId>,
		scope: Scope,
		purposes: Purposes,
		by: Authority,
	},
	/// A revoked or expired grant (or a grant of a deactivated twin) was
	/// deleted, with its spend trail; the record keeps its grantee and final
	/// totals: all the budget ever spent and all the uses ever counted.
	#[codec(index = 9)]
	Pruned { grant: GrantId, grantee: Grantee<AccountId>, spent: PrivacyBudget, uses: u32 },
}

/// One entry of a twin's audit trail.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub struct AuditRecord<AccountId, BlockNumber> {
	/// The block it happened in.
	pub block: BlockNumber,
	/// What happened.
	pub event: AuditEvent<AccountId>,
}

/// Whether a grant applies now.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub enum GrantStatus {
	/// It applies.
	Active,
	/// Its period has not begun.
	NotStarted,
	/// Its period is over.
	Expired,
	/// It was revoked.
	Revoked,
}

/// A grant as runtime APIs return it.
#[derive(Clone, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
pub struct GrantView<AccountId, BlockNumber> {
	/// Its identifier.
	pub id: GrantId,
	/// Who may act.
	pub grantee: Grantee<AccountId>,
	/// View or compute.
	pub scope: Scope,
	/// The purposes allowed.
	pub purposes: Vec<Purpose>,
	/// If set, the only datasets covered.
	pub datasets: Option<Vec<DidId>>,
	/// The first block in which it applies.
	pub starts_at: BlockNumber,
	/// The first block in which it no longer applies.
	pub expires_at: BlockNumber,
	/// The privacy budget of a compute grant.
	pub budget: Option<PrivacyBudget>,
	/// What a compute grant is further limited to.
	pub binding: Binding,
	/// The budget spent.
	pub spent: PrivacyBudget,
	/// The budget reserved by job rounds that have not ended.
	pub reserved: PrivacyBudget,
	/// The block that revoked it.
	pub revoked_at: Option<BlockNumber>,
	/// Who granted it.
	pub granted_by: Authority,
	/// How many uses were recorded under it.
	pub uses: u32,
	/// The block of the latest recorded use.
	pub last_used: Option<BlockNumber>,
	/// Whether it applies at the block the view was taken.
	pub status: GrantStatus,
}

impl<AccountId, BlockNumber> GrantView<AccountId, BlockNumber> {
	/// The budget neither spent nor reserved, for compute grants.
	pub fn remaining(&self) -> Option<PrivacyBudget> {
		self.budget
			.and_then(|budget| budget.checked_sub(&self.spent))
			.and_then(|left| left.checked_sub(&self.reserved))
	}
}

/// Why an action on a twin's data is not permitted now.
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
pub enum ConsentDenied {
	/// The twin is unknown or deactivated.
	TwinNotFound,
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
	/// The grant is bound to another job, model or code, or the access
	/// names no computation.
	ComputationNotCovered,
	/// The amount is above the grant's per-round epsilon cap.
	RoundCapExceeded,
	/// A reservation needs the computation (job round) it is for.
	MissingComputation,
	/// Budget of this twin is already reserved for this job round.
	AlreadyReserved,
}

/// What a grantee wants to do with a twin's data.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Access<AccountId> {
	/// Who acts.
	pub grantee: Grantee<AccountId>,
	/// View or compute.
	pub scope: Scope,
	/// Why.
	pub purpose: Purpose,
	/// On which dataset, if a particular one.
	pub dataset: Option<DidId>,
	/// For compute: the computation, which grants bound to a job, model or
	/// code must cover.
	pub computation: Option<Computation>,
}

/// The consent registry, as other pallets use it (implemented by `pallet-consent`).
pub trait ConsentLedger<AccountId> {
	/// The live grant under which `access` to `twin` is allowed now, or the
	/// precise reason why none applies. Reads only.
	fn check(twin: &DidId, access: &Access<AccountId>) -> Result<GrantId, ConsentDenied>;

	/// Like [`Self::check`], and counts the use on the grant.
	fn use_grant(twin: &DidId, access: &Access<AccountId>) -> Result<GrantId, ConsentDenied>;

	/// The live compute grant under which `access` to `twin` may spend
	/// `amount` of privacy budget now (one whose budget neither spent nor
	/// reserved covers it, within its per-round cap), or why none may. Reads
	/// only: a dry run of [`Self::reserve`] for one twin.
	fn check_spend(
		twin: &DidId,
		access: &Access<AccountId>,
		amount: PrivacyBudget,
	) -> Result<GrantId, ConsentDenied>;

	/// Reserves `amount` (positive) of each twin's budget for the job round
	/// of `access.computation`, under the grant [`Self::check_spend`] finds.
	/// Each twin is admitted or refused on its own, in the order given: the
	/// result for a twin is its grant, or why it is excluded (a refused
	/// twin changes nothing). At most one reservation per twin and round.
	fn reserve(
		twins: &[DidId],
		access: &Access<AccountId>,
		amount: PrivacyBudget,
	) -> Vec<Result<GrantId, ConsentDenied>>;

	/// Ends the reservations of `round` on each of `twins`: spends or
	/// releases the reserved budget (spends are recorded, with the round, in
	/// the spend trail of the grant they were reserved on). The result for a twin is the
	/// grant settled, or `None` if the twin had no reservation in the round.
	fn settle(round: JobRound, twins: &[DidId], outcome: Settlement) -> Vec<Option<GrantId>>;

	/// The grants `grantee` holds, as (twin, grant), in key order after
	/// `start_after`, at most `limit` of them: how a job finds its cohort.
	fn grants_held_by(
		grantee: &Grantee<AccountId>,
		start_after: Option<(DidId, GrantId)>,
		limit: u32,
	) -> Vec<(DidId, GrantId)>;

	/// The most bytes a job's spend record of one twin stores (key and
	/// value), which a job's deposit pays for: each twin a round may spend
	/// on adds at most one.
	fn job_spend_bytes() -> u32;

	/// The most [`Self::check`] of `twins` twins, one check each, may weigh.
	fn check_weight(twins: u32) -> Weight;

	/// The most [`Self::reserve`] of `twins` twins may weigh.
	fn reserve_weight(twins: u32) -> Weight;

	/// The most [`Self::settle`] of `twins` twins may weigh.
	fn settle_weight(twins: u32) -> Weight;

	/// The most [`Self::grants_held_by`] with `limit` may weigh.
	fn grants_held_by_weight(limit: u32) -> Weight;
}

/// Told when a grant is revoked, so that what runs under it stops (a job
/// excludes the twin from its next round). Implemented for tuples.
pub trait OnGrantRevoked<AccountId> {
	/// `grant` of `twin`, held by `grantee`, was revoked.
	fn on_revoked(twin: &DidId, grant: GrantId, grantee: &Grantee<AccountId>);

	/// The most [`Self::on_revoked`] may weigh.
	fn weight() -> Weight;
}

#[impl_trait_for_tuples::impl_for_tuples(8)]
impl<AccountId> OnGrantRevoked<AccountId> for Tuple {
	fn on_revoked(twin: &DidId, grant: GrantId, grantee: &Grantee<AccountId>) {
		for_tuples!( #( Tuple::on_revoked(twin, grant, grantee); )* );
	}

	fn weight() -> Weight {
		let mut weight = Weight::zero();
		for_tuples!( #( weight = weight.saturating_add(Tuple::weight()); )* );
		weight
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn every_purpose_and_scope_is_found_by_its_name_and_names_differ() {
		for purpose in Purpose::ALL {
			assert_eq!(Purpose::from_name(purpose.name()), Some(purpose));
		}
		for scope in Scope::ALL {
			assert_eq!(Scope::from_name(scope.name()), Some(scope));
		}
		let mut names: Vec<_> = Purpose::ALL.iter().map(|p| p.name()).collect();
		names.sort_unstable();
		names.dedup();
		assert_eq!(names.len(), Purpose::ALL.len());
		assert_eq!(Purpose::from_name("ModelTraining"), None);
		assert_eq!(Scope::from_name("read"), None);
	}

	#[test]
	fn all_purposes_are_listed_in_codec_order() {
		// Matches every variant: a new purpose does not compile until it is listed.
		let position = |purpose: Purpose| match purpose {
			Purpose::ClinicalCare => 0,
			Purpose::Research => 1,
			Purpose::ModelTraining => 2,
			Purpose::QualityImprovement => 3,
			Purpose::PublicHealth => 4,
			Purpose::Education => 5,
			Purpose::Commercial => 6,
		};
		for (index, purpose) in Purpose::ALL.iter().enumerate() {
			assert_eq!(position(*purpose), index);
			assert_eq!(purpose.encode(), vec![index as u8]);
		}
	}

	#[test]
	fn audit_events_keep_their_codec_indexes() {
		let legacy = AuditEvent::<u64>::LegacyPruned { grant: 3 };
		assert_eq!(legacy.encode(), [vec![5], 3u64.encode()].concat());
		let spent = AuditEvent::<u64>::BudgetSpent {
			grant: 1,
			grantee: Grantee::Job(2),
			amount: PrivacyBudget::default(),
			job: None,
		};
		assert_eq!(spent.encode().first(), Some(&6));
		let pruned = AuditEvent::<u64>::Pruned {
			grant: 1,
			grantee: Grantee::Job(2),
			spent: PrivacyBudget::default(),
			uses: 0,
		};
		assert_eq!(pruned.encode().first(), Some(&9));
	}

	#[test]
	fn rational_budgets_round_up_never_down() {
		let third = PrivacyBudget::from_rational_ceil(1, 3, 1, 3).unwrap();
		assert_eq!(third.epsilon, FixedU64::from_inner(333_333_334));
		assert_eq!(third.delta, Perquintill::from_parts(333_333_333_333_333_334));
		let exact = PrivacyBudget::from_rational_ceil(3, 2, 1, 1_000_000).unwrap();
		assert_eq!(exact.epsilon, FixedU64::from_rational(3, 2));
		assert_eq!(exact.delta, Perquintill::from_parts(1_000_000_000_000));
		let tiny = PrivacyBudget::from_rational_ceil(1, u128::MAX, 1, u64::MAX).unwrap();
		assert_eq!(tiny.epsilon, FixedU64::from_inner(1));
		assert_eq!(tiny.delta, Perquintill::from_parts(1));
	}

	#[test]
	fn budgets_show_as_exact_decimals() {
		let budget = PrivacyBudget {
			epsilon: FixedU64::from_rational(3, 2),
			delta: Perquintill::from_parts(1_000_000_000_000),
		};
		assert_eq!(
			(budget.epsilon_decimal(), budget.delta_decimal()),
			("1.5".into(), "0.000001".into())
		);
		let zero = PrivacyBudget::default();
		assert_eq!((zero.epsilon_decimal(), zero.delta_decimal()), ("0".into(), "0".into()));
	}

	#[test]
	fn rational_budgets_refuse_what_does_not_fit() {
		assert_eq!(PrivacyBudget::from_rational_ceil(1, 0, 0, 1), None);
		assert_eq!(PrivacyBudget::from_rational_ceil(1, 1, 0, 0), None);
		assert_eq!(PrivacyBudget::from_rational_ceil(1, 1, 2, 1), None);
		assert_eq!(PrivacyBudget::from_rational_ceil(u128::MAX, 1, 0, 1), None);
		assert_eq!(PrivacyBudget::from_rational_ceil(u128::from(u64::MAX), 1, 0, 1), None);
	}

	fn computation(job: u64, model: Option<DidId>, code: u8) -> Computation {
		Computation { round: JobRound { job, round: 1 }, model, code_hash: H256::repeat_byte(code) }
	}

	#[test]
	fn bindings_cover_only_their_computation() {
		let model = Some(H256::repeat_byte(9));
		let bound = Binding {
			job: Some(7),
			model,
			code_hash: Some(H256::repeat_byte(1)),
			..Default::default()
		};
		assert_eq!(bound.covers(Some(&computation(7, model, 1))), Ok(()));
		for other in [computation(8, model, 1), computation(7, None, 1), computation(7, model, 2)] {
			assert_eq!(bound.covers(Some(&other)), Err(ConsentDenied::ComputationNotCovered));
		}
		assert_eq!(bound.covers(None), Err(ConsentDenied::ComputationNotCovered));
		assert_eq!(Binding::default().covers(None), Ok(()));
	}

	#[test]
	fn a_narrower_binding_keeps_every_limit() {
		let cap = |e: u64| Some(FixedU64::from_u32(e as u32));
		let wide = Binding { job: Some(7), max_epsilon_per_round: cap(2), ..Default::default() };
		let narrow = Binding {
			code_hash: Some(H256::repeat_byte(1)),
			max_epsilon_per_round: cap(1),
			..wide
		};
		assert!(narrow.is_within(&wide));
		assert!(!wide.is_within(&narrow));
		assert!(!Binding { job: Some(8), ..wide }.is_within(&wide));
		assert!(!Binding { max_epsilon_per_round: None, ..wide }.is_within(&wide));
		assert!(!Binding::default().is_within(&wide));
	}
}
