//! What the agent trains for a round, read from the node's JSON views of
//! the job, the round and the job's model, with every check that decides
//! whether it trains at all. The plan names the round's opening block, the
//! fork whose cohorts it trains for, which the agent hands over with its
//! update. For a masked job the plan also carries the round's
//! secure-aggregation view ([`Masking`]), and the agent reports a masked
//! weighted update instead of its model.

use std::collections::BTreeSet;

use serde_json::Value;
use twinnet_primitives::{
	did::{format_did, parse_did, DidId},
	federated::update_hash,
};
use twinnet_secagg::QuantizationError;

use crate::{agreement::AgreementError, dpsgd::Settings, masking::Masking};

/// A round the agent will train: the rows it may use, where it starts, how.
#[derive(Clone, Debug, PartialEq)]
pub struct RoundPlan {
	/// The hash of the parent of the block the round opened in: the fork
	/// whose cohorts the agent trains for. Its update is bound to it, and a
	/// masked job's seeds too.
	pub opening_block: [u8; 32],
	/// The twins the chain admitted for this institution (and charged).
	pub admitted: BTreeSet<DidId>,
	/// The starting model, in fixed point: the job's latest aggregate, or
	/// zeros.
	pub start: Vec<i32>,
	/// The job's DP-SGD settings.
	pub settings: Settings,
	/// The ε charged to every admitted twin for the round.
	pub epsilon_charged: f64,
	/// The ε the accountant gives for one round of the settings at the
	/// job's δ.
	pub epsilon_spent: f64,
	/// For a masked job, the job's update bound and the round's masking.
	pub masking: Option<Masking>,
}

/// Why the agent does not train a round, or does not reveal its seeds in
/// one.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
	/// A view lacks a field or has one of the wrong type.
	MalformedView(&'static str),
	/// The job is not running this round.
	NotRunning,
	/// The institution has no admitted cohort in the round.
	NotAdmitted,
	/// The job names other code than this agent's.
	OtherCode,
	/// The job's model is not a logistic regression on the local features.
	UnsupportedModel,
	/// The job's latest model is not the one the round started from.
	StartModelMismatch,
	/// The job's DP-SGD settings cannot run.
	BadSettings,
	/// The chain charges less ε per round than the settings spend.
	Undercharged {
		/// What the chain charges.
		charged: f64,
		/// What DP-SGD spends.
		spent: f64,
	},
	/// The job is masked and the agent was given no key agreement key.
	NoAgreementKey,
	/// The round lists no key agreement key for the institution, or not the
	/// public key of the agent's key file.
	AgreementKeyMismatch,
	/// The weighted update cannot be formed (records × bound overflows).
	Quantization(QuantizationError),
	/// No seed can be derived with a peer's key agreement key.
	Agreement(AgreementError),
	/// Seeds are asked for a round that is not in recovery.
	NotRecovering,
	/// Seeds are asked for a job whose reports are not masked.
	NotMasked,
	/// Seeds are asked of an institution that did not report in the round,
	/// or dropped.
	NotSurvivor,
	/// Seeds are asked for a round in which no institution dropped.
	NoneDropped,
}

impl std::fmt::Display for Refusal {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::MalformedView(field) => write!(f, "the node's view has no valid `{field}`"),
			Self::NotRunning => write!(f, "the job is not running this round"),
			Self::NotAdmitted => write!(f, "the institution has no admitted cohort in the round"),
			Self::OtherCode => write!(f, "the job names code other than this agent's"),
			Self::UnsupportedModel => {
				write!(f, "the job's model is not a logistic regression on the local features")
			},
			Self::StartModelMismatch => {
				write!(f, "the job's latest model is not the round's starting model")
			},
			Self::BadSettings => write!(f, "the job's DP-SGD settings cannot run"),
			Self::Undercharged { charged, spent } => {
				write!(f, "the chain charges epsilon {charged} per round, DP-SGD spends {spent}")
			},
			Self::NoAgreementKey => {
				write!(
					f,
					"the job is masked and the agent has no key agreement key (--agreement-key)"
				)
			},
			Self::AgreementKeyMismatch => write!(
				f,
				"the round does not list this agent's key agreement key for the institution"
			),
			Self::Quantization(error) => {
				write!(f, "the weighted update cannot be formed: {error:?}")
			},
			Self::Agreement(error) => write!(f, "{error}"),
			Self::NotRecovering => write!(f, "the round is not in recovery"),
			Self::NotMasked => write!(f, "the job's reports are not masked"),
			Self::NotSurvivor => write!(f, "the institution did not report in the round"),
			Self::NoneDropped => write!(f, "no institution dropped in the round"),
		}
	}
}

