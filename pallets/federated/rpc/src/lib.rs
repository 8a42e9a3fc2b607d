//! JSON-RPC of pallet-federated, for researchers following their jobs,
//! institutions' operators and auditors checking whose data a round used
//! (docs/federated.md).
//!
//! - `federated_job(job, at?)`: a job: its researcher, model, code hash,
//!   purpose, participants (institution, dataset, payee), round settings,
//!   DP-SGD settings, per-round privacy cost (`perRound`), reward, state,
//!   round counters, escrow and deposit.
//! - `federated_round(job, round, at?)`: a round's proof record: when it
//!   opened and its deadline, the model it started from, the institutions
//!   expected and those that reported, how it ended (`outcome`), and each
//!   participant's cohort with its admitted twins and the excluded ones
//!   with why consent refused them.
//! - `federated_twinUsage(job, round, twin, at?)`: whether a twin's rows
//!   were used in a round (`used`, with its institution, what it was
//!   charged and the aggregate's hash), are admitted to the open round
//!   (`admitted`), were admitted but released nothing (`notUsed`), were
//!   refused by consent (`excluded`, with why), or are in no cohort of it
//!   (`notInRound`, also for a round that does not exist).
//! - `federated_model(job, at?)`: the job's latest aggregate, the model its
//!   next round starts from: fixed-point `parameters` (units of
//!   2^-`fractionBits`) and their `hash` (the round's `aggregateHash`),
//!   both left out before a round released one.
//! - `federated_rounds(job, startAfter?, limit?, at?)`: a page of the job's
//!   recorded round numbers, ascending; empty for a job that does not
//!   exist.
//!
//! A page is `{ "job", "rounds", "next" }`: `next` is the `startAfter` of
//! the next page (the last round number), or `null` when the page is the
//! last (shorter than `limit`).
//!
//! State-like fields are objects named by `status` with the fields of that
//! status (`{ "status": "running", "round": 2, "deadline": 120 }`). Hashes
//! are `0x`-prefixed hex, DIDs `did:twin:…`, accounts SS58, balances
//! decimal strings, epsilon, delta and the DP-SGD settings exact decimal
//! strings (`"1.5"`, `"0.000001"`); absent fields are left out. Errors have
//! the codes the datasets RPC uses: [`INVALID_PARAMS`] for malformed input
//! (a bad DID, a limit not from 1 to 100), [`NOT_FOUND`] for a job or
//! round that does not exist, and -32603 when the runtime call fails.

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
	consent::{ConsentDenied, PrivacyBudget},
	datasets::AccessDenied,
	did::{format_did, parse_did, DidId, MAX_DID_LENGTH},
	federated::{
		update_hash, CohortStatus, CohortView, FailureReason, JobId, JobState, JobView,
		MaskedRoundView, ModelKind, RoundOutcome, RoundView, Training, TwinUsage, FRACTION_BITS,
	},
	format_decimal, format_fixed,
};

pub use pallet_federated_runtime_api::FederatedApi as FederatedRuntimeApi;
use pallet_federated_runtime_api::MAX_PAGE;

/// Malformed input: a bad DID, a limit not from 1 to 100.
pub const INVALID_PARAMS: i32 = jsonrpsee::types::error::INVALID_PARAMS_CODE;
/// No job has the id, or the job has no such round.
pub const NOT_FOUND: i32 = 3001;

/// The `federated_*` RPC methods.
#[rpc(server)]
pub trait FederatedApi<BlockHash> {
	/// One job.
	#[method(name = "federated_job")]
	fn job(&self, job: JobId, at: Option<BlockHash>) -> RpcResult<Value>;

	/// One round of a job, with its cohorts.
	#[method(name = "federated_round")]
	fn round(&self, job: JobId, round: u32, at: Option<BlockHash>) -> RpcResult<Value>;

