//! JSON-RPC of pallet-consent, for patients' wallets and auditors.
//!
//! - `consent_grantsOf(twin, at?)`: every grant of a twin (by `did:twin`
//!   DID): grantee, scope, purposes, datasets, period, budget, spent and
//!   remaining budget, who granted it and whether it applies now.
//! - `consent_usageOf(twin, at?)`: the twin's decision trail (grants,
//!   narrowings, revocations, request decisions with who asked and for
//!   what, prunes with the pruned grant's totals), the spends of its
//!   grants' spend trails, each grant's use count and each compute grant's
//!   remaining budget. Records from before storage version 3 that lack the
//!   requester or totals carry `"legacy": true`.
//! - `consent_grantsHeldBy(grantee, startAfter?, limit?, at?)`: a page of the
//!   grants a grantee holds (an SS58 account, an institution's `did:twin`
//!   DID, or `job:<id>`), each with its twin; `startAfter` is the last
//!   `[twin, grant]` of the previous page.
//! - `consent_jobSpendsOf(twin, startAfter?, limit?, at?)`: a page of what
//!   each job spent under each grant of a twin (`grant`, `job`, `spent`,
//!   `rounds`, `firstBlock`, `lastBlock`), records no other spender can push
//!   out and that outlive the grant; `startAfter` is the last `[grant, job]`
//!   of the previous page. Runtimes before ConsentApi v4 keep none: the
//!   method then fails with code 4001.

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
use sp_core::crypto::Ss58Codec;
use sp_runtime::traits::Block as BlockT;
use twinnet_primitives::{
	commitments::JobId,
	consent::{
		AuditEvent, AuditRecord, Authority, Binding, GrantId, GrantStatus, GrantView, Grantee,
		JobSpend, PrivacyBudget,
	},
	did::{format_did, parse_did, parse_ss58, DidId, MAX_DID_LENGTH},
	format_fixed,
};

pub use pallet_consent_runtime_api::ConsentApi as ConsentRuntimeApi;

/// An error from the runtime, which malformed input never causes.
fn internal_error(error: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObject::owned(
		jsonrpsee::types::error::INTERNAL_ERROR_CODE,
		"runtime API call failed",
		Some(error.to_string()),
	)
}

/// The `consent_*` RPC methods.
#[rpc(server)]
pub trait ConsentApi<BlockHash> {
	/// The grants of a twin.
	#[method(name = "consent_grantsOf")]
	fn grants_of(&self, twin: String, at: Option<BlockHash>) -> RpcResult<Value>;

	/// The audit trail and remaining budgets of a twin.
	#[method(name = "consent_usageOf")]
	fn usage_of(&self, twin: String, at: Option<BlockHash>) -> RpcResult<Value>;

	/// A page of what each job spent under each grant of a twin.
	#[method(name = "consent_jobSpendsOf")]
	fn job_spends_of(
		&self,
		twin: String,
		start_after: Option<(GrantId, JobId)>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// A page of the grants a grantee holds.
	#[method(name = "consent_grantsHeldBy")]
	fn grants_held_by(
		&self,
		grantee: String,
		start_after: Option<(String, GrantId)>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;
}

/// Implements [`ConsentApiServer`] on a client.
pub struct Consent<C, Block, AccountId> {
	client: Arc<C>,
	_marker: PhantomData<(Block, AccountId)>,
}

impl<C, Block, AccountId> Consent<C, Block, AccountId> {
	/// The RPC handler over `client`.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _marker: PhantomData }
	}
}

/// A parameter that is not what `expected` says; long input is cut short.
fn invalid_param(expected: &str, given: &str) -> ErrorObjectOwned {
	let shown: String = given.chars().take(MAX_DID_LENGTH).collect();
	ErrorObject::owned(jsonrpsee::types::error::INVALID_PARAMS_CODE, expected, Some(shown))
}

/// A grantee as `consent_grantsHeldBy` names it: `job:<id>`, an
/// institution's `did:twin` DID or an SS58 account, each length-checked
/// before decoding.
fn parse_grantee<AccountId: Ss58Codec>(
	grantee: &str,
) -> Result<Grantee<AccountId>, ErrorObjectOwned> {
	let invalid =
		|| invalid_param("grantee must be job:<id>, a did:twin DID or an SS58 address", grantee);
	if let Some(job) = grantee.strip_prefix("job:") {
		return job.parse().map(Grantee::Job).map_err(|_| invalid());
	}
	match parse_did(grantee) {
		Ok(did) => Ok(Grantee::Institution(did)),
		Err(_) => parse_ss58(grantee).map(Grantee::Account).ok_or_else(invalid),
	}
}

/// A privacy budget: epsilon and delta as decimal strings (exact), with
/// the formatter every RPC shares.
pub fn budget_json(budget: &PrivacyBudget) -> Value {
	json!({ "epsilon": budget.epsilon_decimal(), "delta": budget.delta_decimal() })
}

fn grantee_json<AccountId: Ss58Codec>(grantee: &Grantee<AccountId>) -> Value {
	match grantee {
		Grantee::Account(account) => json!({ "account": account.to_ss58check() }),
		Grantee::Institution(did) => json!({ "institution": format_did(did) }),
		Grantee::Job(job) => json!({ "job": job }),
	}
}

fn authority_name(authority: Authority) -> &'static str {
	match authority {
		Authority::Patient => "patient",
		Authority::Guardian => "guardian",
	}
}

