//! `twinctl twin …` and `twinctl consent …` against a real `twinnet-node
//! --dev`: each subcommand's success (its `--json` parsed and checked
//! against what the chain then answers) and its main refusal, and the one
//! line and exit code of each kind of failure.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use std::{
	process::{Output, Stdio},
	time::{Duration, Instant},
};

use serde_json::{json, Value};
use twinnet_test_support::{subxt::rpcs::rpc_params, TestNode};

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
const ALICE_SIGNS: [&str; 2] = ["--suri", "//Alice"];
const BOB_SIGNS: [&str; 2] = ["--suri", "//Bob"];

/// `twinctl` pointed at one node, with a keystore of its own and nothing
/// from the environment of whoever runs the tests.
struct Twinctl {
	url: String,
	keystore: tempfile::TempDir,
}

impl Twinctl {
	fn new(url: String) -> Self {
		Self { url, keystore: tempfile::tempdir().unwrap() }
	}

	/// `twinctl args…` with the password `password`, not yet waited for.
	fn command(&self, password: &str, args: &[&str]) -> tokio::process::Command {
		let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_twinctl"));
		command
			.args(args)
			.env("TWINCTL_URL", &self.url)
			.env("TWINCTL_KEYSTORE", self.keystore.path().join("keys"))
			.env("TWINCTL_PASSWORD", password)
			.env_remove("TWINCTL_SIGNER")
			.stdin(Stdio::null())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped());
		command
	}

	/// `twinctl args…` with the password `password`.
	async fn run_with(&self, password: &str, args: &[&str]) -> Output {
		self.command(password, args).output().await.unwrap()
	}

	/// `twinctl --json args…`, which must succeed: its JSON.
	async fn json(&self, args: &[&str]) -> Value {
		let output = self.run_with("pw", &[&["--json"], args].concat()).await;
		assert!(
			output.status.success(),
			"twinctl {args:?}: {}",
			String::from_utf8_lossy(&output.stderr)
		);
		serde_json::from_slice(&output.stdout)
			.unwrap_or_else(|e| panic!("twinctl {args:?}: not JSON ({e})"))
	}

	/// `twinctl args…` (text), which must succeed: its output.
	async fn text(&self, args: &[&str]) -> String {
		let output = self.run_with("pw", args).await;
		assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
		String::from_utf8(output.stdout).unwrap()
	}

	/// `twinctl args…`, which must fail: its exit code and its one line.
	async fn fails(&self, args: &[&str]) -> (i32, String) {
		failure(&self.run_with("pw", args).await)
	}
}

