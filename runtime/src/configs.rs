//! Configuration of each pallet in the runtime.

use frame_support::{
	derive_impl,
	dispatch::DispatchClass,
	parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
		ConstantMultiplier, IdentityFee, Weight,
	},
};
use frame_system::limits::{BlockLength, BlockWeights};
use pallet_transaction_payment::{FungibleAdapter, Multiplier, TargetedFeeAdjustment};
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_runtime::{Perbill, Perquintill};
use sp_version::RuntimeVersion;

use super::{
	AccountId, Aura, Balance, Balances, Block, BlockNumber, Commitments, Consent, Datasets,
	Federated, Hash, Nonce, PalletInfo, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason,
	RuntimeHoldReason, RuntimeOrigin, RuntimeTask, Signature, System, Twins, DAYS,
	EXISTENTIAL_DEPOSIT, MICRO_UNITS, MILLI_UNITS, SLOT_DURATION, SS58_PREFIX, UNITS, VERSION,
};

/// Share of a block's weight and length that normal (non-operational) extrinsics may use.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute per six-second block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// 5 MiB blocks, of which normal extrinsics may fill 75%.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	pub const SS58Prefix: u16 = SS58_PREFIX;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	/// The node stores its state in ParityDB.
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	/// Without a session pallet there is no key ownership to prove.
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	/// Milliseconds since the Unix epoch.
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = frame_system::Pallet<Runtime>;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// The length fee: 10 µTWIN per byte, so filling blocks with data costs
	/// something on top of the deposits that pay for what stays in storage
	/// (a full 3.75 MiB of normal extrinsics pays about 39 TWIN).
	pub const TransactionByteFee: Balance = 10 * MICRO_UNITS;
	/// Fees rise while blocks are fuller than a quarter, and fall back below it.
	pub const TargetBlockFullness: Perquintill = Perquintill::from_percent(25);
	/// How fast: a block full of normal extrinsics raises the multiplier by
	/// about 0.0056%, so a day of full blocks multiplies fees by about 2.2.
	pub AdjustmentVariable: Multiplier = Multiplier::from_rational(75, 1_000_000);
	/// Fees never fall below a tenth of the base fee.
	pub MinimumMultiplier: Multiplier = Multiplier::from_rational(1, 10);
	/// Nor rise without bound.
	pub MaximumMultiplier: Multiplier = Multiplier::from_u32(100_000);
}

/// Fees: one planck per picosecond of measured execution time (weight), 10
/// µTWIN per byte of the extrinsic, times a multiplier that follows
/// congestion (Polkadot's targeted fee adjustment). docs/fees.md works
/// through examples.
impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = ConstantMultiplier<Balance, TransactionByteFee>;
	type FeeMultiplierUpdate = TargetedFeeAdjustment<
		Self,
		TargetBlockFullness,
		AdjustmentVariable,
		MinimumMultiplier,
		MaximumMultiplier,
	>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const DidDepositBase: Balance = 100 * MILLI_UNITS;
	pub const DidDepositPerByte: Balance = MILLI_UNITS;
	pub const CustodyDeposit: Balance = 100 * MILLI_UNITS;
}

