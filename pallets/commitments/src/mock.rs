//! A test runtime with pallet-commitments, pallet-twins (the DID registry)
//! and pallet-balances.

use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64},
	BoundedVec,
};
use frame_system::EnsureRoot;
use sp_core::{sr25519, Pair, H256};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage};
use twinnet_primitives::{
	commitments::{attestation_message, CommitmentId, JobRound, JobRounds, Statement},
	did::{DidId, DidSignature, PublicKey, Relationships, SubjectKind},
};

use crate as pallet_commitments;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Twins: pallet_twins,
		Commitments: pallet_commitments,
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
	type Dependents = Commitments;
	type MaxControllerDepth = ConstU32<3>;
	type MaxVerificationMethods = ConstU32<4>;
	type MaxServices = ConstU32<4>;
	type MaxFragmentLength = ConstU32<16>;
	type MaxServiceTypeLength = ConstU32<16>;
	type MaxUrlLength = ConstU32<64>;
	type MaxSchemaLength = ConstU32<16>;
	type WeightInfo = ();
}

/// The fixed part of a commitment's deposit here.
pub const DEPOSIT_BASE: u64 = 100;
/// The deposit per byte here.
pub const DEPOSIT_PER_BYTE: u64 = 1;
/// An attestation's deposit here.
pub const ATTESTATION_DEPOSIT: u64 = 50;
/// A dispute's bond here.
pub const DISPUTE_BOND: u64 = 1_000;
/// The dispute window here, in blocks.
pub const DISPUTE_WINDOW: u64 = 10;
/// How long a model update's leaves are kept here, in blocks.
pub const LEAF_RETENTION: u64 = 20;
/// The most inputs and stored leaves here.
pub const MAX_INPUTS: u32 = 4;
pub const MAX_LEAVES: u32 = 8;

parameter_types! {
	pub const DepositBase: u64 = DEPOSIT_BASE;
	pub const DepositPerByte: u64 = DEPOSIT_PER_BYTE;
	pub const AttestationDeposit: u64 = ATTESTATION_DEPOSIT;
	pub const DisputeBond: u64 = DISPUTE_BOND;
	pub const DisputeWindow: u64 = DISPUTE_WINDOW;
	pub const LeafRetention: u64 = LEAF_RETENTION;
}

impl pallet_commitments::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type Jobs = KnownRounds;
	type ResolveOrigin = EnsureRoot<AccountId32>;
	type DepositBase = DepositBase;
	type DepositPerByte = DepositPerByte;
	type AttestationDeposit = AttestationDeposit;
	type DisputeBond = DisputeBond;
	type DisputeWindow = DisputeWindow;
	type LeafRetention = LeafRetention;
	type MaxInputs = ConstU32<MAX_INPUTS>;
	type MaxStoredLeaves = ConstU32<MAX_LEAVES>;
	type MaxSchemaLength = ConstU32<16>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TwinsHelper;
}

std::thread_local! {
	static ROUNDS: core::cell::RefCell<Vec<(JobRound, Option<CommitmentId>)>> =
		const { core::cell::RefCell::new(Vec::new()) };
}

/// The job rounds a test declared, and the aggregate commitments recorded
/// for them, as a federated pallet would know them.
pub struct KnownRounds;

impl KnownRounds {
	/// Makes `round` exist.
	pub fn add(round: JobRound) {
		ROUNDS.with(|rounds| rounds.borrow_mut().push((round, None)));
	}

	/// Records `id` as the commitment of `round`'s aggregate, as the
	/// federated pallet records what `commit_aggregate` returned.
	pub fn record_aggregate(round: JobRound, id: CommitmentId) {
		ROUNDS.with(|rounds| {
			for (known, aggregate) in rounds.borrow_mut().iter_mut() {
				if *known == round {
					*aggregate = Some(id);
				}
			}
		});
	}
}

impl JobRounds for KnownRounds {
	fn job_exists(job: u64) -> bool {
		ROUNDS.with(|rounds| rounds.borrow().iter().any(|(known, _)| known.job == job))
	}