/// `who`'s signing flags, then `args`.
fn as_(who: [&'static str; 2], args: &[&str]) -> Vec<String> {
	who.iter().chain(args).map(|arg| arg.to_string()).collect()
}

/// `args` as the `&str`s a run takes.
fn strs(args: &[String]) -> Vec<&str> {
	args.iter().map(String::as_str).collect()
}

/// The exit code and the one line on standard error of a failed run.
fn failure(output: &Output) -> (i32, String) {
	let stderr = String::from_utf8(output.stderr.clone()).unwrap();
	assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
	assert_eq!(stderr.lines().count(), 1, "{stderr}");
	assert!(stderr.starts_with("twinctl: "), "{stderr}");
	(output.status.code().unwrap(), stderr)
}

async fn dev_node() -> TestNode {
	let node = TestNode::start().await.expect("the node starts");
	node.wait_for_best_block(1).await.expect("blocks are produced");
	node
}

/// The verification method fragments of a resolved DID document.
fn fragments(resolved: &Value) -> Vec<String> {
	resolved["didDocument"]["verificationMethod"]
		.as_array()
		.unwrap()
		.iter()
		.map(|method| method["id"].as_str().unwrap().rsplit('#').next().unwrap().to_string())
		.collect()
}

#[tokio::test]
async fn twin_commands_create_resolve_list_change_keys_hand_over_and_deactivate() {
	let node = dev_node().await;
	let cli = Twinctl::new(node.ws_url());

	// Create: the DID from the chain's event, in the block it names.
	let created = cli.json(&strs(&as_(ALICE_SIGNS, &["twin", "create"]))).await;
	let did = created["did"].as_str().unwrap().to_string();
	let did = did.as_str();
	assert!(did.starts_with("did:twin:"), "{created}");
	assert_eq!(
		(created["kind"].as_str(), created["finalized"].as_bool()),
		(Some("PatientTwin"), Some(false))
	);
	let number = created["blockNumber"].as_u64().unwrap();
	let hash = node.rpc("chain_getBlockHash", rpc_params![number]).await.unwrap();
	assert_eq!(hash, created["block"], "{created}");
	// A key type whose key is not given is refused before anything is sent.
	let (code, line) = cli
		.fails(&strs(&as_(ALICE_SIGNS, &["twin", "create", "--key-type", "ed25519"])))
		.await;
	assert_eq!(code, 2, "{line}");
	// A controller DID that does not exist: the chain's NotFound (4).
	let nobody = "did:twin:11111111111111111111111111111111";
	let (code, line) = cli
		.fails(&strs(&as_(ALICE_SIGNS, &["twin", "create", "--controller", nobody])))
		.await;
	assert_eq!(code, 4, "{line}");
	assert!(line.starts_with("twinctl: Twins.ControllerNotFound: "), "{line}");
	// For another account: offered to it, with its key; and finalized when asked.
	let offered = cli
		.json(&strs(&as_(ALICE_SIGNS, &["--finalized", "twin", "create", "--controller", BOB])))
		.await;
	assert_eq!(offered["controllerOffered"], true, "{offered}");
	assert_eq!(offered["finalized"], true, "{offered}");

	// Resolve: the document, with the signer's key for authentication.
	let resolved = cli.json(&["twin", "resolve", did]).await;
	assert_eq!(resolved["didDocument"]["id"], did, "{resolved}");
	assert_eq!(fragments(&resolved), ["key-1"]);
	assert_eq!(resolved["didDocument"]["authentication"][0], format!("{did}#key-1").as_str());

	// List: by the signer, or any controller named.
	let listed = cli.json(&strs(&as_(ALICE_SIGNS, &["twin", "list"]))).await;
	assert!(listed.as_array().unwrap().contains(&Value::from(did)), "{listed}");
	assert_eq!(cli.json(&["twin", "list", "--controller", ALICE]).await, listed);
	assert!(cli
		.text(&["twin", "list", "--controller", ALICE])
		.await
		.lines()
		.any(|l| l == did));
	let (code, line) = cli.fails(&["twin", "list"]).await;
	assert_eq!(code, 2, "no controller and no signer: {line}");
	let (code, line) = cli.fails(&["twin", "list", "--controller", "5Nope"]).await;
	assert_eq!(code, 2, "{line}");

	// Add a key; only the DID's controller or patient may.
	let phone_key = format!("0x{}", "01".repeat(32));
	let add = ["twin", "add-key", did, "--fragment", "phone", "--key-type", "ed25519"];
	let add = [&add[..], &["--public-key", &phone_key]].concat();
	let (code, line) = cli.fails(&strs(&as_(BOB_SIGNS, &add))).await;
	assert!(line.starts_with("twinctl: Twins.NotAuthorized: "), "{line}");
	assert_eq!(code, 5);
	let added = cli.json(&strs(&as_(ALICE_SIGNS, &add))).await;
	assert_eq!(added["fragment"], "phone");
	assert_eq!(fragments(&cli.json(&["twin", "resolve", did]).await), ["key-1", "phone"]);

	// Rotate it, keeping its fragment; one the DID does not have is not found.
	let new_key = format!("0x{}", "02".repeat(32));
	let rotate = ["twin", "rotate-key", did, "phone", "--key-type", "ed25519"];
	let rotate = [&rotate[..], &["--public-key", &new_key]].concat();
	let rotated = cli.json(&strs(&as_(ALICE_SIGNS, &rotate))).await;
	assert_eq!(
		(rotated["oldFragment"].as_str(), rotated["fragment"].as_str()),
		(Some("phone"), Some("phone"))
	);
	let resolved = cli.json(&["twin", "resolve", did]).await;
	assert_eq!(fragments(&resolved), ["key-1", "phone"]);
	let phone = &resolved["didDocument"]["verificationMethod"][1]["publicKeyMultibase"];
	assert_ne!(phone, &resolved["didDocument"]["verificationMethod"][0]["publicKeyMultibase"]);
	let (code, line) = cli
		.fails(&strs(&as_(ALICE_SIGNS, &["twin", "rotate-key", did, "tablet"])))
		.await;
	assert!(line.starts_with("twinctl: Twins.MethodNotFound: "), "{line}");
	assert_eq!(code, 4);

	// Hand the patient position to Bob: offered, then accepted; nobody else
	// can take it.
	let offered = cli.json(&strs(&as_(ALICE_SIGNS, &["twin", "offer-patient", did, BOB]))).await;
	assert_eq!(offered["state"], "offered", "{offered}");
	let charlie = ["--suri", "//Charlie"];
	let (code, line) = cli.fails(&strs(&as_(charlie, &["twin", "accept-patient", did]))).await;
	assert!(line.starts_with("twinctl: Twins.NoPendingHandover: "), "{line}");
	assert_eq!(code, 5);
	let accepted = cli.json(&strs(&as_(BOB_SIGNS, &["twin", "accept-patient", did]))).await;
	assert_eq!(accepted["patient"], BOB);
	let resolved = cli.json(&["twin", "resolve", did]).await;
	let patient = resolved["didDocumentMetadata"]["patient"].as_str().unwrap();
	assert!(patient.starts_with("did:pkh:polkadot:") && patient.ends_with(BOB), "{resolved}");

	// Deactivate: only with --yes when not asked on a terminal; refused to
	// a stranger; the controller's succeeds, and the DID resolves as
	// deactivated.
	let institution = cli
		.json(&strs(&as_(ALICE_SIGNS, &["twin", "create", "--kind", "institution"])))
		.await;
	let institution = institution["did"].as_str().unwrap();
	let (code, line) =
		cli.fails(&strs(&as_(ALICE_SIGNS, &["twin", "deactivate", institution]))).await;
	assert_eq!(code, 2, "{line}");
	let deactivate = ["twin", "deactivate", institution, "--yes"];
	let (code, line) = cli.fails(&strs(&as_(BOB_SIGNS, &deactivate))).await;
	assert!(line.starts_with("twinctl: Twins.NotAuthorized: "), "{line}");
	assert_eq!(code, 5);
	cli.json(&strs(&as_(ALICE_SIGNS, &deactivate))).await;
	let resolved = cli.json(&["twin", "resolve", institution]).await;
	assert_eq!(resolved["didDocumentMetadata"]["deactivated"], true, "{resolved}");
}

#[tokio::test]
async fn consent_commands_grant_request_approve_reject_revoke_and_show_the_trail() {
	let node = dev_node().await;
	let cli = Twinctl::new(node.ws_url());
	let created = cli.json(&strs(&as_(ALICE_SIGNS, &["twin", "create"]))).await;
	let twin = created["did"].as_str().unwrap().to_string();
	let twin = twin.as_str();

	// Grant compute to Bob with a budget: listed with all of it left.
	let grant = |purposes: &str, epsilon: &str| {
		let terms = ["--grantee", BOB, "--scope", "compute", "--purpose", purposes];
		let budget = ["--expires-in", "1d", "--epsilon", epsilon, "--delta", "0.000001"];
		as_(ALICE_SIGNS, &[&["consent", "grant", twin][..], &terms, &budget].concat())
	};
	let granted = cli.json(&strs(&grant("modelTraining,research", "1.5"))).await;
	let grant_id = granted["grant"].as_u64().unwrap();
	let listed = cli.json(&["consent", "list", twin]).await;
	let listed = &listed.as_array().unwrap()[0];
	assert_eq!(listed["id"], grant_id);
	assert_eq!(listed["grantee"]["account"], BOB);
	assert_eq!(listed["purposes"], json!(["research", "modelTraining"]));
	assert_eq!(listed["remaining"]["epsilon"], "1.5", "{listed}");
	assert_eq!(listed["budget"]["delta"], "0.000001", "{listed}");
	// One day of 6 s blocks from its start.
	let start = listed["startsAt"].as_u64().unwrap();
	assert_eq!(listed["expiresAt"].as_u64().unwrap() - start, 14_400);
	let text = cli.text(&["consent", "list", twin]).await;
	assert!(text.starts_with(&format!("#{grant_id} active compute to {BOB} for research, modelTraining; blocks {start} to {}; ε 1.5 of 1.5 left", start + 14_400)), "{text}");
	// A budget above the chain's limit is refused by name.
	let (code, line) = cli.fails(&strs(&grant("research", "20"))).await;
	assert!(line.starts_with("twinctl: Consent.BudgetTooLarge: "), "{line}");
	assert_eq!(code, 5);
	// A purpose the chain does not know, a bad decimal, or a delta above 1:
	// one line, exit 2, before anything is sent.
	for bad in [grant("fun", "1"), grant("research", "1e3")] {
		let (code, line) = cli.fails(&strs(&bad)).await;
		assert_eq!(code, 2, "{line}");
	}
	let mut big_delta = grant("research", "1");
	*big_delta.last_mut().unwrap() = String::from("1.5");
	assert_eq!(cli.fails(&strs(&big_delta)).await.0, 2);

	// A binding to a model and code, with a round cap; and an institution
	// as grantee.
	let model = cli.json(&strs(&as_(ALICE_SIGNS, &["twin", "create", "--kind", "model"]))).await;
	let model = model["did"].as_str().unwrap();
	let code_hash = format!("0x{}", "ab".repeat(32));
	let bound = [
		"consent",
		"grant",
		twin,
		"--grantee",
		BOB,
		"--scope",
		"compute",
		"--purpose",
		"research",
		"--expires-at",
		"100000",
		"--epsilon",
		"1",
		"--model",
		model,
		"--code-hash",
		&code_hash,
		"--max-epsilon-per-round",
		"0.25",
	];
	let bound_id = cli.json(&strs(&as_(ALICE_SIGNS, &bound))).await["grant"].clone();
	let institution = cli
		.json(&strs(&as_(BOB_SIGNS, &["twin", "create", "--kind", "institution"])))
		.await;
	let institution = institution["did"].as_str().unwrap();
	let view = [
		"consent",
		"grant",
		twin,
		"--grantee",
		institution,
		"--scope",
		"view",
		"--purpose",
		"clinicalCare",
		"--starts-at",
		"50",
		"--expires-at",
		"90000",
	];
	let view_id = cli.json(&strs(&as_(ALICE_SIGNS, &view))).await["grant"].clone();
	let grants = cli.json(&["consent", "list", twin]).await;
	let of =
		|id: &Value| grants.as_array().unwrap().iter().find(|g| &g["id"] == id).unwrap().clone();
	assert_eq!(
		of(&bound_id)["binding"],
		json!({ "model": model, "codeHash": code_hash, "maxEpsilonPerRound": "0.25" })
	);
	let view_grant = of(&view_id);
	assert_eq!(view_grant["grantee"], json!({ "institution": institution }));
	assert_eq!(
		(view_grant["startsAt"].as_u64(), view_grant["expiresAt"].as_u64()),
		(Some(50), Some(90_000))
	);
	assert_eq!(view_grant["budget"], Value::Null);

	// Bob asks for view access; the patient sees the request and approves it.
	let ask = as_(
		BOB_SIGNS,
		&[
			"consent",
			"request",
			twin,
			"--grantee",
			BOB,
			"--scope",
			"view",
			"--purpose",
			"education",
			"--expires-in",
			"2h",
		],
	);
	let request = cli.json(&strs(&ask)).await["request"].as_u64().unwrap();
	let open = cli.json(&["consent", "requests", twin]).await;
	assert_eq!(open[0]["id"], request, "{open}");
	assert_eq!(
		(open[0]["requester"].as_str(), open[0]["scope"].as_str()),
		(Some(BOB), Some("view"))
	);
	assert_eq!(open[0]["purposes"], json!(["education"]));
	assert_eq!(open[0]["expired"], false);
	let text = cli.text(&["consent", "requests", twin]).await;
	assert!(
		text.starts_with(&format!("#{request} from {BOB}: view to {BOB} for education;")),
		"{text}"
	);
	let request = request.to_string();
	let approve = ["consent", "approve", twin, request.as_str()];
	let (code, line) = cli.fails(&strs(&as_(BOB_SIGNS, &approve))).await;
	assert_eq!(code, 5, "only the patient approves: {line}");
	let approved = cli.json(&strs(&as_(ALICE_SIGNS, &approve))).await;
	let approved_grant = approved["grant"].as_u64().unwrap();
	assert_eq!(cli.json(&["consent", "requests", twin]).await, json!([]));
	assert_eq!(
		cli.text(&["consent", "requests", twin]).await.trim(),
		format!("No requests for {twin}")
	);

	// A second request is rejected, and is then not found.
	let second = cli.json(&strs(&ask)).await["request"].as_u64().unwrap().to_string();
	let (code, line) =
		cli.fails(&strs(&as_(BOB_SIGNS, &["consent", "reject", twin, &second]))).await;
	assert_eq!(code, 5, "only the patient rejects: {line}");
	cli.json(&strs(&as_(ALICE_SIGNS, &["consent", "reject", twin, &second]))).await;
	let (code, line) = cli
		.fails(&strs(&as_(ALICE_SIGNS, &["consent", "approve", twin, &second])))
		.await;
	assert!(line.starts_with("twinctl: Consent.RequestNotFound: "), "{line}");
	assert_eq!(code, 4);

	// Revoke the compute grant; Bob cannot revoke what the patient granted.
	let grant_arg = grant_id.to_string();
	let revoke = ["consent", "revoke", twin, grant_arg.as_str()];
	let (code, line) = cli.fails(&strs(&as_(BOB_SIGNS, &revoke))).await;
	assert_eq!(code, 5, "{line}");
	cli.json(&strs(&as_(ALICE_SIGNS, &revoke))).await;
	let grants = cli.json(&["consent", "list", twin]).await;
	let status = |id: u64| {
		grants.as_array().unwrap().iter().find(|g| g["id"] == id).unwrap()["status"].clone()
	};
	assert_eq!((status(grant_id), status(approved_grant)), ("revoked".into(), "active".into()));

	// The trail has every decision, in order, as JSON and as sentences.
	let usage = cli.json(&["consent", "usage", twin]).await;
	let events: Vec<_> = usage["trail"]
		.as_array()
		.unwrap()
		.iter()
		.map(|r| r["event"].as_str().unwrap())
		.collect();
	assert_eq!(
		events,
		[
			"granted",
			"granted",
			"granted",
			"granted",
			"requestApproved",
			"requestRejected",
			"revoked"
		]
	);
	let text = cli.text(&["consent", "usage", twin]).await;
	assert!(
		text.lines().last().unwrap().ends_with(&format!("grant #{grant_id} revoked")),
		"{text}"
	);

	// The consent commands on a DID the chain does not know: not found (4),
	// not an empty record.
	let unknown = "did:twin:11111111111111111111111111111111";
	for read in ["list", "usage", "requests"] {
		let (code, line) = cli.fails(&["consent", read, unknown]).await;
		assert_eq!(code, 4, "{read}: {line}");
	}
}

#[tokio::test]
async fn each_kind_of_failure_is_one_line_with_its_own_exit_code() {
	let node = dev_node().await;
	let cli = Twinctl::new(node.ws_url());

	// A keystore key signs.
	let imported = cli.json(&["key", "import", "alice", "--dev", "--suri", "//Alice"]).await;
	assert_eq!(imported["address"], ALICE);
	let created = cli.json(&["--signer", "alice", "twin", "create"]).await;
	let did = created["did"].as_str().unwrap().to_string();

	// A wrong password (6), found before any connection: the URL is unused.
	let deactivate = ["--signer", "alice", "twin", "deactivate", did.as_str(), "--yes"];
	let unused = [&["--url", "ws://127.0.0.1:1"], &deactivate[..]].concat();
	let (code, line) = failure(&cli.run_with("wrong", &unused).await);
	assert_eq!(code, 6, "{line}");
	// A command that only reads names the signer without its password.
	let listed = cli.run_with("wrong", &["--signer", "alice", "--json", "twin", "list"]).await;
	assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));

	// An unknown DID (4) and a malformed one (2, before connecting).
	let unknown = "did:twin:11111111111111111111111111111111";
	let (code, line) = cli.fails(&["twin", "resolve", unknown]).await;
	assert_eq!(code, 4, "{line}");
	let (code, line) = cli
		.fails(&["--url", "ws://127.0.0.1:1", "consent", "list", "did:twin:0OIl"])
		.await;
	assert_eq!(code, 2, "{line}");

	// A refused extrinsic: the pallet error's name and documentation (5).
	let (code, line) = cli.fails(&strs(&as_(BOB_SIGNS, &deactivate[2..]))).await;
	assert_eq!(line, "twinctl: Twins.NotAuthorized: The signer does not control this DID.\n");
	assert_eq!(code, 5);
	// A transaction the pool refuses (an account with nothing to pay fees
	// with) is a refusal too (5).
	let (code, line) = cli.fails(&["--suri", "//Nobody", "twin", "create"]).await;
	assert!(line.starts_with("twinctl: the node refused the transaction: "), "{line}");
	assert_eq!(code, 5);

	// A URL that is not a WebSocket one, or plain ws:// to another machine
	// (2); a node that is not there (3).
	let list = ["twin", "list", "--controller", ALICE];
	for url in ["http://127.0.0.1:9944", "ws://192.0.2.1:9944"] {
		let (code, line) = cli.fails(&[&["--url", url][..], &list].concat()).await;
		assert_eq!(code, 2, "{url}: {line}");
	}
	let (code, line) = cli.fails(&[&["--url", "ws://127.0.0.1:1"][..], &list].concat()).await;
	assert!(line.starts_with("twinctl: cannot reach a node at ws://127.0.0.1:1: "), "{line}");
	assert_eq!(code, 3);

	// Arguments clap refuses: one line too (2).
	let (code, line) = cli.fails(&["consent", "grant", &did, "--scope", "read"]).await;
	assert_eq!(code, 2, "{line}");

	// The node goes away while a transaction waits for finality (3): once
	// the pool has it (Alice's next nonce moved), the node is stopped.
	let nonce = || async {
		node.rpc("system_accountNextIndex", rpc_params![ALICE])
			.await
			.unwrap()
			.as_u64()
			.unwrap()
	};
	let before = nonce().await;
	let args = ["--suri", "//Alice", "--finalized", "twin", "create", "--kind", "model"];
	let waiting = cli.command("pw", &args).spawn().unwrap();
	let deadline = Instant::now() + Duration::from_secs(120);
	while nonce().await == before {
		assert!(Instant::now() < deadline, "the transaction never reached the pool");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	drop(node);
	let (code, line) = failure(&waiting.wait_with_output().await.unwrap());
	assert!(line.contains("lost the connection") && line.contains("may still land"), "{line}");
	assert_eq!(code, 3);
}

