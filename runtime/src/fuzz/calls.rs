//! Random calls of every TwinNet pallet, plus balances transfers, licence
//! NFT transfers and burns, and sudo: arguments from small domains (a few
//! dev accounts and keys, the DIDs, grants, datasets, licences, commitments,
//! disputes, jobs and cohorts in storage at the time of the call, short
//! periods, small epsilons), so that many calls succeed and the rest fail
//! for every reason their checks have.
//!
//! A [`CallSpec`] names its arguments by index into what exists when it is
//! dispatched ([`CallSpec::resolve`] reads storage), so a sequence stays
//! meaningful while proptest shrinks it.

use frame_support::BoundedVec;
use proptest::{collection::vec, prelude::*, sample::select};
use sp_core::{Pair as _, H256};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use sp_runtime::{FixedU64, Perbill, Perquintill};
use twinnet_primitives::{
	commitments::{CommitmentKind, Input, JobRound, MerkleRoot, Statement},
	consent::{Binding, Grantee, PrivacyBudget, Purpose, Scope},
	datasets::{AssetState, Schema},
	did::{Controller, DidId, DidSignature, PublicKey, Relationship, Relationships, SubjectKind},
	federated::{ModelKind, Training},
};

use crate::{AccountId, Balance, BlockNumber, Runtime, RuntimeCall, RuntimeOrigin, DAYS, UNITS};

// ---------------------------------------------------------------------------
// Domains
// ---------------------------------------------------------------------------

/// The dev accounts the fuzzers sign with (index 6 is an unfunded account).
pub(crate) const KEYRING: [Sr25519Keyring; 6] = [
	Sr25519Keyring::Alice,
	Sr25519Keyring::Bob,
	Sr25519Keyring::Charlie,
	Sr25519Keyring::Dave,
	Sr25519Keyring::Eve,
	Sr25519Keyring::Ferdie,
];
const ED_KEYRING: [Ed25519Keyring; 6] = [
	Ed25519Keyring::Alice,
	Ed25519Keyring::Bob,
	Ed25519Keyring::Charlie,
	Ed25519Keyring::Dave,
	Ed25519Keyring::Eve,
	Ed25519Keyring::Ferdie,
];
const NAMES: [&str; 6] = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"];

/// Account `i`: a dev account, or (6 and above) one without funds.
pub(crate) fn account(i: u8) -> AccountId {
	match KEYRING.get(usize::from(i)) {
		Some(key) => key.to_account_id(),
		None => AccountId::new([0x99; 32]),
	}
}

/// The dev accounts, funded.
fn dev_accounts() -> impl Iterator<Item = AccountId> {
	KEYRING.iter().map(|k| k.to_account_id())
}

fn ecdsa_pair(i: u8) -> sp_core::ecdsa::Pair {
	static PAIRS: std::sync::OnceLock<Vec<sp_core::ecdsa::Pair>> = std::sync::OnceLock::new();
	let pairs = PAIRS.get_or_init(|| {
		NAMES
			.iter()
			.map(|name| {
				sp_core::ecdsa::Pair::from_string(&format!("//{name}"), None).expect("dev seed")
			})
			.collect()
	});
	pairs[usize::from(i) % pairs.len()].clone()
}

/// A verification method's key: one of the dev keys of each scheme, an
/// X25519 key, or a malformed ECDSA key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeySpec {
	Sr25519(u8),
	Ed25519(u8),
	Ecdsa(u8),
	X25519(u8),
	BadEcdsa,
}

impl KeySpec {
	pub fn public(self) -> PublicKey {
		match self {
			Self::Sr25519(i) => PublicKey::Sr25519(KEYRING[usize::from(i) % 6].public().0),
			Self::Ed25519(i) => PublicKey::Ed25519(ED_KEYRING[usize::from(i) % 6].public().0),
			Self::Ecdsa(i) => PublicKey::Ecdsa(ecdsa_pair(i).public().0),
			Self::X25519(i) => PublicKey::X25519([i; 32]),
			Self::BadEcdsa => PublicKey::Ecdsa([0x05; 33]),
		}
	}

	/// This key's signature of `message` (a zero signature for keys that
	/// do not sign).
	pub fn sign(self, message: &[u8]) -> DidSignature {
		match self {
			Self::Sr25519(i) => DidSignature::Sr25519(KEYRING[usize::from(i) % 6].sign(message).0),
			Self::Ed25519(i) => {
				DidSignature::Ed25519(ED_KEYRING[usize::from(i) % 6].sign(message).0)
			},
			Self::Ecdsa(i) => DidSignature::Ecdsa(ecdsa_pair(i).sign(message).0),
			Self::X25519(_) | Self::BadEcdsa => DidSignature::Sr25519([0; 64]),
		}
	}

	/// The signing key of the domain that `public` is.
	fn of(public: &PublicKey) -> Option<Self> {
		(0..6u8)
			.flat_map(|i| [Self::Sr25519(i), Self::Ed25519(i), Self::Ecdsa(i)])
			.find(|key| key.public() == *public)
	}
}

fn key_spec() -> impl Strategy<Value = KeySpec> {
	prop_oneof![
		4 => (0u8..6).prop_map(KeySpec::Sr25519),
		2 => (0u8..6).prop_map(KeySpec::Ed25519),
		2 => (0u8..6).prop_map(KeySpec::Ecdsa),
		1 => (0u8..3).prop_map(KeySpec::X25519),
		1 => Just(KeySpec::BadEcdsa),
	]
}

/// How a signature is made: by the DID's own key for the relationship (if
/// one of the domain's keys serves it), by a given key, or garbage.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SigSpec {
	Auto,
	Key(KeySpec),
	Garbage,
}

fn sig_spec() -> impl Strategy<Value = SigSpec> {
	prop_oneof![6 => Just(SigSpec::Auto), 2 => key_spec().prop_map(SigSpec::Key), 1 => Just(SigSpec::Garbage)]
}

impl SigSpec {
	fn sign(self, did: &DidId, relationship: Relationship, message: &[u8]) -> DidSignature {
		let key = match self {
			Self::Auto => pallet_twins::Dids::<Runtime>::get(did).and_then(|details| {
				details
					.verification_methods
					.iter()
					.filter(|m| m.relationships.serves(relationship))
					.find_map(|m| KeySpec::of(&m.key))
			}),
			Self::Key(key) => Some(key),
			Self::Garbage => None,
		};
		key.map_or(DidSignature::Ed25519([7; 64]), |key| key.sign(message))
	}
}

const FRAGMENTS: [&[u8]; 7] = [b"key-1", b"key-2", b"node", b"data", b"assert", b"", b"bad frag"];
const SERVICE_TYPES: [&[u8]; 4] = [b"TwinDataEndpoint", b"LinkedDomains", b"bad type", b""];
const ENDPOINTS: [&[u8]; 4] =
	[b"https://hospital.example/twins/1", b"ipfs:bafy", b"nocolon", b"http:"];
const DID_SCHEMAS: [&[u8]; 4] = [b"FHIR R4", b"NWB 2.x", b" padded", b""];
const COMMIT_SCHEMAS: [&[u8]; 4] = [b"onnx", b"metrics/v1", b"", b"tab\there"];
const LOCATIONS: [&[u8]; 4] =
	[b"s3://bucket/cohort.enc", b"https://data.example/x", b"no-scheme", b""];
const PURPOSES: [Purpose; 7] = [
	Purpose::ClinicalCare,
	Purpose::Research,
	Purpose::ModelTraining,
	Purpose::QualityImprovement,
	Purpose::PublicHealth,
	Purpose::Education,
	Purpose::Commercial,
];
/// Epsilons, in billionths: zero, small, within every budget, and above the maximum (10).
const EPSILONS: [u64; 8] = [
	0,
	10_000_000,
	100_000_000,
	500_000_000,
	1_000_000_000,
	2_000_000_000,
	10_000_000_000,
	11_000_000_000,
];
/// Deltas, in parts per 10^18: zero, tiny, the maximum (10^-6) and above it.
const DELTAS: [u64; 5] = [0, 1, 1_000_000, 1_000_000_000_000, 1_000_000_000_001];
/// Grant and request lengths in blocks, up to past the longest grant (five years).
const LENGTHS: [BlockNumber; 7] = [0, 1, 5, 50, 2 * DAYS, 5 * 365 * DAYS, 5 * 365 * DAYS + 10];
const PRICES: [Balance; 6] = [0, 1, UNITS, 10 * UNITS, 1_000 * UNITS, 2_000_000 * UNITS];
const DURATIONS: [BlockNumber; 5] = [0, 1, 20, 30 * DAYS, 5 * 365 * DAYS + 1];
const MAX_LICENCES: [u32; 4] = [0, 1, 3, u32::MAX];
const AMOUNTS: [Balance; 7] =
	[0, 1, crate::EXISTENTIAL_DEPOSIT, UNITS, 1_000 * UNITS, 999_990 * UNITS, 2_000_000 * UNITS];
