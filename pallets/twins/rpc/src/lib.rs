//! JSON-RPC of pallet-twins: W3C DID resolution of `did:twin` DIDs (DID
//! Core §7).
//!
//! - `twin_resolveDid(did, at?)`: `resolve`, the DID document as a map
//!   (JSON-LD), its metadata (`created`, `updated`, `versionId`, …) and empty
//!   resolution metadata. Malformed input resolves with
//!   `didResolutionMetadata.error = "invalidDid"`, another method's DID with
//!   `"methodNotSupported"`, an unknown DID with `"notFound"`; none is an RPC
//!   error. Input longer than any DID is rejected before it is decoded.
//! - `twin_resolveRepresentation(did, accept?, at?)`: `resolveRepresentation`,
//!   the document as a string in `application/did+ld+json` (the default) or
//!   `application/did+json`, with that `contentType`; another `accept` is
//!   `"representationNotSupported"`.
//! - `twin_dereference(didUrl, at?)`: dereferences `did:twin:<id>` to its
//!   document or `did:twin:<id>#<fragment>` to the verification method or
//!   service it names (`"notFound"` if none does).
//! - `twin_listByController(controller, startAfter?, limit?, at?)`: a page of
//!   the active DIDs an account (SS58 address) or a DID (`did:twin:…`)
//!   controls, after `startAfter` (the last DID of the previous page).

pub mod document;

use std::{marker::PhantomData, sync::Arc};

use codec::Codec;
use jsonrpsee::{
	core::RpcResult,
	proc_macros::rpc,
	types::{error::ErrorObject, ErrorObjectOwned},
};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::crypto::Ss58Codec;
use sp_runtime::traits::Block as BlockT;
use twinnet_primitives::did::{
	format_did, parse_did, parse_did_url, parse_ss58, Controller, DidId, DidResolution, InvalidDid,
	MAX_SS58_LENGTH,
};

pub use pallet_twins_runtime_api::TwinsApi as TwinsRuntimeApi;

use document::{
	dereferencing_error, dereferencing_result, representation_result, resolution_error,
	resolution_result, AccountFormat, Representation, Resolved,
};

/// When a block was made, in milliseconds since the Unix epoch, read from its
/// header; the node knows how (with Aura: the block's slot times the slot
/// duration).
pub type BlockTime<Header> = Arc<dyn Fn(&Header) -> Option<u64> + Send + Sync>;

/// The `twin_*` RPC methods.
#[rpc(server)]
pub trait TwinsApi<BlockHash> {
	/// Resolves a `did:twin` DID to a W3C DID resolution result.
	#[method(name = "twin_resolveDid")]
	fn resolve_did(&self, did: String, at: Option<BlockHash>) -> RpcResult<serde_json::Value>;

	/// Resolves a `did:twin` DID to its document in a representation.
	#[method(name = "twin_resolveRepresentation")]
	fn resolve_representation(
		&self,
		did: String,
		accept: Option<String>,
		at: Option<BlockHash>,
	) -> RpcResult<serde_json::Value>;

	/// Dereferences a `did:twin` DID URL.
	#[method(name = "twin_dereference")]
	fn dereference(&self, did_url: String, at: Option<BlockHash>) -> RpcResult<serde_json::Value>;

