//! JSON-RPC of pallet-datasets, for researchers choosing data and auditors
//! following a result back to it (docs/auditing.md).
//!
//! - `datasets_get(dataset, at?)`: a registered dataset: its institution,
//!   publisher, descriptor (content hash, location, schema, size, record
//!   count, metadata hash), licence terms, lineage, algorithm allow-list,
//!   state, contributor and licence counts, deposit, and whether licences
//!   may be bought now (`orderable`).
//! - `datasets_lineage(dataset, depth?, limit?, at?)`: the datasets it was
//!   derived from (`ancestors`) and those derived from it (`descendants`),
//!   breadth first, each once with its `depth` (1 for parents and
//!   children), at most `depth` links (default and maximum 16) and `limit`
//!   datasets each way (default and maximum 100); `truncated` says more
//!   exist.
//! - `datasets_licencesOf(dataset, startAfter?, limit?, at?)`: a page of the
//!   dataset's licences not yet pruned, in serial order, with their holders.
//! - `datasets_contributors(dataset, startAfter?, limit?, at?)`: a page of
//!   the dataset's contributors, in storage order, each with whether its
//!   rows count at the block read (`counts`) and, if not, why (`excluded`:
//!   `notInCustody`, or `consent:` and why no consent covers it, such as
//!   `consent:revoked` or `consent:expired`).
//!
//! A page is `{ "dataset", "licences" | "contributors", "next" }`: `next`
//! is the `startAfter` of the next page (the last licence id or twin DID),
//! or `null` when the page is the last (shorter than `limit`).
//!
//! Hashes are `0x`-prefixed hex, DIDs `did:twin:…`, accounts SS58,
//! balances decimal strings; absent fields are left out. Errors have
//! stable codes: [`INVALID_PARAMS`] for malformed input (a bad DID, a limit
//! not from 1 to 100, a depth above 16), [`NOT_FOUND`] for a DID no dataset
//! is registered under, and -32603 when the runtime call fails. This RPC's
//! own codes start at 2001 (pallet-commitments' at 1001).

use std::{marker::PhantomData, sync::Arc};

use codec::Codec;
use jsonrpsee::{
	core::RpcResult,
	proc_macros::rpc,
	types::{error::ErrorObject, ErrorObjectOwned},
};
use serde_json::{json, Value};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_core::{crypto::Ss58Codec, H256};
use sp_runtime::traits::Block as BlockT;
use twinnet_primitives::{
	consent::{ConsentDenied, Scope},
	datasets::{AssetState, DatasetView, Exclusion, LicenceId, LicenceView, Schema},
	did::{format_did, parse_did, DidId, MAX_DID_LENGTH},
};

pub use pallet_datasets_runtime_api::DatasetsApi as DatasetsRuntimeApi;
use pallet_datasets_runtime_api::{MAX_DEPTH, MAX_PAGE};

/// Malformed input: a bad DID, a limit not from 1 to 100, a depth above 16.
pub const INVALID_PARAMS: i32 = jsonrpsee::types::error::INVALID_PARAMS_CODE;
/// No dataset is registered under the DID.
pub const NOT_FOUND: i32 = 2001;

/// The `datasets_*` RPC methods.
#[rpc(server)]
pub trait DatasetsApi<BlockHash> {
	/// One dataset.
	#[method(name = "datasets_get")]
	fn get(&self, dataset: String, at: Option<BlockHash>) -> RpcResult<Value>;

