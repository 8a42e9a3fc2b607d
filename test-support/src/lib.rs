//! End-to-end test support: starts a real `twinnet-node` on free local ports
//! and gives tests an RPC client (subxt) to it.
//!
//! ```ignore
//! let node = TestNode::start().await?;
//! node.wait_for_finalized_block(1).await?;
//! let client = node.client();
//! ```
//!
//! The node runs with `--dev` on a temporary database, with its output kept in
//! a log file that is printed if the node fails to come up. It binds port 0
//! for RPC and peer-to-peer (the OS picks free ports as it binds them, so two
//! tests can never race for one), and the test reads the RPC address back
//! from the node's log. Dropping the [`TestNode`] kills the node, also when
//! the test fails or panics.
//!
//! No more nodes run at once, in all test processes of the machine together,
//! than the machine's [`NodeSlots`] allow: a node waits for a slot before it
//! starts, and its start-up deadline runs from then. A test that starts a
//! node process itself takes a slot first
//! (`NodeSlots::global().acquire_blocking()`, or `acquire_many_blocking(n)`
//! for a network of `n`) and holds it until the processes have exited.

use std::{
	fs::File,
	io::Read,
	net::SocketAddr,
	path::{Path, PathBuf},
	process::{Child, Command, ExitStatus, Stdio},
	sync::Arc,
	time::{Duration, Instant},
};

mod slots;

pub use slots::{NodeSlot, NodeSlots, NODES_VARIABLE, SLOTS_DIR_VARIABLE};
pub use subxt;
pub use subxt_signer;

use subxt::{OnlineClient, PolkadotConfig};

/// The client configuration that matches TwinNet's runtime
/// (`MultiAddress<AccountId32, ()>` addresses, `u32` block numbers, BLAKE2 hashing).
pub type TwinNetConfig = PolkadotConfig;
/// An RPC client of a running node.
pub type Client = OnlineClient<TwinNetConfig>;
/// Errors of the test harness.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// How long a node may take to open its RPC port, from the moment it has
/// its slot. A debug node alone takes about 11 s to build its genesis state
/// on this project's 2-core machine (most of it compiling the runtime's
/// WASM); with four at once, and another process loading a core, well
/// under a minute.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(240);
/// How long to wait for a block to be produced or finalized.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `twinnet-node --dev`, killed when dropped.
pub struct TestNode {
	child: Child,
	log_path: PathBuf,
	rpc_port: u16,
	client: Client,
	rpc: subxt::rpcs::RpcClient,
	_base_dir: tempfile::TempDir,
	// Dropped after `Drop::drop` has killed and reaped the node.
	_slot: NodeSlot,
}

impl TestNode {
	/// Starts the node binary ([`node_binary`]) with `--dev`, and waits until
	/// its RPC server answers.
	pub async fn start() -> Result<Self, Error> {
		Self::start_with_args(&[]).await
	}

	/// Like [`TestNode::start`], with extra command-line arguments.
	pub async fn start_with_args(args: &[&str]) -> Result<Self, Error> {
		Self::start_in(&NodeSlots::global(), args).await
	}

	/// Like [`TestNode::start_with_args`], with a slot from `slots`.
	pub async fn start_in(slots: &Arc<NodeSlots>, args: &[&str]) -> Result<Self, Error> {
		let binary = node_binary()?;
		let slot = slots.acquire().await?;
		let base_dir = tempfile::Builder::new().prefix("twinnet-e2e").tempdir()?;
		let log_path = base_dir.path().join("node.log");
		let log = File::create(&log_path)?;

		let child = Command::new(&binary)
			.arg("--dev")
			.arg("--base-path")
			.arg(base_dir.path().join("chain"))
			.args(["--rpc-port", "0", "--port", "0"])
			.args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
			.args(args)
			.stdin(Stdio::null())
			.stdout(log.try_clone()?)
			.stderr(log)
			.spawn()
			.map_err(|e| format!("cannot start {}: {e}", binary.display()))?;

		let mut starting = StartingNode { child: Some(child), log_path: log_path.clone() };
		let rpc_port = starting.rpc_port().await?;
		let client = starting.connect(rpc_port).await?;
		let rpc =
			subxt::rpcs::RpcClient::from_insecure_url(format!("ws://127.0.0.1:{rpc_port}")).await?;
		let child = starting.child.take().ok_or("node process lost during start-up")?;
		Ok(Self { child, log_path, rpc_port, client, rpc, _base_dir: base_dir, _slot: slot })
	}

	/// The node's WebSocket RPC address.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The port of the node's RPC server (WebSocket and HTTP).
	pub fn rpc_port(&self) -> u16 {
		self.rpc_port
	}

	/// A subxt client connected to the node.
	pub fn client(&self) -> Client {
		self.client.clone()
	}