	/// Whether a twin's rows were used in a round of a job.
	#[method(name = "federated_twinUsage")]
	fn twin_usage(
		&self,
		job: JobId,
		round: u32,
		twin: String,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;

	/// A job's latest aggregate.
	#[method(name = "federated_model")]
	fn model(&self, job: JobId, at: Option<BlockHash>) -> RpcResult<Value>;

	/// A page of a job's round numbers, ascending.
	#[method(name = "federated_rounds")]
	fn rounds(
		&self,
		job: JobId,
		start_after: Option<u32>,
		limit: Option<u32>,
		at: Option<BlockHash>,
	) -> RpcResult<Value>;
}

/// Implements [`FederatedApiServer`] on a client.
pub struct Federated<C, Block, AccountId, Balance> {
	client: Arc<C>,
	_marker: PhantomData<(Block, AccountId, Balance)>,
}

impl<C, Block, AccountId, Balance> Federated<C, Block, AccountId, Balance> {
	/// The RPC handler over `client`.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _marker: PhantomData }
	}
}

fn error(code: i32, message: &str, data: Option<Value>) -> ErrorObjectOwned {
	ErrorObject::owned(code, message, data)
}

/// An error from the runtime, which malformed input never causes.
fn internal_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
	error(
		jsonrpsee::types::error::INTERNAL_ERROR_CODE,
		"runtime API call failed",
		Some(json!(e.to_string())),
	)
}

/// A parameter that is not what `expected` says; long input is cut short.
fn invalid_param(expected: &str, given: &str) -> ErrorObjectOwned {
	let shown: String = given.chars().take(MAX_DID_LENGTH).collect();
	error(INVALID_PARAMS, expected, Some(json!(shown)))
}

/// No job has the id `job`.
pub fn job_not_found(job: JobId) -> ErrorObjectOwned {
	error(NOT_FOUND, "no job has this id", Some(json!({ "job": job })))
}

/// Job `job` (which may not exist either) has no round `round`.
pub fn round_not_found(job: JobId, round: u32) -> ErrorObjectOwned {
	error(NOT_FOUND, "the job has no such round", Some(json!({ "job": job, "round": round })))
}

/// A `did:twin` DID parameter named `name`, length-checked before decoding
/// by the parser every RPC shares.
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

fn hash_json(hash: &H256) -> Value {
	json!(format!("{hash:?}"))
}

fn did_list(dids: &[DidId]) -> Value {
	Value::Array(dids.iter().map(|did| json!(format_did(did))).collect())
}

/// A privacy budget: epsilon and delta as exact decimal strings, with the
/// formatter the consent RPC uses.
pub fn budget_json(budget: &PrivacyBudget) -> Value {
	json!({ "epsilon": budget.epsilon_decimal(), "delta": budget.delta_decimal() })
}

/// Why consent refused a twin, as the datasets RPC names it after `consent:`.
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

fn access_denied_name(denied: AccessDenied) -> &'static str {
	match denied {
		AccessDenied::UnknownDataset => "unknownDataset",
		AccessDenied::Revoked => "revoked",
		AccessDenied::NoLicence => "noLicence",
		AccessDenied::AlgorithmNotAllowed => "algorithmNotAllowed",
		AccessDenied::TooFewContributors => "tooFewContributors",
	}
}

/// A cohort's status: `offered`, `admitted`, `belowFloor`,
/// `noAgreementKey`, `lapsed`, or `accessDenied:` and why the dataset may
/// not be used (such as `accessDenied:noLicence`).
pub fn cohort_status_name(status: CohortStatus) -> String {
	match status {
		CohortStatus::Admitted => "admitted".into(),
		CohortStatus::BelowFloor => "belowFloor".into(),
		CohortStatus::NoAgreementKey => "noAgreementKey".into(),
		CohortStatus::Offered => "offered".into(),
		CohortStatus::Lapsed => "lapsed".into(),
		CohortStatus::AccessDenied(denied) => {
			format!("accessDenied:{}", access_denied_name(denied))
		},
	}
}

