//! The node: a connection, RPC calls, and transactions signed, submitted
//! and followed until they are in a block (or finalized), with every way
//! that can go wrong turned into one [`Failure`] line.
//!
//! Calls and storage are built with subxt's dynamic API from the metadata
//! the node serves (see docs/twinctl.md, "Why dynamic"): subxt checks each
//! call's shape against that metadata before signing, so a runtime that no
//! longer takes a call as `twinctl` builds it is refused with the reason,
//! locally, and nothing is submitted.

use std::time::Duration;

use serde_json::Value;
use sp_core::{sr25519, Pair as _};
use subxt::{
	config::PolkadotExtrinsicParamsBuilder,
	error::{
		BackendError, DispatchError, ExtrinsicError, OnlineClientAtBlockError, RpcError,
		TransactionEventsError, TransactionProgressError, TransactionStatusError,
	},
	ext::scale_decode::DecodeAsFields,
	extrinsics::ExtrinsicEvents,
	rpcs::{client::RpcParams, RpcClient},
	transactions::{Payload, Signer, TransactionStatus},
	utils::{AccountId32, MultiSignature, H256},
	OnlineClient, PolkadotConfig,
};

use crate::Failure;

/// The client configuration that matches TwinNet's runtime
/// (`MultiAddress<AccountId32, ()>` addresses, sr25519 `MultiSignature`s,
/// BLAKE2 hashing).
pub type Config = PolkadotConfig;

/// The node `twinctl` talks to when not told otherwise.
pub const DEFAULT_URL: &str = "ws://127.0.0.1:9944";

/// How long a transaction may take to reach a block (or finality) before
/// `twinctl` gives up waiting (the transaction may still land): under the
/// 240 s after which subxt's backend stops following it itself.
const INCLUSION_TIMEOUT: Duration = Duration::from_secs(180);

/// How far to follow a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
	/// Until a best block includes it.
	InBlock,
	/// Until a finalized block includes it.
	Finalized,
}

/// An sr25519 account that signs transactions.
pub struct Account(sr25519::Pair);

impl Account {
	/// The account of `pair`.
	pub fn new(pair: sr25519::Pair) -> Self {
		Self(pair)
	}

	/// Its on-chain identifier.
	pub fn id(&self) -> AccountId32 {
		AccountId32(self.0.public().0)
	}

	/// Its SS58 address, in TwinNet's format.
	pub fn address(&self) -> String {
		crate::key::address_of(&self.0.public())
	}
}

impl Signer<Config> for Account {
	fn account_id(&self) -> AccountId32 {
		self.id()
	}

	fn sign(&self, payload: &[u8]) -> MultiSignature {
		MultiSignature::Sr25519(self.0.sign(payload).0)
	}
}

/// A transaction in a block, and what it emitted.
pub struct Included {
	/// The block's hash.
	pub block: H256,
	/// The block's number.
	pub number: u64,
	/// Whether that block is finalized.
	pub finalized: bool,
	events: ExtrinsicEvents<Config>,
}

impl Included {
	/// The fields of the first `Pallet::Event` the transaction emitted,
	/// decoded as `T` (which may name only some of them).
	pub fn event<T: DecodeAsFields>(&self, name: &str) -> Result<T, Failure> {
		let event = self
			.events
			.iter()
			.filter_map(Result::ok)
			.find(|e| name.split_once("::") == Some((e.pallet_name(), e.event_name())))
			.ok_or_else(|| Failure::Failed(format!("the transaction emitted no {name} event")))?;
		event
			.decode_fields_unchecked_as::<T>()
			.map_err(|e| Failure::Failed(format!("{name} does not decode: {e}")))
	}

	/// Where it landed, as JSON fields every transaction's output carries.
	pub fn json(&self) -> Value {
		serde_json::json!({
			"block": format!("{:?}", self.block),
			"blockNumber": self.number,
			"finalized": self.finalized,
		})
	}
}

/// A connection to a node.
pub struct Chain {
	url: String,
	client: OnlineClient<Config>,
	rpc: RpcClient,
}

impl Chain {
	/// Connects to the node at `url` and reads its metadata: `wss://`, or
	/// `ws://` to this machine; `ws://` to another host only if `insecure`
	/// (whoever is on the way could feed `twinctl` the metadata it encodes
	/// calls with, and so change what is signed).
	pub async fn connect(url: &str, insecure: bool) -> Result<Self, Failure> {
		check_url(url, insecure)?;
		let unreachable = |e: &dyn std::fmt::Display| {
			Failure::Connection(format!("cannot reach a node at {url}: {e}"))
		};
		let rpc = RpcClient::from_insecure_url(url).await.map_err(|e| unreachable(&e))?;
		let client = OnlineClient::<Config>::from_rpc_client(rpc.clone())
			.await
			.map_err(|e| unreachable(&e))?;
		Ok(Self { url: url.to_string(), client, rpc })
	}