impl pallet_twins::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type DepositBase = DidDepositBase;
	type DepositPerByte = DidDepositPerByte;
	type CustodyDeposit = CustodyDeposit;
	type Dependents = (Consent, Commitments, Datasets);
	type MaxControllerDepth = ConstU32<4>;
	type MaxVerificationMethods = ConstU32<8>;
	type MaxServices = ConstU32<8>;
	type MaxFragmentLength = ConstU32<32>;
	type MaxServiceTypeLength = ConstU32<64>;
	type MaxUrlLength = ConstU32<200>;
	type MaxSchemaLength = ConstU32<32>;
	type WeightInfo = pallet_twins::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const GrantDepositBase: Balance = 100 * MILLI_UNITS;
	pub const GrantDepositPerByte: Balance = MILLI_UNITS;
	pub const RequestDeposit: Balance = 100 * MILLI_UNITS;
	/// Patients have a week to answer an access request.
	pub const RequestLifetime: BlockNumber = 7 * DAYS;
	/// A grant covers at most five years (a typical research-consent term).
	pub const MaxGrantDuration: BlockNumber = 5 * 365 * DAYS;
	/// Epsilon above 10 gives next to no privacy; no grant may allow more.
	pub MaxEpsilon: sp_runtime::FixedU64 = sp_runtime::FixedU64::from_u32(10);
	/// Delta must stay far below 1/n for any realistic cohort n.
	pub MaxDelta: sp_runtime::Perquintill = sp_runtime::Perquintill::from_parts(1_000_000_000_000);
}

impl pallet_consent::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	// Datasets exclude the twin at once; pallet-federated will listen too.
	type OnRevoke = Datasets;
	type Jobs = Federated;
	type GrantDepositBase = GrantDepositBase;
	type DepositPerByte = GrantDepositPerByte;
	type RequestDeposit = RequestDeposit;
	type RequestLifetime = RequestLifetime;
	type MaxGrantDuration = MaxGrantDuration;
	type MaxEpsilon = MaxEpsilon;
	type MaxDelta = MaxDelta;
	type MaxGrantsPerTwin = ConstU32<64>;
	type MaxOpenRequestsPerRequester = ConstU32<32>;
	type MaxPurposes = ConstU32<7>;
	type MaxDatasets = ConstU32<16>;
	type MaxAuditRecords = ConstU32<128>;
	type MaxSpendRecords = ConstU32<128>;
	type WeightInfo = pallet_consent::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = TwinsBenchmarkHelper;
}

parameter_types! {
	pub NftFeatures: pallet_nfts::PalletFeatures = pallet_nfts::PalletFeatures::all_enabled();
	pub const NftItemDeposit: Balance = 100 * MILLI_UNITS;
	pub const NftMetadataDepositBase: Balance = 100 * MILLI_UNITS;
	pub const NftAttributeDepositBase: Balance = 100 * MILLI_UNITS;
	pub const NftDepositPerByte: Balance = MILLI_UNITS;
	pub const NftMaxDeadline: BlockNumber = 365 * DAYS;
}

/// The token ledger of dataset licences. Collections are created only by
/// pallet-datasets (one per dataset, owned by its pallet account), so no
/// one may create one through `nfts.create` and a collection's own deposit
/// is part of the dataset's; items, metadata and attributes are paid for.
impl pallet_nfts::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type CollectionId = u32;
	type ItemId = u32;
	type Currency = Balances;
	type ForceOrigin = frame_system::EnsureRoot<AccountId>;
	type CreateOrigin = frame_support::traits::AsEnsureOriginWithArg<
		frame_support::traits::NeverEnsureOrigin<AccountId>,
	>;
	type Locker = ();
	type CollectionDeposit = ConstU128<0>;
	type ItemDeposit = NftItemDeposit;
	type MetadataDepositBase = NftMetadataDepositBase;
	type AttributeDepositBase = NftAttributeDepositBase;
	type DepositPerByte = NftDepositPerByte;
	type StringLimit = ConstU32<256>;
	type KeyLimit = ConstU32<64>;
	type ValueLimit = ConstU32<256>;
	type ApprovalsLimit = ConstU32<20>;
	type ItemAttributesApprovalsLimit = ConstU32<20>;
	type MaxTips = ConstU32<10>;
	type MaxDeadlineDuration = NftMaxDeadline;
	type MaxAttributesPerCall = ConstU32<10>;
	type Features = NftFeatures;
	type OffchainSignature = Signature;
	type OffchainPublic = <Signature as sp_runtime::traits::Verify>::Signer;
	type WeightInfo = pallet_nfts::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type Helper = ();
	type BlockNumberProvider = System;
}