#[tokio::test]
async fn institution_commands_register_hold_custody_and_set_up_the_node() {
	let node = dev_node().await;
	let cli = Twinctl::new(node.ws_url());
	let registered = cli.json(&strs(&as_(BOB_SIGNS, &["institution", "register"]))).await;
	let hospital = registered["did"].as_str().unwrap().to_string();
	let hospital = hospital.as_str();
	let resolved = cli.json(&["twin", "resolve", hospital]).await;
	assert_eq!(resolved["didDocumentMetadata"]["twinKind"], "Institution", "{resolved}");
	let twin = cli.json(&strs(&as_(ALICE_SIGNS, &["twin", "create"]))).await;
	let twin = twin["did"].as_str().unwrap().to_string();
	let twin = twin.as_str();
	let custodian = || async {
		cli.json(&["twin", "resolve", twin]).await["didDocumentMetadata"]["custodian"].clone()
	};

	// Offered by the institution's controller only; rejected by the patient,
	// after which there is nothing to cancel.
	let offer = ["institution", "custody", "offer", hospital, twin];
	let (code, line) = cli.fails(&strs(&as_(ALICE_SIGNS, &offer))).await;
	assert!(line.starts_with("twinctl: Twins.NotAuthorized: "), "{line}");
	assert_eq!(code, 5);
	assert_eq!(cli.json(&strs(&as_(BOB_SIGNS, &offer))).await["state"], "offered");
	let cancel = ["institution", "custody", "cancel", hospital, twin];
	assert_eq!(cli.json(&strs(&as_(ALICE_SIGNS, &cancel))).await["state"], "cancelled");
	let (code, line) = cli.fails(&strs(&as_(ALICE_SIGNS, &cancel))).await;
	assert!(line.starts_with("twinctl: Twins.NoCustodyOffer: "), "{line}");
	assert_eq!(code, 5);

	// Offered again and accepted: the twin's custodian, until the patient
	// ends it.
	cli.json(&strs(&as_(BOB_SIGNS, &offer))).await;
	let accept = ["institution", "custody", "accept", hospital, twin];
	assert_eq!(cli.json(&strs(&as_(ALICE_SIGNS, &accept))).await["state"], "custodian");
	assert_eq!(custodian().await, hospital);
	let end = ["institution", "custody", "end", twin];
	cli.json(&strs(&as_(ALICE_SIGNS, &end))).await;
	assert_eq!(custodian().await, Value::Null);
	let (code, line) = cli.fails(&strs(&as_(ALICE_SIGNS, &end))).await;
	assert!(line.starts_with("twinctl: Twins.NoCustodian: "), "{line}");
	assert_eq!(code, 5);

	// The node's setup: refused to someone who does not control the
	// institution, before anything changes: nothing is in the node's
	// keystore.
	let dir = tempfile::tempdir().unwrap();
	let file = |name: &str, text: &str| {
		let path = dir.path().join(name);
		std::fs::write(&path, text).unwrap();
		path.to_str().unwrap().to_string()
	};
	let token_file = file("agent.token", "c0ffee\n");
	let alices_report = file("alice.suri", "//AlicesReport");
	let bobs_report = file("bob.suri", "//BobsReport\n");
	let agreement = format!("0x{}", "07".repeat(32));
	let setup = |url: &str, report: &str| {
		let args = [
			"institution",
			"node-setup",
			hospital,
			"--agent-url",
			url,
			"--agent-token-file",
			&token_file,
			"--agreement-key",
			&agreement,
			"--report-suri-file",
			report,
		];
		args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>()
	};
	let url = "http://127.0.0.1:8700";
	let (code, line) =
		cli.fails(&strs(&as_(ALICE_SIGNS, &strs(&setup(url, &alices_report))))).await;
	assert_eq!(line, format!("twinctl: {ALICE} does not control {hospital}\n"));
	assert_eq!(code, 5);
	let node = &node;
	let has_key = |public: [u8; 32]| async move {
		let public = format!("0x{}", hex_of(&public));
		node.rpc("author_hasKey", rpc_params![public, "twfd"]).await.unwrap()
	};
	assert_eq!(has_key(sp_public("//AlicesReport")).await, false);

	// Its controller's: the report key in the keystore and on the DID, the
	// agreement key on the DID, the agent's URL and token in offchain
	// storage, where the worker reads them.
	let done = cli.json(&strs(&as_(BOB_SIGNS, &strs(&setup(url, &bobs_report))))).await;
	assert_eq!(done["reportKey"], format!("0x{}", hex_of(&sp_public("//BobsReport"))));
	assert_eq!(done["didChanged"], true);
	assert_eq!(has_key(sp_public("//BobsReport")).await, true);
	let document = cli.json(&["twin", "resolve", hospital]).await["didDocument"].clone();
	assert_eq!(document["capabilityInvocation"], json!([format!("{hospital}#report-1")]));
	assert_eq!(document["keyAgreement"], json!([format!("{hospital}#agreement-1")]));
	let stored = |name: &str| {
		let key = format!("twinnet/federated/{name}/{hospital}");
		async move {
			let key = format!("0x{}", hex_of(key.as_bytes()));
			node.rpc("offchain_localStorageGet", rpc_params!["PERSISTENT", key])
				.await
				.unwrap()
		}
	};
	assert_eq!(stored("agent-url").await, format!("0x{}", hex_of(url.as_bytes())));
	assert_eq!(stored("agent-token").await, format!("0x{}", hex_of(b"c0ffee")));

	// Again with the same key, to move the agent: the node's settings
	// change, the DID (which has the methods) does not.
	let moved = "http://127.0.0.1:8701";
	let again = cli.json(&strs(&as_(BOB_SIGNS, &strs(&setup(moved, &bobs_report))))).await;
	assert_eq!(again["didChanged"], false, "{again}");
	assert_eq!(stored("agent-url").await, format!("0x{}", hex_of(moved.as_bytes())));
	// With another key under the same fragment: refused before any change.
	let strangers = file("other.suri", "//Other");
	let (code, line) = cli.fails(&strs(&as_(BOB_SIGNS, &strs(&setup(url, &strangers))))).await;
	assert!(line.contains("#report-1 is a method with another key"), "{line}");
	assert_eq!(code, 5);
	assert_eq!(has_key(sp_public("//Other")).await, false);
	assert_eq!(stored("agent-url").await, format!("0x{}", hex_of(moved.as_bytes())));
}