/// A grant as `consent_grantsOf` returns it.
pub fn grant_json<AccountId: Ss58Codec, BlockNumber: serde::Serialize>(
	grant: &GrantView<AccountId, BlockNumber>,
) -> Value {
	json!({
		"id": grant.id,
		"grantee": grantee_json(&grant.grantee),
		"scope": grant.scope.name(),
		"purposes": grant.purposes.iter().map(|p| p.name()).collect::<Vec<_>>(),
		"datasets": grant.datasets.as_ref().map(|d| d.iter().map(format_did).collect::<Vec<_>>()),
		"startsAt": grant.starts_at,
		"expiresAt": grant.expires_at,
		"budget": grant.budget.as_ref().map(budget_json),
		"binding": binding_json(&grant.binding),
		"spent": budget_json(&grant.spent),
		"reserved": budget_json(&grant.reserved),
		"remaining": grant.remaining().as_ref().map(budget_json),
		"revokedAt": grant.revoked_at,
		"grantedBy": authority_name(grant.granted_by),
		"uses": grant.uses,
		"lastUsed": grant.last_used,
		"status": match grant.status {
			GrantStatus::Active => "active",
			GrantStatus::NotStarted => "notStarted",
			GrantStatus::Expired => "expired",
			GrantStatus::Revoked => "revoked",
		},
	})
}

/// What a compute grant is bound to; unset limits are left out.
fn binding_json(binding: &Binding) -> Value {
	let mut fields = serde_json::Map::new();
	if let Some(job) = binding.job {
		fields.insert("job".into(), json!(job));
	}
	if let Some(model) = &binding.model {
		fields.insert("model".into(), json!(format_did(model)));
	}
	if let Some(code_hash) = &binding.code_hash {
		fields.insert("codeHash".into(), json!(format!("{code_hash:?}")));
	}
	if let Some(cap) = binding.max_epsilon_per_round {
		fields.insert("maxEpsilonPerRound".into(), json!(format_fixed(cap)));
	}
	Value::Object(fields)
}

