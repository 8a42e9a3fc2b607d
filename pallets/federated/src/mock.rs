//! A test runtime with pallet-federated and the real pallets it relies on:
//! pallet-twins (DIDs, custody, report keys), pallet-consent (budgets),
//! pallet-datasets (licences, usable twins), pallet-commitments (the
//! commitments of released aggregates), pallet-nfts and pallet-balances.

// Test arithmetic on small constants (account bytes, block numbers).
#![allow(clippy::arithmetic_side_effects)]

#[cfg(feature = "runtime-benchmarks")]
use codec::Encode;
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
use sp_core::{sr25519, Pair, H256};
use sp_runtime::{
	traits::{Convert, IdentityLookup, Verify},
	AccountId32, BuildStorage, FixedU64, MultiSignature, Perbill, Perquintill,
};
use twinnet_primitives::{
	consent::{Grantee, PrivacyBudget, Purpose, Scope},
	datasets::{LicenceId, Schema},
	did::{DidId, DidSignature, PublicKey, Relationships, SubjectKind},
};

use crate as pallet_federated;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Twins: pallet_twins,
		Consent: pallet_consent,
		Nfts: pallet_nfts,
		Datasets: pallet_datasets,
		Federated: pallet_federated,
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
	type Dependents = (Consent, Datasets, Commitments);
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
	type Jobs = Federated;
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
	type BenchmarkHelper = Helper;
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
	type BenchmarkHelper = Helper;
}

/// Transactions of the test runtime: general (authorized) ones carry no
/// extension here.
pub type Extrinsic = frame_system::mocking::MockUncheckedExtrinsic<Test>;

impl<C> frame_system::offchain::CreateTransactionBase<C> for Test
where
	RuntimeCall: From<C>,
{
	type Extrinsic = Extrinsic;
	type RuntimeCall = RuntimeCall;
}

impl<C> frame_system::offchain::CreateTransaction<C> for Test
where
	RuntimeCall: From<C>,
{
	type Extension = ();

	fn create_transaction(call: RuntimeCall, extension: ()) -> Extrinsic {
		Extrinsic::new_transaction(call, extension)
	}
}

impl<C> frame_system::offchain::CreateAuthorizedTransaction<C> for Test
where
	RuntimeCall: From<C>,
{
	fn create_extension() {}
}

parameter_types! {
	/// Cohorts admitted per step of opening a round here (all three sites,
	/// unless a test opens rounds over several blocks).
	pub static CohortsPerStep: u32 = 3;
	/// The most jobs running at once here (two, unless a test runs more).
	pub static ActiveJobs: u32 = 2;
}

/// The most datasets (institutions) of a job here.
pub const MAX_DATASETS: u32 = 3;
/// The most local steps of a round here (the runtime's).
pub use twinnet_primitives::federated::MAX_LOCAL_STEPS;
/// The most parameters of a model here.
pub const MAX_PARAMETERS: u32 = 64;
/// The fixed part of a job's deposit here.
pub const JOB_DEPOSIT_BASE: u64 = 50;

impl pallet_federated::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type Consent = Consent;
	type Datasets = Datasets;
	type Commitments = Commitments;
	type MaxDatasets = ConstU32<MAX_DATASETS>;
	type MaxParameters = ConstU32<MAX_PARAMETERS>;
	type MaxCohort = ConstU32<MAX_CONTRIBUTORS>;
	type MaxRounds = ConstU32<10>;
	type MaxLocalSteps = ConstU32<MAX_LOCAL_STEPS>;
	type MaxRetries = ConstU32<2>;
	type MinRoundTimeout = ConstU64<2>;
	type MaxRoundTimeout = ConstU64<100>;
	type MaxActiveJobs = ActiveJobs;
	type MaxStepsPerBlock = ConstU32<2>;
	type MaxCohortsPerStep = CohortsPerStep;
	type DepositBase = ConstU64<JOB_DEPOSIT_BASE>;
	type DepositPerByte = ConstU64<1>;
	type ReportPriority = ConstU64<1_000>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Helper;
}

impl pallet_commitments::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Dids = Twins;
	type Jobs = Federated;
	type ResolveOrigin = EnsureRoot<AccountId32>;
	type DepositBase = ConstU64<100>;
	type DepositPerByte = ConstU64<1>;
	type AttestationDeposit = ConstU64<50>;
	type DisputeBond = ConstU64<1_000>;
	type DisputeWindow = ConstU64<10>;
	type LeafRetention = ConstU64<20>;
	type MaxInputs = ConstU32<{ MAX_DATASETS + 1 }>;
	type MaxStoredLeaves = ConstU32<MAX_DATASETS>;
	type MaxSchemaLength = ConstU32<16>;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Helper;
}

