//! The agent's view of the chain: the job, the round and the model, read
//! from the institution's own node over JSON-RPC, all at one block.

use jsonrpsee::{
	core::client::ClientT,
	rpc_params,
	ws_client::{WsClient, WsClientBuilder},
};
use serde_json::Value;

use crate::round::parse_hash;

/// The views of a round that the agent plans from.
#[derive(Clone, Debug)]
pub struct RoundViews {
	/// The chain's genesis hash (what masking seeds are bound to).
	pub genesis: [u8; 32],
	/// `federated_job`.
	pub job: Value,
	/// `federated_round`.
	pub round: Value,
	/// `federated_model`.
	pub model: Value,
}

/// A node's WebSocket RPC endpoint.
#[derive(Clone, Debug)]
pub struct Node {
	url: String,
}

impl Node {
	/// The node at `url` (`ws://…`).
	pub fn new(url: impl Into<String>) -> Self {
		Self { url: url.into() }
	}

	/// The genesis hash and the views of round `round` of `job` at the
	/// node's best block.
	pub async fn round_views(&self, job: u64, round: u32) -> Result<RoundViews, String> {
		self.views_at(job, round, Head::Best).await
	}

	/// The same at the node's finalized block: what seeds are revealed
	/// from, so that a recovery on a fork that may yet be abandoned (where
	/// a report that another fork holds is missing) reveals nothing.
	pub async fn final_round_views(&self, job: u64, round: u32) -> Result<RoundViews, String> {
		self.views_at(job, round, Head::Finalized).await
	}

	/// `federated_job` of `job` at the node's best block.
	pub async fn job(&self, job: u64) -> Result<Value, String> {
		self.connect()
			.await?
			.request::<Value, _>("federated_job", rpc_params![job])
			.await
			.map_err(|e| format!("federated_job: {e}"))
	}

	async fn connect(&self) -> Result<WsClient, String> {
		WsClientBuilder::default()
			.build(&self.url)
			.await
			.map_err(|e| format!("cannot reach the node at {}: {e}", self.url))
	}

	async fn views_at(&self, job: u64, round: u32, head: Head) -> Result<RoundViews, String> {
		let client = self.connect().await?;
		let call = |method: &'static str, params| {
			let client = &client;
			async move {
				client
					.request::<Value, _>(method, params)
					.await
					.map_err(|e| format!("{method}: {e}"))
			}
		};
		let genesis = call("chain_getBlockHash", rpc_params![0]).await?;
		let genesis = genesis.as_str().and_then(parse_hash).ok_or_else(|| {
			format!("chain_getBlockHash: the genesis hash is not a hash: {genesis}")
		})?;
		let at = match head {
			Head::Best => call("chain_getBlockHash", rpc_params![]).await?,
			Head::Finalized => call("chain_getFinalizedHead", rpc_params![]).await?,
		};
		Ok(RoundViews {
			genesis,
			job: call("federated_job", rpc_params![job, at.clone()]).await?,
			round: call("federated_round", rpc_params![job, round, at.clone()]).await?,
			model: call("federated_model", rpc_params![job, at]).await?,
		})
	}
}

/// The block a node's views are read at.
enum Head {
	Best,
	Finalized,
}
