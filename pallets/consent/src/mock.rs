//! A test runtime with pallet-consent, pallet-twins (the DID registry) and
//! pallet-balances.

use frame_support::{derive_impl, parameter_types, traits::ConstU32, BoundedVec};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage};
use twinnet_primitives::{
	consent::{Grantee, OnGrantRevoked},
	did::{Controller, DidId, PublicKey, Relationships, SubjectKind},
};

use crate as pallet_consent;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Twins: pallet_twins,
		Consent: pallet_consent,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId32;
	type Lookup = IdentityLookup<AccountId32>;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

impl pallet_twins::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DepositBase = ConstU64<1>;
	type DepositPerByte = ConstU64<0>;
	type CustodyDeposit = ConstU64<1>;
	type Dependents = Consent;
	type MaxControllerDepth = ConstU32<3>;
	type MaxVerificationMethods = ConstU32<4>;
	type MaxServices = ConstU32<4>;
	type MaxFragmentLength = ConstU32<16>;
	type MaxServiceTypeLength = ConstU32<16>;
	type MaxUrlLength = ConstU32<64>;
	type MaxSchemaLength = ConstU32<16>;
	type WeightInfo = ();
}

use frame_support::traits::ConstU64;

/// The fixed part of a grant deposit.
pub const GRANT_DEPOSIT_BASE: u64 = 100;
/// The deposit of a request.
pub const REQUEST_DEPOSIT: u64 = 30;
/// How long requests stay open.
pub const REQUEST_LIFETIME: u64 = 10;
/// The most grants and requests per twin here.
pub const MAX_PER_TWIN: u32 = 4;
/// How many audit records a twin keeps here.
pub const MAX_AUDIT: u32 = 8;

/// The longest grant period here, in blocks.
pub const MAX_GRANT_DURATION: u64 = 10_000;

parameter_types! {
	/// The largest epsilon a grant may allow here.
	pub MaxEpsilon: sp_runtime::FixedU64 = sp_runtime::FixedU64::from_u32(10);
	/// The largest delta a grant may allow here.
	pub MaxDelta: sp_runtime::Perquintill = sp_runtime::Perquintill::from_percent(1);
	pub const GrantDepositBase: u64 = GRANT_DEPOSIT_BASE;
	pub const RequestDeposit: u64 = REQUEST_DEPOSIT;
	pub const RequestLifetime: u64 = REQUEST_LIFETIME;
}

impl pallet_consent::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type OnRevoke = RevocationLog;
	type Jobs = PostedJobs;
	type GrantDepositBase = GrantDepositBase;
	type DepositPerByte = ConstU64<1>;
	type RequestDeposit = RequestDeposit;
	type RequestLifetime = RequestLifetime;
	type MaxGrantDuration = ConstU64<MAX_GRANT_DURATION>;
	type MaxEpsilon = MaxEpsilon;
	type MaxDelta = MaxDelta;
	type MaxGrantsPerTwin = ConstU32<MAX_PER_TWIN>;
	type MaxOpenRequestsPerRequester = ConstU32<MAX_PER_TWIN>;
	type MaxPurposes = ConstU32<4>;
	type MaxDatasets = ConstU32<2>;
	type MaxAuditRecords = ConstU32<MAX_AUDIT>;
	type MaxSpendRecords = ConstU32<MAX_AUDIT>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TwinsHelper;
}