/// Field `name` of a view.
pub(crate) fn field<'a>(value: &'a Value, name: &'static str) -> Result<&'a Value, Refusal> {
	value.get(name).ok_or(Refusal::MalformedView(name))
}

fn decimal(value: &Value, name: &'static str) -> Result<f64, Refusal> {
	field(value, name)?
		.as_str()
		.and_then(|text| text.parse::<f64>().ok())
		.ok_or(Refusal::MalformedView(name))
}

/// Field `name` of a view, a number.
pub(crate) fn number(value: &Value, name: &'static str) -> Result<u64, Refusal> {
	field(value, name)?.as_u64().ok_or(Refusal::MalformedView(name))
}

/// Field `name` of a view, a hash (`0x` and 64 hex digits).
pub(crate) fn hash(value: &Value, name: &'static str) -> Result<[u8; 32], Refusal> {
	field(value, name)?
		.as_str()
		.and_then(parse_hash)
		.ok_or(Refusal::MalformedView(name))
}

/// Field `name` of a view, a list of DIDs.
pub(crate) fn dids(value: &Value, name: &'static str) -> Result<Vec<DidId>, Refusal> {
	field(value, name)?
		.as_array()
		.ok_or(Refusal::MalformedView(name))?
		.iter()
		.map(|did| {
			did.as_str()
				.and_then(|did| parse_did(did).ok())
				.ok_or(Refusal::MalformedView(name))
		})
		.collect()
}

/// Whether a job view's state is `status` (`running`, `recovering`) in
/// round `round`.
pub(crate) fn job_is(job: &Value, status: &str, round: u32) -> Result<bool, Refusal> {
	let state = field(job, "state")?;
	Ok(field(state, "status")?.as_str() == Some(status)
		&& number(state, "round")? == u64::from(round))
}

/// The `0x…` form in which the node's views show hashes.
pub fn hash_hex(hash: &[u8; 32]) -> String {
	let mut text = String::from("0x");
	for byte in hash {
		text.push_str(&format!("{byte:02x}"));
	}
	text
}

/// The hash a view shows as exactly `0x` and 64 hex digits.
pub fn parse_hash(text: &str) -> Option<[u8; 32]> {
	let digits = text.strip_prefix("0x")?;
	if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
		return None;
	}
	let mut hash = [0u8; 32];
	for (byte, pair) in hash.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
		*byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
	}
	Some(hash)
}

/// The DP-SGD settings of a job view.
pub fn settings_of(job: &Value) -> Result<Settings, Refusal> {
	let training = field(job, "training")?;
	Settings {
		learning_rate: decimal(training, "learningRate")?,
		local_steps: u32::try_from(number(training, "localSteps")?)
			.map_err(|_| Refusal::MalformedView("localSteps"))?,
		clip_norm: decimal(training, "clipNorm")?,
		noise_multiplier: decimal(training, "noiseMultiplier")?,
		sampling_rate: decimal(training, "samplingRate")?,
	}
	.validated()
	.map_err(|_| Refusal::BadSettings)
}

/// The ε that `settings` spend in one round at `delta`.
pub fn epsilon_per_round(settings: &Settings, delta: f64) -> Result<f64, Refusal> {
	let params = twinnet_dp::SgmParams {
		sampling_rate: settings.sampling_rate,
		noise_multiplier: settings.noise_multiplier,
		steps: settings.local_steps.into(),
	};
	twinnet_dp::epsilon_of(&params, delta).map_err(|_| Refusal::BadSettings)
}

impl RoundPlan {
	/// The plan for `institution`'s part in round `round` of the job, from
	/// the node's `federated_job`, `federated_round` and `federated_model`
	/// answers (all at one block), for local rows of `features` features.
	pub fn from_views(
		job: &Value,
		round_view: &Value,
		model_view: &Value,
		round: u32,
		institution: &DidId,
		features: usize,
	) -> Result<Self, Refusal> {
		if !job_is(job, "running", round)? {
			return Err(Refusal::NotRunning);
		}
		if field(job, "codeHash")?.as_str() != Some(hash_hex(&crate::code_hash()).as_str()) {
			return Err(Refusal::OtherCode);
		}
		let model_kind = field(job, "model")?;
		let trainable = field(model_kind, "kind")?.as_str() == Some("logisticRegression")
			&& number(model_kind, "features")? == features as u64;
		if !trainable {
			return Err(Refusal::UnsupportedModel);
		}
		let opening_block = hash(round_view, "openingBlock")?;
		let admitted = admitted_twins(round_view, institution)?;
		let start = start_model(round_view, model_view, features)?;
		let masking = Masking::from_views(job, round_view)?;
		let settings = settings_of(job)?;
		let per_round = field(job, "perRound")?;
		let epsilon_charged = decimal(per_round, "epsilon")?;
		let epsilon_spent = epsilon_per_round(&settings, decimal(per_round, "delta")?)?;
		// The chain stores ε with nine decimals: allow for its rounding.
		if epsilon_charged + 1e-9 < epsilon_spent {
			return Err(Refusal::Undercharged { charged: epsilon_charged, spent: epsilon_spent });
		}
		Ok(Self {
			opening_block,
			admitted,
			start,
			settings,
			epsilon_charged,
			epsilon_spent,
			masking,
		})
	}
}

