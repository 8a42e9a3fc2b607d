//! The tour: a fixed sequence from the development genesis in which every
//! call of every TwinNet pallet succeeds at least once (two consenting twins
//! in the sample dataset, licences, a federated job whose first round
//! releases an aggregate, a masked job whose round recovers from a dropout,
//! a disputed and answered commitment, expiries).
//!
//! It is three things: a test that every call can succeed through the
//! runtime's dispatch with `try_state` after each; the seed corpus of the
//! decoding fuzzer (the encoding of each of its calls, and some of them as
//! signed extrinsics); and the starting points of the call-sequence
//! fuzzer, whose cases begin with a random prefix of it.

use frame_support::BoundedVec;
use sp_core::H256;
use sp_keyring::Sr25519Keyring::{
	self, Alice, AliceStash, Bob, BobStash, Charlie, CharlieStash, Dave, DaveStash, Eve, EveStash,
	Ferdie,
};
use sp_runtime::{FixedU64, Perbill, Perquintill};
use twinnet_primitives::{
	commitments::{CommitmentKind, Input, Statement},
	consent::{Binding, Grantee, PrivacyBudget, Purpose, Scope},
	datasets::{AssetState, Schema},
	did::{DidId, PublicKey, Relationships, SubjectKind},
	federated::{Masking, ModelKind, Training},
};

use super::calls::{code_hash, KeySpec};
use crate::{Runtime, RuntimeCall, DAYS, UNITS};

/// Who signs a step of the tour.
#[derive(Clone, Copy, Debug)]
pub(crate) enum By {
	Signed(Sr25519Keyring),
	Root,
	Authorized,
}

/// A step of the tour: a call (its arguments read from storage when it
/// runs), or blocks passing.
pub(crate) enum TourStep {
	Call(By, fn() -> RuntimeCall),
	/// Blocks closed and opened one by one.
	Blocks(u32),
	/// The open block closed and one this many blocks later opened.
	Jump(u32),
}

fn did(creator: Sr25519Keyring, counter: u64) -> DidId {
	pallet_twins::Pallet::<Runtime>::derive_did(&creator.to_account_id(), counter)
}

// The development genesis: Bob's institution (DID 0) holds Alice's twin
// (1); Bob's dataset (2) lists it. The tour creates Charlie's twin (3), his
// institution (4), Dave's model (5), Eve's twin (6) and Bob's second
// dataset (7); for the masked job, Ferdie's institution (8), the stash
// accounts' twins (9 to 12: the first two in Charlie's custody, the others
// in Ferdie's), and Charlie's (13) and Ferdie's (14) datasets.
fn institution() -> DidId {
	did(Bob, 0)
}
fn alice_twin() -> DidId {
	did(Alice, 1)
}
fn dataset() -> DidId {
	did(Bob, 2)
}
fn charlie_twin() -> DidId {
	did(Charlie, 3)
}
fn charlie_institution() -> DidId {
	did(Charlie, 4)
}
fn model() -> DidId {
	did(Dave, 5)
}
fn eve_twin() -> DidId {
	did(Eve, 6)
}
fn second_dataset() -> DidId {
	did(Bob, 7)
}
fn ferdie_institution() -> DidId {
	did(Ferdie, 8)
}
fn stash_twin(index: u64) -> DidId {
	let patients = [AliceStash, BobStash, CharlieStash, DaveStash];
	did(patients[index as usize], 9 + index)
}
fn charlie_dataset() -> DidId {
	did(Charlie, 13)
}
fn ferdie_dataset() -> DidId {
	did(Ferdie, 14)
}

fn bounded<S: frame_support::traits::Get<u32>>(bytes: &[u8]) -> BoundedVec<u8, S> {
	BoundedVec::truncate_from(bytes.to_vec())
}

fn method(
	fragment: &[u8],
	key: PublicKey,
	relationships: Relationships,
) -> pallet_twins::VerificationMethodOf<Runtime> {
	pallet_twins::VerificationMethod { fragment: bounded(fragment), key, relationships }
}

fn sr(key: Sr25519Keyring) -> PublicKey {
	PublicKey::Sr25519(key.public().0)
}

const AUTHENTICATION: Relationships = Relationships {
	authentication: true,
	assertion_method: false,
	capability_delegation: false,
	key_agreement: false,
	capability_invocation: false,
};

fn now() -> u32 {
	frame_system::Pallet::<Runtime>::block_number()
}

