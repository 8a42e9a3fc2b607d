//! Genesis presets: the initial state of the `development` and `local_testnet` chains.
//!
//! The node builds its chain specs from these through the `GenesisBuilder`
//! runtime API, so the runtime alone decides what a fresh chain contains.

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use pallet_datasets::GenesisDataset;
use pallet_twins::GenesisDid;
use twinnet_primitives::{datasets::Schema, did::SubjectKind};

use crate::{
	AccountId, AuraConfig, Balance, BalancesConfig, DatasetsConfig, GrandpaConfig, Runtime,
	RuntimeGenesisConfig, SudoConfig, TwinsConfig, DAYS, UNITS,
};

/// What each pre-funded development account starts with: one million `TWIN`.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * UNITS;

/// A validator's consensus keys.
struct Validator {
	aura: AuraId,
	grandpa: GrandpaId,
}

impl Validator {
	/// The well-known development keys of `sr` (Aura) and `ed` (GRANDPA).
	fn dev(sr: Sr25519Keyring, ed: Ed25519Keyring) -> Self {
		Self { aura: sr.public().into(), grandpa: ed.public().into() }
	}
}

/// The dev chain's sample DIDs: Bob's institution `did:twin` (first) holds
/// the data of Alice's patient twin (second); each has its creator's sr25519
/// key as `#key-1`.
fn sample_dids() -> Vec<GenesisDid<AccountId>> {
	let did = |creator: Sr25519Keyring, kind, custodian| GenesisDid {
		creator: creator.to_account_id(),
		kind,
		sr25519_key: creator.public().0,
		custodian,
	};
	vec![
		did(Sr25519Keyring::Bob, SubjectKind::Institution, None),
		did(Sr25519Keyring::Alice, SubjectKind::PatientTwin, Some(0)),
		did(Sr25519Keyring::Bob, SubjectKind::Dataset, None),
	]
}

/// The dev chain's sample dataset: Bob's institution publishes an NWB
/// recording set (DID 2) with Alice's twin (DID 1) as a contributor. Alice
/// has given no consent at genesis, so her twin is listed but does not
/// count, and ordering is suspended until enough patients consent
/// (docs/datasets.md walks through it).
fn sample_datasets() -> Vec<GenesisDataset<AccountId>> {
	let bob = Sr25519Keyring::Bob.to_account_id();
	let alice = Sr25519Keyring::Alice.to_account_id();
	let did = |creator: &AccountId, counter| {
		pallet_twins::Pallet::<Runtime>::derive_did(creator, counter)
	};
	vec![GenesisDataset {
		dataset: did(&bob, 2),
		institution: did(&bob, 0),
		publisher: bob.clone(),
		content_hash: <sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(
			b"twinnet sample dataset",
		),
		location: b"s3://twinnet-samples/eeg-cohort.nwb.enc".to_vec(),
		schema: Schema::Nwb2,
		size_bytes: 2 << 30,
		record_count: 120,
		metadata_hash: <sp_runtime::traits::BlakeTwo256 as sp_runtime::traits::Hash>::hash(
			b"twinnet sample metadata",
		),
		price: 10 * UNITS as u64,
		licence_blocks: 30 * DAYS,
		contributors: vec![did(&alice, 1)],
	}]
}

/// The genesis patch shared by every preset.
fn genesis(
	validators: Vec<Validator>,
	endowed: Vec<AccountId>,
	root: AccountId,
	dids: Vec<GenesisDid<AccountId>>,
	datasets: Vec<GenesisDataset<AccountId>>,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed
				.into_iter()
				.map(|account| (account, DEV_ENDOWMENT))
				.collect::<Vec<_>>(),
		},
		aura: AuraConfig {
			authorities: validators.iter().map(|v| v.aura.clone()).collect::<Vec<_>>(),
		},
		grandpa: GrandpaConfig {
			authorities: validators.iter().map(|v| (v.grandpa.clone(), 1)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
		twins: TwinsConfig { dids },
		datasets: DatasetsConfig { datasets },
	})
}

/// The well-known development accounts (Alice to Ferdie and their stashes).
fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// `development`: Alice alone validates; the dev accounts are funded; Alice is
/// sudo; a sample institution (Bob's) holds a sample patient twin (Alice's).
pub fn development_genesis() -> Value {
	genesis(
		vec![Validator::dev(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		sample_dids(),
		sample_datasets(),
	)
}

/// `local_testnet`: Alice, Bob, Charlie and Dave validate; the dev accounts are funded.
pub fn local_testnet_genesis() -> Value {
	genesis(
		vec![
			Validator::dev(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			Validator::dev(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			Validator::dev(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			Validator::dev(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
		Vec::new(),
		Vec::new(),
	)
}

/// The JSON patch of the preset `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEV_RUNTIME_PRESET => development_genesis(),
		LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
		_ => return None,
	};
	serde_json::to_vec(&patch).ok()
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
}
