//! Wiring of the pallets' benchmarks into the `Benchmark` runtime API.

use alloc::{string::String, vec::Vec};
use frame_benchmarking::{BenchmarkBatch, BenchmarkConfig, BenchmarkList};
use frame_support::traits::{StorageInfo, StorageInfoTrait, WhitelistedStorageKeys};

use crate::{
	AllPalletsWithSystem, Balances, Commitments, Consent, Datasets, Federated, Runtime, Sudo,
	Timestamp, Twins,
};

type BaselineBench = frame_benchmarking::baseline::Pallet<Runtime>;
type SystemBench = frame_system_benchmarking::Pallet<Runtime>;
type SystemExtensionsBench = frame_system_benchmarking::extensions::Pallet<Runtime>;

impl frame_benchmarking::baseline::Config for Runtime {}
impl frame_system_benchmarking::Config for Runtime {}

frame_benchmarking::define_benchmarks!(
	[frame_benchmarking, BaselineBench]
	[frame_system, SystemBench]
	[frame_system_extensions, SystemExtensionsBench]
	[pallet_balances, Balances]
	[pallet_timestamp, Timestamp]
	[pallet_sudo, Sudo]
	[pallet_twins, Twins]
	[pallet_consent, Consent]
	[pallet_datasets, Datasets]
	[pallet_commitments, Commitments]
	[pallet_federated, Federated]
);

/// The benchmarks this runtime offers, and its storage layout.
pub fn metadata(extra: bool) -> (Vec<BenchmarkList>, Vec<StorageInfo>) {
	use frame_benchmarking::Benchmarking;
	let mut list = Vec::<BenchmarkList>::new();
	list_benchmarks!(list, extra);
	(list, AllPalletsWithSystem::storage_info())
}

/// Runs the benchmarks that `config` selects.
pub fn dispatch(config: BenchmarkConfig) -> Result<Vec<BenchmarkBatch>, String> {
	use frame_benchmarking::Benchmarking;
	let whitelist = AllPalletsWithSystem::whitelisted_storage_keys();
	let mut batches = Vec::<BenchmarkBatch>::new();
	let params = (&config, &whitelist);
	add_benchmarks!(params, batches);
	Ok(batches)
}