	/// What a dataset was derived from and what was derived from it.
	#[method(name = "datasets_lineage")]
	fn lineage(
		&self,
		dataset: String,
		depth: Option<u32>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// A page of a dataset's licences, in serial order.
	#[method(name = "datasets_licencesOf")]
	fn licences(
		&self,
		dataset: String,
		start_after: Option<LicenceId>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// A page of a dataset's contributors, with whether each counts.
	#[method(name = "datasets_contributors")]
	fn contributors(
		&self,
		dataset: String,
		start_after: Option<String>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;
}

/// Implements [`DatasetsApiServer`] on a client.
pub struct Datasets<C, Block, AccountId, Balance> {
	client: Arc<C>,
	_marker: PhantomData<(Block, AccountId, Balance)>,
}

impl<C, Block, AccountId, Balance> Datasets<C, Block, AccountId, Balance> {
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

fn not_found(dataset: &DidId) -> ErrorObjectOwned {
	error(NOT_FOUND, "no dataset is registered under this DID", Some(format_did(dataset)))
}

/// A `did:twin` DID parameter named `name`, length-checked before decoding.
pub fn parse_did_param(name: &str, did: &str) -> Result<DidId, ErrorObjectOwned> {
	parse_did(did).map_err(|_| invalid_param(&format!("{name} must be a did:twin DID"), did))
}

/// A page limit: the maximum if left out, an error outside 1 to the maximum.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ErrorObjectOwned> {
	match limit {
		None => Ok(MAX_PAGE),
		Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
		Some(limit) => {
			Err(invalid_param(&format!("limit must be 1 to {MAX_PAGE}"), &limit.to_string()))
		},
	}
}

/// A lineage depth: the maximum if left out, an error above it.
pub fn depth_limit(depth: Option<u32>) -> Result<u32, ErrorObjectOwned> {
	match depth {
		None => Ok(MAX_DEPTH),
		Some(depth) if depth <= MAX_DEPTH => Ok(depth),
		Some(depth) => {
			Err(invalid_param(&format!("depth must be at most {MAX_DEPTH}"), &depth.to_string()))
		},
	}
}

fn hash_json(hash: &H256) -> Value {
	json!(format!("{hash:?}"))
}

fn schema_name(schema: Schema) -> &'static str {
	match schema {
		Schema::Nwb2 => "nwb2",
		Schema::Bids => "bids",
		Schema::Csv => "csv",
		Schema::FhirR4 => "fhirR4",
		Schema::Omop => "omop",
		Schema::Dicom => "dicom",
		Schema::Other => "other",
	}
}

fn state_name(state: AssetState) -> &'static str {
	match state {
		AssetState::Active => "active",
		AssetState::Deprecated => "deprecated",
		AssetState::EndOfLife => "endOfLife",
		AssetState::OrderingDisabled => "orderingDisabled",
		AssetState::Unlisted => "unlisted",
		AssetState::Revoked => "revoked",
	}
}

fn consent_denied_name(denied: ConsentDenied) -> &'static str {
	match denied {
		ConsentDenied::TwinNotFound => "twinNotFound",
		ConsentDenied::NoGrant => "noGrant",
		ConsentDenied::Revoked => "revoked",
		ConsentDenied::NotStarted => "notStarted",
		ConsentDenied::Expired => "expired",
		ConsentDenied::ScopeMismatch => "scopeMismatch",
		ConsentDenied::PurposeNotGranted => "purposeNotGranted",
		ConsentDenied::DatasetNotCovered => "datasetNotCovered",
		ConsentDenied::BudgetExceeded => "budgetExceeded",
		ConsentDenied::ZeroSpend => "zeroSpend",
		ConsentDenied::ComputationNotCovered => "computationNotCovered",
		ConsentDenied::RoundCapExceeded => "roundCapExceeded",
		ConsentDenied::MissingComputation => "missingComputation",
		ConsentDenied::AlreadyReserved => "alreadyReserved",
	}
}

/// Why a contributor's rows do not count: `notInCustody`, or `consent:`
/// and why no consent covers them.
pub fn exclusion_name(exclusion: Exclusion) -> String {
	match exclusion {
		Exclusion::NotInCustody => "notInCustody".into(),
		Exclusion::Consent(denied) => format!("consent:{}", consent_denied_name(denied)),
	}
}

