//! Dispatch of the command line to the node service and the subcommands.

use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"TwinNet Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://example.invalid/twinnet/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		chain_spec::load(id)
	}
}

/// Parses the command line and runs what it asks for.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		#[allow(deprecated)]
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		},
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		},
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		},
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		},
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		},
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		},
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => benchmark(&cli, cmd),
		#[cfg(not(feature = "runtime-benchmarks"))]
		Some(Subcommand::Benchmark { .. }) => Err(
			"benchmarking is not built into this node: rebuild it with `--features runtime-benchmarks`"
				.into(),
		),
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<twinnet_runtime::opaque::Block>(&config))
		},
		None => {
			let runner = cli.create_runner(&cli.run)?;
			runner.run_node_until_exit(|mut config| async move {
				serve_rpc_only_where_asked(&mut config);
				ensure_ports_free(&config)?;
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => service::new_full::<
						sc_network::NetworkWorker<
							twinnet_runtime::opaque::Block,
							<twinnet_runtime::opaque::Block as sp_runtime::traits::Block>::Hash,
						>,
					>(config)
					.map_err(sc_cli::Error::Service),
					sc_network::config::NetworkBackendType::Litep2p =>
						service::new_full::<sc_network::Litep2pNetworkBackend>(config)
							.map_err(sc_cli::Error::Service),
				}
			})
		},
	}
}

/// The `benchmark` subcommand of a node built with `runtime-benchmarks`.
#[cfg(feature = "runtime-benchmarks")]
fn benchmark(cli: &Cli, cmd: &frame_benchmarking_cli::BenchmarkCmd) -> sc_cli::Result<()> {
	use frame_benchmarking_cli::{BenchmarkCmd, SUBSTRATE_REFERENCE_HARDWARE};
	use sp_runtime::traits::HashingFor;
	use twinnet_runtime::opaque::Block;

	let runner = cli.create_runner(cmd)?;
	match cmd {
		// With `--runtime`, the benchmarked runtime and its genesis come from that file.
		BenchmarkCmd::Pallet(cmd) => runner.sync_run(|config| {
			let chain_spec = cmd.runtime.is_none().then_some(config.chain_spec);
			cmd.run_with_spec::<HashingFor<Block>, ()>(chain_spec)
		}),
		BenchmarkCmd::Block(cmd) => runner.sync_run(|config| {
			let PartialComponents { client, .. } = service::new_partial(&config)?;
			cmd.run(client)
		}),
		BenchmarkCmd::Machine(cmd) => {
			runner.sync_run(|config| cmd.run(&config, SUBSTRATE_REFERENCE_HARDWARE.clone()))
		},
		BenchmarkCmd::Storage(_) | BenchmarkCmd::Overhead(_) | BenchmarkCmd::Extrinsic(_) => {
			Err("this node supports the `pallet`, `block` and `machine` benchmarks".into())
		},
	}
}

/// Makes the RPC server fail to start when its port is taken, instead of
/// moving to a random port that clients do not know about.
fn serve_rpc_only_where_asked(config: &mut sc_service::Configuration) {
	for endpoint in config.rpc.addr.iter_mut().flatten() {
		endpoint.retry_random_port = false;
	}
}

/// Fails with a one-line error naming the port when a port the node must
/// listen on (RPC, or p2p over TCP) is already taken.
fn ensure_ports_free(config: &sc_service::Configuration) -> sc_cli::Result<()> {
	use sc_network::multiaddr::Protocol;
	use std::net::{IpAddr, SocketAddr, TcpListener};

	let rpc = config
		.rpc
		.addr
		.iter()
		.flatten()
		.filter(|endpoint| !endpoint.is_optional)
		.map(|endpoint| ("RPC", "--rpc-port", endpoint.listen_addr));
	let p2p = config.network.listen_addresses.iter().filter_map(|address| {
		let mut ip = None;
		let mut port = None;
		for protocol in address.iter() {
			match protocol {
				Protocol::Ip4(v4) => ip = Some(IpAddr::V4(v4)),
				Protocol::Ip6(v6) => ip = Some(IpAddr::V6(v6)),
				Protocol::Tcp(p) => port = Some(p),
				_ => {},
			}
		}
		Some(("p2p", "--port", SocketAddr::new(ip?, port?)))
	});
	for (service, flag, address) in rpc.chain(p2p) {
		// Port 0 asks the OS for any free port; nothing to check.
		if address.port() == 0 {
			continue;
		}
		if let Err(error) = TcpListener::bind(address) {
			return Err(sc_cli::Error::Input(format!(
				"cannot listen for {service} on {address}: {error}; choose another port with {flag}"
			)));
		}
	}
	Ok(())
}