/// The model a job trains, with its parameter count.
fn model_kind_json(model: &ModelKind) -> Value {
	let mut value = match *model {
		ModelKind::LogisticRegression { features } => {
			json!({ "kind": "logisticRegression", "features": features })
		},
		ModelKind::Mlp { features, hidden } => {
			json!({ "kind": "mlp", "features": features, "hidden": hidden })
		},
	};
	if let (Some(parameters), Value::Object(fields)) = (model.parameters(), &mut value) {
		fields.insert("parameters".into(), json!(parameters));
	}
	value
}

/// The DP-SGD settings, each fixed-point number an exact decimal string.
fn training_json(training: &Training) -> Value {
	json!({
		"learningRate": format_fixed(training.learning_rate),
		"localSteps": training.local_steps,
		"clipNorm": format_fixed(training.clip_norm),
		"noiseMultiplier": format_fixed(training.noise_multiplier),
		"samplingRate": format_decimal(training.sampling_rate.deconstruct().into(), 9),
	})
}

/// A job's state: `{ "status" }` with the round and how many cohorts are
/// in while opening, the open round and its deadline while running, the
/// reason when failed.
pub fn job_state_json<BlockNumber: serde::Serialize>(state: &JobState<BlockNumber>) -> Value {
	match state {
		JobState::Pending => json!({ "status": "pending" }),
		JobState::Opening { round, admitted } => {
			json!({ "status": "opening", "round": round, "admitted": admitted })
		},
		JobState::Running { round, deadline } => {
			json!({ "status": "running", "round": round, "deadline": deadline })
		},
		JobState::Recovering { round, deadline } => {
			json!({ "status": "recovering", "round": round, "deadline": deadline })
		},
		JobState::Completed => json!({ "status": "completed" }),
		JobState::Failed(reason) => json!({
			"status": "failed",
			"reason": match reason {
				FailureReason::QuorumNotReached => "quorumNotReached",
				FailureReason::DepositUnavailable => "depositUnavailable",
			},
		}),
		JobState::Cancelled => json!({ "status": "cancelled" }),
	}
}

/// A job as `federated_job` returns it; absent fields are left out.
pub fn job_json<AccountId, Balance, BlockNumber>(
	view: &JobView<AccountId, Balance, BlockNumber>,
) -> Value
where
	AccountId: Ss58Codec,
	Balance: ToString,
	BlockNumber: serde::Serialize,
{
	let participants: Vec<Value> = view
		.participants
		.iter()
		.map(|p| {
			json!({
				"institution": format_did(&p.institution),
				"dataset": format_did(&p.dataset),
				"payee": p.payee.to_ss58check(),
			})
		})
		.collect();
	let mut fields = serde_json::Map::new();
	let mut put = |key: &str, value: Value| fields.insert(key.into(), value);
	put("id", json!(view.id));
	put("researcher", json!(view.researcher.to_ss58check()));
	put("model", model_kind_json(&view.model));
	if let Some(model_did) = &view.model_did {
		put("modelDid", json!(format_did(model_did)));
	}
	put("codeHash", hash_json(&view.code_hash));
	put("purpose", json!(view.purpose.name()));
	put("participants", Value::Array(participants));
	put("rounds", json!(view.rounds));
	put("minParticipants", json!(view.min_participants));
	put("roundTimeout", json!(view.round_timeout));
	put("maxRetries", json!(view.max_retries));
	put("training", training_json(&view.training));
	put("perRound", budget_json(&view.per_round));
	put("rewardPerUpdate", json!(view.reward_per_update.to_string()));
	let masking = view
		.masking
		.as_ref()
		.map(|masking| json!({ "updateBound": masking.update_bound }));
	put("masking", json!(masking));
	put("state", job_state_json(&view.state));
	put("nextRound", json!(view.next_round));
	put("completedRounds", json!(view.completed_rounds));
	put("escrow", json!(view.escrow.to_string()));
	put("deposit", json!(view.deposit.to_string()));
	put("createdAt", json!(view.created_at));
	Value::Object(fields)
}

