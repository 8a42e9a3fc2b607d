//! Unit tests of the runtime's configuration and genesis presets.

use frame_support::traits::Get;
use serde_json::Value;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::Sr25519Keyring;
use sp_runtime::BuildStorage;

use twinnet_primitives::traits::DidRegistry;

use crate::{
	genesis_config_presets::{get_preset, preset_names, DEV_ENDOWMENT},
	Runtime, RuntimeGenesisConfig, System, Twins, EXISTENTIAL_DEPOSIT, TOKEN_DECIMALS, UNITS,
};

/// Applies `patch` onto `base` as the node does: objects merge key by key.
fn merge(base: &mut Value, patch: Value) {
	match (base, patch) {
		(Value::Object(base), Value::Object(patch)) =>
			for (key, value) in patch {
				merge(base.entry(key).or_insert(Value::Null), value);
			},
		(base, patch) => *base = patch,
	}
}

/// The genesis state of preset `name`, as a node would build it.
fn preset_state(name: &str) -> sp_io::TestExternalities {
	let patch = get_preset(&PresetId::from(name)).expect("preset exists");
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).expect("serializes");
	merge(&mut config, serde_json::from_slice(&patch).expect("the preset is JSON"));
	// `deny_unknown_fields`: a misspelt key in a preset fails here.
	let config: RuntimeGenesisConfig = serde_json::from_value(config).expect("a valid config");
	config.build_storage().expect("genesis builds").into()
}

#[test]
fn presets_are_development_and_local_testnet() {
	assert_eq!(
		preset_names(),
		vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
	);
	assert_eq!(get_preset(&PresetId::from("no-such-preset")), None);
}

#[test]
fn development_has_alice_as_sole_validator_and_sudo_and_funds_dev_accounts() {
	preset_state(DEV_RUNTIME_PRESET).execute_with(|| {
		let alice = Sr25519Keyring::Alice;
		let aura = pallet_aura::Authorities::<Runtime>::get();
		assert_eq!(aura.into_inner(), vec![alice.public().into()]);
		assert_eq!(pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(), 1);
		assert_eq!(pallet_sudo::Key::<Runtime>::get(), Some(alice.to_account_id()));
		let (alice, bob) = (alice.to_account_id(), Sr25519Keyring::Bob.to_account_id());
		for account in Sr25519Keyring::well_known().map(|k| k.to_account_id()) {
			let reserved = System::account(&account).data.reserved;
			assert_eq!(System::account(&account).data.free + reserved, DEV_ENDOWMENT);
			// Only the sample DIDs' creators hold deposits.
			assert_eq!(reserved > 0, account == alice || account == bob);
		}
		let institution = Twins::derive_did(&bob, 0);
		let twin = Twins::derive_did(&alice, 1);
		assert_eq!(Twins::custodian(&twin), Some(institution));
		assert!(Twins::is_controlled_by(&twin, &alice));
	});
}

#[test]
fn local_testnet_has_four_validators() {
	preset_state(LOCAL_TESTNET_RUNTIME_PRESET).execute_with(|| {
		let expected: Vec<_> = [
			Sr25519Keyring::Alice,
			Sr25519Keyring::Bob,
			Sr25519Keyring::Charlie,
			Sr25519Keyring::Dave,
		]
		.iter()
		.map(|k| k.public().into())
		.collect();
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().into_inner(), expected);
		assert_eq!(pallet_grandpa::Pallet::<Runtime>::grandpa_authorities().len(), 4);
	});
}

#[test]
fn token_constants_agree() {
	assert_eq!(UNITS, 10u128.pow(TOKEN_DECIMALS.into()));
	assert!(EXISTENTIAL_DEPOSIT > 0 && EXISTENTIAL_DEPOSIT < UNITS);
	assert_eq!(<Runtime as frame_system::Config>::SS58Prefix::get(), crate::SS58_PREFIX);
}