	/// The subxt client.
	pub fn client(&self) -> &OnlineClient<Config> {
		&self.client
	}

	/// Calls the JSON-RPC method `method`.
	pub async fn rpc(&self, method: &str, params: RpcParams) -> Result<Value, Failure> {
		self.rpc_answer(method, params)
			.await?
			.map_err(|(_, message)| Failure::Failed(format!("{method}: {message}")))
	}

	/// Calls `method`: its answer, or the error the node answered with (its
	/// code and message), for the caller to tell apart; a connection that
	/// fails is the outer error.
	pub async fn rpc_answer(
		&self,
		method: &str,
		params: RpcParams,
	) -> Result<Result<Value, (i32, String)>, Failure> {
		match self.rpc.request(method, params).await {
			Ok(value) => Ok(Ok(value)),
			Err(subxt::rpcs::Error::User(answer)) => Ok(Err((answer.code, answer.message))),
			Err(
				e @ (subxt::rpcs::Error::Client(_)
				| subxt::rpcs::Error::DisconnectedWillReconnect(_)),
			) => Err(self.lost(&e)),
			Err(other) => Err(Failure::Failed(format!("{method}: {other}"))),
		}
	}

	/// The address of the node.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// Whether the connection to the node is private: `wss://`, or to this
	/// machine.
	pub fn is_private(&self) -> bool {
		check_url(&self.url, false).is_ok()
	}

	/// A client at the latest finalized block.
	pub async fn at_finalized(
		&self,
	) -> Result<
		subxt::client::ClientAtBlock<Config, subxt::client::OnlineClientAtBlockImpl<Config>>,
		Failure,
	> {
		self.client.at_current_block().await.map_err(|e| self.at_block_failure(e))
	}

	/// A client at the best block: what the chain's RPCs answer from, and
	/// where a transaction just included is seen at once.
	pub async fn at_best(
		&self,
	) -> Result<
		subxt::client::ClientAtBlock<Config, subxt::client::OnlineClientAtBlockImpl<Config>>,
		Failure,
	> {
		let hash = self.rpc("chain_getBlockHash", RpcParams::new()).await?;
		let hash: H256 = hash
			.as_str()
			.and_then(|hex| hex.parse().ok())
			.ok_or_else(|| Failure::Failed(format!("chain_getBlockHash: not a hash: {hash}")))?;
		self.client.at_block(hash).await.map_err(|e| self.at_block_failure(e))
	}

	/// The number of the best block.
	pub async fn best_number(&self) -> Result<u64, Failure> {
		let header = self.rpc("chain_getHeader", RpcParams::new()).await?;
		header
			.get("number")
			.and_then(Value::as_str)
			.and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
			.ok_or_else(|| Failure::Failed(format!("chain_getHeader: no block number in {header}")))
	}

	/// The chain's block time (its Aura slot), in milliseconds.
	pub async fn block_time_ms(&self) -> Result<u64, Failure> {
		let call = subxt::dynamic::runtime_api_call::<(), u64>("AuraApi", "slot_duration", ());
		let at = self.at_finalized().await?;
		at.runtime_apis().call(call).await.map_err(|e| match e {
			subxt::error::RuntimeApiError::CannotCallApi(BackendError::Rpc(_)) => self.lost(&e),
			other => Failure::Failed(format!("AuraApi_slot_duration: {other}")),
		})
	}

