//! `twinnet-bench pallet --runtime <wasm> …`: the `benchmark pallet` command of
//! frame-benchmarking-cli, for a TwinNet runtime built with its
//! `runtime-benchmarks` feature. `scripts/bench` drives it.

use clap::Parser;
use frame_benchmarking_cli::PalletCmd;
use sp_runtime::traits::BlakeTwo256;

/// Benchmarks of TwinNet's runtime.
#[derive(Debug, Parser)]
#[command(name = "twinnet-bench")]
enum Command {
	/// Benchmark a runtime's pallets and write their weights.
	Pallet(PalletCmd),
}

fn main() {
	let Command::Pallet(cmd) = Command::parse();
	if let Err(error) = cmd.run_with_spec::<BlakeTwo256, ()>(None) {
		eprintln!("Error: {error}");
		std::process::exit(1);
	}
}
