//! JSON-RPC of pallet-commitments, for auditors (docs/auditing.md).
//!
//! - `commitments_get(id, at?)`: one commitment with its first attestations
//!   (`attestationCount` says how many there are) and open dispute, and
//!   whether the chain made it (`madeByChain`: the commitment of a federated
//!   round's released aggregate; left out at blocks whose runtime cannot
//!   tell).
//! - `commitments_attestations(id, startAfter?, limit?, at?)`: a page of a
//!   commitment's attestations; `startAfter` is the previous page's `next`
//!   (its last attester), `null` once a page is not full.
//! - `commitments_attestation(id, attester, at?)`: the attestation of one
//!   institution, or `null`: how an auditor checks the institutions it
//!   trusts, however many others attested.
//! - `commitments_byCommitter(did, startAfter?, limit?, at?)`: a page of an
//!   Institution or Model DID's commitments; `startAfter` is the last id of
//!   the previous page.
//! - `commitments_byJob(job, startAfter?, limit?, at?)`: a page of a
//!   federated job's commitments, grouped round by round; `startAfter` is
//!   the last `[round, id]` of the previous page.
//! - `commitments_provenance(id, depth?, at?)`: the graph of the commitment
//!   and what it was computed from, breadth first, down to datasets, at most
//!   `depth` links (default and maximum 32) and 256 nodes; each commitment
//!   node in brief (id, kind, status, attestation count, inputs), its full
//!   view being `commitments_get`'s.
//! - `commitments_prove(id, leafIndex, at?)`: the inclusion proof of a
//!   stored leaf.
//! - `commitments_verifyInclusion(id, leaf, proof, at?)`: whether `proof`
//!   proves `leaf` under the commitment's Merkle root.
//!
//! Hashes are `0x`-prefixed hex, DIDs `did:twin:…`, accounts SS58,
//! balances decimal strings. Errors have stable codes: [`INVALID_PARAMS`]
//! for malformed input (a bad hash, DID or proof, an over-long page or
//! depth), [`NOT_FOUND`], [`NO_MERKLE_ROOT`], [`LEAVES_NOT_STORED`],
//! [`LEAF_INDEX_OUT_OF_RANGE`], and -32603 when the runtime call fails.

use std::{marker::PhantomData, sync::Arc};