/// A dataset as `datasets_get` returns it; absent fields are left out.
pub fn dataset_json<AccountId, BlockNumber, Balance>(
	view: &DatasetView<AccountId, BlockNumber, Balance>,
) -> Value
where
	AccountId: Ss58Codec,
	BlockNumber: serde::Serialize,
	Balance: ToString,
{
	let scopes: Vec<&str> =
		[(view.offers_view, Scope::View), (view.offers_compute, Scope::Compute)]
			.into_iter()
			.filter_map(|(offered, scope)| offered.then_some(scope.name()))
			.collect();
	let mut fields = serde_json::Map::new();
	let mut put = |key: &str, value: Value| fields.insert(key.into(), value);
	put("id", json!(format_did(&view.id)));
	put("institution", json!(format_did(&view.institution)));
	put("publisher", json!(view.publisher.to_ss58check()));
	put("contentHash", hash_json(&view.content_hash));
	put("location", json!(String::from_utf8_lossy(&view.location)));
	put("schema", json!(schema_name(view.schema)));
	put("sizeBytes", json!(view.size_bytes));
	put("recordCount", json!(view.record_count));
	put("metadataHash", hash_json(&view.metadata_hash));
	put(
		"terms",
		json!({
			"price": view.price.to_string(),
			"scopes": scopes,
			"purposes": view.purposes.iter().map(|p| p.name()).collect::<Vec<_>>(),
			"duration": view.duration,
			"maxLicences": view.max_licences,
			"transferable": view.transferable,
		}),
	);
	put("parents", Value::Array(view.parents.iter().map(|p| json!(format_did(p))).collect()));
	if let Some(transformation) = &view.transformation {
		put("transformation", hash_json(transformation));
	}
	put("algorithms", Value::Array(view.algorithms.iter().map(hash_json).collect()));
	put("rawDownload", json!(view.raw_download));
	put("state", json!(state_name(view.state)));
	put("orderable", json!(view.orderable));
	put("minContributors", json!(view.min_contributors));
	put("contributors", json!(view.contributors));
	put("counted", json!(view.counted));
	put("licencesSold", json!(view.licences_sold));
	put("licencesOutstanding", json!(view.licences_outstanding));
	put("deposit", json!(view.deposit.to_string()));
	put("registeredAt", json!(view.registered_at));
	Value::Object(fields)
}

/// A licence as `datasets_licencesOf` returns it.
pub fn licence_json<AccountId, BlockNumber, Balance>(
	licence: &LicenceView<AccountId, BlockNumber, Balance>,
) -> Value
where
	AccountId: Ss58Codec,
	BlockNumber: serde::Serialize,
	Balance: ToString,
{
	json!({
		"dataset": format_did(&licence.dataset),
		"id": licence.id,
		"holder": licence.holder.to_ss58check(),
		"scope": licence.scope.name(),
		"purpose": licence.purpose.name(),
		"expiresAt": licence.expires_at,
		"price": licence.price.to_string(),
		"transferable": licence.transferable,
	})
}

/// A contributor as `datasets_contributors` returns it: `excluded` only
/// if its rows do not count.
pub fn contributor_json((twin, exclusion): &(DidId, Option<Exclusion>)) -> Value {
	match exclusion {
		None => json!({ "twin": format_did(twin), "counts": true }),
		Some(exclusion) => json!({
			"twin": format_did(twin),
			"counts": false,
			"excluded": exclusion_name(*exclusion),
		}),
	}
}

/// A page of `key` (`licences` or `contributors`) of `dataset`, with the
/// cursor of the next page: `cursor` of the last entry, `null` if the page
/// is shorter than `limit` (the last one).
pub fn page_json<T>(
	dataset: &DidId,
	key: &str,
	entries: &[T],
	limit: u32,
	render: impl Fn(&T) -> Value,
	cursor: impl Fn(&T) -> Value,
) -> Value {
	let next = match entries.last() {
		Some(last) if entries.len() >= limit as usize => cursor(last),
		_ => Value::Null,
	};
	let mut fields = serde_json::Map::new();
	fields.insert("dataset".into(), json!(format_did(dataset)));
	fields.insert(key.into(), Value::Array(entries.iter().map(render).collect()));
	fields.insert("next".into(), next);
	Value::Object(fields)
}