/// An audit record as `consent_usageOf` returns it.
pub fn audit_json<AccountId: Ss58Codec, BlockNumber: serde::Serialize>(
	record: &AuditRecord<AccountId, BlockNumber>,
) -> Value {
	let mut entry = match &record.event {
		AuditEvent::Granted { grant, by } => {
			json!({ "event": "granted", "grant": grant, "by": authority_name(*by) })
		},
		AuditEvent::Narrowed { grant, by } => {
			json!({ "event": "narrowed", "grant": grant, "by": authority_name(*by) })
		},
		AuditEvent::Revoked { grant, by } => {
			json!({ "event": "revoked", "grant": grant, "by": authority_name(*by) })
		},
		AuditEvent::RequestApproved { request, grant, requester, grantee, scope, purposes, by } => {
			json!({
				"event": "requestApproved",
				"request": request,
				"grant": grant,
				"requester": requester.to_ss58check(),
				"grantee": grantee_json(grantee),
				"scope": scope.name(),
				"purposes": purposes.iter().map(|p| p.name()).collect::<Vec<_>>(),
				"by": authority_name(*by),
			})
		},
		AuditEvent::RequestRejected { request, requester, grantee, scope, purposes, by } => {
			json!({
				"event": "requestRejected",
				"request": request,
				"requester": requester.to_ss58check(),
				"grantee": grantee_json(grantee),
				"scope": scope.name(),
				"purposes": purposes.iter().map(|p| p.name()).collect::<Vec<_>>(),
				"by": authority_name(*by),
			})
		},
		AuditEvent::Pruned { grant, grantee, spent, uses } => json!({
			"event": "pruned",
			"grant": grant,
			"grantee": grantee_json(grantee),
			"spent": budget_json(spent),
			"uses": uses,
		}),
		// Recorded before storage version 3: who asked, and a pruned
		// grant's totals, were not stored.
		AuditEvent::LegacyRequestApproved { request, grant, by } => json!({
			"event": "requestApproved",
			"request": request,
			"grant": grant,
			"by": authority_name(*by),
			"legacy": true,
		}),
		AuditEvent::LegacyRequestRejected { request, by } => json!({
			"event": "requestRejected",
			"request": request,
			"by": authority_name(*by),
			"legacy": true,
		}),
		AuditEvent::LegacyPruned { grant } => {
			json!({ "event": "pruned", "grant": grant, "legacy": true })
		},
		AuditEvent::BudgetSpent { grant, grantee, amount, job } => json!({
			"event": "budgetSpent",
			"grant": grant,
			"grantee": grantee_json(grantee),
			"amount": budget_json(amount),
			"job": job.map(|j| json!({ "job": j.job, "round": j.round })),
		}),
	};
	if let Value::Object(fields) = &mut entry {
		fields.insert("block".into(), json!(record.block));
	}
	entry
}

impl<C, Block, AccountId> Consent<C, Block, AccountId>
where
	Block: BlockT,
	C: HeaderBackend<Block>,
{
	fn at(&self, at: Option<Block::Hash>) -> Block::Hash {
		at.unwrap_or_else(|| self.client.info().best_hash)
	}
}

/// The error code of a method the runtime at the block asked for cannot
/// answer (its consent API is older than the method).
pub const UNSUPPORTED_AT_BLOCK: i32 = 4001;

/// A job's spend record of a twin, as `consent_jobSpendsOf` lists it.
pub fn job_spend_json<BlockNumber: serde::Serialize>(
	grant: GrantId,
	job: JobId,
	spend: &JobSpend<BlockNumber>,
) -> Value {
	json!({
		"grant": grant,
		"job": job,
		"spent": budget_json(&spend.spent),
		"rounds": spend.rounds,
		"firstBlock": spend.first,
		"lastBlock": spend.last,
	})
}

fn parse_twin(twin: &str) -> Result<DidId, ErrorObjectOwned> {
	parse_did(twin).map_err(|_| invalid_param("twin must be a did:twin DID", twin))
}