const TIMEOUTS: [BlockNumber; 5] = [0, 2, 3, 5, DAYS + 1];
const REWARDS: [Balance; 4] = [0, 1, UNITS, Balance::MAX / 2];

fn bounded<S: frame_support::traits::Get<u32>>(bytes: &[u8]) -> BoundedVec<u8, S> {
	BoundedVec::truncate_from(bytes.to_vec())
}

fn hash(i: u8) -> H256 {
	if i == 0 {
		H256::zero()
	} else {
		H256::repeat_byte(i)
	}
}

/// The code hashes datasets allow and jobs run.
pub(crate) fn code_hash(i: u8) -> H256 {
	H256::repeat_byte(0xc0 + i % 3)
}

fn purposes(mask: u8) -> Vec<Purpose> {
	PURPOSES
		.iter()
		.enumerate()
		.filter(|(i, _)| mask >> i & 1 == 1)
		.map(|(_, p)| *p)
		.collect()
}

fn purpose_mask() -> impl Strategy<Value = u8> {
	prop_oneof![3 => select(vec![0b110u8, 0b10, 0b100, 0b1]), 1 => 0u8..0x80]
}

fn relationships(bits: u8) -> Relationships {
	Relationships {
		authentication: bits & 1 != 0,
		assertion_method: bits & 2 != 0,
		capability_delegation: bits & 4 != 0,
		key_agreement: bits & 8 != 0,
		capability_invocation: bits & 16 != 0,
	}
}

fn relationship_bits() -> impl Strategy<Value = u8> {
	prop_oneof![4 => select(vec![1u8, 3, 2, 16, 17, 8]), 1 => 0u8..32]
}

fn epsilon(i: u8) -> FixedU64 {
	FixedU64::from_inner(EPSILONS[usize::from(i) % EPSILONS.len()])
}

fn delta(i: u8) -> Perquintill {
	Perquintill::from_parts(DELTAS[usize::from(i) % DELTAS.len()])
}

fn pick<T: Clone>(items: &[T], i: u8) -> Option<T> {
	match items.len() {
		0 => None,
		n => items.get(usize::from(i) % n).cloned(),
	}
}

/// An index of something in storage; 250 and above name nothing there.
fn pick_key<T: Clone>(items: Vec<T>, i: u8) -> Option<T> {
	if i >= 250 {
		None
	} else {
		pick(&items, i)
	}
}

fn now() -> BlockNumber {
	frame_system::Pallet::<Runtime>::block_number()
}

// ---------------------------------------------------------------------------
// References to what exists
// ---------------------------------------------------------------------------

/// A DID: one in storage (three times in four of the kind the argument wants),
/// the `counter`-th one a dev account would create, a deactivated one, a
/// dataset contributor, a twin in custody, or one that never existed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DidRef {
	Pick(u8),
	Derived(u8, u8),
	Gone(u8),
	Listed(u8),
	Custodied(u8),
	Missing,
}

fn did_ref() -> BoxedStrategy<DidRef> {
	prop_oneof![
		20 => any::<u8>().prop_map(DidRef::Pick),
		2 => (0u8..7, 0u8..16).prop_map(|(a, c)| DidRef::Derived(a, c)),
		1 => any::<u8>().prop_map(DidRef::Gone),
		1 => any::<u8>().prop_map(DidRef::Listed),
		1 => any::<u8>().prop_map(DidRef::Custodied),
		1 => Just(DidRef::Missing),
	]
	.boxed()
}

/// A DID that never existed.
fn missing_did() -> DidId {
	H256::repeat_byte(0xee)
}

impl DidRef {
	fn resolve(self, want: SubjectKind) -> DidId {
		let found = match self {
			Self::Pick(i) => {
				let all: Vec<(DidId, SubjectKind)> =
					pallet_twins::Dids::<Runtime>::iter().map(|(id, d)| (id, d.kind)).collect();
				let wanted: Vec<(DidId, SubjectKind)> =
					all.iter().filter(|(_, kind)| *kind == want).cloned().collect();
				let from = if i % 4 != 3 && !wanted.is_empty() { wanted } else { all };
				pick(&from, i / 4).map(|(id, _)| id)
			},
			Self::Derived(creator, counter) => {
				Some(pallet_twins::Pallet::<Runtime>::derive_did(&account(creator), counter.into()))
			},
			Self::Gone(i) => {
				pick(&pallet_twins::DeactivatedDids::<Runtime>::iter_keys().collect::<Vec<_>>(), i)
			},
			Self::Listed(i) => pick(
				&pallet_datasets::Contributors::<Runtime>::iter_keys()
					.map(|(_, twin)| twin)
					.collect::<Vec<_>>(),
				i,
			),
			Self::Custodied(i) => {
				pick(&pallet_twins::Custodians::<Runtime>::iter_keys().collect::<Vec<_>>(), i)
			},
			Self::Missing => None,
		};
		found.unwrap_or_else(missing_did)
	}
}

/// Who signs: a given account, one that may act for the call's subject
/// (its controller or patient, a dataset's institution, a licence's
/// holder…), root, or no one.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Who {
	Account(u8),
	Acting(u8),
	Root,
	Unsigned,
	Authorized,
}

pub(crate) fn who() -> impl Strategy<Value = Who> {
	prop_oneof![
		3 => (0u8..7).prop_map(Who::Account),
		12 => any::<u8>().prop_map(Who::Acting),
		1 => Just(Who::Root),
		1 => Just(Who::Unsigned),
		1 => Just(Who::Authorized),
	]
}

/// Whom a call is naturally signed by.
pub(crate) enum Subject {
	/// Someone who may act for this DID: its patient or controller.
	Did(DidId),
	/// Someone who may take the controller position offered of this DID.
	PendingController(DidId),
	/// The account offered the patient position of this DID.
	PendingPatient(DidId),
	/// This account.
	Account(AccountId),
	/// Root.
	Root,
	/// An authorized transaction (an institution node's report).
	Authorized,
	/// Anyone.
	Anyone,
}

impl Who {
	/// The origin of a call about `subject`.
	pub fn origin(self, subject: &Subject) -> RuntimeOrigin {
		let i = match self {
			Self::Account(i) => return RuntimeOrigin::signed(account(i)),
			Self::Root => return RuntimeOrigin::root(),
			Self::Unsigned => return RuntimeOrigin::none(),
			Self::Authorized => return frame_system::RawOrigin::Authorized.into(),
			Self::Acting(i) => i,
		};
		let details = |did: &DidId| pallet_twins::Dids::<Runtime>::get(did);
		let candidates: Vec<AccountId> = match subject {
			Subject::Did(did) => details(did).map_or_else(Vec::new, |d| {
				dev_accounts()
					.filter(|a| pallet_twins::Pallet::<Runtime>::role(&d, a).is_some())
					.collect()
			}),
			Subject::PendingController(did) => {
				details(did).and_then(|d| d.pending_controller).map_or_else(Vec::new, |c| {
					dev_accounts()
						.filter(|a| pallet_twins::Pallet::<Runtime>::acts_through(&c, a))
						.collect()
				})
			},
			Subject::PendingPatient(did) => {
				details(did).and_then(|d| d.pending_patient).into_iter().collect()
			},
			Subject::Account(account) => vec![account.clone()],
			Subject::Root => return RuntimeOrigin::root(),
			Subject::Authorized => return frame_system::RawOrigin::Authorized.into(),
			Subject::Anyone => Vec::new(),
		};
		let signer = pick(&candidates, i).unwrap_or_else(|| account(i % 7));
		RuntimeOrigin::signed(signer)
	}
}

// ---------------------------------------------------------------------------
// Argument specifications
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub(crate) struct MethodSpec {
	fragment: u8,
	key: KeySpec,
	relationships: u8,
}

fn method_spec() -> BoxedStrategy<MethodSpec> {
	(0u8..7, key_spec(), relationship_bits())
		.prop_map(|(fragment, key, relationships)| MethodSpec { fragment, key, relationships })
		.boxed()
}

impl MethodSpec {
	fn build(self) -> pallet_twins::VerificationMethodOf<Runtime> {
		pallet_twins::VerificationMethod {
			fragment: fragment(self.fragment),
			key: self.key.public(),
			relationships: relationships(self.relationships),
		}
	}
}

