//! Chain specifications: `dev`, `local`, or a JSON file.

use sc_service::{ChainType, Properties};
use sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use twinnet_runtime::{SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL, WASM_BINARY};

/// A chain specification of TwinNet (no client extensions).
pub type ChainSpec = sc_service::GenericChainSpec;

/// The chain names `--chain` accepts besides a path to a chain spec file.
pub const BUILT_IN_CHAINS: &str = "dev, local";

/// The token and address format wallets read from `system_properties`.
fn properties() -> Properties {
	let mut properties = Properties::new();
	properties.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
	properties.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
	properties.insert("ss58Format".into(), SS58_PREFIX.into());
	properties
}

fn wasm_binary() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"the runtime's WASM binary is not available: build without SKIP_WASM_BUILD".to_string()
	})
}

/// The single-validator development chain (`--dev`, `--chain dev`).
pub fn development_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("TwinNet Development")
		.with_id("twinnet_dev")
		.with_chain_type(ChainType::Development)
		.with_protocol_id("twinnet")
		.with_genesis_config_preset_name(DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// The four-validator local testnet (`--chain local`).
pub fn local_testnet_chain_spec() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm_binary()?, None)
		.with_name("TwinNet Local Testnet")
		.with_id("twinnet_local_testnet")
		.with_chain_type(ChainType::Local)
		.with_protocol_id("twinnet")
		.with_genesis_config_preset_name(LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// Loads the chain `id`: a built-in name, or the path of a chain spec JSON file.
pub fn load(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
	Ok(match id {
		"dev" | "" => Box::new(development_chain_spec()?),
		"local" => Box::new(local_testnet_chain_spec()?),
		path if std::path::Path::new(path).is_file() => {
			Box::new(ChainSpec::from_json_file(path.into())?)
		},
		unknown => {
			return Err(format!(
				"unknown chain `{unknown}`: use one of {BUILT_IN_CHAINS}, or the path of a chain spec JSON file"
			))
		},
	})
}