/// The configuration of a licence collection: minted by its issuer (the
/// datasets pallet's account) only.
pub type LicenceCollectionConfig = pallet_nfts::CollectionConfig<Balance, BlockNumber, u32>;

parameter_types! {
	pub const DatasetsPalletId: frame_support::PalletId = frame_support::PalletId(*b"twn/data");
	/// Half of each licence's price goes to the contributing patients.
	pub const ContributorShare: Perbill = Perbill::from_percent(50);
	pub const DatasetDepositBase: Balance = 500 * MILLI_UNITS;
	pub const DatasetDepositPerByte: Balance = MILLI_UNITS;
	/// About the bytes of a contributor's three entries.
	pub const ContributorDeposit: Balance = 150 * MILLI_UNITS;
	pub LicenceItem: pallet_nfts::ItemConfig =
		pallet_nfts::ItemConfig { settings: pallet_nfts::ItemSettings::all_enabled() };
	/// A licence lasts at most five years.
	pub const MaxLicenceDuration: BlockNumber = 5 * 365 * DAYS;
}

/// A dataset's licence collection: minted by its issuer (the datasets
/// pallet's account) only, its items transferable only if the dataset's
/// terms say so (set on the collection, so burnt items leave nothing behind).
pub struct LicenceCollection;

impl sp_runtime::traits::Convert<bool, LicenceCollectionConfig> for LicenceCollection {
	fn convert(transferable: bool) -> LicenceCollectionConfig {
		let settings = match transferable {
			true => pallet_nfts::CollectionSettings::all_enabled(),
			false => pallet_nfts::CollectionSettings::from_disabled(
				pallet_nfts::CollectionSetting::TransferableItems.into(),
			),
		};
		pallet_nfts::CollectionConfig {
			settings,
			max_supply: None,
			mint_settings: pallet_nfts::MintSettings {
				mint_type: pallet_nfts::MintType::Issuer,
				price: None,
				start_block: None,
				end_block: None,
				default_item_settings: pallet_nfts::ItemSettings::all_enabled(),
			},
		}
	}
}

impl pallet_datasets::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type Consent = Consent;
	type CollectionId = u32;
	type Nfts = super::Nfts;
	type CollectionConfig = LicenceCollectionConfig;
	type ItemConfig = pallet_nfts::ItemConfig;
	type LicenceCollection = LicenceCollection;
	type LicenceItem = LicenceItem;
	type GovernanceOrigin = frame_system::EnsureRoot<AccountId>;
	type PalletId = DatasetsPalletId;
	type ContributorShare = ContributorShare;
	type MinContributors = ConstU32<2>;
	type MaxContributors = ConstU32<256>;
	type MaxContributorsPerCall = ConstU32<32>;
	type MaxDatasetsPerTwin = ConstU32<16>;
	type MaxParents = ConstU32<8>;
	type MaxAlgorithms = ConstU32<16>;
	type MaxUriLength = ConstU32<256>;
	type DepositBase = DatasetDepositBase;
	type DepositPerByte = DatasetDepositPerByte;
	type ContributorDeposit = ContributorDeposit;
	type MaxLicenceDuration = MaxLicenceDuration;
	type WeightInfo = pallet_datasets::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = DatasetsBenchmarkHelper;
}