impl<C, Block, AccountId, BlockNumber> ConsentApiServer<Block::Hash>
	for Consent<C, Block, AccountId>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec + serde::Serialize,
	AccountId: Codec + Ss58Codec + Send + Sync + 'static,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: ConsentRuntimeApi<Block, AccountId, BlockNumber>,
{
	fn grants_of(&self, twin: String, at: Option<Block::Hash>) -> RpcResult<Value> {
		let twin = parse_twin(&twin)?;
		let grants =
			self.client.runtime_api().grants_of(self.at(at), twin).map_err(internal_error)?;
		Ok(Value::Array(grants.iter().map(grant_json).collect()))
	}

	fn usage_of(&self, twin: String, at: Option<Block::Hash>) -> RpcResult<Value> {
		let twin = parse_twin(&twin)?;
		let at = self.at(at);
		let api = self.client.runtime_api();
		let trail = api.usage_of(at, twin).map_err(internal_error)?;
		let grants = api.grants_of(at, twin).map_err(internal_error)?;
		let budgets: Vec<Value> = grants
			.iter()
			.filter_map(|grant| {
				let budget = grant.budget.as_ref()?;
				Some(json!({
					"grant": grant.id,
					"uses": grant.uses,
					"budget": budget_json(budget),
					"spent": budget_json(&grant.spent),
					"remaining": grant.remaining().as_ref().map(budget_json),
				}))
			})
			.collect();
		Ok(json!({ "trail": trail.iter().map(audit_json).collect::<Vec<_>>(), "budgets": budgets }))
	}

	fn job_spends_of(
		&self,
		twin: String,
		start_after: Option<(GrantId, JobId)>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let twin = parse_twin(&twin)?;
		let limit = limit.unwrap_or(pallet_consent_runtime_api::MAX_PAGE);
		if limit == 0 || limit > pallet_consent_runtime_api::MAX_PAGE {
			return Err(invalid_param("limit must be from 1 to 100", &limit.to_string()));
		}
		let at = self.at(at);
		let api = self.client.runtime_api();
		let version = api
			.api_version::<dyn ConsentRuntimeApi<Block, AccountId, BlockNumber>>(at)
			.map_err(internal_error)?;
		if version.unwrap_or(0) < 4 {
			return Err(ErrorObject::owned(
				UNSUPPORTED_AT_BLOCK,
				"the runtime at this block keeps no job spend records (ConsentApi v4)",
				None::<()>,
			));
		}
		let page = api.job_spends(at, twin, start_after, limit).map_err(internal_error)?;
		let next = (page.len() as u32 == limit)
			.then(|| page.last().map(|(grant, job, _)| json!([grant, job])))
			.flatten();
		let spends: Vec<Value> = page
			.iter()
			.map(|(grant, job, spend)| job_spend_json(*grant, *job, spend))
			.collect();
		Ok(json!({ "twin": format_did(&twin), "spends": spends, "next": next }))
	}

	fn grants_held_by(
		&self,
		grantee: String,
		start_after: Option<(String, GrantId)>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let grantee = parse_grantee::<AccountId>(&grantee)?;
		let start_after = start_after
			.map(|(twin, grant)| parse_twin(&twin).map(|twin| (twin, grant)))
			.transpose()?;
		let limit = limit.unwrap_or(pallet_consent_runtime_api::MAX_PAGE);
		let page = self
			.client
			.runtime_api()
			.grants_held_by(self.at(at), grantee, start_after, limit)
			.map_err(internal_error)?;
		let entries = page
			.iter()
			.map(|(twin, grant)| json!({ "twin": format_did(twin), "grant": grant_json(grant) }));
		Ok(Value::Array(entries.collect()))
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use sp_runtime::{AccountId32, FixedU64, Perquintill};
	use twinnet_primitives::consent::{Purpose, Scope};

	#[test]
	fn a_job_s_spends_render_with_their_totals_and_blocks() {
		let spend = JobSpend {
			spent: PrivacyBudget {
				epsilon: FixedU64::from_rational(3, 2),
				delta: Perquintill::from_parts(2_000_000_000_000),
			},
			rounds: 6,
			first: 10u32,
			last: 40u32,
		};
		assert_eq!(
			job_spend_json(2, 7, &spend),
			json!({
				"grant": 2,
				"job": 7,
				"spent": { "epsilon": "1.5", "delta": "0.000002" },
				"rounds": 6,
				"firstBlock": 10,
				"lastBlock": 40,
			})
		);
	}

	#[test]
	fn budgets_are_exact_decimals() {
		let budget = PrivacyBudget {
			epsilon: FixedU64::from_inner(1),
			delta: Perquintill::from_parts(10_000_000_000_000),
		};
		assert_eq!(budget_json(&budget), json!({ "epsilon": "0.000000001", "delta": "0.00001" }));
		assert_eq!(budget_json(&PrivacyBudget::default()), json!({ "epsilon": "0", "delta": "0" }));
	}

	#[test]
	fn grants_render_with_their_remaining_budget() {
		let budget =
			PrivacyBudget { epsilon: FixedU64::from_u32(2), delta: Perquintill::from_parts(10) };
		let spent = PrivacyBudget {
			epsilon: FixedU64::from_rational(1, 2),
			delta: Perquintill::from_parts(4),
		};
		let grant = GrantView::<AccountId32, u32> {
			id: 3,
			grantee: Grantee::Account(AccountId32::new([1; 32])),
			scope: Scope::Compute,
			purposes: vec![Purpose::Research, Purpose::ModelTraining],
			datasets: None,
			starts_at: 1,
			expires_at: 9,
			budget: Some(budget),
			binding: Binding {
				job: Some(7),
				max_epsilon_per_round: Some(FixedU64::from_rational(1, 4)),
				..Default::default()
			},
			spent,
			reserved: PrivacyBudget::default(),
			revoked_at: None,
			granted_by: Authority::Patient,
			uses: 4,
			last_used: Some(8),
			status: GrantStatus::Active,
		};
		let value = grant_json(&grant);
		assert_eq!(value["scope"], "compute");
		assert_eq!(value["purposes"], json!(["research", "modelTraining"]));
		assert_eq!(
			value["remaining"],
			json!({ "epsilon": "1.5", "delta": "0.000000000000000006" })
		);
		assert_eq!(value["binding"], json!({ "job": 7, "maxEpsilonPerRound": "0.25" }));
		assert_eq!(value["status"], "active");
		assert_eq!(value["grantedBy"], "patient");
		assert_eq!((value["uses"].clone(), value["lastUsed"].clone()), (json!(4), json!(8)));
		assert!(value["grantee"]["account"].as_str().is_some_and(|a| a.starts_with('5')));
	}

	#[test]
	fn grantees_parse_from_jobs_dids_and_addresses_and_nothing_else() {
		let alice = AccountId32::new([1; 32]);
		let did = DidId::repeat_byte(2);
		assert_eq!(parse_grantee::<AccountId32>("job:42").ok(), Some(Grantee::Job(42)));
		assert_eq!(
			parse_grantee::<AccountId32>(&format_did(&did)).ok(),
			Some(Grantee::Institution(did))
		);
		assert_eq!(
			parse_grantee::<AccountId32>(&alice.to_ss58check()).ok(),
			Some(Grantee::Account(alice))
		);
		for bad in ["job:", "job:-1", "did:web:example.com", "5Grwva", &"5".repeat(10_000_000)] {
			let started = std::time::Instant::now();
			assert!(parse_grantee::<AccountId32>(bad).is_err(), "{bad:.20} accepted");
			assert!(started.elapsed() < std::time::Duration::from_millis(10));
		}
	}

	#[test]
	fn audit_records_name_their_block_and_event() {
		let record = AuditRecord::<AccountId32, u32> {
			block: 7,
			event: AuditEvent::Revoked { grant: 2, by: Authority::Guardian },
		};
		assert_eq!(
			audit_json(&record),
			json!({ "event": "revoked", "grant": 2, "by": "guardian", "block": 7 })
		);
	}

	#[test]
	fn request_decisions_name_who_asked_and_prunes_their_totals() {
		let researcher = AccountId32::new([1; 32]);
		let rejected = AuditRecord::<AccountId32, u32> {
			block: 3,
			event: AuditEvent::RequestRejected {
				request: 4,
				requester: researcher.clone(),
				grantee: Grantee::Account(researcher.clone()),
				scope: Scope::View,
				purposes: vec![Purpose::Research, Purpose::Education].try_into().unwrap(),
				by: Authority::Patient,
			},
		};
		let value = audit_json(&rejected);
		assert_eq!(value["requester"], researcher.to_ss58check().as_str());
		assert_eq!(value["grantee"]["account"], researcher.to_ss58check().as_str());
		assert_eq!(
			(value["event"].clone(), value["scope"].clone(), value["purposes"].clone()),
			(json!("requestRejected"), json!("view"), json!(["research", "education"]))
		);
		let pruned = AuditRecord::<AccountId32, u32> {
			block: 9,
			event: AuditEvent::Pruned {
				grant: 2,
				grantee: Grantee::Job(5),
				spent: PrivacyBudget {
					epsilon: FixedU64::from_rational(1, 2),
					..Default::default()
				},
				uses: 3,
			},
		};
		assert_eq!(
			audit_json(&pruned),
			json!({
				"event": "pruned",
				"grant": 2,
				"grantee": { "job": 5 },
				"spent": { "epsilon": "0.5", "delta": "0" },
				"uses": 3,
				"block": 9,
			})
		);
		let legacy = AuditRecord::<AccountId32, u32> {
			block: 1,
			event: AuditEvent::LegacyPruned { grant: 2 },
		};
		assert_eq!(
			audit_json(&legacy),
			json!({ "event": "pruned", "grant": 2, "legacy": true, "block": 1 })
		);
	}
}