/// A lineage as `datasets_lineage` returns it.
pub fn lineage_json(
	dataset: &DidId,
	ancestors: &[(DidId, u32)],
	descendants: &[(DidId, u32)],
	truncated: bool,
) -> Value {
	let nodes = |nodes: &[(DidId, u32)]| -> Value {
		let nodes = nodes
			.iter()
			.map(|(dataset, depth)| json!({ "dataset": format_did(dataset), "depth": depth }));
		Value::Array(nodes.collect())
	};
	json!({
		"dataset": format_did(dataset),
		"ancestors": nodes(ancestors),
		"descendants": nodes(descendants),
		"truncated": truncated,
	})
}

impl<C, Block, AccountId, Balance> Datasets<C, Block, AccountId, Balance>
where
	Block: BlockT,
	C: HeaderBackend<Block>,
{
	fn at(&self, at: Option<Block::Hash>) -> Block::Hash {
		at.unwrap_or_else(|| self.client.info().best_hash)
	}
}

impl<C, Block, AccountId, BlockNumber, Balance> Datasets<C, Block, AccountId, Balance>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec,
	AccountId: Codec,
	Balance: Codec,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block>,
	C::Api: DatasetsRuntimeApi<Block, AccountId, BlockNumber, Balance>,
{
	fn view(
		&self,
		at: Block::Hash,
		dataset: &DidId,
	) -> RpcResult<DatasetView<AccountId, BlockNumber, Balance>> {
		self.client
			.runtime_api()
			.dataset(at, *dataset)
			.map_err(internal_error)?
			.ok_or_else(|| not_found(dataset))
	}
}

