//! A node started on a database it cannot use refuses to start, and says
//! why in one line: a database of another chain (a base path reused across
//! chain specs, or a copied directory), or a corrupted one.

use std::{
	path::{Path, PathBuf},
	process::{Command, Stdio},
	time::{Duration, Instant},
};

use twinnet_test_support::{node_binary, NodeSlots};

/// How long a node may take to give up on a database (or to import its
/// first block), from the moment it has its slot.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(180);

/// The database directory of chain `id` under `base` (ParityDB, the node's default).
fn database(base: &Path, id: &str) -> PathBuf {
	base.join("chains").join(id).join("paritydb")
}

/// Runs a `--dev` node on `base` until it has imported block 1, then stops it.
fn make_dev_database(base: &Path) {
	let log = base.with_extension("log");
	let _slot = NodeSlots::global().acquire_blocking().expect("a node slot");
	let mut node = Command::new(node_binary().unwrap())
		.args(["--dev", "--base-path", base.to_str().unwrap()])
		.args(["--rpc-port", "0", "--port", "0", "--no-prometheus", "--no-telemetry"])
		.stdin(Stdio::null())
		.stdout(Stdio::null())
		.stderr(std::fs::File::create(&log).unwrap())
		.spawn()
		.unwrap();
	let deadline = Instant::now() + REFUSAL_TIMEOUT;
	let imported = loop {
		let text = std::fs::read_to_string(&log).unwrap();
		if text.contains("Imported #1") {
			break Ok(());
		}
		if Instant::now() > deadline {
			break Err(text);
		}
		std::thread::sleep(Duration::from_millis(200));
	};
	// Stopped before any assertion, so a failing test leaves no node behind.
	node.kill().unwrap();
	node.wait().unwrap();
	if let Err(log) = imported {
		panic!("no block 1 within {REFUSAL_TIMEOUT:?}: {log}");
	}
}

/// Starts the node with `args` and returns its output once it has exited,
/// which it must within [`REFUSAL_TIMEOUT`], with a failure status.
fn refused_start(args: &[&str]) -> String {
	let _slot = NodeSlots::global().acquire_blocking().expect("a node slot");
	let mut node = Command::new(node_binary().unwrap())
		.args(args)
		.args(["--rpc-port", "0", "--port", "0", "--no-prometheus", "--no-telemetry"])
		.stdin(Stdio::null())
		.stdout(Stdio::piped())
		.stderr(Stdio::piped())
		.spawn()
		.unwrap();
	let deadline = Instant::now() + REFUSAL_TIMEOUT;
	let status = loop {
		if let Some(status) = node.try_wait().unwrap() {
			break status;
		}
		if Instant::now() > deadline {
			node.kill().unwrap();
			let output = node.wait_with_output().unwrap();
			panic!("the node started: {}", String::from_utf8_lossy(&output.stderr));
		}
		std::thread::sleep(Duration::from_millis(200));
	};
	let output = node.wait_with_output().unwrap();
	let text = String::from_utf8_lossy(&output.stderr).into_owned();
	assert!(!status.success(), "the node exited successfully: {text}");
	text
}

fn copy_dir(from: &Path, to: &Path) {
	std::fs::create_dir_all(to).unwrap();
	for entry in std::fs::read_dir(from).unwrap() {
		let entry = entry.unwrap();
		let target = to.join(entry.file_name());
		if entry.file_type().unwrap().is_dir() {
			copy_dir(&entry.path(), &target);
		} else {
			std::fs::copy(entry.path(), target).unwrap();
		}
	}
}

/// Overwrites every file under `dir` with bytes no database wrote.
fn corrupt(dir: &Path) {
	for entry in std::fs::read_dir(dir).unwrap() {
		let entry = entry.unwrap();
		if entry.file_type().unwrap().is_dir() {
			corrupt(&entry.path());
		} else {
			let length = entry.metadata().unwrap().len().max(64);
			let garbage: Vec<u8> = (0..length).map(|i| (i * 131 % 251) as u8).collect();
			std::fs::write(entry.path(), garbage).unwrap();
		}
	}
}

#[test]
fn a_database_of_another_chain_is_refused_at_start() {
	let dir = tempfile::tempdir().unwrap();
	let dev = dir.path().join("dev");
	make_dev_database(&dev);

	// The dev chain's database where the local testnet's belongs.
	let local = dir.path().join("local");
	copy_dir(&database(&dev, "twinnet_dev"), &database(&local, "twinnet_local_testnet"));
	let refused = refused_start(&["--chain", "local", "--base-path", local.to_str().unwrap()]);
	assert!(refused.contains("genesis"), "no word of the genesis mismatch: {refused}");
	assert!(refused.contains("twinnet_local_testnet"), "no word of the database: {refused}");
}

#[test]
fn a_corrupted_database_is_refused_at_start() {
	let dir = tempfile::tempdir().unwrap();
	let dev = dir.path().join("dev");
	make_dev_database(&dev);

	corrupt(&database(&dev, "twinnet_dev"));
	let refused = refused_start(&["--dev", "--base-path", dev.to_str().unwrap()]);
	assert!(refused.contains("cannot open the database at"), "no word of the database: {refused}");
	assert!(refused.contains("corrupted"), "no word of what to do: {refused}");
}