impl<C> frame_system::offchain::CreateTransactionBase<C> for Runtime
where
	RuntimeCall: From<C>,
{
	type Extrinsic = super::UncheckedExtrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<C> frame_system::offchain::CreateTransaction<C> for Runtime
where
	RuntimeCall: From<C>,
{
	type Extension = super::TxExtension;

	fn create_transaction(
		call: RuntimeCall,
		extension: super::TxExtension,
	) -> super::UncheckedExtrinsic {
		super::UncheckedExtrinsic::new_transaction(call, extension)
	}
}

/// What an off-chain worker's authorized transaction (a federated report)
/// carries: the same extensions as a signed one; without a signer, nonce
/// and fee checks pass it by, `AuthorizeCall` runs the call's own check.
impl<C> frame_system::offchain::CreateAuthorizedTransaction<C> for Runtime
where
	RuntimeCall: From<C>,
{
	fn create_extension() -> super::TxExtension {
		(
			frame_system::AuthorizeCall::<Runtime>::new(),
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckEra::<Runtime>::from(sp_runtime::generic::Era::Immortal),
			frame_system::CheckNonce::<Runtime>::from(0),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
			frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
			frame_system::WeightReclaim::<Runtime>::new(),
		)
	}
}

parameter_types! {
	pub const JobDepositBase: Balance = UNITS;
	pub const JobDepositPerByte: Balance = 10 * MICRO_UNITS;
	/// Reports go ahead of ordinary transactions: a round's deadline is near.
	pub const ReportPriority: u64 = u64::MAX / 4;
}

impl pallet_federated::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type Consent = Consent;
	type Datasets = Datasets;
	type Commitments = Commitments;
	type MaxDatasets = ConstU32<8>;
	type MaxParameters = ConstU32<4096>;
	// As many as a dataset's contributors.
	type MaxCohort = ConstU32<256>;
	type MaxRounds = ConstU32<100>;
	type MaxLocalSteps = ConstU32<{ twinnet_primitives::federated::MAX_LOCAL_STEPS }>;
	type MaxRetries = ConstU32<3>;
	type MinRoundTimeout = ConstU32<3>;
	type MaxRoundTimeout = ConstU32<DAYS>;
	type MaxActiveJobs = ConstU32<16>;
	// One step a block, of at most one cohort when opening (up to 256
	// twins, every consent check at its worst): at most half a block's
	// ref-time (runtime test `a_federated_step_leaves_most_of_a_block`).
	type MaxStepsPerBlock = ConstU32<1>;
	type MaxCohortsPerStep = ConstU32<1>;
	type DepositBase = JobDepositBase;
	type DepositPerByte = JobDepositPerByte;
	type ReportPriority = ReportPriority;
	type WeightInfo = pallet_federated::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = FederatedBenchmarkHelper;
}

parameter_types! {
	pub const CommitmentDepositBase: Balance = 100 * MILLI_UNITS;
	pub const CommitmentDepositPerByte: Balance = MILLI_UNITS;
	pub const AttestationDeposit: Balance = 100 * MILLI_UNITS;
	/// Enough that disputing costs something real, returned when upheld.
	pub const DisputeBond: Balance = 100 * UNITS;
	/// Four weeks for anyone to dispute a commitment.
	pub const DisputeWindow: BlockNumber = 28 * DAYS;
	/// A model update's leaves are kept for 90 days of audit.
	pub const LeafRetention: BlockNumber = 90 * DAYS;
}

impl pallet_commitments::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	// A commitment may name a round of a federated job.
	type Jobs = Federated;
	type ResolveOrigin = frame_system::EnsureRoot<AccountId>;
	type DepositBase = CommitmentDepositBase;
	type DepositPerByte = CommitmentDepositPerByte;
	type AttestationDeposit = AttestationDeposit;
	type DisputeBond = DisputeBond;
	type DisputeWindow = DisputeWindow;
	type LeafRetention = LeafRetention;
	type MaxInputs = ConstU32<16>;
	type MaxStoredLeaves = ConstU32<1024>;
	type MaxSchemaLength = ConstU32<32>;
	type WeightInfo = pallet_commitments::weights::SubstrateWeight<Runtime>;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = CommitmentsBenchmarkHelper;
}