/// The twins admitted to `institution`'s cohort in a round view.
fn admitted_twins(round: &Value, institution: &DidId) -> Result<BTreeSet<DidId>, Refusal> {
	let ours = format_did(institution);
	let cohort = field(round, "cohorts")?
		.as_array()
		.ok_or(Refusal::MalformedView("cohorts"))?
		.iter()
		.find(|cohort| cohort.get("institution").and_then(Value::as_str) == Some(ours.as_str()))
		.ok_or(Refusal::NotAdmitted)?;
	// An offered cohort is trained on as offered: the chain reserves all of
	// it or none when the node accepts it, before the update is reported.
	if !matches!(field(cohort, "status")?.as_str(), Some("offered" | "admitted")) {
		return Err(Refusal::NotAdmitted);
	}
	Ok(dids(cohort, "admitted")?.into_iter().collect())
}

/// The round's starting model, in fixed point: the job's latest aggregate
/// if the round committed to its hash, zeros if the round committed to none
/// (the zero hash: no round has released an aggregate yet).
fn start_model(round: &Value, model: &Value, features: usize) -> Result<Vec<i32>, Refusal> {
	let committed = field(round, "startModel")?
		.as_str()
		.ok_or(Refusal::MalformedView("startModel"))?;
	let Some(parameters) = model.get("parameters") else {
		return if committed == hash_hex(&[0; 32]) {
			Ok(vec![0; features.saturating_add(1)])
		} else {
			Err(Refusal::StartModelMismatch)
		};
	};
	let parameters: Vec<i32> = serde_json::from_value(parameters.clone())
		.map_err(|_| Refusal::MalformedView("parameters"))?;
	if hash_hex(&update_hash(&parameters).0) != committed {
		return Err(Refusal::StartModelMismatch);
	}
	if parameters.len() != features.saturating_add(1) {
		return Err(Refusal::UnsupportedModel);
	}
	Ok(parameters)
}

#[cfg(test)]
mod tests {
	#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
	use super::*;
	use serde_json::json;

	fn did(byte: u8) -> DidId {
		DidId::from([byte; 32])
	}

	fn job(epsilon: &str) -> Value {
		json!({
			"state": { "status": "running", "round": 1, "deadline": 40 },
			"codeHash": hash_hex(&crate::code_hash()),
			"model": { "kind": "logisticRegression", "features": 2, "parameters": 3 },
			"training": {
				"learningRate": "0.5",
				"localSteps": 5,
				"clipNorm": "1",
				"noiseMultiplier": "1.1",
				"samplingRate": "0.1",
			},
			"perRound": { "epsilon": epsilon, "delta": "0.00001" },
		})
	}

	const OPENING: [u8; 32] = [8; 32];

	fn round_view(start: &str, status: &str) -> Value {
		json!({
			"openingBlock": hash_hex(&OPENING),
			"startModel": start,
			"cohorts": [
				{ "institution": format_did(&did(7)), "status": "admitted",
				  "admitted": [format_did(&did(9))] },
				{ "institution": format_did(&did(1)), "status": status,
				  "admitted": [format_did(&did(2)), format_did(&did(3))] },
			],
		})
	}

	fn model_view(parameters: &[i32]) -> Value {
		json!({ "job": 0, "fractionBits": 16, "parameters": parameters })
	}

	fn plan(job: &Value, round: &Value, model: &Value) -> Result<RoundPlan, Refusal> {
		RoundPlan::from_views(job, round, model, 1, &did(1), 2)
	}