	/// Calls the JSON-RPC method `method` with `params`.
	pub async fn rpc(
		&self,
		method: &str,
		params: subxt::rpcs::client::RpcParams,
	) -> Result<serde_json::Value, Error> {
		Ok(self.rpc.request(method, params).await?)
	}

	/// Signs `call` with `signer`, submits it, and waits until it is in a
	/// finalized block and succeeded; returns its events.
	pub async fn submit(
		&self,
		call: &impl subxt::transactions::Payload,
		signer: &subxt_signer::sr25519::Keypair,
	) -> Result<subxt::extrinsics::ExtrinsicEvents<TwinNetConfig>, Error> {
		let included = self
			.client
			.at_current_block()
			.await?
			.transactions()
			.sign_and_submit_then_watch_default(call, signer)
			.await?
			.wait_for_finalized()
			.await?;
		Ok(included.wait_for_success().await?)
	}

	/// The node's output so far.
	pub fn log(&self) -> String {
		read_log(&self.log_path)
	}

	/// Waits until the best block number reaches `number`.
	pub async fn wait_for_best_block(&self, number: u64) -> Result<(), Error> {
		let blocks = self.client.stream_best_blocks().await?;
		wait_for_block(blocks, number, "best").await
	}

	/// Waits until the finalized block number reaches `number`.
	pub async fn wait_for_finalized_block(&self, number: u64) -> Result<(), Error> {
		let blocks = self.client.stream_blocks().await?;
		wait_for_block(blocks, number, "finalized").await
	}
}

impl Drop for TestNode {
	fn drop(&mut self) {
		stop(&mut self.child);
	}
}

/// A node whose RPC server is not up yet; kills the node if start-up fails.
struct StartingNode {
	child: Option<Child>,
	log_path: PathBuf,
}

/// What the RPC server logs once it listens, followed by its addresses
/// (`addr=127.0.0.1:40123,` for one, comma-separated for several).
const RPC_LISTENING: &str = "Running JSON-RPC server: addr=";