use codec::Codec;
use jsonrpsee::{
	core::RpcResult,
	proc_macros::rpc,
	types::{error::ErrorObject, ErrorObjectOwned},
};
use serde_json::{json, Value};
use sp_api::{ApiExt, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_core::{crypto::Ss58Codec, H256};
use sp_runtime::traits::Block as BlockT;
use twinnet_merkle::{json::ProofJsonError, Proof};
use twinnet_primitives::{
	commitments::{
		AttestationView, CommitmentId, CommitmentKind, CommitmentStatus, CommitmentView, Input,
		JobId, ProvenanceNode, Statement, ATTESTATIONS_IN_VIEW,
	},
	did::{format_did, parse_did, DidId, MAX_DID_LENGTH},
};

pub use pallet_commitments_runtime_api::CommitmentsApi as CommitmentsRuntimeApi;
use pallet_commitments_runtime_api::{CommitmentSummary, MAX_PAGE, MAX_PROVENANCE_DEPTH};

/// Malformed input: a bad hash, DID or proof, an over-long page or depth.
pub const INVALID_PARAMS: i32 = jsonrpsee::types::error::INVALID_PARAMS_CODE;
/// No commitment has the id.
pub const NOT_FOUND: i32 = 1001;
/// The commitment has no Merkle root.
pub const NO_MERKLE_ROOT: i32 = 1002;
/// The commitment's leaves are not stored on chain (never, or pruned).
pub const LEAVES_NOT_STORED: i32 = 1003;
/// The leaf index is not below the leaf count.
pub const LEAF_INDEX_OUT_OF_RANGE: i32 = 1004;

/// A proof as `commitments_verifyInclusion` takes it and
/// `commitments_prove` returns it (its JSON lives with the tree, in
/// `twinnet-merkle`, for auditors' tools to read the same way).
pub use twinnet_merkle::json::{ProofJson as ProofParam, StepJson as StepParam};

/// The `commitments_*` RPC methods.
#[rpc(server)]
pub trait CommitmentsApi<BlockHash> {
	/// One commitment.
	#[method(name = "commitments_get")]
	fn get(&self, id: CommitmentId, at: Option<BlockHash>) -> RpcResult<Value>;

	/// A page of a committer's commitments.
	#[method(name = "commitments_byCommitter")]
	fn by_committer(
		&self,
		committer: String,
		start_after: Option<CommitmentId>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// A page of a job's commitments, round by round.
	#[method(name = "commitments_byJob")]
	fn by_job(
		&self,
		job: JobId,
		start_after: Option<(u32, CommitmentId)>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// What a commitment was computed from, back to datasets.
	#[method(name = "commitments_provenance")]
	fn provenance(
		&self,
		id: CommitmentId,
		depth: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// A page of a commitment's attestations.
	#[method(name = "commitments_attestations")]
	fn attestations(
		&self,
		id: CommitmentId,
		start_after: Option<String>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// One institution's attestation of a commitment, or `null`.
	#[method(name = "commitments_attestation")]
	fn attestation(
		&self,
		id: CommitmentId,
		attester: String,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// The inclusion proof of stored leaf `leaf_index` of a commitment.
	#[method(name = "commitments_prove")]
	fn prove(&self, id: CommitmentId, leaf_index: u32, at: Option<BlockHash>) -> RpcResult<Value>;

	/// Whether `proof` proves `leaf` under the commitment's Merkle root.
	#[method(name = "commitments_verifyInclusion")]
	fn verify_inclusion(
		&self,
		id: CommitmentId,
		leaf: String,
		proof: ProofParam,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;
}

/// Implements [`CommitmentsApiServer`] on a client.
pub struct Commitments<C, Block, AccountId, Balance> {
	client: Arc<C>,
	_marker: PhantomData<(Block, AccountId, Balance)>,
}

impl<C, Block, AccountId, Balance> Commitments<C, Block, AccountId, Balance> {
	/// The RPC handler over `client`.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _marker: PhantomData }
	}
}

fn error(code: i32, message: &str, data: Option<String>) -> ErrorObjectOwned {
	ErrorObject::owned(code, message, data)
}

/// An error from the runtime, which malformed input never causes.
fn internal_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
	error(
		jsonrpsee::types::error::INTERNAL_ERROR_CODE,
		"runtime API call failed",
		Some(e.to_string()),
	)
}

/// A parameter that is not what `expected` says; long input is cut short.
fn invalid_param(expected: &str, given: &str) -> ErrorObjectOwned {
	error(INVALID_PARAMS, expected, Some(given.chars().take(MAX_DID_LENGTH).collect()))
}

fn not_found(id: CommitmentId) -> ErrorObjectOwned {
	error(NOT_FOUND, "no commitment has this id", Some(id.to_string()))
}

/// A `0x`-prefixed 32-byte hex hash, length-checked before decoding.
pub fn parse_hash(hash: &str) -> Result<H256, ErrorObjectOwned> {
	twinnet_merkle::json::parse_hash(hash)
		.map(H256)
		.ok_or_else(|| invalid_param("a hash must be 0x and 64 hex digits", hash))
}

/// A proof parameter, checked and decoded.
pub fn parse_proof(proof: &ProofParam, leaf_count: u32) -> Result<Proof, ErrorObjectOwned> {
	proof.proof(leaf_count).map_err(|error| match error {
		ProofJsonError::TooManySteps(steps) => {
			invalid_param("a proof has at most 32 steps", &steps.to_string())
		},
		ProofJsonError::BadSide(side) => invalid_param("a step's side is left or right", &side),
		ProofJsonError::BadSibling(sibling) => {
			invalid_param("a hash must be 0x and 64 hex digits", &sibling)
		},
	})
}

fn hash_json(hash: &H256) -> Value {
	json!(format!("{hash:?}"))
}

/// A proof as `commitments_prove` returns it.
pub fn proof_json(proof: &Proof) -> Value {
	serde_json::to_value(ProofParam::from(proof)).unwrap_or(Value::Null)
}

fn kind_name(kind: CommitmentKind) -> &'static str {
	match kind {
		CommitmentKind::DatasetSnapshot => "datasetSnapshot",
		CommitmentKind::ModelUpdate => "modelUpdate",
		CommitmentKind::AggregatedModel => "aggregatedModel",
		CommitmentKind::EvaluationMetric => "evaluationMetric",
		CommitmentKind::InferenceResult => "inferenceResult",
		CommitmentKind::Reproduction => "reproduction",
	}
}

fn status_name(status: CommitmentStatus) -> &'static str {
	match status {
		CommitmentStatus::Standing => "standing",
		CommitmentStatus::Disputed(_) => "disputed",
		CommitmentStatus::Refuted => "refuted",
	}
}

fn input_json(input: &Input) -> Value {
	match input {
		Input::Dataset(did) => json!({ "dataset": format_did(did) }),
		Input::Commitment(id) => json!({ "commitment": id }),
	}
}

/// An attestation as the `commitments_*` methods return it.
pub fn attestation_json<AccountId, BlockNumber>(
	attestation: &AttestationView<AccountId, BlockNumber>,
) -> Value
where
	AccountId: Ss58Codec,
	BlockNumber: serde::Serialize,
{
	json!({
		"attester": format_did(&attestation.attester),
		"statement": match attestation.statement {
			Statement::Reproduced => "reproduced",
			Statement::Verified => "verified",
		},
		"submitter": attestation.submitter.to_ss58check(),
		"block": attestation.block,
	})
}

/// A commitment as `commitments_get` returns it, with how many attestations
/// it has in all and whether the chain made it, where known; absent fields
/// are left out.
pub fn commitment_json<AccountId, BlockNumber, Balance>(
	view: &CommitmentView<AccountId, BlockNumber, Balance>,
	attestation_count: Option<u32>,
	made_by_chain: Option<bool>,
) -> Value
where
	AccountId: Ss58Codec,
	BlockNumber: serde::Serialize,
	Balance: ToString,
{
	let mut fields = serde_json::Map::new();
	let mut put = |key: &str, value: Value| fields.insert(key.into(), value);
	put("id", json!(view.id));
	put("kind", json!(kind_name(view.kind)));
	put("hash", hash_json(&view.hash));
	if let Some(merkle) = &view.merkle {
		put("merkle", json!({ "root": hash_json(&merkle.root), "leafCount": merkle.leaf_count }));
		put("leavesStored", json!(view.leaves_stored));
	}
	put("committer", json!(format_did(&view.committer)));
	put("account", json!(view.account.to_ss58check()));
	put("schema", json!(String::from_utf8_lossy(&view.schema)));
	put("inputs", Value::Array(view.inputs.iter().map(input_json).collect()));
	if let Some(round) = &view.job_round {
		put("jobRound", json!({ "job": round.job, "round": round.round }));
	}
	if let Some(made_by_chain) = made_by_chain {
		put("madeByChain", json!(made_by_chain));
	}
	put("block", json!(view.block));
	put("status", json!(status_name(view.status)));
	put("attestations", Value::Array(view.attestations.iter().map(attestation_json).collect()));
	if let Some(count) = attestation_count {
		put("attestationCount", json!(count));
	}
	if let Some(dispute) = &view.dispute {
		let mut entry = json!({
			"id": dispute.id,
			"disputer": dispute.disputer.to_ss58check(),
			"bond": dispute.bond.to_string(),
			"reason": hash_json(&dispute.reason),
			"opened": dispute.opened,
		});
		if let (Some(answer), Value::Object(entry)) = (dispute.answer, &mut entry) {
			entry.insert("answer".into(), json!(answer));
		}
		put("dispute", entry);
	}
	Value::Object(fields)
}

/// A page limit: the maximum if left out, an error above it.
fn page_limit(limit: Option<u32>) -> Result<u32, ErrorObjectOwned> {
	match limit {
		None => Ok(MAX_PAGE),
		Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
		Some(limit) => Err(invalid_param("limit must be 1 to 100", &limit.to_string())),
	}
}

impl<C, Block, AccountId, Balance> Commitments<C, Block, AccountId, Balance>
where
	Block: BlockT,
	C: HeaderBackend<Block>,
{
	fn at(&self, at: Option<Block::Hash>) -> Block::Hash {
		at.unwrap_or_else(|| self.client.info().best_hash)
	}
}

impl<C, Block, AccountId, BlockNumber, Balance> Commitments<C, Block, AccountId, Balance>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec + serde::Serialize,
	AccountId: Codec + Ss58Codec,
	Balance: Codec + ToString,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
	C::Api: CommitmentsRuntimeApi<Block, AccountId, BlockNumber, Balance>,
{
	fn view(
		&self,
		at: Block::Hash,
		id: CommitmentId,
	) -> RpcResult<CommitmentView<AccountId, BlockNumber, Balance>> {
		self.client
			.runtime_api()
			.commitment(at, id)
			.map_err(internal_error)?
			.ok_or_else(|| not_found(id))
	}

	/// The version of the runtime's commitments API at `at`.
	fn api_version(&self, at: Block::Hash) -> RpcResult<u32> {
		let version = self
			.client
			.runtime_api()
			.api_version::<dyn CommitmentsRuntimeApi<Block, AccountId, BlockNumber, Balance>>(at)
			.map_err(internal_error)?;
		version.ok_or_else(|| internal_error("the runtime has no commitments API"))
	}

	/// Commitment `id` as JSON: how many attestations it has (its view
	/// lists all of them, or its first [`ATTESTATIONS_IN_VIEW`]: then from
	/// its summary) and, from a runtime whose API (version 3 on) tells it,
	/// `madeByChain`.
	fn json(&self, at: Block::Hash, id: CommitmentId) -> RpcResult<Value> {
		let view = self.view(at, id)?;
		let api = self.client.runtime_api();
		let version = self.api_version(at)?;
		let listed = view.attestations.len() as u32;
		let count = if listed < ATTESTATIONS_IN_VIEW || version < 2 {
			Some(listed)
		} else {
			let (nodes, _) = api.provenance(at, id, 0).map_err(internal_error)?;
			nodes.first().and_then(|(_, summary)| summary.map(|(_, _, count)| count))
		};
		let made_by_chain = match version {
			3.. => Some(api.made_by_chain(at, id).map_err(internal_error)?),
			_ => None,
		};
		Ok(commitment_json(&view, count, made_by_chain))
	}
}

impl<C, Block, AccountId, BlockNumber, Balance> CommitmentsApiServer<Block::Hash>
	for Commitments<C, Block, AccountId, Balance>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec + serde::Serialize,
	AccountId: Codec + Ss58Codec + Send + Sync + 'static,
	Balance: Codec + ToString + Send + Sync + 'static,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: CommitmentsRuntimeApi<Block, AccountId, BlockNumber, Balance>,
{
	fn get(&self, id: CommitmentId, at: Option<Block::Hash>) -> RpcResult<Value> {
		self.json(self.at(at), id)
	}

	fn by_committer(
		&self,
		committer: String,
		start_after: Option<CommitmentId>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let committer: DidId = parse_did(&committer)
			.map_err(|_| invalid_param("committer must be a did:twin DID", &committer))?;
		let limit = page_limit(limit)?;
		let at = self.at(at);
		let ids = self
			.client
			.runtime_api()
			.by_committer(at, committer, start_after, limit)
			.map_err(internal_error)?;
		let views = ids.iter().map(|id| self.json(at, *id));
		Ok(Value::Array(views.collect::<Result<_, _>>()?))
	}

	fn by_job(
		&self,
		job: JobId,
		start_after: Option<(u32, CommitmentId)>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let limit = page_limit(limit)?;
		let at = self.at(at);
		let mut entries = self
			.client
			.runtime_api()
			.by_job(at, job, start_after, limit)
			.map_err(internal_error)?;
		let last = entries.last().copied();
		entries.sort_unstable();
		let mut rounds: Vec<(u32, Vec<Value>)> = Vec::new();
		for (round, id) in entries {
			let commitment = self.json(at, id)?;
			match rounds.last_mut() {
				Some((current, list)) if *current == round => list.push(commitment),
				_ => rounds.push((round, vec![commitment])),
			}
		}
		let rounds: Vec<Value> = rounds
			.into_iter()
			.map(|(round, commitments)| json!({ "round": round, "commitments": commitments }))
			.collect();
		Ok(
			json!({ "job": job, "rounds": rounds, "next": last.map(|(round, id)| json!([round, id])) }),
		)
	}

	fn attestations(
		&self,
		id: CommitmentId,
		start_after: Option<String>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let start_after = start_after
			.map(|did| {
				parse_did(&did)
					.map_err(|_| invalid_param("startAfter must be a did:twin DID", &did))
			})
			.transpose()?;
		let limit = page_limit(limit)?;
		let at = self.at(at);
		// Distinguish "no such commitment" from "no attestations".
		let view = self.view(at, id)?;
		let page = if self.api_version(at)? >= 4 {
			self.client
				.runtime_api()
				.attestations(at, id, start_after, limit)
				.map_err(internal_error)?
		} else {
			// Attestations were bounded: the view lists them all, in
			// storage order; a cursor is one of them.
			let skip = match start_after {
				None => 0,
				Some(after) => view
					.attestations
					.iter()
					.position(|a| a.attester == after)
					.map(|position| position.saturating_add(1))
					.ok_or_else(|| {
						error(
							INVALID_PARAMS,
							"startAfter must be an attester of the commitment at this block",
							Some(format_did(&after)),
						)
					})?,
			};
			view.attestations.into_iter().skip(skip).take(limit as usize).collect()
		};
		let next = (page.len() == limit as usize)
			.then(|| page.last().map(|a| format_did(&a.attester)))
			.flatten();
		let attestations: Vec<Value> = page.iter().map(attestation_json).collect();
		Ok(json!({ "commitment": id, "attestations": attestations, "next": next }))
	}

	fn attestation(
		&self,
		id: CommitmentId,
		attester: String,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let attester: DidId = parse_did(&attester)
			.map_err(|_| invalid_param("attester must be a did:twin DID", &attester))?;
		let at = self.at(at);
		let view = self.view(at, id)?;
		let found = if self.api_version(at)? >= 4 {
			self.client
				.runtime_api()
				.attestation(at, id, attester)
				.map_err(internal_error)?
		} else {
			// Attestations were bounded: the view lists them all.
			view.attestations.into_iter().find(|a| a.attester == attester)
		};
		Ok(found.as_ref().map_or(Value::Null, attestation_json))
	}

	fn provenance(
		&self,
		id: CommitmentId,
		depth: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let depth = depth.unwrap_or(MAX_PROVENANCE_DEPTH);
		if depth > MAX_PROVENANCE_DEPTH {
			return Err(invalid_param("depth must be at most 32", &depth.to_string()));
		}
		let at = self.at(at);
		let (nodes, truncated) =
			self.client.runtime_api().provenance(at, id, depth).map_err(internal_error)?;
		// The first node is the commitment asked about: without a summary, none has this id.
		if nodes.first().is_none_or(|(_, summary)| summary.is_none()) {
			return Err(not_found(id));
		}
		let nodes: Vec<Value> = nodes.iter().map(provenance_node).collect();
		Ok(json!({ "commitment": id, "nodes": nodes, "truncated": truncated }))
	}

	fn prove(
		&self,
		id: CommitmentId,
		leaf_index: u32,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let at = self.at(at);
		let view = self.view(at, id)?;
		let merkle = view
			.merkle
			.ok_or_else(|| error(NO_MERKLE_ROOT, "the commitment has no Merkle root", None))?;
		let leaves =
			self.client
				.runtime_api()
				.leaves(at, id)
				.map_err(internal_error)?
				.ok_or_else(|| {
					error(
						LEAVES_NOT_STORED,
						"the commitment's leaves are not stored on chain",
						None,
					)
				})?;
		let hashes: Vec<_> =
			leaves.iter().map(|leaf| twinnet_merkle::leaf_hash(leaf.as_bytes())).collect();
		let proof = twinnet_merkle::prove(&hashes, leaf_index).ok_or_else(|| {
			error(
				LEAF_INDEX_OUT_OF_RANGE,
				"the leaf index is not below the leaf count",
				Some(leaf_index.to_string()),
			)
		})?;
		let leaf = leaves.get(leaf_index as usize).copied().unwrap_or_default();
		Ok(
			json!({ "root": hash_json(&merkle.root), "leaf": hash_json(&leaf), "proof": proof_json(&proof) }),
		)
	}

	fn verify_inclusion(
		&self,
		id: CommitmentId,
		leaf: String,
		proof: ProofParam,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let leaf = parse_hash(&leaf)?;
		let view = self.view(self.at(at), id)?;
		let merkle = view
			.merkle
			.ok_or_else(|| error(NO_MERKLE_ROOT, "the commitment has no Merkle root", None))?;
		let proof = parse_proof(&proof, merkle.leaf_count)?;
		let result = if proof.leaf_count == merkle.leaf_count {
			twinnet_merkle::verify(
				&merkle.root.0,
				&twinnet_merkle::leaf_hash(leaf.as_bytes()),
				&proof,
			)
			.map_err(twinnet_merkle::VerifyError::name)
		} else {
			Err("leafCountMismatch")
		};
		Ok(match result {
			Ok(()) => json!({ "valid": true, "root": hash_json(&merkle.root) }),
			Err(reason) => {
				json!({ "valid": false, "root": hash_json(&merkle.root), "reason": reason })
			},
		})
	}
}

/// One node of a provenance graph as `commitments_provenance` returns it: a
/// dataset by its DID, or a commitment in brief (id, kind, status, number of
/// attestations) with its inputs.
pub fn provenance_node((node, summary): &(ProvenanceNode, Option<CommitmentSummary>)) -> Value {
	let inputs: Vec<Value> = node.inputs.iter().map(input_json).collect();
	match (node.node, summary) {
		(Input::Dataset(did), _) => json!({ "depth": node.depth, "dataset": format_did(&did) }),
		(Input::Commitment(id), None) => {
			json!({ "depth": node.depth, "commitment": { "id": id }, "inputs": inputs })
		},
		(Input::Commitment(id), Some((kind, status, attestations))) => json!({
			"depth": node.depth,
			"commitment": {
				"id": id,
				"kind": kind_name(*kind),
				"status": status_name(*status),
				"attestationCount": attestations,
			},
			"inputs": inputs,
		}),
	}
}

#[cfg(test)]
mod tests;