fn fragment<S: frame_support::traits::Get<u32>>(i: u8) -> BoundedVec<u8, S> {
	bounded(FRAGMENTS[usize::from(i) % FRAGMENTS.len()])
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum ControllerSpec {
	Account(u8),
	Did(DidRef),
}

fn controller_spec() -> impl Strategy<Value = ControllerSpec> {
	prop_oneof![(0u8..7).prop_map(ControllerSpec::Account), did_ref().prop_map(ControllerSpec::Did)]
}

impl ControllerSpec {
	fn build(self) -> Controller<AccountId> {
		match self {
			Self::Account(i) => Controller::Account(account(i)),
			Self::Did(did) => Controller::Did(did.resolve(SubjectKind::Institution)),
		}
	}
}

fn kind() -> impl Strategy<Value = SubjectKind> {
	select(vec![
		SubjectKind::PatientTwin,
		SubjectKind::Institution,
		SubjectKind::Dataset,
		SubjectKind::Model,
	])
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum GranteeSpec {
	Account(u8),
	Institution(DidRef),
	Job(u8),
}

fn grantee_spec() -> impl Strategy<Value = GranteeSpec> {
	prop_oneof![
		2 => (0u8..7).prop_map(GranteeSpec::Account),
		3 => did_ref().prop_map(GranteeSpec::Institution),
		1 => (0u8..3).prop_map(GranteeSpec::Job),
	]
}

impl GranteeSpec {
	fn build(self) -> Grantee<AccountId> {
		match self {
			Self::Account(i) => Grantee::Account(account(i)),
			Self::Institution(did) => Grantee::Institution(did.resolve(SubjectKind::Institution)),
			Self::Job(job) => Grantee::Job(job.into()),
		}
	}
}

/// Consent terms: usually well formed (sorted purposes, a budget exactly
/// for compute), sometimes not.
#[derive(Clone, Debug)]
pub(crate) struct TermsSpec {
	grantee: GranteeSpec,
	scope: Scope,
	purposes: u8,
	unsorted: bool,
	datasets: Option<Vec<DidRef>>,
	starts: u8,
	length: u8,
	budget: Option<(u8, u8)>,
	job: Option<u8>,
	model: Option<DidRef>,
	code: Option<u8>,
	cap: Option<u8>,
}

fn terms_spec() -> BoxedStrategy<TermsSpec> {
	let scope = select(vec![Scope::View, Scope::Compute]);
	(
		(grantee_spec(), scope, purpose_mask(), prop::bool::weighted(0.05)),
		(
			prop::option::weighted(0.3, vec(did_ref(), 0..3)),
			0u8..5,
			prop_oneof![4 => 2u8..5, 1 => 0u8..7],
			prop::bool::weighted(0.9),
			(1u8..6, 1u8..4),
		),
		(
			prop::option::weighted(0.15, 0u8..3),
			prop::option::weighted(0.1, did_ref()),
			prop::option::weighted(0.15, 0u8..3),
			prop::option::weighted(0.2, 1u8..6),
		),
	)
		.prop_map(
			|(
				(grantee, scope, purposes, unsorted),
				(datasets, starts, length, typical, budget),
				(job, model, code, cap),
			)| {
				// Budgets and bindings go with compute grants, mostly.
				let compute = (scope == Scope::Compute) == typical;
				TermsSpec {
					grantee,
					scope,
					purposes,
					unsorted,
					datasets,
					starts,
					length,
					budget: compute.then_some(budget),
					job: job.filter(|_| compute),
					model: model.filter(|_| compute),
					code: code.filter(|_| compute),
					cap: cap.filter(|_| compute),
				}
			},
		)
		.boxed()
}

impl TermsSpec {
	fn build(&self) -> pallet_consent::TermsOf<Runtime> {
		let mut purposes = purposes(self.purposes);
		if self.unsorted {
			purposes.reverse();
			purposes.push(Purpose::Research);
		}
		let starts_at = (now() + u32::from(self.starts)).saturating_sub(2);
		let length = LENGTHS[usize::from(self.length) % LENGTHS.len()];
		pallet_consent::Terms {
			grantee: self.grantee.build(),
			scope: self.scope,
			purposes: BoundedVec::truncate_from(purposes),
			datasets: self.datasets.as_ref().map(|datasets| {
				BoundedVec::truncate_from(
					datasets.iter().map(|d| d.resolve(SubjectKind::Dataset)).collect::<Vec<_>>(),
				)
			}),
			starts_at,
			expires_at: starts_at.saturating_add(length),
			budget: self
				.budget
				.map(|(e, d)| PrivacyBudget { epsilon: epsilon(e), delta: delta(d) }),
			binding: Binding {
				job: self.job.map(u64::from),
				model: self.model.map(|m| m.resolve(SubjectKind::Model)),
				code_hash: self.code.map(code_hash),
				max_epsilon_per_round: self.cap.map(epsilon),
			},
		}
	}
}

/// How `narrow` changes a grant's terms: fewer purposes, an earlier end, a
/// smaller budget, a tighter round cap, or (not narrower) another grantee.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NarrowSpec {
	keep: u8,
	earlier: u8,
	halve_budget: bool,
	cap: bool,
	regrant: bool,
}

fn narrow_spec() -> BoxedStrategy<NarrowSpec> {
	(any::<u8>(), 0u8..4, any::<bool>(), prop::bool::weighted(0.2), prop::bool::weighted(0.1))
		.prop_map(|(keep, earlier, halve_budget, cap, regrant)| NarrowSpec {
			keep,
			earlier,
			halve_budget,
			cap,
			regrant,
		})
		.boxed()
}

#[derive(Clone, Debug)]
pub(crate) struct LicenceSpec {
	price: u8,
	view: bool,
	compute: bool,
	purposes: u8,
	duration: u8,
	max_licences: u8,
	transferable: bool,
}

fn licence_spec() -> BoxedStrategy<LicenceSpec> {
	(
		0u8..6,
		any::<bool>(),
		prop::bool::weighted(0.8),
		purpose_mask(),
		prop_oneof![3 => 1u8..4, 1 => 0u8..5],
		prop_oneof![3 => 1u8..4, 1 => Just(0u8)],
		any::<bool>(),
	)
		.prop_map(|(price, view, compute, purposes, duration, max_licences, transferable)| {
			LicenceSpec { price, view, compute, purposes, duration, max_licences, transferable }
		})
		.boxed()
}

impl LicenceSpec {
	fn build(&self) -> pallet_datasets::TermsOf<Runtime> {
		pallet_datasets::LicenceTerms {
			price: PRICES[usize::from(self.price) % PRICES.len()],
			scopes: pallet_datasets::Scopes { view: self.view, compute: self.compute },
			purposes: BoundedVec::truncate_from(purposes(self.purposes)),
			duration: DURATIONS[usize::from(self.duration) % DURATIONS.len()],
			max_licences: MAX_LICENCES[usize::from(self.max_licences) % MAX_LICENCES.len()],
			transferable: self.transferable,
		}
	}
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum MerkleSpec {
	Root(u8, u8),
	Leaves(u8),
}

fn merkle_spec() -> impl Strategy<Value = Option<MerkleSpec>> {
	prop::option::weighted(
		0.5,
		prop_oneof![
			(0u8..3, 0u8..3).prop_map(|(h, n)| MerkleSpec::Root(h, n)),
			(0u8..5).prop_map(MerkleSpec::Leaves),
		],
	)
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum InputSpec {
	Dataset(DidRef),
	Commitment(u8),
}

fn input_spec() -> impl Strategy<Value = InputSpec> {
	prop_oneof![
		3 => did_ref().prop_map(InputSpec::Dataset),
		1 => any::<u8>().prop_map(InputSpec::Commitment),
	]
}

fn commitment_kind() -> impl Strategy<Value = CommitmentKind> {
	select(vec![
		CommitmentKind::DatasetSnapshot,
		CommitmentKind::ModelUpdate,
		CommitmentKind::AggregatedModel,
		CommitmentKind::EvaluationMetric,
		CommitmentKind::InferenceResult,
		CommitmentKind::Reproduction,
	])
}

fn asset_state() -> impl Strategy<Value = AssetState> {
	select(vec![
		AssetState::Active,
		AssetState::Deprecated,
		AssetState::EndOfLife,
		AssetState::OrderingDisabled,
		AssetState::Unlisted,
		AssetState::Revoked,
	])
}

fn schema() -> impl Strategy<Value = Schema> {
	select(vec![
		Schema::Nwb2,
		Schema::Bids,
		Schema::Csv,
		Schema::FhirR4,
		Schema::Omop,
		Schema::Dicom,
		Schema::Other,
	])
}

#[derive(Clone, Debug)]
pub(crate) struct JobSpecSpec {
	licences: Vec<u8>,
	mlp: bool,
	features: u8,
	hidden: u8,
	model_did: Option<DidRef>,
	code: u8,
	purpose: u8,
	rounds: u8,
	quorum: u8,
	timeout: u8,
	retries: u8,
	training_ok: bool,
	epsilon: u8,
	delta: u8,
	reward: u8,
}

fn job_spec_spec() -> BoxedStrategy<JobSpecSpec> {
	(
		(vec(any::<u8>(), 1..3), prop::bool::weighted(0.2), 0u8..5, 0u8..3),
		(
			prop::option::weighted(0.3, did_ref()),
			prop_oneof![3 => Just(0u8), 1 => 0u8..3],
			prop_oneof![3 => Just(2u8), 1 => 0u8..7],
		),
		(
			prop_oneof![3 => 1u8..3, 1 => 0u8..4],
			prop_oneof![3 => Just(1u8), 1 => 0u8..3],
			prop_oneof![3 => 2u8..4, 1 => 0u8..5],
			prop_oneof![3 => 0u8..3, 1 => 0u8..5],
		),
		(prop::bool::weighted(0.9), 1u8..5, 1u8..3, prop_oneof![3 => 1u8..3, 1 => 0u8..4]),
	)
		.prop_map(
			|(
				(licences, mlp, features, hidden),
				(model_did, code, purpose),
				(rounds, quorum, timeout, retries),
				(training_ok, epsilon, delta, reward),
			)| JobSpecSpec {
				licences,
				mlp,
				features,
				hidden,
				model_did,
				code,
				purpose,
				rounds,
				quorum,
				timeout,
				retries,
				training_ok,
				epsilon,
				delta,
				reward,
			},
		)
		.boxed()
}

// ---------------------------------------------------------------------------
// Calls
// ---------------------------------------------------------------------------

/// A call of one of the fuzzed pallets, its arguments by reference.
#[derive(Clone, Debug)]
pub(crate) enum CallSpec {
	// pallet-twins
	Create {
		kind: SubjectKind,
		controller: Option<ControllerSpec>,
		methods: Vec<MethodSpec>,
	},
	AddMethod {
		did: DidRef,
		method: MethodSpec,
	},
	RemoveMethod {
		did: DidRef,
		fragment: u8,
	},
	RotateKey {
		did: DidRef,
		old: u8,
		new: MethodSpec,
	},
	RotateController {
		did: DidRef,
		controller: ControllerSpec,
	},
	AddService {
		did: DidRef,
		fragment: u8,
		service_type: u8,
		endpoint: u8,
	},
	RemoveService {
		did: DidRef,
		fragment: u8,
	},
	SetMetadata {
		did: DidRef,
		hash: Option<u8>,
		schema: Option<u8>,
	},
	Deactivate {
		did: DidRef,
	},
	OfferCustody {
		institution: DidRef,
		twin: DidRef,
	},
	AcceptCustody {
		offer: u8,
	},
	CancelCustodyOffer {
		offer: u8,
		by_twin: bool,
	},
	EndCustody {
		twin: DidRef,
		by_twin: bool,
	},
	AcceptController {
		did: DidRef,
	},
	OfferPatient {
		twin: DidRef,
		patient: u8,
	},
	AcceptPatient {
		twin: DidRef,
	},
	CancelHandover {
		did: DidRef,
	},
	// pallet-consent
	Grant {
		twin: DidRef,
		terms: TermsSpec,
	},
	Revoke {
		grant: u8,
	},
	Narrow {
		grant: u8,
		how: NarrowSpec,
	},
	RequestAccess {
		twin: DidRef,
		terms: TermsSpec,
	},
	ApproveRequest {
		request: u8,
	},
	RejectRequest {
		request: u8,
	},
	CloseRequest {
		request: u8,
	},
	RecordUse {
		grant: u8,
		purpose: u8,
		dataset: Option<DidRef>,
		other_scope: bool,
	},
	PruneGrant {
		grant: u8,
	},
	// pallet-datasets
	Register {
		dataset: DidRef,
		institution: DidRef,
		location: u8,
		schema: Schema,
		terms: LicenceSpec,
		parents: Vec<u8>,
		transformation: Option<u8>,
		min_contributors: u8,
	},
	AddContributors {
		dataset: u8,
		twins: Vec<DidRef>,
	},
	RemoveContributor {
		contributor: u8,
		by_patient: bool,
	},
	RefreshContributors {
		dataset: u8,
		twins: Vec<DidRef>,
	},
	SetState {
		dataset: u8,
		state: AssetState,
	},
	SetAlgorithms {
		dataset: u8,
		codes: Vec<u8>,
		raw_download: bool,
	},
	BuyLicence {
		dataset: u8,
		scope: Scope,
		purpose: u8,
		max_price: u8,
	},
	PruneLicence {
		licence: u8,
	},
	// pallet-commitments
	Commit {
		committer: DidRef,
		model: bool,
		kind: CommitmentKind,
		hash: u8,
		merkle: Option<MerkleSpec>,
		schema: u8,
		inputs: Vec<InputSpec>,
		job_round: Option<(u8, u8)>,
	},
	Attest {
		id: u8,
		attester: DidRef,
		statement: Statement,
		signature: SigSpec,
	},
	Dispute {
		id: u8,
		reason: u8,
	},
	Answer {
		dispute: u8,
		counter: u8,
	},
	Resolve {
		dispute: u8,
		upheld: bool,
	},
	PruneLeaves {
		id: u8,
	},
	// pallet-federated
	CreateJob(Box<JobSpecSpec>),
	CancelJob {
		job: u8,
	},
	SubmitUpdate {
		cohort: u8,
		records: u8,
		parameters: u8,
		signature: SigSpec,
	},
	AcceptCohort {
		cohort: u8,
		signature: SigSpec,
	},
	// pallet-balances, pallet-nfts
	Transfer {
		dest: u8,
		amount: u8,
		keep_alive: bool,
	},
	TransferAll {
		dest: u8,
		keep_alive: bool,
	},
	NftTransfer {
		licence: u8,
		dest: u8,
	},
	NftBurn {
		licence: u8,
	},
}

pub(crate) fn call_spec() -> BoxedStrategy<CallSpec> {
	use CallSpec::*;
	let twins = prop_oneof![
		3 => (kind(), prop::option::weighted(0.2, controller_spec()), vec(method_spec(), 0..3))
			.prop_map(|(kind, controller, methods)| Create { kind, controller, methods }).boxed(),
		2 => (did_ref(), method_spec()).prop_map(|(did, method)| AddMethod { did, method }).boxed(),
		1 => (did_ref(), 0u8..7).prop_map(|(did, fragment)| RemoveMethod { did, fragment }).boxed(),
		1 => (did_ref(), 0u8..7, method_spec()).prop_map(|(did, old, new)| RotateKey { did, old, new }).boxed(),
		1 => (did_ref(), controller_spec())
			.prop_map(|(did, controller)| RotateController { did, controller }).boxed(),
		1 => (did_ref(), 0u8..7, 0u8..4, 0u8..4).prop_map(|(did, fragment, service_type, endpoint)| {
			AddService { did, fragment, service_type, endpoint }
		}).boxed(),
		1 => (did_ref(), 0u8..7).prop_map(|(did, fragment)| RemoveService { did, fragment }).boxed(),
		1 => (did_ref(), prop::option::of(0u8..4), prop::option::of(0u8..4))
			.prop_map(|(did, hash, schema)| SetMetadata { did, hash, schema }).boxed(),
		1 => did_ref().prop_map(|did| Deactivate { did }).boxed(),
		3 => (did_ref(), did_ref()).prop_map(|(institution, twin)| OfferCustody { institution, twin }).boxed(),
		2 => any::<u8>().prop_map(|offer| AcceptCustody { offer }).boxed(),
		1 => (any::<u8>(), any::<bool>())
			.prop_map(|(offer, by_twin)| CancelCustodyOffer { offer, by_twin }).boxed(),
		1 => (did_ref(), any::<bool>()).prop_map(|(twin, by_twin)| EndCustody { twin, by_twin }).boxed(),
		1 => did_ref().prop_map(|did| AcceptController { did }).boxed(),
		1 => (did_ref(), 0u8..7).prop_map(|(twin, patient)| OfferPatient { twin, patient }).boxed(),
		1 => did_ref().prop_map(|twin| AcceptPatient { twin }).boxed(),
		1 => did_ref().prop_map(|did| CancelHandover { did }).boxed(),
	];
	let consent = prop_oneof![
		5 => (did_ref(), terms_spec()).prop_map(|(twin, terms)| Grant { twin, terms }).boxed(),
		1 => any::<u8>().prop_map(|grant| Revoke { grant }).boxed(),
		2 => (any::<u8>(), narrow_spec()).prop_map(|(grant, how)| Narrow { grant, how }).boxed(),
		2 => (did_ref(), terms_spec()).prop_map(|(twin, terms)| RequestAccess { twin, terms }).boxed(),
		2 => any::<u8>().prop_map(|request| ApproveRequest { request }).boxed(),
		1 => any::<u8>().prop_map(|request| RejectRequest { request }).boxed(),
		1 => any::<u8>().prop_map(|request| CloseRequest { request }).boxed(),
		2 => (any::<u8>(), any::<u8>(), prop::option::weighted(0.3, did_ref()), prop::bool::weighted(0.1))
			.prop_map(|(grant, purpose, dataset, other_scope)| RecordUse {
				grant,
				purpose,
				dataset,
				other_scope
			}).boxed(),
		1 => any::<u8>().prop_map(|grant| PruneGrant { grant }).boxed(),
	];
	let datasets = prop_oneof![
		2 => (
			(did_ref(), did_ref(), prop_oneof![3 => Just(0u8), 1 => 0u8..4], schema()),
			(
				licence_spec(),
				vec(any::<u8>(), 0..2),
				prop::option::weighted(0.3, 1u8..4),
				prop_oneof![3 => 2u8..4, 1 => 0u8..2],
			),
		)
			.prop_map(
				|(
					(dataset, institution, location, schema),
					(terms, parents, transformation, min_contributors),
				)| Register {
					dataset,
					institution,
					location,
					schema,
					terms,
					parents,
					transformation,
					min_contributors,
				}
			).boxed(),
		3 => (any::<u8>(), vec(did_ref(), 0..3))
			.prop_map(|(dataset, twins)| AddContributors { dataset, twins }).boxed(),
		1 => (any::<u8>(), any::<bool>())
			.prop_map(|(contributor, by_patient)| RemoveContributor { contributor, by_patient }).boxed(),
		2 => (any::<u8>(), vec(did_ref(), 0..3))
			.prop_map(|(dataset, twins)| RefreshContributors { dataset, twins }).boxed(),
		1 => (any::<u8>(), asset_state()).prop_map(|(dataset, state)| SetState { dataset, state }).boxed(),
		2 => (any::<u8>(), vec(0u8..3, 0..3), any::<bool>())
			.prop_map(|(dataset, codes, raw_download)| SetAlgorithms { dataset, codes, raw_download }).boxed(),
		3 => (any::<u8>(), select(vec![Scope::Compute, Scope::View]), 0u8..7, prop_oneof![3 => Just(3u8), 1 => 0u8..6])
			.prop_map(|(dataset, scope, purpose, max_price)| BuyLicence {
				dataset,
				scope,
				purpose,
				max_price
			}).boxed(),
		1 => any::<u8>().prop_map(|licence| PruneLicence { licence }).boxed(),
	];
	let commitments = prop_oneof![
		4 => (
			(did_ref(), any::<bool>(), commitment_kind(), prop_oneof![4 => 1u8..4, 1 => Just(0u8)]),
			(merkle_spec(), prop_oneof![3 => 0u8..2, 1 => 0u8..4], prop_oneof![9 => vec(input_spec(), 1..3), 1 => Just(Vec::new())]),
			prop::option::weighted(0.2, (any::<u8>(), 0u8..3)),
		)
			.prop_map(
				|((committer, model, kind, hash), (merkle, schema, inputs), job_round)| Commit {
					committer,
					model,
					kind,
					hash,
					merkle,
					schema,
					inputs,
					job_round,
				}
			).boxed(),
		2 => (
			any::<u8>(),
			did_ref(),
			select(vec![Statement::Verified, Statement::Reproduced]),
			sig_spec()
		)
			.prop_map(|(id, attester, statement, signature)| Attest {
				id,
				attester,
				statement,
				signature
			}).boxed(),
		1 => (any::<u8>(), 0u8..3).prop_map(|(id, reason)| Dispute { id, reason }).boxed(),
		1 => (any::<u8>(), any::<u8>()).prop_map(|(dispute, counter)| Answer { dispute, counter }).boxed(),
		1 => (any::<u8>(), any::<bool>()).prop_map(|(dispute, upheld)| Resolve { dispute, upheld }).boxed(),
		1 => any::<u8>().prop_map(|id| PruneLeaves { id }).boxed(),
	];
	let federated = prop_oneof![
		2 => job_spec_spec().prop_map(|spec| CreateJob(Box::new(spec))).boxed(),
		1 => any::<u8>().prop_map(|job| CancelJob { job }).boxed(),
		3 => (any::<u8>(), prop_oneof![3 => Just(2u8), 1 => 0u8..4], prop_oneof![4 => Just(0u8), 1 => 0u8..3], sig_spec())
			.prop_map(|(cohort, records, parameters, signature)| SubmitUpdate {
				cohort,
				records,
				parameters,
				signature
			}).boxed(),
		2 => (any::<u8>(), sig_spec())
			.prop_map(|(cohort, signature)| AcceptCohort { cohort, signature }).boxed(),
	];
	let others = prop_oneof![
		3 => (0u8..7, 0u8..7, any::<bool>())
			.prop_map(|(dest, amount, keep_alive)| Transfer { dest, amount, keep_alive }).boxed(),
		1 => (0u8..7, any::<bool>()).prop_map(|(dest, keep_alive)| TransferAll { dest, keep_alive }).boxed(),
		1 => (any::<u8>(), 0u8..7).prop_map(|(licence, dest)| NftTransfer { licence, dest }).boxed(),
		1 => any::<u8>().prop_map(|licence| NftBurn { licence }).boxed(),
	];
	prop_oneof![
		6 => twins.boxed(),
		5 => consent.boxed(),
		5 => datasets.boxed(),
		4 => commitments.boxed(),
		3 => federated.boxed(),
		2 => others.boxed(),
	]
	.boxed()
}

/// The grant `i` of storage: its twin and id.
fn grant_key(i: u8) -> Option<(DidId, u64)> {
	pick_key(pallet_consent::Grants::<Runtime>::iter_keys().collect(), i)
}

fn request_key(i: u8) -> Option<(DidId, u64)> {
	pick_key(pallet_consent::Requests::<Runtime>::iter_keys().collect(), i)
}

fn dataset_key(i: u8) -> Option<DidId> {
	pick_key(pallet_datasets::Datasets::<Runtime>::iter_keys().collect(), i)
}

fn licence_key(i: u8) -> Option<(DidId, u32)> {
	pick_key(pallet_datasets::Licences::<Runtime>::iter_keys().collect(), i)
}

fn commitment_key(i: u8) -> Option<u64> {
	pick_key(pallet_commitments::Commitments::<Runtime>::iter_keys().collect(), i)
}

fn dispute_key(i: u8) -> Option<u64> {
	pick_key(pallet_commitments::Disputes::<Runtime>::iter_keys().collect(), i)
}

fn job_key(i: u8) -> Option<u64> {
	pick_key(pallet_federated::Jobs::<Runtime>::iter_keys().collect(), i)
}

/// The institution of a dataset (the subject of its publisher's calls).
fn institution_of(dataset: &DidId) -> Subject {
	pallet_datasets::Datasets::<Runtime>::get(dataset)
		.map_or(Subject::Anyone, |record| Subject::Did(record.institution))
}

/// A licence's NFT collection, item and holder.
fn licence_item(dataset: &DidId, licence: u32) -> (u32, u32, Option<AccountId>) {
	let collection =
		pallet_datasets::Datasets::<Runtime>::get(dataset).map_or(u32::MAX, |r| r.collection);
	let owner = pallet_nfts::Pallet::<Runtime>::owner(collection, licence);
	(collection, licence, owner)
}

impl CallSpec {
	/// The call, its arguments looked up in storage now, and whom it is
	/// naturally signed by.
	pub fn resolve(&self) -> (RuntimeCall, Subject) {
		use pallet_commitments::Call as Commitments;
		use pallet_consent::Call as Consent;
		use pallet_datasets::Call as Datasets;
		use pallet_federated::Call as Federated;
		use pallet_twins::Call as Twins;
		use SubjectKind::*;
		let missing = missing_did();
		match self {
			Self::Create { kind, controller, methods } => (
				Twins::create {
					kind: *kind,
					controller: controller.map(ControllerSpec::build),
					verification_methods: BoundedVec::truncate_from(
						methods.iter().map(|m| m.build()).collect::<Vec<_>>(),
					),
				}
				.into(),
				Subject::Anyone,
			),
			Self::AddMethod { did, method } => {
				let did = did.resolve(PatientTwin);
				(
					Twins::add_verification_method { did, method: method.build() }.into(),
					Subject::Did(did),
				)
			},
			Self::RemoveMethod { did, fragment: f } => {
				let did = did.resolve(Institution);
				(
					Twins::remove_verification_method { did, fragment: fragment(*f) }.into(),
					Subject::Did(did),
				)
			},
			Self::RotateKey { did, old, new } => {
				let did = did.resolve(PatientTwin);
				(
					Twins::rotate_key {
						did,
						old_fragment: fragment(*old),
						new_method: new.build(),
					}
					.into(),
					Subject::Did(did),
				)
			},
			Self::RotateController { did, controller } => {
				let did = did.resolve(PatientTwin);
				(
					Twins::rotate_controller { did, new_controller: controller.build() }.into(),
					Subject::Did(did),
				)
			},
			Self::AddService { did, fragment: f, service_type, endpoint } => {
				let did = did.resolve(PatientTwin);
				let service = pallet_twins::Service {
					fragment: fragment(*f),
					service_type: bounded(SERVICE_TYPES[usize::from(*service_type) % 4]),
					endpoint: bounded(ENDPOINTS[usize::from(*endpoint) % 4]),
				};
				(Twins::add_service { did, service }.into(), Subject::Did(did))
			},
			Self::RemoveService { did, fragment: f } => {
				let did = did.resolve(PatientTwin);
				(Twins::remove_service { did, fragment: fragment(*f) }.into(), Subject::Did(did))
			},
			Self::SetMetadata { did, hash: h, schema } => {
				let did = did.resolve(Dataset);
				(
					Twins::set_metadata {
						did,
						metadata_hash: h.map(hash),
						schema: schema.map(|s| bounded(DID_SCHEMAS[usize::from(s) % 4])),
					}
					.into(),
					Subject::Did(did),
				)
			},
			Self::Deactivate { did } => {
				let did = did.resolve(PatientTwin);
				(Twins::deactivate { did }.into(), Subject::Did(did))
			},
			Self::OfferCustody { institution, twin } => {
				let institution = institution.resolve(Institution);
				(
					Twins::offer_custody { institution, twin: twin.resolve(PatientTwin) }.into(),
					Subject::Did(institution),
				)
			},
			Self::AcceptCustody { offer } => {
				let (twin, institution) =
					pick_key(pallet_twins::CustodyOffers::<Runtime>::iter_keys().collect(), *offer)
						.unwrap_or((missing, missing));
				(Twins::accept_custody { twin, institution }.into(), Subject::Did(twin))
			},
			Self::CancelCustodyOffer { offer, by_twin } => {
				let (twin, institution) =
					pick_key(pallet_twins::CustodyOffers::<Runtime>::iter_keys().collect(), *offer)
						.unwrap_or((missing, missing));
				let by = if *by_twin { twin } else { institution };
				(Twins::cancel_custody_offer { twin, institution }.into(), Subject::Did(by))
			},
			Self::EndCustody { twin, by_twin } => {
				let twin = twin.resolve(PatientTwin);
				let by = match pallet_twins::Custodians::<Runtime>::get(twin) {
					Some(custody) if !*by_twin => custody.institution,
					_ => twin,
				};
				(Twins::end_custody { twin }.into(), Subject::Did(by))
			},
			Self::AcceptController { did } => {
				let did = did.resolve(PatientTwin);
				(Twins::accept_controller { did }.into(), Subject::PendingController(did))
			},
			Self::OfferPatient { twin, patient } => {
				let twin = twin.resolve(PatientTwin);
				(
					Twins::offer_patient { twin, patient: account(*patient) }.into(),
					Subject::Did(twin),
				)
			},
			Self::AcceptPatient { twin } => {
				let twin = twin.resolve(PatientTwin);
				(Twins::accept_patient { twin }.into(), Subject::PendingPatient(twin))
			},
			Self::CancelHandover { did } => {
				let did = did.resolve(PatientTwin);
				(Twins::cancel_handover { did }.into(), Subject::Did(did))
			},

			Self::Grant { twin, terms } => {
				let twin = twin.resolve(PatientTwin);
				(Consent::grant { twin, terms: terms.build() }.into(), Subject::Did(twin))
			},
			Self::Revoke { grant } => {
				let (twin, grant) = grant_key(*grant).unwrap_or((missing, 0));
				(Consent::revoke { twin, grant }.into(), Subject::Did(twin))
			},
			Self::Narrow { grant, how } => {
				let (twin, grant) = grant_key(*grant).unwrap_or((missing, 0));
				let narrower = match pallet_consent::Grants::<Runtime>::get(twin, grant) {
					Some(record) => narrowed(record.terms, how),
					None => TermsSpec::fallback().build(),
				};
				(Consent::narrow { twin, grant, narrower }.into(), Subject::Did(twin))
			},
			Self::RequestAccess { twin, terms } => {
				let terms = terms.build();
				let subject = grantee_subject(&terms.grantee);
				(Consent::request_access { twin: twin.resolve(PatientTwin), terms }.into(), subject)
			},
			Self::ApproveRequest { request } => {
				let (twin, request) = request_key(*request).unwrap_or((missing, 0));
				(Consent::approve_request { twin, request }.into(), Subject::Did(twin))
			},
			Self::RejectRequest { request } => {
				let (twin, request) = request_key(*request).unwrap_or((missing, 0));
				(Consent::reject_request { twin, request }.into(), Subject::Did(twin))
			},
			Self::CloseRequest { request } => {
				let (twin, request) = request_key(*request).unwrap_or((missing, 0));
				let requester = pallet_consent::Requests::<Runtime>::get(twin, request)
					.map_or(Subject::Anyone, |r| Subject::Account(r.requester));
				(Consent::close_request { twin, request }.into(), requester)
			},
			Self::RecordUse { grant, purpose, dataset, other_scope } => {
				let (twin, id) = grant_key(*grant).unwrap_or((missing, 0));
				let record = pallet_consent::Grants::<Runtime>::get(twin, id);
				let grantee = record
					.as_ref()
					.map_or(Grantee::Account(account(3)), |r| r.terms.grantee.clone());
				let mut scope = record.as_ref().map_or(Scope::View, |r| r.terms.scope);
				if *other_scope {
					scope = match scope {
						Scope::View => Scope::Compute,
						Scope::Compute => Scope::View,
					};
				}
				let purpose = record
					.as_ref()
					.and_then(|r| pick(&r.terms.purposes, *purpose))
					.unwrap_or(PURPOSES[usize::from(*purpose) % 7]);
				let dataset = dataset.map(|d| d.resolve(Dataset)).or_else(|| {
					record.as_ref().and_then(|r| r.terms.datasets.as_ref()?.first().copied())
				});
				let subject = grantee_subject(&grantee);
				(Consent::record_use { twin, grantee, scope, purpose, dataset }.into(), subject)
			},
			Self::PruneGrant { grant } => {
				let (twin, grant) = grant_key(*grant).unwrap_or((missing, 0));
				(Consent::prune_grant { twin, grant }.into(), Subject::Anyone)
			},

			Self::Register {
				dataset,
				institution,
				location,
				schema,
				terms,
				parents,
				transformation,
				min_contributors,
			} => {
				// Mostly a Dataset DID not registered yet, and an institution
				// of the same controller.
				let dataset = match dataset {
					DidRef::Pick(i) if i % 3 != 2 => {
						let free: Vec<(DidId, Controller<AccountId>)> =
							pallet_twins::Dids::<Runtime>::iter()
								.filter(|(id, d)| {
									d.kind == Dataset
										&& !pallet_datasets::Datasets::<Runtime>::contains_key(id)
								})
								.map(|(id, d)| (id, d.controller))
								.collect();
						pick(&free, i / 3)
							.map(|(id, _)| id)
							.unwrap_or_else(|| dataset.resolve(Dataset))
					},
					other => other.resolve(Dataset),
				};
				let controller = pallet_twins::Dids::<Runtime>::get(dataset).map(|d| d.controller);
				let institution = match (institution, controller) {
					(DidRef::Pick(i), Some(controller)) if i % 2 == 0 => {
						let same: Vec<DidId> = pallet_twins::Dids::<Runtime>::iter()
							.filter(|(_, d)| d.kind == Institution && d.controller == controller)
							.map(|(id, _)| id)
							.collect();
						pick(&same, i / 2).unwrap_or_else(|| institution.resolve(Institution))
					},
					(other, _) => other.resolve(Institution),
				};
				let descriptor = pallet_datasets::Descriptor {
					content_hash: hash(1),
					location: bounded(LOCATIONS[usize::from(*location) % 4]),
					schema: *schema,
					size_bytes: 1 << 20,
					record_count: 100,
					metadata_hash: hash(2),
				};
				let parents: Vec<DidId> = parents.iter().filter_map(|p| dataset_key(*p)).collect();
				(
					Datasets::register {
						dataset,
						institution,
						descriptor: Box::new(descriptor),
						terms: Box::new(terms.build()),
						lineage: pallet_datasets::Lineage {
							parents: BoundedVec::truncate_from(parents),
							transformation: transformation.map(hash),
						},
						min_contributors: (*min_contributors).into(),
					}
					.into(),
					Subject::Did(institution),
				)
			},
			Self::AddContributors { dataset, twins } => {
				let dataset = dataset_key(*dataset).unwrap_or(missing);
				let twins: Vec<DidId> = twins.iter().map(|t| t.resolve(PatientTwin)).collect();
				(
					Datasets::add_contributors { dataset, twins: BoundedVec::truncate_from(twins) }
						.into(),
					institution_of(&dataset),
				)
			},
			Self::RemoveContributor { contributor, by_patient } => {
				let (dataset, twin) = pick_key(
					pallet_datasets::Contributors::<Runtime>::iter_keys().collect(),
					*contributor,
				)
				.unwrap_or((missing, missing));
				let subject =
					if *by_patient { Subject::Did(twin) } else { institution_of(&dataset) };
				(Datasets::remove_contributor { dataset, twin }.into(), subject)
			},
			Self::RefreshContributors { dataset, twins } => {
				let dataset = dataset_key(*dataset).unwrap_or(missing);
				let twins: Vec<DidId> = twins.iter().map(|t| t.resolve(PatientTwin)).collect();
				(
					Datasets::refresh_contributors {
						dataset,
						twins: BoundedVec::truncate_from(twins),
					}
					.into(),
					Subject::Anyone,
				)
			},
			Self::SetState { dataset, state } => {
				let dataset = dataset_key(*dataset).unwrap_or(missing);
				(Datasets::set_state { dataset, state: *state }.into(), institution_of(&dataset))
			},
			Self::SetAlgorithms { dataset, codes, raw_download } => {
				let dataset = dataset_key(*dataset).unwrap_or(missing);
				let algorithms: Vec<H256> = codes.iter().map(|c| code_hash(*c)).collect();
				(
					Datasets::set_algorithms {
						dataset,
						algorithms: BoundedVec::truncate_from(algorithms),
						raw_download: *raw_download,
					}
					.into(),
					institution_of(&dataset),
				)
			},
			Self::BuyLicence { dataset, scope, purpose, max_price } => {
				let dataset = dataset_key(*dataset).unwrap_or(missing);
				let offered = pallet_datasets::Datasets::<Runtime>::get(dataset)
					.and_then(|r| pick(&r.terms.purposes, *purpose));
				(
					Datasets::buy_licence {
						dataset,
						scope: *scope,
						purpose: offered.unwrap_or(PURPOSES[usize::from(*purpose) % 7]),
						max_price: PRICES[usize::from(*max_price) % PRICES.len()],
					}
					.into(),
					Subject::Anyone,
				)
			},
			Self::PruneLicence { licence } => {
				let (dataset, licence) = licence_key(*licence).unwrap_or((missing, 0));
				(Datasets::prune_licence { dataset, licence }.into(), Subject::Anyone)
			},

			Self::Commit { committer, model, kind, hash: h, merkle, schema, inputs, job_round } => {
				let committer = committer.resolve(if *model { Model } else { Institution });
				let merkle = merkle.map(|m| match m {
					MerkleSpec::Root(h, n) => pallet_commitments::MerkleInput::Root(MerkleRoot {
						root: hash(h),
						leaf_count: n.into(),
					}),
					MerkleSpec::Leaves(n) => pallet_commitments::MerkleInput::Leaves(
						BoundedVec::truncate_from((1..=n).map(hash).collect::<Vec<_>>()),
					),
				});
				let inputs: Vec<Input> = inputs
					.iter()
					.map(|input| match input {
						InputSpec::Dataset(did) => Input::Dataset(did.resolve(Dataset)),
						InputSpec::Commitment(i) => {
							Input::Commitment(commitment_key(*i).unwrap_or(u64::from(*i)))
						},
					})
					.collect();
				let job_round = job_round.map(|(job, round)| JobRound {
					job: job_key(job).unwrap_or(u64::from(job)),
					round: round.into(),
				});
				(
					Commitments::commit {
						committer,
						kind: *kind,
						hash: hash(*h),
						merkle,
						schema: bounded(COMMIT_SCHEMAS[usize::from(*schema) % 4]),
						inputs: BoundedVec::truncate_from(inputs),
						job_round,
					}
					.into(),
					Subject::Did(committer),
				)
			},
			Self::Attest { id, attester, statement, signature } => {
				let id = commitment_key(*id).unwrap_or(u64::MAX);
				let attester = attester.resolve(Institution);
				let committed = pallet_commitments::Commitments::<Runtime>::get(id)
					.map_or_else(H256::zero, |c| c.hash);
				let message = twinnet_primitives::commitments::attestation_message(
					pallet_commitments::Pallet::<Runtime>::genesis_hash(),
					id,
					committed,
					&attester,
					*statement,
				);
				let signature = signature.sign(&attester, Relationship::AssertionMethod, &message);
				(
					Commitments::attest { id, attester, statement: *statement, signature }.into(),
					Subject::Anyone,
				)
			},
			Self::Dispute { id, reason } => {
				let id = commitment_key(*id).unwrap_or(u64::MAX);
				(Commitments::dispute { id, reason: hash(*reason + 1) }.into(), Subject::Anyone)
			},
			Self::Answer { dispute, counter } => {
				let dispute = dispute_key(*dispute).unwrap_or(u64::MAX);
				let disputed = pallet_commitments::Disputes::<Runtime>::get(dispute)
					.and_then(|d| pallet_commitments::Commitments::<Runtime>::get(d.commitment));
				// A counter-commitment is usually one of the committer's that links the disputed one.
				let counters: Vec<u64> = match &disputed {
					Some(disputed) => pallet_commitments::Commitments::<Runtime>::iter()
						.filter(|(_, c)| c.committer == disputed.committer)
						.map(|(id, _)| id)
						.collect(),
					None => Vec::new(),
				};
				let counter = pick_key(counters, *counter)
					.or_else(|| commitment_key(*counter))
					.unwrap_or(u64::MAX);
				let subject = disputed.map_or(Subject::Anyone, |c| Subject::Did(c.committer));
				(Commitments::answer { dispute, counter }.into(), subject)
			},
			Self::Resolve { dispute, upheld } => {
				let dispute = dispute_key(*dispute).unwrap_or(u64::MAX);
				let verdict = if *upheld {
					pallet_commitments::Verdict::Upheld
				} else {
					pallet_commitments::Verdict::Rejected
				};
				(Commitments::resolve { dispute, verdict }.into(), Subject::Root)
			},
			Self::PruneLeaves { id } => {
				let with_leaves: Vec<u64> =
					pallet_commitments::Leaves::<Runtime>::iter_keys().collect();
				let id = pick_key(with_leaves, *id).unwrap_or(u64::from(*id));
				(Commitments::prune_leaves { id }.into(), Subject::Anyone)
			},

			Self::CreateJob(spec) => {
				let licences: Vec<(DidId, u32)> =
					spec.licences.iter().filter_map(|l| licence_key(*l)).collect();
				let holder = licences
					.first()
					.and_then(|(dataset, licence)| licence_item(dataset, *licence).2);
				// Mostly a Model DID of the licence holder's.
				let model_did = spec.model_did.map(|model| match (model, &holder) {
					(DidRef::Pick(i), Some(holder)) if i % 2 == 0 => {
						let controller = Controller::Account(holder.clone());
						let own: Vec<DidId> = pallet_twins::Dids::<Runtime>::iter()
							.filter(|(_, d)| d.kind == Model && d.controller == controller)
							.map(|(id, _)| id)
							.collect();
						pick(&own, i / 2).unwrap_or_else(|| model.resolve(Model))
					},
					(other, _) => other.resolve(Model),
				});
				let holder = holder.map_or(Subject::Anyone, Subject::Account);
				let model = if spec.mlp {
					ModelKind::Mlp { features: spec.features.into(), hidden: spec.hidden.into() }
				} else {
					ModelKind::LogisticRegression { features: spec.features.into() }
				};
				let positive = if spec.training_ok { 1 } else { 0 };
				let job = pallet_federated::JobSpec {
					model,
					model_did,
					datasets: BoundedVec::truncate_from(
						licences
							.iter()
							.map(|(dataset, licence)| pallet_federated::DatasetLicence {
								dataset: *dataset,
								licence: *licence,
							})
							.collect::<Vec<_>>(),
					),
					code_hash: code_hash(spec.code),
					purpose: PURPOSES[usize::from(spec.purpose) % 7],
					rounds: spec.rounds.into(),
					min_participants: spec.quorum.into(),
					round_timeout: TIMEOUTS[usize::from(spec.timeout) % TIMEOUTS.len()],
					max_retries: spec.retries.into(),
					training: Training {
						learning_rate: FixedU64::from_rational(1, 10),
						local_steps: positive,
						clip_norm: FixedU64::from_u32(1),
						noise_multiplier: FixedU64::from_u32(1),
						sampling_rate: Perbill::from_percent(50),
					},
					per_round: PrivacyBudget {
						epsilon: epsilon(spec.epsilon),
						delta: delta(spec.delta),
					},
					reward_per_update: REWARDS[usize::from(spec.reward) % REWARDS.len()],
					masking: None,
				};
				(Federated::create_job { spec: Box::new(job) }.into(), holder)
			},
			Self::CancelJob { job } => {
				let job = job_key(*job).unwrap_or(u64::MAX);
				let researcher = pallet_federated::Jobs::<Runtime>::get(job)
					.map_or(Subject::Anyone, |j| Subject::Account(j.researcher));
				(Federated::cancel_job { job }.into(), researcher)
			},
			Self::SubmitUpdate { cohort, records, parameters, signature } => {
				let (job, round, institution) =
					pick_key(pallet_federated::Cohorts::<Runtime>::iter_keys().collect(), *cohort)
						.unwrap_or((u64::MAX, 0, missing));
				let admitted = pallet_federated::Cohorts::<Runtime>::get((job, round, institution))
					.map_or(0, |c| c.admitted.len() as u32);
				let records = match records {
					0 => 0,
					1 => 1,
					2 => admitted,
					_ => admitted + 1,
				};
				let count = pallet_federated::Jobs::<Runtime>::get(job)
					.and_then(|j| j.spec.model.parameters())
					.unwrap_or(3);
				let count = match parameters {
					0 => count,
					1 => count + 1,
					_ => count.saturating_sub(1),
				};
				let values: Vec<i32> =
					(0..count.min(64)).map(|i| (i as i32 - 3) * (1 << 14)).collect();
				let opening_block = pallet_federated::Rounds::<Runtime>::get(job, round)
					.map(|record| record.opening_block)
					.unwrap_or_default();
				let report = pallet_federated::Report {
					job,
					round,
					opening_block,
					institution,
					records,
					update: pallet_federated::Contribution::Model(BoundedVec::truncate_from(
						values,
					)),
				};
				let message = report.message(pallet_federated::Pallet::<Runtime>::genesis_hash());
				let signature =
					signature.sign(&institution, Relationship::CapabilityInvocation, &message);
				(
					Federated::submit_update { report: Box::new(report), signature }.into(),
					Subject::Authorized,
				)
			},

			Self::AcceptCohort { cohort, signature } => {
				let (job, round, institution) =
					pick_key(pallet_federated::Cohorts::<Runtime>::iter_keys().collect(), *cohort)
						.unwrap_or((u64::MAX, 0, missing));
				let opening_block = pallet_federated::Rounds::<Runtime>::get(job, round)
					.map(|record| record.opening_block)
					.unwrap_or_default();
				let acceptance =
					pallet_federated::Acceptance { job, round, opening_block, institution };
				let message =
					acceptance.message(pallet_federated::Pallet::<Runtime>::genesis_hash());
				let signature =
					signature.sign(&institution, Relationship::CapabilityInvocation, &message);
				(Federated::accept_cohort { acceptance, signature }.into(), Subject::Authorized)
			},

			Self::Transfer { dest, amount, keep_alive } => {
				let dest = account(*dest).into();
				let value = AMOUNTS[usize::from(*amount) % AMOUNTS.len()];
				let call = if *keep_alive {
					pallet_balances::Call::transfer_keep_alive { dest, value }
				} else {
					pallet_balances::Call::transfer_allow_death { dest, value }
				};
				(call.into(), Subject::Anyone)
			},
			Self::TransferAll { dest, keep_alive } => (
				pallet_balances::Call::transfer_all {
					dest: account(*dest).into(),
					keep_alive: *keep_alive,
				}
				.into(),
				Subject::Anyone,
			),
			Self::NftTransfer { licence, dest } => {
				let (dataset, licence) = licence_key(*licence).unwrap_or((missing, 0));
				let (collection, item, owner) = licence_item(&dataset, licence);
				(
					pallet_nfts::Call::transfer { collection, item, dest: account(*dest).into() }
						.into(),
					owner.map_or(Subject::Anyone, Subject::Account),
				)
			},
			Self::NftBurn { licence } => {
				let (dataset, licence) = licence_key(*licence).unwrap_or((missing, 0));
				let (collection, item, owner) = licence_item(&dataset, licence);
				(
					pallet_nfts::Call::burn { collection, item }.into(),
					owner.map_or(Subject::Anyone, Subject::Account),
				)
			},
		}
	}
}

impl TermsSpec {
	/// Terms for a grant that does not exist.
	fn fallback() -> Self {
		Self {
			grantee: GranteeSpec::Account(3),
			scope: Scope::View,
			purposes: 0b10,
			unsorted: false,
			datasets: None,
			starts: 2,
			length: 3,
			budget: None,
			job: None,
			model: None,
			code: None,
			cap: None,
		}
	}
}

/// `terms`, narrowed as `how` says.
fn narrowed(
	mut terms: pallet_consent::TermsOf<Runtime>,
	how: &NarrowSpec,
) -> pallet_consent::TermsOf<Runtime> {
	let kept: Vec<Purpose> = terms
		.purposes
		.iter()
		.enumerate()
		.filter(|(i, _)| how.keep >> (i % 8) & 1 == 1)
		.map(|(_, p)| *p)
		.collect();
	if !kept.is_empty() {
		terms.purposes = BoundedVec::truncate_from(kept);
	}
	let earliest = now().saturating_add(1).max(terms.starts_at.saturating_add(1));
	terms.expires_at = terms
		.expires_at
		.saturating_sub(u32::from(how.earlier) * 10)
		.max(earliest.min(terms.expires_at));
	if let Some(budget) = &mut terms.budget {
		if how.halve_budget {
			budget.epsilon = FixedU64::from_inner(budget.epsilon.into_inner() / 2);
		}
		if how.cap {
			terms.binding.max_epsilon_per_round = Some(budget.epsilon);
		}
	}
	if how.regrant {
		terms.grantee = Grantee::Job(7);
	}
	terms
}

/// Who acts as `grantee`.
fn grantee_subject(grantee: &Grantee<AccountId>) -> Subject {
	match grantee {
		Grantee::Account(account) => Subject::Account(account.clone()),
		Grantee::Institution(did) => Subject::Did(*did),
		Grantee::Job(_) => Subject::Anyone,
	}
}

/// A step of a random sequence: a call from someone, the same call through
/// `sudo` (from the sudo key, or someone else), or blocks passing.
#[derive(Clone, Debug)]
pub(crate) enum Step {
	Call(Who, CallSpec),
	Sudo(Who, CallSpec),
	Blocks(u8),
	Jump(u8),
}

/// The jumps of [`Step::Jump`]: past a round's timeout, a request's
/// lifetime, a licence, a dispute window, the leaf retention.
pub(crate) const JUMPS: [BlockNumber; 5] = [10, 7 * DAYS + 1, 31 * DAYS, 29 * DAYS, 91 * DAYS];

pub(crate) fn step() -> BoxedStrategy<Step> {
	prop_oneof![
		40 => (who(), call_spec()).prop_map(|(who, call)| Step::Call(who, call)),
		2 => (prop_oneof![4 => Just(Who::Account(0)), 1 => who()], call_spec())
			.prop_map(|(who, call)| Step::Sudo(who, call)),
		8 => (1u8..4).prop_map(Step::Blocks),
		1 => (0u8..5).prop_map(Step::Jump),
	]
	.boxed()
}
