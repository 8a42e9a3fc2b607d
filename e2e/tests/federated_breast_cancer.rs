//! End to end: federated logistic regression with DP-SGD on the Wisconsin
//! diagnostic breast-cancer data (569 records, `data/breast_cancer.csv`),
//! on two chains side by side, each one real `twinnet-node` and three real
//! `twinnet-agent` processes: the same job, once with plain reports and
//! once with secure aggregation (masked reports).
//!
//! Every record is a patient twin in the custody of one of three
//! institutions (Bob's, Charlie's, Dave's), listed in that institution's
//! dataset and covered by the patient's compute consent to it; the cohort
//! is created at genesis, in a chain spec built from the dev preset with
//! the cohort added (`twins`, `consent`, `datasets` genesis). Each
//! institution registers a report key under its DID (and, on the masked
//! chain, its agent's X25519 key agreement key), the node holds the three
//! report keys and sends each institution's rounds to its own agent. Eve
//! licenses the three datasets and posts a job of ten rounds; while round
//! 8 opens (after the masks of the first seven rounds were agreed and
//! used) Dave's agent is killed on both chains: the last rounds go on with
//! the two others (quorum 2), the plain chain recording Dave's institution
//! as a straggler, the masked one as dropped, its round recovered from the
//! survivors' seed reveals.
//!
//! The two chains must release the same aggregate, bit for bit, in every
//! round (the agents train with the same seed), and the final model's
//! accuracy must be within 2 points of the same DP-SGD run centrally on
//! the pooled records; the non-private central accuracy, the ε charged per
//! twin, the report and reveal bytes each chain's blocks carry and the
//! wall times are printed beside them (docs/federated.md keeps the last
//! run's numbers).

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
use twinnet_primitives::{
	did::{derive_did, format_did, DidId},
	federated,
};
use twinnet_test_support::{
	agent_binary, node_binary,
	subxt::{self, dynamic::Value as Dyn, utils::AccountId32},
	subxt_signer::{sr25519::Keypair, SecretUri},
	TestNode,
};

/// The job's rounds.
const ROUNDS: u32 = 10;
/// Dave's agent is killed while this round (the eighth) opens.
const KILL_AT_ROUND: u64 = 7;
/// Blocks a round stays open for reports.
const ROUND_TIMEOUT: u32 = 5;
/// δ charged per round: ten rounds fit the largest δ budget this runtime
/// allows a grant (10^-6), as ten rounds' ε fit its largest ε (10).
const DELTA_PER_ROUND: f64 = 1e-7;
/// The largest ε gap between federated and central training, in accuracy points.
const MAX_GAP_POINTS: f64 = 2.0;
/// One planck-denominated unit.
const UNIT: u128 = 1_000_000_000_000;
/// The seed of the agents' (and the central run's) sampling and noise.
const SEED: u64 = 2026;
/// The masked job's bound on a parameter's change in one round: 30.5 in
/// model units (2⁻¹⁶ fixed point), far above what ten steps of learning
/// rate 0.5 on clipped, noised gradients move a parameter, so it never
/// binds; 3 institutions × 256 records (`MaxCohort`) × it fit the ring.
const UPDATE_BOUND: u32 = 2_000_000;

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
	/// The token its node's worker sends (from the agent's token file).
	token: String,
}