std::thread_local! {
	static POSTED: core::cell::RefCell<Vec<u64>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// The jobs a test posted, as a federated pallet would know them (it has no
/// rounds here).
pub struct PostedJobs;

impl PostedJobs {
	/// Makes job `job` exist.
	pub fn post(job: u64) {
		POSTED.with(|posted| posted.borrow_mut().push(job));
	}
}

impl twinnet_primitives::commitments::JobRounds for PostedJobs {
	fn job_exists(job: u64) -> bool {
		POSTED.with(|posted| posted.borrow().contains(&job))
	}

	fn exists(_: &twinnet_primitives::commitments::JobRound) -> bool {
		false
	}

	fn aggregate_commitment(
		_: &twinnet_primitives::commitments::JobRound,
	) -> Option<twinnet_primitives::commitments::CommitmentId> {
		None
	}
}

/// Records the revocations pallet-consent announces, as a job pallet would hear them.
pub struct RevocationLog;

/// A revocation announced to [`RevocationLog`].
pub type Revocation = (DidId, twinnet_primitives::consent::GrantId, Grantee<AccountId32>);

std::thread_local! {
	static REVOCATIONS: core::cell::RefCell<Vec<Revocation>> = const { core::cell::RefCell::new(Vec::new()) };
}

impl RevocationLog {
	/// The revocations announced so far in this test.
	pub fn announced() -> Vec<Revocation> {
		REVOCATIONS.with(|log| log.borrow().clone())
	}
}

impl OnGrantRevoked<AccountId32> for RevocationLog {
	fn on_revoked(
		twin: &DidId,
		grant: twinnet_primitives::consent::GrantId,
		grantee: &Grantee<AccountId32>,
	) {
		REVOCATIONS.with(|log| log.borrow_mut().push((*twin, grant, grantee.clone())));
	}

	fn weight() -> frame_support::weights::Weight {
		frame_support::weights::Weight::zero()
	}
}

/// Creates DIDs through pallet-twins, for benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct TwinsHelper;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId32> for TwinsHelper {
	fn create_did(
		creator: &AccountId32,
		kind: SubjectKind,
		controller: Controller<AccountId32>,
	) -> DidId {
		create_did(creator, kind, controller, None)
	}

	fn bind_patient(twin: &DidId, controller: &AccountId32, patient: &AccountId32) {
		let offered =
			Twins::offer_patient(RuntimeOrigin::signed(controller.clone()), *twin, patient.clone());
		let accepted = Twins::accept_patient(RuntimeOrigin::signed(patient.clone()), *twin);
		assert!(offered.is_ok() && accepted.is_ok(), "benchmark patient: {offered:?} {accepted:?}");
	}
}

/// The account whose sr25519 public key is `[byte; 32]`.
pub fn account(byte: u8) -> AccountId32 {
	AccountId32::new([byte; 32])
}

/// The patient.
pub fn patient() -> AccountId32 {
	account(1)
}
/// A researcher.
pub fn researcher() -> AccountId32 {
	account(2)
}
/// Someone with no standing.
pub fn stranger() -> AccountId32 {
	account(3)
}
/// A guardian: controls the guardian DID.
pub fn guardian() -> AccountId32 {
	account(4)
}
/// An account with too little to pay a deposit.
pub fn poor() -> AccountId32 {
	account(9)
}

/// What the funded accounts start with.
pub const INITIAL_BALANCE: u64 = 1_000_000;

/// Creates a DID of `kind` signed by `creator`, with `controller`, and with
/// the sr25519 authentication key `key` if given.
pub fn create_did(
	creator: &AccountId32,
	kind: SubjectKind,
	controller: Controller<AccountId32>,
	key: Option<[u8; 32]>,
) -> DidId {
	let methods = key
		.map(|key| pallet_twins::VerificationMethod {
			fragment: BoundedVec::truncate_from(b"key-1".to_vec()),
			key: PublicKey::Sr25519(key),
			relationships: Relationships { authentication: true, ..Default::default() },
		})
		.into_iter()
		.collect::<Vec<_>>();
	pallet_twins::Pallet::<Test>::do_create(
		creator.clone(),
		kind,
		Some(controller),
		BoundedVec::truncate_from(methods),
	)
	.expect("test DID is valid")
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(patient(), INITIAL_BALANCE),
			(researcher(), INITIAL_BALANCE),
			(stranger(), INITIAL_BALANCE),
			(guardian(), INITIAL_BALANCE),
			(poor(), 10),
		],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` on a fresh chain, then checks both pallets' invariants.
pub fn run_test(test: impl FnOnce()) {
	// Each test (and each proptest case) posts its own jobs.
	POSTED.with(|posted| posted.borrow_mut().clear());
	new_test_ext().execute_with(|| {
		test();
		Consent::do_try_state().expect("pallet-consent invariants hold");
	});
}