#[tokio::test]
async fn node_setup_changes_nothing_on_a_node_that_keeps_its_unsafe_methods_to_itself() {
	let node = TestNode::start_with_args(&["--rpc-methods", "safe"])
		.await
		.expect("the node starts");
	node.wait_for_best_block(1).await.unwrap();
	let cli = Twinctl::new(node.ws_url());
	let hospital = cli.json(&strs(&as_(BOB_SIGNS, &["institution", "register"]))).await;
	let hospital = hospital["did"].as_str().unwrap();
	let dir = tempfile::tempdir().unwrap();
	let token = dir.path().join("agent.token");
	std::fs::write(&token, "c0ffee").unwrap();
	let setup = [
		"institution",
		"node-setup",
		hospital,
		"--agent-url",
		"http://127.0.0.1:8700",
		"--agent-token-file",
		token.to_str().unwrap(),
	];
	let (code, line) = cli.fails(&strs(&as_(BOB_SIGNS, &setup))).await;
	assert!(line.starts_with("twinctl: the node does not let this connection set it up"), "{line}");
	assert_eq!(code, 5);
	let document = cli.json(&["twin", "resolve", hospital]).await["didDocument"].clone();
	assert_eq!(fragments(&json!({ "didDocument": document })), ["key-1"]);
}