/// How a round ended: `{ "status" }`, with the aggregate's hash, the
/// update root and the records weighted over once aggregated.
pub fn outcome_json(outcome: &RoundOutcome) -> Value {
	match outcome {
		RoundOutcome::Open => json!({ "status": "open" }),
		RoundOutcome::Aggregated { aggregate_hash, update_root, records } => json!({
			"status": "aggregated",
			"aggregateHash": hash_json(aggregate_hash),
			"updateRoot": hash_json(update_root),
			"records": records,
		}),
		RoundOutcome::NoQuorum => json!({ "status": "noQuorum" }),
		RoundOutcome::Cancelled => json!({ "status": "cancelled" }),
		RoundOutcome::RecoveryFailed => json!({ "status": "recoveryFailed" }),
	}
}

/// A participant's cohort in a round: its status, the twins admitted, the
/// twins excluded with why, and whether it reported.
pub fn cohort_json(cohort: &CohortView) -> Value {
	let excluded: Vec<Value> = cohort
		.excluded
		.iter()
		.map(
			|(twin, reason)| json!({ "twin": format_did(twin), "reason": consent_denied_name(*reason) }),
		)
		.collect();
	json!({
		"institution": format_did(&cohort.institution),
		"status": cohort_status_name(cohort.status),
		"admitted": did_list(&cohort.admitted),
		"excluded": excluded,
		"reported": cohort.reported,
	})
}

/// A masked round's secure-aggregation record as `federated_round` shows it.
pub fn masked_round_json<BlockNumber: serde::Serialize>(
	masking: &MaskedRoundView<BlockNumber>,
) -> Value {
	let keys: Vec<Value> = masking
		.agreement_keys
		.iter()
		.map(|(institution, key)| {
			json!({ "institution": format_did(institution), "key": hash_json(&H256(*key)) })
		})
		.collect();
	json!({
		"agreementKeys": keys,
		"dropped": did_list(&masking.dropped),
		"revealed": did_list(&masking.revealed),
		"recoveryDeadline": masking.recovery_deadline,
		"maskedSumHash": masking.masked_sum_hash.as_ref().map(hash_json),
	})
}

/// A round as `federated_round` returns it (`masking` null for a plain job).
pub fn round_json<BlockNumber: serde::Serialize>(view: &RoundView<BlockNumber>) -> Value {
	json!({
		"job": view.job,
		"round": view.round,
		"openedAt": view.opened_at,
		"openingBlock": hash_json(&view.opening_block),
		"deadline": view.deadline,
		"startModel": hash_json(&view.start_model),
		"expected": did_list(&view.expected),
		"reporters": did_list(&view.reporters),
		"admittedTwins": view.admitted_twins,
		"excludedTwins": view.excluded_twins,
		"outcome": outcome_json(&view.outcome),
		"cohorts": view.cohorts.iter().map(cohort_json).collect::<Vec<_>>(),
		"commitment": view.commitment,
		"masking": view.masking.as_ref().map(masked_round_json),
	})
}

/// A twin's use in a round as `federated_twinUsage` returns it: the job,
/// round and twin asked about, the `status` and its evidence.
pub fn twin_usage_json(job: JobId, round: u32, twin: &DidId, usage: &TwinUsage) -> Value {
	let mut fields = serde_json::Map::new();
	let mut put = |key: &str, value: Value| fields.insert(key.into(), value);
	put("job", json!(job));
	put("round", json!(round));
	put("twin", json!(format_did(twin)));
	match usage {
		TwinUsage::Used { institution, charged, aggregate_hash } => {
			put("status", json!("used"));
			put("institution", json!(format_did(institution)));
			put("charged", budget_json(charged));
			put("aggregateHash", hash_json(aggregate_hash));
		},
		TwinUsage::Admitted { institution } => {
			put("status", json!("admitted"));
			put("institution", json!(format_did(institution)));
		},
		TwinUsage::NotUsed { institution } => {
			put("status", json!("notUsed"));
			put("institution", json!(format_did(institution)));
		},
		TwinUsage::Excluded { institution, reason } => {
			put("status", json!("excluded"));
			put("institution", json!(format_did(institution)));
			put("reason", json!(consent_denied_name(*reason)));
		},
		TwinUsage::NotInRound => {
			put("status", json!("notInRound"));
		},
		TwinUsage::Offered { institution } => {
			put("status", json!("offered"));
			put("institution", json!(format_did(institution)));
		},
	}
	Value::Object(fields)
}