impl StartingNode {
	/// The port the node's RPC server bound, from its log line.
	async fn rpc_port(&mut self) -> Result<u16, Error> {
		let deadline = Instant::now() + STARTUP_TIMEOUT;
		loop {
			if let Some(port) = logged_rpc_port(&read_log(&self.log_path)) {
				return Ok(port);
			}
			if let Some(status) = self.exited()? {
				return Err(self.failure(&format!("node exited during start-up ({status})")));
			}
			if Instant::now() > deadline {
				return Err(self.failure("node did not open its RPC port in time"));
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
	}

	async fn connect(&mut self, rpc_port: u16) -> Result<Client, Error> {
		let url = format!("ws://127.0.0.1:{rpc_port}");
		let deadline = Instant::now() + STARTUP_TIMEOUT;
		loop {
			if let Some(status) = self.exited()? {
				return Err(self.failure(&format!("node exited during start-up ({status})")));
			}
			if let Ok(client) = Client::from_insecure_url(&url).await {
				return Ok(client);
			}
			if Instant::now() > deadline {
				return Err(self.failure("node did not open its RPC port in time"));
			}
			tokio::time::sleep(Duration::from_millis(250)).await;
		}
	}

	fn exited(&mut self) -> Result<Option<ExitStatus>, Error> {
		match self.child.as_mut() {
			Some(child) => Ok(child.try_wait()?),
			None => Err("node process lost during start-up".into()),
		}
	}

	fn failure(&self, what: &str) -> Error {
		format!("{what}; node log:\n{}", read_log(&self.log_path)).into()
	}
}

impl Drop for StartingNode {
	fn drop(&mut self) {
		if let Some(child) = self.child.as_mut() {
			stop(child);
		}
	}
}

/// The `twinnet-node` binary under test: `$TWINNET_NODE` if set, else the
/// one built into the same target directory as the running test.
pub fn node_binary() -> Result<PathBuf, Error> {
	built_binary("twinnet-node", "TWINNET_NODE")
}

/// The `twinnet-agent` binary (the compute agent): `$TWINNET_AGENT` if set,
/// else the one built into the same target directory as the running test.
pub fn agent_binary() -> Result<PathBuf, Error> {
	built_binary("twinnet-agent", "TWINNET_AGENT")
}

/// The binary `name` of this workspace: `$variable` if set, else the one in
/// the running test's target directory.
fn built_binary(name: &str, variable: &str) -> Result<PathBuf, Error> {
	let binary = match std::env::var_os(variable) {
		Some(path) => PathBuf::from(path),
		// A test runs from `<target>/<profile>/deps/`; binaries are in `<target>/<profile>/`.
		None => std::env::current_exe()?
			.parent()
			.and_then(Path::parent)
			.ok_or("cannot locate the target directory")?
			.join(name),
	};
	if binary.is_file() {
		Ok(binary)
	} else {
		Err(format!(
			"no {name} binary at {}: run `cargo build -p {name}` first (scripts/test does)",
			binary.display()
		)
		.into())
	}
}

/// Kills the node and reaps it.
fn stop(child: &mut Child) {
	let _ = child.kill();
	let _ = child.wait();
}

fn read_log(path: &Path) -> String {
	let mut log = String::new();
	match File::open(path).and_then(|mut file| file.read_to_string(&mut log)) {
		Ok(_) => log,
		Err(e) => format!("<cannot read {}: {e}>", path.display()),
	}
}

async fn wait_for_block(
	mut blocks: subxt::client::Blocks<TwinNetConfig>,
	number: u64,
	kind: &str,
) -> Result<(), Error> {
	let wait = async {
		while let Some(block) = blocks.next().await {
			if block?.number() >= number {
				return Ok(());
			}
		}
		Err::<(), Error>(format!("the {kind} block stream ended before block {number}").into())
	};
	tokio::time::timeout(BLOCK_TIMEOUT, wait)
		.await
		.map_err(|_| format!("no {kind} block {number} within {BLOCK_TIMEOUT:?}"))?
}

/// The port of the first IPv4 loopback address in the node's
/// [`RPC_LISTENING`] log line, once it has been written.
fn logged_rpc_port(log: &str) -> Option<u16> {
	let line = log.lines().find_map(|line| line.split_once(RPC_LISTENING))?.1;
	line.split([',', ' '])
		.filter_map(|addr| addr.parse::<SocketAddr>().ok())
		.find(|addr| addr.ip().is_loopback() && addr.is_ipv4())
		.map(|addr| addr.port())
}

/// The part of `System::Account` a test reads.
#[derive(Debug, subxt::ext::scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(Debug, subxt::ext::scale_decode::DecodeAsType)]
#[decode_as_type(crate_path = "subxt::ext::scale_decode")]
struct AccountData {
	free: u128,
}

/// The free balance of `account` in the state of block `at`.
pub async fn free_balance(
	client: &Client,
	at: subxt::utils::H256,
	account: &subxt::utils::AccountId32,
) -> Result<u128, Error> {
	let address = subxt::dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let info = client
		.at_block(at)
		.await?
		.storage()
		.fetch(address, (account.0,))
		.await?
		.decode()?;
	Ok(info.data.free)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_rpc_port_is_read_from_the_servers_log_line() {
		let one =
			"2026-12-03 INFO main sc_rpc_server: Running JSON-RPC server: addr=127.0.0.1:40123,";
		assert_eq!(logged_rpc_port(one), Some(40123));
		let several = "x\nRunning JSON-RPC server: addr=[::1]:9955, 127.0.0.1:9956, 0.0.0.0:9957\n";
		assert_eq!(logged_rpc_port(several), Some(9956));
		assert_eq!(logged_rpc_port("Running JSON-RPC server: addr="), None);
		assert_eq!(logged_rpc_port("Idle (0 peers)"), None);
	}

	/// The processes alive now whose command line contains `marker`.
	fn processes_with(marker: &str) -> usize {
		let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
		entries
			.filter_map(Result::ok)
			.filter(|entry| entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
			.filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
			.filter(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == marker.as_bytes()))
			.count()
	}

	/// Five real nodes through a pool of two: the operating system never
	/// shows more than two node processes of this test alive at once, and
	/// two did run side by side.
	#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
	async fn no_more_nodes_run_at_once_than_the_pool_has_slots() {
		let marker = format!("twinnet-slots-{}", std::process::id());
		let slots = NodeSlots::new(2).expect("a private pool");
		let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
		let sampler = {
			let (marker, done) = (marker.clone(), done.clone());
			std::thread::spawn(move || {
				let mut most = 0;
				while !done.load(std::sync::atomic::Ordering::SeqCst) {
					most = most.max(processes_with(&marker));
					std::thread::sleep(Duration::from_millis(20));
				}
				most
			})
		};
		let nodes = (0..5).map(|_| {
			let (slots, marker) = (slots.clone(), marker.clone());
			tokio::spawn(async move {
				let node = TestNode::start_in(&slots, &["--name", &marker]).await?;
				node.wait_for_best_block(1).await?;
				Ok::<_, Error>(())
			})
		});
		for node in subxt::ext::futures::future::join_all(nodes).await {
			node.expect("task").expect("the node starts and produces a block");
		}
		done.store(true, std::sync::atomic::Ordering::SeqCst);
		let most_alive = sampler.join().expect("sampler");
		assert_eq!(slots.peak(), 2, "the five nodes should have shared two slots");
		assert!(most_alive <= 2, "{most_alive} node processes were alive at once");
		assert_eq!(most_alive, 2, "two nodes should have run side by side");
	}
}