impl Drop for Agent {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// Starts `site`'s agent on its rows, against `node`; with `agreement_key`
/// (a key file), for masked jobs.
fn start_agent(site: &Site, node: &TestNode, dir: &Path, agreement_key: Option<&Path>) -> Agent {
	let data = dir.join(format!("{}.csv", site.name));
	std::fs::write(&data, site.rows.to_csv(&feature_names())).unwrap();
	let log = std::fs::File::create(dir.join(format!("{}-agent.log", site.name))).unwrap();
	let mut command = Command::new(agent_binary().unwrap());
	command
		.arg("serve")
		.args(["--institution", &format_did(&site.institution)])
		.arg("--data")
		.arg(&data)
		.args(["--node", &node.ws_url(), "--listen", "127.0.0.1:0", "--seed", &SEED.to_string()])
		.arg("--token-file")
		.arg(dir.join(format!("{}-agent.token", site.name)));
	if let Some(key) = agreement_key {
		command.arg("--agreement-key").arg(key);
	}
	let mut child = command.stdout(Stdio::piped()).stderr(log).spawn().expect("the agent starts");
	let mut line = String::new();
	BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
	let url = line
		.split_whitespace()
		.find(|word| word.starts_with("http://"))
		.unwrap_or_else(|| panic!("{}'s agent did not say where it listens: {line}", site.name))
		.to_string();
	let token = std::fs::read_to_string(dir.join(format!("{}-agent.token", site.name)))
		.expect("the agent wrote its token")
		.trim()
		.to_string();
	Agent { child, url, token }
}

/// Creates `site`'s X25519 key agreement key in `dir` with the agent's
/// `agreement-key` command: the key file and the public key it prints.
fn agreement_key(site: &Site, dir: &Path) -> (std::path::PathBuf, [u8; 32]) {
	let file = dir.join(format!("{}-agreement.key", site.name));
	let output = Command::new(agent_binary().unwrap())
		.arg("agreement-key")
		.arg("--file")
		.arg(&file)
		.output()
		.expect("agreement-key runs");
	assert!(output.status.success(), "{output:?}");
	let printed = String::from_utf8(output.stdout).unwrap();
	let public = twinnet_agent::round::parse_hash(printed.trim())
		.unwrap_or_else(|| panic!("agreement-key printed {printed}"));
	(file, public)
}

/// The `keyAgreement` verification method of an institution's X25519 key.
fn agreement_method(key: &[u8; 32]) -> Dyn {
	Dyn::named_composite([
		("fragment", Dyn::from_bytes("agreement-1")),
		("key", Dyn::unnamed_variant("X25519", [Dyn::from_bytes(key)])),
		(
			"relationships",
			Dyn::named_composite([
				("authentication", Dyn::bool(false)),
				("assertion_method", Dyn::bool(false)),
				("capability_delegation", Dyn::bool(false)),
				("key_agreement", Dyn::bool(true)),
				("capability_invocation", Dyn::bool(false)),
			]),
		),
	])
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

/// Eve's job over the three licensed datasets, charging `epsilon` per
/// round, masked or not.
fn job_spec(licences: &[(DidId, u64)], epsilon: f64, masked: bool) -> Dyn {
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
		(
			"masking",
			if masked {
				Dyn::unnamed_variant(
					"Some",
					[Dyn::named_composite([("update_bound", Dyn::u128(UPDATE_BOUND.into()))])],
				)
			} else {
				Dyn::unnamed_variant("None", [])
			},
		),
	])
}

/// The accuracy, on the pooled records, of DP-SGD run centrally for the
/// job's steps with `settings`.
fn central_accuracy(records: &[Record], settings: &Settings) -> f64 {
	let pooled: Vec<&Record> = records.iter().collect();
	let mut parameters = vec![0.0; 31];
	for round in 0..ROUNDS {
		let mut rng = dpsgd::round_rng(Some(SEED), u64::MAX, round);
		dpsgd::train(&mut parameters, &pooled, settings, &dpsgd::Limits::default(), &mut rng)
			.unwrap();
	}
	model::accuracy(&parameters, &pooled)
}

fn rpc(node: &TestNode, method: &str, params: Value) -> Value {
	let answer = json_rpc(node, method, params.clone());
	assert!(answer.get("error").is_none(), "{method}({params}): {answer}");
	answer["result"].clone()
}

/// The bytes and counts of the federated extrinsics a chain's blocks carry.
#[derive(Debug, Default)]
struct Traffic {
	/// `submit_update` extrinsics and their encoded bytes.
	reports: (usize, usize),
	/// `reveal_seeds` extrinsics and their encoded bytes.
	reveals: (usize, usize),
}

impl Traffic {
	fn bytes(&self) -> usize {
		self.reports.1 + self.reveals.1
	}
}

