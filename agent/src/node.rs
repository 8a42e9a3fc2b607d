//! The agent's view of the chain: the job, the round and the model, read
//! from the institution's own node over JSON-RPC, all at one block.

use jsonrpsee::{core::client::ClientT, rpc_params, ws_client::WsClientBuilder};
use serde_json::Value;

/// The views of a round that the agent plans from.
#[derive(Clone, Debug)]
pub struct RoundViews {
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

	/// The views of round `round` of `job` at the node's best block.
	pub async fn round_views(&self, job: u64, round: u32) -> Result<RoundViews, String> {
		let client = WsClientBuilder::default()
			.build(&self.url)
			.await
			.map_err(|e| format!("cannot reach the node at {}: {e}", self.url))?;
		let call = |method: &'static str, params| {
			let client = &client;
			async move {
				client
					.request::<Value, _>(method, params)
					.await
					.map_err(|e| format!("{method}: {e}"))
			}
		};
		let at = call("chain_getBlockHash", rpc_params![]).await?;
		Ok(RoundViews {
			job: call("federated_job", rpc_params![job, at.clone()]).await?,
			round: call("federated_round", rpc_params![job, round, at.clone()]).await?,
			model: call("federated_model", rpc_params![job, at]).await?,
		})
	}
}