/// A job's latest aggregate as `federated_model` returns it: its
/// parameters and their hash left out before a round released one.
pub fn model_json(job: JobId, parameters: Option<&[i32]>) -> Value {
	let mut fields = serde_json::Map::new();
	fields.insert("job".into(), json!(job));
	fields.insert("fractionBits".into(), json!(FRACTION_BITS));
	if let Some(parameters) = parameters {
		fields.insert("parameters".into(), json!(parameters));
		fields.insert("hash".into(), hash_json(&update_hash(parameters)));
	}
	Value::Object(fields)
}

/// A page of `job`'s round numbers, with the cursor of the next page: the
/// last round number, `null` if the page is shorter than `limit` (the last).
pub fn rounds_page_json(job: JobId, rounds: &[u32], limit: u32) -> Value {
	let next = match rounds.last() {
		Some(last) if rounds.len() >= limit as usize => json!(last),
		_ => Value::Null,
	};
	json!({ "job": job, "rounds": rounds, "next": next })
}

impl<C, Block, AccountId, Balance> Federated<C, Block, AccountId, Balance>
where
	Block: BlockT,
	C: HeaderBackend<Block>,
{
	fn at(&self, at: Option<Block::Hash>) -> Block::Hash {
		at.unwrap_or_else(|| self.client.info().best_hash)
	}
}

impl<C, Block, AccountId, BlockNumber, Balance> FederatedApiServer<Block::Hash>
	for Federated<C, Block, AccountId, Balance>
