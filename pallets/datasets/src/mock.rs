//! A test runtime with pallet-datasets and the real pallets it relies on:
//! pallet-twins (DIDs and custody), pallet-consent (contributors' consent),
//! pallet-nfts (licence items) and pallet-balances.

use frame_support::{
	derive_impl, parameter_types,
	traits::{AsEnsureOriginWithArg, ConstU32, ConstU64, NeverEnsureOrigin},
	BoundedVec, PalletId,
};
use frame_system::EnsureRoot;
use pallet_nfts::{
	CollectionConfig, CollectionSetting, CollectionSettings, ItemConfig, ItemSettings,
	MintSettings, MintType, PalletFeatures,
};
use sp_runtime::{
	traits::{Convert, IdentityLookup, Verify},
	AccountId32, BuildStorage, MultiSignature, Perbill,
};
use twinnet_primitives::{
	consent::{Grantee, PrivacyBudget, Purpose, Scope},
	did::{DidId, SubjectKind},
};

use crate as pallet_datasets;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Twins: pallet_twins,
		Consent: pallet_consent,
		Nfts: pallet_nfts,
		Datasets: pallet_datasets,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId32;
	type Lookup = IdentityLookup<AccountId32>;
	type AccountData = pallet_balances::AccountData<u64>;
}

/// The existential deposit here.
pub const EXISTENTIAL_DEPOSIT: u64 = 10;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ExistentialDeposit = ConstU64<EXISTENTIAL_DEPOSIT>;
}

impl pallet_twins::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DepositBase = ConstU64<1>;
	type DepositPerByte = ConstU64<0>;
	type CustodyDeposit = ConstU64<1>;
	type Dependents = (Consent, Datasets);
	type MaxControllerDepth = ConstU32<3>;
	type MaxVerificationMethods = ConstU32<4>;
	type MaxServices = ConstU32<4>;
	type MaxFragmentLength = ConstU32<16>;
	type MaxServiceTypeLength = ConstU32<16>;
	type MaxUrlLength = ConstU32<64>;
	type MaxSchemaLength = ConstU32<16>;
	type WeightInfo = ();
}

parameter_types! {
	pub MaxEpsilon: sp_runtime::FixedU64 = sp_runtime::FixedU64::from_u32(10);
	pub MaxDelta: sp_runtime::Perquintill = sp_runtime::Perquintill::from_percent(1);
}

impl pallet_consent::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type OnRevoke = Datasets;
	type Jobs = ();
	type GrantDepositBase = ConstU64<1>;
	type DepositPerByte = ConstU64<0>;
	type RequestDeposit = ConstU64<1>;
	type RequestLifetime = ConstU64<10>;
	type MaxGrantDuration = ConstU64<10_000>;
	type MaxEpsilon = MaxEpsilon;
	type MaxDelta = MaxDelta;
	type MaxGrantsPerTwin = ConstU32<4>;
	type MaxOpenRequestsPerRequester = ConstU32<4>;
	type MaxPurposes = ConstU32<7>;
	type MaxDatasets = ConstU32<2>;
	type MaxAuditRecords = ConstU32<8>;
	type MaxSpendRecords = ConstU32<8>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = DidsHelper;
}

parameter_types! {
	pub Features: PalletFeatures = PalletFeatures::all_enabled();
}

type AccountPublic = <MultiSignature as Verify>::Signer;

impl pallet_nfts::Config for Test {
	type RuntimeEvent = RuntimeEvent;
	type CollectionId = u32;
	type ItemId = u32;
	type Currency = Balances;
	type CreateOrigin = AsEnsureOriginWithArg<NeverEnsureOrigin<AccountId32>>;
	type ForceOrigin = EnsureRoot<AccountId32>;
	type Locker = ();
	type CollectionDeposit = ConstU64<0>;
	type ItemDeposit = ConstU64<ITEM_DEPOSIT>;
	type MetadataDepositBase = ConstU64<1>;
	type AttributeDepositBase = ConstU64<1>;
	type DepositPerByte = ConstU64<1>;
	type StringLimit = ConstU32<50>;
	type KeyLimit = ConstU32<50>;
	type ValueLimit = ConstU32<50>;
	type ApprovalsLimit = ConstU32<10>;
	type ItemAttributesApprovalsLimit = ConstU32<2>;
	type MaxTips = ConstU32<10>;
	type MaxDeadlineDuration = ConstU64<10000>;
	type MaxAttributesPerCall = ConstU32<2>;
	type Features = Features;
	type OffchainSignature = MultiSignature;
	type OffchainPublic = AccountPublic;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type Helper = ();
	type BlockNumberProvider = System;
}

