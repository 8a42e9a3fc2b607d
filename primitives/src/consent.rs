//! Consent: who may act on a patient twin's data, for what, and how much
//! differential-privacy budget their computations may spend.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{
	traits::{CheckedAdd, CheckedSub},
	FixedU64, Perquintill,
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

impl PrivacyBudget {
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

/// What happened to a twin's data, as its audit trails record it: decisions
/// in one trail (written only by the patient's side), budget spends in
/// another (written only by pallets spending under a grant). Uses are
/// counted on each grant, so no grantee can push records out of a trail.
#[derive(Clone, PartialEq, Eq, Encode, Decode, MaxEncodedLen, TypeInfo, Debug)]
pub enum AuditEvent<AccountId> {
	/// A grant was made.
	Granted { grant: GrantId, by: Authority },
	/// A grant was narrowed.
	Narrowed { grant: GrantId, by: Authority },
	/// A grant was revoked.
	Revoked { grant: GrantId, by: Authority },
	/// An access request was approved: it became `grant`.
	RequestApproved { request: u64, grant: GrantId, by: Authority },
	/// An access request was rejected.
	RequestRejected { request: u64, by: Authority },
	/// A revoked or expired grant was deleted.
	Pruned { grant: GrantId },
	/// Privacy budget was spent under a grant, by `grantee`, for a job round if any.
	BudgetSpent {
		grant: GrantId,
		grantee: Grantee<AccountId>,
		amount: PrivacyBudget,
		job: Option<JobRound>,
	},
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
	/// The budget spent.
	pub spent: PrivacyBudget,
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
	/// The budget left, for compute grants.
	pub fn remaining(&self) -> Option<PrivacyBudget> {
		self.budget.and_then(|budget| budget.checked_sub(&self.spent))
	}
}

/// Why an action on a twin's data is not permitted now.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode, TypeInfo, Debug)]
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
}

/// The consent registry, as other pallets use it (implemented by `pallet-consent`).
pub trait ConsentLedger<AccountId> {
	/// The live grant under which `access` to `twin` is allowed now, or the
	/// precise reason why none applies. Reads only.
	fn check(twin: &DidId, access: &Access<AccountId>) -> Result<GrantId, ConsentDenied>;

	/// Like [`Self::check`], and counts the use on the grant.
	fn use_grant(twin: &DidId, access: &Access<AccountId>) -> Result<GrantId, ConsentDenied>;

	/// The live compute grant under which `access` to `twin` may spend
	/// `amount` of privacy budget now (one whose remaining budget covers it),
	/// or why none may. Reads only: a dry run of [`Self::spend_budget`].
	fn check_spend(
		twin: &DidId,
		access: &Access<AccountId>,
		amount: PrivacyBudget,
	) -> Result<GrantId, ConsentDenied>;

	/// Spends `amount` (positive) under the grant [`Self::check_spend`]
	/// finds, records the spend with its grantee and `job` round in the
	/// twin's spend trail, and returns the grant and the budget it has left;
	/// fails, changing nothing, if no live grant of the grantee covers it.
	fn spend_budget(
		twin: &DidId,
		access: &Access<AccountId>,
		amount: PrivacyBudget,
		job: Option<JobRound>,
	) -> Result<(GrantId, PrivacyBudget), ConsentDenied>;
}
