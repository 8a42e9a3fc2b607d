//! End to end: federated logistic regression with DP-SGD on the Wisconsin
//! diagnostic breast-cancer data (569 records, `data/breast_cancer.csv`),
//! one real `twinnet-node` and three real `twinnet-agent` processes.
//!
//! Every record is a patient twin in the custody of one of three
//! institutions (Bob's, Charlie's, Dave's), listed in that institution's
//! dataset and covered by the patient's compute consent to it; the cohort
//! is created at genesis, in a chain spec built from the dev preset with
//! the cohort added (`twins`, `consent`, `datasets` genesis). Each
//! institution registers a report key under its DID, the node holds the
//! three keys and sends each institution's rounds to its own agent. Eve
//! licenses the three datasets and posts a job of ten rounds; after the
//! seventh aggregate Dave's agent is killed: the last rounds go on with the
//! two others (quorum 2) and record Dave's institution as a straggler.
//!
//! The final model's accuracy must be within 2 points of the same DP-SGD
//! run centrally on the pooled records; the non-private central accuracy,
//! the ε charged per twin and the wall times are printed beside them
//! (docs/federated.md keeps the last run's numbers).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)]
#![allow(clippy::indexing_slicing)]

mod common;

use std::{
	io::{BufRead, BufReader},
	path::Path,
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

use common::*;
use serde_json::{json, Value};
use twinnet_agent::{
	data::{Record, Rows},
	dpsgd::{self, Settings},
	model,
};
use twinnet_primitives::did::{derive_did, format_did, DidId};
use twinnet_test_support::{
	agent_binary, node_binary,
	subxt::{self, dynamic::Value as Dyn, utils::AccountId32},
	subxt_signer::{sr25519::Keypair, SecretUri},
	TestNode,
};

/// The job's rounds.
const ROUNDS: u32 = 10;
/// The aggregates released before Dave's agent is killed.
const KILL_AFTER: u64 = 7;
/// Blocks a round stays open for reports.
const ROUND_TIMEOUT: u32 = 4;
/// δ charged per round: ten rounds fit the largest δ budget this runtime
/// allows a grant (10^-6), as ten rounds' ε fit its largest ε (10).
const DELTA_PER_ROUND: f64 = 1e-7;
/// The largest ε gap between federated and central training, in accuracy points.
const MAX_GAP_POINTS: f64 = 2.0;
/// One planck-denominated unit.
const UNIT: u128 = 1_000_000_000_000;
/// The seed of the agents' (and the central run's) sampling and noise.
const SEED: u64 = 2026;

/// The DP-SGD settings of the job (and of the central baseline).
fn settings() -> Settings {
	Settings {
		learning_rate: 0.5,
		local_steps: 10,
		clip_norm: 1.0,
		noise_multiplier: 3.0,
		sampling_rate: 0.1,
	}
}

fn keypair(uri: &str) -> Keypair {
	Keypair::from_uri(&uri.parse::<SecretUri>().unwrap()).unwrap()
}

fn account_bytes(keypair: &Keypair) -> [u8; 32] {
	keypair.public_key().0
}

/// The 569 records, standardised with the pooled mean and deviation of each
/// feature (the scaling the consortium agrees on and publishes with a job).
fn breast_cancer() -> Vec<Record> {
	let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/breast_cancer.csv");
	let text = std::fs::read_to_string(path).expect("the data file");
	let mut records: Vec<Record> = text
		.lines()
		.skip(1)
		.filter(|line| !line.trim().is_empty())
		.map(|line| {
			let mut values: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
			let label = values.pop().unwrap();
			Record { features: values, label }
		})
		.collect();
	assert_eq!(records.len(), 569);
	let n = records.len() as f64;
	for feature in 0..30 {
		let mean = records.iter().map(|r| r.features[feature]).sum::<f64>() / n;
		let var = records.iter().map(|r| (r.features[feature] - mean).powi(2)).sum::<f64>() / n;
		let sd = var.sqrt().max(1e-12);
		records
			.iter_mut()
			.for_each(|r| r.features[feature] = (r.features[feature] - mean) / sd);
	}
	records
}

/// An institution of the test: its controller, its DIDs, its patients.
struct Site {
	name: &'static str,
	controller: Keypair,
	report_key_uri: String,
	institution: DidId,
	dataset: DidId,
	patients: Vec<(Keypair, DidId)>,
	rows: Rows,
}

/// Splits `records` round-robin over the three institutions, each record a
/// patient (`//Patient/<i>`). DIDs are derived from their creator and the
/// chain's DID counter, in genesis order: the institutions and their
/// datasets first, then Eve's Model DID ([`model_did`]), then the patients'
/// twins, site by site.
fn sites(records: &[Record]) -> Vec<Site> {
	let mut sites: Vec<Site> = [("Bob", "//Bob"), ("Charlie", "//Charlie"), ("Dave", "//Dave")]
		.into_iter()
		.enumerate()
		.map(|(index, (name, uri))| {
			let controller = keypair(uri);
			let creator = account_bytes(&controller);
			let counter = 2 * index as u64;
			Site {
				name,
				report_key_uri: format!("{uri}//federated"),
				institution: derive_did(&creator, counter),
				dataset: derive_did(&creator, counter + 1),
				controller,
				patients: Vec::new(),
				rows: Rows::default(),
			}
		})
		.collect();
	let mut assigned: Vec<Vec<(Keypair, Record)>> = vec![Vec::new(), Vec::new(), Vec::new()];
	for (i, record) in records.iter().enumerate() {
		assigned[i % 3].push((keypair(&format!("//Patient/{i}")), record.clone()));
	}
	let mut counter = 2 * sites.len() as u64 + 1;
	for (site, patients) in sites.iter_mut().zip(assigned) {
		let mut rows = Vec::new();
		for (patient, record) in patients {
			let twin = derive_did(&account_bytes(&patient), counter);
			counter += 1;
			rows.push((twin, record));
			site.patients.push((patient, twin));
		}
		site.rows = Rows::new(rows).unwrap();
	}
	sites
}

/// Eve's Model DID: the seventh DID of the chain.
fn model_did() -> DidId {
	derive_did(&account_bytes(&keypair("//Eve")), 6)
}

fn ss58(keypair: &Keypair) -> String {
	AccountId32::from(account_bytes(keypair)).to_string()
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The dev chain spec with the cohort added to its genesis.
fn chain_spec(sites: &[Site], dir: &Path) -> std::path::PathBuf {
	let output = Command::new(node_binary().unwrap())
		.args(["build-spec", "--chain", "dev"])
		.stderr(Stdio::null())
		.output()
		.expect("build-spec runs");
	let mut spec: Value = serde_json::from_slice(&output.stdout).expect("a JSON chain spec");
	let patch = &mut spec["genesis"]["runtimeGenesis"]["patch"];

	let mut dids = Vec::new();
	let mut datasets = Vec::new();
	let mut grants = Vec::new();
	for site in sites {
		let key = account_bytes(&site.controller);
		let creator = ss58(&site.controller);
		dids.push(
			json!({ "creator": creator, "kind": "Institution", "sr25519Key": key, "custodian": null }),
		);
		dids.push(
			json!({ "creator": creator, "kind": "Dataset", "sr25519Key": key, "custodian": null }),
		);
	}
	let eve = keypair("//Eve");
	dids.push(json!({
		"creator": ss58(&eve), "kind": "Model", "sr25519Key": account_bytes(&eve), "custodian": null,
	}));
	for (index, site) in sites.iter().enumerate() {
		for (patient, twin) in &site.patients {
			dids.push(json!({
				"creator": ss58(patient),
				"kind": "PatientTwin",
				"sr25519Key": account_bytes(patient),
				"custodian": 2 * index,
			}));
			grants.push(json!({
				"twin": hex(&twin.0),
				"patient": ss58(patient),
				"institution": hex(&site.institution.0),
				"dataset": hex(&site.dataset.0),
				"purpose": "ModelTraining",
				"expiresAt": 1_000_000,
				"epsilon": 10_000_000_000u64,
				"delta": 1_000_000_000_000u64,
			}));
		}
		let csv = site.rows.to_csv(&feature_names());
		datasets.push(json!({
			"dataset": hex(&site.dataset.0),
			"institution": hex(&site.institution.0),
			"publisher": ss58(&site.controller),
			"contentHash": hex(&sp_crypto_hashing::blake2_256(csv.as_bytes())),
			"location": format!("file:///{}/breast-cancer.csv.enc", site.name.to_lowercase()).into_bytes(),
			"schema": "Csv",
			"sizeBytes": csv.len(),
			"recordCount": site.rows.len(),
			"metadataHash": hex(&sp_crypto_hashing::blake2_256(b"wisconsin diagnostic, standardised")),
			"price": UNIT as u64,
			"licenceBlocks": 10_000,
			"contributors": site.patients.iter().map(|(_, twin)| hex(&twin.0)).collect::<Vec<_>>(),
		}));
	}
	patch["twins"]["dids"] = Value::Array(dids);
	patch["datasets"]["datasets"] = Value::Array(datasets);
	patch["consent"] = json!({ "grants": grants });
	let balances = patch["balances"]["balances"].as_array_mut().expect("dev balances");
	for site in sites {
		for (patient, _) in &site.patients {
			balances.push(json!([ss58(patient), 10 * UNIT]));
		}
	}
	let path = dir.join("cohort-spec.json");
	std::fs::write(&path, serde_json::to_vec(&spec).unwrap()).unwrap();
	path
}

fn feature_names() -> Vec<String> {
	(1..=30).map(|i| format!("x{i}")).collect()
}

/// A running `twinnet-agent`, killed when dropped.
struct Agent {
	child: Child,
	url: String,
}

impl Drop for Agent {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// Starts `site`'s agent on its rows, against `node`.
fn start_agent(site: &Site, node: &TestNode, dir: &Path) -> Agent {
	let data = dir.join(format!("{}.csv", site.name));
	std::fs::write(&data, site.rows.to_csv(&feature_names())).unwrap();
	let log = std::fs::File::create(dir.join(format!("{}-agent.log", site.name))).unwrap();
	let mut child = Command::new(agent_binary().unwrap())
		.arg("serve")
		.args(["--institution", &format_did(&site.institution)])
		.arg("--data")
		.arg(&data)
		.args(["--node", &node.ws_url(), "--listen", "127.0.0.1:0", "--seed", &SEED.to_string()])
		.stdout(Stdio::piped())
		.stderr(log)
		.spawn()
		.expect("the agent starts");
	let mut line = String::new();
	BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
	let url = line
		.split_whitespace()
		.find(|word| word.starts_with("http://"))
		.unwrap_or_else(|| panic!("{}'s agent did not say where it listens: {line}", site.name))
		.to_string();
	Agent { child, url }
}

/// The verification method of an institution's report key.
fn report_method(key: &[u8; 32]) -> Dyn {
	Dyn::named_composite([
		("fragment", Dyn::from_bytes("report-1")),
		("key", Dyn::unnamed_variant("Sr25519", [Dyn::from_bytes(key)])),
		(
			"relationships",
			Dyn::named_composite([
				("authentication", Dyn::bool(false)),
				("assertion_method", Dyn::bool(false)),
				("capability_delegation", Dyn::bool(false)),
				("key_agreement", Dyn::bool(false)),
				("capability_invocation", Dyn::bool(true)),
			]),
		),
	])
}

fn fixed(value: f64) -> u128 {
	(value * 1e9).round() as u128
}

/// Eve's job over the three licensed datasets, charging `epsilon` per round.
fn job_spec(licences: &[(DidId, u64)], epsilon: f64) -> Dyn {
	let s = settings();
	let datasets = licences.iter().map(|(dataset, licence)| {
		Dyn::named_composite([
			("dataset", Dyn::from_bytes(dataset.0)),
			("licence", Dyn::u128(u128::from(*licence))),
		])
	});
	Dyn::named_composite([
		("model", Dyn::named_variant("LogisticRegression", [("features", Dyn::u128(30))])),
		("model_did", Dyn::unnamed_variant("Some", [Dyn::from_bytes(model_did().0)])),
		("datasets", Dyn::unnamed_composite(datasets)),
		("code_hash", Dyn::from_bytes(twinnet_agent::code_hash())),
		("purpose", Dyn::unnamed_variant("ModelTraining", [])),
		("rounds", Dyn::u128(ROUNDS.into())),
		("min_participants", Dyn::u128(2)),
		("round_timeout", Dyn::u128(ROUND_TIMEOUT.into())),
		("max_retries", Dyn::u128(1)),
		(
			"training",
			Dyn::named_composite([
				("learning_rate", Dyn::u128(fixed(s.learning_rate))),
				("local_steps", Dyn::u128(s.local_steps.into())),
				("clip_norm", Dyn::u128(fixed(s.clip_norm))),
				("noise_multiplier", Dyn::u128(fixed(s.noise_multiplier))),
				("sampling_rate", Dyn::u128(fixed(s.sampling_rate))),
			]),
		),
		(
			"per_round",
			Dyn::named_composite([
				("epsilon", Dyn::u128(fixed(epsilon))),
				("delta", Dyn::u128((DELTA_PER_ROUND * 1e18).round() as u128)),
			]),
		),
		("reward_per_update", Dyn::u128(UNIT)),
	])
}

/// The accuracy, on the pooled records, of DP-SGD run centrally for the
/// job's steps with `settings`.
fn central_accuracy(records: &[Record], settings: &Settings) -> f64 {
	let pooled: Vec<&Record> = records.iter().collect();
	let mut parameters = vec![0.0; 31];
	for round in 0..ROUNDS {
		let mut rng = dpsgd::round_rng(Some(SEED), u64::MAX, round);
		dpsgd::train(&mut parameters, &pooled, settings, &mut rng).unwrap();
	}
	model::accuracy(&parameters, &pooled)
}

fn rpc(node: &TestNode, method: &str, params: Value) -> Value {
	let answer = json_rpc(node, method, params.clone());
	assert!(answer.get("error").is_none(), "{method}({params}): {answer}");
	answer["result"].clone()
}

#[tokio::test]
async fn ten_dp_rounds_on_breast_cancer_match_central_training_and_survive_a_dead_agent() {
	let started = Instant::now();
	let records = breast_cancer();
	let sites = sites(&records);
	let dir = tempfile::tempdir().unwrap();
	let spec = chain_spec(&sites, dir.path());
	let node = TestNode::start_with_args(&["--chain", spec.to_str().unwrap()])
		.await
		.expect("the node starts on the cohort's chain spec");
	node.wait_for_finalized_block(1).await.unwrap();
	let setup = Instant::now();

	// Each institution: a report key under its DID, in the node's keystore,
	// its agent's URL in the node's offchain storage, the agent's code on
	// its dataset's allow-list.
	let mut agents = Vec::new();
	let mut batch = Batch::new(&node).await;
	for site in &sites {
		let key = keypair(&site.report_key_uri).public_key().0;
		rpc(&node, "author_insertKey", json!(["twfd", site.report_key_uri, hex(&key)]));
		let agent = start_agent(site, &node, dir.path());
		let storage_key = format!("twinnet/federated/agent-url/{}", format_did(&site.institution));
		rpc(
			&node,
			"offchain_localStorageSet",
			json!(["PERSISTENT", hex(storage_key.as_bytes()), hex(agent.url.as_bytes())]),
		);
		agents.push(agent);
		let add = subxt::dynamic::tx(
			"Twins",
			"add_verification_method",
			(Dyn::from_bytes(site.institution.0), report_method(&key)),
		);
		let allow = subxt::dynamic::tx(
			"Datasets",
			"set_algorithms",
			(
				Dyn::from_bytes(site.dataset.0),
				Dyn::unnamed_composite([Dyn::from_bytes(twinnet_agent::code_hash())]),
				Dyn::bool(false),
			),
		);
		batch.add(&format!("{}'s report key", site.name), &add, &site.controller).await;
		batch
			.add(&format!("{}'s allow-list", site.name), &allow, &site.controller)
			.await;
	}
	let eve = keypair("//Eve");
	for site in &sites {
		let buy = subxt::dynamic::tx(
			"Datasets",
			"buy_licence",
			(
				Dyn::from_bytes(site.dataset.0),
				Dyn::unnamed_variant("Compute", []),
				Dyn::unnamed_variant("ModelTraining", []),
				Dyn::u128(UNIT),
			),
		);
		batch.add(&format!("Eve's licence of {}'s data", site.name), &buy, &eve).await;
	}
	for outcome in batch.finish().await {
		outcome.succeeded();
	}
	let licences: Vec<(DidId, u64)> = sites
		.iter()
		.map(|site| {
			let shown = rpc(&node, "datasets_licencesOf", json!([format_did(&site.dataset)]));
			(site.dataset, shown["licences"][0]["id"].as_u64().expect("a licence id"))
		})
		.collect();

	// The job charges every twin what the accountant gives per round.
	let s = settings();
	let per_round = twinnet_dp::epsilon_of(
		&twinnet_dp::SgmParams {
			sampling_rate: s.sampling_rate,
			noise_multiplier: s.noise_multiplier,
			steps: s.local_steps.into(),
		},
		DELTA_PER_ROUND,
	)
	.unwrap();
	let epsilon = (per_round * 1e6).ceil() / 1e6;
	let create = subxt::dynamic::tx("Federated", "create_job", (job_spec(&licences, epsilon),));
	let created = submit(&node, "Eve's job", &create, &eve).await;
	created.succeeded();
	// The chain's first job.
	let job = 0;
	assert_eq!(rpc(&node, "federated_job", json!([job]))["researcher"], ss58(&eve).as_str());
	let training = Instant::now();

	// Rounds go by; after the seventh aggregate Dave's agent dies.
	let mut killed = false;
	let state = loop {
		let view = rpc(&node, "federated_job", json!([job]));
		let status = view["state"]["status"].as_str().unwrap().to_string();
		if status == "completed" || status == "failed" || status == "cancelled" {
			break view;
		}
		if !killed && view["completedRounds"].as_u64().unwrap() >= KILL_AFTER {
			agents.pop();
			killed = true;
		}
		assert!(training.elapsed() < Duration::from_secs(480), "the job is stuck: {view}");
		tokio::time::sleep(Duration::from_secs(2)).await;
	};
	let training_time = training.elapsed();
	assert_eq!(state["state"]["status"], "completed", "{state}");
	assert_eq!(state["completedRounds"], ROUNDS, "{state}");

	// Every round aggregated; the rounds after the kill without Dave's
	// institution, which is recorded as expected but not reporting.
	let dave = format_did(&sites[2].institution);
	let mut straggler_rounds = 0;
	for round in 0..ROUNDS {
		let view = rpc(&node, "federated_round", json!([job, round]));
		assert_eq!(view["outcome"]["status"], "aggregated", "{view}");
		let reporters = view["reporters"].as_array().unwrap();
		let expected = view["expected"].as_array().unwrap();
		assert!(reporters.len() >= 2, "{view}");
		if !reporters.iter().any(|r| r == &dave) {
			assert!(expected.iter().any(|e| e == &dave), "{view}");
			straggler_rounds += 1;
		}
	}
	assert!(straggler_rounds >= 1, "Dave's institution never straggled");
	assert!(u64::from(ROUNDS - straggler_rounds) >= KILL_AFTER);

	// The auditor's view: each aggregate is an `AggregatedModel` commitment
	// of Eve's model, with the round's aggregate hash and update root; the
	// last one's provenance goes back through every round to the three
	// datasets.
	let mut last_commitment = None;
	for round in 0..ROUNDS {
		let view = rpc(&node, "federated_round", json!([job, round]));
		let id = view["commitment"].as_u64().unwrap_or_else(|| panic!("{view}"));
		let commitment = rpc(&node, "commitments_get", json!([id]));
		assert_eq!(commitment["kind"], "aggregatedModel", "{commitment}");
		assert_eq!(commitment["committer"], format_did(&model_did()).as_str());
		assert_eq!(commitment["hash"], view["outcome"]["aggregateHash"], "{commitment}");
		assert_eq!(commitment["merkle"]["root"], view["outcome"]["updateRoot"], "{commitment}");
		assert_eq!(commitment["merkle"]["leafCount"], view["reporters"].as_array().unwrap().len());
		assert_eq!(commitment["jobRound"], json!({ "job": job, "round": round }));
		last_commitment = Some(id);
	}
	let provenance =
		rpc(&node, "commitments_provenance", json!([last_commitment.unwrap(), ROUNDS + 1]));
	let nodes = provenance["nodes"].as_array().unwrap();
	assert_eq!(nodes.iter().filter(|n| n.get("commitment").is_some()).count(), ROUNDS as usize);
	for site in &sites {
		let dataset = format_did(&site.dataset);
		assert!(nodes.iter().any(|n| n["dataset"] == dataset.as_str()), "{provenance}");
	}

	// Evidence per twin: one of Bob's twins was used in every round, one of
	// Dave's not in the rounds it straggled; each was charged accordingly.
	let bobs_twin = format_did(&sites[0].patients[0].1);
	let usage = rpc(&node, "federated_twinUsage", json!([job, 0, bobs_twin]));
	assert_eq!(usage["status"], "used", "{usage}");
	let daves_twin = format_did(&sites[2].patients[0].1);
	let last = rpc(&node, "federated_twinUsage", json!([job, ROUNDS - 1, daves_twin]));
	assert_ne!(last["status"], "used", "{last}");
	let spent = |twin: &str| -> f64 {
		let grants = rpc(&node, "consent_grantsOf", json!([twin]));
		grants[0]["spent"]["epsilon"].as_str().unwrap().parse().unwrap()
	};
	let bob_spent = spent(&bobs_twin);
	let dave_spent = spent(&daves_twin);
	assert!((bob_spent - f64::from(ROUNDS) * epsilon).abs() < 1e-6, "{bob_spent}");
	assert!(
		(dave_spent - f64::from(ROUNDS - straggler_rounds) * epsilon).abs() < 1e-6,
		"{dave_spent}"
	);

	// The final model against central training on the pooled records.
	let final_model = rpc(&node, "federated_model", json!([job]));
	let parameters: Vec<i32> = serde_json::from_value(final_model["parameters"].clone()).unwrap();
	let pooled: Vec<&Record> = records.iter().collect();
	let federated = model::accuracy(&model::from_fixed(&parameters), &pooled);
	let central_started = Instant::now();
	let central_dp = central_accuracy(&records, &s);
	let central_time = central_started.elapsed();
	let non_private =
		central_accuracy(&records, &Settings { noise_multiplier: 0.0, clip_norm: 1e6, ..s });
	let total_steps = u64::from(ROUNDS) * u64::from(s.local_steps);
	let composed = twinnet_dp::epsilon_of(
		&twinnet_dp::SgmParams {
			sampling_rate: s.sampling_rate,
			noise_multiplier: s.noise_multiplier,
			steps: total_steps,
		},
		DELTA_PER_ROUND * f64::from(ROUNDS),
	)
	.unwrap();
	println!(
		"federated breast cancer: accuracy federated DP {:.2} %, central DP {:.2} %, central \
		 non-private {:.2} %; epsilon per round {epsilon:.6} (delta {DELTA_PER_ROUND}), charged \
		 per twin {bob_spent:.6} over {ROUNDS} rounds (RDP-composed over {total_steps} steps: \
		 {composed:.4} at delta {}); Dave straggled in {straggler_rounds} rounds; set-up {:.1} s, \
		 federated training {:.1} s, central DP training {:.3} s, total {:.1} s",
		100.0 * federated,
		100.0 * central_dp,
		100.0 * non_private,
		DELTA_PER_ROUND * f64::from(ROUNDS),
		(training - setup).as_secs_f64() + (setup - started).as_secs_f64(),
		training_time.as_secs_f64(),
		central_time.as_secs_f64(),
		started.elapsed().as_secs_f64(),
	);
	assert!(
		(federated - central_dp).abs() * 100.0 <= MAX_GAP_POINTS,
		"federated {federated} vs central {central_dp}"
	);
	assert!(started.elapsed() < Duration::from_secs(600));
}