/// A compute grant to `institution` for research and model training.
fn compute_grant(twin: DidId, institution: DidId) -> RuntimeCall {
	pallet_consent::Call::grant {
		twin,
		terms: pallet_consent::Terms {
			grantee: Grantee::Institution(institution),
			scope: Scope::Compute,
			purposes: BoundedVec::truncate_from(vec![Purpose::Research, Purpose::ModelTraining]),
			datasets: None,
			starts_at: 0,
			expires_at: now() + 10 * DAYS,
			budget: Some(PrivacyBudget {
				epsilon: FixedU64::from_u32(5),
				delta: Perquintill::from_parts(1_000_000_000),
			}),
			binding: Binding::default(),
		},
	}
	.into()
}

/// Dave asks to view Alice's twin's data for research.
fn view_terms(expires_in: u32) -> pallet_consent::TermsOf<Runtime> {
	pallet_consent::Terms {
		grantee: Grantee::Account(Dave.to_account_id()),
		scope: Scope::View,
		purposes: BoundedVec::truncate_from(vec![Purpose::Research]),
		datasets: None,
		starts_at: now(),
		expires_at: now() + expires_in,
		budget: None,
		binding: Binding::default(),
	}
}

fn request_view() -> RuntimeCall {
	pallet_consent::Call::request_access { twin: alice_twin(), terms: view_terms(100) }.into()
}

/// The latest request on Alice's twin.
fn latest_request() -> u64 {
	pallet_consent::Requests::<Runtime>::iter_key_prefix(alice_twin())
		.max()
		.unwrap_or(u64::MAX)
}

/// The latest grant on Alice's twin.
fn latest_grant() -> u64 {
	pallet_consent::Grants::<Runtime>::iter_key_prefix(alice_twin())
		.max()
		.unwrap_or(u64::MAX)
}

/// The latest commitment of Charlie's institution.
fn latest_commitment() -> u64 {
	pallet_commitments::ByCommitter::<Runtime>::iter_key_prefix(charlie_institution())
		.max()
		.unwrap_or(u64::MAX)
}

fn latest_job() -> u64 {
	pallet_federated::Jobs::<Runtime>::iter_keys().max().unwrap_or(u64::MAX)
}

fn latest_dispute() -> u64 {
	pallet_commitments::Disputes::<Runtime>::iter_keys().max().unwrap_or(u64::MAX)
}

fn collection() -> u32 {
	pallet_datasets::Datasets::<Runtime>::get(dataset()).map_or(u32::MAX, |r| r.collection)
}

fn buy(dataset: DidId, purpose: Purpose) -> RuntimeCall {
	pallet_datasets::Call::buy_licence {
		dataset,
		scope: Scope::Compute,
		purpose,
		max_price: 10 * UNITS,
	}
	.into()
}

/// The round of the latest job that is open or in recovery (`u32::MAX`
/// if none is).
fn current_round() -> u32 {
	use pallet_federated::JobState::{Recovering, Running};
	match pallet_federated::Jobs::<Runtime>::get(latest_job()).map(|j| j.state) {
		Some(Running { round, .. } | Recovering { round, .. }) => round,
		_ => u32::MAX,
	}
}

/// The opening block of the latest job's current round, to which its
/// reports and reveals are bound.
fn opening_block() -> sp_core::H256 {
	pallet_federated::Rounds::<Runtime>::get(latest_job(), current_round())
		.map(|record| record.opening_block)
		.unwrap_or_default()
}

/// `institution`'s report of `update` for the current round of the latest
/// job, signed by its node key `key`.
fn report(
	institution: DidId,
	update: pallet_federated::Contribution<<Runtime as pallet_federated::Config>::MaxParameters>,
	key: KeySpec,
) -> RuntimeCall {
	let report = pallet_federated::Report {
		job: latest_job(),
		round: current_round(),
		opening_block: opening_block(),
		institution,
		records: 1,
		update,
	};
	let message = report.message(pallet_federated::Pallet::<Runtime>::genesis_hash());
	let signature = key.sign(&message);
	pallet_federated::Call::submit_update { report: Box::new(report), signature }.into()
}

/// `institution`'s acceptance of the cohort the current round of the
/// latest job offers it, signed by its node key `key`.
fn accept(institution: DidId, key: KeySpec) -> RuntimeCall {
	let acceptance = pallet_federated::Acceptance {
		job: latest_job(),
		round: current_round(),
		opening_block: opening_block(),
		institution,
	};
	let message = acceptance.message(pallet_federated::Pallet::<Runtime>::genesis_hash());
	let signature = key.sign(&message);
	pallet_federated::Call::accept_cohort { acceptance, signature }.into()
}

