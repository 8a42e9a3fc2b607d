//! A network of four institutions' validators (`scripts/local-net`), each
//! with keys of its own, and what it survives: all four finalize; with one
//! killed, finality goes on; the killed one, restarted from its base path,
//! catches up with its finalized blocks and state intact; with two of four
//! down, finality stalls (GRANDPA needs more than two thirds) while Aura
//! still authors, and it resumes when one returns.
//!
//! One story in one test: every step starts from the network the step
//! before left, and four debug nodes are what this machine runs at once.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]

mod common;

use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::Command,
	thread::sleep,
	time::{Duration, Instant},
};

use common::try_rpc;
use serde_json::{json, Value};
use twinnet_test_support::{node_binary, subxt_signer::sr25519::dev, NodeSlot, NodeSlots};

const VALIDATORS: u16 = 4;
/// Long enough for several 6 s slots and GRANDPA rounds on a loaded machine.
const STEP_TIMEOUT: Duration = Duration::from_secs(240);

/// The network under test; dropping it stops every validator.
struct LocalNet {
	dir: tempfile::TempDir,
	ports: [u16; 3],
	// Given back after `Drop::drop` has stopped the validators.
	_slots: NodeSlot,
}

impl LocalNet {
	/// Makes and starts a network of [`VALIDATORS`] on free ports.
	/// It waits until the machine's node slots have room for all of them
	/// (they are taken together), and picks its ports after that.
	fn up() -> Self {
		let slots = NodeSlots::global()
			.acquire_many_blocking(usize::from(VALIDATORS))
			.expect("node slots");
		let net =
			Self { dir: tempfile::tempdir().unwrap(), ports: free_port_bases(), _slots: slots };
		net.script(&["up", &VALIDATORS.to_string()]);
		net
	}

	fn script(&self, args: &[&str]) {
		let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-net");
		let [p2p, rpc, prometheus] = self.ports.map(|port| port.to_string());
		let status = Command::new(script)
			.args(["--dir", self.dir.path().to_str().unwrap()])
			.args(["--p2p-port", &p2p, "--rpc-port", &rpc, "--prometheus-port", &prometheus])
			.args(args)
			.env("TWINNET_NODE", node_binary().unwrap())
			.status()
			.unwrap();
		assert!(status.success(), "scripts/local-net {args:?}: {status}");
	}

	fn rpc_port(&self, validator: u16) -> u16 {
		self.ports[1] + validator
	}

	fn validator_dir(&self, validator: u16) -> PathBuf {
		self.dir.path().join(format!("validator-{validator}"))
	}

	/// Kills `validator` at once (SIGKILL), as a crash or a power cut would.
	fn kill(&self, validator: u16) {
		let pid = std::fs::read_to_string(self.validator_dir(validator).join("pid")).unwrap();
		let status = Command::new("kill").args(["-9", pid.trim()]).status().unwrap();
		assert!(status.success());
		while try_rpc(self.rpc_port(validator), "system_health", json!([])).is_ok() {
			sleep(Duration::from_millis(100));
		}
	}

	/// Starts `validator` again from its base path.
	fn restart(&self, validator: u16) {
		self.script(&["up", "-i", &validator.to_string()]);
	}

	fn rpc(&self, validator: u16, method: &str, params: Value) -> Value {
		try_rpc(self.rpc_port(validator), method, params).unwrap()
	}

	fn finalized(&self, validator: u16) -> u64 {
		let head = self.rpc(validator, "chain_getFinalizedHead", json!([]));
		block_number(&self.rpc(validator, "chain_getHeader", json!([head])))
	}

	fn best(&self, validator: u16) -> u64 {
		block_number(&self.rpc(validator, "chain_getHeader", json!([])))
	}

	fn block_hash(&self, validator: u16, number: u64) -> Value {
		self.rpc(validator, "chain_getBlockHash", json!([number]))
	}

	/// Alice's account record (SCALE, hex) in the state of block `hash`.
	fn alice_account(&self, validator: u16, hash: &Value) -> Value {
		self.rpc(validator, "state_getStorage", json!([alice_account_key(), hash]))
	}

	/// The public session keys `scripts/local-net` generated for `validator`.
	fn session_keys(&self, validator: u16) -> Value {
		let keys = std::fs::read_to_string(self.validator_dir(validator).join("session-keys.json"));
		serde_json::from_str(&keys.unwrap()).unwrap()
	}

	/// Whether `validator`'s keystore holds the key `public` of `key_type`.
	fn has_key(&self, validator: u16, public: &Value, key_type: &str) -> bool {
		self.rpc(validator, "author_hasKey", json!([public, key_type])) == json!(true)
	}