/// Creates institutions with licensed datasets, and signs reports, through
/// the real pallets, for the benchmarks.
#[cfg(feature = "runtime-benchmarks")]
pub struct Helper;

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId32> for Helper {
	fn licensed_dataset(
		researcher: &AccountId32,
		seed: u32,
		contributors: u32,
		code_hash: H256,
	) -> (DidId, LicenceId, DidId) {
		let funded = |tag: &[u8], n: u32| {
			let who = AccountId32::new(sp_io::hashing::blake2_256(&(tag, seed, n).encode()));
			let _ =
				Balances::force_set_balance(RuntimeOrigin::root(), who.clone(), INITIAL_BALANCE);
			who
		};
		let controller = funded(b"controller", 0);
		let institution = institution_did(&controller, &bench_key(seed));
		let patients: Vec<_> = (0..contributors).map(|n| funded(b"patient", n)).collect();
		let (dataset, licence, _) =
			licensed_dataset(&controller, institution, &patients, code_hash, researcher);
		(dataset, licence, institution)
	}

	fn sign_as(_: &DidId, seed: u32, message: &[u8]) -> DidSignature {
		DidSignature::Sr25519(bench_key(seed).sign(message).0)
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_commitments::BenchmarkHelper<AccountId32> for Helper {
	fn create_did(controller: &AccountId32, kind: SubjectKind) -> DidId {
		create_did(controller, kind)
	}

	fn sign(_: &AccountId32, _: &[u8]) -> DidSignature {
		unimplemented!("pallet-commitments' benchmarks are not run here")
	}

	fn create_job_round(_: &twinnet_primitives::commitments::JobRound) {
		unimplemented!("pallet-commitments' benchmarks are not run here")
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_datasets::BenchmarkHelper<AccountId32> for Helper {
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

#[cfg(feature = "runtime-benchmarks")]
impl pallet_consent::BenchmarkHelper<AccountId32> for Helper {
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

	fn bind_patient(_: &DidId, _: &AccountId32, _: &AccountId32) {
		unimplemented!("pallet-consent's benchmarks are not run here")
	}
}

/// The account `[byte; 32]`.
pub fn account(byte: u8) -> AccountId32 {
	AccountId32::new([byte; 32])
}
/// The controller of institution `n`.
pub fn publisher(n: u8) -> AccountId32 {
	account(10 + n)
}
/// A patient, with a twin.
pub fn patient(n: u8) -> AccountId32 {
	account(n)
}
/// The researcher who posts jobs.
pub fn researcher() -> AccountId32 {
	account(20)
}
/// Someone with no standing.
pub fn stranger() -> AccountId32 {
	account(30)
}

/// What the funded accounts start with.
pub const INITIAL_BALANCE: u64 = 1_000_000;
/// The training code every dataset allows.
pub const CODE: H256 = H256::repeat_byte(0xc0);
/// A licence's price here.
pub const PRICE: u64 = 1_000;
/// A job's reward per accepted update here.
pub const REWARD: u64 = 40;

/// The node key of the benchmarks' institution `seed` (registered when
/// it is made).
#[cfg(feature = "runtime-benchmarks")]
fn bench_key(seed: u32) -> sr25519::Pair {
	sr25519::Pair::from_seed(&sp_io::hashing::blake2_256(&seed.to_le_bytes()))
}

/// The sr25519 key institution `n`'s node reports with.
pub fn node_key(n: u8) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[0x40 + n; 32])
}

/// Creates an active DID of `kind` controlled by (and, for a twin, for) `controller`.
pub fn create_did(controller: &AccountId32, kind: SubjectKind) -> DidId {
	pallet_twins::Pallet::<Test>::do_create(controller.clone(), kind, None, BoundedVec::new())
		.expect("test DID is valid")
}

/// An institution DID controlled by `controller`, whose node key `key`
/// serves `capabilityInvocation`.
pub fn institution_did(controller: &AccountId32, key: &sr25519::Pair) -> DidId {
	let method = pallet_twins::VerificationMethod {
		fragment: BoundedVec::truncate_from(b"node".to_vec()),
		key: PublicKey::Sr25519(key.public().0),
		relationships: Relationships { capability_invocation: true, ..Default::default() },
	};
	pallet_twins::Pallet::<Test>::do_create(
		controller.clone(),
		SubjectKind::Institution,
		None,
		BoundedVec::truncate_from(vec![method]),
	)
	.expect("test DID is valid")
}

/// A compute grant to `institution` for every purpose, on any dataset,
/// with a budget of ε = 1, δ = 10⁻¹⁵.
pub fn compute_terms(institution: &DidId) -> pallet_consent::TermsOf<Test> {
	pallet_consent::Terms {
		grantee: Grantee::Institution(*institution),
		scope: Scope::Compute,
		purposes: BoundedVec::truncate_from(vec![Purpose::Research, Purpose::ModelTraining]),
		datasets: None,
		starts_at: 0,
		expires_at: 1_000,
		budget: Some(PrivacyBudget {
			epsilon: FixedU64::from_u32(1),
			delta: Perquintill::from_parts(1_000),
		}),
		binding: Default::default(),
	}
}

/// `patient`'s twin, in the custody of `institution` (controlled by
/// `controller`), with a compute grant to the institution.
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
	let granted =
		Consent::grant(RuntimeOrigin::signed(patient.clone()), twin, compute_terms(institution));
	assert!(
		offered.is_ok() && accepted.is_ok() && granted.is_ok(),
		"twin: {offered:?} {accepted:?} {granted:?}"
	);
	twin
}

/// An institution taking part in jobs: its DID, its dataset, the
/// researcher's compute licence of it, and its contributing twins.
#[derive(Clone, Debug)]
pub struct Site {
	/// Its number (controller, node key).
	pub n: u8,
	/// The Institution DID.
	pub institution: DidId,
	/// Its Dataset DID.
	pub dataset: DidId,
	/// The researcher's licence of it.
	pub licence: LicenceId,
	/// Its contributing twins, sorted.
	pub twins: Vec<DidId>,
}

impl Site {
	/// Institution `n` with a dataset of the twins of `patients` (floor 2),
	/// the code allowed, and a compute licence for `ModelTraining` bought
	/// by the researcher.
	pub fn new(n: u8, patients: &[u8]) -> Self {
		Self::with_institution(n, institution_did(&publisher(n), &node_key(n)), patients)
	}

	/// Like [`Site::new`], for institution `n`'s existing DID `institution`.
	pub fn with_institution(n: u8, institution: DidId, patients: &[u8]) -> Self {
		let patients: Vec<AccountId32> = patients.iter().map(|p| patient(*p)).collect();
		let (dataset, licence, twins) =
			licensed_dataset(&publisher(n), institution, &patients, CODE, &researcher());
		Self { n, institution, dataset, licence, twins }
	}

	/// The X25519 `keyAgreement` key [`Site::add_agreement_key`] adds.
	pub fn agreement_key(&self) -> [u8; 32] {
		[self.n.wrapping_add(0x40); 32]
	}

	/// Adds [`Site::agreement_key`] to the institution's DID (fragment `agree`).
	pub fn add_agreement_key(&self) {
		let method = pallet_twins::VerificationMethod {
			fragment: BoundedVec::truncate_from(b"agree".to_vec()),
			key: PublicKey::X25519(self.agreement_key()),
			relationships: Relationships { key_agreement: true, ..Default::default() },
		};
		Twins::add_verification_method(
			RuntimeOrigin::signed(publisher(self.n)),
			self.institution,
			method,
		)
		.expect("the agreement key is added");
	}

	/// This site's dataset under the researcher's licence.
	pub fn licensed(&self) -> crate::DatasetLicence {
		crate::DatasetLicence { dataset: self.dataset, licence: self.licence }
	}
}

/// A dataset of `institution` (controlled by `controller`) listing twins
/// of `patients` (floor 2), the code `code` allowed, and a compute licence
/// for `ModelTraining` bought by `buyer`: (dataset, licence, sorted twins).
pub fn licensed_dataset(
	controller: &AccountId32,
	institution: DidId,
	patients: &[AccountId32],
	code: H256,
	buyer: &AccountId32,
) -> (DidId, LicenceId, Vec<DidId>) {
	let dataset = create_did(controller, SubjectKind::Dataset);
	let descriptor = pallet_datasets::Descriptor {
		content_hash: H256::repeat_byte(1),
		location: BoundedVec::truncate_from(b"s3://bucket/cohort.csv.enc".to_vec()),
		schema: Schema::Csv,
		size_bytes: 1 << 20,
		record_count: patients.len() as u64,
		metadata_hash: H256::repeat_byte(2),
	};
	let terms = pallet_datasets::LicenceTerms {
		price: PRICE,
		scopes: pallet_datasets::Scopes { view: false, compute: true },
		purposes: BoundedVec::truncate_from(vec![Purpose::ModelTraining]),
		duration: 500,
		max_licences: 3,
		transferable: false,
	};
	let lineage = pallet_datasets::Lineage { parents: BoundedVec::new(), transformation: None };
	let origin = || RuntimeOrigin::signed(controller.clone());
	Datasets::register(
		origin(),
		dataset,
		institution,
		Box::new(descriptor),
		Box::new(terms),
		lineage,
		2,
	)
	.expect("dataset registers");
	let mut twins: Vec<DidId> =
		patients.iter().map(|p| consenting_twin(p, controller, &institution)).collect();
	for page in twins.chunks(4) {
		Datasets::add_contributors(origin(), dataset, BoundedVec::truncate_from(page.to_vec()))
			.expect("contributors are added");
	}
	Datasets::set_algorithms(origin(), dataset, BoundedVec::truncate_from(vec![code]), false)
		.expect("code is allowed");
	let licence = pallet_datasets::Datasets::<Test>::get(dataset)
		.expect("registered")
		.licences_sold;
	Datasets::buy_licence(
		RuntimeOrigin::signed(buyer.clone()),
		dataset,
		Scope::Compute,
		Purpose::ModelTraining,
		PRICE,
	)
	.expect("licence is bought");
	twins.sort();
	(dataset, licence, twins)
}

/// Three sites: patients 1–3, 4–6 and 7–8.
pub fn three_sites() -> Vec<Site> {
	vec![Site::new(0, &[1, 2, 3]), Site::new(1, &[4, 5, 6]), Site::new(2, &[7, 8])]
}

/// A logistic regression on three features (four parameters).
pub const MODEL: crate::ModelKind = crate::ModelKind::LogisticRegression { features: 3 };

/// The privacy cost of one round here: ε = 0.25, δ = 10⁻¹⁶.
pub fn per_round() -> PrivacyBudget {
	PrivacyBudget { epsilon: FixedU64::from_rational(1, 4), delta: Perquintill::from_parts(100) }
}

/// A job of `rounds` rounds on `sites`, quorum `quorum`, timeout 5 blocks.
pub fn spec(sites: &[Site], rounds: u32, quorum: u32) -> crate::JobSpecOf<Test> {
	crate::JobSpec {
		model: MODEL,
		model_did: None,
		datasets: BoundedVec::truncate_from(sites.iter().map(Site::licensed).collect()),
		code_hash: CODE,
		purpose: Purpose::ModelTraining,
		rounds,
		min_participants: quorum,
		round_timeout: 5,
		max_retries: 1,
		training: crate::Training {
			learning_rate: FixedU64::from_rational(1, 10),
			local_steps: 10,
			clip_norm: FixedU64::from_u32(1),
			noise_multiplier: FixedU64::from_rational(11, 10),
			sampling_rate: Perbill::from_percent(10),
		},
		per_round: per_round(),
		reward_per_update: REWARD,
		masking: None,
	}
}

/// The update bound of [`masked_spec`] jobs: 1.0 in model units.
pub const UPDATE_BOUND: u32 = 1 << 16;

/// Like [`spec`], with secure aggregation (bound [`UPDATE_BOUND`]); gives
/// every site's institution an X25519 key first.
pub fn masked_spec(sites: &[Site], rounds: u32, quorum: u32) -> crate::JobSpecOf<Test> {
	for site in sites {
		site.add_agreement_key();
	}
	crate::JobSpec {
		masking: Some(crate::Masking { update_bound: UPDATE_BOUND }),
		..spec(sites, rounds, quorum)
	}
}

/// The seed sites `a` and `b` share in every round here (the pallet never
/// derives seeds: any 32 bytes the pair agrees on will do).
pub fn pair_seed(a: &Site, b: &Site) -> [u8; 32] {
	let (low, high) = if a.n < b.n { (a.n, b.n) } else { (b.n, a.n) };
	sp_io::hashing::blake2_256(&[low, high])
}

/// `site`'s masked update: `records × (model − start)` masked with its pair
/// seed with each of `peers` (the round's other expected sites).
pub fn masked_update(
	site: &Site,
	peers: &[&Site],
	records: u32,
	model: &[i32],
	start: &[i32],
) -> Vec<u32> {
	let mut update = twinnet_secagg::weighted_update(records, model, start, UPDATE_BOUND)
		.expect("the update fits");
	let seeds: Vec<(DidId, [u8; 32])> =
		peers.iter().map(|peer| (peer.institution, pair_seed(site, peer))).collect();
	twinnet_secagg::mask_update(
		&mut update,
		site.institution.as_fixed_bytes(),
		seeds.iter().map(|(peer, seed)| (peer.as_fixed_bytes(), seed)),
	);
	update
}

/// The opening block of `round` of `job` as this chain recorded it (zero
/// before the round opened): what an honest node binds its reports to.
pub fn opening_block(job: u64, round: u32) -> sp_core::H256 {
	crate::Rounds::<Test>::get(job, round)
		.map(|record| record.opening_block)
		.unwrap_or_default()
}

/// `site`'s masked report for `round` of `job`.
pub fn masked_report(
	job: u64,
	round: u32,
	site: &Site,
	records: u32,
	masked: &[u32],
) -> crate::ReportOf<Test> {
	crate::Report {
		job,
		round,
		opening_block: opening_block(job, round),
		institution: site.institution,
		records,
		update: crate::Contribution::Masked(BoundedVec::truncate_from(masked.to_vec())),
	}
}

/// `survivor`'s reveal of its seeds with `dropped` in `round` of `job`.
pub fn reveal(job: u64, round: u32, survivor: &Site, dropped: &[&Site]) -> crate::RevealOf<Test> {
	crate::Reveal {
		job,
		round,
		opening_block: opening_block(job, round),
		institution: survivor.institution,
		seeds: BoundedVec::truncate_from(
			dropped
				.iter()
				.map(|d| (d.institution, pair_seed(survivor, d)))
				.collect::<Vec<_>>(),
		),
	}
}

/// The signature of `reveal` by `site`'s node key.
pub fn sign_reveal(reveal: &crate::RevealOf<Test>, site: &Site) -> DidSignature {
	DidSignature::Sr25519(node_key(site.n).sign(&reveal.message(Federated::genesis_hash())).0)
}

/// `site`'s acceptance of the cohort `round` of `job` offers it.
pub fn acceptance(job: u64, round: u32, site: &Site) -> crate::Acceptance {
	crate::Acceptance {
		job,
		round,
		opening_block: opening_block(job, round),
		institution: site.institution,
	}
}

/// The signature of `acceptance` by `site`'s node key.
pub fn sign_acceptance(acceptance: &crate::Acceptance, site: &Site) -> DidSignature {
	DidSignature::Sr25519(node_key(site.n).sign(&acceptance.message(Federated::genesis_hash())).0)
}

/// `site`'s report for `round` of `job`, with `parameters`.
pub fn report(
	job: u64,
	round: u32,
	site: &Site,
	records: u32,
	parameters: &[i32],
) -> crate::ReportOf<Test> {
	crate::Report {
		job,
		round,
		opening_block: opening_block(job, round),
		institution: site.institution,
		records,
		update: crate::Contribution::Model(BoundedVec::truncate_from(parameters.to_vec())),
	}
}

/// The signature of `report` by `site`'s node key.
pub fn sign(report: &crate::ReportOf<Test>, site: &Site) -> DidSignature {
	DidSignature::Sr25519(node_key(site.n).sign(&report.message(Federated::genesis_hash())).0)
}

/// Advances to block `n`, running each block's `on_initialize`.
pub fn run_to_block(n: u64) {
	use frame_support::traits::Hooks;
	while System::block_number() < n {
		let next = System::block_number() + 1;
		// Each block's parent a hash of its own, as on a real chain: rounds
		// bind their reports to it.
		System::set_parent_hash(sp_core::H256::from_low_u64_be(0xb10c_0000 + next - 1));
		System::set_block_number(next);
		Federated::on_initialize(next);
	}
}

pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let funded = (0..3)
		.map(publisher)
		.chain([researcher(), stranger()])
		.chain((1..=8).map(patient))
		.map(|who| (who, INITIAL_BALANCE))
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
		Federated::do_try_state().expect("pallet-federated invariants hold");
	});
}
