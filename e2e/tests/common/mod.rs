//! Helpers shared by the end-to-end tests: DID strings, call arguments,
//! on-chain reads, and submitting several extrinsics into one block while
//! keeping each one's outcome (its events, or its dispatch error by name).

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use std::{
	io::{Read, Write},
	net::TcpStream,
	time::{Duration, Instant},
};

use serde_json::Value;
use twinnet_test_support::{
	subxt::{
		self,
		config::PolkadotExtrinsicParamsBuilder,
		dynamic::Value as Dyn,
		error::{DispatchError, TransactionEventsError},
		ext::{
			futures::future::{join_all, LocalBoxFuture},
			scale_decode::{self, DecodeAsType},
		},
		extrinsics::ExtrinsicEvents,
		rpcs::rpc_params,
		transactions::Payload,
		utils::{AccountId32, H256},
	},
	subxt_signer::sr25519::Keypair,
	TestNode, TwinNetConfig,
};

/// `commitments.commit` of `hash` by `committer`, of `kind`, with the one
/// input `input`, no Merkle root, schema `json` and no job round.
pub fn commit(committer: &[u8; 32], kind: &str, hash: [u8; 32], input: Dyn) -> impl Payload {
	subxt::dynamic::tx(
		"Commitments",
		"commit",
		(
			Dyn::from_bytes(committer),
			Dyn::unnamed_variant(kind, []),
			Dyn::from_bytes(hash),
			Dyn::unnamed_variant("None", []),
			Dyn::from_bytes("json"),
			Dyn::unnamed_composite([input]),
			Dyn::unnamed_variant("None", []),
		),
	)
}

/// The DID string of a 32-byte identifier.
pub fn did_string(id: &[u8; 32]) -> String {
	format!("did:twin:{}", bs58::encode(id).into_string())
}

/// The identifier of a `did:twin` DID string.
pub fn did_bytes(did: &str) -> [u8; 32] {
	let encoded = did.strip_prefix("did:twin:").expect("a did:twin DID");
	bs58::decode(encoded).into_vec().expect("base58").try_into().expect("32 bytes")
}

/// The account of a dev keypair.
pub fn account(keypair: &Keypair) -> AccountId32 {
	keypair.public_key().to_account_id()
}

/// The SS58 address of a dev keypair.
pub fn ss58(keypair: &Keypair) -> String {
	account(keypair).to_string()
}

/// `Controller::Account(account)`.
pub fn account_controller(account: &AccountId32) -> Dyn {
	Dyn::unnamed_variant("Account", [Dyn::from_bytes(account.0)])
}

/// `Controller::Did(did)`.
pub fn did_controller(did: &[u8; 32]) -> Dyn {
	Dyn::unnamed_variant("Did", [Dyn::from_bytes(did)])
}

/// A verification method that serves `authentication` only.
pub fn auth_method(fragment: &str, key_type: &str, key: &[u8]) -> Dyn {
	Dyn::named_composite([
		("fragment", Dyn::from_bytes(fragment)),
		("key", Dyn::unnamed_variant(key_type, [Dyn::from_bytes(key)])),
		(
			"relationships",
			Dyn::named_composite([
				("authentication", Dyn::bool(true)),
				("assertion_method", Dyn::bool(false)),
				("capability_delegation", Dyn::bool(false)),
				("key_agreement", Dyn::bool(false)),
				("capability_invocation", Dyn::bool(false)),
			]),
		),
	])
}

/// A grant's `Binding` that limits nothing.
pub fn unbound() -> Dyn {
	let none = || Dyn::unnamed_variant("None", []);
	Dyn::named_composite([
		("job", none()),
		("model", none()),
		("code_hash", none()),
		("max_epsilon_per_round", none()),
	])
}

/// `Grantee::Account(account)`.
pub fn account_grantee(account: &[u8; 32]) -> Dyn {
	Dyn::unnamed_variant("Account", [Dyn::from_bytes(account)])
}

/// `Grantee::Institution(did)`.
pub fn institution_grantee(did: &[u8; 32]) -> Dyn {
	Dyn::unnamed_variant("Institution", [Dyn::from_bytes(did)])
}

/// The terms of a compute grant to `grantee` for research and model
/// training, from block 0 to 100,000, with an (ε, δ) budget in the
/// runtime's fixed point (nine and eighteen decimals).
pub fn compute_terms(grantee: Dyn, epsilon: u128, delta: u128) -> Dyn {
	Dyn::named_composite([
		("grantee", grantee),
		("scope", Dyn::unnamed_variant("Compute", [])),
		(
			"purposes",
			Dyn::unnamed_composite([
				Dyn::unnamed_variant("Research", []),
				Dyn::unnamed_variant("ModelTraining", []),
			]),
		),
		("datasets", Dyn::unnamed_variant("None", [])),
		("starts_at", Dyn::u128(0)),
		("expires_at", Dyn::u128(100_000)),
		(
			"budget",
			Dyn::unnamed_variant(
				"Some",
				[Dyn::named_composite([
					("epsilon", Dyn::u128(epsilon)),
					("delta", Dyn::u128(delta)),
				])],
			),
		),
		("binding", unbound()),
	])
}