/// One chain's run of the job.
struct Run {
	node: TestNode,
	_agents: Vec<Agent>,
	_dir: tempfile::TempDir,
	/// The job's final view.
	job: Value,
	/// Each round's view.
	rounds: Vec<Value>,
	/// From the node's start to the job's creation.
	setup: Duration,
	/// From the job's creation to its end.
	training: Duration,
	/// What the job's blocks carried: rounds in which all three reported,
	/// and the others.
	full_rounds: Traffic,
	dropout_rounds: Traffic,
	/// ε charged per round.
	epsilon: f64,
}

/// Starts a chain with the cohort, the three institutions' agents and Eve's
/// job (masked or not), kills Dave's agent while round [`KILL_AT_ROUND`]
/// opens, and returns once the job has ended.
async fn run_job(sites: &[Site], masked: bool) -> Run {
	let started = Instant::now();
	let name = if masked { "masked" } else { "plain" };
	let dir = tempfile::tempdir().unwrap();
	let spec = chain_spec(sites, dir.path());
	let node = TestNode::start_with_args(&["--chain", spec.to_str().unwrap()])
		.await
		.expect("the node starts on the cohort's chain spec");
	node.wait_for_finalized_block(1).await.unwrap();

	// Each institution: a report key under its DID, in the node's keystore,
	// its agent's URL in the node's offchain storage, the agent's code on
	// its dataset's allow-list; on the masked chain also the agent's X25519
	// key under the DID.
	let mut agents = Vec::new();
	let mut batch = Batch::new(&node).await;
	for site in sites {
		let key = keypair(&site.report_key_uri).public_key().0;
		let key_type = String::from_utf8_lossy(&federated::REPORT_KEY_TYPE).into_owned();
		rpc(&node, "author_insertKey", json!([key_type, site.report_key_uri, hex(&key)]));
		let agreement = masked.then(|| agreement_key(site, dir.path()));
		let agent =
			start_agent(site, &node, dir.path(), agreement.as_ref().map(|(f, _)| f.as_path()));
		let settings =
			[(federated::AGENT_URL_KEY, &agent.url), (federated::AGENT_TOKEN_KEY, &agent.token)];
		for (prefix, value) in settings {
			let key = federated::institution_setting(prefix, &site.institution);
			rpc(
				&node,
				"offchain_localStorageSet",
				json!(["PERSISTENT", hex(&key), hex(value.as_bytes())]),
			);
		}
		agents.push(agent);
		let add = subxt::dynamic::tx(
			"Twins",
			"add_verification_method",
			(Dyn::from_bytes(site.institution.0), report_method(&key)),
		);
		batch.add(&format!("{}'s report key", site.name), &add, &site.controller).await;
		if let Some((_, public)) = agreement {
			let add = subxt::dynamic::tx(
				"Twins",
				"add_verification_method",
				(Dyn::from_bytes(site.institution.0), agreement_method(&public)),
			);
			batch
				.add(&format!("{}'s agreement key", site.name), &add, &site.controller)
				.await;
		}
		let allow = subxt::dynamic::tx(
			"Datasets",
			"set_algorithms",
			(
				Dyn::from_bytes(site.dataset.0),
				Dyn::unnamed_composite([Dyn::from_bytes(twinnet_agent::code_hash())]),
				Dyn::bool(false),
			),
		);
		batch
			.add(&format!("{}'s allow-list", site.name), &allow, &site.controller)
			.await;
	}
	let eve = keypair("//Eve");
	for site in sites {
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
	let create =
		subxt::dynamic::tx("Federated", "create_job", (job_spec(&licences, epsilon, masked),));
	let setup = started.elapsed();
	submit(&node, "Eve's job", &create, &eve).await.succeeded();
	// The chain's first job.
	let job = 0;
	let view = rpc(&node, "federated_job", json!([job]));
	assert_eq!(view["researcher"], ss58(&eve).as_str());
	assert_eq!(view["masking"].is_null(), !masked, "{view}");
	let training = Instant::now();

	// Rounds go by; while the eighth opens, Dave's agent dies (before its
	// node could dispatch it the round).
	let mut killed = false;
	let job_view = loop {
		let view = rpc(&node, "federated_job", json!([job]));
		let state = &view["state"];
		let status = state["status"].as_str().unwrap().to_string();
		if status == "completed" || status == "failed" || status == "cancelled" {
			break view;
		}
		if !killed && state["round"].as_u64().is_some_and(|round| round >= KILL_AT_ROUND) {
			assert_eq!(
				(status.as_str(), state["round"].as_u64()),
				("opening", Some(KILL_AT_ROUND)),
				"{name}: Dave's agent must die while round {KILL_AT_ROUND} opens: {view}"
			);
			agents.pop();
			killed = true;
		}
		assert!(training.elapsed() < Duration::from_secs(720), "{name}: the job is stuck: {view}");
		tokio::time::sleep(Duration::from_millis(500)).await;
	};
	let training = training.elapsed();
	if job_view["state"]["status"] != "completed" {
		let rounds: Vec<Value> = (0..ROUNDS)
			.map(|round| json_rpc(&node, "federated_round", json!([job, round])))
			.collect();
		let logs: Vec<String> = sites
			.iter()
			.map(|site| {
				let log = dir.path().join(format!("{}-agent.log", site.name));
				format!("{}: {}", site.name, std::fs::read_to_string(log).unwrap_or_default())
			})
			.collect();
		panic!(
			"{name}: the job did not complete: {job_view}\nrounds: {rounds:?}\nagents: {logs:#?}"
		);
	}
	let rounds: Vec<Value> = (0..ROUNDS)
		.map(|round| rpc(&node, "federated_round", json!([job, round])))
		.collect();
	let (full_rounds, dropout_rounds) = traffic(&node, &rounds).await;
	Run {
		node,
		_agents: agents,
		_dir: dir,
		job: job_view,
		rounds,
		setup,
		training,
		full_rounds,
		dropout_rounds,
		epsilon,
	}
}

/// The federated extrinsics in the blocks of `rounds` (each round from the
/// block it opened in to the block before the next one opened), split
/// between rounds all three institutions reported in and the others.
async fn traffic(node: &TestNode, rounds: &[Value]) -> (Traffic, Traffic) {
	let (mut full, mut dropout) = (Traffic::default(), Traffic::default());
	let opened: Vec<u64> = rounds.iter().map(|r| r["openedAt"].as_u64().unwrap()).collect();
	// Up to the block the job ended in, once final.
	let best = rpc(node, "chain_getHeader", json!([]))["number"].as_str().map(|number| {
		u64::from_str_radix(number.trim_start_matches("0x"), 16).expect("a hex block number")
	});
	let last = best.expect("the best block's number");
	node.wait_for_finalized_block(last).await.unwrap();
	for (index, round) in rounds.iter().enumerate() {
		let end = opened.get(index + 1).copied().unwrap_or(last + 1);
		let traffic = if round["reporters"].as_array().unwrap().len() == 3 {
			&mut full
		} else {
			&mut dropout
		};
		for number in opened[index]..end {
			let block = node.client().at_block(number).await.expect("a block");
			for extrinsic in block.extrinsics().fetch().await.expect("its body").iter() {
				let extrinsic = extrinsic.expect("a known extrinsic");
				let counted = match (extrinsic.pallet_name(), extrinsic.call_name()) {
					("Federated", "submit_update") => &mut traffic.reports,
					("Federated", "reveal_seeds") => &mut traffic.reveals,
					_ => continue,
				};
				counted.0 += 1;
				counted.1 += extrinsic.bytes().len();
			}
		}
	}
	(full, dropout)
}

/// The strings of the JSON array `array`, sorted.
fn sorted(array: &Value) -> Vec<String> {
	let mut items: Vec<String> = array
		.as_array()
		.unwrap_or_else(|| panic!("not an array: {array}"))
		.iter()
		.map(|item| item.as_str().unwrap_or_else(|| panic!("not a string: {item}")).to_string())
		.collect();
	items.sort();
	items
}

#[tokio::test]
async fn ten_dp_rounds_on_breast_cancer_give_the_same_model_with_and_without_secure_aggregation() {
	let started = Instant::now();
	let records = breast_cancer();
	let sites = sites(&records);
	let (plain, masked) = tokio::join!(run_job(&sites, false), run_job(&sites, true));
	for run in [&plain, &masked] {
		assert_eq!(run.job["state"]["status"], "completed", "{}", run.job);
		assert_eq!(run.job["completedRounds"], ROUNDS, "{}", run.job);
	}

	// Both chains: every round aggregated, the same institutions reporting,
	// and the same aggregate to the bit; after the kill, without Dave's
	// institution, which the plain chain records as expected but not
	// reporting and the masked chain as dropped, its masks removed with the
	// survivors' revealed seeds.
	let dave = format_did(&sites[2].institution);
	let survivors = json!([format_did(&sites[0].institution), format_did(&sites[1].institution)]);
	let mut straggler_rounds = 0;
	for (round, (p, m)) in plain.rounds.iter().zip(&masked.rounds).enumerate() {
		assert_eq!(p["outcome"]["status"], "aggregated", "plain {p}");
		assert_eq!(m["outcome"]["status"], "aggregated", "masked {m}");
		assert_eq!(p["reporters"], m["reporters"], "round {round}: plain {p}, masked {m}");
		assert_eq!(p["expected"], m["expected"], "round {round}");
		assert_eq!(
			p["outcome"]["aggregateHash"], m["outcome"]["aggregateHash"],
			"round {round}: the masked chain's aggregate differs: plain {p}, masked {m}"
		);
		assert_eq!(p["outcome"]["records"], m["outcome"]["records"], "round {round}");
		assert!(p["masking"].is_null(), "{p}");
		let masking = &m["masking"];
		assert_eq!(masking["agreementKeys"].as_array().unwrap().len(), 3, "{m}");
		assert!(masking["maskedSumHash"].is_string(), "{m}");
		if (round as u64) < KILL_AT_ROUND {
			assert_eq!(p["reporters"].as_array().unwrap().len(), 3, "{p}");
			assert_eq!(masking["dropped"], json!([]), "{m}");
			assert!(masking["recoveryDeadline"].is_null(), "{m}");
		} else {
			assert_eq!(p["reporters"], survivors, "round {round}: {p}");
			assert!(p["expected"].as_array().unwrap().iter().any(|e| e == &dave), "{p}");
			assert_eq!(masking["dropped"], json!([dave]), "{m}");
			// Reveals are listed in the order they were included.
			assert_eq!(sorted(&masking["revealed"]), sorted(&survivors), "{m}");
			assert!(masking["recoveryDeadline"].is_u64(), "{m}");
			straggler_rounds += 1;
		}
	}
	assert_eq!(straggler_rounds, ROUNDS as u64 - KILL_AT_ROUND);
	let model = |run: &Run| rpc(&run.node, "federated_model", json!([0]))["parameters"].clone();
	assert_eq!(model(&plain), model(&masked), "the final models differ");

	// The auditor's view (plain chain; the masked chain's commitments are
	// the same but for the update roots, of masked updates): each aggregate
	// is an `AggregatedModel` commitment of Eve's model, with the round's
	// aggregate hash and update root; the last one's provenance goes back
	// through every round to the three datasets.
	let node = &plain.node;
	let job: u64 = 0;
	for run in [&plain, &masked] {
		let mut last_commitment = None;
		for (round, view) in run.rounds.iter().enumerate() {
			let id = view["commitment"].as_u64().unwrap_or_else(|| panic!("{view}"));
			let commitment = rpc(&run.node, "commitments_get", json!([id]));
			assert_eq!(commitment["kind"], "aggregatedModel", "{commitment}");
			assert_eq!(commitment["committer"], format_did(&model_did()).as_str());
			assert_eq!(commitment["hash"], view["outcome"]["aggregateHash"], "{commitment}");
			assert_eq!(commitment["merkle"]["root"], view["outcome"]["updateRoot"], "{commitment}");
			assert_eq!(
				commitment["merkle"]["leafCount"],
				view["reporters"].as_array().unwrap().len()
			);
			assert_eq!(commitment["jobRound"], json!({ "job": job, "round": round }));
			assert_eq!(commitment["madeByChain"], true, "{commitment}");
			last_commitment = Some(id);
		}
		let provenance =
			rpc(&run.node, "commitments_provenance", json!([last_commitment.unwrap(), ROUNDS + 1]));
		let nodes = provenance["nodes"].as_array().unwrap();
		assert_eq!(nodes.iter().filter(|n| n.get("commitment").is_some()).count(), ROUNDS as usize);
		for site in &sites {
			let dataset = format_did(&site.dataset);
			assert!(nodes.iter().any(|n| n["dataset"] == dataset.as_str()), "{provenance}");
		}
	}

	// Nobody but the chain commits a round's model: Eve, the researcher,
	// cannot pass off another aggregate as round 0's under the Model DID
	// the job names, so `commitments_byJob` lists only the chain's.
	let fake = subxt::dynamic::tx(
		"Commitments",
		"commit",
		(
			Dyn::from_bytes(model_did().0),
			Dyn::unnamed_variant("AggregatedModel", []),
			Dyn::from_bytes([0xfa; 32]),
			Dyn::unnamed_variant("None", []),
			Dyn::from_bytes(b"fedavg-q15.16"),
			Dyn::unnamed_composite([Dyn::unnamed_variant(
				"Dataset",
				[Dyn::from_bytes(sites[0].dataset.0)],
			)]),
			Dyn::unnamed_variant(
				"Some",
				[Dyn::named_composite([("job", Dyn::u128(job.into())), ("round", Dyn::u128(0))])],
			),
		),
	);
	let refused = submit(node, "Eve's fake aggregate of round 0", &fake, &keypair("//Eve")).await;
	assert_eq!(refused.failed(), "Commitments::RoundModelByChainOnly");
	let listed = rpc(node, "commitments_byJob", json!([job, null, 100]));
	for entry in listed["rounds"].as_array().unwrap() {
		let commitments = entry["commitments"].as_array().unwrap();
		assert_eq!(commitments.len(), 1, "{entry}");
		assert_eq!(commitments[0]["madeByChain"], true, "{entry}");
	}

	// Evidence per twin: one of Bob's twins was used in every round, one of
	// Dave's not in the rounds it straggled; each was charged accordingly,
	// on both chains.
	let epsilon = plain.epsilon;
	let bobs_twin = format_did(&sites[0].patients[0].1);
	let daves_twin = format_did(&sites[2].patients[0].1);
	let spent = |run: &Run, twin: &str| -> f64 {
		let grants = rpc(&run.node, "consent_grantsOf", json!([twin]));
		grants[0]["spent"]["epsilon"].as_str().unwrap().parse().unwrap()
	};
	for run in [&plain, &masked] {
		let usage = rpc(&run.node, "federated_twinUsage", json!([job, 0, bobs_twin]));
		assert_eq!(usage["status"], "used", "{usage}");
		let last = rpc(&run.node, "federated_twinUsage", json!([job, ROUNDS - 1, daves_twin]));
		assert_ne!(last["status"], "used", "{last}");
		assert!((spent(run, &bobs_twin) - f64::from(ROUNDS) * epsilon).abs() < 1e-6);
		// The job's own spend record of the twin, which no other job's
		// spends under the same grant can push out.
		let spends = rpc(&run.node, "consent_jobSpendsOf", json!([bobs_twin]));
		let spends = spends["spends"].as_array().unwrap();
		assert_eq!(spends.len(), 1, "{spends:?}");
		assert_eq!(spends[0]["job"], job, "{spends:?}");
		assert_eq!(spends[0]["rounds"], ROUNDS, "{spends:?}");
		let by_job: f64 = spends[0]["spent"]["epsilon"].as_str().unwrap().parse().unwrap();
		assert!((by_job - f64::from(ROUNDS) * epsilon).abs() < 1e-6, "{spends:?}");
		assert!(
			(spent(run, &daves_twin) - KILL_AT_ROUND as f64 * epsilon).abs() < 1e-6,
			"{}",
			spent(run, &daves_twin)
		);
	}
	let bob_spent = spent(&plain, &bobs_twin);

	// The final model against central training on the pooled records.
	let final_model = rpc(node, "federated_model", json!([job]));
	let parameters: Vec<i32> = serde_json::from_value(final_model["parameters"].clone()).unwrap();
	let pooled: Vec<&Record> = records.iter().collect();
	let federated = model::accuracy(&model::from_fixed(&parameters), &pooled);
	let s = settings();
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
		"federated breast cancer: accuracy federated DP {:.2} % (the same model bit for bit with \
		 secure aggregation), central DP {:.2} %, central non-private {:.2} %; epsilon per round \
		 {epsilon:.6} (delta {DELTA_PER_ROUND}), charged per twin {bob_spent:.6} over {ROUNDS} \
		 rounds (RDP-composed over {total_steps} steps: {composed:.4} at delta {}); Dave \
		 straggled or dropped in {straggler_rounds} rounds; central DP training {:.3} s, total \
		 {:.1} s",
		100.0 * federated,
		100.0 * central_dp,
		100.0 * non_private,
		DELTA_PER_ROUND * f64::from(ROUNDS),
		central_time.as_secs_f64(),
		started.elapsed().as_secs_f64(),
	);
	let full = ROUNDS as usize - straggler_rounds as usize;
	let dropped = straggler_rounds as usize;
	for run in [&plain, &masked] {
		let blocks = |from: usize, to: usize| {
			let opened = |r: usize| run.rounds[r]["openedAt"].as_u64().unwrap();
			(opened(to) - opened(from)) as f64 / (to - from) as f64
		};
		println!(
			"{}: per round with 3 reporters {:.0} report bytes ({} reports), with Dave gone {:.0} \
			 report + {:.0} reveal bytes ({} reports, {} reveals); {:.1} blocks a round before the \
			 kill, {:.1} after; set-up {:.1} s, training {:.1} s ({:.1} s a round)",
			if run.rounds[0]["masking"].is_null() { "plain " } else { "masked" },
			run.full_rounds.reports.1 as f64 / full as f64,
			run.full_rounds.reports.0,
			run.dropout_rounds.reports.1 as f64 / dropped as f64,
			run.dropout_rounds.reveals.1 as f64 / dropped as f64,
			run.dropout_rounds.reports.0,
			run.dropout_rounds.reveals.0,
			blocks(0, KILL_AT_ROUND as usize),
			blocks(KILL_AT_ROUND as usize, ROUNDS as usize - 1),
			run.setup.as_secs_f64(),
			run.training.as_secs_f64(),
			run.training.as_secs_f64() / f64::from(ROUNDS),
		);
	}
	// Every report was included once; each survivor revealed once per
	// recovered round; masking costs no more than 1.5 times the bytes.
	assert_eq!(plain.full_rounds.reports.0, 3 * full);
	assert_eq!(masked.full_rounds.reports.0, 3 * full);
	assert_eq!(masked.dropout_rounds.reports.0, 2 * dropped);
	assert_eq!(masked.dropout_rounds.reveals.0, 2 * dropped);
	assert_eq!(plain.dropout_rounds.reveals.0, 0);
	let ratio = masked.full_rounds.bytes() as f64 / plain.full_rounds.bytes() as f64;
	let recovered_ratio =
		masked.dropout_rounds.bytes() as f64 / plain.dropout_rounds.bytes() as f64;
	let total = |run: &Run| (run.full_rounds.bytes() + run.dropout_rounds.bytes()) as f64;
	let job_ratio = total(&masked) / total(&plain);
	println!(
		"secure aggregation: {ratio:.3}x the plain bytes in rounds without dropout, \
		 {recovered_ratio:.3}x in recovered rounds, {job_ratio:.3}x over the job"
	);
	// Masked words are as long as plain ones; only recoveries add bytes.
	assert!(ratio <= 1.01, "{ratio}");
	assert!(job_ratio <= 1.5, "{job_ratio}");
	assert!(
		(federated - central_dp).abs() * 100.0 <= MAX_GAP_POINTS,
		"federated {federated} vs central {central_dp}"
	);
	assert!(started.elapsed() < Duration::from_secs(900));
}