/// The report of Bob's institution in the plain job, signed by its `node`
/// key (Ferdie's sr25519 key).
fn plain_report() -> RuntimeCall {
	let model = BoundedVec::truncate_from(vec![1 << 16, -(1 << 15), 1 << 10]);
	report(institution(), pallet_federated::Contribution::Model(model), KeySpec::Sr25519(5))
}

/// The institutions of the masked job, in its datasets' order: Bob's,
/// Charlie's and Ferdie's; each one's `node` key.
fn masked_sites() -> [(DidId, KeySpec); 3] {
	[
		(institution(), KeySpec::Sr25519(5)),
		(charlie_institution(), KeySpec::Ed25519(2)),
		(ferdie_institution(), KeySpec::Ed25519(5)),
	]
}

/// The largest change of a parameter a masked report carries (1.0).
const UPDATE_BOUND: u32 = 1 << 16;

/// The seed the institutions `a` and `b` agreed on for the masked round
/// (the agents derive it from their X25519 keys; the chain never checks
/// how).
fn pair_seed(a: DidId, b: DidId) -> twinnet_secagg::Seed {
	let (low, high) = if a <= b { (a, b) } else { (b, a) };
	sp_io::hashing::blake2_256(&[low.as_bytes(), high.as_bytes()].concat())
}

/// The masked report of the masked job's site `index`: its one-record
/// update from the zero model, masked with its seeds with the other two.
fn masked_report(index: usize) -> RuntimeCall {
	let sites = masked_sites();
	let (site, key) = sites[index];
	let model = [1 << 12, -(1 << 11), 1 << 10].map(|p: i32| p * (index as i32 + 1));
	let mut update = twinnet_secagg::weighted_update(1, &model, &[0; 3], UPDATE_BOUND)
		.expect("one record within the bound fits");
	let seeds: Vec<([u8; 32], twinnet_secagg::Seed)> = sites
		.iter()
		.filter(|(peer, _)| *peer != site)
		.map(|(peer, _)| (peer.to_fixed_bytes(), pair_seed(site, *peer)))
		.collect();
	twinnet_secagg::mask_update(
		&mut update,
		site.as_fixed_bytes(),
		seeds.iter().map(|(peer, seed)| (peer, seed)),
	);
	let update = pallet_federated::Contribution::Masked(BoundedVec::truncate_from(update));
	report(site, update, key)
}

/// The reveal of the masked job's survivor `index`: the seed it shares
/// with Ferdie's institution, which dropped out.
fn reveal(index: usize) -> RuntimeCall {
	let (survivor, key) = masked_sites()[index];
	let dropped = ferdie_institution();
	let reveal = pallet_federated::Reveal {
		job: latest_job(),
		round: current_round(),
		opening_block: opening_block(),
		institution: survivor,
		seeds: BoundedVec::truncate_from(vec![(dropped, pair_seed(survivor, dropped))]),
	};
	let signature = key.sign(&reveal.message(pallet_federated::Pallet::<Runtime>::genesis_hash()));
	pallet_federated::Call::reveal_seeds { reveal: Box::new(reveal), signature }.into()
}

/// Adds to `institution` the X25519 `keyAgreement` key `agree` (every
/// byte `byte`).
fn add_agreement_key(institution: DidId, byte: u8) -> RuntimeCall {
	let key_agreement = Relationships { key_agreement: true, ..Default::default() };
	pallet_twins::Call::add_verification_method {
		did: institution,
		method: method(b"agree", PublicKey::X25519([byte; 32]), key_agreement),
	}
	.into()
}

/// A twin of its signer's, with no keys.
fn patient_twin() -> RuntimeCall {
	pallet_twins::Call::create {
		kind: SubjectKind::PatientTwin,
		controller: None,
		verification_methods: BoundedVec::new(),
	}
	.into()
}

/// `institution` offers custody of `twin`.
fn offer_custody(institution: DidId, twin: DidId) -> RuntimeCall {
	pallet_twins::Call::offer_custody { institution, twin }.into()
}

/// `twin` accepts the custody of `institution`.
fn accept_custody(twin: DidId, institution: DidId) -> RuntimeCall {
	pallet_twins::Call::accept_custody { twin, institution }.into()
}