/// A service endpoint.
pub fn service(fragment: &str, service_type: &str, endpoint: &str) -> Dyn {
	Dyn::named_composite([
		("fragment", Dyn::from_bytes(fragment)),
		("service_type", Dyn::from_bytes(service_type)),
		("endpoint", Dyn::from_bytes(endpoint)),
	])
}

/// `twin_resolveDid(did)` at the best block.
pub async fn resolve(node: &TestNode, did: &str) -> Value {
	node.rpc("twin_resolveDid", rpc_params![did])
		.await
		.expect("twin_resolveDid answers")
}

/// `twin_listByController(controller)`: the DIDs it lists.
pub async fn listed_by(node: &TestNode, controller: &str) -> Vec<String> {
	let listed: Value = node
		.rpc("twin_listByController", rpc_params![controller])
		.await
		.expect("twin_listByController answers");
	listed
		.as_array()
		.expect("a list")
		.iter()
		.map(|did| did.as_str().expect("a DID string").to_string())
		.collect()
}

/// The DID of `kind` (`Institution`, `Dataset`, …) that `controller`
/// controls, as `twin_listByController` and `twin_resolveDid` show it: how
/// tests find the dev chain's genesis DIDs.
pub async fn controlled_of_kind(node: &TestNode, controller: &str, kind: &str) -> [u8; 32] {
	for did in listed_by(node, controller).await {
		if resolve(node, &did).await["didDocumentMetadata"]["twinKind"] == kind {
			return did_bytes(&did);
		}
	}
	panic!("{controller} controls no {kind} DID")
}

/// `consent_grantsOf(twin)`.
pub async fn grants_of(node: &TestNode, twin: &str) -> Value {
	node.rpc("consent_grantsOf", rpc_params![twin])
		.await
		.expect("consent_grantsOf answers")
}

/// `consent_usageOf(twin)`: the twin's decision trail and budgets.
pub async fn usage_of(node: &TestNode, twin: &str) -> Value {
	node.rpc("consent_usageOf", rpc_params![twin])
		.await
		.expect("consent_usageOf answers")
}

/// The fields of the first `name` (`Pallet::Event`) event among `events`,
/// decoded as `T` (which may name only some of them).
pub fn event_fields<T: scale_decode::DecodeAsFields>(
	events: &ExtrinsicEvents<TwinNetConfig>,
	name: &str,
) -> T {
	events
		.iter()
		.filter_map(Result::ok)
		.find(|e| format!("{}::{}", e.pallet_name(), e.event_name()) == name)
		.unwrap_or_else(|| panic!("no {name} event among {:?}", event_names(events)))
		.decode_fields_unchecked_as::<T>()
		.unwrap_or_else(|e| panic!("{name} does not decode: {e}"))
}

/// The identifier in the `Twins::DidCreated` event among `events`.
pub fn created_did(events: &ExtrinsicEvents<TwinNetConfig>) -> [u8; 32] {
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct DidCreated {
		did: [u8; 32],
	}
	event_fields::<DidCreated>(events, "Twins::DidCreated").did
}

/// The names (`Pallet::Event`) of `events`, in order.
pub fn event_names(events: &ExtrinsicEvents<TwinNetConfig>) -> Vec<String> {
	events
		.iter()
		.filter_map(Result::ok)
		.map(|e| format!("{}::{}", e.pallet_name(), e.event_name()))
		.collect()
}

/// Whether `events` include `name` (`Pallet::Event`).
pub fn has_event(events: &ExtrinsicEvents<TwinNetConfig>, name: &str) -> bool {
	event_names(events).iter().any(|event| event == name)
}

/// A DID's controller, as stored.
#[derive(Clone, Debug, PartialEq, Eq, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub enum Controller {
	Account([u8; 32]),
	Did([u8; 32]),
}

/// The parts of a stored `Twins::Dids` record the tests look at.
#[derive(Clone, Debug, DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
pub struct DidRecord {
	pub controller: Controller,
	pub pending_controller: Option<Controller>,
	pub patient: Option<[u8; 32]>,
	pub pending_patient: Option<[u8; 32]>,
	pub depositor: [u8; 32],
	pub deposit: u128,
}