/// The deposit of a licence's NFT item here, held from its buyer.
pub const ITEM_DEPOSIT: u64 = 5;
/// The fixed part of a dataset's deposit here.
pub const DEPOSIT_BASE: u64 = 100;
/// A contributor's deposit here.
pub const CONTRIBUTOR_DEPOSIT: u64 = 3;
/// The contributors' part of a licence's price here.
pub const CONTRIBUTOR_SHARE: Perbill = Perbill::from_percent(60);
/// The most contributors of a dataset here.
pub const MAX_CONTRIBUTORS: u32 = 6;
/// The most datasets a twin contributes to here.
pub const MAX_DATASETS_PER_TWIN: u32 = 2;

parameter_types! {
	pub const DatasetsPalletId: PalletId = PalletId(*b"twn/data");
	pub const ContributorShare: Perbill = CONTRIBUTOR_SHARE;
	pub LicenceItem: ItemConfig = ItemConfig { settings: ItemSettings::all_enabled() };
}

/// A licence collection: minted by its issuer only, its items transferable
/// or not (set on the collection, so burnt items leave nothing behind).
pub struct LicenceCollection;

impl Convert<bool, CollectionConfig<u64, u64, u32>> for LicenceCollection {
	fn convert(transferable: bool) -> CollectionConfig<u64, u64, u32> {
		let settings = match transferable {
			true => CollectionSettings::all_enabled(),
			false => CollectionSettings::from_disabled(CollectionSetting::TransferableItems.into()),
		};
		CollectionConfig {
			settings,
			max_supply: None,
			mint_settings: MintSettings {
				mint_type: MintType::Issuer,
				price: None,
				start_block: None,
				end_block: None,
				default_item_settings: ItemSettings::all_enabled(),
			},
		}
	}
}

impl pallet_datasets::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type Consent = Consent;
	type CollectionId = u32;
	type Nfts = Nfts;
	type CollectionConfig = CollectionConfig<u64, u64, u32>;
	type ItemConfig = ItemConfig;
	type LicenceCollection = LicenceCollection;
	type LicenceItem = LicenceItem;
	type GovernanceOrigin = EnsureRoot<AccountId32>;
	type PalletId = DatasetsPalletId;
	type ContributorShare = ContributorShare;
	type MinContributors = ConstU32<2>;
	type MaxContributors = ConstU32<MAX_CONTRIBUTORS>;
	type MaxContributorsPerCall = ConstU32<4>;
	type MaxDatasetsPerTwin = ConstU32<MAX_DATASETS_PER_TWIN>;
	type MaxParents = ConstU32<2>;
	type MaxAlgorithms = ConstU32<2>;
	type MaxUriLength = ConstU32<64>;
	type DepositBase = ConstU64<DEPOSIT_BASE>;
	type DepositPerByte = ConstU64<1>;
	type ContributorDeposit = ConstU64<CONTRIBUTOR_DEPOSIT>;
	type MaxLicenceDuration = ConstU64<1_000>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = DidsHelper;
}

/// Creates DIDs and consenting twins through the real pallets, for the
/// benchmarks and the tests.
#[cfg(feature = "runtime-benchmarks")]
pub struct DidsHelper;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId32> for DidsHelper {
	fn create_did(controller: &AccountId32, kind: SubjectKind) -> DidId {
		create_did(controller, kind)
	}

	fn consenting_twin(controller: &AccountId32, institution: &DidId, seed: u32) -> DidId {
		let patient = AccountId32::new(sp_io::hashing::blake2_256(&seed.to_le_bytes()));
		let _ =
			Balances::force_set_balance(RuntimeOrigin::root(), patient.clone(), INITIAL_BALANCE);
		consenting_twin(&patient, controller, institution)
	}
}