	/// Signs `call` as `signer` at the best block, submits it, and follows
	/// it until `wait`: where it landed and what it emitted, or why not (a
	/// dispatch error as the pallet's error name and its documentation's
	/// first line). Once the node has the transaction, a failure to follow
	/// it names its hash and says that it may still land.
	pub async fn submit(
		&self,
		call: &impl Payload,
		signer: &Account,
		wait: Wait,
	) -> Result<Included, Failure> {
		// Built at the best block, so that its mortality and spec version
		// are current however far finality lags, with the pool's next nonce,
		// which counts transactions in blocks not final yet and in the pool.
		let mut transactions = self.at_best().await?.transactions();
		let address = signer.address();
		let nonce = self
			.rpc("system_accountNextIndex", subxt::rpcs::rpc_params![address.as_str()])
			.await?
			.as_u64()
			.ok_or_else(|| {
				Failure::Failed(String::from("system_accountNextIndex: not a number"))
			})?;
		let params = PolkadotExtrinsicParamsBuilder::new().nonce(nonce).build();
		let progress = transactions
			.sign_and_submit_then_watch(call, signer, params)
			.await
			.map_err(|e| self.submit_failure(e))?;
		let hash = progress.extrinsic_hash();
		let followed = self.follow(progress, wait);
		let block = if wait == Wait::Finalized { "finalized block" } else { "block" };
		let outcome =
			tokio::time::timeout(INCLUSION_TIMEOUT, followed).await.unwrap_or_else(|_| {
				Err(Unknown::Timeout(format!(
					"no {block} included it within {} s",
					INCLUSION_TIMEOUT.as_secs()
				)))
			});
		match outcome {
			Ok(included) => Ok(included),
			// subxt reports a dropped connection under a transaction as its
			// block subscription stopping: ask the node whether it is there.
			Err(Unknown::Dropped(what)) if !self.answers().await => {
				Err(Unknown::Lost(what).failure(&self.url, hash))
			},
			Err(unknown) => Err(unknown.failure(&self.url, hash)),
		}
	}

	/// Whether the node still answers.
	async fn answers(&self) -> bool {
		let probe = self.rpc.request::<Value>("system_health", RpcParams::new());
		matches!(tokio::time::timeout(Duration::from_secs(10), probe).await, Ok(Ok(_)))
	}

	async fn follow(
		&self,
		mut progress: subxt::transactions::TransactionProgress<
			Config,
			subxt::client::OnlineClientAtBlockImpl<Config>,
		>,
		wait: Wait,
	) -> Result<Included, Unknown> {
		while let Some(status) = progress.next().await {
			let (landed, finalized) = match status.map_err(Unknown::progress)? {
				TransactionStatus::InBestBlock(landed) if wait == Wait::InBlock => (landed, false),
				TransactionStatus::InFinalizedBlock(landed) => (landed, true),
				TransactionStatus::Invalid { message } => {
					return Err(Unknown::Known(refused_by_pool(&message)))
				},
				TransactionStatus::Error { message } | TransactionStatus::Dropped { message } => {
					return Err(Unknown::Dropped(message))
				},
				_ => continue,
			};
			let events = landed.wait_for_success().await.map_err(Unknown::events)?;
			let number =
				landed.at().await.map_err(|e| Unknown::Lost(e.to_string()))?.block_number();
			return Ok(Included { block: landed.block_hash(), number, finalized, events });
		}
		Err(Unknown::Lost(String::from("the node stopped reporting on the transaction")))
	}

	/// The connection dropped (or never worked) while `what` went on.
	fn lost(&self, what: &dyn std::fmt::Display) -> Failure {
		Failure::Connection(format!("lost the connection to {}: {what}", self.url))
	}

	fn at_block_failure(&self, error: OnlineClientAtBlockError) -> Failure {
		match error {
			OnlineClientAtBlockError::CannotGetCurrentBlock { .. }
			| OnlineClientAtBlockError::CannotGetBlockHeader { .. } => self.lost(&error),
			other => Failure::Failed(format!("cannot read the chain at that block: {other}")),
		}
	}

	/// Before the node has the transaction: the pool's refusal, a dropped
	/// connection, or a call that does not fit the node's metadata.
	fn submit_failure(&self, error: ExtrinsicError) -> Failure {
		match &error {
			// The node answered the submission, and said no.
			ExtrinsicError::ErrorSubmittingTransaction(BackendError::Rpc(
				RpcError::ClientError(subxt::rpcs::Error::User(answer)),
			)) => refused_by_pool(&answer.message),
			ExtrinsicError::ErrorSubmittingTransaction(BackendError::Rpc(_)) => self.lost(&error),
			ExtrinsicError::TransactionStatusError(TransactionStatusError::Invalid(message)) => {
				refused_by_pool(message)
			},
			ExtrinsicError::AccountNonceError { reason, .. } => self.lost(reason),
			_ => Failure::Failed(format!("cannot submit the transaction: {error}")),
		}
	}
}

/// What became of a transaction the node has, when `twinctl` cannot tell
/// whether it landed (or knows it did not: [`Unknown::Known`]).
enum Unknown {
	/// A failure that says what happened.
	Known(Failure),
	/// The connection dropped.
	Lost(String),
	/// The node stopped following it (evicted from a full pool, or a watch
	/// that timed out): it may be in a block nonetheless.
	Dropped(String),
	/// `twinctl` stopped waiting.
	Timeout(String),
}