where
	Block: BlockT<Header: sp_runtime::traits::Header<Number = BlockNumber>>,
	BlockNumber: Codec + serde::Serialize,
	AccountId: Codec + Ss58Codec + Send + Sync + 'static,
	Balance: Codec + ToString + Send + Sync + 'static,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: FederatedRuntimeApi<Block, AccountId, Balance, BlockNumber>,
{
	fn job(&self, job: JobId, at: Option<Block::Hash>) -> RpcResult<Value> {
		let view = self
			.client
			.runtime_api()
			.job(self.at(at), job)
			.map_err(internal_error)?
			.ok_or_else(|| job_not_found(job))?;
		Ok(job_json(&view))
	}

	fn round(&self, job: JobId, round: u32, at: Option<Block::Hash>) -> RpcResult<Value> {
		let view = self
			.client
			.runtime_api()
			.round(self.at(at), job, round)
			.map_err(internal_error)?
			.ok_or_else(|| round_not_found(job, round))?;
		Ok(round_json(&view))
	}

	fn twin_usage(
		&self,
		job: JobId,
		round: u32,
		twin: String,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let twin = parse_did_param("twin", &twin)?;
		let usage = self
			.client
			.runtime_api()
			.twin_usage(self.at(at), job, round, twin)
			.map_err(internal_error)?;
		Ok(twin_usage_json(job, round, &twin, &usage))
	}

	fn model(&self, job: JobId, at: Option<Block::Hash>) -> RpcResult<Value> {
		let at = self.at(at);
		let parameters = self.client.runtime_api().model(at, job).map_err(internal_error)?;
		// No aggregate yet, or no job: only the second is an error.
		if parameters.is_none()
			&& self.client.runtime_api().job(at, job).map_err(internal_error)?.is_none()
		{
			return Err(job_not_found(job));
		}
		Ok(model_json(job, parameters.as_deref()))
	}

	fn rounds(
		&self,
		job: JobId,
		start_after: Option<u32>,
		limit: Option<u32>,
		at: Option<Block::Hash>,
	) -> RpcResult<Value> {
		let limit = page_limit(limit)?;
		let rounds = self
			.client
			.runtime_api()
			.rounds_of(self.at(at), job, start_after, limit)
			.map_err(internal_error)?;
		Ok(rounds_page_json(job, &rounds, limit))
	}
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

	use super::*;
	use sp_runtime::{AccountId32, FixedU64, Perbill, Perquintill};
	use std::time::{Duration, Instant};
	use twinnet_primitives::consent::Purpose;
	use twinnet_primitives::federated::ParticipantView;

	fn did(n: u8) -> DidId {
		DidId::repeat_byte(n)
	}

	#[test]
	fn dids_parse_only_as_did_twin_and_fast() {
		assert_eq!(parse_did_param("twin", &format_did(&did(7))).unwrap(), did(7));
		let ten_mib = format!("did:twin:{}", "1".repeat(10 * 1024 * 1024));
		for bad in [
			"",
			"did:twin:",
			"did:web:example.com",
			"did:twin:0OIl",
			&format_did(&did(7))[1..],
			&ten_mib,
		] {
			let started = Instant::now();
			let error = parse_did_param("twin", bad).unwrap_err();
			assert!(started.elapsed() < Duration::from_millis(10), "{bad:.20} took too long");
			assert_eq!(error.code(), INVALID_PARAMS);
			assert_eq!(error.message(), "twin must be a did:twin DID");
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
	fn unknown_jobs_and_rounds_are_not_found_with_what_was_asked() {
		let error = job_not_found(7);
		assert_eq!(error.code(), NOT_FOUND);
		assert_eq!(error.data().unwrap().get(), r#"{"job":7}"#);
		let error = round_not_found(7, 3);
		assert_eq!(error.code(), NOT_FOUND);
		assert_eq!(error.data().unwrap().get(), r#"{"job":7,"round":3}"#);
		assert_eq!(internal_error("boom").code(), -32603);
	}

	fn job() -> JobView<AccountId32, u128, u32> {
		JobView {
			id: 4,
			researcher: AccountId32::new([1; 32]),
			model: ModelKind::Mlp { features: 8, hidden: 4 },
			model_did: Some(did(2)),
			code_hash: H256::repeat_byte(3),
			purpose: Purpose::ModelTraining,
			participants: vec![ParticipantView {
				institution: did(4),
				dataset: did(5),
				payee: AccountId32::new([6; 32]),
			}],
			rounds: 10,
			min_participants: 1,
			round_timeout: 20,
			max_retries: 3,
			training: Training {
				learning_rate: FixedU64::from_rational(1, 20),
				local_steps: 50,
				clip_norm: FixedU64::from_u32(1),
				noise_multiplier: FixedU64::from_rational(11, 10),
				sampling_rate: Perbill::from_percent(1),
			},
			per_round: PrivacyBudget {
				epsilon: FixedU64::from_rational(1, 4),
				delta: Perquintill::from_parts(1_000_000_000),
			},
			reward_per_update: 10u128.pow(20),
			masking: None,
			state: JobState::Running { round: 2, deadline: 120 },
			next_round: 3,
			completed_rounds: 2,
			escrow: 8,
			deposit: 9,
			created_at: 42,
		}
	}

	#[test]
	fn jobs_render_with_settings_budget_and_state() {
		let value = job_json(&job());
		assert_eq!(value["id"], 4);
		assert_eq!(value["researcher"], AccountId32::new([1; 32]).to_ss58check());
		assert_eq!(
			value["model"],
			json!({ "kind": "mlp", "features": 8, "hidden": 4, "parameters": 41 })
		);
		assert_eq!(value["modelDid"], format_did(&did(2)));
		assert_eq!(value["codeHash"], format!("0x{}", "03".repeat(32)));
		assert_eq!(value["purpose"], "modelTraining");
		assert_eq!(
			value["participants"],
			json!([{
				"institution": format_did(&did(4)),
				"dataset": format_did(&did(5)),
				"payee": AccountId32::new([6; 32]).to_ss58check(),
			}])
		);
		assert_eq!(
			value["training"],
			json!({
				"learningRate": "0.05",
				"localSteps": 50,
				"clipNorm": "1",
				"noiseMultiplier": "1.1",
				"samplingRate": "0.01",
			})
		);
		assert_eq!(value["perRound"], json!({ "epsilon": "0.25", "delta": "0.000000001" }));
		assert_eq!(value["rewardPerUpdate"], "100000000000000000000");
		assert_eq!(value["state"], json!({ "status": "running", "round": 2, "deadline": 120 }));
		assert_eq!(
			(value["nextRound"].clone(), value["completedRounds"].clone()),
			(json!(3), json!(2))
		);
		assert_eq!((value["escrow"].clone(), value["deposit"].clone()), (json!("8"), json!("9")));
		assert_eq!(
			(value["roundTimeout"].clone(), value["createdAt"].clone()),
			(json!(20), json!(42))
		);

		let anonymous = JobView {
			model_did: None,
			model: ModelKind::LogisticRegression { features: 3 },
			state: JobState::Failed(FailureReason::QuorumNotReached),
			..job()
		};
		let value = job_json(&anonymous);
		assert!(value.get("modelDid").is_none());
		assert_eq!(
			value["model"],
			json!({ "kind": "logisticRegression", "features": 3, "parameters": 4 })
		);
		assert_eq!(value["state"], json!({ "status": "failed", "reason": "quorumNotReached" }));
	}

	#[test]
	fn job_states_name_their_status() {
		assert_eq!(job_state_json::<u32>(&JobState::Pending), json!({ "status": "pending" }));
		assert_eq!(
			job_state_json::<u32>(&JobState::Opening { round: 1, admitted: 3 }),
			json!({ "status": "opening", "round": 1, "admitted": 3 })
		);
		assert_eq!(job_state_json::<u32>(&JobState::Completed), json!({ "status": "completed" }));
		assert_eq!(job_state_json::<u32>(&JobState::Cancelled), json!({ "status": "cancelled" }));
		assert_eq!(
			job_state_json::<u32>(&JobState::Failed(FailureReason::DepositUnavailable)),
			json!({ "status": "failed", "reason": "depositUnavailable" })
		);
	}

	#[test]
	fn rounds_render_with_their_cohorts_and_outcome() {
		let view = RoundView::<u32> {
			job: 4,
			round: 1,
			opened_at: 100,
			opening_block: H256::repeat_byte(6),
			deadline: 120,
			start_model: H256::repeat_byte(7),
			expected: vec![did(4)],
			reporters: vec![did(4)],
			admitted_twins: 2,
			excluded_twins: 1,
			outcome: RoundOutcome::Aggregated {
				aggregate_hash: H256::repeat_byte(8),
				update_root: H256::repeat_byte(9),
				records: 5000,
			},
			cohorts: vec![
				CohortView {
					institution: did(4),
					status: CohortStatus::Admitted,
					admitted: vec![did(10), did(11)],
					excluded: vec![(did(12), ConsentDenied::BudgetExceeded)],
					reported: true,
				},
				CohortView {
					institution: did(5),
					status: CohortStatus::AccessDenied(AccessDenied::NoLicence),
					admitted: vec![],
					excluded: vec![],
					reported: false,
				},
			],
			commitment: Some(17),
			masking: None,
		};
		assert_eq!(
			round_json(&view),
			json!({
				"job": 4,
				"round": 1,
				"openedAt": 100,
				"openingBlock": format!("0x{}", "06".repeat(32)),
				"deadline": 120,
				"startModel": format!("0x{}", "07".repeat(32)),
				"expected": [format_did(&did(4))],
				"reporters": [format_did(&did(4))],
				"admittedTwins": 2,
				"excludedTwins": 1,
				"outcome": {
					"status": "aggregated",
					"aggregateHash": format!("0x{}", "08".repeat(32)),
					"updateRoot": format!("0x{}", "09".repeat(32)),
					"records": 5000,
				},
				"cohorts": [
					{
						"institution": format_did(&did(4)),
						"status": "admitted",
						"admitted": [format_did(&did(10)), format_did(&did(11))],
						"excluded": [{ "twin": format_did(&did(12)), "reason": "budgetExceeded" }],
						"reported": true,
					},
					{
						"institution": format_did(&did(5)),
						"status": "accessDenied:noLicence",
						"admitted": [],
						"excluded": [],
						"reported": false,
					},
				],
				"commitment": 17,
				"masking": null,
			})
		);
		assert_eq!(outcome_json(&RoundOutcome::Open), json!({ "status": "open" }));
		assert_eq!(outcome_json(&RoundOutcome::NoQuorum), json!({ "status": "noQuorum" }));
		assert_eq!(cohort_status_name(CohortStatus::BelowFloor), "belowFloor");
		assert_eq!(cohort_status_name(CohortStatus::Offered), "offered");
		assert_eq!(cohort_status_name(CohortStatus::Lapsed), "lapsed");
	}

	#[test]
	fn twin_usage_names_its_status_and_evidence() {
		let (twin, institution) = (did(10), did(4));
		let usage = |usage: TwinUsage| twin_usage_json(4, 1, &twin, &usage);
		let asked = json!({ "job": 4, "round": 1, "twin": format_did(&twin) });
		let with = |extra: Value| {
			let mut value = asked.clone();
			value.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
			value
		};
		let charged = PrivacyBudget {
			epsilon: FixedU64::from_rational(3, 2),
			delta: Perquintill::from_parts(1_000_000_000_000),
		};
		assert_eq!(
			usage(TwinUsage::Used { institution, charged, aggregate_hash: H256::repeat_byte(8) }),
			with(json!({
				"status": "used",
				"institution": format_did(&institution),
				"charged": { "epsilon": "1.5", "delta": "0.000001" },
				"aggregateHash": format!("0x{}", "08".repeat(32)),
			}))
		);
		assert_eq!(
			usage(TwinUsage::Admitted { institution }),
			with(json!({ "status": "admitted", "institution": format_did(&institution) }))
		);
		assert_eq!(
			usage(TwinUsage::NotUsed { institution }),
			with(json!({ "status": "notUsed", "institution": format_did(&institution) }))
		);
		assert_eq!(
			usage(TwinUsage::Excluded { institution, reason: ConsentDenied::Revoked }),
			with(json!({
				"status": "excluded",
				"institution": format_did(&institution),
				"reason": "revoked",
			}))
		);
		assert_eq!(usage(TwinUsage::NotInRound), with(json!({ "status": "notInRound" })));
		assert_eq!(
			usage(TwinUsage::Offered { institution }),
			with(json!({ "status": "offered", "institution": format_did(&institution) }))
		);
	}

	#[test]
	fn models_carry_their_parameters_and_hash_once_aggregated() {
		let parameters = [65536, -32768, 0];
		assert_eq!(
			model_json(4, Some(&parameters)),
			json!({
				"job": 4,
				"fractionBits": 16,
				"parameters": [65536, -32768, 0],
				"hash": format!("{:?}", update_hash(&parameters)),
			})
		);
		assert_eq!(model_json(4, None), json!({ "job": 4, "fractionBits": 16 }));
	}

	#[test]
	fn round_pages_name_the_next_cursor_until_the_last() {
		assert_eq!(
			rounds_page_json(4, &[0, 1], 2),
			json!({ "job": 4, "rounds": [0, 1], "next": 1 })
		);
		assert_eq!(rounds_page_json(4, &[0, 1], 3)["next"], Value::Null);
		assert_eq!(rounds_page_json(4, &[], 1), json!({ "job": 4, "rounds": [], "next": null }));
	}
}