	/// The log of `validator`, for failure messages.
	fn log(&self, validator: u16) -> String {
		let log = std::fs::read_to_string(self.validator_dir(validator).join("node.log"))
			.unwrap_or_default();
		let tail: Vec<_> = log.lines().rev().take(40).collect();
		tail.into_iter().rev().collect::<Vec<_>>().join("\n")
	}

	/// Waits until `condition` holds, polling every second.
	fn wait_until(&self, what: &str, mut condition: impl FnMut() -> bool) {
		let deadline = Instant::now() + STEP_TIMEOUT;
		while !condition() {
			assert!(
				Instant::now() < deadline,
				"{what}: not within {STEP_TIMEOUT:?}; validator 0's log:\n{}",
				self.log(0)
			);
			sleep(Duration::from_secs(1));
		}
	}
}

impl Drop for LocalNet {
	fn drop(&mut self) {
		self.script(&["down"]);
	}
}

fn block_number(header: &Value) -> u64 {
	let hex = header["number"].as_str().expect("a header with a number");
	u64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap()
}

/// `System::Account(Alice)`'s storage key.
fn alice_account_key() -> String {
	use sp_crypto_hashing::{blake2_128, twox_128};
	let alice = dev::alice().public_key().0;
	let key =
		[&twox_128(b"System")[..], &twox_128(b"Account"), &blake2_128(&alice), &alice].concat();
	format!("0x{}", key.iter().map(|byte| format!("{byte:02x}")).collect::<String>())
}

/// Three port bases with [`VALIDATORS`] free ports each (peer-to-peer, RPC,
/// Prometheus), chosen by the OS.
fn free_port_bases() -> [u16; 3] {
	let mut bases = Vec::new();
	let mut held = Vec::new();
	while bases.len() < 3 {
		let base = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
		let Some(last) = base.checked_add(VALIDATORS) else { continue };
		let range: Vec<_> = (base..last)
			.map_while(|port| TcpListener::bind(("127.0.0.1", port)).ok())
			.collect();
		if range.len() == usize::from(VALIDATORS) {
			bases.push(base);
			held.extend(range);
		}
	}
	[bases[0], bases[1], bases[2]]
}

#[test]
fn four_validators_finalize_and_survive_one_down_but_not_two() {
	let net = LocalNet::up();

	// Four institutions, each its own keys: all connect and finalize.
	net.wait_until("all four validators see three peers and finalize block 3", || {
		(0..VALIDATORS).all(|v| {
			net.rpc(v, "system_health", json!([]))["peers"] == json!(VALIDATORS - 1)
				&& net.finalized(v) >= 3
		})
	});
	// Each holds its own session keys, inserted through the node, and no other's.
	for v in 0..VALIDATORS {
		let keys = net.session_keys(v);
		for (other, has) in (0..VALIDATORS).map(|o| (o, net.has_key(o, &keys["aura"], "aura"))) {
			assert_eq!(has, other == v, "validator {other} holding validator {v}'s Aura key");
		}
		assert!(net.has_key(v, &keys["grandpa"], "gran"));
	}

	// One of four killed: the other three (more than two thirds) finalize on.
	net.kill(3);
	let before = net.finalized(0);
	let kept_hash = net.block_hash(0, before);
	let kept_account = net.alice_account(0, &kept_hash);
	assert_ne!(kept_account, Value::Null, "Alice has an account");
	net.wait_until("three of four validators finalize three more blocks", || {
		net.finalized(0) >= before + 3
	});

	// Restarted from its base path, it keeps what it had finalized and
	// catches up with the others.
	net.restart(3);
	let target = net.finalized(0);
	net.wait_until("the restarted validator catches up", || net.finalized(3) >= target);
	assert_eq!(net.block_hash(3, before), kept_hash, "a finalized block was lost");
	assert_eq!(net.alice_account(3, &kept_hash), kept_account, "account state was lost");
	assert_eq!(net.block_hash(3, target), net.block_hash(0, target));

	// Two of four down: blocks are still authored, nothing is finalized.
	net.kill(2);
	net.kill(3);
	sleep(Duration::from_secs(12)); // a GRANDPA round already under way ends
	let (stalled, best) = (net.finalized(0), net.best(0));
	sleep(Duration::from_secs(36));
	assert_eq!(net.finalized(0), stalled, "finalized with two of four validators down");
	assert_eq!(net.finalized(1), stalled);
	assert!(net.best(0) > best, "the two validators left stopped authoring");

	// One returns: three of four again, and finality resumes.
	net.restart(2);
	net.wait_until("finality resumes when a third validator is back", || {
		net.finalized(0) > stalled + 2 && net.finalized(2) > stalled + 2
	});
}
