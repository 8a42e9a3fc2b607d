//! A test runtime with pallet-twins and pallet-balances.

use frame_support::{derive_impl, parameter_types, traits::ConstU32};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage};

use crate as pallet_twins;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Twins: pallet_twins,
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

/// The fixed part of a DID deposit.
pub const DEPOSIT_BASE: u64 = 100;
/// The deposit per stored byte.
pub const DEPOSIT_PER_BYTE: u64 = 1;
/// The deposit of a custody offer or record.
pub const CUSTODY_DEPOSIT: u64 = 50;
/// The longest chain of controlling DIDs here.
pub const MAX_CONTROLLER_DEPTH: u32 = 3;
/// The most verification methods (and services) a DID may have here.
pub const MAX_METHODS: u32 = 3;

parameter_types! {
	pub const DepositBase: u64 = DEPOSIT_BASE;
	pub const DepositPerByte: u64 = DEPOSIT_PER_BYTE;
	pub const CustodyDeposit: u64 = CUSTODY_DEPOSIT;
}

impl pallet_twins::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DepositBase = DepositBase;
	type DepositPerByte = DepositPerByte;
	type CustodyDeposit = CustodyDeposit;
	type Dependents = ();
	type MaxControllerDepth = ConstU32<MAX_CONTROLLER_DEPTH>;
	type MaxVerificationMethods = ConstU32<MAX_METHODS>;
	type MaxServices = ConstU32<MAX_METHODS>;
	type MaxFragmentLength = ConstU32<16>;
	type MaxServiceTypeLength = ConstU32<24>;
	type MaxUrlLength = ConstU32<64>;
	type MaxSchemaLength = ConstU32<16>;
	type WeightInfo = ();
}

/// The account whose sr25519 public key is `[byte; 32]`.
pub fn account(byte: u8) -> AccountId32 {
	AccountId32::new([byte; 32])
}

pub fn alice() -> AccountId32 {
	account(1)
}
pub fn bob() -> AccountId32 {
	account(2)
}
pub fn charlie() -> AccountId32 {
	account(3)
}
/// An account with too little to pay any deposit.
pub fn poor() -> AccountId32 {
	account(9)
}

/// What the funded accounts start with.
pub const INITIAL_BALANCE: u64 = 1_000_000;

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![
			(alice(), INITIAL_BALANCE),
			(bob(), INITIAL_BALANCE),
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
		Twins::do_try_state().expect("pallet-twins invariants hold");
	});
}