impl Unknown {
	fn progress(error: TransactionProgressError) -> Self {
		match error {
			TransactionProgressError::TransactionStatusError(TransactionStatusError::Invalid(
				message,
			)) => Self::Known(refused_by_pool(&message)),
			TransactionProgressError::TransactionStatusError(
				TransactionStatusError::Error(message) | TransactionStatusError::Dropped(message),
			) => Self::Dropped(message),
			TransactionProgressError::CannotGetNextProgressUpdate(BackendError::Rpc(error)) => {
				Self::Lost(error.to_string())
			},
			// subxt's own deadline, or the end of the node's block stream.
			other => Self::Dropped(other.to_string()),
		}
	}

	fn events(error: TransactionEventsError) -> Self {
		match error {
			TransactionEventsError::ExtrinsicFailed(dispatch) => Self::Known(refused(&dispatch)),
			TransactionEventsError::CannotFetchBlockBody {
				error: BackendError::Rpc(error),
				..
			} => Self::Lost(error.to_string()),
			other => Self::Known(Failure::Failed(format!(
				"cannot read the transaction's outcome: {other}"
			))),
		}
	}

	fn failure(self, url: &str, hash: H256) -> Failure {
		let unknown = |what: String| format!("{what}; transaction {hash:?} may still land");
		match self {
			Self::Known(failure) => failure,
			Self::Lost(what) => {
				Failure::Connection(unknown(format!("lost the connection to {url}: {what}")))
			},
			Self::Dropped(what) => {
				Failure::Failed(unknown(format!("the node stopped following it: {what}")))
			},
			Self::Timeout(what) => Failure::Failed(unknown(what)),
		}
	}
}

/// The pool refused the transaction: no block has it.
fn refused_by_pool(message: &str) -> Failure {
	Failure::Refused(format!("the node refused the transaction: {message}"))
}

/// A failed dispatch: `Pallet.Error: first line of its documentation`,
/// exit 5, or 4 for an error named `…NotFound` (what the transaction names
/// does not exist).
fn refused(error: &DispatchError) -> Failure {
	match error {
		DispatchError::Module(module) => match module.details() {
			Ok(details) => {
				let doc = details.variant.docs.first().map(|line| plain(line)).unwrap_or_default();
				let name = format!("{}.{}", details.pallet.name(), details.variant.name);
				let line = if doc.is_empty() { name } else { format!("{name}: {doc}") };
				if details.variant.name.ends_with("NotFound") {
					Failure::NotFound(line)
				} else {
					Failure::Refused(line)
				}
			},
			Err(_) => Failure::Refused(format!("the chain refused the transaction: {module}")),
		},
		other => Failure::Refused(format!("the chain refused the transaction: {other}")),
	}
}

/// A line of rustdoc as plain text: intra-doc links (`` [`Config::X`] ``)
/// lose their brackets.
fn plain(doc: &str) -> String {
	doc.trim().replace("[`", "`").replace("`]", "`")
}

/// Whether `url` is one `twinctl` connects to (see [`Chain::connect`]).
fn check_url(url: &str, insecure: bool) -> Result<(), Failure> {
	if url.starts_with("wss://") {
		return Ok(());
	}
	let Some(rest) = url.strip_prefix("ws://") else {
		return Err(Failure::Usage(format!("{url:?} is not a ws:// or wss:// URL")));
	};
	let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
	let host = authority
		.rsplit_once(':')
		.filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
		.map_or(authority, |(host, _)| host);
	let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]")
		|| host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
	if local || insecure {
		Ok(())
	} else {
		Err(Failure::Usage(format!(
			"{url} is not encrypted: use wss://, or --insecure if the network to it is trusted"
		)))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn plain_websockets_go_only_to_this_machine_unless_insecure_is_said() {
		for local in
			["ws://127.0.0.1:9944", "ws://localhost:9944", "ws://[::1]:9944", "ws://127.0.0.2"]
		{
			assert!(check_url(local, false).is_ok(), "{local}");
		}
		assert!(check_url("wss://rpc.example.org", false).is_ok());
		assert!(matches!(check_url("ws://10.0.0.5:9944", false), Err(Failure::Usage(_))));
		assert!(matches!(check_url("ws://127.0.0.1.evil.org:9944", false), Err(Failure::Usage(_))));
		assert!(check_url("ws://10.0.0.5:9944", true).is_ok());
		assert!(matches!(check_url("http://127.0.0.1:9944", true), Err(Failure::Usage(_))));
	}

	#[test]
	fn an_error_documentation_line_loses_its_link_brackets() {
		assert_eq!(
			plain(" Epsilon is above [`Config::MaxEpsilon`]. "),
			"Epsilon is above `Config::MaxEpsilon`."
		);
		assert_eq!(plain("No such open request."), "No such open request.");
	}
}