/// The `Twins::Dids` record of `did` at block `at`, decoded and as raw
/// bytes (to compare whole records), if the DID is active.
pub async fn did_record(node: &TestNode, at: H256, did: &[u8; 32]) -> Option<(DidRecord, Vec<u8>)> {
	let address = subxt::dynamic::storage::<([u8; 32],), DidRecord>("Twins", "Dids");
	let client = node.client().at_block(at).await.expect("a client at the block");
	let value = client
		.storage()
		.try_fetch(address, (*did,))
		.await
		.expect("Twins::Dids is readable")?;
	let record = value.decode().expect("the DID record decodes");
	Some((record, value.bytes().to_vec()))
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountInfo {
	data: AccountData,
}

#[derive(DecodeAsType)]
#[decode_as_type(crate_path = "scale_decode")]
struct AccountData {
	reserved: u128,
}

/// The reserved balance of `account` at block `at`: with `pallet-balances`,
/// the sum of its holds (such as DID deposits).
pub async fn reserved(node: &TestNode, at: H256, account: &AccountId32) -> u128 {
	let address = subxt::dynamic::storage::<([u8; 32],), AccountInfo>("System", "Account");
	let client = node.client().at_block(at).await.expect("a client at the block");
	let info = client
		.storage()
		.fetch(address, (account.0,))
		.await
		.expect("System::Account is readable")
		.decode()
		.expect("the account decodes");
	info.data.reserved
}

/// What became of one extrinsic of a [`Batch`].
pub struct Outcome {
	/// What the test called it.
	pub label: String,
	/// The finalized block it is in.
	pub block: H256,
	/// Its events if it succeeded, else its dispatch error: `Pallet::Error`
	/// for a pallet's error, the error's description otherwise.
	pub result: Result<ExtrinsicEvents<TwinNetConfig>, String>,
}

impl Outcome {
	/// The events of an extrinsic that must have succeeded.
	pub fn succeeded(&self) -> &ExtrinsicEvents<TwinNetConfig> {
		match &self.result {
			Ok(events) => events,
			Err(error) => panic!("{} should have succeeded, but failed with {error}", self.label),
		}
	}

	/// The dispatch error of an extrinsic that must have failed.
	pub fn failed(&self) -> &str {
		match &self.result {
			Ok(events) => panic!(
				"{} should have failed, but succeeded with events {:?}",
				self.label,
				event_names(events)
			),
			Err(error) => error,
		}
	}
}

/// The name of the dispatch error `error` carries, if it is the error of a
/// failed extrinsic (as `TestNode::submit` and [`Batch`] report them).
pub fn dispatch_error_name(error: &(dyn std::error::Error + 'static)) -> Option<String> {
	match error.downcast_ref::<TransactionEventsError>()? {
		TransactionEventsError::ExtrinsicFailed(DispatchError::Module(module)) => {
			Some(module.details_string())
		},
		TransactionEventsError::ExtrinsicFailed(other) => Some(other.to_string()),
		_ => None,
	}
}

/// Extrinsics signed against one finalized block and submitted one after
/// another (each signer's nonces counted up), so they land in the same
/// block when they fit; [`Batch::finish`] waits for all of them to be
/// finalized and reports each one's outcome. A signer's first nonce is read
/// from that finalized block, so it must have nothing else pending.
pub struct Batch<'a> {
	node: &'a TestNode,
	at: H256,
	nonces: Vec<(AccountId32, u64)>,
	pending: Vec<LocalBoxFuture<'a, Outcome>>,
}

impl<'a> Batch<'a> {
	/// A batch signed against the latest finalized block.
	pub async fn new(node: &'a TestNode) -> Self {
		let at = node
			.client()
			.at_current_block()
			.await
			.expect("the finalized block")
			.block_hash();
		Self { node, at, nonces: Vec::new(), pending: Vec::new() }
	}

	/// Signs `call` with `signer` (at the signer's next nonce) and submits it.
	pub async fn add(&mut self, label: &str, call: &impl Payload, signer: &Keypair) -> &mut Self {
		let client = self.node.client().at_block(self.at).await.expect("a client at the block");
		let mut transactions = client.transactions();
		let who = account(signer);
		let nonce = match self.nonces.iter_mut().find(|(account, _)| *account == who) {
			Some((_, nonce)) => {
				*nonce += 1;
				*nonce
			},
			None => {
				let nonce = transactions.account_nonce(&who).await.expect("the signer's nonce");
				self.nonces.push((who, nonce));
				nonce
			},
		};
		let params = PolkadotExtrinsicParamsBuilder::new().nonce(nonce).build();
		let progress = transactions
			.sign_and_submit_then_watch(call, signer, params)
			.await
			.unwrap_or_else(|e| panic!("{label}: the pool rejected it: {e}"));
		let label = label.to_string();
		self.pending.push(Box::pin(async move {
			let included = progress
				.wait_for_finalized()
				.await
				.unwrap_or_else(|e| panic!("{label}: not finalized: {e}"));
			let block = included.block_hash();
			let result = events_of(&included).await.map_err(|e| {
				let error: Box<dyn std::error::Error + 'static> = Box::new(e);
				dispatch_error_name(error.as_ref())
					.unwrap_or_else(|| panic!("{label}: cannot tell its outcome: {error}"))
			});
			Outcome { label, block, result }
		}));
		self
	}

	/// Waits until every extrinsic is finalized; their outcomes, in the order added.
	pub async fn finish(self) -> Vec<Outcome> {
		join_all(self.pending).await
	}
}

/// The events of the finalized extrinsic `included`, or its failure. Under
/// load subxt's block-following client may not find, for a moment, the
/// header of a block it has just reported finalized ("cannot find the block
/// header"): that is retried, for at most five seconds.
async fn events_of<C: subxt::client::OnlineClientAtBlockT<TwinNetConfig>>(
	included: &subxt::transactions::TransactionInBlock<TwinNetConfig, C>,
) -> Result<ExtrinsicEvents<TwinNetConfig>, TransactionEventsError> {
	let mut attempts = 0;
	loop {
		match included.wait_for_success().await {
			Err(error)
				if attempts < 20 && error.to_string().contains("cannot find the block header") =>
			{
				attempts += 1;
				tokio::time::sleep(Duration::from_millis(250)).await;
			},
			outcome => return outcome,
		}
	}
}

/// Submits `call` signed by `signer` alone and waits for its outcome.
pub async fn submit(
	node: &TestNode,
	label: &str,
	call: &impl Payload,
	signer: &Keypair,
) -> Outcome {
	let mut batch = Batch::new(node).await;
	batch.add(label, call, signer).await;
	batch.finish().await.pop().expect("one outcome")
}

/// The HTTP request of the JSON-RPC call `method(params)`.
pub fn http_request(port: u16, method: &str, params: Value) -> Vec<u8> {
	let body = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params })
		.to_string();
	let head = format!(
		"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
		 Content-Length: {}\r\nConnection: close\r\n\r\n",
		body.len()
	);
	[head.into_bytes(), body.into_bytes()].concat()
}