/// Creates the DIDs pallet-commitments' benchmarks need, through
/// pallet-twins, each with the most verification methods a DID holds, all
/// ECDSA `assertionMethod` keys (the costliest to verify) from the
/// benchmark's keystore; [`Self::sign`] signs with the last, so an
/// attestation's check tries every key.
#[cfg(feature = "runtime-benchmarks")]
pub struct CommitmentsBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl CommitmentsBenchmarkHelper {
	const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"cmtb");

	fn keys() -> u32 {
		use frame_support::traits::Get;
		<Runtime as pallet_twins::Config>::MaxVerificationMethods::get()
	}

	fn assertion_key(index: u32) -> sp_core::ecdsa::Public {
		let seed = alloc::format!("//commitments-benchmark//{index}");
		sp_io::crypto::ecdsa_generate(Self::KEY_TYPE, Some(seed.into_bytes()))
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_commitments::BenchmarkHelper<AccountId> for CommitmentsBenchmarkHelper {
	fn create_did(
		controller: &AccountId,
		kind: twinnet_primitives::did::SubjectKind,
	) -> twinnet_primitives::did::DidId {
		let methods = (0..Self::keys()).map(|index| pallet_twins::VerificationMethod {
			fragment: frame_support::BoundedVec::truncate_from(
				alloc::format!("assert-{index}").into_bytes(),
			),
			key: twinnet_primitives::did::PublicKey::Ecdsa(Self::assertion_key(index).0),
			relationships: twinnet_primitives::did::Relationships {
				authentication: true,
				assertion_method: true,
				..Default::default()
			},
		});
		let methods =
			frame_support::BoundedVec::truncate_from(methods.collect::<alloc::vec::Vec<_>>());
		match Twins::do_create(controller.clone(), kind, None, methods) {
			Ok(did) => did,
			Err(error) => panic!("benchmark DID: {error:?}"),
		}
	}

	fn sign(_controller: &AccountId, message: &[u8]) -> twinnet_primitives::did::DidSignature {
		let last = Self::assertion_key(Self::keys().saturating_sub(1));
		match sp_io::crypto::ecdsa_sign(Self::KEY_TYPE, &last, message) {
			Some(signature) => twinnet_primitives::did::DidSignature::Ecdsa(signature.0),
			None => panic!("benchmark keystore lost its key"),
		}
	}

	fn create_job_round(round: &twinnet_primitives::commitments::JobRound) {
		// The round's record alone: what `JobRounds::exists` reads.
		let record = pallet_federated::Round {
			opened_at: 0,
			opening_block: Default::default(),
			deadline: 0,
			start_model: Default::default(),
			expected: Default::default(),
			reporters: Default::default(),
			admitted_twins: 0,
			excluded_twins: 0,
			outcome: pallet_federated::RoundOutcome::Open,
			commitment: None,
			masking: None,
		};
		pallet_federated::Rounds::<Runtime>::insert(round.job, round.round, record);
	}
}

/// Creates the DIDs pallet-consent's benchmarks need, through pallet-twins.
#[cfg(feature = "runtime-benchmarks")]
pub struct TwinsBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_consent::BenchmarkHelper<AccountId> for TwinsBenchmarkHelper {
	fn create_did(
		creator: &AccountId,
		kind: twinnet_primitives::did::SubjectKind,
		controller: twinnet_primitives::did::Controller<AccountId>,
	) -> twinnet_primitives::did::DidId {
		match Twins::do_create(creator.clone(), kind, Some(controller), Default::default()) {
			Ok(did) => did,
			Err(error) => panic!("benchmark DID: {error:?}"),
		}
	}

	fn bind_patient(
		twin: &twinnet_primitives::did::DidId,
		controller: &AccountId,
		patient: &AccountId,
	) {
		let offered =
			Twins::offer_patient(RuntimeOrigin::signed(controller.clone()), *twin, patient.clone());
		let accepted = Twins::accept_patient(RuntimeOrigin::signed(patient.clone()), *twin);
		assert!(offered.is_ok() && accepted.is_ok(), "benchmark patient: {offered:?} {accepted:?}");
	}
}

/// Creates the DIDs and consenting twins pallet-datasets' benchmarks need,
/// through pallet-twins and pallet-consent.
#[cfg(feature = "runtime-benchmarks")]
pub struct DatasetsBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_datasets::BenchmarkHelper<AccountId> for DatasetsBenchmarkHelper {
	fn create_did(
		controller: &AccountId,
		kind: twinnet_primitives::did::SubjectKind,
	) -> twinnet_primitives::did::DidId {
		match Twins::do_create(controller.clone(), kind, None, Default::default()) {
			Ok(did) => did,
			Err(error) => panic!("benchmark DID: {error:?}"),
		}
	}

	fn consenting_twin(
		controller: &AccountId,
		institution: &twinnet_primitives::did::DidId,
		seed: u32,
	) -> twinnet_primitives::did::DidId {
		use frame_support::traits::fungible::Mutate;
		use twinnet_primitives::consent::{Grantee, PrivacyBudget, Purpose, Scope};
		let patient: AccountId = frame_benchmarking::account("patient", seed, 0);
		Balances::set_balance(&patient, 1_000 * UNITS);
		let twin = Self::create_did(&patient, twinnet_primitives::did::SubjectKind::PatientTwin);
		let offered =
			Twins::offer_custody(RuntimeOrigin::signed(controller.clone()), *institution, twin);
		let accepted =
			Twins::accept_custody(RuntimeOrigin::signed(patient.clone()), twin, *institution);
		assert!(offered.is_ok() && accepted.is_ok(), "benchmark custody: {offered:?} {accepted:?}");
		let purposes = frame_support::BoundedVec::truncate_from(alloc::vec![
			Purpose::ClinicalCare,
			Purpose::Research,
			Purpose::ModelTraining,
			Purpose::QualityImprovement,
			Purpose::PublicHealth,
			Purpose::Education,
			Purpose::Commercial,
		]);
		for scope in [Scope::View, Scope::Compute] {
			let terms = pallet_consent::Terms {
				grantee: Grantee::Institution(*institution),
				scope,
				purposes: purposes.clone(),
				datasets: None,
				starts_at: 0,
				expires_at: 1_000_000,
				budget: (scope == Scope::Compute).then(|| PrivacyBudget {
					epsilon: sp_runtime::FixedU64::from_u32(1),
					delta: sp_runtime::Perquintill::from_parts(1_000),
				}),
				binding: Default::default(),
			};
			let granted = Consent::grant(RuntimeOrigin::signed(patient.clone()), twin, terms);
			assert!(granted.is_ok(), "benchmark consent: {granted:?}");
		}
		twin
	}
}

/// Creates the licensed datasets and report keys pallet-federated's
/// benchmarks need, through pallet-twins, pallet-consent and
/// pallet-datasets; report keys are sr25519 keys of the benchmark's keystore.
#[cfg(feature = "runtime-benchmarks")]
pub struct FederatedBenchmarkHelper;

#[cfg(feature = "runtime-benchmarks")]
impl FederatedBenchmarkHelper {
	const KEY_TYPE: sp_core::crypto::KeyTypeId = sp_core::crypto::KeyTypeId(*b"fedb");

	fn node_key(seed: u32) -> sp_core::sr25519::Public {
		let phrase = alloc::format!("//federated-benchmark//{seed}");
		sp_io::crypto::sr25519_generate(Self::KEY_TYPE, Some(phrase.into_bytes()))
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_federated::BenchmarkHelper<AccountId> for FederatedBenchmarkHelper {
	fn licensed_dataset(
		researcher: &AccountId,
		seed: u32,
		contributors: u32,
		code_hash: sp_core::H256,
	) -> (
		twinnet_primitives::did::DidId,
		twinnet_primitives::datasets::LicenceId,
		twinnet_primitives::did::DidId,
	) {
		use frame_support::{traits::fungible::Mutate, BoundedVec};
		use pallet_datasets::BenchmarkHelper as _;
		use twinnet_primitives::{
			consent::{Purpose, Scope},
			datasets::Schema,
			did::{PublicKey, Relationships, SubjectKind},
		};
		let controller: AccountId = frame_benchmarking::account("federated-publisher", seed, 0);
		Balances::set_balance(&controller, 1_000_000 * UNITS);
		let method = pallet_twins::VerificationMethod {
			fragment: BoundedVec::truncate_from(b"node".to_vec()),
			key: PublicKey::Sr25519(Self::node_key(seed).0),
			relationships: Relationships { capability_invocation: true, ..Default::default() },
		};
		let methods = BoundedVec::truncate_from(alloc::vec![method]);
		let institution =
			match Twins::do_create(controller.clone(), SubjectKind::Institution, None, methods) {
				Ok(did) => did,
				Err(error) => panic!("benchmark institution: {error:?}"),
			};
		let dataset = DatasetsBenchmarkHelper::create_did(&controller, SubjectKind::Dataset);
		let descriptor = pallet_datasets::Descriptor {
			content_hash: sp_core::H256::repeat_byte(1),
			location: BoundedVec::truncate_from(b"s3://bucket/cohort.csv.enc".to_vec()),
			schema: Schema::Csv,
			size_bytes: 1 << 20,
			record_count: contributors.into(),
			metadata_hash: sp_core::H256::repeat_byte(2),
		};
		let terms = pallet_datasets::LicenceTerms {
			price: UNITS,
			scopes: pallet_datasets::Scopes { view: false, compute: true },
			purposes: BoundedVec::truncate_from(alloc::vec![Purpose::ModelTraining]),
			duration: 30 * DAYS,
			max_licences: 8,
			transferable: false,
		};
		let lineage = pallet_datasets::Lineage { parents: BoundedVec::new(), transformation: None };
		let origin = || RuntimeOrigin::signed(controller.clone());
		let registered = Datasets::register(
			origin(),
			dataset,
			institution,
			alloc::boxed::Box::new(descriptor),
			alloc::boxed::Box::new(terms),
			lineage,
			2,
		);
		assert!(registered.is_ok(), "benchmark dataset: {registered:?}");
		let twins: alloc::vec::Vec<_> = (0..contributors)
			.map(|n| {
				let patient_seed = seed.saturating_mul(1_000).saturating_add(n);
				DatasetsBenchmarkHelper::consenting_twin(&controller, &institution, patient_seed)
			})
			.collect();
		for page in twins.chunks(32) {
			let added = Datasets::add_contributors(
				origin(),
				dataset,
				BoundedVec::truncate_from(page.to_vec()),
			);
			assert!(added.is_ok(), "benchmark contributors: {added:?}");
		}
		let allowed = Datasets::set_algorithms(
			origin(),
			dataset,
			BoundedVec::truncate_from(alloc::vec![code_hash]),
			false,
		);
		assert!(allowed.is_ok(), "benchmark algorithm: {allowed:?}");
		let licence = pallet_datasets::Datasets::<Runtime>::get(dataset)
			.map(|record| record.licences_sold)
			.unwrap_or_default();
		let bought = Datasets::buy_licence(
			RuntimeOrigin::signed(researcher.clone()),
			dataset,
			Scope::Compute,
			Purpose::ModelTraining,
			UNITS,
		);
		assert!(bought.is_ok(), "benchmark licence: {bought:?}");
		(dataset, licence, institution)
	}

	fn sign_as(
		_institution: &twinnet_primitives::did::DidId,
		seed: u32,
		message: &[u8],
	) -> twinnet_primitives::did::DidSignature {
		match sp_io::crypto::sr25519_sign(Self::KEY_TYPE, &Self::node_key(seed), message) {
			Some(signature) => twinnet_primitives::did::DidSignature::Sr25519(signature.0),
			None => panic!("benchmark keystore lost its key"),
		}
	}
}