/// A new dataset DID of its signer's.
fn dataset_did() -> RuntimeCall {
	pallet_twins::Call::create {
		kind: SubjectKind::Dataset,
		controller: None,
		verification_methods: BoundedVec::new(),
	}
	.into()
}

/// `institution` registers `dataset`: compute licences for model
/// training, two contributors at least.
fn register_dataset(dataset: DidId, institution: DidId) -> RuntimeCall {
	pallet_datasets::Call::register {
		dataset,
		institution,
		descriptor: Box::new(pallet_datasets::Descriptor {
			content_hash: H256::from(sp_io::hashing::blake2_256(dataset.as_bytes())),
			location: bounded(b"s3://twinnet-samples/site.nwb.enc"),
			schema: Schema::Nwb2,
			size_bytes: 1 << 20,
			record_count: 2,
			metadata_hash: H256::repeat_byte(6),
		}),
		terms: Box::new(pallet_datasets::LicenceTerms {
			price: UNITS,
			scopes: pallet_datasets::Scopes { view: false, compute: true },
			purposes: BoundedVec::truncate_from(vec![Purpose::ModelTraining]),
			duration: 100,
			max_licences: 5,
			transferable: false,
		}),
		lineage: pallet_datasets::Lineage { parents: BoundedVec::new(), transformation: None },
		min_contributors: 2,
	}
	.into()
}

/// `dataset`'s institution lists `twins` in it.
fn add_contributors(dataset: DidId, twins: [DidId; 2]) -> RuntimeCall {
	pallet_datasets::Call::add_contributors {
		dataset,
		twins: BoundedVec::truncate_from(twins.to_vec()),
	}
	.into()
}

/// `dataset` admits the tour's training code.
fn allow_code(dataset: DidId) -> RuntimeCall {
	pallet_datasets::Call::set_algorithms {
		dataset,
		algorithms: BoundedVec::truncate_from(vec![code_hash(0)]),
		raw_download: false,
	}
	.into()
}

/// Dave's job on the sample dataset (his first licence of it) and, if
/// `masked`, on Charlie's and Ferdie's too (his licences 0) with masking.
fn job(masked: bool) -> RuntimeCall {
	let licence = |dataset| pallet_federated::DatasetLicence { dataset, licence: 0 };
	let mut datasets = vec![licence(dataset())];
	if masked {
		datasets.extend([licence(charlie_dataset()), licence(ferdie_dataset())]);
	}
	let spec = pallet_federated::JobSpec {
		model: ModelKind::LogisticRegression { features: 2 },
		model_did: Some(model()),
		datasets: BoundedVec::truncate_from(datasets),
		code_hash: code_hash(0),
		purpose: Purpose::ModelTraining,
		rounds: if masked { 1 } else { 2 },
		min_participants: if masked { 2 } else { 1 },
		round_timeout: 5,
		max_retries: 1,
		training: Training {
			learning_rate: FixedU64::from_rational(1, 10),
			local_steps: 1,
			clip_norm: FixedU64::from_u32(1),
			noise_multiplier: FixedU64::from_u32(1),
			sampling_rate: Perbill::from_percent(50),
		},
		per_round: PrivacyBudget {
			epsilon: FixedU64::from_rational(1, 2),
			delta: Perquintill::from_parts(100_000_000),
		},
		reward_per_update: UNITS,
		masking: masked.then_some(Masking { update_bound: UPDATE_BOUND }),
	};
	pallet_federated::Call::create_job { spec: Box::new(spec) }.into()
}

/// Bob's institution attests Charlie's latest commitment, signing with its
/// `key-1` (Bob's sr25519 key, an assertion method).
fn attestation() -> RuntimeCall {
	let id = latest_commitment();
	let hash = pallet_commitments::Commitments::<Runtime>::get(id).map_or(H256::zero(), |c| c.hash);
	let message = twinnet_primitives::commitments::attestation_message(
		pallet_commitments::Pallet::<Runtime>::genesis_hash(),
		id,
		hash,
		&institution(),
		Statement::Verified,
	);
	pallet_commitments::Call::attest {
		id,
		attester: institution(),
		statement: Statement::Verified,
		signature: KeySpec::Sr25519(1).sign(&message),
	}
	.into()
}