impl<C, Block, AccountId, BlockNumber, Balance> DatasetsApiServer<Block::Hash>
	for Datasets<C, Block, AccountId, Balance>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec + serde::Serialize,
	AccountId: Codec + Ss58Codec + Send + Sync + 'static,
	Balance: Codec + ToString + Send + Sync + 'static,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: DatasetsRuntimeApi<Block, AccountId, BlockNumber, Balance>,
{
	fn get(&self, dataset: String, at: Option<Block::Hash>) -> RpcResult<Value> {
		let dataset = parse_did_param("dataset", &dataset)?;
		Ok(dataset_json(&self.view(self.at(at), &dataset)?))
	}

	fn lineage(
		&self,
		dataset: String,
		depth: Option<u32>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let dataset = parse_did_param("dataset", &dataset)?;
		let depth = depth_limit(depth)?;
		let limit = page_limit(limit)?;
		let at = self.at(at);
		self.view(at, &dataset)?;
		let (ancestors, descendants, truncated) = self
			.client
			.runtime_api()
			.lineage(at, dataset, depth, limit)
			.map_err(internal_error)?;
		Ok(lineage_json(&dataset, &ancestors, &descendants, truncated))
	}

	fn licences(
		&self,
		dataset: String,
		start_after: Option<LicenceId>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let dataset = parse_did_param("dataset", &dataset)?;
		let limit = page_limit(limit)?;
		let at = self.at(at);
		self.view(at, &dataset)?;
		let licences = self
			.client
			.runtime_api()
			.licences_of(at, dataset, start_after, limit)
			.map_err(internal_error)?;
		Ok(page_json(&dataset, "licences", &licences, limit, licence_json, |l| json!(l.id)))
	}

	fn contributors(
		&self,
		dataset: String,
		start_after: Option<String>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let dataset = parse_did_param("dataset", &dataset)?;
		let start_after =
			start_after.map(|twin| parse_did_param("startAfter", &twin)).transpose()?;
		let limit = page_limit(limit)?;
		let at = self.at(at);
		self.view(at, &dataset)?;
		let contributors = self
			.client
			.runtime_api()
			.contributors(at, dataset, start_after, limit)
			.map_err(internal_error)?;
		let cursor = |(twin, _): &(DidId, Option<Exclusion>)| json!(format_did(twin));
		Ok(page_json(&dataset, "contributors", &contributors, limit, contributor_json, cursor))
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

	use super::*;
	use sp_runtime::AccountId32;
	use std::time::{Duration, Instant};
	use twinnet_primitives::consent::Purpose;

	#[test]
	fn dids_parse_only_as_did_twin_and_fast() {
		let did = DidId::repeat_byte(7);
		assert_eq!(parse_did_param("dataset", &format_did(&did)).unwrap(), did);
		let ten_mib = format!("did:twin:{}", "1".repeat(10 * 1024 * 1024));
		for bad in [
			"",
			"did:twin:",
			"did:web:example.com",
			"did:twin:0OIl",
			&format_did(&did)[1..],
			&ten_mib,
		] {
			let started = Instant::now();
			let error = parse_did_param("dataset", bad).unwrap_err();
			assert!(started.elapsed() < Duration::from_millis(10), "{bad:.20} took too long");
			assert_eq!(error.code(), INVALID_PARAMS);
			assert_eq!(error.message(), "dataset must be a did:twin DID");
			assert!(error.data().map_or(0, |d| d.get().len()) < 200, "the error echoes the input");
		}
	}

	#[test]
	fn page_limits_outside_one_to_the_maximum_are_refused() {
		assert_eq!(page_limit(None).unwrap(), MAX_PAGE);
		assert_eq!(page_limit(Some(1)).unwrap(), 1);
		assert_eq!(page_limit(Some(MAX_PAGE)).unwrap(), MAX_PAGE);
		for bad in [0, MAX_PAGE + 1, u32::MAX] {
			let error = page_limit(Some(bad)).unwrap_err();
			assert_eq!((error.code(), error.message()), (INVALID_PARAMS, "limit must be 1 to 100"));
		}
	}

	#[test]
	fn depths_above_the_maximum_are_refused() {
		assert_eq!(depth_limit(None).unwrap(), MAX_DEPTH);
		assert_eq!(depth_limit(Some(0)).unwrap(), 0);
		assert_eq!(depth_limit(Some(MAX_DEPTH)).unwrap(), MAX_DEPTH);
		for bad in [MAX_DEPTH + 1, u32::MAX] {
			let error = depth_limit(Some(bad)).unwrap_err();
			assert_eq!(
				(error.code(), error.message()),
				(INVALID_PARAMS, "depth must be at most 16")
			);
		}
	}

	#[test]
	fn unknown_datasets_are_not_found_with_their_did() {
		let did = DidId::repeat_byte(9);
		let error = not_found(&did);
		assert_eq!(error.code(), NOT_FOUND);
		assert_eq!(error.data().unwrap().get(), format!("\"{}\"", format_did(&did)));
	}

	fn view() -> DatasetView<AccountId32, u32, u128> {
		DatasetView {
			id: DidId::repeat_byte(1),
			institution: DidId::repeat_byte(2),
			publisher: AccountId32::new([3; 32]),
			content_hash: H256::repeat_byte(4),
			location: b"ipfs://bafy".to_vec(),
			schema: Schema::FhirR4,
			size_bytes: 1 << 40,
			record_count: 5000,
			metadata_hash: H256::repeat_byte(5),
			price: 10u128.pow(20),
			offers_view: false,
			offers_compute: true,
			purposes: vec![Purpose::Research, Purpose::ModelTraining],
			duration: 100,
			max_licences: 10,
			transferable: true,
			parents: vec![DidId::repeat_byte(6)],
			transformation: Some(H256::repeat_byte(7)),
			algorithms: vec![H256::repeat_byte(8)],
			raw_download: false,
			state: AssetState::OrderingDisabled,
			min_contributors: 5,
			contributors: 6,
			counted: 5,
			licences_sold: 3,
			licences_outstanding: 2,
			deposit: 123,
			registered_at: 42,
			orderable: false,
		}
	}

	#[test]
	fn datasets_render_with_terms_lineage_and_state() {
		let value = dataset_json(&view());
		assert_eq!(value["id"], format_did(&DidId::repeat_byte(1)));
		assert_eq!(value["institution"], format_did(&DidId::repeat_byte(2)));
		assert!(value["publisher"].as_str().unwrap().starts_with('5'));
		assert_eq!(value["contentHash"], format!("0x{}", "04".repeat(32)));
		assert_eq!(value["location"], "ipfs://bafy");
		assert_eq!(value["schema"], "fhirR4");
		assert_eq!(value["sizeBytes"], 1u64 << 40);
		assert_eq!(
			value["terms"],
			json!({
				"price": "100000000000000000000",
				"scopes": ["compute"],
				"purposes": ["research", "modelTraining"],
				"duration": 100,
				"maxLicences": 10,
				"transferable": true,
			})
		);
		assert_eq!(value["parents"], json!([format_did(&DidId::repeat_byte(6))]));
		assert_eq!(value["transformation"], format!("0x{}", "07".repeat(32)));
		assert_eq!(value["algorithms"], json!([format!("0x{}", "08".repeat(32))]));
		assert_eq!(
			(value["state"].clone(), value["orderable"].clone()),
			(json!("orderingDisabled"), json!(false))
		);
		assert_eq!(value["deposit"], "123");
		assert_eq!(value["registeredAt"], 42);

		let original = DatasetView { parents: vec![], transformation: None, ..view() };
		let value = dataset_json(&original);
		assert_eq!(value["parents"], json!([]));
		assert!(value.get("transformation").is_none());
	}

	#[test]
	fn licences_render_with_their_holder() {
		let licence = LicenceView::<AccountId32, u32, u128> {
			dataset: DidId::repeat_byte(1),
			id: 4,
			holder: AccountId32::new([2; 32]),
			scope: Scope::View,
			purpose: Purpose::PublicHealth,
			expires_at: 90,
			price: 7,
			transferable: false,
		};
		let value = licence_json(&licence);
		assert_eq!(value["dataset"], format_did(&DidId::repeat_byte(1)));
		assert_eq!(value["holder"], AccountId32::new([2; 32]).to_ss58check());
		assert_eq!(
			(value["id"].clone(), value["scope"].clone(), value["purpose"].clone()),
			(json!(4), json!("view"), json!("publicHealth"))
		);
		assert_eq!((value["expiresAt"].clone(), value["price"].clone()), (json!(90), json!("7")));
	}

	#[test]
	fn contributors_say_why_they_do_not_count() {
		let twin = DidId::repeat_byte(3);
		assert_eq!(
			contributor_json(&(twin, None)),
			json!({ "twin": format_did(&twin), "counts": true })
		);
		assert_eq!(
			contributor_json(&(twin, Some(Exclusion::Consent(ConsentDenied::Revoked)))),
			json!({ "twin": format_did(&twin), "counts": false, "excluded": "consent:revoked" })
		);
		assert_eq!(exclusion_name(Exclusion::NotInCustody), "notInCustody");
		assert_eq!(
			exclusion_name(Exclusion::Consent(ConsentDenied::DatasetNotCovered)),
			"consent:datasetNotCovered"
		);
	}

	#[test]
	fn pages_name_the_next_cursor_until_the_last() {
		let dataset = DidId::repeat_byte(1);
		let page = |entries: &[u32], limit| {
			page_json(
				&dataset,
				"licences",
				entries,
				limit,
				|id| json!({ "id": id }),
				|id| json!(id),
			)
		};
		assert_eq!(
			page(&[3, 5], 2),
			json!({ "dataset": format_did(&dataset), "licences": [{ "id": 3 }, { "id": 5 }], "next": 5 })
		);
		assert_eq!(page(&[3, 5], 3)["next"], Value::Null);
		assert_eq!(
			page(&[], 1),
			json!({ "dataset": format_did(&dataset), "licences": [], "next": null })
		);
	}

	#[test]
	fn lineages_list_both_directions_with_depths() {
		let (root, parent, grandparent, child) = (
			DidId::repeat_byte(1),
			DidId::repeat_byte(2),
			DidId::repeat_byte(3),
			DidId::repeat_byte(4),
		);
		assert_eq!(
			lineage_json(&root, &[(parent, 1), (grandparent, 2)], &[(child, 1)], true),
			json!({
				"dataset": format_did(&root),
				"ancestors": [
					{ "dataset": format_did(&parent), "depth": 1 },
					{ "dataset": format_did(&grandparent), "depth": 2 },
				],
				"descendants": [{ "dataset": format_did(&child), "depth": 1 }],
				"truncated": true,
			})
		);
	}
}
