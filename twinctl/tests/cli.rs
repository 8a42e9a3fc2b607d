//! The `twinctl` binary as a user runs it: exit codes, one-line errors,
//! `--json` output, with a keystore of its own.

#![allow(
	clippy::unwrap_used,
	clippy::expect_used,
	clippy::indexing_slicing,
	clippy::arithmetic_side_effects
)]

use std::process::{Command, Output, Stdio};

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

struct Keystore(tempfile::TempDir);

impl Keystore {
	fn new() -> Self {
		Self(tempfile::tempdir().unwrap())
	}

	/// `twinctl args…` with this keystore and `password`, `stdin` fed in.
	fn run(&self, password: &str, stdin: &str, args: &[&str]) -> Output {
		use std::io::Write;
		let mut child = Command::new(env!("CARGO_BIN_EXE_twinctl"))
			.args(args)
			.env("TWINCTL_KEYSTORE", self.0.path().join("keys"))
			.env("TWINCTL_PASSWORD", password)
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::piped())
			.spawn()
			.unwrap();
		// A command that fails before it reads its input (a taken name, say)
		// closes the pipe: a write that finds it closed is no test failure.
		let mut input = child.stdin.take().unwrap();
		match input.write_all(stdin.as_bytes()) {
			Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {},
			written => written.unwrap(),
		}
		drop(input);
		child.wait_with_output().unwrap()
	}

	fn json(&self, args: &[&str]) -> serde_json::Value {
		let output = self.run("pw", "", args);
		assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
		serde_json::from_slice(&output.stdout).unwrap()
	}
}

/// The exit code and the one line on standard error of a failed run.
fn failure(output: &Output) -> (i32, String) {
	assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
	let stderr = String::from_utf8(output.stderr.clone()).unwrap();
	assert_eq!(stderr.lines().count(), 1, "{stderr}");
	(output.status.code().unwrap(), stderr)
}

#[test]
fn a_secret_from_standard_input_becomes_a_named_account() {
	let store = Keystore::new();
	let imported = store.run("pw", "//Alice\n", &["key", "import", "alice", "--dev", "--json"]);
	assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
	let imported: serde_json::Value = serde_json::from_slice(&imported.stdout).unwrap();
	assert_eq!(imported, serde_json::json!({ "name": "alice", "address": ALICE }));
	assert_eq!(store.json(&["key", "list", "--json"]), serde_json::json!([imported]));
	let text = store.run("pw", "", &["key", "list"]);
	assert_eq!(String::from_utf8(text.stdout).unwrap(), format!("alice\t{ALICE}\n"));
}

#[test]
fn a_generated_account_is_shown_with_its_phrase_once_and_exports_for_a_wallet() {
	let store = Keystore::new();
	let made = store.json(&["key", "generate", "patient", "--json"]);
	let phrase = made["phrase"].as_str().unwrap();
	assert_eq!(phrase.split(' ').count(), 12);
	assert!(store.json(&["key", "list", "--json"])[0].get("phrase").is_none());
	// The exported file opens in polkadot.js's format with the password.
	let exported = store.json(&["key", "export", "patient"]);
	let pair = subxt_signer::polkadot_js_compat::decrypt_json(&exported.to_string(), "pw").unwrap();
	let from_phrase = subxt_signer::sr25519::Keypair::from_phrase(
		&subxt_signer::bip39::Mnemonic::parse(phrase).unwrap(),
		None,
	)
	.unwrap();
	assert_eq!(pair.public_key().0, from_phrase.public_key().0);
}

#[test]
fn a_signature_verifies_with_the_account_s_key() {
	let store = Keystore::new();
	assert!(store.run("pw", "//Bob\n", &["key", "import", "bob", "--dev"]).status.success());
	let signed = store.json(&["key", "sign", "bob", "0x0102", "--json"]);
	let signature: [u8; 64] =
		sp_core_hex(signed["signature"].as_str().unwrap()).try_into().unwrap();
	let bob = subxt_signer::sr25519::dev::bob();
	assert!(subxt_signer::sr25519::verify(
		&subxt_signer::sr25519::Signature(signature),
		[1u8, 2],
		&bob.public_key()
	));
}

fn sp_core_hex(text: &str) -> Vec<u8> {
	let digits = text.strip_prefix("0x").unwrap();
	(0..digits.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
		.collect()
}

#[test]
fn each_failure_is_one_line_with_its_own_exit_code() {
	let store = Keystore::new();
	assert!(store
		.run("pw", "//Alice\n", &["key", "import", "alice", "--dev"])
		.status
		.success());
	let (code, line) = failure(&store.run("guess", "", &["key", "sign", "alice", "hi"]));
	assert_eq!(code, 6, "{line}");
	assert!(line.contains("wrong password"), "{line}");
	let (code, line) = failure(&store.run("pw", "", &["key", "remove", "carol"]));
	assert_eq!(code, 4, "{line}");
	let (code, line) = failure(&store.run("pw", "", &["key", "import", "../x", "--suri", "//X"]));
	assert_eq!(code, 2, "{line}");
	let (code, line) = failure(&store.run("pw", "not a secret\n", &["key", "import", "x"]));
	assert_eq!(code, 2, "{line}");
	let (code, line) = failure(&store.run("pw", "//Alice\n", &["key", "import", "alice", "--dev"]));
	assert_eq!(code, 1, "{line}");
	assert!(line.contains("exists already"), "{line}");
	// Nothing on standard input, or a dev URI not asked for: the public
	// development phrase would become the account.
	let (code, line) = failure(&store.run("pw", "", &["key", "import", "empty"]));
	assert_eq!(code, 2, "{line}");
	let (code, line) = failure(&store.run("pw", "//Eve\n", &["key", "import", "eve"]));
	assert_eq!(code, 2, "{line}");
	assert!(line.contains("--dev"), "{line}");
	let (code, line) = failure(&store.run("", "//Eve\n", &["key", "import", "eve", "--dev"]));
	assert_eq!(code, 2, "{line}");
	assert_eq!(store.json(&["key", "list", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn an_exported_key_imports_into_another_keystore() {
	let (one, two) = (Keystore::new(), Keystore::new());
	assert!(one
		.run("pw", "//Ferdie\n", &["key", "import", "ferdie", "--dev"])
		.status
		.success());
	let exported = one.run("pw", "", &["key", "export", "ferdie"]);
	let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
	std::fs::write(&path, &exported.stdout).unwrap();
	let imported = two.json(&["key", "import", "f", "--file", path.to_str().unwrap(), "--json"]);
	assert_eq!(imported["address"], one.json(&["key", "list", "--json"])[0]["address"]);
	let (code, _) = failure(&two.run("pw", "", &["key", "import", "g", "--file", "/nonexistent"]));
	assert_eq!(code, 4);
}

#[test]
fn completion_scripts_name_every_command() {
	let store = Keystore::new();
	for shell in ["bash", "zsh", "fish"] {
		let output = store.run("pw", "", &["completions", shell]);
		assert!(output.status.success(), "{shell}: {}", String::from_utf8_lossy(&output.stderr));
		let script = String::from_utf8(output.stdout).unwrap();
		for word in ["consent", "node-setup", "rotate-key", "verify", "--signer"] {
			assert!(script.contains(word), "{shell} completions lack {word}");
		}
	}
	let (code, _) = failure(&store.run("pw", "", &["completions", "cmd"]));
	assert_eq!(code, 2);
}