/// pallet-consent's benchmarks are not run here; its helper is required
/// by its configuration under `runtime-benchmarks` all the same.
#[cfg(feature = "runtime-benchmarks")]
impl pallet_consent::BenchmarkHelper<AccountId32> for DidsHelper {
	fn create_did(
		creator: &AccountId32,
		kind: SubjectKind,
		controller: twinnet_primitives::did::Controller<AccountId32>,
	) -> DidId {
		pallet_twins::Pallet::<Test>::do_create(
			creator.clone(),
			kind,
			Some(controller),
			BoundedVec::new(),
		)
		.expect("benchmark DID is valid")
	}

	fn bind_patient(twin: &DidId, controller: &AccountId32, patient: &AccountId32) {
		let offered =
			Twins::offer_patient(RuntimeOrigin::signed(controller.clone()), *twin, patient.clone());
		let accepted = Twins::accept_patient(RuntimeOrigin::signed(patient.clone()), *twin);
		assert!(offered.is_ok() && accepted.is_ok(), "benchmark patient: {offered:?} {accepted:?}");
	}
}

/// The account `[byte; 32]`.
pub fn account(byte: u8) -> AccountId32 {
	AccountId32::new([byte; 32])
}

/// The controller of the publishing institution.
pub fn publisher() -> AccountId32 {
	account(10)
}
/// The controller of another institution.
pub fn other_publisher() -> AccountId32 {
	account(11)
}
/// Patients, each with a twin.
pub fn patient(n: u8) -> AccountId32 {
	account(n)
}
/// A researcher who buys licences.
pub fn researcher() -> AccountId32 {
	account(20)
}
/// Someone with no standing.
pub fn stranger() -> AccountId32 {
	account(30)
}
/// An account with too little to pay a deposit or a price.
pub fn poor() -> AccountId32 {
	account(9)
}

/// What the funded accounts start with.
pub const INITIAL_BALANCE: u64 = 1_000_000;

/// Creates an active DID of `kind` controlled by (and, for a twin, for) `controller`.
pub fn create_did(controller: &AccountId32, kind: SubjectKind) -> DidId {
	pallet_twins::Pallet::<Test>::do_create(controller.clone(), kind, None, BoundedVec::new())
		.expect("test DID is valid")
}

/// A grant of `scope` to `institution` for every purpose, on any dataset.
pub fn institution_terms(institution: &DidId, scope: Scope) -> pallet_consent::TermsOf<Test> {
	pallet_consent::Terms {
		grantee: Grantee::Institution(*institution),
		scope,
		purposes: BoundedVec::truncate_from(vec![
			Purpose::ClinicalCare,
			Purpose::Research,
			Purpose::ModelTraining,
			Purpose::QualityImprovement,
			Purpose::PublicHealth,
			Purpose::Education,
			Purpose::Commercial,
		]),
		datasets: None,
		starts_at: 0,
		expires_at: 1_000,
		budget: (scope == Scope::Compute).then(|| PrivacyBudget {
			epsilon: sp_runtime::FixedU64::from_u32(1),
			delta: sp_runtime::Perquintill::from_parts(1_000),
		}),
		binding: Default::default(),
	}
}

/// `patient`'s twin, in the custody of `institution` (controlled by
/// `controller`), with View and Compute grants to the institution.
pub fn consenting_twin(
	patient: &AccountId32,
	controller: &AccountId32,
	institution: &DidId,
) -> DidId {
	let twin = create_did(patient, SubjectKind::PatientTwin);
	let offered =
		Twins::offer_custody(RuntimeOrigin::signed(controller.clone()), *institution, twin);
	let accepted =
		Twins::accept_custody(RuntimeOrigin::signed(patient.clone()), twin, *institution);
	assert!(offered.is_ok() && accepted.is_ok(), "custody: {offered:?} {accepted:?}");
	for scope in [Scope::View, Scope::Compute] {
		let granted = Consent::grant(
			RuntimeOrigin::signed(patient.clone()),
			twin,
			institution_terms(institution, scope),
		);
		assert!(granted.is_ok(), "consent: {granted:?}");
	}
	twin
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let funded = [publisher(), other_publisher(), researcher(), stranger()]
		.into_iter()
		.chain((1..=8).map(patient))
		.map(|who| (who, INITIAL_BALANCE))
		.chain([(poor(), 15)])
		.collect();
	pallet_balances::GenesisConfig::<Test> { balances: funded, ..Default::default() }
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
		Datasets::do_try_state().expect("pallet-datasets invariants hold");
	});
}