/// The tour's steps, in order.
pub(crate) fn tour() -> Vec<TourStep> {
	use pallet_commitments::Call as Commitments;
	use pallet_consent::Call as Consent;
	use pallet_datasets::Call as Datasets;
	use pallet_federated::Call as Federated;
	use pallet_twins::Call as Twins;
	use By::*;
	use TourStep::{Blocks, Call, Jump};
	vec![
		// DIDs: Charlie's twin and institution, Dave's model.
		Call(Signed(Charlie), || {
			Twins::create {
				kind: SubjectKind::PatientTwin,
				controller: None,
				verification_methods: BoundedVec::truncate_from(vec![method(
					b"key-1",
					sr(Charlie),
					AUTHENTICATION,
				)]),
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			Twins::create {
				kind: SubjectKind::Institution,
				controller: None,
				verification_methods: BoundedVec::truncate_from(vec![method(
					b"key-1",
					sr(Charlie),
					Relationships { assertion_method: true, ..AUTHENTICATION },
				)]),
			}
			.into()
		}),
		Call(Signed(Dave), || {
			Twins::create {
				kind: SubjectKind::Model,
				controller: None,
				verification_methods: BoundedVec::new(),
			}
			.into()
		}),
		// Bob's institution gets a report key (Ferdie's), Charlie's twin a
		// service, metadata and new keys.
		Call(Signed(Bob), || {
			let key = Relationships { capability_invocation: true, ..Default::default() };
			Twins::add_verification_method {
				did: institution(),
				method: method(b"node", sr(Ferdie), key),
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			Twins::add_service {
				did: charlie_twin(),
				service: pallet_twins::Service {
					fragment: bounded(b"data"),
					service_type: bounded(b"TwinDataEndpoint"),
					endpoint: bounded(b"https://hospital.example/twins/3"),
				},
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			Twins::set_metadata {
				did: charlie_twin(),
				metadata_hash: Some(H256::repeat_byte(1)),
				schema: Some(bounded(b"FHIR R4")),
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			Twins::remove_service { did: charlie_twin(), fragment: bounded(b"data") }.into()
		}),
		Call(Signed(Charlie), || {
			Twins::rotate_key {
				did: charlie_twin(),
				old_fragment: bounded(b"key-1"),
				new_method: method(
					b"key-2",
					PublicKey::Ed25519(sp_keyring::Ed25519Keyring::Charlie.public().0),
					AUTHENTICATION,
				),
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			let assertion = Relationships { assertion_method: true, ..Default::default() };
			Twins::add_verification_method {
				did: charlie_twin(),
				method: method(b"key-3", sr(Charlie), assertion),
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			Twins::remove_verification_method { did: charlie_twin(), fragment: bounded(b"key-3") }
				.into()
		}),
		// Bob's institution takes custody of Charlie's twin.
		Call(Signed(Bob), || {
			Twins::offer_custody { institution: institution(), twin: charlie_twin() }.into()
		}),
		Call(Signed(Charlie), || {
			Twins::accept_custody { twin: charlie_twin(), institution: institution() }.into()
		}),
		// Eve's twin: custody offered, refused, offered again, accepted and
		// ended; control and the patient position handed to Ferdie, who
		// deactivates it.
		Call(Signed(Eve), || {
			Twins::create {
				kind: SubjectKind::PatientTwin,
				controller: None,
				verification_methods: BoundedVec::new(),
			}
			.into()
		}),
		Call(Signed(Bob), || {
			Twins::offer_custody { institution: institution(), twin: eve_twin() }.into()
		}),
		Call(Signed(Eve), || {
			Twins::cancel_custody_offer { twin: eve_twin(), institution: institution() }.into()
		}),
		Call(Signed(Bob), || {
			Twins::offer_custody { institution: institution(), twin: eve_twin() }.into()
		}),
		Call(Signed(Eve), || {
			Twins::accept_custody { twin: eve_twin(), institution: institution() }.into()
		}),
		Call(Signed(Eve), || Twins::end_custody { twin: eve_twin() }.into()),
		Call(Signed(Eve), || {
			Twins::rotate_controller {
				did: eve_twin(),
				new_controller: twinnet_primitives::did::Controller::Account(
					Ferdie.to_account_id(),
				),
			}
			.into()
		}),
		Call(Signed(Ferdie), || Twins::accept_controller { did: eve_twin() }.into()),
		Call(Signed(Eve), || {
			Twins::offer_patient { twin: eve_twin(), patient: Ferdie.to_account_id() }.into()
		}),
		Call(Signed(Eve), || Twins::cancel_handover { did: eve_twin() }.into()),
		Call(Signed(Eve), || {
			Twins::offer_patient { twin: eve_twin(), patient: Ferdie.to_account_id() }.into()
		}),
		Call(Signed(Ferdie), || Twins::accept_patient { twin: eve_twin() }.into()),
		Call(Signed(Ferdie), || Twins::deactivate { did: eve_twin() }.into()),
		// Consent: Alice and Charlie let Bob's institution compute on their
		// twins, so both count in the sample dataset and it is orderable.
		Call(Signed(Alice), || compute_grant(alice_twin(), institution())),
		Call(Signed(Charlie), || compute_grant(charlie_twin(), institution())),
		Call(Signed(Eve), || {
			Datasets::refresh_contributors {
				dataset: dataset(),
				twins: BoundedVec::truncate_from(vec![alice_twin()]),
			}
			.into()
		}),
		Call(Signed(Bob), || {
			Datasets::add_contributors {
				dataset: dataset(),
				twins: BoundedVec::truncate_from(vec![charlie_twin()]),
			}
			.into()
		}),
		// Dave's access requests: approved (then used, narrowed, revoked
		// and pruned), rejected, withdrawn.
		Call(Signed(Dave), request_view),
		Call(Signed(Alice), || {
			Consent::approve_request { twin: alice_twin(), request: latest_request() }.into()
		}),
		Call(Signed(Dave), || {
			Consent::record_use {
				twin: alice_twin(),
				grantee: Grantee::Account(Dave.to_account_id()),
				scope: Scope::View,
				purpose: Purpose::Research,
				dataset: None,
			}
			.into()
		}),
		Call(Signed(Alice), || {
			let grant = latest_grant();
			let mut narrower = view_terms(50);
			if let Some(record) = pallet_consent::Grants::<Runtime>::get(alice_twin(), grant) {
				narrower.starts_at = record.terms.starts_at;
				narrower.expires_at = record.terms.expires_at - 50;
			}
			Consent::narrow { twin: alice_twin(), grant, narrower }.into()
		}),
		Call(Signed(Alice), || {
			Consent::revoke { twin: alice_twin(), grant: latest_grant() }.into()
		}),
		Call(Signed(Eve), || {
			Consent::prune_grant { twin: alice_twin(), grant: latest_grant() }.into()
		}),
		Call(Signed(Dave), request_view),
		Call(Signed(Alice), || {
			Consent::reject_request { twin: alice_twin(), request: latest_request() }.into()
		}),
		Call(Signed(Dave), request_view),
		Call(Signed(Dave), || {
			Consent::close_request { twin: alice_twin(), request: latest_request() }.into()
		}),
		// Datasets: Bob's second dataset, derived from the first.
		Call(Signed(Bob), || {
			Twins::create {
				kind: SubjectKind::Dataset,
				controller: None,
				verification_methods: BoundedVec::new(),
			}
			.into()
		}),
		Call(Signed(Bob), || {
			Datasets::register {
				dataset: second_dataset(),
				institution: institution(),
				descriptor: Box::new(pallet_datasets::Descriptor {
					content_hash: H256::repeat_byte(3),
					location: bounded(b"s3://twinnet-samples/derived.csv.enc"),
					schema: Schema::Csv,
					size_bytes: 1 << 20,
					record_count: 2,
					metadata_hash: H256::repeat_byte(4),
				}),
				terms: Box::new(pallet_datasets::LicenceTerms {
					price: UNITS,
					scopes: pallet_datasets::Scopes { view: false, compute: true },
					purposes: BoundedVec::truncate_from(vec![Purpose::Research]),
					duration: 100,
					max_licences: 5,
					transferable: true,
				}),
				lineage: pallet_datasets::Lineage {
					parents: BoundedVec::truncate_from(vec![dataset()]),
					transformation: Some(H256::repeat_byte(5)),
				},
				min_contributors: 2,
			}
			.into()
		}),
		Call(Signed(Bob), || {
			Datasets::add_contributors {
				dataset: second_dataset(),
				twins: BoundedVec::truncate_from(vec![charlie_twin()]),
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			Datasets::remove_contributor { dataset: second_dataset(), twin: charlie_twin() }.into()
		}),
		Call(Signed(Bob), || {
			Datasets::set_state { dataset: second_dataset(), state: AssetState::Unlisted }.into()
		}),
		Call(Signed(Bob), || {
			Datasets::set_algorithms {
				dataset: dataset(),
				algorithms: BoundedVec::truncate_from(vec![code_hash(0)]),
				raw_download: false,
			}
			.into()
		}),
		// Dave buys two compute licences of the sample dataset and burns one.
		Call(Signed(Dave), || buy(dataset(), Purpose::ModelTraining)),
		Call(Signed(Dave), || buy(dataset(), Purpose::Research)),
		Call(Signed(Dave), || pallet_nfts::Call::burn { collection: collection(), item: 1 }.into()),
		// Federated: Dave's job on the sample dataset; its first round opens,
		// Bob's institution accepts its cohort and reports, the round
		// releases an aggregate (an AggregatedModel commitment of Dave's
		// model), Dave cancels.
		Call(Signed(Dave), || job(false)),
		Blocks(2),
		Call(Authorized, || accept(institution(), KeySpec::Sr25519(5))),
		Call(Authorized, plain_report),
		Blocks(1),
		Call(Signed(Dave), || Federated::cancel_job { job: latest_job() }.into()),
		// Secure aggregation: Ferdie's institution joins; the three
		// institutions publish X25519 keyAgreement keys; Charlie's and
		// Ferdie's each list two stash patients' twins in a dataset that
		// Dave licenses. In Dave's masked job Bob's and Charlie's
		// institutions report masked updates and Ferdie's drops out; at the
		// deadline the two survivors reveal the seeds they share with it,
		// and the round releases the sum of their updates.
		Call(Signed(Ferdie), || {
			let node = Relationships { capability_invocation: true, ..Default::default() };
			let agree = Relationships { key_agreement: true, ..Default::default() };
			Twins::create {
				kind: SubjectKind::Institution,
				controller: None,
				verification_methods: BoundedVec::truncate_from(vec![
					method(b"node", KeySpec::Ed25519(5).public(), node),
					method(b"agree", PublicKey::X25519([0x13; 32]), agree),
				]),
			}
			.into()
		}),
		Call(Signed(Bob), || add_agreement_key(institution(), 0x11)),
		Call(Signed(Charlie), || add_agreement_key(charlie_institution(), 0x12)),
		Call(Signed(Charlie), || {
			let node = Relationships { capability_invocation: true, ..Default::default() };
			Twins::add_verification_method {
				did: charlie_institution(),
				method: method(b"node", KeySpec::Ed25519(2).public(), node),
			}
			.into()
		}),
		Call(Signed(AliceStash), patient_twin),
		Call(Signed(BobStash), patient_twin),
		Call(Signed(CharlieStash), patient_twin),
		Call(Signed(DaveStash), patient_twin),
		Call(Signed(Charlie), || offer_custody(charlie_institution(), stash_twin(0))),
		Call(Signed(Charlie), || offer_custody(charlie_institution(), stash_twin(1))),
		Call(Signed(Ferdie), || offer_custody(ferdie_institution(), stash_twin(2))),
		Call(Signed(Ferdie), || offer_custody(ferdie_institution(), stash_twin(3))),
		Call(Signed(AliceStash), || accept_custody(stash_twin(0), charlie_institution())),
		Call(Signed(BobStash), || accept_custody(stash_twin(1), charlie_institution())),
		Call(Signed(CharlieStash), || accept_custody(stash_twin(2), ferdie_institution())),
		Call(Signed(DaveStash), || accept_custody(stash_twin(3), ferdie_institution())),
		Call(Signed(AliceStash), || compute_grant(stash_twin(0), charlie_institution())),
		Call(Signed(BobStash), || compute_grant(stash_twin(1), charlie_institution())),
		Call(Signed(CharlieStash), || compute_grant(stash_twin(2), ferdie_institution())),
		Call(Signed(DaveStash), || compute_grant(stash_twin(3), ferdie_institution())),
		Call(Signed(Charlie), dataset_did),
		Call(Signed(Ferdie), dataset_did),
		Call(Signed(Charlie), || register_dataset(charlie_dataset(), charlie_institution())),
		Call(Signed(Ferdie), || register_dataset(ferdie_dataset(), ferdie_institution())),
		Call(Signed(Charlie), || {
			add_contributors(charlie_dataset(), [stash_twin(0), stash_twin(1)])
		}),
		Call(Signed(Ferdie), || add_contributors(ferdie_dataset(), [stash_twin(2), stash_twin(3)])),
		Call(Signed(Charlie), || allow_code(charlie_dataset())),
		Call(Signed(Ferdie), || allow_code(ferdie_dataset())),
		Call(Signed(Dave), || buy(charlie_dataset(), Purpose::ModelTraining)),
		Call(Signed(Dave), || buy(ferdie_dataset(), Purpose::ModelTraining)),
		Call(Signed(Dave), || job(true)),
		Blocks(3),
		Call(Authorized, || accept(masked_sites()[0].0, masked_sites()[0].1)),
		Call(Authorized, || accept(masked_sites()[1].0, masked_sites()[1].1)),
		Call(Authorized, || masked_report(0)),
		Call(Authorized, || masked_report(1)),
		Blocks(6),
		Call(Authorized, || reveal(0)),
		Call(Authorized, || reveal(1)),
		Blocks(1),
		// Commitments: Charlie's institution commits a model update with its
		// leaves; Bob's attests it; Eve disputes it; Charlie answers with an
		// evaluation that links it; root rejects the dispute.
		Call(Signed(Charlie), || {
			Commitments::commit {
				committer: charlie_institution(),
				kind: CommitmentKind::ModelUpdate,
				hash: H256::repeat_byte(7),
				merkle: Some(pallet_commitments::MerkleInput::Leaves(BoundedVec::truncate_from(
					vec![H256::repeat_byte(1), H256::repeat_byte(2), H256::repeat_byte(3)],
				))),
				schema: bounded(b"onnx"),
				inputs: BoundedVec::truncate_from(vec![Input::Dataset(dataset())]),
				job_round: None,
			}
			.into()
		}),
		Call(Signed(Eve), attestation),
		Call(Signed(Eve), || {
			Commitments::dispute { id: latest_commitment(), reason: H256::repeat_byte(9) }.into()
		}),
		Call(Signed(Charlie), || {
			Commitments::commit {
				committer: charlie_institution(),
				kind: CommitmentKind::EvaluationMetric,
				hash: H256::repeat_byte(8),
				merkle: None,
				schema: bounded(b"metrics/v1"),
				inputs: BoundedVec::truncate_from(vec![Input::Commitment(latest_commitment())]),
				job_round: None,
			}
			.into()
		}),
		Call(Signed(Charlie), || {
			Commitments::answer { dispute: latest_dispute(), counter: latest_commitment() }.into()
		}),
		Call(Root, || {
			Commitments::resolve {
				dispute: latest_dispute(),
				verdict: pallet_commitments::Verdict::Rejected,
			}
			.into()
		}),
		// Balances and sudo.
		Call(Signed(Alice), || {
			pallet_balances::Call::transfer_allow_death {
				dest: Eve.to_account_id().into(),
				value: UNITS,
			}
			.into()
		}),
		Call(Signed(Alice), || {
			pallet_balances::Call::transfer_keep_alive {
				dest: Eve.to_account_id().into(),
				value: UNITS,
			}
			.into()
		}),
		Call(Signed(EveStash), || {
			pallet_balances::Call::transfer_all {
				dest: Eve.to_account_id().into(),
				keep_alive: false,
			}
			.into()
		}),
		Call(Signed(Alice), || {
			pallet_sudo::Call::sudo {
				call: Box::new(
					frame_system::Call::remark_with_event { remark: b"fuzz".to_vec() }.into(),
				),
			}
			.into()
		}),
		// A month later the licences have expired; three months later the
		// model update's leaves may be pruned.
		Jump(31 * DAYS),
		Call(Signed(Eve), || Datasets::prune_licence { dataset: dataset(), licence: 0 }.into()),
		Call(Signed(Eve), || Datasets::prune_licence { dataset: dataset(), licence: 1 }.into()),
		Call(Signed(Alice), || {
			Datasets::remove_contributor { dataset: dataset(), twin: alice_twin() }.into()
		}),
		Jump(91 * DAYS),
		Call(Signed(Eve), || {
			Commitments::prune_leaves {
				id: pallet_commitments::ByCommitter::<Runtime>::iter_key_prefix(
					charlie_institution(),
				)
				.min()
				.unwrap_or(u64::MAX),
			}
			.into()
		}),
	]
}

impl By {
	pub fn origin(self) -> crate::RuntimeOrigin {
		match self {
			Self::Signed(key) => crate::RuntimeOrigin::signed(key.to_account_id()),
			Self::Root => crate::RuntimeOrigin::root(),
			Self::Authorized => frame_system::RawOrigin::Authorized.into(),
		}
	}
}