	/// Lists a page of the active DIDs an account (SS58) or a DID controls.
	#[method(name = "twin_listByController")]
	fn list_by_controller(
		&self,
		controller: String,
		start_after: Option<String>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Vec<String>>;
}

/// Implements [`TwinsApiServer`] on a client.
pub struct Twins<C, Block: BlockT, AccountId> {
	client: Arc<C>,
	block_time: BlockTime<Block::Header>,
	_marker: PhantomData<AccountId>,
}

impl<C, Block: BlockT, AccountId> Twins<C, Block, AccountId> {
	/// The RPC handler over `client`, reading block times with `block_time`.
	pub fn new(client: Arc<C>, block_time: BlockTime<Block::Header>) -> Self {
		Self { client, block_time, _marker: PhantomData }
	}
}

/// Writes accounts as `did:pkh:polkadot:<CAIP-2 chain id>:<SS58 address>`,
/// the chain id being the first 16 bytes of the genesis hash in hex.
struct PkhAccounts {
	chain_id: String,
}

impl<AccountId: Ss58Codec> AccountFormat<AccountId> for PkhAccounts {
	fn account_did(&self, account: &AccountId) -> String {
		format!("did:pkh:polkadot:{}:{}", self.chain_id, account.to_ss58check())
	}
}

/// An error from the runtime, which malformed input never causes.
pub fn internal_error(error: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObject::owned(
		jsonrpsee::types::error::INTERNAL_ERROR_CODE,
		"runtime API call failed",
		Some(error.to_string()),
	)
}

/// A parameter that is not what `expected` says; long input is cut short.
fn invalid_param(expected: &str, given: &str) -> ErrorObjectOwned {
	let shown: String = given.chars().take(MAX_SS58_LENGTH).collect();
	ErrorObject::owned(jsonrpsee::types::error::INVALID_PARAMS_CODE, expected, Some(shown))
}

/// The controller a parameter names: a `did:twin` DID or an SS58 address,
/// its length checked before any decoding.
fn parse_controller<AccountId: Ss58Codec>(
	controller: &str,
) -> Result<Controller<AccountId>, ErrorObjectOwned> {
	let invalid =
		|| invalid_param("controller must be a did:twin DID or an SS58 address", controller);
	match parse_did(controller) {
		Ok(did) => Ok(Controller::Did(did)),
		Err(_) => parse_ss58(controller).map(Controller::Account).ok_or_else(invalid),
	}
}

impl<C, Block, AccountId> Twins<C, Block, AccountId>
where
	Block: BlockT,
	C: HeaderBackend<Block>,
{
	fn at(&self, at: Option<Block::Hash>) -> Block::Hash {
		at.unwrap_or_else(|| self.client.info().best_hash)
	}

	fn accounts(&self) -> PkhAccounts {
		let genesis = self.client.info().genesis_hash;
		let hex: String = genesis.as_ref().iter().take(16).map(|b| format!("{b:02x}")).collect();
		PkhAccounts { chain_id: hex }
	}

	/// When block `number` of the best chain was made, if the node has it.
	fn time_of(&self, number: &sp_runtime::traits::NumberFor<Block>) -> Option<u64> {
		let hash = self.client.hash(*number).ok()??;
		let header = self.client.header(hash).ok()??;
		(self.block_time)(&header)
	}
}

impl<C, Block, AccountId, BlockNumber> TwinsApiServer<Block::Hash> for Twins<C, Block, AccountId>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec + ToString,
	AccountId: Codec + Ss58Codec + Send + Sync + 'static,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: TwinsRuntimeApi<Block, AccountId, BlockNumber>,
{
	fn resolve_did(&self, did: String, at: Option<Block::Hash>) -> RpcResult<serde_json::Value> {
		let id = match parse_did(&did) {
			Ok(id) => id,
			Err(invalid) => return Ok(resolution_error(resolution_error_code(invalid))),
		};
		Ok(resolution_result(self.resolve(&id, at, Representation::JsonLd)?))
	}

	fn resolve_representation(
		&self,
		did: String,
		accept: Option<String>,
		at: Option<Block::Hash>,
	) -> RpcResult<serde_json::Value> {
		let id = match parse_did(&did) {
			Ok(id) => id,
			Err(invalid) => return Ok(resolution_error(resolution_error_code(invalid))),
		};
		let representation = match accept.as_deref() {
			None => Representation::JsonLd,
			Some(accept) => match Representation::from_media_type(accept) {
				Some(representation) => representation,
				None => return Ok(resolution_error("representationNotSupported")),
			},
		};
		Ok(representation_result(self.resolve(&id, at, representation)?, representation))
	}

	fn dereference(
		&self,
		did_url: String,
		at: Option<Block::Hash>,
	) -> RpcResult<serde_json::Value> {
		let (id, fragment) = match parse_did_url(&did_url) {
			Ok(parsed) => parsed,
			Err(InvalidDid::MethodNotSupported) => {
				return Ok(dereferencing_error("methodNotSupported"))
			},
			Err(InvalidDid::Malformed) => return Ok(dereferencing_error("invalidDidUrl")),
		};
		Ok(dereferencing_result(self.resolve(&id, at, Representation::JsonLd)?, fragment))
	}

	fn list_by_controller(
		&self,
		controller: String,
		start_after: Option<String>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Vec<String>> {
		let parsed = parse_controller::<AccountId>(&controller)?;
		let start_after = start_after
			.map(|did| {
				parse_did(&did)
					.map_err(|_| invalid_param("startAfter must be a did:twin DID", &did))
			})
			.transpose()?;
		let limit = limit.unwrap_or(pallet_twins_runtime_api::MAX_PAGE);
		let dids = self
			.client
			.runtime_api()
			.list_by_controller(self.at(at), parsed, start_after, limit)
			.map_err(internal_error)?;
		Ok(dids.iter().map(format_did).collect())
	}
}

/// The DID Resolution error code of a DID string that does not parse.
fn resolution_error_code(invalid: InvalidDid) -> &'static str {
	match invalid {
		InvalidDid::MethodNotSupported => "methodNotSupported",
		InvalidDid::Malformed => "invalidDid",
	}
}

impl<C, Block, AccountId, BlockNumber> Twins<C, Block, AccountId>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec + ToString,
	AccountId: Codec + Ss58Codec,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
	C::Api: TwinsRuntimeApi<Block, AccountId, BlockNumber>,
{
	/// Resolves `id` at `at` (the best block by default) in `representation`.
	fn resolve(
		&self,
		id: &DidId,
		at: Option<Block::Hash>,
		representation: Representation,
	) -> RpcResult<Result<Resolved, &'static str>> {
		let resolution: Option<DidResolution<AccountId, BlockNumber>> =
			self.client.runtime_api().resolve(self.at(at), *id).map_err(internal_error)?;
		let time_of = |number: &BlockNumber| self.time_of(number);
		Ok(document::resolve(id, resolution, &self.accounts(), &time_of, representation))
	}
}

#[cfg(test)]
mod tests;