	#[test]
	fn a_round_is_planned_on_the_institution_s_admitted_twins_from_the_committed_model() {
		let parameters = [65_536, -32_768, 0];
		let start = hash_hex(&update_hash(&parameters).0);
		let planned = plan(&job("5"), &round_view(&start, "admitted"), &model_view(&parameters))
			.expect("planned");
		assert_eq!(planned.opening_block, OPENING);
		assert_eq!(planned.admitted, BTreeSet::from([did(2), did(3)]));
		assert_eq!(planned.start, parameters.to_vec());
		assert_eq!(planned.masking, None);
		assert_eq!(planned.settings.local_steps, 5);
		assert!(planned.epsilon_spent > 0.0 && planned.epsilon_spent <= 5.0, "{planned:?}");
		// A cohort offered and not yet accepted is trained on as offered:
		// the node accepts it (all its twins reserved) before reporting.
		let offered = plan(&job("5"), &round_view(&start, "offered"), &model_view(&parameters))
			.expect("planned");
		assert_eq!(offered.admitted, BTreeSet::from([did(2), did(3)]));
		// Before any aggregate: zeros, if the round committed to none.
		let zero = hash_hex(&[0; 32]);
		let first = plan(&job("5"), &round_view(&zero, "admitted"), &json!({ "job": 0 }));
		assert_eq!(first.unwrap().start, vec![0; 3]);
	}

	#[test]
	fn rounds_the_agent_must_not_train_are_refused() {
		let parameters = [1, 2, 3];
		let start = hash_hex(&update_hash(&parameters).0);
		let good_round = round_view(&start, "admitted");
		let model = model_view(&parameters);
		let with = |change: &dyn Fn(&mut Value)| {
			let mut value = job("5");
			change(&mut value);
			value
		};
		let refused =
			|job: &Value, round: &Value, model: &Value| plan(job, round, model).unwrap_err();
		// Another round, or a job no longer running.
		assert_eq!(
			refused(&with(&|j| j["state"]["round"] = json!(2)), &good_round, &model),
			Refusal::NotRunning
		);
		assert_eq!(
			refused(&with(&|j| j["state"] = json!({ "status": "completed" })), &good_round, &model),
			Refusal::NotRunning
		);
		// Other code, another model.
		assert_eq!(
			refused(&with(&|j| j["codeHash"] = json!(hash_hex(&[1; 32]))), &good_round, &model),
			Refusal::OtherCode
		);
		assert_eq!(
			refused(&with(&|j| j["model"]["features"] = json!(3)), &good_round, &model),
			Refusal::UnsupportedModel
		);
		assert_eq!(
			refused(&with(&|j| j["model"]["kind"] = json!("mlp")), &good_round, &model),
			Refusal::UnsupportedModel
		);
		// Not admitted, or not a participant at all.
		for sat_out in ["belowFloor", "lapsed", "noAgreementKey"] {
			assert_eq!(
				refused(&job("5"), &round_view(&start, sat_out), &model),
				Refusal::NotAdmitted
			);
		}
		assert_eq!(
			RoundPlan::from_views(&job("5"), &good_round, &model, 1, &did(4), 2).unwrap_err(),
			Refusal::NotAdmitted
		);
		// A model that is not the round's start, or a start without a model.
		assert_eq!(
			refused(&job("5"), &good_round, &model_view(&[1, 2, 4])),
			Refusal::StartModelMismatch
		);
		assert_eq!(
			refused(&job("5"), &good_round, &json!({ "job": 0 })),
			Refusal::StartModelMismatch
		);
		// Settings that cannot run, and a chain charging less than they spend.
		assert_eq!(
			refused(&with(&|j| j["training"]["samplingRate"] = json!("0")), &good_round, &model),
			Refusal::BadSettings
		);
		assert!(matches!(refused(&job("0.01"), &good_round, &model), Refusal::Undercharged { .. }));
		// A malformed view names the field.
		assert_eq!(
			refused(&with(&|j| j["training"]["clipNorm"] = json!(1)), &good_round, &model),
			Refusal::MalformedView("clipNorm")
		);
	}

	#[test]
	fn a_round_view_without_a_valid_opening_block_is_refused() {
		let parameters = [1, 2, 3];
		let start = hash_hex(&update_hash(&parameters).0);
		let model = model_view(&parameters);
		let refused = |change: &dyn Fn(&mut Value)| {
			let mut round = round_view(&start, "admitted");
			change(&mut round);
			plan(&job("5"), &round, &model).unwrap_err()
		};
		let malformed = [
			refused(&|r| {
				r.as_object_mut().unwrap().remove("openingBlock");
			}),
			refused(&|r| r["openingBlock"] = Value::Null),
			refused(&|r| r["openingBlock"] = json!("0x1234")),
			refused(&|r| r["openingBlock"] = json!(format!("0x{}", "g".repeat(64)))),
			refused(&|r| r["openingBlock"] = json!(hash_hex(&OPENING).replace("0x", ""))),
		];
		for refusal in malformed {
			assert_eq!(refusal, Refusal::MalformedView("openingBlock"));
		}
	}
}