/// Sends `request` to the node's RPC port and returns the round trip's wall
/// time and the JSON-RPC response (and its size in bytes).
pub fn round_trip(port: u16, request: &[u8]) -> (Duration, Value, usize) {
	try_round_trip(port, request).unwrap_or_else(|e| panic!("{e}"))
}

/// [`round_trip`], with what went wrong (a node that is down, say) as an error.
pub fn try_round_trip(port: u16, request: &[u8]) -> Result<(Duration, Value, usize), String> {
	let mut stream = TcpStream::connect(("127.0.0.1", port))
		.map_err(|e| format!("cannot connect to the RPC port {port}: {e}"))?;
	let mut response = Vec::new();
	let start = Instant::now();
	stream
		.write_all(request)
		.map_err(|e| format!("the node did not take the request: {e}"))?;
	stream
		.read_to_end(&mut response)
		.map_err(|e| format!("the node did not answer: {e}"))?;
	let elapsed = start.elapsed();

	let text = String::from_utf8(response).map_err(|e| format!("a non-UTF-8 response: {e}"))?;
	let (head, body) = text.split_once("\r\n\r\n").ok_or("not an HTTP response")?;
	if !head.starts_with("HTTP/1.1 200") {
		return Err(format!("the server refused the request: {head}"));
	}
	let json = serde_json::from_str(body).map_err(|e| format!("{e}: {head}\n{body}"))?;
	Ok((elapsed, json, body.len()))
}

/// The `result` of `method(params)` on the node serving RPC at `port`, or
/// why there is none (the node is down, or answered with an error).
pub fn try_rpc(port: u16, method: &str, params: Value) -> Result<Value, String> {
	let (_, mut response, _) = try_round_trip(port, &http_request(port, method, params))?;
	match response.get_mut("result") {
		Some(result) => Ok(result.take()),
		None => Err(format!("{method}: {response}")),
	}
}

/// The whole JSON-RPC response to `method(params)`: its `result`, or its
/// `error` object with code and message, which [`TestNode::rpc`] does not keep.
pub fn json_rpc(node: &TestNode, method: &str, params: Value) -> Value {
	round_trip(node.rpc_port(), &http_request(node.rpc_port(), method, params)).1
}