fn hex_of(bytes: &[u8]) -> String {
	bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The sr25519 public key of a secret URI, as the node's keystore derives it.
fn sp_public(suri: &str) -> [u8; 32] {
	use sp_core::Pair as _;
	sp_core::sr25519::Pair::from_string(suri, None).unwrap().public().0
}

#[tokio::test]
async fn audit_commands_show_a_commitment_and_check_its_proof_here() {
	use twinnet_test_support::{
		subxt::{
			self,
			dynamic::Value as Dyn,
			ext::scale_decode::{self, DecodeAsType},
		},
		subxt_signer::sr25519::dev,
	};
	#[derive(DecodeAsType)]
	#[decode_as_type(crate_path = "scale_decode")]
	struct Committed {
		id: u64,
	}
	let node = dev_node().await;
	let cli = Twinctl::new(node.ws_url());

	// Bob's institution commits a snapshot of his dataset, its five leaves
	// stored on chain.
	let hospital = cli.json(&strs(&as_(BOB_SIGNS, &["institution", "register"]))).await;
	let hospital = hospital["did"].as_str().unwrap().to_string();
	// Finalized, so that the test's own submission (subxt's nonce is the
	// finalized state's) follows Bob's transactions.
	let create = ["--finalized", "twin", "create", "--kind", "dataset"];
	let dataset = cli.json(&strs(&as_(BOB_SIGNS, &create))).await;
	let dataset = dataset["did"].as_str().unwrap().to_string();
	let leaves: [[u8; 32]; 5] = [[1; 32], [2; 32], [3; 32], [4; 32], [5; 32]];
	let none = || Dyn::unnamed_variant("None", []);
	let snapshot = subxt::dynamic::tx(
		"Commitments",
		"commit",
		(
			Dyn::from_bytes(did_bytes(&hospital)),
			Dyn::unnamed_variant("DatasetSnapshot", []),
			Dyn::from_bytes([0x5a; 32]),
			Dyn::unnamed_variant(
				"Some",
				[Dyn::unnamed_variant(
					"Leaves",
					[Dyn::unnamed_composite(leaves.iter().map(Dyn::from_bytes))],
				)],
			),
			Dyn::from_bytes("nwb-2.7"),
			Dyn::unnamed_composite([Dyn::unnamed_variant(
				"Dataset",
				[Dyn::from_bytes(did_bytes(&dataset))],
			)]),
			none(),
		),
	);
	let events = node.submit(&snapshot, &dev::bob()).await.expect("the snapshot is committed");
	let id = events
		.iter()
		.filter_map(Result::ok)
		.find(|e| e.pallet_name() == "Commitments" && e.event_name() == "Committed")
		.expect("a Committed event")
		.decode_fields_unchecked_as::<Committed>()
		.unwrap()
		.id;
	let id_arg = id.to_string();
	let id_arg = id_arg.as_str();

	// Get: the commitment as the chain records it; an unknown id is not
	// found (4).
	let got = cli.json(&["audit", "get", id_arg]).await;
	assert_eq!(got["id"], id, "{got}");
	assert_eq!(got["merkle"]["leafCount"], 5, "{got}");
	let (code, line) = cli.fails(&["audit", "get", "999999"]).await;
	assert_eq!((code, line.as_str()), (4, "twinctl: no commitment 999999 on this chain\n"));
	// Provenance: down to the dataset.
	let graph = cli.json(&["audit", "provenance", id_arg]).await;
	let nodes = graph["nodes"].as_array().unwrap();
	assert!(nodes.iter().any(|node| node["dataset"] == dataset.as_str()), "{graph}");
	// A job with no commitments has none to list.
	assert_eq!(cli.json(&["audit", "by-job", "77"]).await, json!({ "job": 77, "rounds": [] }));

	// Prove leaf 3 and check it here: included; another leaf, or a proof
	// whose sibling was changed, is not (exit 1).
	let proved = cli.json(&["audit", "prove", id_arg, "3"]).await;
	let dir = tempfile::tempdir().unwrap();
	let proof_file = dir.path().join("proof.json");
	std::fs::write(&proof_file, proved.to_string()).unwrap();
	let proof_file = proof_file.to_str().unwrap();
	let checked = cli.json(&["audit", "verify", id_arg, "--proof", proof_file]).await;
	assert_eq!(checked["valid"], true, "{checked}");
	assert_eq!(checked["root"], got["merkle"]["root"]);
	let text = cli.text(&["audit", "verify", id_arg, "--proof", proof_file]).await;
	assert!(text.starts_with(&format!("Leaf 3 of commitment {id} is included")), "{text}");
	let other_leaf = format!("0x{}", "03".repeat(32));
	let (code, line) = cli
		.fails(&["audit", "verify", id_arg, "--proof", proof_file, "--leaf", &other_leaf])
		.await;
	assert!(line.ends_with(": rootMismatch\n"), "{line}");
	assert_eq!(code, 1);
	let mut forged = proved.clone();
	forged["proof"]["steps"][0]["sibling"] = json!(format!("0x{}", "09".repeat(32)));
	std::fs::write(dir.path().join("forged.json"), forged.to_string()).unwrap();
	let forged_file = dir.path().join("forged.json");
	let (code, line) = cli
		.fails(&["audit", "verify", id_arg, "--proof", forged_file.to_str().unwrap()])
		.await;
	assert!(line.ends_with(": rootMismatch\n"), "{line}");
	assert_eq!(code, 1);

	// A proof of a tree with another leaf count; a proof alone, without its
	// leaf; a commitment the chain does not have.
	let mut resized = proved.clone();
	resized["proof"]["leafCount"] = json!(6);
	let resized_file = dir.path().join("resized.json");
	std::fs::write(&resized_file, resized.to_string()).unwrap();
	let (code, line) = cli
		.fails(&["audit", "verify", id_arg, "--proof", resized_file.to_str().unwrap()])
		.await;
	assert!(line.ends_with(": leafCountMismatch\n"), "{line}");
	assert_eq!(code, 1);
	let bare_file = dir.path().join("bare.json");
	std::fs::write(&bare_file, proved["proof"].to_string()).unwrap();
	let bare = bare_file.to_str().unwrap();
	assert_eq!(cli.fails(&["audit", "verify", id_arg, "--proof", bare]).await.0, 2);
	let leaf = proved["leaf"].as_str().unwrap();
	let checked = cli.json(&["audit", "verify", id_arg, "--proof", bare, "--leaf", leaf]).await;
	assert_eq!(
		(checked["valid"].as_bool(), checked["leafFrom"].as_str()),
		(Some(true), Some("--leaf"))
	);
	let (code, line) = cli.fails(&["audit", "verify", "999999", "--proof", proof_file]).await;
	assert_eq!((code, line.as_str()), (4, "twinctl: no commitment 999999 on this chain\n"));

	// A twin in no round of a job that does not exist.
	let twin = cli.json(&strs(&as_(ALICE_SIGNS, &["twin", "create"]))).await;
	let usage = cli
		.json(&["audit", "twin-usage", "77", "0", twin["did"].as_str().unwrap()])
		.await;
	assert_eq!(usage["status"], "notInRound", "{usage}");
}

/// The 32 bytes of a `did:twin` DID's identifier.
fn did_bytes(did: &str) -> [u8; 32] {
	twinnet_primitives::did::parse_did(did).unwrap().0
}