	fn exists(round: &JobRound) -> bool {
		ROUNDS.with(|rounds| rounds.borrow().iter().any(|(known, _)| known == round))
	}

	fn aggregate_commitment(round: &JobRound) -> Option<CommitmentId> {
		ROUNDS.with(|rounds| {
			rounds.borrow().iter().find(|(known, _)| known == round).and_then(|(_, id)| *id)
		})
	}
}

/// Creates DIDs through pallet-twins, for benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct TwinsHelper;

#[cfg(feature = "runtime-benchmarks")]
impl TwinsHelper {
	/// The one key of every benchmark DID: benchmark accounts have no keys.
	fn assertion_key() -> sr25519::Pair {
		sr25519::Pair::from_seed(&[0xbe; 32])
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId32> for TwinsHelper {
	fn create_did(controller: &AccountId32, kind: SubjectKind) -> DidId {
		create_did_with_key(controller, kind, &Self::assertion_key())
	}

	fn sign(_controller: &AccountId32, message: &[u8]) -> DidSignature {
		DidSignature::Sr25519(Self::assertion_key().sign(message).0)
	}

	fn create_job_round(round: &JobRound) {
		KnownRounds::add(*round);
	}
}

/// The account whose sr25519 public key is that of [`key_of`]`(seed)`.
pub fn account(seed: u8) -> AccountId32 {
	AccountId32::new(sr25519::Pair::from_seed(&[seed; 32]).public().0)
}

/// The sr25519 key of `who`, if it is one of the test accounts.
pub fn key_of(who: &AccountId32) -> sr25519::Pair {
	(0..=u8::MAX)
		.map(|seed| sr25519::Pair::from_seed(&[seed; 32]))
		.find(|pair| AccountId32::new(pair.public().0) == *who)
		.expect("a test account")
}

/// The controller of the first institution.
pub fn alice() -> AccountId32 {
	account(1)
}
/// The controller of the second institution.
pub fn bob() -> AccountId32 {
	account(2)
}
/// Someone with no DID.
pub fn stranger() -> AccountId32 {
	account(3)
}
/// The controller of a third institution.
pub fn charlie() -> AccountId32 {
	account(4)
}
/// An account with too little to pay a deposit.
pub fn poor() -> AccountId32 {
	account(9)
}

/// What the funded accounts start with.
pub const INITIAL_BALANCE: u64 = 1_000_000;

/// Creates a DID of `kind` controlled by `controller`, with its sr25519 key
/// for authentication and assertions.
pub fn create_did(controller: &AccountId32, kind: SubjectKind) -> DidId {
	create_did_with_key(controller, kind, &key_of(controller))
}

/// Creates a DID of `kind` controlled by `controller`, with `key` for
/// authentication and assertions.
fn create_did_with_key(controller: &AccountId32, kind: SubjectKind, key: &sr25519::Pair) -> DidId {
	let key = PublicKey::Sr25519(key.public().0);
	let method = pallet_twins::VerificationMethod {
		fragment: BoundedVec::truncate_from(b"key-1".to_vec()),
		key,
		relationships: Relationships {
			authentication: true,
			assertion_method: true,
			..Default::default()
		},
	};
	pallet_twins::Pallet::<Test>::do_create(
		controller.clone(),
		kind,
		None,
		BoundedVec::truncate_from(vec![method]),
	)
	.expect("test DID is valid")
}

/// The signature by `controller`'s key of its institution `attester`'s
/// statement about commitment `id` with hash `hash`.
pub fn attestation(
	controller: &AccountId32,
	id: u64,
	hash: H256,
	attester: &DidId,
	statement: Statement,
) -> DidSignature {
	let message = attestation_message(Commitments::genesis_hash(), id, hash, attester, statement);
	DidSignature::Sr25519(key_of(controller).sign(&message).0)
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(alice(), INITIAL_BALANCE),
			(bob(), INITIAL_BALANCE),
			(stranger(), INITIAL_BALANCE),
			(charlie(), INITIAL_BALANCE),
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

/// Runs `test` on a fresh chain, then checks the pallet's invariants.
pub fn run_test(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		Commitments::do_try_state().expect("pallet-commitments invariants hold");
	});
}
