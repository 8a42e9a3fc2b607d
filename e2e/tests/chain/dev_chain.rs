//! End to end: the real `twinnet-node --dev`, driven over RPC.

use std::process::{Command, Output};

use twinnet_test_support::{
	free_balance, node_binary,
	subxt::{self, utils::AccountId32},
	subxt_signer::sr25519::dev,
	NodeSlots, TestNode,
};

/// One `TWIN` in planck (12 decimals).
const UNITS: u128 = 1_000_000_000_000;

#[tokio::test]
async fn dev_chain_finalizes_blocks_and_applies_a_signed_transfer() {
	let node = TestNode::start().await.expect("node starts");
	node.wait_for_best_block(1).await.expect("blocks are produced");
	node.wait_for_finalized_block(1).await.expect("blocks are finalized");

	let client = node.client();
	let bob: AccountId32 = dev::bob().public_key().to_account_id();
	let start = client.at_current_block().await.expect("finalized block");
	let balance_before =
		free_balance(&client, start.block_hash(), &bob).await.expect("Bob's balance");

	let amount = 42 * UNITS;
	let transfer = subxt::dynamic::tx(
		"Balances",
		"transfer_keep_alive",
		(dev::bob().public_key().to_address::<()>(), amount),
	);
	let included = start
		.transactions()
		.sign_and_submit_then_watch_default(&transfer, &dev::alice())
		.await
		.expect("transfer accepted by the pool")
		.wait_for_finalized()
		.await
		.expect("transfer finalized");
	included.wait_for_success().await.expect("transfer succeeded");

	let balance_after = free_balance(&client, included.block_hash(), &bob)
		.await
		.expect("Bob's new balance");
	assert_eq!(balance_after, balance_before + amount, "node log:\n{}", node.log());
}

/// Runs the node binary with `args` and returns what it printed.
fn run_node(args: &[&str]) -> Output {
	let _slot = NodeSlots::global().acquire_blocking().expect("a node slot");
	Command::new(node_binary().expect("node binary"))
		.args(args)
		.output()
		.expect("node binary runs")
}

/// The error a failed run reported: its one line on stderr that starts with
/// `Error: ` (log lines the node wrote before failing may surround it).
fn reported_error(output: &Output) -> String {
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(!output.status.success(), "the node should have failed; stderr:\n{stderr}");
	assert!(
		!stderr.contains("panicked") && !stderr.contains("backtrace"),
		"the node panicked instead of reporting an error:\n{stderr}"
	);
	let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("Error: ")).collect();
	assert_eq!(errors.len(), 1, "expected one error line; stderr:\n{stderr}");
	errors.concat()
}

#[test]
fn unknown_chain_name_is_a_one_line_error() {
	let output = run_node(&["--chain", "no-such-chain", "--tmp"]);
	let error = reported_error(&output);
	assert!(error.contains("unknown chain `no-such-chain`"), "unexpected error: {error}");
	assert_eq!(output.status.code(), Some(1));
}

#[test]
fn p2p_port_in_use_is_a_one_line_error() {
	let taken = std::net::TcpListener::bind("0.0.0.0:0").expect("bind a port");
	let p2p_port = taken.local_addr().expect("bound address").port().to_string();
	let output =
		run_node(&["--dev", "--tmp", "--port", &p2p_port, "--rpc-port", "0", "--no-prometheus"]);
	let error = reported_error(&output);
	assert!(error.contains(&format!(":{p2p_port}")) && error.contains("--port"), "{error}");
}

#[test]
fn rpc_port_in_use_is_a_one_line_error() {
	let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
	let rpc_port = taken.local_addr().expect("bound address").port().to_string();
	let output = run_node(&[
		"--dev",
		"--tmp",
		"--rpc-port",
		&rpc_port,
		"--port",
		"0",
		"--no-prometheus",
		"--no-telemetry",
	]);
	let error = reported_error(&output);
	assert!(
		error.contains(&format!("127.0.0.1:{rpc_port}")),
		"the error should name the port: {error}"
	);
	assert!(error.contains("already in use"), "the error should say why: {error}");
	assert_eq!(output.status.code(), Some(1));
}
